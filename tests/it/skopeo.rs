//! skopeo, a real registry client, against the registry: an OCI image layout built on disk
//! is copied to Wharf, inspected there, and copied back byte for byte; a token that may
//! only pull cannot push.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::harness::{Backend, Server, PASSWORD};

const USER: &str = "alice";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// How long one skopeo run may take.
const SKOPEO_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether skopeo can be run. When it cannot, the test is skipped, loudly; or fails, when
/// `WHARF_REQUIRE_SKOPEO` is set (where skopeo is expected, a missing one must not pass
/// silently).
fn skopeo_installed() -> bool {
    let found = std::process::Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("WHARF_REQUIRE_SKOPEO").is_none(),
            "skopeo is not installed (or not on PATH), and WHARF_REQUIRE_SKOPEO is set"
        );
        eprintln!("SKIPPED: skopeo not installed");
    }
    found
}

/// Runs `skopeo ARGS`; its output. The policy is not what is under test here.
async fn skopeo(args: &[&str]) -> Output {
    let run = tokio::process::Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(SKOPEO_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("skopeo {args:?} took longer than {SKOPEO_TIMEOUT:?}"))
        .expect("run skopeo")
}

/// Runs `skopeo ARGS`, which must succeed; its standard output.
async fn skopeo_ok(args: &[&str]) -> String {
    let out = skopeo(args).await;
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("skopeo output is text")
}

/// A directory of its own, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("wharf-oci-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` as a blob of the layout at `dir`; its descriptor as `media_type`.
fn write_blob(dir: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let hex = sha256_hex(bytes);
    std::fs::write(dir.join("blobs/sha256").join(&hex), bytes).expect("write blob");
    json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
}

/// CRC-32 (IEEE), as gzip ends with it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` in gzip format, in stored (uncompressed) deflate blocks. skopeo gzips plain
/// layers on their way to a registry, which rewrites the manifest; gzipped ones pass
/// unchanged, so that the round trip can be compared byte for byte.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let blocks: Vec<&[u8]> = data.chunks(0xffff).collect();
    for (i, block) in blocks.iter().enumerate() {
        let len = block.len() as u16;
        out.push(u8::from(i + 1 == blocks.len()));
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

/// Builds an OCI image layout at `dir` with one image, tagged `tag`: a config and two
/// gzipped layers of random bytes (one larger than a deflate block). Returns the
/// manifest's digest.
fn build_layout(dir: &Path, tag: &str) -> String {
    std::fs::create_dir_all(dir.join("blobs/sha256")).expect("create layout");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("write oci-layout");
    let layers: Vec<Vec<u8>> = [3000, 70_000]
        .iter()
        .map(|&len| (0..len).map(|_| rand::random::<u8>()).collect())
        .collect();
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/app"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = write_blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).expect("config JSON"),
    );
    let layers: Vec<Value> = layers
        .iter()
        .map(|layer| write_blob(dir, "application/vnd.oci.image.layer.v1.tar+gzip", &gzip(layer)))
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
    });
    let mut descriptor = write_blob(
        dir,
        OCI_MANIFEST,
        &serde_json::to_vec(&manifest).expect("manifest JSON"),
    );
    descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    let index = json!({"schemaVersion": 2, "manifests": [descriptor]});
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("index JSON"),
    )
    .expect("write index.json");
    descriptor["digest"].as_str().expect("digest").to_string()
}

/// The blobs of the layout at `dir`: file name and content, sorted.
fn blobs_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut blobs: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("blobs/sha256"))
        .expect("read blobs")
        .map(|entry| {
            let path = entry.expect("blob entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read blob"))
        })
        .collect();
    blobs.sort();
    blobs
}

async fn skopeo_copies_images_both_ways(backend: Backend) {
    if !skopeo_installed() {
        return;
    }
    let (server, session) = Server::start_as(&backend, USER).await;
    let host = server.base.trim_start_matches("http://").to_string();
    let image = |tag: &str| format!("docker://{host}/{USER}/app:{tag}");
    let creds = format!("{USER}:{PASSWORD}");
    let (source, copy, digest_file) = (TempDir::new(), TempDir::new(), TempDir::new());
    let digest = build_layout(&source.0, "v1");
    let layout = |dir: &TempDir| format!("oci:{}:v1", dir.0.display());
    let digest_file = digest_file.0.join("digest");

    // Push; what was pushed is the manifest as built, under its digest.
    skopeo_ok(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        "--digestfile",
        digest_file.to_str().expect("path"),
        &layout(&source),
        &image("v1"),
    ])
    .await;
    assert_eq!(
        std::fs::read_to_string(&digest_file).expect("digest file"),
        digest
    );
    let inspected = skopeo_ok(&["inspect", "--tls-verify=false", "--creds", &creds, &image("v1")]).await;
    let inspected: Value = serde_json::from_str(&inspected).expect("inspect output is JSON");
    assert_eq!(inspected["Digest"], digest, "{inspected}");
    assert_eq!(
        inspected["Layers"].as_array().map(Vec::len),
        Some(2),
        "{inspected}"
    );

    // The Hub API shows the pushed tag: its digest, and the image with its layers.
    let (status, tag) = server
        .call(
            Method::GET,
            &format!("/v2/namespaces/{USER}/repositories/app/tags/v1"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tag}");
    assert_eq!(tag["name"], "v1", "{tag}");
    assert_eq!(tag["digest"], digest, "{tag}");
    assert_eq!(tag["tag_status"], "active", "{tag}");
    let images = tag["images"].as_array().expect("images");
    assert_eq!(images.len(), 1, "{tag}");
    assert_eq!(images[0]["digest"], digest, "{tag}");
    assert_eq!(
        (images[0]["architecture"].as_str(), images[0]["os"].as_str()),
        (Some("amd64"), Some("linux"))
    );
    // The layer sizes of the manifest as built.
    let built = std::fs::read(
        source
            .0
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .expect("read manifest");
    let built: Value = serde_json::from_slice(&built).expect("manifest JSON");
    let layer_sizes: Vec<i64> = built["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["size"].as_i64().expect("size"))
        .collect();
    let shown: Vec<i64> = images[0]["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["size"].as_i64().expect("size"))
        .collect();
    assert_eq!(shown, layer_sizes, "{tag}");
    assert_eq!(tag["full_size"], layer_sizes.iter().sum::<i64>(), "{tag}");

    // Pull into another layout: the very same blobs.
    skopeo_ok(&[
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        &creds,
        &image("v1"),
        &layout(&copy),
    ])
    .await;
    assert_eq!(blobs_of(&copy.0), blobs_of(&source.0));

    // A token that may only pull: inspecting works, pushing does not.
    let pat = server.create_pat(&session, "read only", &["repo:read"]).await;
    let read_only = format!("{USER}:{}", pat["token"].as_str().expect("PAT"));
    let inspected = skopeo_ok(&[
        "inspect",
        "--tls-verify=false",
        "--creds",
        &read_only,
        &image("v1"),
    ])
    .await;
    assert!(inspected.contains(&digest), "{inspected}");
    let out = skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &read_only,
        &layout(&source),
        &image("v2"),
    ])
    .await;
    assert!(!out.status.success(), "a repo:read token pushed");
    let token = server
        .request(Method::GET, "/token")
        .query(&[("scope", format!("repository:{USER}/app:pull"))])
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("request");
    let token: Value = token.json().await.expect("token JSON");
    let res = server
        .request(Method::GET, &format!("/v2/{USER}/app/manifests/v2"))
        .bearer_auth(token["token"].as_str().expect("token"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "v2 was not pushed");
}

crate::both_backends!(skopeo_copies_images_both_ways);
