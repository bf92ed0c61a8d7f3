//! oras-py (the `oras` package on PyPI), a real OCI artifact client, against the registry,
//! through the Docker token flow: artifacts of custom types are pushed, two of them as
//! referrers of the first; the first is pulled back byte for byte; the referrers API lists
//! the referrers with their artifact types; a token that may only pull cannot push.
//!
//! The client is driven by `oras_client.py` beside this file, run with `python3`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::harness::{json, Backend, Server, PASSWORD};

const USER: &str = "alice";
const REPO: &str = "alice/artifacts";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The annotation that names a layer's file, which oras sets and pulls by.
const TITLE: &str = "org.opencontainers.image.title";

/// The artifact: its config's media type is its artifact type.
const BUNDLE_CONFIG: &str = "application/vnd.wharf.test.bundle.config.v1+json";
const README: &str = "application/vnd.wharf.test.readme.v1+markdown";
const DATA: &str = "application/vnd.wharf.test.data.v1";
/// A referrer with an explicit artifact type and the empty config.
const SBOM: &str = "application/vnd.wharf.test.sbom.v1";
const SBOM_LAYER: &str = "application/vnd.wharf.test.sbom.v1+json";
/// A referrer without an artifact type: its config's media type stands for it.
const SIGNATURE_CONFIG: &str = "application/vnd.wharf.test.signature.config.v1+json";
const SIGNATURE: &str = "application/vnd.wharf.test.signature.v1";

/// The driver of oras-py.
const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/oras_client.py");
/// How long one oras run may take.
const ORAS_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether oras-py can be imported by `python3`. When it cannot, the test is skipped,
/// loudly; or fails, when `WHARF_REQUIRE_ORAS` is set (where oras is expected, a missing
/// one must not pass silently).
fn oras_installed() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import oras"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("WHARF_REQUIRE_ORAS").is_none(),
            "oras-py is not installed (`python3 -c 'import oras'` fails), and WHARF_REQUIRE_ORAS is set"
        );
        eprintln!("SKIPPED: oras-py not installed (pip install oras)");
    }
    found
}

/// oras-py against one server, as one account.
struct Oras<'a> {
    server: &'a Server,
    host: String,
    username: String,
    secret: String,
}

impl<'a> Oras<'a> {
    fn new(server: &'a Server, username: &str, secret: &str) -> Oras<'a> {
        Oras {
            server,
            host: server.base.trim_start_matches("http://").to_string(),
            username: username.to_string(),
            secret: secret.to_string(),
        }
    }

    /// Runs the driver with `args`; its output.
    async fn run(&self, args: &[&str]) -> Output {
        let run = tokio::process::Command::new("python3")
            .arg(CLIENT)
            .args(["--registry", &self.host])
            .args(["--username", &self.username])
            .args(["--password", &self.secret])
            .args(args)
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(ORAS_TIMEOUT, run)
            .await
            .unwrap_or_else(|_| panic!("oras {args:?} took longer than {ORAS_TIMEOUT:?}"))
            .expect("run python3")
    }

    /// Runs the driver with `args`, which must succeed; what it printed, as JSON.
    async fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "oras {args:?} failed:\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.server.log_text()
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "oras {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// A directory of its own, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("wharf-oras-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// Writes `bytes` to the file `name` in it; the argument that pushes it as `media_type`.
    fn file(&self, name: &str, bytes: &[u8], media_type: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write file");
        format!("{}:{media_type}", path.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

/// The files of `dir`: name and content, sorted.
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read file"))
        })
        .collect();
    files.sort();
    files
}

/// A registry token of `username` with `secret` for `scope`, through `/token`.
async fn registry_token(server: &Server, username: &str, secret: &str, scope: &str) -> String {
    let res = server
        .request(Method::GET, "/token")
        .query(&[("scope", scope)])
        .basic_auth(username, Some(secret))
        .send()
        .await
        .expect("request");
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "token for {scope}: {body}");
    body["token"].as_str().expect("token").to_string()
}

/// `GET path` on the registry with `token`: the status, the headers and the JSON body.
async fn get(server: &Server, token: &str, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let res = server
        .request(Method::GET, path)
        .bearer_auth(token)
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .expect("request");
    let headers = res.headers().clone();
    let (status, body) = json(res).await;
    (status, headers, body)
}

/// A header of a response, as text (empty when absent).
fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|v| v.to_str().expect("header is text"))
        .unwrap_or("")
}

