//! Starting, stopping and restarting: graceful shutdown on SIGTERM, and a store that
//! outlives the process.

use reqwest::{Method, StatusCode};

use crate::harness::{Backend, Server, PASSWORD};

async fn sigterm_shuts_down_gracefully_and_data_survives(backend: Backend) {
    let mut server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let status = server.terminate().await;
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        server.log_text()
    );
    assert!(server.log_text().contains("shutting down"));

    // A new process on the same store: the user and the session key are still there.
    let restarted = server.another_instance().await;
    let res = restarted
        .send(Method::GET, "/v2/user", Some(&session), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    restarted.token("alice", PASSWORD).await;
}

async fn healthz_reports_ok(backend: Backend) {
    let server = Server::start(&backend).await;
    let res = server.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn json_logs(backend: Backend) {
    let server = Server::start_with(&backend, &["--log-format", "json"], &[]).await;
    let log = server.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("wharf listening on"))
        .expect("listening line");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(parsed["level"], "INFO");
}

crate::both_backends!(
    sigterm_shuts_down_gracefully_and_data_survives,
    healthz_reports_ok,
    json_logs
);
