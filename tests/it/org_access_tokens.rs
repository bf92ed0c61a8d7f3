//! `/v2/orgs/{org}/access-tokens`: organization access tokens (OATs). Creating them (the
//! secret shown once and stored only as a hash), validation, listing (paged, with `total`),
//! reading, updating and deleting; who may manage them (owners with a password only);
//! exchanging a token for a session of the organization, bounded by the token's resources;
//! revocation on the very next request; and the audit trail. Every refused request is also
//! checked to change nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use wharf::store::AuditRow;

use crate::harness::{
    assert_hub_error, assert_names_token, audit_data, keys, parse_time, rfc3339, Backend, Server,
};

/// The organization whose tokens these tests manage.
const ORG: &str = "acme";
/// Another organization, whose tokens must never leak into [`ORG`]'s.
const OTHER_ORG: &str = "globex";
/// The owner of [`ORG`].
const OWNER: &str = "alice";

/// Every field of a token just created: no `created_by`, no `description`.
const CREATED_FIELDS: [&str; 8] = [
    "id",
    "label",
    "is_active",
    "created_at",
    "expires_at",
    "last_used_at",
    "token",
    "resources",
];
/// Every field of a token in a list: no resources, no secret.
const ITEM_FIELDS: [&str; 7] = [
    "id",
    "label",
    "created_by",
    "is_active",
    "created_at",
    "expires_at",
    "last_used_at",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A fresh server with [`OWNER`] owning [`ORG`], and a password session of the owner.
async fn start(backend: &Backend) -> (Server, String) {
    let (server, session) = Server::start_as(backend, OWNER).await;
    server.create_org(ORG, OWNER).await;
    (server, session)
}

fn tokens_path(org: &str) -> String {
    format!("/v2/orgs/{org}/access-tokens")
}

fn token_path(org: &str, id: &str) -> String {
    format!("{}/{id}", tokens_path(org))
}

fn id_of(token: &Value) -> &str {
    token["id"].as_str().expect("id")
}

fn secret_of(token: &Value) -> &str {
    token["token"].as_str().expect("token")
}

fn detail_fields() -> BTreeSet<&'static str> {
    ITEM_FIELDS.into_iter().chain(["resources"]).collect()
}

fn org_resource(org: &str, scopes: &[&str]) -> Value {
    json!({"type": "TYPE_ORG", "path": org, "scopes": scopes})
}

/// Resources of [`ORG`] itself, with `scopes`.
fn org_scopes(scopes: &[&str]) -> Value {
    json!([org_resource(ORG, scopes)])
}

fn repo_resource(path: &str, scopes: &[&str]) -> Value {
    json!({"type": "TYPE_REPO", "path": path, "scopes": scopes})
}

/// `resources` values that are refused with 400, on creation and on update alike.
fn invalid_resources() -> Vec<Value> {
    let pull = &["scope-image-pull"][..];
    let too_many: Vec<Value> = (0..51)
        .map(|i| repo_resource(&format!("{ORG}/repo{i}"), pull))
        .collect();
    vec![
        json!([{"type": "TYPE_USER", "path": "acme/app", "scopes": pull}]),
        json!([{"type": "type_repo", "path": "acme/app", "scopes": pull}]),
        // Repository paths outside the organization.
        json!([repo_resource("globex/app", pull)]),
        json!([repo_resource("globex/*", pull)]),
        json!([repo_resource("*/*", pull)]),
        json!([repo_resource("*/*/private", pull)]),
        // Not valid repository names.
        json!([repo_resource("acme/App", pull)]),
        json!([repo_resource("acme/-app", pull)]),
        json!([repo_resource("acme", pull)]),
        json!([repo_resource("acme/", pull)]),
        // An organization resource must name this organization.
        json!([org_resource(OTHER_ORG, &["scope-member-read"])]),
        json!([org_resource("acme/*", &["scope-member-read"])]),
        // Scopes: none, unknown, or of the other resource type.
        org_scopes(&[]),
        json!([repo_resource("acme/app", &[])]),
        org_scopes(&["scope-nope"]),
        org_scopes(&["scope-image-pull"]),
        json!([repo_resource("acme/app", &["scope-member-read"])]),
        json!([repo_resource("acme/app", &["repo:read"])]),
        // One bad resource among good ones spoils the lot.
        json!([
            org_resource(ORG, &["scope-member-read"]),
            repo_resource("globex/app", pull)
        ]),
        Value::Array(too_many),
        // Wrong JSON types and missing fields.
        json!("acme/app"),
        json!({"type": "TYPE_ORG", "path": "acme", "scopes": ["scope-member-read"]}),
        json!([{"type": "TYPE_ORG", "path": "acme", "scopes": "scope-member-read"}]),
        json!([{"type": "TYPE_ORG", "scopes": ["scope-member-read"]}]),
        json!([{"path": "acme", "scopes": ["scope-member-read"]}]),
        json!([{"type": "TYPE_ORG", "path": "acme"}]),
        json!([{"type": "TYPE_ORG", "path": 7, "scopes": ["scope-member-read"]}]),
    ]
}

async fn create_ok(server: &Server, session: &str, org: &str, body: Value) -> Value {
    server
        .expect(
            Method::POST,
            &tokens_path(org),
            Some(session),
            Some(body),
            StatusCode::CREATED,
        )
        .await
}

