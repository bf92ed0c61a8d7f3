//! Load: many concurrent clients for a while, mixing logins, token exchanges, Hub API reads
//! and writes, pushes and pulls, against one server. Nothing may fail (429s are counted
//! apart: they are the limits doing their job), and the server's memory must stay flat.
//!
//! CI runs a small version (`WHARF_LOAD_CLIENTS`, default 50; `WHARF_LOAD_SECONDS`,
//! default 10; on SQLite, and on PostgreSQL when it is configured). `bench/load.sh` runs the
//! full one (200 clients, 60 s, release build) and prints the summary this test prints:
//! requests per kind, errors, 429s, p50/p99 latency, and the server's RSS over time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::harness::{Backend, Server, PASSWORD};
use crate::oci::{
    blob_path, config_blob, descriptor, manifest, manifest_path, random_bytes, sha256, uploads_path,
    with_digest, Registry, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST,
};

const USERS: usize = 8;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One simulated user: their name, PAT, session, registry token and repository.
#[derive(Clone)]
struct Actor {
    name: String,
    pat: String,
    session: String,
    registry_token: String,
    repo: String,
}

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<u32>>,
    errors: Vec<String>,
    limited: u64,
}

impl Tally {
    fn record(
        &mut self,
        kind: &'static str,
        started: Instant,
        status: Result<StatusCode, String>,
        ok: &[StatusCode],
    ) {
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.latencies.entry(kind).or_default().push(micros);
        match status {
            Ok(StatusCode::TOO_MANY_REQUESTS) => self.limited += 1,
            Ok(status) if ok.contains(&status) => {}
            Ok(status) => self.errors.push(format!("{kind}: {status}")),
            Err(e) => self.errors.push(format!("{kind}: {e}")),
        }
    }

    fn merge(&mut self, other: Tally) {
        for (kind, mut values) in other.latencies {
            self.latencies.entry(kind).or_default().append(&mut values);
        }
        self.errors.extend(other.errors);
        self.limited += other.limited;
    }
}

