//! Blob storage on S3: the registry against a real S3-compatible HTTP server (moto's
//! standalone server, PyPI `moto[server]`), through `--storage s3://…`. Pushes (monolithic
//! and chunked), mounts, ranged and whole pulls, deletes; the objects land in the bucket
//! under the prefix, and no upload part is left behind.
//!
//! Skipped, loudly, when `moto_server` is not installed; fails instead when
//! `WHARF_REQUIRE_S3` is set (CI installs it).

use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use tokio::process::{Child, Command};

use crate::harness::{Backend, Server, PASSWORD};
use crate::oci::*;

const BUCKET: &str = "wharf-blobs";
const PREFIX: &str = "registry";
/// The credentials moto accepts (any), as the environment of every Wharf process here.
const CREDENTIALS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "wharf"),
    ("AWS_SECRET_ACCESS_KEY", "wharf-secret"),
];

/// The `--storage` URL of the bucket behind `endpoint` (`http://host:port`).
fn storage_url(endpoint: &str) -> String {
    format!("s3://{BUCKET}/{PREFIX}?endpoint={endpoint}&region=us-east-1&allow_http=true")
}

/// A running S3 server on a free port; killed when dropped.
struct S3Server {
    _child: Child,
    endpoint: String,
}

impl S3Server {
    async fn start() -> Option<S3Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(child) = child else {
            assert!(
                std::env::var_os("WHARF_REQUIRE_S3").is_none(),
                "moto_server is not installed (pip install 'moto[server]'), and WHARF_REQUIRE_S3 is set"
            );
            eprintln!("SKIPPED: moto_server not installed");
            return None;
        };
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(res) = client.put(format!("{endpoint}/{BUCKET}")).send().await {
                assert!(res.status().is_success(), "create bucket: {}", res.status());
                return Some(S3Server {
                    _child: child,
                    endpoint,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start on {endpoint}");
    }

    /// The keys in the bucket under `prefix`.
    async fn keys(&self, prefix: &str) -> Vec<String> {
        let url = format!("{}/{BUCKET}?list-type=2&prefix={prefix}", self.endpoint);
        let text = reqwest::get(url).await.expect("list").text().await.expect("body");
        text.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(String::from)
            .collect()
    }

    /// How many multipart uploads are in progress in the bucket.
    async fn multipart_uploads(&self) -> usize {
        let url = format!("{}/{BUCKET}?uploads", self.endpoint);
        let text = reqwest::get(url).await.expect("list").text().await.expect("body");
        text.matches("<Upload>").count()
    }
}

async fn registry_on_s3(backend: Backend) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let storage = storage_url(&s3.endpoint);
    let env = CREDENTIALS;
    let server = Server::start_with(&backend, &["--storage", &storage], &env).await;
    server.create_user("alice").await;
    let alice = Registry::login(
        &server,
        Some(("alice", PASSWORD)),
        &["alice/app", "alice/copy"],
        "pull,push,delete",
    )
    .await;

    // Monolithic, and chunked across several PATCHes (larger than one storage chunk).
    let small = random_bytes(4096);
    let small_digest = alice.push_blob("alice/app", &small).await;
    let big = random_bytes(9 * 1024 * 1024 + 17);
    let big_digest = sha256(&big);
    let location = alice.start_upload("alice/app").await;
    let mut location = location;
    let mut start = 0;
    for chunk in big.chunks(4 * 1024 * 1024) {
        let range = format!("{start}-{}", start + chunk.len() - 1);
        let res = alice.patch_upload(&location, Some(&range), chunk).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        location = header(res.headers(), "location").to_string();
        start += chunk.len();
    }
    let res = alice.finish_upload(&location, &big_digest, &[]).await;
    assert_blob_created(res, "alice/app", &big_digest).await;
    alice.assert_blob("alice/app", &small_digest, &small).await;
    alice.assert_blob("alice/app", &big_digest, &big).await;

    // A range of the big one.
    let res = alice
        .request(Method::GET, &blob_path("alice/app", &big_digest))
        .header(reqwest::header::RANGE, "bytes=5000000-5000099")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(&res.bytes().await.expect("body")[..], &big[5_000_000..5_000_100]);

    // An image on top, a mount into another repository, and the pull back.
    let (manifest_bytes, manifest_digest) = alice.push_image("alice/app", "v1").await;
    alice
        .assert_manifest("alice/app", "v1", OCI_MANIFEST, &manifest_bytes)
        .await;
    let mount = format!("{}?mount={big_digest}&from=alice/app", uploads_path("alice/copy"));
    assert_blob_created(alice.send(Method::POST, &mount).await, "alice/copy", &big_digest).await;
    alice.assert_blob("alice/copy", &big_digest, &big).await;

    // In the bucket: the blobs under the prefix, content-addressed; no upload parts left.
    let keys = s3.keys(PREFIX).await;
    for digest in [&small_digest, &big_digest] {
        let hex = digest.trim_start_matches("sha256:");
        let key = format!("{PREFIX}/blobs/sha256/{}/{hex}", &hex[..2]);
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
    assert!(
        s3.keys(&format!("{PREFIX}/uploads/")).await.is_empty(),
        "upload parts left: {keys:?}"
    );

    // A cancelled upload leaves nothing either; a deleted manifest is gone.
    let location = alice.start_upload("alice/app").await;
    let res = alice
        .patch_upload(&location, Some("0-99"), &random_bytes(100))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = alice
        .send(Method::DELETE, header(res.headers(), "location"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(s3.keys(&format!("{PREFIX}/uploads/")).await.is_empty());
    let res = alice
        .send(Method::DELETE, &manifest_path("alice/app", &manifest_digest))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    alice.assert_no_manifest("alice/app", &manifest_digest).await;

    // fsck reads the bucket and finds it consistent; the collector then takes every blob
    // (no manifest references any now), from the bucket too, and fsck is still clean.
    let fsck = wharf(&server, &storage, &["fsck", "--verify-digests"]).await;
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));
    let gc = wharf(&server, &storage, &["gc", "--grace", "0"]).await;
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    assert!(
        String::from_utf8_lossy(&gc.stdout).starts_with("gc: deleted 0 untagged manifests, 4 blobs"),
        "{}",
        String::from_utf8_lossy(&gc.stdout)
    );
    let left = s3.keys(&format!("{PREFIX}/blobs/")).await;
    assert!(left.is_empty(), "blobs left in the bucket: {left:?}");
    let fsck = wharf(&server, &storage, &["fsck"]).await;
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));
}

