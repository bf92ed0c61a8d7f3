//! The security pass: every answer carries headers that keep browsers from rendering,
//! framing or sniffing it (and credentials are never cached); no secret reaches the log,
//! even at debug level; and a removed member, a deactivated PAT and a deprovisioned SCIM
//! user are refused on their very next request, on the Hub API and the registry alike.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{json, Backend, Server, PASSWORD};
use crate::oci::{blob_path, manifest_path, token_response, Registry};

const REPO: &str = "acme/app";

async fn answers_carry_security_headers(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/app"], "pull,push").await;
    let (_, digest) = registry.push_image("alice/app", "latest").await;

    let hub = server
        .request(Method::GET, "/v2/access-tokens")
        .bearer_auth(&session)
        .send()
        .await
        .expect("request");
    let token = token_response(
        &server,
        Some(("alice", PASSWORD)),
        &["repository:alice/app:pull".to_string()],
    )
    .await;
    let manifest = registry
        .send(Method::GET, &manifest_path("alice/app", &digest))
        .await;
    let base = server.request(Method::GET, "/v2/").send().await.expect("request");
    let unknown = server
        .request(Method::GET, "/nowhere")
        .send()
        .await
        .expect("request");
    let health = server
        .request(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    for (what, res) in [
        ("a Hub answer", &hub),
        ("/token", &token),
        ("a manifest", &manifest),
        ("the registry challenge", &base),
        ("an unknown route", &unknown),
        ("/healthz", &health),
    ] {
        let headers = res.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(headers["x-frame-options"], "DENY", "{what}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
        assert_eq!(
            headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{what}"
        );
        assert!(
            headers.get("strict-transport-security").is_none(),
            "{what}: no HSTS over plain HTTP"
        );
    }
    for (what, res) in [("a Hub answer", &hub), ("/token", &token)] {
        assert_eq!(res.headers()["cache-control"], "no-store", "{what}");
    }
}

/// Every secret a user types or is shown once: none of them is in the server's log, even
/// at debug level, after logins (right and wrong), token exchanges, PAT and organization
/// token creation, and registry use.
async fn secrets_never_reach_the_log(backend: Backend) {
    let server = Server::start_with(&backend, &[], &[("WHARF_LOG", "debug")]).await;
    let session = server.user_with_token("alice").await;
    server.create_org("acme", "alice").await;
    let pat = server.create_pat(&session, "ci", &["repo:admin"]).await;
    let pat_secret = pat["token"].as_str().expect("PAT").to_string();
    let pat_session = server.token("alice", &pat_secret).await;
    let oat = server
        .create_oat(
            &session,
            "acme",
            json!([{"type": "TYPE_REPO", "path": "acme/*", "scopes": ["scope-image-pull"]}]),
        )
        .await;
    let oat_secret = oat["token"].as_str().expect("OAT").to_string();
    let registry = Registry::login(&server, Some(("alice", &pat_secret)), &[REPO], "pull,push").await;
    registry.push_image(REPO, "latest").await;
    let wrong = server
        .post(
            "/v2/users/login",
            None,
            json!({"username": "alice", "password": "not-the-password-7"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let login = server
        .post(
            "/v2/users/login",
            None,
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);

    let log = server.log_text();
    assert!(log.contains("DEBUG"), "the server logged at debug level");
    for (what, secret) in [
        ("the password", PASSWORD),
        ("a wrong password", "not-the-password-7"),
        ("the session token", session.as_str()),
        ("the PAT", pat_secret.as_str()),
        ("the PAT session", pat_session.as_str()),
        ("the organization access token", oat_secret.as_str()),
        ("the registry token", registry.token.as_str()),
    ] {
        assert!(!log.contains(secret), "{what} is in the log");
    }
}

/// Bobby, a member of `acme` with pull access to `acme/app` through a team: his password
/// session, and a registry token for pulling.
async fn bobby_can_read(server: &Server, owner: &str) -> (String, String) {
    server.create_user("bobby").await;
    server.add_org_member("acme", "bobby", "member").await;
    let (status, team) = json(
        server
            .post("/v2/orgs/acme/groups", Some(owner), json!({"name": "readers"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let res = server
        .post(
            "/v2/orgs/acme/groups/readers/members",
            Some(owner),
            json!({"member": "bobby"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let res = server
        .post(
            &format!("/v2/repositories/{REPO}/groups"),
            Some(owner),
            json!({"group_id": team["id"], "permission": "read"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let session = server.token("bobby", PASSWORD).await;
    let registry = Registry::login(server, Some(("bobby", PASSWORD)), &[REPO], "pull").await;
    (session, registry.token)
}

/// Whether a Hub session may read the organization's members, and a registry token may
/// pull the tag.
async fn access(server: &Server, session: &str, registry_token: &str) -> (StatusCode, StatusCode) {
    let hub = server
        .request(Method::GET, "/v2/orgs/acme/members")
        .bearer_auth(session)
        .send()
        .await
        .expect("request")
        .status();
    let registry = Registry::with_token(server, registry_token)
        .send(Method::GET, &manifest_path(REPO, "latest"))
        .await
        .status();
    (hub, registry)
}

fn refused(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    )
}

async fn revocation_takes_effect_on_the_next_request(backend: Backend) {
    let server = Server::start(&backend).await;
    let owner = server.user_with_token("alice").await;
    server.create_org("acme", "alice").await;
    let pusher = Registry::login(&server, Some(("alice", PASSWORD)), &[REPO], "pull,push").await;
    pusher.push_image(REPO, "latest").await;

    // A removed member.
    let (session, registry_token) = bobby_can_read(&server, &owner).await;
    assert_eq!(
        access(&server, &session, &registry_token).await,
        (StatusCode::OK, StatusCode::OK)
    );
    let res = server
        .request(Method::DELETE, "/v2/orgs/acme/members/bobby")
        .bearer_auth(&owner)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (hub, registry) = access(&server, &session, &registry_token).await;
    assert!(
        refused(hub) && refused(registry),
        "removed member: {hub} {registry}"
    );

    // A deactivated PAT: the sessions and registry tokens it opened stop with it.
    let pat = server.create_pat(&owner, "deploy", &["repo:read"]).await;
    let secret = pat["token"].as_str().expect("PAT").to_string();
    let pat_session = server.token("alice", &secret).await;
    let pat_registry = Registry::login(&server, Some(("alice", &secret)), &[REPO], "pull").await;
    assert_eq!(
        access(&server, &pat_session, &pat_registry.token).await,
        (StatusCode::OK, StatusCode::OK)
    );
    let uuid = pat["uuid"].as_str().expect("uuid");
    let res = server
        .request(Method::PATCH, &format!("/v2/access-tokens/{uuid}"))
        .bearer_auth(&owner)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let (hub, registry) = access(&server, &pat_session, &pat_registry.token).await;
    assert!(
        refused(hub) && refused(registry),
        "deactivated PAT: {hub} {registry}"
    );
    let exchange = token_response(
        &server,
        Some(("alice", &secret)),
        &[format!("repository:{REPO}:pull")],
    )
    .await;
    assert_eq!(exchange.status(), StatusCode::UNAUTHORIZED);

    // A user deprovisioned by the identity provider.
    let scim = server.admin(&["org", "scim-token", "acme"], None).await;
    let scim_token = String::from_utf8_lossy(&scim.stdout).trim().to_string();
    let (status, user) = json(
        server
            .request(Method::POST, "/v2/scim/2.0/Users")
            .bearer_auth(&scim_token)
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "carol@example.com",
                "displayName": "carol1",
                "emails": [{"value": "carol@example.com", "primary": true}],
                "active": true
            }))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let out = server
        .admin(
            &["user", "set-password", "carol1", "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        )
        .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let carol = server.token("carol1", PASSWORD).await;
    let carol_registry = Registry::login(&server, Some(("carol1", PASSWORD)), &[REPO], "pull").await;
    let hub = server
        .request(Method::GET, "/v2/orgs/acme/members")
        .bearer_auth(&carol)
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(hub, StatusCode::OK, "a provisioned member reads the members");
    let res = server
        .request(
            Method::PATCH,
            &format!("/v2/scim/2.0/Users/{}", user["id"].as_str().expect("id")),
        )
        .bearer_auth(&scim_token)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let (hub, registry) = access(&server, &carol, &carol_registry.token).await;
    assert!(
        refused(hub) && refused(registry),
        "deprovisioned: {hub} {registry}"
    );
    let res = Registry::with_token(&server, &carol_registry.token)
        .send(Method::GET, &blob_path(REPO, "sha256:0"))
        .await;
    assert!(refused(res.status()) || res.status() == StatusCode::BAD_REQUEST);
}

/// Guessing a password: after the failure limit, even the right password is refused for
/// the window (429), for that account and that address.
async fn password_guessing_is_cut_short(backend: Backend) {
    let server = Server::start_with(&backend, &["--login-failure-limit", "5"], &[]).await;
    server.create_user("alice").await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let res = server
            .post(
                "/v2/users/login",
                None,
                json!({"username": "alice", "password": format!("guess-{i}-xxxx")}),
            )
            .await;
        statuses.push(res.status());
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[5..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let res = server
        .post(
            "/v2/users/login",
            None,
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right password too, for now"
    );
    let body: Value = res.json().await.expect("JSON");
    assert!(body["detail"].is_string(), "{body}");
}

/// Sends `head` and the start of a body that never finishes, over a raw connection;
/// returns the status line and what followed, as soon as the server answers.
async fn half_sent(server: &Server, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(head.as_bytes()).await.expect("write head");
    conn.write_all(b"{\"partial").await.expect("write some body");
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("the server answers a stalled request within seconds")
        .expect("read");
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// Headers that never end close the connection after the header timeout; a Hub request
/// whose body stops arriving is answered 503 after the request timeout; a
/// registry upload whose body stops arriving ends after the stall timeout, and the upload
/// stays where it was.
async fn stalled_requests_are_cut_off(backend: Backend) {
    let server = Server::start_with(
        &backend,
        &[
            "--request-timeout",
            "1",
            "--body-stall-timeout",
            "1",
            "--header-read-timeout",
            "1",
        ],
        &[],
    )
    .await;
    server.create_user("alice").await;

    // Headers that never end: the connection is closed once the header timeout passes.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = server.base.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        conn.write_all(b"GET /v2/ HTTP/1.1\r\nHost: wharf\r\nX-Slow: ")
            .await
            .expect("write part of the headers");
        let mut answer = vec![0; 4096];
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut answer))
            .await
            .expect("the server gives up on headers that never end within seconds");
        assert!(
            matches!(read, Ok(0) | Err(_)) || String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"),
            "the connection is closed: {read:?}"
        );
    }

    let answer = half_sent(
        &server,
        "POST /v2/users/login HTTP/1.1\r\nHost: wharf\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("took longer than 1 s"), "{answer}");

    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/app"], "pull,push").await;
    let location = registry.start_upload("alice/app").await;
    let answer = half_sent(
        &server,
        &format!(
            "PATCH {location} HTTP/1.1\r\nHost: wharf\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n",
            registry.token
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("BLOB_UPLOAD_INVALID") && answer.contains("no data for 1 s"),
        "{answer}"
    );
    let res = registry.send(Method::GET, &location).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        res.headers()["range"],
        "0-0",
        "nothing of the stalled chunk counts"
    );
}

crate::both_backends!(
    stalled_requests_are_cut_off,
    answers_carry_security_headers,
    secrets_never_reach_the_log,
    revocation_takes_effect_on_the_next_request,
    password_guessing_is_cut_short
);