async fn get_ok(server: &Server, session: &str, org: &str, id: &str) -> Value {
    server
        .expect(
            Method::GET,
            &token_path(org, id),
            Some(session),
            None,
            StatusCode::OK,
        )
        .await
}

async fn list_ok(server: &Server, session: &str, org: &str, query: &str) -> Value {
    let path = format!("{}{query}", tokens_path(org));
    server
        .expect(Method::GET, &path, Some(session), None, StatusCode::OK)
        .await
}

/// A PATCH that must succeed; returns the updated token.
async fn patch_ok(server: &Server, session: &str, id: &str, body: Value) -> Value {
    server
        .expect(
            Method::PATCH,
            &token_path(ORG, id),
            Some(session),
            Some(body),
            StatusCode::OK,
        )
        .await
}

/// The labels of a list page, in order.
fn labels(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
        .iter()
        .map(|t| t["label"].as_str().expect("label"))
        .collect()
}

/// A token with its `resources` left out, as a list shows it.
fn without_resources(token: &Value) -> Value {
    let mut item = token.clone();
    item.as_object_mut().expect("object").remove("resources");
    item
}

/// The status of `POST /v2/auth/token` with `identifier` and `secret`; a refusal must be
/// in the Hub error format.
async fn exchange_status(server: &Server, identifier: &str, secret: &str) -> StatusCode {
    let body = json!({"identifier": identifier, "secret": secret});
    let (status, answer) = server
        .call(Method::POST, "/v2/auth/token", None, Some(body))
        .await;
    if status == StatusCode::OK {
        assert!(answer["access_token"].is_string(), "{answer}");
    } else {
        assert_hub_error(status, &answer, status);
    }
    status
}

/// The status of reading `org`'s members with `session`.
async fn members_status(server: &Server, session: &str, org: &str) -> StatusCode {
    let path = format!("/v2/orgs/{org}/members");
    let (status, body) = server.call(Method::GET, &path, Some(session), None).await;
    if status != StatusCode::OK {
        assert_hub_error(status, &body, status);
    }
    status
}

/// Asserts that a token of [`ORG`] no longer works: `session`, opened with it, is refused
/// on its next request, and its `secret` no longer exchanges.
async fn assert_revoked(server: &Server, session: &str, secret: &str) {
    assert_eq!(
        members_status(server, session, ORG).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        exchange_status(server, ORG, secret).await,
        StatusCode::UNAUTHORIZED
    );
}

/// Creates a token of [`ORG`] labelled `label` with `resources`, and opens a session of
/// the organization with it.
async fn org_session(server: &Server, owner_session: &str, label: &str, resources: Value) -> (Value, String) {
    let created = create_ok(
        server,
        owner_session,
        ORG,
        json!({"label": label, "resources": resources}),
    )
    .await;
    let session = server.org_token(ORG, secret_of(&created)).await;
    (created, session)
}

/// Invites `invitee` to [`ORG`] as the holder of `session`, which must be accepted.
async fn invite(server: &Server, session: &str, invitee: &str) -> Value {
    let body = Some(json!({"org": ORG, "invitees": [invitee]}));
    server
        .expect(
            Method::POST,
            "/v2/invites/bulk",
            Some(session),
            body,
            StatusCode::ACCEPTED,
        )
        .await
}

/// Everything the owner can observe about the tokens of both organizations: each list
/// (whatever it answers), every token in detail, and the audit logs.
#[derive(Debug, PartialEq)]
struct Observed {
    lists: Vec<(StatusCode, Value)>,
    details: Vec<Value>,
    audit: Vec<AuditRow>,
}

async fn observe(server: &Server, owner_session: &str) -> Observed {
    let mut observed = Observed {
        lists: Vec::new(),
        details: Vec::new(),
        audit: Vec::new(),
    };
    for org in [ORG, OTHER_ORG] {
        let path = format!("{}?page_size=100", tokens_path(org));
        let (status, page) = server.call(Method::GET, &path, Some(owner_session), None).await;
        if status == StatusCode::OK {
            for token in page["results"].as_array().expect("results") {
                observed
                    .details
                    .push(get_ok(server, owner_session, org, id_of(token)).await);
            }
        }
        observed.lists.push((status, page));
        observed.audit.extend(server.audit_events(org).await);
    }
    observed
}

/// Sends `method path body` with `token`, which must be refused with `expected` in the Hub
/// error format, and checks that it changed nothing the owner can see.
async fn assert_refused(
    server: &Server,
    owner_session: &str,
    expected: StatusCode,
    (method, path, body): (Method, String, Option<Value>),
    token: Option<&str>,
) {
    let what = format!(
        "{method} {path} {}",
        body.as_ref().map(Value::to_string).unwrap_or_default()
    );
    let before = observe(server, owner_session).await;
    server.refused(method, &path, token, body, expected).await;
    assert_eq!(
        observe(server, owner_session).await,
        before,
        "{what} was refused but changed something"
    );
}

/// [`assert_refused`] for a request the owner makes.
async fn owner_refused(
    server: &Server,
    owner_session: &str,
    expected: StatusCode,
    request: (Method, String, Option<Value>),
) {
    assert_refused(server, owner_session, expected, request, Some(owner_session)).await;
}

