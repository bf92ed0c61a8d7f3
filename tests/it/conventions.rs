//! Cross-cutting HTTP conventions: trailing slashes, the `JWT` authorization scheme, the
//! per-client request limit and its headers, request ids, the health check, 404 and 405 in
//! the Hub error format, the OpenAPI document, and the lifetime of session tokens.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::harness::{assert_hub_error, json, Backend, Server, PASSWORD};

const TOKENS: &str = "/v2/access-tokens";
const REQUEST_ID: &str = "x-request-id";

/// Every operation of the Hub API: method, path, and its success status.
const OPERATIONS: [(&str, &str, &str); 8] = [
    ("post", "/v2/users/login", "200"),
    ("post", "/v2/users/2fa-login", "200"),
    ("post", "/v2/auth/token", "200"),
    ("post", "/v2/access-tokens", "201"),
    ("get", "/v2/access-tokens", "200"),
    ("get", "/v2/access-tokens/{uuid}", "200"),
    ("patch", "/v2/access-tokens/{uuid}", "200"),
    ("delete", "/v2/access-tokens/{uuid}", "204"),
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

async fn get(server: &Server, path: &str) -> Response {
    server.request(Method::GET, path).send().await.expect("request")
}

/// A response header as text; it must be there.
fn header<'a>(res: &'a Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header on a {} response", res.status()))
        .to_str()
        .expect("header is text")
}

