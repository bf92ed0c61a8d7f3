//! `POST /v2/users/login` and `POST /v2/users/2fa-login`, including TOTP 2FA, its replay
//! guard, and the brute-force limit.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{assert_login_error, json, Backend, Server, PASSWORD};

async fn login(server: &Server, username: &str, password: &str) -> (StatusCode, Value) {
    json(
        server
            .post(
                "/v2/users/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await,
    )
    .await
}

async fn second_factor(server: &Server, token: &str, code: &str) -> (StatusCode, Value) {
    json(
        server
            .post(
                "/v2/users/2fa-login",
                None,
                json!({"login_2fa_token": token, "code": code}),
            )
            .await,
    )
    .await
}

/// A session token must open an authenticated endpoint.
async fn assert_session_works(server: &Server, token: &str) {
    let res = server
        .send(reqwest::Method::GET, "/v2/access-tokens", Some(token), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Enables 2FA with `wharf admin` and returns the TOTP secret from the printed URI.
async fn enable_two_factor(server: &Server, username: &str) -> String {
    let out = server.admin(&["user", "2fa", "enable", username], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let uri = String::from_utf8(out.stdout).unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .trim();
    secret.to_string()
}

fn code_now(secret: &str, offset_steps: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + offset_steps * 30;
    wharf::domain::totp::code_at(secret, now as u64).unwrap()
}

async fn password_login_returns_a_working_token(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let (status, body) = login(&server, "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_session_works(&server, body["token"].as_str().unwrap()).await;
    // Usernames are case-insensitive at login.
    assert_eq!(login(&server, "Alice", PASSWORD).await.0, StatusCode::OK);
    // hub-tool adds ?refresh_token=true; it is accepted.
    let res = server
        .request(reqwest::Method::POST, "/v2/users/login/?refresh_token=true")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn bad_credentials_are_401_with_detail(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    for (user, password) in [("alice", "wrong-password"), ("nobody", PASSWORD), ("alice", "")] {
        let (status, body) = login(&server, user, password).await;
        assert_login_error(status, &body, StatusCode::UNAUTHORIZED);
        assert_eq!(body["detail"], "Incorrect authentication credentials");
    }
}

async fn malformed_requests_are_400(backend: Backend) {
    let server = Server::start(&backend).await;
    for raw in [
        "{",
        "",
        "not json",
        r#"{"username": "alice"}"#,
        r#"{"username": 1, "password": "x"}"#,
    ] {
        let res = server
            .request(reqwest::Method::POST, "/v2/users/login")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (status, body) = json(res).await;
        assert_login_error(status, &body, StatusCode::BAD_REQUEST);
    }
    let res = server
        .request(reqwest::Method::POST, "/v2/users/2fa-login")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_login_error(status, &body, StatusCode::BAD_REQUEST);
}

async fn personal_access_token_logs_in(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let pat = server.create_pat(&session, "cli", &["repo:read"]).await;
    let secret = pat["token"].as_str().unwrap();
    let (status, body) = login(&server, "alice", secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The PAT belongs to alice: it does not log in anyone else.
    server.create_user("bobby").await;
    let (status, _) = login(&server, "bobby", secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // last_used is recorded.
    let uuid = pat["uuid"].as_str().unwrap();
    let (_, got) = json(
        server
            .send(
                reqwest::Method::GET,
                &format!("/v2/access-tokens/{uuid}"),
                Some(&session),
                None,
            )
            .await,
    )
    .await;
    assert!(got["last_used"].is_string(), "{got}");
}

async fn two_factor_login(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let secret = enable_two_factor(&server, "alice").await;

    let (status, body) = login(&server, "alice", PASSWORD).await;
    assert_login_error(status, &body, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["detail"],
        "Require secondary authentication on MFA enabled account"
    );
    let challenge = body["login_2fa_token"]
        .as_str()
        .expect("login_2fa_token")
        .to_string();

    // A wrong code, a malformed code and a garbage token fail without using up the login.
    let (status, body) = second_factor(&server, &challenge, "000000").await;
    assert_login_error(status, &body, StatusCode::UNAUTHORIZED);
    let (status, _) = second_factor(&server, &challenge, "12ab").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = second_factor(&server, "not-a-token", &code_now(&secret, 0)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let code = code_now(&secret, 0);
    let (status, body) = second_factor(&server, &challenge, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_session_works(&server, body["token"].as_str().unwrap()).await;

    // The 2FA token is single-use, and the code cannot be replayed with a fresh login.
    let (status, _) = second_factor(&server, &challenge, &code_now(&secret, 1)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, body) = login(&server, "alice", PASSWORD).await;
    let fresh = body["login_2fa_token"].as_str().unwrap().to_string();
    let (status, _) = second_factor(&server, &fresh, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a used code was accepted again");
    // The next time step's code (within the ±1 window) is still good.
    let (status, body) = second_factor(&server, &fresh, &code_now(&secret, 1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Disabling 2FA brings back the one-step login.
    let out = server.admin(&["user", "2fa", "disable", "alice"], None).await;
    assert!(out.status.success());
    let (status, _) = login(&server, "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

async fn second_factor_token_allows_few_attempts(backend: Backend) {
    let server = Server::start_with(&backend, &["--login-failure-limit", "100"], &[]).await;
    server.create_user("alice").await;
    let secret = enable_two_factor(&server, "alice").await;
    let (_, body) = login(&server, "alice", PASSWORD).await;
    let challenge = body["login_2fa_token"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let (status, _) = second_factor(&server, &challenge, "000000").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Out of attempts: even the right code no longer opens this login.
    let (status, _) = second_factor(&server, &challenge, &code_now(&secret, 0)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn pat_login_skips_second_factor(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let pat = server.create_pat(&session, "ci", &["repo:write"]).await;
    enable_two_factor(&server, "alice").await;
    let (status, body) = login(&server, "alice", pat["token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn repeated_failures_are_rate_limited(backend: Backend) {
    let server = Server::start_with(&backend, &["--login-failure-limit", "3"], &[]).await;
    server.create_user("alice").await;
    // Correct logins never count: many in a row all pass.
    for _ in 0..5 {
        assert_eq!(login(&server, "alice", PASSWORD).await.0, StatusCode::OK);
    }
    for _ in 0..3 {
        assert_eq!(
            login(&server, "alice", "guess-guess").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let res = server
        .post(
            "/v2/users/login",
            None,
            json!({"username": "alice", "password": "guess-guess"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let (_, body) = json(res).await;
    assert!(body["detail"].is_string(), "{body}");
    // While limited, even the right password is refused, here and at /v2/auth/token.
    assert_eq!(
        login(&server, "alice", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let res = server
        .post(
            "/v2/auth/token",
            None,
            json!({"identifier": "alice", "secret": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

crate::both_backends!(
    password_login_returns_a_working_token,
    bad_credentials_are_401_with_detail,
    malformed_requests_are_400,
    personal_access_token_logs_in,
    two_factor_login,
    second_factor_token_allows_few_attempts,
    pat_login_skips_second_factor,
    repeated_failures_are_rate_limited,
);