async fn oras_pushes_pulls_and_refers(backend: Backend) {
    if !oras_installed() {
        return;
    }
    let (server, session) = Server::start_as(&backend, USER).await;
    let alice = Oras::new(&server, USER, PASSWORD);
    let (source, pulled) = (TempDir::new(), TempDir::new());
    let readme = b"# Artifacts\n\nPushed by oras-py.\n".to_vec();
    let data = random_bytes(70_000);
    let config = serde_json::to_vec(&json!({"purpose": "test"})).expect("config JSON");

    // The artifact: two files, a config of its own type.
    let bundle = alice
        .ok(&[
            "push",
            &format!("{REPO}:v1"),
            "--file",
            &source.file("README.md", &readme, README),
            "--file",
            &source.file("data.bin", &data, DATA),
            "--config",
            &source.file("config.json", &config, BUNDLE_CONFIG),
            "--annotation",
            "org.opencontainers.image.description=two files",
        ])
        .await;
    assert_eq!(bundle["mediaType"], OCI_MANIFEST, "{bundle}");
    let digest = bundle["digest"].as_str().expect("digest").to_string();

    // What the registry holds is what oras pushed.
    let token = registry_token(&server, USER, PASSWORD, &format!("repository:{REPO}:pull")).await;
    let (status, headers, manifest) = get(&server, &token, &format!("/v2/{REPO}/manifests/v1")).await;
    assert_eq!(status, StatusCode::OK, "{manifest}");
    assert_eq!(header(&headers, "docker-content-digest"), digest);
    assert_eq!(
        manifest["config"],
        json!({"mediaType": BUNDLE_CONFIG, "digest": sha256(&config), "size": config.len()}),
        "{manifest}"
    );
    let layers: Vec<(&str, &str, &str)> = manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            (
                l["annotations"][TITLE].as_str().expect("title"),
                l["mediaType"].as_str().expect("media type"),
                l["digest"].as_str().expect("digest"),
            )
        })
        .collect();
    let (readme_digest, data_digest) = (sha256(&readme), sha256(&data));
    assert_eq!(
        layers,
        [
            ("README.md", README, readme_digest.as_str()),
            ("data.bin", DATA, data_digest.as_str()),
        ],
        "{manifest}"
    );

    // Two referrers of it: one with an artifact type of its own and the empty config, one
    // whose config's media type is its artifact type.
    let sbom_json = serde_json::to_vec(&json!({"packages": []})).expect("sbom JSON");
    let sbom = alice
        .ok(&[
            "push",
            &format!("{REPO}:v1-sbom"),
            "--file",
            &source.file("sbom.json", &sbom_json, SBOM_LAYER),
            "--config",
            &source.file("empty.json", b"{}", OCI_EMPTY),
            "--artifact-type",
            SBOM,
            "--subject",
            &format!("{REPO}:v1"),
            "--annotation",
            "org.opencontainers.image.created=2024-01-01T00:00:00Z",
        ])
        .await;
    let signature = alice
        .ok(&[
            "push",
            &format!("{REPO}:v1-sig"),
            "--file",
            &source.file("signature.bin", &random_bytes(64), SIGNATURE),
            "--config",
            &source.file("signature.json", b"{\"signer\":\"alice\"}", SIGNATURE_CONFIG),
            "--subject",
            &format!("{REPO}:v1"),
        ])
        .await;

    // Pulled back: the very same files.
    let files = alice
        .ok(&["pull", &format!("{REPO}:v1"), pulled.0.to_str().expect("path")])
        .await;
    assert_eq!(files.as_array().map(Vec::len), Some(2), "{files}");
    assert_eq!(
        files_of(&pulled.0),
        [("README.md".to_string(), readme), ("data.bin".to_string(), data)]
    );

    // The referrers API lists both referrers, with their artifact types and annotations.
    let mut sbom_descriptor = sbom.clone();
    sbom_descriptor["artifactType"] = json!(SBOM);
    sbom_descriptor["annotations"] = json!({"org.opencontainers.image.created": "2024-01-01T00:00:00Z"});
    let mut signature_descriptor = signature.clone();
    signature_descriptor["artifactType"] = json!(SIGNATURE_CONFIG);
    let mut both = vec![sbom_descriptor.clone(), signature_descriptor.clone()];
    both.sort_by_key(|d| d["digest"].as_str().expect("digest").to_string());
    let sbom_digest = sbom["digest"].as_str().expect("digest");
    let cases = [
        (digest.as_str(), None, both),
        (digest.as_str(), Some(SBOM), vec![sbom_descriptor]),
        (
            digest.as_str(),
            Some(SIGNATURE_CONFIG),
            vec![signature_descriptor],
        ),
        (digest.as_str(), Some(SIGNATURE), vec![]),
        (sbom_digest, None, vec![]),
    ];
    for (subject, filter, expected) in cases {
        let mut path = format!("/v2/{REPO}/referrers/{subject}");
        if let Some(filter) = filter {
            // Percent-encoded: a `+` of a media type would be a space.
            let filter: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
            path.push_str(&format!("?artifactType={filter}"));
        }
        let (status, headers, body) = get(&server, &token, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(header(&headers, "content-type"), OCI_INDEX, "{path}");
        let filters = if filter.is_some() { "artifactType" } else { "" };
        assert_eq!(header(&headers, "oci-filters-applied"), filters, "{path}");
        assert_eq!(
            body,
            json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": expected}),
            "{path}"
        );
    }

    // A token that may only pull: oras pulls with it, but cannot push.
    let pat = server.create_pat(&session, "read only", &["repo:read"]).await;
    let read_only = Oras::new(&server, USER, pat["token"].as_str().expect("PAT"));
    assert_eq!(read_only.ok(&["resolve", &format!("{REPO}:v1")]).await, bundle);
    let denied_bytes = random_bytes(100);
    let out = read_only
        .run(&[
            "push",
            &format!("{REPO}:denied"),
            "--file",
            &source.file("denied.bin", &denied_bytes, DATA),
            "--subject",
            &format!("{REPO}:v1"),
        ])
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a repo:read token pushed: {stderr}");
    // Refused by the registry, as unauthorized for the push, not failed otherwise.
    assert!(stderr.contains("UNAUTHORIZED"), "{stderr}");
    // Nothing of it is left: no tag, no blob, no referrer.
    let (status, _, body) = get(&server, &token, &format!("/v2/{REPO}/manifests/denied")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "denied was pushed: {body}");
    let (status, _, body) = get(&server, &token, &format!("/v2/{REPO}/tags/list")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tags"], json!(["v1", "v1-sbom", "v1-sig"]), "{body}");
    let res = server
        .request(
            Method::HEAD,
            &format!("/v2/{REPO}/blobs/{}", sha256(&denied_bytes)),
        )
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "the denied file was uploaded"
    );
    let (status, _, body) = get(&server, &token, &format!("/v2/{REPO}/referrers/{digest}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["manifests"].as_array().map(Vec::len), Some(2), "{body}");
}

crate::both_backends!(oras_pushes_pulls_and_refers);