/// Runs `wharf ARGS` on the server's store with blob storage `storage`.
async fn wharf(server: &Server, storage: &str, args: &[&str]) -> std::process::Output {
    Command::new(crate::harness::BIN)
        .args(args)
        .args(server.store_args())
        .args(["--storage", storage])
        .env_remove("WHARF_DATABASE_URL")
        .envs(CREDENTIALS)
        .output()
        .await
        .expect("run wharf")
}

/// The bucket becomes unreachable mid-upload: that request fails with 503 and the session
/// stays where it was; nothing half-written is visible; `/readyz` says what failed; once
/// the bucket is back, the client carries on and finishes.
async fn storage_failure_fails_the_request_cleanly(backend: Backend) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let target: std::net::SocketAddr = s3
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let proxy = crate::faults::Proxy::start(target).await;
    let storage = storage_url(&format!("http://{}", proxy.addr));
    let env = CREDENTIALS;
    let server = Server::start_with(&backend, &["--storage", &storage], &env).await;
    server.create_user("alice").await;
    let alice = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/app"], "pull,push").await;
    let chunks = [random_bytes(1000), random_bytes(2000)];
    let whole = chunks.concat();
    let digest = sha256(&whole);
    let location = alice.start_upload("alice/app").await;
    let res = alice.patch_upload(&location, None, &chunks[0]).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = header(res.headers(), "location").to_string();

    proxy.cut();
    let res = alice.patch_upload(&location, None, &chunks[1]).await;
    assert_oci_error(res, StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE").await;
    let res = alice
        .request(
            Method::POST,
            &with_digest(&uploads_path("alice/app"), &sha256(&chunks[1])),
        )
        .body(chunks[1].clone())
        .send()
        .await
        .expect("request");
    assert_oci_error(res, StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE").await;
    let res = server
        .request(Method::GET, "/readyz")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert_eq!(body["store"], "ok");
    assert_ne!(body["blobs"], "ok", "{body}");

    proxy.restore();
    // The failed chunk did not count, the failed monolithic push left nothing.
    let res = alice.send(Method::GET, &location).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(res.headers(), "range"),
        format!("0-{}", chunks[0].len() - 1)
    );
    let res = alice
        .send(Method::HEAD, &blob_path("alice/app", &sha256(&chunks[1])))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = alice.patch_upload(&location, None, &chunks[1]).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = header(res.headers(), "location").to_string();
    let res = alice.finish_upload(&location, &digest, &[]).await;
    assert_blob_created(res, "alice/app", &digest).await;
    alice.assert_blob("alice/app", &digest, &whole).await;
    let res = server
        .request(Method::GET, "/readyz")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
}

