//! `wharf gc`: what it takes (unreferenced blobs past the grace window; untagged manifests
//! only when told), what it keeps (everything a tag reaches, everything recent), that a dry
//! run changes nothing, that an interrupted run is finished by the next, and that pushes and
//! deletes running beside it lose nothing.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::harness::{Backend, Server, BIN, PASSWORD};
use crate::oci::{
    blob_path, config_blob, descriptor, header, manifest, manifest_path, random_bytes, Registry, OCI_CONFIG,
    OCI_LAYER, OCI_MANIFEST,
};

const REPO: &str = "alice/app";

/// `wharf gc ARGS` on the server's store, which must succeed: its standard output.
async fn gc(server: &Server, args: &[&str]) -> String {
    let out = tokio::process::Command::new(BIN)
        .arg("gc")
        .args(server.store_args())
        .args(args)
        .env_remove("WHARF_DATABASE_URL")
        .output()
        .await
        .expect("run wharf gc");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wharf gc {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The digests of every blob object in the local storage.
fn stored_blobs(data_dir: &Path) -> BTreeSet<String> {
    let root = data_dir.join("blobs/blobs/sha256");
    let mut found = BTreeSet::new();
    for prefix in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for object in std::fs::read_dir(prefix.path()).into_iter().flatten().flatten() {
            found.insert(format!("sha256:{}", object.file_name().to_string_lossy()));
        }
    }
    found
}

fn blob_file(data_dir: &Path, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    data_dir.join("blobs/blobs/sha256").join(&hex[..2]).join(hex)
}

/// An image of one layer: its manifest and the digests of its config and layer.
struct Image {
    manifest: Vec<u8>,
    blobs: Vec<String>,
}

async fn push_image(registry: &Registry<'_>, reference: &str, layer: &[u8]) -> Image {
    let config = config_blob();
    let blobs = vec![
        registry.push_blob(REPO, &config).await,
        registry.push_blob(REPO, layer).await,
    ];
    let manifest = manifest(
        OCI_MANIFEST,
        descriptor(OCI_CONFIG, &config),
        &[descriptor(OCI_LAYER, layer)],
        json!({}),
    );
    registry
        .push_manifest(REPO, reference, OCI_MANIFEST, &manifest)
        .await;
    Image { manifest, blobs }
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

async fn status(registry: &Registry<'_>, method: Method, path: &str) -> StatusCode {
    registry.send(method, path).await.status()
}

async fn collects_what_nothing_references(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &[REPO], "pull,push,delete").await;

    let shared = random_bytes(2048);
    let kept = push_image(&registry, "kept", &shared).await;
    // Deleted by digest: its config goes, the layer it shares with `kept` stays.
    let deleted = push_image(&registry, "deleted", &shared).await;
    let deleted_digest = digest_of(&deleted.manifest);
    assert_eq!(
        status(&registry, Method::DELETE, &manifest_path(REPO, &deleted_digest)).await,
        StatusCode::ACCEPTED
    );
    // Pushed, never referenced.
    let loose_bytes = random_bytes(512);
    let loose = registry.push_blob(REPO, &loose_bytes).await;
    // Untagged: pushed by digest only.
    let untagged = push_image(&registry, "latest", &random_bytes(700)).await;
    let untagged_digest = digest_of(&untagged.manifest);
    assert_eq!(
        status(&registry, Method::DELETE, &manifest_path(REPO, "latest")).await,
        StatusCode::ACCEPTED,
        "the tag goes, the manifest stays"
    );

    // Within the grace window nothing goes.
    let out = gc(&server, &[]).await;
    assert_eq!(out, "gc: deleted 0 untagged manifests, 0 blobs (0 bytes)\n");
    let before = stored_blobs(&server.data_dir);

    // A dry run says what would go and changes nothing.
    let out = gc(&server, &["--dry-run", "--grace", "0", "--untagged", "delete"]).await;
    assert!(
        out.starts_with("gc: would delete 1 untagged manifests, 2 blobs ("),
        "{out}"
    );
    assert_eq!(stored_blobs(&server.data_dir), before);
    assert_eq!(
        status(&registry, Method::HEAD, &blob_path(REPO, &loose)).await,
        StatusCode::OK
    );

    // Untagged manifests are kept by default; unreferenced blobs go.
    let out = gc(&server, &["--grace", "0"]).await;
    assert!(
        out.starts_with("gc: deleted 0 untagged manifests, 2 blobs ("),
        "{out}"
    );
    for gone in [&loose, &deleted.blobs[0]] {
        assert!(!blob_file(&server.data_dir, gone).exists(), "{gone} is gone");
        assert_eq!(
            status(&registry, Method::HEAD, &blob_path(REPO, gone)).await,
            StatusCode::NOT_FOUND
        );
    }
    for live in kept.blobs.iter().chain(&untagged.blobs) {
        assert_eq!(
            status(&registry, Method::GET, &blob_path(REPO, live)).await,
            StatusCode::OK,
            "{live} stays"
        );
    }
    assert_eq!(
        status(&registry, Method::GET, &manifest_path(REPO, &untagged_digest)).await,
        StatusCode::OK
    );

    // With `--untagged delete`, the untagged manifest goes, and its blobs with it.
    let out = gc(&server, &["--grace", "0", "--untagged", "delete"]).await;
    assert!(
        out.starts_with("gc: deleted 1 untagged manifests, 2 blobs ("),
        "{out}"
    );
    assert_eq!(
        status(&registry, Method::GET, &manifest_path(REPO, &untagged_digest)).await,
        StatusCode::NOT_FOUND
    );
    let res = registry.send(Method::GET, &manifest_path(REPO, "kept")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.bytes().await.expect("body").as_ref(),
        kept.manifest.as_slice()
    );
    assert_eq!(
        stored_blobs(&server.data_dir),
        kept.blobs.iter().cloned().collect()
    );
    server.assert_fsck_clean().await;

    // A blob pushed again after its collection comes back whole.
    registry.push_blob(REPO, &loose_bytes).await;
    let res = registry.send(Method::GET, &blob_path(REPO, &loose)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.expect("body").as_ref(), loose_bytes.as_slice());
    server.assert_fsck_clean().await;
}

async fn finishes_an_interrupted_run(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &[REPO], "pull,push").await;
    let stuck = registry.push_blob(REPO, &random_bytes(300)).await;
    let other = registry.push_blob(REPO, &random_bytes(400)).await;

    // An object that cannot be deleted (a directory in its place): the run marks it,
    // fails to delete it, and leaves it marked; the other blob goes.
    let path = blob_file(&server.data_dir, &stuck);
    std::fs::remove_file(&path).expect("remove the blob file");
    std::fs::create_dir_all(path.join("in-the-way")).expect("block the deletion");
    let out = gc(&server, &["--grace", "0"]).await;
    assert!(
        out.starts_with("gc: deleted 0 untagged manifests, 1 blobs (400 bytes)"),
        "{out}"
    );
    assert!(!blob_file(&server.data_dir, &other).exists());
    assert_eq!(
        status(&registry, Method::HEAD, &blob_path(REPO, &stuck)).await,
        StatusCode::NOT_FOUND,
        "a blob being collected is no longer served"
    );

    // The next run finishes it first.
    std::fs::remove_dir_all(&path).expect("unblock");
    let out = gc(&server, &["--grace", "0"]).await;
    assert_eq!(
        out,
        "gc: deleted 0 untagged manifests, 0 blobs (0 bytes); finished 1 blobs of an interrupted run\n"
    );
    server.assert_fsck_clean().await;
}

