//! Crash safety: `kill -9` of `wharf serve` in the middle of concurrent pushes, ten times
//! over. After every restart each blob and manifest whose push was acknowledged (201) is
//! there and byte-identical, each acknowledged tag names its manifest, whatever was in
//! flight is either complete and correct or absent, and `wharf fsck` is clean.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Backend, Server, PASSWORD};
use crate::oci::{
    blob_path, config_blob, descriptor, manifest, manifest_path, random_bytes, sha256, uploads_path,
    with_digest, Registry, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST,
};

const REPO: &str = "alice/crash";
const CYCLES: usize = 10;
const PUSHERS: usize = 4;

/// What the pushers sent, and which of it was acknowledged.
#[derive(Default)]
struct Ledger {
    /// digest → bytes, of blobs and manifests whose push got a 201.
    acknowledged: HashMap<String, Vec<u8>>,
    /// tag → manifest digest, for tags whose push got a 201.
    tags: HashMap<String, String>,
    /// digest → bytes of pushes that got no answer (in flight at the kill).
    in_flight: HashMap<String, Vec<u8>>,
}

/// Pushes images until a request fails (the server is gone), recording every answer.
async fn push_until_killed(
    server_base: String,
    token: String,
    pusher: usize,
    cycle: usize,
    ledger: Arc<Mutex<Ledger>>,
) {
    let client = reqwest::Client::new();
    for round in 0.. {
        let config = config_blob();
        let layer = random_bytes(16 * 1024 + round * 997 % 65_536);
        for bytes in [&config, &layer] {
            let digest = sha256(bytes);
            let url = format!("{server_base}{}", with_digest(&uploads_path(REPO), &digest));
            let sent = client
                .post(url)
                .bearer_auth(&token)
                .body(bytes.clone())
                .send()
                .await;
            match sent {
                Ok(res) if res.status() == StatusCode::CREATED => {
                    ledger.lock().unwrap().acknowledged.insert(digest, bytes.clone());
                }
                Ok(res) => panic!("blob push answered {}", res.status()),
                Err(_) => {
                    ledger.lock().unwrap().in_flight.insert(digest, bytes.clone());
                    return;
                }
            }
        }
        let image = manifest(
            OCI_MANIFEST,
            descriptor(OCI_CONFIG, &config),
            &[descriptor(OCI_LAYER, &layer)],
            json!({}),
        );
        let digest = sha256(&image);
        let tag = format!("c{cycle}-p{pusher}-r{round}");
        let url = format!("{server_base}{}", manifest_path(REPO, &tag));
        let sent = client
            .put(url)
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, OCI_MANIFEST)
            .body(image.clone())
            .send()
            .await;
        match sent {
            Ok(res) if res.status() == StatusCode::CREATED => {
                let mut ledger = ledger.lock().unwrap();
                ledger.acknowledged.insert(digest.clone(), image);
                ledger.tags.insert(tag, digest);
            }
            Ok(res) => panic!("manifest push answered {}", res.status()),
            Err(_) => {
                ledger.lock().unwrap().in_flight.insert(digest, image);
                return;
            }
        }
    }
}

/// GET `path`: `Some(bytes)` on 200, `None` on 404.
async fn fetch(registry: &Registry<'_>, path: &str) -> Option<Vec<u8>> {
    let res = registry
        .request(Method::GET, path)
        .header(reqwest::header::ACCEPT, OCI_MANIFEST)
        .send()
        .await
        .expect("request");
    match res.status() {
        StatusCode::OK => Some(res.bytes().await.expect("body").to_vec()),
        StatusCode::NOT_FOUND => None,
        other => panic!("GET {path}: {other}"),
    }
}

async fn acknowledged_pushes_survive_kill_9(backend: Backend) {
    let first = Server::start(&backend).await;
    first.create_user("alice").await;
    let token = Registry::login(&first, Some(("alice", PASSWORD)), &[REPO], "pull,push")
        .await
        .token;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut running: Option<Server> = None;
    for cycle in 0..CYCLES {
        let server = match &running {
            None => &first,
            Some(server) => server,
        };
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|p| {
                tokio::spawn(push_until_killed(
                    server.base.clone(),
                    token.clone(),
                    p,
                    cycle,
                    ledger.clone(),
                ))
            })
            .collect();
        // Let the pushes get going (some acknowledged in this cycle, however slow the
        // machine), then pull the plug a little later.
        let before = ledger.lock().unwrap().acknowledged.len();
        let waiting = std::time::Instant::now();
        while ledger.lock().unwrap().acknowledged.len() < before + 4 {
            assert!(
                waiting.elapsed() < Duration::from_secs(60),
                "cycle {cycle}: no push was acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(97 * cycle as u64 % 200)).await;
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &server.pid().to_string()])
            .status()
            .expect("kill -9");
        assert!(killed.success());
        for pusher in pushers {
            pusher.await.expect("pusher");
        }

        let restarted = first.another_instance().await;
        let registry = Registry::with_token(&restarted, &token);
        // Copies, so that no lock is held across the requests below.
        let (acknowledged, tags, in_flight) = {
            let ledger = ledger.lock().unwrap();
            (
                ledger.acknowledged.clone(),
                ledger.tags.clone(),
                ledger.in_flight.clone(),
            )
        };
        assert!(
            !acknowledged.is_empty(),
            "cycle {cycle}: something was acknowledged"
        );
        for (digest, bytes) in &acknowledged {
            let path = if tags.values().any(|d| d == digest) {
                manifest_path(REPO, digest)
            } else {
                blob_path(REPO, digest)
            };
            let got = fetch(&registry, &path).await;
            assert_eq!(got.as_ref(), Some(bytes), "cycle {cycle}: acknowledged {digest}");
        }
        for (tag, digest) in &tags {
            let got = fetch(&registry, &manifest_path(REPO, tag)).await;
            assert_eq!(
                got.map(|b| sha256(&b)).as_ref(),
                Some(digest),
                "cycle {cycle}: tag {tag}"
            );
        }
        for (digest, bytes) in &in_flight {
            let blob = fetch(&registry, &blob_path(REPO, digest)).await;
            let manifest = fetch(&registry, &manifest_path(REPO, digest)).await;
            for got in [blob, manifest].into_iter().flatten() {
                assert_eq!(
                    &got, bytes,
                    "cycle {cycle}: {digest}, in flight, is visible only whole"
                );
            }
        }
        first.assert_fsck_clean().await;
        running = Some(restarted);
    }
}

crate::both_backends!(acknowledged_pushes_survive_kill_9);
