//! Several instances on one store: two `wharf serve` processes race pushes to one tag (the
//! tag ends on one of the pushed manifests, both instances serve that one, and the audit
//! log's newest push of the tag names it), and an upload moves between them, also when the
//! instance that started it is killed.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Backend, Server, PASSWORD};
use crate::oci::{
    config_blob, descriptor, header, manifest, manifest_path, random_bytes, sha256, Registry, OCI_CONFIG,
    OCI_LAYER, OCI_MANIFEST,
};

const REPO: &str = "alice/app";
const TAG: &str = "race";
const PUSHES: usize = 12;

async fn two_instances_race_on_one_tag(backend: Backend) {
    let first = Server::start(&backend).await;
    let second = first.another_instance().await;
    first.create_user("alice").await;
    let on_first = Registry::login(&first, Some(("alice", PASSWORD)), &[REPO], "pull,push").await;
    // A token of one instance works on the other: the signing key is in the store.
    let on_second = Registry::with_token(&second, &on_first.token);

    // Distinct images, their blobs pushed beforehand through either instance.
    let config = config_blob();
    on_first.push_blob(REPO, &config).await;
    let mut images = Vec::new();
    for i in 0..PUSHES {
        let layer = random_bytes(256);
        let via = if i % 2 == 0 { &on_first } else { &on_second };
        via.push_blob(REPO, &layer).await;
        images.push(manifest(
            OCI_MANIFEST,
            descriptor(OCI_CONFIG, &config),
            &[descriptor(OCI_LAYER, &layer)],
            json!({}),
        ));
    }

    // All at once, alternately through each instance.
    let pushes = images.iter().enumerate().map(|(i, bytes)| {
        let via = if i % 2 == 0 { &on_first } else { &on_second };
        async move {
            let res = via.put_manifest(REPO, TAG, OCI_MANIFEST, bytes).await;
            assert_eq!(res.status(), StatusCode::CREATED, "push {i}");
            header(res.headers(), "docker-content-digest").to_string()
        }
    });
    let digests = join_all(pushes).await;

    // One winner, the same on both instances.
    let mut served = Vec::new();
    for via in [&on_first, &on_second] {
        let res = via.send(reqwest::Method::HEAD, &manifest_path(REPO, TAG)).await;
        assert_eq!(res.status(), StatusCode::OK);
        served.push(header(res.headers(), "docker-content-digest").to_string());
    }
    assert_eq!(served[0], served[1], "both instances serve the same tag");
    assert!(
        digests.contains(&served[0]),
        "the tag is one of the pushed manifests"
    );

    // Every move is in the log, and the newest names the winner.
    let moves: Vec<_> = first
        .audit_events("alice")
        .await
        .into_iter()
        .filter(|e| e.action == "repo.tag.push")
        .collect();
    assert_eq!(moves.len(), PUSHES, "{moves:#?}");
    let newest = crate::harness::audit_data(&moves[0]);
    assert_eq!(newest["tag"], TAG);
    assert_eq!(
        newest["digest"],
        served[0].as_str(),
        "the last move is the tag's value"
    );
}

/// A chunked upload started on one instance is continued and finished on the other; the
/// blob is then served by both. And when the first instance dies mid-upload, the second
/// carries on with the same session from the offset it reports.
async fn uploads_move_between_instances(backend: Backend) {
    let first = Server::start(&backend).await;
    let second = first.another_instance().await;
    first.create_user("alice").await;
    let on_first = Registry::login(&first, Some(("alice", PASSWORD)), &[REPO], "pull,push").await;
    let on_second = Registry::with_token(&second, &on_first.token);
    let chunks: Vec<Vec<u8>> = (0..3).map(|_| random_bytes(64 * 1024)).collect();
    let whole = chunks.concat();
    let digest = sha256(&whole);

    let location = on_first.start_upload(REPO).await;
    let res = on_first.patch_upload(&location, None, &chunks[0]).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = header(res.headers(), "location").to_string();
    // The other instance knows the session and its offset.
    let res = on_second.send(reqwest::Method::GET, &location).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(res.headers(), "range"),
        format!("0-{}", chunks[0].len() - 1)
    );
    let res = on_second.patch_upload(&location, None, &chunks[1]).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = header(res.headers(), "location").to_string();
    let res = on_first.finish_upload(&location, &digest, &chunks[2]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    on_first.assert_blob(REPO, &digest, &whole).await;
    on_second.assert_blob(REPO, &digest, &whole).await;

    // The second instance dies with an upload under way; the first carries on with it.
    let location = on_second.start_upload(REPO).await;
    let res = on_second.patch_upload(&location, None, &chunks[0]).await;
    let location = header(res.headers(), "location").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &second.pid().to_string()])
        .status()
        .expect("kill -9");
    assert!(killed.success());
    let res = on_first.send(reqwest::Method::GET, &location).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = on_first.patch_upload(&location, None, &chunks[1]).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = header(res.headers(), "location").to_string();
    let res = on_first.finish_upload(&location, &digest, &chunks[2]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    on_first.assert_blob(REPO, &digest, &whole).await;
}

crate::both_backends!(two_instances_race_on_one_tag, uploads_move_between_instances);