/// Pushes, tag moves and manifest deletes from several clients while `wharf gc` runs again
/// and again (and the server's own schedule too), collecting garbage that includes a layer
/// the pushes upload again: every push succeeds, every tag then pulls byte-identical, fsck
/// is clean, and once the grace window has passed exactly the blobs that tagged images use
/// are left.
async fn loses_nothing_under_concurrent_pushes(backend: Backend) {
    const WORKERS: usize = 4;
    const ROUNDS: usize = 12;
    // Longer than any push takes on a loaded machine, between its blobs and its manifest.
    const GRACE: &str = "5";
    let server = Server::start_with(
        &backend,
        &[
            "--gc-interval",
            "1",
            "--gc-grace",
            GRACE,
            "--gc-untagged",
            "delete",
        ],
        &[],
    )
    .await;
    server.create_user("alice").await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &[REPO], "pull,push,delete").await;
    let base = random_bytes(4096);
    push_image(&registry, "base", &base).await;
    // Garbage past the grace window when the pushes start, so that the collectors delete
    // while they push; one of its layers (`revived`) the pushes upload again.
    let revived = random_bytes(3000);
    for i in 0..6 {
        let layer = if i % 2 == 0 {
            revived.clone()
        } else {
            random_bytes(500 + i)
        };
        let image = push_image(&registry, &format!("old{i}"), &layer).await;
        let digest = digest_of(&image.manifest);
        assert_eq!(
            status(&registry, Method::DELETE, &manifest_path(REPO, &digest)).await,
            StatusCode::ACCEPTED
        );
    }
    tokio::time::sleep(Duration::from_secs(6)).await;

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let done = done.clone();
        let args = server.store_args();
        tokio::spawn(async move {
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let out = tokio::process::Command::new(BIN)
                    .arg("gc")
                    .args(&args)
                    .args(["--grace", GRACE, "--untagged", "delete"])
                    .env_remove("WHARF_DATABASE_URL")
                    .output()
                    .await
                    .expect("run wharf gc");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                runs += 1;
            }
            runs
        })
    };

    let workers = (0..WORKERS).map(|w| {
        let registry = &registry;
        let base = &base;
        let revived = &revived;
        async move {
            let mut tags: HashMap<String, Image> = HashMap::new();
            for round in 0..ROUNDS {
                let tag = format!("w{w}-{}", round % 3);
                // Images share the base layer, or bring back the collected one, or have a
                // layer of their own.
                let layer = match round % 4 {
                    0 | 2 => base.clone(),
                    1 => revived.clone(),
                    _ => random_bytes(1024 + round),
                };
                let image = push_image(registry, &tag, &layer).await;
                if round % 4 == 3 {
                    // Deleted by digest: its tag goes with it.
                    let digest = digest_of(&image.manifest);
                    assert_eq!(
                        status(registry, Method::DELETE, &manifest_path(REPO, &digest)).await,
                        StatusCode::ACCEPTED
                    );
                    tags.remove(&tag);
                } else {
                    tags.insert(tag, image);
                }
            }
            tags
        }
    });
    let mut tags: HashMap<String, Image> = HashMap::new();
    for worker in futures_util::future::join_all(workers).await {
        tags.extend(worker);
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let runs = collector.await.expect("collector");
    assert!(runs > 0);

    // Everything tagged pulls byte-identical, blobs included.
    for (tag, image) in &tags {
        let res = registry.send(Method::GET, &manifest_path(REPO, tag)).await;
        assert_eq!(res.status(), StatusCode::OK, "{tag}");
        assert_eq!(
            header(res.headers(), "docker-content-digest"),
            digest_of(&image.manifest)
        );
        assert_eq!(
            res.bytes().await.expect("body").as_ref(),
            image.manifest.as_slice(),
            "{tag}"
        );
        for blob in &image.blobs {
            let res = registry.send(Method::GET, &blob_path(REPO, blob)).await;
            assert_eq!(res.status(), StatusCode::OK, "{tag}: {blob}");
            assert_eq!(&digest_of(&res.bytes().await.expect("body")), blob);
        }
    }
    server.assert_fsck_clean().await;

    // Past the grace window, a run takes the untagged manifests (their blobs are touched as
    // they go), and one more, a grace window later, their blobs: what is left is exactly
    // what tagged images use.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_secs(6)).await;
        gc(&server, &["--grace", GRACE, "--untagged", "delete"]).await;
    }
    let res = registry.send(Method::GET, &manifest_path(REPO, "base")).await;
    let base_manifest: serde_json::Value = res.json().await.expect("base manifest");
    let mut expected: BTreeSet<String> = tags.values().flat_map(|i| i.blobs.iter().cloned()).collect();
    expected.insert(
        base_manifest["config"]["digest"]
            .as_str()
            .expect("config")
            .to_string(),
    );
    expected.insert(digest_of(&base));
    assert_eq!(stored_blobs(&server.data_dir), expected);
    server.assert_fsck_clean().await;
    assert!(
        server.log_text().contains("gc: finished") || server.log_text().contains("another collector"),
        "the server's schedule ran too"
    );
}