/// A response header as a number; it must be there.
fn number(res: &Response, name: &str) -> u64 {
    let text = header(res, name);
    text.parse()
        .unwrap_or_else(|_| panic!("{name} is not a number: {text:?}"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The `(limit, remaining, reset)` rate limit headers of a response.
fn rate_limit(res: &Response) -> (u64, u64, u64) {
    (
        number(res, "x-ratelimit-limit"),
        number(res, "x-ratelimit-remaining"),
        number(res, "x-ratelimit-reset"),
    )
}

/// Asserts that a response is a Hub API error with `expected` status.
async fn assert_hub_error_response(res: Response, expected: StatusCode, what: &str) -> Value {
    let (status, body) = json(res).await;
    assert_eq!(status, expected, "{what}: {body}");
    assert_hub_error(status, &body, expected);
    body
}

/// The status of `GET /v2/access-tokens` with `authorization` as the header, if any.
async fn list_status(server: &Server, authorization: Option<&str>) -> StatusCode {
    let mut req = server.request(Method::GET, TOKENS);
    if let Some(value) = authorization {
        req = req.header(AUTHORIZATION, value);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    if status != StatusCode::OK {
        assert_hub_error_response(res, status, &format!("Authorization: {authorization:?}")).await;
    }
    status
}

/// `exp - iat` of a session token, read from its (unverified) payload.
fn lifetime(jwt: &str) -> i64 {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("payload is base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("payload is JSON");
    let claim = |name: &str| {
        claims[name]
            .as_i64()
            .unwrap_or_else(|| panic!("no {name} in {claims}"))
    };
    claim("exp") - claim("iat")
}

/// The lifetime of the session tokens a server started with `args` and `env` hands out,
/// from `/v2/auth/token` and `/v2/users/login` alike.
async fn session_lifetime(backend: &Backend, args: &[&str], env: &[(&str, &str)]) -> i64 {
    let server = Server::start_with(backend, args, env).await;
    let exchanged = server.user_with_token("alice").await;
    let res = server
        .post(
            "/v2/users/login",
            None,
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let logged_in = body["token"].as_str().expect("token");
    assert_eq!(
        lifetime(&exchanged),
        lifetime(logged_in),
        "both endpoints use one lifetime"
    );
    lifetime(&exchanged)
}

// ---------------------------------------------------------------------------------------
// Paths and authorization
// ---------------------------------------------------------------------------------------

async fn trailing_slash_is_accepted(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let credentials = json!({"identifier": "alice", "secret": PASSWORD});
    let (status, body) = json(server.post("/v2/auth/token/", None, credentials).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = body["access_token"].as_str().expect("access_token");

    let new = json!({"token_label": "ci", "scopes": ["repo:read"]});
    let (status, created) = json(server.post("/v2/access-tokens/", Some(session), new).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // The same answer with and without the slash.
    let with = json(
        server
            .send(Method::GET, "/v2/access-tokens/", Some(session), None)
            .await,
    )
    .await;
    let without = json(server.send(Method::GET, TOKENS, Some(session), None).await).await;
    assert_eq!(with.0, StatusCode::OK, "{}", with.1);
    assert_eq!(with, without);

    let one = format!("{TOKENS}/{}/", created["uuid"].as_str().expect("uuid"));
    let calls = [
        (Method::GET, None, StatusCode::OK),
        (
            Method::PATCH,
            Some(json!({"token_label": "renamed"})),
            StatusCode::OK,
        ),
        (Method::DELETE, None, StatusCode::NO_CONTENT),
        (Method::GET, None, StatusCode::NOT_FOUND),
    ];
    for (method, body, expected) in calls {
        let res = server.send(method.clone(), &one, Some(session), body).await;
        assert_eq!(res.status(), expected, "{method} {one}");
    }
    assert_eq!(get(&server, "/healthz/").await.status(), StatusCode::OK);
}

async fn jwt_scheme_is_accepted_like_bearer(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    for scheme in ["Bearer", "JWT", "bearer", "jwt"] {
        let value = format!("{scheme} {session}");
        assert_eq!(
            list_status(&server, Some(&value)).await,
            StatusCode::OK,
            "{scheme}"
        );
    }
    let refused = [
        None,
        Some(session.clone()),
        Some(format!("Token {session}")),
        Some(format!("Basic {session}")),
        Some("JWT".to_string()),
        Some("JWT ".to_string()),
        Some("JWT not-a-token".to_string()),
    ];
    for value in refused {
        assert_eq!(
            list_status(&server, value.as_deref()).await,
            StatusCode::UNAUTHORIZED,
            "{value:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Request limit
// ---------------------------------------------------------------------------------------

async fn responses_carry_rate_limit_headers(backend: Backend) {
    let server = Server::start(&backend).await;
    let now = unix_now();
    let ok = get(&server, "/healthz").await;
    assert_eq!(ok.status(), StatusCode::OK);
    let (limit, remaining, reset) = rate_limit(&ok);
    assert_eq!(
        (limit, remaining),
        (1000, 999),
        "the default limit is 1000 a minute"
    );
    assert!(
        (now..=now + 61).contains(&reset),
        "reset {reset} is not within a minute of {now}"
    );
    // Errors count and carry the headers too.
    for (path, status, left) in [
        ("/v2/nope", StatusCode::NOT_FOUND, 998),
        (TOKENS, StatusCode::UNAUTHORIZED, 997),
    ] {
        let res = get(&server, path).await;
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(rate_limit(&res).0, 1000, "{path}");
        assert_eq!(rate_limit(&res).1, left, "{path}");
        assert!(
            rate_limit(&res).2 >= reset,
            "{path}: the window does not go back in time"
        );
    }
}

async fn requests_over_the_limit_get_429(backend: Backend) {
    let server = Server::start_with(&backend, &["--rate-limit", "5"], &[]).await;
    for left in (0..5).rev() {
        let res = get(&server, "/healthz").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(rate_limit(&res).0, 5);
        assert_eq!(rate_limit(&res).1, left);
    }
    let res = get(&server, "/healthz").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = number(&res, RETRY_AFTER.as_str());
    assert!((1..=60).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(rate_limit(&res).0, 5);
    assert_eq!(rate_limit(&res).1, 0);
    assert!(!header(&res, REQUEST_ID).is_empty());
    assert_hub_error_response(res, StatusCode::TOO_MANY_REQUESTS, "GET /healthz").await;
    // Every route is limited, authenticated or not, before anything else is checked.
    let login = server.post(
        "/v2/auth/token",
        None,
        json!({"identifier": "alice", "secret": PASSWORD}),
    );
    assert_hub_error_response(login.await, StatusCode::TOO_MANY_REQUESTS, "POST /v2/auth/token").await;
    assert_hub_error_response(
        get(&server, "/v2/nope").await,
        StatusCode::TOO_MANY_REQUESTS,
        "GET /v2/nope",
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Request ids, health, errors
// ---------------------------------------------------------------------------------------

async fn every_response_has_a_request_id(backend: Backend) {
    let server = Server::start(&backend).await;
    let first = get(&server, "/healthz").await;
    let second = get(&server, "/v2/nope").await;
    let (a, b) = (header(&first, REQUEST_ID), header(&second, REQUEST_ID));
    assert!(!a.is_empty() && !b.is_empty());
    assert_ne!(a, b, "each request gets its own id");
    // A caller's own id is kept, so that it can be traced through the logs.
    let res = server
        .request(Method::GET, "/healthz")
        .header(REQUEST_ID, "trace-me-42")
        .send()
        .await
        .expect("request");
    assert_eq!(header(&res, REQUEST_ID), "trace-me-42");
}

async fn healthz_is_ok_without_credentials(backend: Backend) {
    let server = Server::start(&backend).await;
    let (status, body) = json(get(&server, "/healthz").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

async fn unknown_routes_are_404_hub_errors(backend: Backend) {
    let server = Server::start(&backend).await;
    let session = server.user_with_token("alice").await;
    let routes = [
        (Method::GET, "/"),
        (Method::GET, "/nope"),
        (Method::GET, "/v2/nope"),
        (Method::POST, "/v2/users/nope/more"),
        (Method::GET, "/v2/access-tokens/a/b"),
    ];
    for (method, path) in routes {
        let what = format!("{method} {path}");
        let res = server.send(method.clone(), path, None, None).await;
        assert_hub_error_response(res, StatusCode::NOT_FOUND, &what).await;
        // The same with credentials: the route does not exist for anyone.
        let res = server.send(method, path, Some(&session), None).await;
        assert_hub_error_response(res, StatusCode::NOT_FOUND, &what).await;
    }
}

async fn wrong_method_is_405(backend: Backend) {
    let server = Server::start(&backend).await;
    // Each with the methods the path does allow, as the `Allow` header must list them.
    let routes = [
        (Method::DELETE, TOKENS, &["GET", "POST"][..]),
        (
            Method::PUT,
            "/v2/access-tokens/some-id",
            &["DELETE", "GET", "PATCH"],
        ),
        (
            Method::POST,
            "/v2/access-tokens/some-id",
            &["DELETE", "GET", "PATCH"],
        ),
        (Method::GET, "/v2/auth/token", &["POST"]),
        (Method::GET, "/v2/users/login", &["POST"]),
        (Method::POST, "/healthz", &["GET"]),
        (Method::POST, "/v2/openapi.json", &["GET"]),
    ];
    for (method, path, allowed) in routes {
        let what = format!("{method} {path}");
        let res = server.send(method, path, None, None).await;
        let allow: Vec<&str> = header(&res, "allow").split(',').map(str::trim).collect();
        for method in allowed {
            assert!(allow.contains(method), "{what}: Allow {allow:?} lacks {method}");
        }
        assert_hub_error_response(res, StatusCode::METHOD_NOT_ALLOWED, &what).await;
    }
}

/// Routes outside the OpenAPI document, by design: the registry speaks the OCI
/// Distribution protocol (its own specification), under `/v2/` and at `/token`.
const REGISTRY_ROUTES: [&str; 3] = ["/v2", "/v2/{*path}", "/token"];

/// Every route of the router is documented: each `.route(…)` registered by hand names a
/// path of the document (or is the registry), and every operation of the document is
/// served (the Hub routes are registered together with their documentation, so the two
/// cannot drift apart). A route added without documentation fails here.
async fn every_route_is_documented(backend: Backend) {
    let server = Server::start(&backend).await;
    let (status, doc) = json(get(&server, "/openapi.json").await).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");

    let sources = ["src/http/mod.rs", "src/http/registry/mod.rs"];
    for source in sources {
        let text = std::fs::read_to_string(source).expect("read router source");
        for route in text.split(".route(\"").skip(1) {
            let path = route.split('"').next().expect("route path");
            assert!(
                paths.contains_key(path) || REGISTRY_ROUTES.contains(&path),
                "{source}: the route {path} is not in the OpenAPI document"
            );
        }
    }

    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|segment| if segment.starts_with('{') { "x1" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().expect("path item").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let res = server.send(method.clone(), &concrete, None, None).await;
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            // The router's own answers for a route it does not have.
            let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
                || (status == StatusCode::NOT_FOUND && text.contains("\"message\":\"not found\""));
            assert!(
                !unrouted,
                "{method} {path} is documented but not served: {status} {text}"
            );
        }
    }
}

/// Every paginated list documents the 400 of bad paging parameters and the 404 of a page
/// past the last.
async fn paginated_lists_document_their_errors(backend: Backend) {
    let server = Server::start(&backend).await;
    let (_, doc) = json(get(&server, "/openapi.json").await).await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let paginated = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "page" || p["name"] == "page_size");
            if !paginated {
                continue;
            }
            for status in ["400", "404"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} is paginated but does not document {status}"
                );
            }
        }
    }
}

async fn openapi_document_lists_every_operation(backend: Backend) {
    let server = Server::start(&backend).await;
    let (status, doc) = json(get(&server, "/v2/openapi.json").await).await;
    assert_eq!(status, StatusCode::OK);
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    for (method, path, success) in OPERATIONS {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not in the document");
        let responses = operation["responses"].as_object();
        let responses = responses.unwrap_or_else(|| panic!("{method} {path} has no responses"));
        assert!(
            responses.contains_key(success),
            "{method} {path} lacks its {success}: {responses:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Session token lifetime
// ---------------------------------------------------------------------------------------

async fn session_lifetime_defaults_to_600_seconds(backend: Backend) {
    assert_eq!(session_lifetime(&backend, &[], &[]).await, 600);
}

async fn session_lifetime_follows_flag_then_environment(backend: Backend) {
    assert_eq!(session_lifetime(&backend, &["--token-ttl", "30"], &[]).await, 30);
    assert_eq!(
        session_lifetime(&backend, &[], &[("WHARF_TOKEN_TTL", "45")]).await,
        45
    );
    let both = session_lifetime(&backend, &["--token-ttl", "30"], &[("WHARF_TOKEN_TTL", "45")]).await;
    assert_eq!(both, 30, "the flag wins over the environment");
}

async fn sessions_end_with_their_lifetime(backend: Backend) {
    let server = Server::start_with(&backend, &["--token-ttl", "1"], &[]).await;
    let session = server.user_with_token("alice").await;
    let bearer = format!("Bearer {session}");
    assert_eq!(list_status(&server, Some(&bearer)).await, StatusCode::OK);
    // Valid up to and including second `exp`; from the next second on, refused.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        list_status(&server, Some(&bearer)).await,
        StatusCode::UNAUTHORIZED
    );
}

crate::both_backends!(
    trailing_slash_is_accepted,
    jwt_scheme_is_accepted_like_bearer,
    responses_carry_rate_limit_headers,
    requests_over_the_limit_get_429,
    every_response_has_a_request_id,
    healthz_is_ok_without_credentials,
    unknown_routes_are_404_hub_errors,
    wrong_method_is_405,
    openapi_document_lists_every_operation,
    paginated_lists_document_their_errors,
    every_route_is_documented,
    session_lifetime_defaults_to_600_seconds,
    session_lifetime_follows_flag_then_environment,
    sessions_end_with_their_lifetime,
);
