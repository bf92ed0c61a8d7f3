//! `POST /v2/auth/token`, and the re-check of every session on every request: revocation
//! is effective on the next request, not at token expiry.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{assert_hub_error, json, Backend, Server, PASSWORD};

async fn status_with(server: &Server, token: &str) -> StatusCode {
    server
        .send(Method::GET, "/v2/user", Some(token), None)
        .await
        .status()
}

async fn exchange(server: &Server, identifier: &str, secret: &str) -> (StatusCode, serde_json::Value) {
    json(
        server
            .post(
                "/v2/auth/token",
                None,
                json!({"identifier": identifier, "secret": secret}),
            )
            .await,
    )
    .await
}

async fn password_and_pat_exchange(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    assert_eq!(status_with(&server, &session).await, StatusCode::OK);
    let pat = server.create_pat(&session, "ci", &["repo:read"]).await;
    let from_pat = server.token("alice", pat["token"].as_str().unwrap()).await;
    assert_eq!(status_with(&server, &from_pat).await, StatusCode::OK);
}

async fn failures_use_the_hub_error_format(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    for (identifier, secret) in [
        ("alice", "nope-nope"),
        ("nobody", PASSWORD),
        ("alice", "dckr_pat_unknown"),
    ] {
        let (status, body) = exchange(&server, identifier, secret).await;
        assert_hub_error(status, &body, StatusCode::UNAUTHORIZED);
    }
    for raw in [
        "{",
        r#"{"identifier": "alice"}"#,
        r#"{"identifier": "alice", "secret": 5}"#,
    ] {
        let res = server
            .request(Method::POST, "/v2/auth/token")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (status, body) = json(res).await;
        assert_hub_error(status, &body, StatusCode::BAD_REQUEST);
    }
}

async fn two_factor_accounts_need_a_pat(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let pat = server.create_pat(&session, "ci", &["repo:read"]).await;
    let out = server.admin(&["user", "2fa", "enable", "alice"], None).await;
    assert!(out.status.success());
    let (status, body) = exchange(&server, "alice", PASSWORD).await;
    assert_hub_error(status, &body, StatusCode::UNAUTHORIZED);
    let (status, _) = exchange(&server, "alice", pat["token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

async fn invalid_bearer_tokens_are_401(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let mut tampered = session.clone();
    tampered.pop();
    tampered.push(if session.ends_with('A') { 'B' } else { 'A' });
    for token in ["garbage", "a.b.c", tampered.as_str()] {
        let (status, body) = json(
            server
                .send(Method::GET, "/v2/access-tokens", Some(token), None)
                .await,
        )
        .await;
        assert_hub_error(status, &body, StatusCode::UNAUTHORIZED);
    }
    let res = server
        .request(Method::GET, "/v2/access-tokens")
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_hub_error(status, &body, StatusCode::UNAUTHORIZED);
    let res = server
        .request(Method::GET, "/v2/access-tokens")
        .header("authorization", format!("Basic {session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn password_change_ends_password_sessions_only(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let pat = server.create_pat(&session, "ci", &["repo:read"]).await;
    let from_pat = server.token("alice", pat["token"].as_str().unwrap()).await;
    let out = server
        .admin(
            &["user", "set-password", "alice", "--password-stdin"],
            Some("a-brand-new-password\n"),
        )
        .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status_with(&server, &session).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_with(&server, &from_pat).await, StatusCode::OK);
    assert_eq!(
        exchange(&server, "alice", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        exchange(&server, "alice", "a-brand-new-password").await.0,
        StatusCode::OK
    );
}

async fn tokens_survive_a_restart(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    // Another instance on the same store accepts the first one's tokens (the signing key
    // lives in the store), and the other way round.
    let other = server.another_instance().await;
    assert_eq!(status_with(&other, &session).await, StatusCode::OK);
    let fresh = other.token("alice", PASSWORD).await;
    assert_eq!(status_with(&server, &fresh).await, StatusCode::OK);
}

crate::both_backends!(
    password_and_pat_exchange,
    failures_use_the_hub_error_format,
    two_factor_accounts_need_a_pat,
    invalid_bearer_tokens_are_401,
    password_change_ends_password_sessions_only,
    tokens_survive_a_restart,
);