/// One request of each of the five operations on token `id` of `org`, valid apart from
/// the credentials.
fn every_operation(org: &str, id: &str) -> Vec<(Method, String, Option<Value>)> {
    let one = token_path(org, id);
    vec![
        (
            Method::POST,
            tokens_path(org),
            Some(json!({"label": "new", "resources": [org_resource(org, &["scope-member-read"])]})),
        ),
        (Method::GET, tokens_path(org), None),
        (Method::GET, one.clone(), None),
        (
            Method::PATCH,
            one.clone(),
            Some(json!({"label": "renamed", "is_active": false})),
        ),
        (Method::DELETE, one, None),
    ]
}

/// The family of the token management events.
const TOKEN_EVENTS: &str = "org.access_token.";

/// Runs `change` and checks that it recorded exactly one token event in [`ORG`]'s log:
/// `action`, by the owner with a password. Returns what `change` returned, and the data.
async fn audited_once<T>(
    server: &Server,
    action: &str,
    change: impl std::future::Future<Output = T>,
) -> (T, Value) {
    let (outcome, event) = server
        .audited_once(ORG, TOKEN_EVENTS, action, OWNER, change)
        .await;
    assert_eq!(event.name, ORG, "{event:#?}");
    (outcome, audit_data(&event))
}

// ---------------------------------------------------------------------------------------
// Creating
// ---------------------------------------------------------------------------------------

