//! `wharf fsck`: a clean store is clean; a damaged blob (wrong bytes, wrong size, gone) and
//! an orphan object are each reported and make the exit status 1; `--repair` deletes only
//! orphans older than the grace window.

use std::path::PathBuf;

use reqwest::Method;

use crate::harness::{Backend, Server, BIN, PASSWORD};
use crate::oci::{blob_path, random_bytes, sha256, Registry};

/// `wharf fsck ARGS` on the server's store: exit code and standard output.
async fn fsck(server: &Server, args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(BIN)
        .arg("fsck")
        .args(server.store_args())
        .args(args)
        .output()
        .await
        .expect("run wharf fsck");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code != 2,
        "fsck failed to check: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, stdout)
}

/// Where the local blob storage keeps `digest`.
fn blob_file(server: &Server, digest: &str) -> PathBuf {
    let (algorithm, hex) = digest.split_once(':').expect("a digest");
    server
        .data_dir
        .join("blobs/blobs")
        .join(algorithm)
        .join(&hex[..2])
        .join(hex)
}

async fn finds_damage_and_repairs_orphans(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/app"], "pull,push").await;
    let config = registry
        .push_blob("alice/app", b"{\"architecture\":\"amd64\",\"os\":\"linux\"}")
        .await;
    let layer = registry.push_blob("alice/app", &random_bytes(4096)).await;
    let third = registry.push_blob("alice/app", &random_bytes(100)).await;

    let (code, out) = fsck(&server, &["--verify-digests"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("fsck: 3 blobs checked (with digests), 3 objects listed, 0 problems\n"),
        "{out}"
    );

    // Other bytes of the same size: only a digest check sees them.
    std::fs::write(blob_file(&server, &layer), random_bytes(4096)).expect("overwrite");
    let (code, out) = fsck(&server, &[]).await;
    assert_eq!(code, 0, "sizes alone look right: {out}");
    let (code, out) = fsck(&server, &["--verify-digests"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("wrong digest: blob {layer} hashes to sha256:")),
        "{out}"
    );

    // A truncated blob, and a deleted one.
    std::fs::write(blob_file(&server, &config), b"{}").expect("truncate");
    std::fs::remove_file(blob_file(&server, &third)).expect("delete");
    let (code, out) = fsck(&server, &[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("wrong size: blob {config} has 2 bytes in storage")),
        "{out}"
    );
    assert!(
        out.contains(&format!("missing: blob {third} (100 bytes)")),
        "{out}"
    );

    // An object without a row: recent, it is left alone; past the grace window it is an
    // orphan, and --repair deletes it (and only it).
    let stray = random_bytes(64);
    let orphan = sha256(&stray);
    let path = blob_file(&server, &orphan);
    std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
    std::fs::write(&path, &stray).expect("plant an orphan");
    let (_, out) = fsck(&server, &[]).await;
    assert!(
        out.contains(&format!(
            "recent orphan (within the grace window, left alone): object {orphan}"
        )),
        "{out}"
    );
    let (_, out) = fsck(&server, &["--grace", "0"]).await;
    assert!(
        out.contains(&format!("orphan: object {orphan} (64 bytes) has no blob row")),
        "{out}"
    );
    let (code, out) = fsck(&server, &["--repair", "--grace", "0"]).await;
    assert!(out.contains(&format!("orphan deleted: object {orphan}")), "{out}");
    assert_eq!(code, 1, "the damaged blobs remain: {out}");
    assert!(!path.exists(), "the orphan is gone");
    assert!(blob_file(&server, &layer).exists(), "repair touches nothing else");
    let res = registry.send(Method::HEAD, &blob_path("alice/app", &layer)).await;
    assert!(res.status().is_success(), "the damaged blob's row is still there");
}

crate::both_backends!(finds_damage_and_repairs_orphans);