async fn status_of(request: reqwest::RequestBuilder) -> Result<StatusCode, String> {
    match request.send().await {
        Ok(res) => {
            let status = res.status();
            // Read the body: a pull is not done until its bytes are.
            res.bytes().await.map_err(|e| e.to_string())?;
            Ok(status)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// One client: a loop of mixed operations until `until`.
async fn client(base: String, actor: Actor, seed: usize, until: Instant) -> Tally {
    let http = Client::new();
    let mut tally = Tally::default();
    let mut pushed: Vec<(String, String)> = Vec::new();
    let mut i = seed;
    let ok = [StatusCode::OK];
    while Instant::now() < until {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let started = Instant::now();
        match (i >> 8) % 20 {
            0 => {
                let req = http
                    .post(format!("{base}/v2/users/login"))
                    .json(&json!({"username": actor.name, "password": PASSWORD}));
                tally.record("login", started, status_of(req).await, &ok);
            }
            1..=3 => {
                let req = http
                    .get(format!("{base}/token"))
                    .query(&[
                        ("service", "wharf"),
                        ("scope", &format!("repository:{}:pull,push", actor.repo)),
                    ])
                    .basic_auth(&actor.name, Some(&actor.pat));
                tally.record("token", started, status_of(req).await, &ok);
            }
            4..=8 => {
                let path = match i % 3 {
                    0 => format!("/v2/namespaces/{}/repositories", actor.name),
                    1 => format!(
                        "/v2/namespaces/{}/tags",
                        actor.repo.replacen('/', "/repositories/", 1)
                    ),
                    _ => "/v2/access-tokens".to_string(),
                };
                let req = http.get(format!("{base}{path}")).bearer_auth(&actor.session);
                tally.record("hub read", started, status_of(req).await, &ok);
            }
            9..=10 => {
                let (namespace, name) = actor.repo.split_once('/').unwrap_or_default();
                let req = http
                    .patch(format!("{base}/v2/repositories/{namespace}/{name}"))
                    .bearer_auth(&actor.session)
                    .json(&json!({"description": format!("load {i}")}));
                tally.record("hub write", started, status_of(req).await, &ok);
            }
            11..=14 => {
                let config = config_blob();
                let layer = random_bytes(4096 + i % 4096);
                let mut failed = false;
                for bytes in [&config, &layer] {
                    let url = format!(
                        "{base}{}",
                        with_digest(&uploads_path(&actor.repo), &sha256(bytes))
                    );
                    let req = http
                        .post(url)
                        .bearer_auth(&actor.registry_token)
                        .body(bytes.clone());
                    let pushing = Instant::now();
                    let status = status_of(req).await;
                    failed |= status != Ok(StatusCode::CREATED);
                    tally.record("blob push", pushing, status, &[StatusCode::CREATED]);
                }
                if failed {
                    continue;
                }
                let image = manifest(
                    OCI_MANIFEST,
                    descriptor(OCI_CONFIG, &config),
                    &[descriptor(OCI_LAYER, &layer)],
                    json!({}),
                );
                let tag = format!("t{seed}-{}", pushed.len());
                let putting = Instant::now();
                let req = http
                    .put(format!("{base}{}", manifest_path(&actor.repo, &tag)))
                    .bearer_auth(&actor.registry_token)
                    .header(reqwest::header::CONTENT_TYPE, OCI_MANIFEST)
                    .body(image);
                tally.record(
                    "manifest push",
                    putting,
                    status_of(req).await,
                    &[StatusCode::CREATED],
                );
                pushed.push((tag, sha256(&layer)));
            }
            _ => {
                let Some((tag, layer)) = pushed.get(i % pushed.len().max(1)).cloned() else {
                    continue;
                };
                let req = http
                    .get(format!("{base}{}", manifest_path(&actor.repo, &tag)))
                    .header(reqwest::header::ACCEPT, OCI_MANIFEST)
                    .bearer_auth(&actor.registry_token);
                tally.record("pull", started, status_of(req).await, &ok);
                let req = http
                    .get(format!("{base}{}", blob_path(&actor.repo, &layer)))
                    .bearer_auth(&actor.registry_token);
                let pulling = Instant::now();
                tally.record("pull", pulling, status_of(req).await, &ok);
            }
        }
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

async fn mixed_load_without_errors(backend: Backend) {
    let clients = setting("WHARF_LOAD_CLIENTS", 50) as usize;
    let seconds = setting("WHARF_LOAD_SECONDS", 10);
    // Every client comes from 127.0.0.1: the per-address request limit would turn the test
    // into a test of the limiter.
    let server = Server::start_with(&backend, &["--rate-limit", "0", "--token-ttl", "3600"], &[]).await;
    let mut actors = Vec::new();
    for u in 0..USERS {
        let name = format!("load{u}");
        let session = server.user_with_token(&name).await;
        let pat = server.create_pat(&session, "load", &["repo:admin"]).await;
        let pat = pat["token"].as_str().expect("PAT").to_string();
        let repo = format!("{name}/app");
        let registry = Registry::login(&server, Some((&name, &pat)), &[&repo], "pull,push").await;
        registry.push_image(&repo, "seed").await;
        actors.push(Actor {
            name,
            pat,
            session,
            registry_token: registry.token,
            repo,
        });
    }

    let pid = server.pid();
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while Instant::now() < until {
            samples.push(rss_kib(pid));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        samples
    });
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            tokio::spawn(client(
                server.base.clone(),
                actors[c % USERS].clone(),
                c + 1,
                until,
            ))
        })
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        tally.merge(task.await.expect("client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = sampler.await.expect("sampler");

    let total: usize = tally.latencies.values().map(Vec::len).sum();
    println!(
        "load: {clients} clients, {elapsed:.1} s, {total} requests ({:.0}/s), {} errors, {} 429s",
        total as f64 / elapsed,
        tally.errors.len(),
        tally.limited
    );
    for (kind, values) in &mut tally.latencies {
        values.sort_unstable();
        println!(
            "load: {kind:>13}: {:>7} requests, p50 {:>8.2} ms, p99 {:>8.2} ms",
            values.len(),
            percentile(values, 0.5),
            percentile(values, 0.99)
        );
    }
    let half = samples.len() / 2;
    let first_peak = samples[..half.max(1)].iter().copied().max().unwrap_or(0);
    let second_peak = samples[half..].iter().copied().max().unwrap_or(0);
    println!(
        "load: RSS start {} MiB, peak of the first half {} MiB, of the second half {} MiB",
        samples.first().copied().unwrap_or(0) / 1024,
        first_peak / 1024,
        second_peak / 1024
    );

    let log = server.log_text();
    let logged: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).take(20).collect();
    assert!(
        tally.errors.is_empty(),
        "errors under load: {:?}\nthe server logged:\n{}",
        &tally.errors[..tally.errors.len().min(20)],
        logged.join("\n")
    );
    for kind in [
        "login",
        "token",
        "hub read",
        "hub write",
        "blob push",
        "manifest push",
        "pull",
    ] {
        assert!(
            tally.latencies.get(kind).is_some_and(|v| !v.is_empty()),
            "no {kind} ran"
        );
    }
    // Flat: the second half may not need much more memory than the first (steady growth
    // would show as a second half far above the first).
    assert!(
        second_peak <= first_peak + first_peak / 2 + 64 * 1024,
        "memory grew under steady load: {samples:?}"
    );
}

crate::both_backends!(mixed_load_without_errors);