/// While another collector holds the lock (PostgreSQL's advisory lock, or the data
/// directory's `gc.lock` on SQLite), a run does nothing and says so; afterwards it runs.
async fn one_collector_at_a_time(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &[REPO], "pull,push").await;
    let loose = registry.push_blob(REPO, &random_bytes(100)).await;

    let held: Box<dyn std::any::Any> = match &backend {
        Backend::Postgres(_) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&server.database_url())
                .await
                .expect("connect");
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(0x7768_6172_662d_6763_i64)
                .execute(&mut conn)
                .await
                .expect("take the collector's lock");
            Box::new(conn)
        }
        Backend::Sqlite => {
            let file = std::fs::File::create(server.data_dir.join("gc.lock")).expect("lock file");
            file.try_lock().expect("take the collector's lock");
            Box::new(file)
        }
    };
    let out = gc(&server, &["--grace", "0"]).await;
    assert_eq!(out, "gc: another collector is running; nothing done\n");
    assert!(blob_file(&server.data_dir, &loose).exists());

    drop(held);
    let out = gc(&server, &["--grace", "0"]).await;
    assert!(
        out.starts_with("gc: deleted 0 untagged manifests, 1 blobs"),
        "{out}"
    );
}

crate::both_backends!(
    one_collector_at_a_time,
    collects_what_nothing_references,
    finishes_an_interrupted_run,
    loses_nothing_under_concurrent_pushes
);