/// Two instances on one store and one bucket: a chunked upload (parts larger than one
/// storage chunk) started on one instance is continued on the other and finished on the
/// first; images pushed alternately through both pull through either; after the second is
/// killed mid-upload, the first carries on with its session.
async fn uploads_move_between_instances_on_s3(backend: Backend) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let storage = storage_url(&s3.endpoint);
    let args = ["--storage", storage.as_str()];
    let env = CREDENTIALS;
    let first = Server::start_with(&backend, &args, &env).await;
    let second = first.another_instance_with(&args, &env).await;
    first.create_user("alice").await;
    let on_first = Registry::login(&first, Some(("alice", PASSWORD)), &["alice/app"], "pull,push").await;
    let on_second = Registry::with_token(&second, &on_first.token);
    let chunks: Vec<Vec<u8>> = (0..3).map(|_| random_bytes(9 * 1024 * 1024 + 3)).collect();
    let whole = chunks.concat();
    let digest = sha256(&whole);

    let mut location = on_first.start_upload("alice/app").await;
    for (i, chunk) in chunks.iter().take(2).enumerate() {
        let via = if i == 0 { &on_first } else { &on_second };
        let res = via.patch_upload(&location, None, chunk).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "chunk {i}");
        location = header(res.headers(), "location").to_string();
    }
    let res = on_first.finish_upload(&location, &digest, &chunks[2]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    on_second.assert_blob("alice/app", &digest, &whole).await;

    // Whole images pushed alternately through each instance; each pulls, blobs and all,
    // through the other.
    for i in 0..4 {
        let (push, pull) = if i % 2 == 0 {
            (&on_first, &on_second)
        } else {
            (&on_second, &on_first)
        };
        let tag = format!("v{i}");
        let (bytes, _) = push.push_image("alice/app", &tag).await;
        pull.assert_manifest("alice/app", &tag, OCI_MANIFEST, &bytes)
            .await;
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest JSON");
        let descriptors = manifest["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .chain([&manifest["config"]]);
        for descriptor in descriptors {
            let blob = descriptor["digest"].as_str().expect("digest");
            let res = pull.send(Method::GET, &blob_path("alice/app", blob)).await;
            assert_eq!(res.status(), StatusCode::OK, "{blob}");
            assert_eq!(sha256(&res.bytes().await.expect("body")), blob);
        }
    }

    let mut location = on_second.start_upload("alice/app").await;
    let res = on_second.patch_upload(&location, None, &chunks[0]).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    location = header(res.headers(), "location").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &second.pid().to_string()])
        .status()
        .expect("kill -9");
    assert!(killed.success());
    for chunk in &chunks[1..2] {
        let res = on_first.patch_upload(&location, None, chunk).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        location = header(res.headers(), "location").to_string();
    }
    let res = on_first.finish_upload(&location, &digest, &chunks[2]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    on_first.assert_blob("alice/app", &digest, &whole).await;
    let parts = s3.keys(&format!("{PREFIX}/uploads/")).await;
    assert!(parts.is_empty(), "no upload part is left behind: {parts:?}");
    assert_eq!(
        s3.multipart_uploads().await,
        0,
        "no multipart upload is left open"
    );
}

/// An upload abandoned after a chunk larger than one S3 part has a multipart upload in
/// progress; when the session expires, the multipart upload is aborted and its objects go.
async fn abandoned_uploads_are_aborted_on_s3(backend: Backend) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let storage = storage_url(&s3.endpoint);
    let env = CREDENTIALS;
    let args = [
        "--storage",
        storage.as_str(),
        "--upload-expiry",
        "1",
        "--housekeeping-interval",
        "1",
    ];
    let server = Server::start_with(&backend, &args, &env).await;
    server.create_user("alice").await;
    let alice = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/app"], "pull,push").await;
    let location = alice.start_upload("alice/app").await;
    let res = alice
        .patch_upload(&location, None, &random_bytes(9 * 1024 * 1024))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = header(res.headers(), "location").to_string();
    assert_eq!(
        s3.multipart_uploads().await,
        1,
        "the full part went into a multipart upload"
    );
    assert_eq!(
        s3.keys(&format!("{PREFIX}/uploads/")).await.len(),
        1,
        "and the rest into the tail"
    );

    let mut aborted = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if s3.multipart_uploads().await == 0 && s3.keys(&format!("{PREFIX}/uploads/")).await.is_empty() {
            aborted = true;
            break;
        }
    }
    assert!(
        aborted,
        "the expired upload's multipart upload is aborted and its tail deleted"
    );
    let res = alice.send(Method::GET, &location).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

crate::both_backends!(
    registry_on_s3,
    uploads_move_between_instances_on_s3,
    storage_failure_fails_the_request_cleanly,
    abandoned_uploads_are_aborted_on_s3
);
