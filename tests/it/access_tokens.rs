//! `/v2/access-tokens`: the personal access tokens (PATs) of the calling user. Creating,
//! listing (paged), reading, updating (label, enable/disable) and deleting them; who may
//! manage them; revocation that takes effect on the very next request; expiry; and the
//! audit trail of every change. Every refused request is also checked to change nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, USER_AGENT};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;
use wharf::store::AuditRow;

use crate::harness::{
    assert_hub_error, assert_names_token, audit_data, json, keys, parse_time, rfc3339, Backend, Server,
    INVALID_PAGING,
};

const TOKENS: &str = "/v2/access-tokens";
/// The owner of the tokens in these tests.
const OWNER: &str = "alice";
/// Largest JSON body the Hub API accepts.
const MAX_BODY: usize = 64 * 1024;
/// Every field of an access token object.
const FIELDS: [&str; 12] = [
    "uuid",
    "client_id",
    "creator_ip",
    "creator_ua",
    "created_at",
    "last_used",
    "generated_by",
    "is_active",
    "token",
    "token_label",
    "scopes",
    "expires_at",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A fresh server with the user [`OWNER`], and a password session of theirs.
async fn start(backend: &Backend) -> (Server, String) {
    Server::start_as(backend, OWNER).await
}

fn token_path(uuid: &str) -> String {
    format!("{TOKENS}/{uuid}")
}

fn uuid_of(token: &Value) -> &str {
    token["uuid"].as_str().expect("uuid")
}

fn secret_of(token: &Value) -> &str {
    token["token"].as_str().expect("token")
}

/// `token` as every read after its creation shows it: with the secret redacted.
fn redacted(token: &Value) -> Value {
    let mut token = token.clone();
    token["token"] = json!("***");
    token
}

/// `(count, active_count)` of a list page.
fn counts(page: &Value) -> (u64, u64) {
    let count = |name: &str| {
        page[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no {name} in {page}"))
    };
    (count("count"), count("active_count"))
}

/// The labels of a list page, in order.
fn labels(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|t| t["token_label"].as_str().expect("token_label"))
        .collect()
}

async fn list(server: &Server, session: &str, query: &str) -> (StatusCode, Value) {
    let path = format!("{TOKENS}{query}");
    server.call(Method::GET, &path, Some(session), None).await
}

/// A list page that must be 200.
async fn list_ok(server: &Server, session: &str, query: &str) -> Value {
    let path = format!("{TOKENS}{query}");
    server
        .expect(Method::GET, &path, Some(session), None, StatusCode::OK)
        .await
}

/// A list page that must be refused with `expected`.
async fn list_refused(server: &Server, session: &str, query: &str, expected: StatusCode) {
    let path = format!("{TOKENS}{query}");
    server
        .refused(Method::GET, &path, Some(session), None, expected)
        .await;
}

/// `GET` of token `uuid`, which must be 200.
async fn get_ok(server: &Server, session: &str, uuid: &str) -> Value {
    server
        .expect(
            Method::GET,
            &token_path(uuid),
            Some(session),
            None,
            StatusCode::OK,
        )
        .await
}

/// A PATCH that must succeed; returns the updated token.
async fn patch_ok(server: &Server, session: &str, uuid: &str, body: Value) -> Value {
    server
        .expect(
            Method::PATCH,
            &token_path(uuid),
            Some(session),
            Some(body),
            StatusCode::OK,
        )
        .await
}

/// A creation that must succeed; returns the created token.
async fn create_ok(server: &Server, session: &str, body: Value) -> Value {
    server
        .expect(
            Method::POST,
            TOKENS,
            Some(session),
            Some(body),
            StatusCode::CREATED,
        )
        .await
}

/// One request of each of the five operations on `uuid`, valid apart from credentials.
fn every_operation(server: &Server, uuid: &str) -> Vec<RequestBuilder> {
    let one = token_path(uuid);
    vec![
        server
            .request(Method::POST, TOKENS)
            .json(&json!({"token_label": "new", "scopes": ["repo:read"]})),
        server.request(Method::GET, TOKENS),
        server.request(Method::GET, &one),
        server
            .request(Method::PATCH, &one)
            .json(&json!({"token_label": "renamed", "is_active": false})),
        server.request(Method::DELETE, &one),
    ]
}

/// `METHOD URL BODY` of a request, for failure messages.
fn describe(request: &RequestBuilder) -> String {
    let Some(Ok(built)) = request.try_clone().map(RequestBuilder::build) else {
        return "(request)".into();
    };
    let body = built
        .body()
        .and_then(|b| b.as_bytes())
        .map(|b| String::from_utf8_lossy(&b[..b.len().min(160)]).into_owned())
        .unwrap_or_default();
    format!("{} {} {body}", built.method(), built.url())
}

/// Everything the owner can observe about their tokens: the whole list (and counts), and
/// the audit log of the account.
#[derive(Debug, PartialEq)]
struct Observed {
    tokens: Value,
    audit: Vec<AuditRow>,
}

async fn observe(server: &Server, owner_session: &str) -> Observed {
    Observed {
        tokens: list_ok(server, owner_session, "?page_size=100").await,
        audit: server.audit_events(OWNER).await,
    }
}

/// Sends `request`, which must be refused with `expected` in the Hub error format, and
/// checks that it changed nothing: the owner's tokens and audit log are as before.
async fn assert_refused(server: &Server, owner_session: &str, expected: StatusCode, request: RequestBuilder) {
    let what = describe(&request);
    let before = observe(server, owner_session).await;
    let (status, body) = json(request.send().await.expect("request")).await;
    assert_eq!(status, expected, "{what}: {body}");
    assert_hub_error(status, &body, expected);
    assert_eq!(
        observe(server, owner_session).await,
        before,
        "{what} was refused but changed something"
    );
}

/// The status of `POST /v2/auth/token` with the owner's name and `secret`.
async fn exchange_status(server: &Server, secret: &str) -> StatusCode {
    let body = Some(json!({"identifier": OWNER, "secret": secret}));
    let (status, body) = server.call(Method::POST, "/v2/auth/token", None, body).await;
    if status != StatusCode::OK {
        assert_hub_error(status, &body, status);
    }
    status
}

/// Whether a session opened with a PAT still authenticates. Such a session may not manage
/// tokens, so while it is valid the list answers 403; once revoked, 401.
async fn pat_session_is_valid(server: &Server, pat_session: &str) -> bool {
    let (status, body) = list(server, pat_session, "").await;
    match status {
        StatusCode::FORBIDDEN => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected {other} for a PAT session: {body}"),
    }
}

/// Asserts that the PAT `secret` and the session `pat_session` opened with it are both
/// usable, or both refused.
async fn assert_pat_usable(server: &Server, secret: &str, pat_session: &str, usable: bool) {
    let expected = if usable {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    assert_eq!(
        exchange_status(server, secret).await,
        expected,
        "exchanging the PAT"
    );
    assert_eq!(
        pat_session_is_valid(server, pat_session).await,
        usable,
        "session opened with the PAT"
    );
}

/// Runs `change` and checks that it recorded exactly one access token event: `action`,
/// by the owner with a password. Returns what `change` returned, and the event's data.
async fn audited_once<T>(
    server: &Server,
    action: &str,
    change: impl std::future::Future<Output = T>,
) -> (T, Value) {
    let (outcome, event) = server
        .audited_once(OWNER, "account.access_token.", action, OWNER, change)
        .await;
    (outcome, audit_data(&event))
}

// ---------------------------------------------------------------------------------------
// Creating
// ---------------------------------------------------------------------------------------

async fn create_returns_the_secret_once(backend: Backend) {
    let (server, session) = start(&backend).await;
    let before = OffsetDateTime::now_utc();
    let res = server
        .request(Method::POST, TOKENS)
        .bearer_auth(&session)
        .header(USER_AGENT, "wharf-tests/1.0")
        .json(&json!({"token_label": "ci", "scopes": ["repo:read"]}))
        .send()
        .await
        .expect("request");
    let (status, created) = json(res).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    assert_eq!(keys(&created), BTreeSet::from(FIELDS));
    uuid::Uuid::parse_str(uuid_of(&created)).expect("uuid is a UUID");
    let secret = secret_of(&created);
    assert!(secret.starts_with("dckr_pat_") && secret.len() > 20, "{secret}");
    assert_eq!(created["client_id"], "HUB");
    assert_eq!(created["creator_ip"], "127.0.0.1");
    assert_eq!(created["creator_ua"], "wharf-tests/1.0");
    assert_eq!(created["last_used"], Value::Null);
    assert_eq!(created["generated_by"], "manual");
    assert_eq!(created["is_active"], true);
    assert_eq!(created["token_label"], "ci");
    assert_eq!(created["scopes"], json!(["repo:read"]));
    assert_eq!(created["expires_at"], Value::Null);
    let created_at = parse_time(&created["created_at"]);
    assert!(
        created_at >= before - Duration::from_secs(5)
            && created_at <= OffsetDateTime::now_utc() + Duration::from_secs(5),
        "created_at {created_at} is not now"
    );
    assert!(
        created["created_at"].as_str().unwrap().ends_with('Z'),
        "{created}"
    );

    // Afterwards the secret is never shown again.
    let got = get_ok(&server, &session, uuid_of(&created)).await;
    assert_eq!(got, redacted(&created));
    let page = list_ok(&server, &session, "").await;
    assert_eq!(page["results"], json!([redacted(&created)]));
    assert_eq!(counts(&page), (1, 1));

    // The secret authenticates, and its use is recorded.
    assert_eq!(exchange_status(&server, secret).await, StatusCode::OK);
    let used = get_ok(&server, &session, uuid_of(&created)).await;
    assert!(parse_time(&used["last_used"]) >= created_at, "{used}");

    // Labels need not be unique; each creation is a new token with a new secret.
    let again = server.create_pat(&session, "ci", &["repo:read"]).await;
    assert_ne!(uuid_of(&again), uuid_of(&created));
    assert_ne!(secret_of(&again), secret);
}

async fn scopes_collapse_to_the_highest_requested(backend: Backend) {
    let (server, session) = start(&backend).await;
    let cases: [(&[&str], &str); 7] = [
        (&["repo:admin"], "repo:admin"),
        (&["repo:write"], "repo:write"),
        (&["repo:read"], "repo:read"),
        (&["repo:public_read"], "repo:public_read"),
        (&["repo:read", "repo:write"], "repo:write"),
        (&["repo:public_read", "repo:admin", "repo:read"], "repo:admin"),
        (&["repo:read", "repo:read"], "repo:read"),
    ];
    for (requested, granted) in cases {
        let created = server.create_pat(&session, "scoped", requested).await;
        assert_eq!(created["scopes"], json!([granted]), "requested {requested:?}");
        let got = get_ok(&server, &session, uuid_of(&created)).await;
        assert_eq!(got["scopes"], json!([granted]), "requested {requested:?}");
    }
}

async fn labels_of_1_to_100_characters_are_accepted(backend: Backend) {
    let (server, session) = start(&backend).await;
    // Characters, not bytes: 100 two-byte characters are fine.
    for label in [
        "a".to_string(),
        "x".repeat(100),
        "é".repeat(100),
        "CI token: build #42".into(),
    ] {
        let created = server.create_pat(&session, &label, &["repo:read"]).await;
        assert_eq!(created["token_label"], label.as_str());
    }
}

async fn expires_at_is_kept_in_utc(backend: Backend) {
    let (server, session) = start(&backend).await;
    let cases = [
        (
            json!("2099-01-01T02:00:00+02:00"),
            json!("2099-01-01T00:00:00.000000Z"),
        ),
        (
            json!("2099-06-30T12:34:56.789Z"),
            json!("2099-06-30T12:34:56.789000Z"),
        ),
        (Value::Null, Value::Null),
    ];
    for (given, kept) in cases {
        let body = json!({"token_label": "dated", "scopes": ["repo:read"], "expires_at": given});
        let created = create_ok(&server, &session, body).await;
        assert_eq!(created["expires_at"], kept, "given {given}");
        let got = get_ok(&server, &session, uuid_of(&created)).await;
        assert_eq!(got["expires_at"], kept, "given {given}");
    }
    // Tokens that expire in the future are active.
    assert_eq!(list_ok(&server, &session, "").await["active_count"], 3);
}

async fn invalid_creations_are_400_and_change_nothing(backend: Backend) {
    let (server, session) = start(&backend).await;
    server.create_pat(&session, "existing", &["repo:read"]).await;
    let valid = |extra: Value| {
        let mut body = json!({"token_label": "ci", "scopes": ["repo:read"]});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let past = rfc3339(OffsetDateTime::now_utc() - Duration::from_secs(60));
    let bodies = [
        // token_label
        json!({"scopes": ["repo:read"]}),
        valid(json!({"token_label": ""})),
        valid(json!({"token_label": "   "})),
        valid(json!({"token_label": "x".repeat(101)})),
        valid(json!({"token_label": "é".repeat(101)})),
        valid(json!({"token_label": 42})),
        valid(json!({"token_label": null})),
        // scopes
        json!({"token_label": "ci"}),
        valid(json!({"scopes": []})),
        valid(json!({"scopes": ["repo:everything"]})),
        valid(json!({"scopes": ["repo:read", "admin"]})),
        valid(json!({"scopes": ["REPO:READ"]})),
        valid(json!({"scopes": "repo:read"})),
        valid(json!({"scopes": [1]})),
        valid(json!({"scopes": null})),
        // expires_at
        valid(json!({"expires_at": "tomorrow"})),
        valid(json!({"expires_at": "2099-01-01"})),
        valid(json!({"expires_at": "2099-13-01T00:00:00Z"})),
        valid(json!({"expires_at": "2099-01-01T00:00:00"})),
        valid(json!({"expires_at": past})),
        valid(json!({"expires_at": "1970-01-01T00:00:00Z"})),
        valid(json!({"expires_at": 4102444800u64})),
        // not an object
        json!([]),
        json!("ci"),
        json!(null),
    ];
    for body in bodies {
        let req = server
            .request(Method::POST, TOKENS)
            .bearer_auth(&session)
            .json(&body);
        assert_refused(&server, &session, StatusCode::BAD_REQUEST, req).await;
    }
    for text in [
        "",
        "{",
        "not json",
        r#"{"token_label": "ci", "scopes": ["repo:read"]"#,
        "{'token_label': 'ci'}",
    ] {
        let req = server.raw(Method::POST, TOKENS, &session, text);
        assert_refused(&server, &session, StatusCode::BAD_REQUEST, req).await;
    }
}

async fn oversized_bodies_are_413(backend: Backend) {
    let (server, session) = start(&backend).await;
    let token = server.create_pat(&session, "ci", &["repo:read"]).await;
    let huge = "x".repeat(MAX_BODY + 1);
    let create = server
        .request(Method::POST, TOKENS)
        .bearer_auth(&session)
        .json(&json!({"token_label": huge, "scopes": ["repo:read"]}));
    assert_refused(&server, &session, StatusCode::PAYLOAD_TOO_LARGE, create).await;
    let update = server
        .request(Method::PATCH, &token_path(uuid_of(&token)))
        .bearer_auth(&session)
        .json(&json!({"token_label": huge}));
    assert_refused(&server, &session, StatusCode::PAYLOAD_TOO_LARGE, update).await;
    // Just under the limit the body is read, and the over-long label is a plain 400.
    let big = "x".repeat(MAX_BODY - 100);
    let create = server
        .request(Method::POST, TOKENS)
        .bearer_auth(&session)
        .json(&json!({"token_label": big, "scopes": ["repo:read"]}));
    assert_refused(&server, &session, StatusCode::BAD_REQUEST, create).await;
}

// ---------------------------------------------------------------------------------------
// Who may manage tokens
// ---------------------------------------------------------------------------------------

async fn every_operation_requires_a_session(backend: Backend) {
    let (server, session) = start(&backend).await;
    let token = server.create_pat(&session, "ci", &["repo:read"]).await;
    // The session with one character of its signature changed.
    let (signed, signature) = session.rsplit_once('.').expect("a JWT");
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{signed}.{flipped}{}", &signature[1..]);
    let credentials = [
        None,
        Some("Bearer garbage".to_string()),
        Some("Bearer ".to_string()),
        Some(format!("Bearer {tampered}")),
        Some(format!("Basic {session}")),
    ];
    for credential in credentials {
        for req in every_operation(&server, uuid_of(&token)) {
            let req = match &credential {
                Some(value) => req.header(AUTHORIZATION, value),
                None => req,
            };
            assert_refused(&server, &session, StatusCode::UNAUTHORIZED, req).await;
        }
    }
}

async fn a_pat_session_cannot_manage_tokens(backend: Backend) {
    let (server, session) = start(&backend).await;
    let pat = server.create_pat(&session, "admin", &["repo:admin"]).await;
    let pat_session = server.token(OWNER, secret_of(&pat)).await;
    for req in every_operation(&server, uuid_of(&pat)) {
        assert_refused(
            &server,
            &session,
            StatusCode::FORBIDDEN,
            req.bearer_auth(&pat_session),
        )
        .await;
    }
}

async fn tokens_are_private_to_their_owner(backend: Backend) {
    let (server, session) = start(&backend).await;
    let bobby = server.user_with_token("bobby").await;
    let token = server.create_pat(&session, "ci", &["repo:read"]).await;
    let one = token_path(uuid_of(&token));
    let attempts = [
        server.request(Method::GET, &one),
        server
            .request(Method::PATCH, &one)
            .json(&json!({"is_active": false})),
        server
            .request(Method::PATCH, &one)
            .json(&json!({"token_label": "mine now"})),
        server.request(Method::DELETE, &one),
    ];
    for req in attempts {
        assert_refused(&server, &session, StatusCode::NOT_FOUND, req.bearer_auth(&bobby)).await;
    }
    let page = list_ok(&server, &bobby, "").await;
    assert_eq!(counts(&page), (0, 0), "{page}");
}

/// GET, PATCH and DELETE of token `uuid` are all 404 and change nothing.
async fn assert_item_not_found(server: &Server, session: &str, uuid: &str) {
    let one = token_path(uuid);
    let attempts = [
        server.request(Method::GET, &one),
        server
            .request(Method::PATCH, &one)
            .json(&json!({"is_active": true})),
        server.request(Method::DELETE, &one),
    ];
    for req in attempts {
        assert_refused(server, session, StatusCode::NOT_FOUND, req.bearer_auth(session)).await;
    }
}

async fn unknown_tokens_are_404(backend: Backend) {
    let (server, session) = start(&backend).await;
    server.create_pat(&session, "ci", &["repo:read"]).await;
    for uuid in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_string()] {
        assert_item_not_found(&server, &session, &uuid).await;
    }
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

/// Path and query of an absolute URL, or `None` for `null`.
fn link_target(link: &Value) -> Option<String> {
    let link = link.as_str()?;
    let url = url::Url::parse(link).unwrap_or_else(|e| panic!("not an absolute URL ({e}): {link}"));
    Some(format!("{}?{}", url.path(), url.query().unwrap_or("")))
}

/// Creates two tokens and checks that the links of `?page_size=1` are on `origin`, and
/// that following them (when `origin` is this server) leads to the right pages.
async fn assert_links_on(server: &Server, session: &str, origin: &str) {
    server.create_pat(session, "older", &["repo:read"]).await;
    server.create_pat(session, "newer", &["repo:read"]).await;
    let first = list_ok(server, session, "?page_size=1").await;
    let next = first["next"].as_str().expect("next");
    let expected = format!("{origin}{TOKENS}?page=2&page_size=1");
    assert_eq!(next, expected, "links must be on {origin}");
    if origin != server.base {
        return;
    }
    let (status, second) = server.follow(next, session).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(labels(&second), ["older"]);
    assert_eq!(second["previous"], format!("{origin}{TOKENS}?page=1&page_size=1"));
}

async fn list_pages_newest_first(backend: Backend) {
    let (server, session) = start(&backend).await;
    for label in ["t1", "t2", "t3", "t4", "t5"] {
        server.create_pat(&session, label, &["repo:read"]).await;
    }
    let all = list_ok(&server, &session, "").await;
    assert_eq!(labels(&all), ["t5", "t4", "t3", "t2", "t1"]);
    assert_eq!(counts(&all), (5, 5));
    assert_eq!((&all["next"], &all["previous"]), (&Value::Null, &Value::Null));
    let results = all["results"].as_array().expect("results");
    assert!(results.iter().all(|t| t["token"] == "***"), "{all}");

    let link = |page: u32| Some(format!("{TOKENS}?page={page}&page_size=2"));
    let expected = [
        (1, vec!["t5", "t4"], None, link(2)),
        (2, vec!["t3", "t2"], link(1), link(3)),
        (3, vec!["t1"], link(2), None),
    ];
    for (number, page_labels, previous, next) in expected {
        let page = list_ok(&server, &session, &format!("?page={number}&page_size=2")).await;
        assert_eq!(labels(&page), page_labels, "page {number}");
        assert_eq!(counts(&page), (5, 5));
        assert_eq!(
            link_target(&page["previous"]),
            previous,
            "previous of page {number}"
        );
        assert_eq!(link_target(&page["next"]), next, "next of page {number}");
    }

    // Past the last page: 404.
    for query in ["?page=4&page_size=2", "?page=2", "?page=99&page_size=100"] {
        list_refused(&server, &session, query, StatusCode::NOT_FOUND).await;
    }
}

async fn list_links_are_absolute_urls_of_the_server(backend: Backend) {
    // With --public-url, links are on that URL (what clients behind a proxy reach).
    let server = Server::start_with(&backend, &["--public-url", "https://hub.example.com/"], &[]).await;
    let session = server.user_with_token(OWNER).await;
    assert_links_on(&server, &session, "https://hub.example.com").await;
    // Without it, links are on the address the server listens on.
    let (server, session) = start(&backend).await;
    assert_links_on(&server, &session, &server.base).await;
}

async fn empty_list_is_a_page_of_nothing(backend: Backend) {
    let (server, session) = start(&backend).await;
    let page = list_ok(&server, &session, "").await;
    assert_eq!(
        page,
        json!({"count": 0, "next": null, "previous": null, "active_count": 0, "results": []})
    );
    assert_eq!(
        list_ok(&server, &session, "?page=1&page_size=100").await["count"],
        0
    );
    list_refused(&server, &session, "?page=2", StatusCode::NOT_FOUND).await;
}

async fn bad_paging_parameters_are_400(backend: Backend) {
    let (server, session) = start(&backend).await;
    server.create_pat(&session, "ci", &["repo:read"]).await;
    for query in INVALID_PAGING {
        list_refused(&server, &session, query, StatusCode::BAD_REQUEST).await;
    }
}

// ---------------------------------------------------------------------------------------
// Updating
// ---------------------------------------------------------------------------------------

async fn update_changes_label_and_active_flag(backend: Backend) {
    let (server, session) = start(&backend).await;
    let created = server.create_pat(&session, "ci", &["repo:write"]).await;
    let uuid = uuid_of(&created);
    let mut expected = redacted(&created);

    expected["token_label"] = json!("deploy");
    assert_eq!(
        patch_ok(&server, &session, uuid, json!({"token_label": "deploy"})).await,
        expected
    );

    expected["is_active"] = json!(false);
    assert_eq!(
        patch_ok(&server, &session, uuid, json!({"is_active": false})).await,
        expected
    );

    expected["token_label"] = json!("ci again");
    expected["is_active"] = json!(true);
    let both = json!({"token_label": "ci again", "is_active": true});
    assert_eq!(patch_ok(&server, &session, uuid, both).await, expected);

    // Setting what is already there is fine too.
    assert_eq!(
        patch_ok(&server, &session, uuid, json!({"is_active": true})).await,
        expected
    );
    let got = get_ok(&server, &session, uuid).await;
    assert_eq!(got, expected);
}

async fn invalid_updates_are_400_and_change_nothing(backend: Backend) {
    let (server, session) = start(&backend).await;
    let token = server.create_pat(&session, "ci", &["repo:read"]).await;
    let one = token_path(uuid_of(&token));
    let bodies = [
        json!({}),
        json!({"token_label": null}),
        json!({"is_active": null}),
        json!({"token_label": null, "is_active": null}),
        // Only the label and the flag can change; anything else is nothing to update.
        json!({"scopes": ["repo:admin"]}),
        json!({"is_active": "false"}),
        json!({"is_active": 0}),
        json!({"token_label": 5}),
        json!({"token_label": ["ci"]}),
        json!({"token_label": ""}),
        json!({"token_label": "  "}),
        json!({"token_label": "x".repeat(101)}),
        json!({"token_label": "", "is_active": false}),
        json!([]),
        json!(null),
    ];
    for body in bodies {
        let req = server
            .request(Method::PATCH, &one)
            .bearer_auth(&session)
            .json(&body);
        assert_refused(&server, &session, StatusCode::BAD_REQUEST, req).await;
    }
    for text in ["", "{", "is_active=false"] {
        let req = server.raw(Method::PATCH, &one, &session, text);
        assert_refused(&server, &session, StatusCode::BAD_REQUEST, req).await;
    }
}

// ---------------------------------------------------------------------------------------
// Revocation: deactivation, deletion, expiry
// ---------------------------------------------------------------------------------------

async fn deactivation_revokes_at_once_and_reactivation_restores(backend: Backend) {
    let (server, session) = start(&backend).await;
    let pat = server.create_pat(&session, "ci", &["repo:read"]).await;
    let (uuid, secret) = (uuid_of(&pat), secret_of(&pat));
    let pat_session = server.token(OWNER, secret).await;
    assert_pat_usable(&server, secret, &pat_session, true).await;

    let off = patch_ok(&server, &session, uuid, json!({"is_active": false})).await;
    assert_eq!(off["is_active"], false);
    let page = list_ok(&server, &session, "").await;
    assert_eq!(counts(&page), (1, 0), "{page}");
    assert_eq!(page["results"][0]["is_active"], false);
    assert_pat_usable(&server, secret, &pat_session, false).await;

    let on = patch_ok(&server, &session, uuid, json!({"is_active": true})).await;
    assert_eq!(on["is_active"], true);
    assert_eq!(list_ok(&server, &session, "").await["active_count"], 1);
    assert_pat_usable(&server, secret, &pat_session, true).await;
}

async fn delete_removes_the_token_and_its_sessions(backend: Backend) {
    let (server, session) = start(&backend).await;
    let kept = server.create_pat(&session, "kept", &["repo:read"]).await;
    let pat = server.create_pat(&session, "doomed", &["repo:write"]).await;
    let (uuid, secret) = (uuid_of(&pat), secret_of(&pat));
    let pat_session = server.token(OWNER, secret).await;

    let res = server
        .send(Method::DELETE, &token_path(uuid), Some(&session), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.text().await.expect("body"), "", "a 204 has no body");

    assert_pat_usable(&server, secret, &pat_session, false).await;
    let page = list_ok(&server, &session, "").await;
    assert_eq!(page["results"], json!([redacted(&kept)]));
    assert_eq!(counts(&page), (1, 1));
    assert_item_not_found(&server, &session, uuid).await;
}

async fn expired_tokens_stop_working(backend: Backend) {
    let (server, session) = start(&backend).await;
    let expires = OffsetDateTime::now_utc() + Duration::from_secs(3);
    let body = json!({"token_label": "brief", "scopes": ["repo:read"], "expires_at": rfc3339(expires)});
    let pat = create_ok(&server, &session, body).await;
    let secret = secret_of(&pat);
    let pat_session = server.token(OWNER, secret).await;
    assert_pat_usable(&server, secret, &pat_session, true).await;
    assert_eq!(list_ok(&server, &session, "").await["active_count"], 1);

    let wait = expires - OffsetDateTime::now_utc() + Duration::from_millis(500);
    tokio::time::sleep(wait.try_into().unwrap_or_default()).await;

    assert_pat_usable(&server, secret, &pat_session, false).await;
    // Still listed, no longer counted as active.
    let page = list_ok(&server, &session, "").await;
    assert_eq!(counts(&page), (1, 0), "{page}");
}

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

const CREATED: &str = "account.access_token.create";
const UPDATED: &str = "account.access_token.update";
const DELETED: &str = "account.access_token.delete";

async fn each_change_is_audited_once(backend: Backend) {
    let (server, session) = start(&backend).await;
    let (pat, data) = audited_once(
        &server,
        CREATED,
        server.create_pat(&session, "ci", &["repo:write"]),
    )
    .await;
    let uuid = uuid_of(&pat);
    assert_names_token(&data, uuid, "ci");

    let rename = patch_ok(&server, &session, uuid, json!({"token_label": "deploy"}));
    let (_, data) = audited_once(&server, UPDATED, rename).await;
    assert_names_token(&data, uuid, "deploy");

    let both = patch_ok(
        &server,
        &session,
        uuid,
        json!({"token_label": "ci", "is_active": false}),
    );
    let (_, data) = audited_once(&server, UPDATED, both).await;
    assert_names_token(&data, uuid, "ci");
    assert_eq!(data["is_active"], "false", "{data}");

    let delete = async {
        let res = server
            .send(Method::DELETE, &token_path(uuid), Some(&session), None)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    };
    let (_, data) = audited_once(&server, DELETED, delete).await;
    assert_names_token(&data, uuid, "ci");
    // Refused requests record nothing: `assert_refused` checks the whole log every time.
}

/// Enabling or disabling a token is an update like any other: its event names the token
/// by its label too, though the label did not change.
async fn toggling_a_token_is_audited_with_its_label(backend: Backend) {
    let (server, session) = start(&backend).await;
    let pat = server.create_pat(&session, "ci", &["repo:read"]).await;
    let uuid = uuid_of(&pat);
    for active in [false, true] {
        let toggle = patch_ok(&server, &session, uuid, json!({"is_active": active}));
        let (_, data) = audited_once(&server, UPDATED, toggle).await;
        assert_eq!(data["is_active"], active.to_string(), "{data}");
        assert_names_token(&data, uuid, "ci");
    }
}

crate::both_backends!(
    create_returns_the_secret_once,
    scopes_collapse_to_the_highest_requested,
    labels_of_1_to_100_characters_are_accepted,
    expires_at_is_kept_in_utc,
    invalid_creations_are_400_and_change_nothing,
    oversized_bodies_are_413,
    every_operation_requires_a_session,
    a_pat_session_cannot_manage_tokens,
    tokens_are_private_to_their_owner,
    unknown_tokens_are_404,
    list_pages_newest_first,
    list_links_are_absolute_urls_of_the_server,
    empty_list_is_a_page_of_nothing,
    bad_paging_parameters_are_400,
    update_changes_label_and_active_flag,
    invalid_updates_are_400_and_change_nothing,
    deactivation_revokes_at_once_and_reactivation_restores,
    delete_removes_the_token_and_its_sessions,
    expired_tokens_stop_working,
    each_change_is_audited_once,
    toggling_a_token_is_audited_with_its_label,
);