async fn create_returns_the_secret_once(backend: Backend) {
    let (server, session) = start(&backend).await;
    let resources = json!([
        repo_resource("acme/app", &["scope-image-push"]),
        repo_resource("acme/my-app.v2", &["scope-image-pull", "scope-tag-read"]),
        repo_resource("acme/*", &["scope-image-pull"]),
        repo_resource("*/*/public", &["scope-image-pull"]),
        org_resource(ORG, &["scope-member-read", "scope-group-edit"]),
    ]);
    let body = json!({
        "label": "ci deploy",
        "description": "pushes releases",
        "resources": resources,
        "expires_at": "2099-01-01T02:00:00+02:00",
    });
    let before = OffsetDateTime::now_utc();
    let (created, data) = audited_once(
        &server,
        "org.access_token.create",
        create_ok(&server, &session, ORG, body),
    )
    .await;

    assert_eq!(keys(&created), BTreeSet::from(CREATED_FIELDS), "{created}");
    let id = id_of(&created);
    uuid::Uuid::parse_str(id).expect("id is a UUID");
    let secret = secret_of(&created);
    assert!(secret.starts_with("dckr_oat_") && secret.len() > 20, "{secret}");
    assert_eq!(created["label"], "ci deploy");
    assert_eq!(created["is_active"], true);
    assert_eq!(created["last_used_at"], Value::Null);
    assert_eq!(created["expires_at"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(created["resources"], resources);
    let created_at = parse_time(&created["created_at"]);
    assert!(
        created_at >= before - Duration::from_secs(5)
            && created_at <= OffsetDateTime::now_utc() + Duration::from_secs(5),
        "created_at {created_at} is not now"
    );
    assert_names_token(&data, id, "ci deploy");

    // Afterwards the secret is never shown again: the token reads back without it, with
    // who created it.
    let got = get_ok(&server, &session, ORG, id).await;
    assert_eq!(keys(&got), detail_fields(), "{got}");
    assert_eq!(got["created_by"], OWNER);
    for field in CREATED_FIELDS.into_iter().filter(|f| *f != "token") {
        assert_eq!(got[field], created[field], "{field} differs in {got}");
    }
    let page = list_ok(&server, &session, ORG, "").await;
    assert_eq!(
        page,
        json!({"total": 1, "next": null, "previous": null, "results": [without_resources(&got)]})
    );

    // The store holds the secret's SHA-256 only.
    let store = wharf::store::Store::connect(&server.database_url())
        .await
        .expect("open store");
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    let row = store
        .oat_by_secret_hash(&hash)
        .await
        .expect("look up by hash")
        .expect("the token is found by the secret's hash");
    assert_eq!(row.id, id);
    assert!(
        [&row.label, &row.description, &row.resources, &row.created_by]
            .iter()
            .all(|column| !column.contains(secret)),
        "{row:?}"
    );
    assert!(store
        .oat_by_secret_hash(secret)
        .await
        .expect("look up by secret")
        .is_none());
    store.close().await;
    // Nor does any audit event hold it.
    for event in server.audit_events(ORG).await {
        assert!(!format!("{event:?}").contains(secret), "{event:#?}");
    }

    // Optional fields: no resources and no expiry; a 100-character label; 50 resources.
    let fifty: Vec<Value> = (0..50)
        .map(|i| repo_resource(&format!("{ORG}/repo{i}"), &["scope-image-pull"]))
        .collect();
    for body in [
        json!({"label": "bare"}),
        json!({"label": "x".repeat(100), "description": null, "resources": [], "expires_at": null}),
        json!({"label": "é".repeat(100)}),
        json!({"label": "fifty", "resources": fifty}),
    ] {
        let other = create_ok(&server, &session, ORG, body.clone()).await;
        assert_eq!(keys(&other), BTreeSet::from(CREATED_FIELDS), "{other}");
        assert_eq!(other["label"], body["label"]);
        assert_eq!(other["expires_at"], Value::Null);
        let expected = match &body["resources"] {
            Value::Null => json!([]),
            given => given.clone(),
        };
        assert_eq!(other["resources"], expected, "{body}");
        assert_eq!(
            get_ok(&server, &session, ORG, id_of(&other)).await["resources"],
            expected
        );
        assert_ne!(secret_of(&other), secret);
    }
    // Labels need not be unique: the same label again is a new token with a new secret.
    let again = create_ok(&server, &session, ORG, json!({"label": "ci deploy"})).await;
    assert_ne!(id_of(&again), id);
    assert_ne!(secret_of(&again), secret);
    assert_eq!(list_ok(&server, &session, ORG, "").await["total"], 6);
}

async fn invalid_create_requests_change_nothing(backend: Backend) {
    let (server, session) = start(&backend).await;
    server.create_org(OTHER_ORG, OWNER).await;
    create_ok(&server, &session, ORG, json!({"label": "existing"})).await;

    let past = rfc3339(OffsetDateTime::now_utc() - Duration::from_secs(60));
    let mut bodies = vec![
        // The label: required, 1 to 100 characters, a string.
        json!({}),
        json!({"description": "no label", "resources": []}),
        json!({"label": null}),
        json!({"label": ""}),
        json!({"label": "   "}),
        json!({"label": "x".repeat(101)}),
        json!({"label": 5}),
        json!({"label": ["ci"]}),
        // The description is text.
        json!({"label": "ok", "description": 5}),
        // The expiry: RFC 3339, in the future.
        json!({"label": "ok", "expires_at": past}),
        json!({"label": "ok", "expires_at": "2000-01-01T00:00:00Z"}),
        json!({"label": "ok", "expires_at": "tomorrow"}),
        json!({"label": "ok", "expires_at": "2099-01-01"}),
        json!({"label": "ok", "expires_at": "2099-01-01T00:00:00"}),
        json!({"label": "ok", "expires_at": "2099-13-01T00:00:00Z"}),
        json!({"label": "ok", "expires_at": 4102444800u64}),
        // Not an object.
        json!(["ok"]),
        json!("ok"),
    ];
    bodies.extend(
        invalid_resources()
            .into_iter()
            .map(|resources| json!({"label": "ok", "resources": resources})),
    );
    for body in bodies {
        let request = (Method::POST, tokens_path(ORG), Some(body));
        owner_refused(&server, &session, StatusCode::BAD_REQUEST, request).await;
    }

    // A body that is not JSON at all.
    let before = observe(&server, &session).await;
    server
        .refused_raw(
            Method::POST,
            &tokens_path(ORG),
            &session,
            "label=ok",
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_eq!(observe(&server, &session).await, before);

    // An unknown organization, whatever the operation.
    let unknown = uuid::Uuid::new_v4().to_string();
    for request in every_operation("nosuchorg", &unknown) {
        owner_refused(&server, &session, StatusCode::NOT_FOUND, request).await;
    }
}

// ---------------------------------------------------------------------------------------
// Who may manage tokens
// ---------------------------------------------------------------------------------------

async fn only_owners_with_a_password_manage_tokens(backend: Backend) {
    let (server, owner) = start(&backend).await;
    let editor = server.user_with_token("edith").await;
    server.add_org_member(ORG, "edith", "editor").await;
    let member = server.user_with_token("mark").await;
    server.add_org_member(ORG, "mark", "member").await;
    // The outsider owns an organization of their own: owning some organization is not
    // owning this one.
    let outsider = server.user_with_token("oscar").await;
    server.create_org(OTHER_ORG, "oscar").await;

    let admin_pat = server.create_pat(&owner, "admin", &["repo:admin"]).await;
    let admin_pat = server.token(OWNER, secret_of(&admin_pat)).await;
    let read_pat = server.create_pat(&owner, "read", &["repo:read"]).await;
    let read_pat = server.token(OWNER, secret_of(&read_pat)).await;
    // An organization token holding every organization scope that exists.
    let all_org_scopes = [
        "scope-member-edit",
        "scope-invite-edit",
        "scope-group-edit",
        "scope-activity-read",
        "scope-audit_events-read",
    ];
    let (_, oat) = org_session(&server, &owner, "robot", org_scopes(&all_org_scopes)).await;
    let target = create_ok(&server, &owner, ORG, json!({"label": "target"})).await;

    let forbidden = [
        ("editor", editor.as_str()),
        ("member", &member),
        ("outsider", &outsider),
        ("owner with a repo:admin PAT", &admin_pat),
        ("owner with a repo:read PAT", &read_pat),
        ("organization token", &oat),
    ];
    for (who, token) in forbidden {
        eprintln!("as {who}");
        for request in every_operation(ORG, id_of(&target)) {
            assert_refused(&server, &owner, StatusCode::FORBIDDEN, request, Some(token)).await;
        }
    }
    for token in [None, Some("not-a-token")] {
        for request in every_operation(ORG, id_of(&target)) {
            assert_refused(&server, &owner, StatusCode::UNAUTHORIZED, request, token).await;
        }
    }

    // The organization's own token cannot manage the tokens of another organization
    // either; that organization's owner can.
    let foreign = create_ok(&server, &outsider, OTHER_ORG, json!({"label": "foreign"})).await;
    for request in every_operation(OTHER_ORG, id_of(&foreign)) {
        assert_refused(&server, &owner, StatusCode::FORBIDDEN, request, Some(&oat)).await;
    }
    // Nothing above happened: the owner still sees both tokens, active.
    let page = list_ok(&server, &owner, ORG, "").await;
    assert_eq!(labels(&page), ["target", "robot"]);
    assert!(page["results"]
        .as_array()
        .expect("results")
        .iter()
        .all(|t| t["is_active"] == true));
}

// ---------------------------------------------------------------------------------------
// Listing and reading
// ---------------------------------------------------------------------------------------

async fn list_is_paged_newest_first(backend: Backend) {
    let (server, session) = start(&backend).await;
    server.create_org(OTHER_ORG, OWNER).await;
    let foreign = create_ok(&server, &session, OTHER_ORG, json!({"label": "foreign"})).await;

    // Page 1 of an empty list is a list, not a 404.
    let empty = list_ok(&server, &session, ORG, "").await;
    assert_eq!(
        empty,
        json!({"total": 0, "next": null, "previous": null, "results": []})
    );

    for i in 1..=12 {
        create_ok(&server, &session, ORG, json!({"label": format!("token {i:02}")})).await;
    }
    let link =
        |page: u32, size: u32| format!("{}{}?page={page}&page_size={size}", server.base, tokens_path(ORG));

    let first = list_ok(&server, &session, ORG, "").await;
    assert_eq!(
        keys(&first),
        BTreeSet::from(["total", "next", "previous", "results"])
    );
    assert_eq!(first["total"], 12);
    assert_eq!(
        labels(&first),
        (3..=12)
            .rev()
            .map(|i| format!("token {i:02}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(first["next"], link(2, 10));
    assert_eq!(first["previous"], Value::Null);
    for item in first["results"].as_array().expect("results") {
        assert_eq!(keys(item), BTreeSet::from(ITEM_FIELDS), "{item}");
        assert_eq!(item["created_by"], OWNER);
    }
    // Each list item is the token as read alone, without its resources.
    let newest = &first["results"][0];
    assert_eq!(
        &without_resources(&get_ok(&server, &session, ORG, id_of(newest)).await),
        newest
    );

    let second = list_ok(&server, &session, ORG, "?page=2").await;
    assert_eq!(second["total"], 12);
    assert_eq!(labels(&second), ["token 02", "token 01"]);
    assert_eq!(second["next"], Value::Null);
    assert_eq!(second["previous"], link(1, 10));

    let small = list_ok(&server, &session, ORG, "?page=2&page_size=5").await;
    assert_eq!(
        labels(&small),
        ["token 07", "token 06", "token 05", "token 04", "token 03"]
    );
    assert_eq!(small["next"], link(3, 5));
    assert_eq!(small["previous"], link(1, 5));

    for query in ["?page=3", "?page=4&page_size=4", "?page=100"] {
        let request = (Method::GET, format!("{}{query}", tokens_path(ORG)), None);
        owner_refused(&server, &session, StatusCode::NOT_FOUND, request).await;
    }

    // Another organization's tokens never appear, and its token ids are unknown here, even
    // to an owner of both.
    let all = list_ok(&server, &session, ORG, "?page_size=100").await;
    assert_eq!(all["total"], 12);
    assert!(!labels(&all).contains(&"foreign"), "{all}");
    let theirs = list_ok(&server, &session, OTHER_ORG, "").await;
    assert_eq!(labels(&theirs), ["foreign"]);
    let through_here = token_path(ORG, id_of(&foreign));
    for request in [
        (Method::GET, through_here.clone(), None),
        (
            Method::PATCH,
            through_here.clone(),
            Some(json!({"label": "hijacked", "is_active": false})),
        ),
        (Method::DELETE, through_here, None),
    ] {
        owner_refused(&server, &session, StatusCode::NOT_FOUND, request).await;
    }
    // Unknown ids.
    for id in [uuid::Uuid::new_v4().to_string(), "nope".into()] {
        let request = (Method::GET, token_path(ORG, &id), None);
        owner_refused(&server, &session, StatusCode::NOT_FOUND, request).await;
    }
}

// ---------------------------------------------------------------------------------------
// Updating and deleting
// ---------------------------------------------------------------------------------------

async fn update_changes_label_resources_and_active_flag(backend: Backend) {
    let (server, session) = start(&backend).await;
    server.create_org(OTHER_ORG, OWNER).await;
    let body = json!({
        "label": "build",
        "description": "first",
        "resources": [repo_resource("acme/app", &["scope-image-pull"])],
        "expires_at": "2099-06-01T00:00:00Z",
    });
    let created = create_ok(&server, &session, ORG, body).await;
    let id = id_of(&created);
    let mut expected = get_ok(&server, &session, ORG, id).await;

    // The label.
    let (updated, data) = audited_once(
        &server,
        "org.access_token.update",
        patch_ok(&server, &session, id, json!({"label": "deploy"})),
    )
    .await;
    expected["label"] = json!("deploy");
    assert_eq!(keys(&updated), detail_fields(), "{updated}");
    assert_eq!(updated, expected);
    assert_eq!(get_ok(&server, &session, ORG, id).await, expected);
    assert_names_token(&data, id, "deploy");
    assert!(data.get("is_active").is_none(), "no toggle, no is_active: {data}");

    // The resources are replaced as a whole.
    let resources = json!([
        org_resource(ORG, &["scope-member-read"]),
        repo_resource("acme/*", &["scope-image-push"]),
    ]);
    let (updated, data) = audited_once(
        &server,
        "org.access_token.update",
        patch_ok(&server, &session, id, json!({"resources": resources})),
    )
    .await;
    expected["resources"] = resources;
    assert_eq!(updated, expected);
    assert_eq!(get_ok(&server, &session, ORG, id).await, expected);
    assert_names_token(&data, id, "deploy");

    // The description is accepted, and never shown.
    let (updated, _) = audited_once(
        &server,
        "org.access_token.update",
        patch_ok(&server, &session, id, json!({"description": "second"})),
    )
    .await;
    assert_eq!(updated, expected);

    // The expiry cannot change: it is ignored.
    for body in [
        json!({"expires_at": "2100-01-01T00:00:00Z"}),
        json!({"expires_at": null, "label": "deploy"}),
    ] {
        let updated = patch_ok(&server, &session, id, body).await;
        assert_eq!(updated, expected);
        assert_eq!(updated["expires_at"], "2099-06-01T00:00:00.000000Z");
    }

    // Deactivating and reactivating, recorded with the new state.
    for active in [false, true] {
        let (updated, data) = audited_once(
            &server,
            "org.access_token.update",
            patch_ok(&server, &session, id, json!({"is_active": active})),
        )
        .await;
        expected["is_active"] = json!(active);
        assert_eq!(updated, expected);
        assert_eq!(get_ok(&server, &session, ORG, id).await, expected);
        assert_names_token(&data, id, "deploy");
        assert_eq!(data["is_active"], active.to_string(), "{data}");
    }

    // Everything at once.
    let resources = org_scopes(&["scope-group-read"]);
    let updated = patch_ok(
        &server,
        &session,
        id,
        json!({"label": "all", "description": "third", "resources": resources, "is_active": false}),
    )
    .await;
    expected["label"] = json!("all");
    expected["resources"] = resources;
    expected["is_active"] = json!(false);
    assert_eq!(updated, expected);

    // Invalid changes are refused as on creation, and change nothing.
    let mut bodies = vec![
        json!({"label": ""}),
        json!({"label": "  "}),
        json!({"label": "x".repeat(101)}),
        json!({"label": 5}),
        json!({"label": "ok", "description": ["x"]}),
        json!({"is_active": "no"}),
        json!({"is_active": 0}),
        // A valid label does not carry an invalid rest.
        json!({"label": "ok", "resources": [org_resource(OTHER_ORG, &["scope-member-read"])]}),
        json!(["label"]),
    ];
    bodies.extend(
        invalid_resources()
            .into_iter()
            .map(|resources| json!({"resources": resources})),
    );
    for body in bodies {
        let request = (Method::PATCH, token_path(ORG, id), Some(body));
        owner_refused(&server, &session, StatusCode::BAD_REQUEST, request).await;
    }
    assert_eq!(get_ok(&server, &session, ORG, id).await, expected);

    // Unknown tokens.
    for unknown in [uuid::Uuid::new_v4().to_string(), "nope".into()] {
        let request = (
            Method::PATCH,
            token_path(ORG, &unknown),
            Some(json!({"label": "ghost"})),
        );
        owner_refused(&server, &session, StatusCode::NOT_FOUND, request).await;
    }
}

async fn delete_revokes_at_once(backend: Backend) {
    let (server, owner) = start(&backend).await;
    let (doomed, session) = org_session(&server, &owner, "doomed", org_scopes(&["scope-member-read"])).await;
    let kept = create_ok(&server, &owner, ORG, json!({"label": "kept"})).await;
    let id = id_of(&doomed);
    assert_eq!(members_status(&server, &session, ORG).await, StatusCode::OK);

    let path = token_path(ORG, id);
    let delete = server.expect(Method::DELETE, &path, Some(&owner), None, StatusCode::NO_CONTENT);
    let (body, data) = audited_once(&server, "org.access_token.delete", delete).await;
    assert_eq!(body, Value::Null);
    assert_names_token(&data, id, "doomed");

    // The session opened with it fails on its very next request, and the secret no
    // longer exchanges.
    assert_revoked(&server, &session, secret_of(&doomed)).await;

    // It is gone, and only it.
    for request in [
        (Method::GET, token_path(ORG, id), None),
        (
            Method::PATCH,
            token_path(ORG, id),
            Some(json!({"is_active": true})),
        ),
        (Method::DELETE, token_path(ORG, id), None),
        (
            Method::DELETE,
            token_path(ORG, &uuid::Uuid::new_v4().to_string()),
            None,
        ),
    ] {
        owner_refused(&server, &owner, StatusCode::NOT_FOUND, request).await;
    }
    let page = list_ok(&server, &owner, ORG, "").await;
    assert_eq!(page["total"], 1);
    assert_eq!(labels(&page), ["kept"]);
    assert_eq!(id_of(&page["results"][0]), id_of(&kept));
}

// ---------------------------------------------------------------------------------------
// Using a token
// ---------------------------------------------------------------------------------------

async fn exchanging_an_organization_token(backend: Backend) {
    let (server, owner) = start(&backend).await;
    server.create_org(OTHER_ORG, OWNER).await;
    let robot = json!({"label": "robot", "resources": org_scopes(&["scope-member-read"])});
    let created = create_ok(&server, &owner, ORG, robot).await;
    let (id, secret) = (id_of(&created), secret_of(&created));
    assert_eq!(
        get_ok(&server, &owner, ORG, id).await["last_used_at"],
        Value::Null
    );

    // The identifier is the organization's name, in any case.
    let before = OffsetDateTime::now_utc();
    for identifier in [ORG, "ACME", "Acme"] {
        assert_eq!(
            exchange_status(&server, identifier, secret).await,
            StatusCode::OK,
            "identifier {identifier}"
        );
    }
    let used = get_ok(&server, &owner, ORG, id).await;
    let last_used = parse_time(&used["last_used_at"]);
    assert!(
        last_used >= before - Duration::from_secs(5)
            && last_used <= OffsetDateTime::now_utc() + Duration::from_secs(5),
        "last_used_at {last_used} is not now"
    );

    // Any other identifier is refused, and does not count as a use.
    for identifier in [OTHER_ORG, "nosuchorg", OWNER] {
        assert_eq!(
            exchange_status(&server, identifier, secret).await,
            StatusCode::UNAUTHORIZED,
            "identifier {identifier}"
        );
    }
    assert_eq!(
        exchange_status(&server, ORG, "dckr_oat_notarealsecretatall").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get_ok(&server, &owner, ORG, id).await, used);

    // The login endpoint refuses organization tokens, in its own error format.
    let login = Some(json!({"username": ORG, "password": secret}));
    let body = server
        .expect(
            Method::POST,
            "/v2/users/login",
            None,
            login,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    assert_eq!(body, json!({"detail": "Cannot log into an organization account"}));

    // An expired token no longer exchanges, and its sessions stop working.
    let expires = OffsetDateTime::now_utc() + Duration::from_secs(3);
    let brief = create_ok(
        &server,
        &owner,
        ORG,
        json!({
            "label": "brief",
            "resources": [org_resource(ORG, &["scope-member-read"])],
            "expires_at": rfc3339(expires),
        }),
    )
    .await;
    assert_eq!(
        parse_time(&brief["expires_at"]).unix_timestamp(),
        expires.unix_timestamp()
    );
    let session = server.org_token(ORG, secret_of(&brief)).await;
    assert_eq!(members_status(&server, &session, ORG).await, StatusCode::OK);
    let wait = expires - OffsetDateTime::now_utc() + Duration::from_millis(500);
    tokio::time::sleep(wait.try_into().unwrap_or_default()).await;
    assert_revoked(&server, &session, secret_of(&brief)).await;
    // It is still there, as expired tokens are.
    let page = list_ok(&server, &owner, ORG, "").await;
    assert_eq!(labels(&page), ["brief", "robot"]);
}

async fn deactivation_revokes_on_the_next_request(backend: Backend) {
    let (server, owner) = start(&backend).await;
    let (created, session) = org_session(&server, &owner, "switch", org_scopes(&["scope-member-read"])).await;
    let (id, secret) = (id_of(&created), secret_of(&created));
    assert_eq!(members_status(&server, &session, ORG).await, StatusCode::OK);

    let (updated, data) = audited_once(
        &server,
        "org.access_token.update",
        patch_ok(&server, &owner, id, json!({"is_active": false})),
    )
    .await;
    assert_eq!(updated["is_active"], false);
    assert_eq!(data["is_active"], "false");
    // The very next request of the session opened before is refused.
    assert_revoked(&server, &session, secret).await;
    let page = list_ok(&server, &owner, ORG, "").await;
    assert_eq!(page["results"][0]["is_active"], false);

    // Reactivated, the same secret opens new sessions.
    let (_, data) = audited_once(
        &server,
        "org.access_token.update",
        patch_ok(&server, &owner, id, json!({"is_active": true})),
    )
    .await;
    assert_eq!(data["is_active"], "true");
    let fresh = server.org_token(ORG, secret).await;
    assert_eq!(members_status(&server, &fresh, ORG).await, StatusCode::OK);
}

async fn organization_sessions_are_bounded_by_their_resources(backend: Backend) {
    let (server, owner) = start(&backend).await;
    // The owner owns another organization: a token of one never acts for the other.
    server.create_org(OTHER_ORG, OWNER).await;
    let member_read = org_scopes(&["scope-member-read"]);
    let (_, read) = org_session(&server, &owner, "read", member_read).await;
    let (_, edit) = org_session(&server, &owner, "edit", org_scopes(&["scope-member-edit"])).await;
    let (_, invites) = org_session(
        &server,
        &owner,
        "invites",
        org_scopes(&["scope-invite-edit", "scope-group-edit"]),
    )
    .await;
    let (_, repos) = org_session(
        &server,
        &owner,
        "repos",
        json!([repo_resource(
            "acme/*",
            &["scope-image-delete", "scope-repository-admin"]
        )]),
    )
    .await;
    let (_, nothing) = org_session(&server, &owner, "nothing", json!([])).await;

    // Reading members needs scope-member-read, or scope-member-edit which includes it.
    for session in [&read, &edit] {
        let page = server
            .expect(
                Method::GET,
                "/v2/orgs/acme/members",
                Some(session),
                None,
                StatusCode::OK,
            )
            .await;
        assert_eq!(page["count"], 1, "{page}");
        assert_eq!(page["results"][0]["username"], OWNER, "{page}");
        assert_eq!(
            members_status(&server, session, OTHER_ORG).await,
            StatusCode::FORBIDDEN
        );
    }
    for session in [&invites, &repos, &nothing] {
        assert_eq!(members_status(&server, session, ORG).await, StatusCode::FORBIDDEN);
    }

    // An organization is no user: no account of its own, no personal tokens.
    for session in [&read, &edit, &invites, &repos, &nothing] {
        let mint = Some(json!({"token_label": "minted", "scopes": ["repo:read"]}));
        for (method, path, body) in [
            (Method::GET, "/v2/user", None),
            (Method::GET, "/v2/access-tokens", None),
            (Method::GET, "/v2/user/orgs", None),
            (Method::POST, "/v2/access-tokens", mint),
        ] {
            server
                .refused(method, path, Some(session), body, StatusCode::FORBIDDEN)
                .await;
        }
    }
    let pats = server
        .expect(
            Method::GET,
            "/v2/access-tokens",
            Some(&owner),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(pats["count"], 0, "{pats}");
}

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

async fn actions_with_a_token_are_audited_as_the_organization(backend: Backend) {
    let (server, owner) = start(&backend).await;
    server.create_user("someuser").await;
    server.create_user("another").await;
    server.create_user("third").await;
    let (inviter, session) =
        org_session(&server, &owner, "inviter bot", org_scopes(&["scope-invite-edit"])).await;
    let (reader, read_only) =
        org_session(&server, &owner, "reader bot", org_scopes(&["scope-invite-read"])).await;

    let body = invite(&server, &session, "someuser").await;
    assert_eq!(body["invitees"][0]["status"], "invited", "{body}");

    let events = server.audit_events(ORG).await;
    let event = &events[0];
    assert_eq!(event.action, "org.member.invite.send", "{event:#?}");
    assert_eq!(
        (event.account.as_str(), event.name.as_str(), event.actor.as_str()),
        (ORG, "someuser", ORG),
        "{event:#?}"
    );
    assert_eq!(event.credential.as_deref(), Some("inviter bot"), "{event:#?}");
    let data = audit_data(event);
    assert_eq!(data["token_label"], "inviter bot", "{data}");

    // The label recorded is the token's current one: a session sees a rename at once.
    patch_ok(&server, &owner, id_of(&inviter), json!({"label": "renamed bot"})).await;
    invite(&server, &session, "another").await;
    let event = &server.audit_events(ORG).await[0];
    assert_eq!(
        (event.action.as_str(), event.name.as_str(), event.actor.as_str()),
        ("org.member.invite.send", "another", ORG),
        "{event:#?}"
    );
    assert_eq!(event.credential.as_deref(), Some("renamed bot"), "{event:#?}");

    // A token without the edit scope may not invite; nothing is recorded.
    let request = (
        Method::POST,
        "/v2/invites/bulk".to_string(),
        Some(json!({"org": ORG, "invitees": ["third"]})),
    );
    assert_refused(&server, &owner, StatusCode::FORBIDDEN, request, Some(&read_only)).await;

    // Managing the tokens is recorded as the owner's doing, each event naming its token.
    let mut created = server.audit_events(ORG).await;
    created.retain(|e| e.action == "org.access_token.create");
    assert_eq!(created.len(), 2, "{created:#?}");
    for (event, token) in created.iter().zip([&reader, &inviter]) {
        assert_eq!(
            (
                event.account.as_str(),
                event.actor.as_str(),
                event.credential.as_deref()
            ),
            (ORG, OWNER, None),
            "{event:#?}"
        );
        let data = audit_data(event);
        assert_names_token(&data, id_of(token), token["label"].as_str().expect("label"));
    }

    // No event anywhere holds a secret.
    let mut everything = server.audit_events(ORG).await;
    everything.extend(server.audit_events(OWNER).await);
    everything.extend(server.audit_events("someuser").await);
    for token in [&inviter, &reader] {
        for event in &everything {
            assert!(!format!("{event:?}").contains(secret_of(token)), "{event:#?}");
        }
    }
}

crate::both_backends!(
    create_returns_the_secret_once,
    invalid_create_requests_change_nothing,
    only_owners_with_a_password_manage_tokens,
    list_is_paged_newest_first,
    update_changes_label_resources_and_active_flag,
    delete_revokes_at_once,
    exchanging_an_organization_token,
    deactivation_revokes_on_the_next_request,
    organization_sessions_are_bounded_by_their_resources,
    actions_with_a_token_are_audited_as_the_organization,
);
