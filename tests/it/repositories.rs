//! Repositories through the Hub API: the namespace listing (filter, order, pages, who sees
//! what), creation, the repository view and its permissions, tags filled from real pushes
//! (images per platform, layers, sizes, push and pull times), pull counts, the extension
//! routes Docker's clients call (update, privacy, delete, tag delete), the legacy
//! `/v2/repositories/…` forms, trailing slashes, and team access to an organization's
//! repositories with its effect on registry tokens.

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{
    assert_hub_error, assert_utc_time, audit_data, json, keys, parse_time, Backend, Server, INVALID_PAGING,
    PASSWORD,
};
use crate::oci::*;

const ORG: &str = "acme";
/// Another organization, of the same owner.
const OTHER_ORG: &str = "globex";
const OWNER: &str = "olivia";
const EDITOR: &str = "edith";
/// A member of the organization, in the team `devs`.
const MEMBER: &str = "mark";
/// A member of the organization in no team.
const LONER: &str = "mary";
/// A user outside the organization.
const OUTSIDER: &str = "oscar";

/// Every action a registry token can grant.
const ALL: &str = "pull,push,delete";

/// The fields of `repository_info`.
const REPOSITORY_FIELDS: [&str; 26] = [
    "user",
    "name",
    "namespace",
    "repository_type",
    "status",
    "status_description",
    "description",
    "is_private",
    "is_automated",
    "star_count",
    "pull_count",
    "last_updated",
    "last_modified",
    "date_registered",
    "collaborator_count",
    "affiliation",
    "hub_user",
    "has_starred",
    "full_description",
    "permissions",
    "media_types",
    "content_types",
    "categories",
    "immutable_tags_settings",
    "storage_size",
    "source",
];

/// The fields of `repository_list_entry`.
const LIST_ENTRY_FIELDS: [&str; 18] = [
    "name",
    "namespace",
    "repository_type",
    "status",
    "status_description",
    "description",
    "is_private",
    "star_count",
    "pull_count",
    "last_updated",
    "last_modified",
    "date_registered",
    "affiliation",
    "media_types",
    "content_types",
    "categories",
    "storage_size",
    "user",
];

/// The fields of a tag, with those real responses add (`digest`, `media_type`).
const TAG_FIELDS: [&str; 13] = [
    "id",
    "images",
    "last_updated",
    "last_updater_username",
    "name",
    "repository",
    "full_size",
    "v2",
    "tag_status",
    "tag_last_pulled",
    "tag_last_pushed",
    "digest",
    "media_type",
];

/// The fields of an image of a tag.
const IMAGE_FIELDS: [&str; 12] = [
    "architecture",
    "features",
    "variant",
    "digest",
    "layers",
    "os",
    "os_features",
    "os_version",
    "size",
    "status",
    "last_pulled",
    "last_pushed",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn repos_path(namespace: &str) -> String {
    format!("/v2/namespaces/{namespace}/repositories")
}

fn repo_path(namespace: &str, repo: &str) -> String {
    format!("/v2/namespaces/{namespace}/repositories/{repo}")
}

fn hub_tags(namespace: &str, repo: &str) -> String {
    format!("{}/tags", repo_path(namespace, repo))
}

fn hub_tag(namespace: &str, repo: &str, tag: &str) -> String {
    format!("{}/tags/{tag}", repo_path(namespace, repo))
}

/// The extension and legacy form, `/v2/repositories/{namespace}/{repo}`.
fn legacy_repo(namespace: &str, repo: &str) -> String {
    format!("/v2/repositories/{namespace}/{repo}")
}

fn groups_path(repo: &str) -> String {
    format!("/v2/repositories/{ORG}/{repo}/groups")
}

fn group_path(repo: &str, group_id: i64) -> String {
    format!("/v2/repositories/{ORG}/{repo}/groups/{group_id}")
}

/// Asserts that `item` has at least each of `fields`.
fn assert_has_fields(item: &Value, fields: &[&str]) {
    let present = keys(item);
    let missing: Vec<&&str> = fields.iter().filter(|f| !present.contains(**f)).collect();
    assert!(missing.is_empty(), "{missing:?} missing from {item}");
}

/// The values of `field` of a page's results, in order.
fn column(page: &Value, field: &str) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {item}"))
                .to_string()
        })
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `GET path` as `token`, which must be 200; returns the body.
async fn read(server: &Server, token: Option<&str>, path: &str) -> Value {
    server
        .expect(Method::GET, path, token, None, StatusCode::OK)
        .await
}

/// `count` and the names of the page at `path`, as `token`.
async fn listed(server: &Server, token: Option<&str>, path: &str) -> (u64, Vec<String>) {
    let page = read(server, token, path).await;
    (page["count"].as_u64().expect("count"), column(&page, "name"))
}

/// `HEAD path` as `token`: the status, after checking that the answer has no body.
async fn head(server: &Server, path: &str, token: Option<&str>) -> StatusCode {
    let res = server.send(Method::HEAD, path, token, None).await;
    let status = res.status();
    let body = res.bytes().await.expect("body");
    assert!(body.is_empty(), "HEAD {path} has a body");
    status
}

/// `POST /v2/namespaces/{namespace}/repositories` with `body` as `token`: 201, the
/// repository.
async fn create_repo(server: &Server, token: &str, namespace: &str, body: Value) -> Value {
    server
        .expect(
            Method::POST,
            &repos_path(namespace),
            Some(token),
            Some(body),
            StatusCode::CREATED,
        )
        .await
}

/// Creates `namespace/name` with `is_private`, as `token`.
async fn new_repo(server: &Server, token: &str, namespace: &str, name: &str, is_private: bool) -> Value {
    let body = json!({"name": name, "namespace": namespace, "is_private": is_private});
    create_repo(server, token, namespace, body).await
}

/// Asserts a 400 about `field`: the Hub error, and `fields` naming only `field` with its
/// messages, and `text`.
fn assert_field_error(body: &Value, field: &str) {
    assert_hub_error(StatusCode::BAD_REQUEST, body, StatusCode::BAD_REQUEST);
    assert_eq!(keys(&body["fields"]), BTreeSet::from([field]), "fields of {body}");
    let messages = body["fields"][field]
        .as_array()
        .unwrap_or_else(|| panic!("fields.{field} is not a list in {body}"));
    assert!(
        !messages.is_empty() && messages.iter().all(Value::is_string),
        "fields.{field} of {body}"
    );
    assert!(
        body["text"].as_str().is_some_and(|t| !t.is_empty()),
        "no text in {body}"
    );
}

/// A request that must be refused with 400 about `field`.
async fn field_refused(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    field: &str,
) {
    let what = format!("{method} {path} {body:?}");
    let (status, answer) = server.call(method, path, token, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
    assert_field_error(&answer, field);
}

/// Each of [`INVALID_PAGING`] on `path`: 400 about `page` or `page_size`.
async fn assert_paging_refused(server: &Server, token: Option<&str>, path: &str) {
    for query in INVALID_PAGING {
        let field = if query.starts_with("?page_size") {
            "page_size"
        } else {
            "page"
        };
        let path = format!("{path}{query}");
        field_refused(server, Method::GET, &path, token, None, field).await;
    }
}

/// The `permissions` object of a repository, as `[read, write, admin]`.
fn permissions(repo: &Value) -> [bool; 3] {
    let p = &repo["permissions"];
    assert_eq!(keys(p), BTreeSet::from(["read", "write", "admin"]), "{repo}");
    ["read", "write", "admin"].map(|k| p[k].as_bool().unwrap_or_else(|| panic!("{k} in {repo}")))
}

/// The actions a registry token asked for with `creds` grants on `repo` (read from the
/// token's payload): empty when it grants nothing.
async fn granted(server: &Server, creds: Creds<'_>, repo: &str) -> Vec<String> {
    let scope = format!("repository:{repo}:{ALL}");
    let (status, body) = json(token_response(server, creds, &[scope]).await).await;
    assert_eq!(status, StatusCode::OK, "token for {repo}: {body}");
    let token = body["token"].as_str().expect("token");
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("payload is base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("payload is JSON");
    claims["access"]
        .as_array()
        .unwrap_or_else(|| panic!("no access in {claims}"))
        .iter()
        .filter(|a| a["type"] == "repository" && a["name"] == repo)
        .flat_map(|a| a["actions"].as_array().cloned().unwrap_or_default())
        .map(|action| action.as_str().expect("action").to_string())
        .collect()
}

/// The audit events of `account` with `action`, newest first.
async fn events(server: &Server, account: &str, action: &str) -> Vec<wharf::store::AuditRow> {
    let mut events = server.audit_events(account).await;
    events.retain(|e| e.action == action);
    events
}

/// An image configuration for arm64/linux/v8 whose history has one entry per layer of
/// `layers` (an `ADD`, then `RUN`s) and a `CMD` that made no layer.
fn arm64_config(layers: &[&[u8]]) -> Vec<u8> {
    let mut history = Vec::new();
    for (index, _) in layers.iter().enumerate() {
        let created_by = if index == 0 {
            "/bin/sh -c #(nop) ADD file:0a1b2c in / ".to_string()
        } else {
            format!("/bin/sh -c apk add --no-cache tool{index}")
        };
        history.push(json!({"created": "2024-05-01T10:00:00Z", "created_by": created_by}));
    }
    history.push(json!({
        "created": "2024-05-01T10:00:01Z",
        "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]",
        "empty_layer": true,
    }));
    let config = json!({
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8",
        "config": {"Cmd": ["sh"], "Labels": {"nonce": uuid::Uuid::new_v4().to_string()}},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| sha256(l)).collect::<Vec<_>>()},
        "history": history,
    });
    serde_json::to_vec(&config).expect("config JSON")
}

/// Pushes an arm64 image of two layers (300 and 700 bytes) with [`arm64_config`] to `repo`
/// as `tag`; returns the manifest digest and the layers' digests.
async fn push_arm64(registry: &Registry<'_>, repo: &str, tag: &str) -> (String, [String; 2]) {
    let first = random_bytes(300);
    let second = random_bytes(700);
    let config = arm64_config(&[&first, &second]);
    for blob in [&config, &first, &second] {
        registry.push_blob(repo, blob).await;
    }
    let bytes = manifest(
        OCI_MANIFEST,
        descriptor(OCI_CONFIG, &config),
        &[descriptor(OCI_LAYER, &first), descriptor(OCI_LAYER, &second)],
        json!({}),
    );
    let digest = registry.push_manifest(repo, tag, OCI_MANIFEST, &bytes).await;
    (digest, [sha256(&first), sha256(&second)])
}

/// An organization [`ORG`] with its owner, an editor, a member in no team yet, another
/// member, and a user outside it, each with a password session.
struct World {
    server: Server,
    owner: String,
    editor: String,
    member: String,
    loner: String,
    outsider: String,
}

async fn world(backend: &Backend) -> World {
    let server = Server::start(backend).await;
    let owner = server.user_with_token(OWNER).await;
    let editor = server.user_with_token(EDITOR).await;
    let member = server.user_with_token(MEMBER).await;
    let loner = server.user_with_token(LONER).await;
    let outsider = server.user_with_token(OUTSIDER).await;
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, EDITOR, "editor").await;
    server.add_org_member(ORG, MEMBER, "member").await;
    server.add_org_member(ORG, LONER, "member").await;
    World {
        server,
        owner,
        editor,
        member,
        loner,
        outsider,
    }
}

/// Creates team `name` in `org` as the owner; returns its id.
async fn create_team(w: &World, org: &str, name: &str) -> i64 {
    let team = w
        .server
        .expect(
            Method::POST,
            &format!("/v2/orgs/{org}/groups"),
            Some(&w.owner),
            Some(json!({"name": name})),
            StatusCode::CREATED,
        )
        .await;
    team["id"].as_i64().unwrap_or_else(|| panic!("no id in {team}"))
}

async fn add_to_team(w: &World, team: &str, username: &str) {
    w.server
        .expect(
            Method::POST,
            &format!("/v2/orgs/{ORG}/groups/{team}/members"),
            Some(&w.owner),
            Some(json!({"member": username})),
            StatusCode::OK,
        )
        .await;
}

/// Gives team `group_id` `permission` on `ORG/repo`, as `token`: 200, the grant.
async fn grant(w: &World, token: &str, repo: &str, group_id: i64, permission: &str) -> Value {
    let body = json!({"group_id": group_id, "permission": permission});
    w.server
        .expect(
            Method::POST,
            &groups_path(repo),
            Some(token),
            Some(body),
            StatusCode::OK,
        )
        .await
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// `GET /v2/namespaces/{ns}/repositories`: the list entry, `name` as a partial match,
/// every ordering, pages, and the refusals (bad ordering, bad paging, a page past the
/// last, an unknown namespace).
async fn list_filters_orders_and_pages(backend: Backend) {
    let (server, alice) = Server::start_as(&backend, "alice").await;
    for name in ["alpha", "bravo", "charlie", "delta-app"] {
        new_repo(&server, &alice, "alice", name, false).await;
    }
    // Pushes update `last_updated`: charlie, then alpha.
    let repos = ["alice/charlie", "alice/alpha"];
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &repos, ALL).await;
    for repo in repos {
        registry.push_image(repo, "v1").await;
    }
    // Pulls: charlie three times, alpha once.
    for (repo, pulls) in [("alice/charlie", 3), ("alice/alpha", 1)] {
        for _ in 0..pulls {
            let res = registry.send(Method::GET, &manifest_path(repo, "v1")).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    }

    let path = repos_path("alice");
    let page = read(&server, Some(&alice), &path).await;
    assert_eq!(page["count"], 4);
    assert!(page["next"].is_null() && page["previous"].is_null(), "{page}");
    assert_eq!(
        column(&page, "name"),
        names(&["alpha", "bravo", "charlie", "delta-app"])
    );
    let charlie = &page["results"][2];
    assert_has_fields(charlie, &LIST_ENTRY_FIELDS);
    assert_eq!(charlie["namespace"], "alice");
    assert_eq!(charlie["is_private"], false);
    assert_eq!(charlie["pull_count"], 3);
    assert_eq!(charlie["status_description"], "active");
    assert_eq!(charlie["media_types"], json!([OCI_MANIFEST]));
    assert_eq!(charlie["content_types"], json!(["image"]));
    assert_utc_time(&charlie["last_updated"]);
    assert_utc_time(&charlie["date_registered"]);
    assert_eq!(page["results"][1]["pull_count"], 0);

    for (query, expected) in [
        ("?ordering=name", vec!["alpha", "bravo", "charlie", "delta-app"]),
        ("?ordering=-name", vec!["delta-app", "charlie", "bravo", "alpha"]),
        (
            "?ordering=last_updated",
            vec!["bravo", "delta-app", "charlie", "alpha"],
        ),
        (
            "?ordering=-last_updated",
            vec!["alpha", "charlie", "delta-app", "bravo"],
        ),
        (
            "?ordering=pull_count",
            vec!["bravo", "delta-app", "alpha", "charlie"],
        ),
        (
            "?ordering=-pull_count",
            vec!["charlie", "alpha", "bravo", "delta-app"],
        ),
        // `name` is a part of the name, in any case.
        ("?name=ha", vec!["alpha", "charlie"]),
        ("?name=HA", vec!["alpha", "charlie"]),
        ("?name=app", vec!["delta-app"]),
        ("?name=-", vec!["delta-app"]),
        ("?name=zulu", vec![]),
        // `%` and `_` are characters, not wildcards.
        ("?name=%25", vec![]),
        ("?name=_", vec![]),
        ("?name=", vec!["alpha", "bravo", "charlie", "delta-app"]),
        ("?name=ha&ordering=-name", vec!["charlie", "alpha"]),
        (
            "?name=a&ordering=-pull_count",
            vec!["charlie", "alpha", "bravo", "delta-app"],
        ),
    ] {
        let count = expected.len() as u64;
        assert_eq!(
            listed(&server, Some(&alice), &format!("{path}{query}")).await,
            (count, names(&expected)),
            "{query}"
        );
    }

    for ordering in ["stars", "", "NAME", "name,-name", "-", "last_pulled"] {
        let query = format!("{path}?ordering={ordering}");
        field_refused(&server, Method::GET, &query, Some(&alice), None, "ordering").await;
    }

    // Pages, with the links keeping the other parameters.
    let first = read(
        &server,
        Some(&alice),
        &format!("{path}?page_size=3&ordering=-name"),
    )
    .await;
    assert_eq!(first["count"], 4);
    assert_eq!(column(&first, "name"), names(&["delta-app", "charlie", "bravo"]));
    let next = first["next"].as_str().expect("a next link");
    assert!(
        next.starts_with("http") && next.contains("page=2") && next.contains("ordering=-name"),
        "{next}"
    );
    let (status, second) = server.follow(next, &alice).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(column(&second, "name"), names(&["alpha"]));
    assert!(second["next"].is_null(), "{second}");
    assert!(
        second["previous"].as_str().is_some_and(|p| p.contains("page=1")),
        "{second}"
    );
    assert_eq!(
        listed(&server, Some(&alice), &format!("{path}?page=4&page_size=1")).await,
        (4, names(&["delta-app"]))
    );
    for query in ["?page=2", "?page=3&page_size=2", "?page=5&page_size=1"] {
        server
            .refused(
                Method::GET,
                &format!("{path}{query}"),
                Some(&alice),
                None,
                StatusCode::NOT_FOUND,
            )
            .await;
    }
    assert_paging_refused(&server, Some(&alice), &path).await;

    // An empty namespace has an empty first page; an unknown one is a 404.
    server.user_with_token("bobby").await;
    assert_eq!(listed(&server, None, &repos_path("bobby")).await, (0, vec![]));
    for token in [None, Some(alice.as_str())] {
        server
            .refused(
                Method::GET,
                &repos_path("nosuchns"),
                token,
                None,
                StatusCode::NOT_FOUND,
            )
            .await;
    }
}

/// Who sees which repositories, in a listing and one by one: anonymous callers and
/// outsiders only public ones, an organization member public ones and those a team of
/// theirs has access to, owners and editors all, an organization access token all only
/// with `scope-repository-list`; and the `permissions` each caller has.
async fn visibility_and_permissions(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    for (name, private) in [("public-app", false), ("secret", true), ("hidden", true)] {
        new_repo(s, &w.owner, ORG, name, private).await;
    }
    for (name, private) in [("mine", true), ("open", false)] {
        new_repo(s, &w.owner, OWNER, name, private).await;
    }
    let devs = create_team(&w, ORG, "devs").await;
    add_to_team(&w, "devs", MEMBER).await;
    grant(&w, &w.owner, "secret", devs, "read").await;
    let org_resource = |scopes: &[&str]| json!({"type": "TYPE_ORG", "path": ORG, "scopes": scopes});
    let pulls_all = json!({"type": "TYPE_REPO", "path": format!("{ORG}/*"), "scopes": ["scope-image-pull"]});
    let (unlisting_oat, _) = s
        .oat_session(
            &w.owner,
            ORG,
            json!([org_resource(&["scope-member-read"]), pulls_all]),
        )
        .await;
    let (listing_oat, _) = s
        .oat_session(&w.owner, ORG, json!([org_resource(&["scope-repository-list"])]))
        .await;
    let (public_read, _) = s
        .pat_session(OWNER, &w.owner, "public only", &["repo:public_read"])
        .await;

    let org_path = repos_path(ORG);
    let user_path = repos_path(OWNER);
    let all = vec!["hidden", "public-app", "secret"];
    let cases: Vec<(&str, Option<&str>, &str, Vec<&str>)> = vec![
        ("anonymous", None, &org_path, vec!["public-app"]),
        ("outsider", Some(&w.outsider), &org_path, vec!["public-app"]),
        ("member in no team", Some(&w.loner), &org_path, vec!["public-app"]),
        (
            "member of devs",
            Some(&w.member),
            &org_path,
            vec!["public-app", "secret"],
        ),
        ("editor", Some(&w.editor), &org_path, all.clone()),
        ("owner", Some(&w.owner), &org_path, all.clone()),
        (
            "OAT without scope-repository-list",
            Some(&unlisting_oat),
            &org_path,
            vec!["public-app"],
        ),
        (
            "OAT with scope-repository-list",
            Some(&listing_oat),
            &org_path,
            all.clone(),
        ),
        ("user", Some(&w.owner), &user_path, vec!["mine", "open"]),
        (
            "user's repo:public_read PAT",
            Some(&public_read),
            &user_path,
            vec!["open"],
        ),
        ("anonymous", None, &user_path, vec!["open"]),
        ("another user", Some(&w.outsider), &user_path, vec!["open"]),
        ("org member", Some(&w.member), &user_path, vec!["open"]),
        (
            "OAT with scope-repository-list",
            Some(&listing_oat),
            &user_path,
            vec!["open"],
        ),
    ];
    let mut wrong = Vec::new();
    for (who, token, path, expected) in &cases {
        let got = listed(s, *token, path).await;
        let expected = (expected.len() as u64, names(expected));
        if got != expected {
            wrong.push(format!("{who} on {path}: {got:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // One by one: `permissions` per caller; a private repository a caller may not read is
    // a 404, as if it did not exist.
    let secret = repo_path(ORG, "secret");
    let public = repo_path(ORG, "public-app");
    let mine = repo_path(OWNER, "mine");
    let full = [true, true, true];
    let reader = [true, false, false];
    // (who, token, path, the permissions, or none for a 404)
    type Case<'a> = (&'a str, Option<&'a str>, &'a str, Option<[bool; 3]>);
    let cases: Vec<Case<'_>> = vec![
        ("owner", Some(&w.owner), &secret, Some(full)),
        ("editor", Some(&w.editor), &secret, Some(full)),
        ("member of devs", Some(&w.member), &secret, Some(reader)),
        ("pulling OAT", Some(&unlisting_oat), &secret, Some(reader)),
        ("member in no team", Some(&w.loner), &secret, None),
        ("outsider", Some(&w.outsider), &secret, None),
        ("anonymous", None, &secret, None),
        ("owner", Some(&w.owner), &public, Some(full)),
        ("editor", Some(&w.editor), &public, Some(full)),
        ("member", Some(&w.member), &public, Some(reader)),
        ("outsider", Some(&w.outsider), &public, Some(reader)),
        ("anonymous", None, &public, Some(reader)),
        ("user", Some(&w.owner), &mine, Some(full)),
        ("public_read PAT", Some(&public_read), &mine, None),
        ("another user", Some(&w.outsider), &mine, None),
        ("anonymous", None, &mine, None),
    ];
    let mut wrong = Vec::new();
    for (who, token, path, expected) in &cases {
        let (status, body) = s.call(Method::GET, path, *token, None).await;
        let head_status = head(s, path, *token).await;
        let got = match status {
            StatusCode::OK => Some(permissions(&body)),
            StatusCode::NOT_FOUND => {
                assert_hub_error(status, &body, StatusCode::NOT_FOUND);
                None
            }
            other => {
                wrong.push(format!("{who} GET {path}: {other} {body}"));
                continue;
            }
        };
        if got != *expected {
            wrong.push(format!("{who} GET {path}: {got:?}, expected {expected:?}"));
        }
        if head_status != status {
            wrong.push(format!("{who} HEAD {path}: {head_status}, GET was {status}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `POST /v2/namespaces/{ns}/repositories`: the created `repository_info`, its audit event,
/// name and description rules, the namespace of the body, duplicates, and who may create
/// where; then `GET` and `HEAD` of the repository.
async fn create_and_get(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    let description = "d".repeat(100);
    let body = json!({
        "name": "new-app",
        "namespace": OWNER,
        "description": description,
        "full_description": "# New app\n\nAll about it.",
        "registry": "docker.io",
    });
    let (created, event) = s
        .audited_once(
            OWNER,
            "repo.create",
            "repo.create",
            OWNER,
            create_repo(s, &w.owner, OWNER, body),
        )
        .await;
    assert_eq!(event.name, format!("{OWNER}/new-app"));
    assert_eq!(audit_data(&event)["is_private"], "false");
    assert_has_fields(&created, &REPOSITORY_FIELDS);
    assert_eq!(created["name"], "new-app");
    assert_eq!(created["namespace"], OWNER);
    assert_eq!(created["user"], OWNER);
    assert_eq!(created["is_private"], false, "public unless asked otherwise");
    assert_eq!(created["description"], description);
    assert_eq!(created["full_description"], "# New app\n\nAll about it.");
    assert_eq!(permissions(&created), [true, true, true]);
    assert_eq!(created["pull_count"], 0);
    assert_eq!(created["star_count"], 0);
    assert_eq!(created["status"], 1);
    assert_eq!(created["status_description"], "active");
    assert_eq!(created["repository_type"], "image");
    assert_eq!(created["is_automated"], false);
    assert_eq!(created["has_starred"], false);
    assert_eq!(created["media_types"], json!([]));
    assert_eq!(created["content_types"], json!([]));
    assert_eq!(created["categories"], json!([]));
    assert_eq!(created["storage_size"], 0);
    assert_eq!(
        created["immutable_tags_settings"],
        json!({"enabled": false, "rules": []})
    );
    assert_utc_time(&created["date_registered"]);
    assert_utc_time(&created["last_updated"]);

    let path = repo_path(OWNER, "new-app");
    assert_eq!(read(s, Some(&w.owner), &path).await, created);
    assert_eq!(head(s, &path, Some(&w.owner)).await, StatusCode::OK);
    assert_eq!(head(s, &path, None).await, StatusCode::OK);
    let anonymous = read(s, None, &path).await;
    assert_eq!(permissions(&anonymous), [true, false, false]);
    assert_eq!(anonymous["description"], description);

    // Private on request: only its owner sees it.
    let private = json!({"name": "private-app", "namespace": OWNER, "is_private": true});
    let private = create_repo(s, &w.owner, OWNER, private).await;
    assert_eq!(private["is_private"], true);
    let path = repo_path(OWNER, "private-app");
    assert_eq!(read(s, Some(&w.owner), &path).await["is_private"], true);
    for token in [None, Some(w.outsider.as_str())] {
        s.refused(Method::GET, &path, token, None, StatusCode::NOT_FOUND)
            .await;
        assert_eq!(head(s, &path, token).await, StatusCode::NOT_FOUND);
    }
    for path in [repo_path(OWNER, "nothing"), repo_path("nosuchns", "new-app")] {
        s.refused(Method::GET, &path, Some(&w.owner), None, StatusCode::NOT_FOUND)
            .await;
        assert_eq!(head(s, &path, Some(&w.owner)).await, StatusCode::NOT_FOUND);
    }

    // Refusals, none of which creates anything.
    let mine = repos_path(OWNER);
    let too_long = "a".repeat(256);
    for name in [
        "A", "x", "a--b", "-a", "a-", "App", "my app", "a/b", "a..b", "", &too_long,
    ] {
        let body = json!({"name": name, "namespace": OWNER});
        field_refused(s, Method::POST, &mine, Some(&w.owner), Some(body), "name").await;
    }
    let body = json!({"name": "elsewhere", "namespace": ORG});
    field_refused(s, Method::POST, &mine, Some(&w.owner), Some(body), "namespace").await;
    let body = json!({"name": "long", "namespace": OWNER, "description": "d".repeat(101)});
    field_refused(s, Method::POST, &mine, Some(&w.owner), Some(body), "description").await;
    let long = "f".repeat(25_001);
    let body = json!({"name": "long", "namespace": OWNER, "full_description": long});
    field_refused(
        s,
        Method::POST,
        &mine,
        Some(&w.owner),
        Some(body),
        "full_description",
    )
    .await;
    let body = json!({"name": "new-app", "namespace": OWNER});
    field_refused(s, Method::POST, &mine, Some(&w.owner), Some(body), "name").await;
    let body = json!({"name": "other", "namespace": OWNER});
    s.refused(
        Method::POST,
        &mine,
        None,
        Some(body.clone()),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    s.refused(
        Method::POST,
        &mine,
        Some(&w.outsider),
        Some(body),
        StatusCode::FORBIDDEN,
    )
    .await;
    let body = json!({"name": "other", "namespace": "nosuchns"});
    s.refused(
        Method::POST,
        &repos_path("nosuchns"),
        Some(&w.owner),
        Some(body),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Long full descriptions up to the limit are fine.
    let body = json!({"name": "long", "namespace": OWNER, "full_description": "f".repeat(25_000)});
    create_repo(s, &w.owner, OWNER, body).await;
    assert_eq!(
        listed(s, Some(&w.owner), &mine).await,
        (3, names(&["long", "new-app", "private-app"]))
    );
    assert_eq!(events(s, OWNER, "repo.create").await.len(), 3);

    // In an organization, owners and editors create; members and outsiders may not.
    let theirs = repos_path(ORG);
    for token in [&w.member, &w.loner, &w.outsider] {
        let body = json!({"name": "nope", "namespace": ORG});
        s.refused(
            Method::POST,
            &theirs,
            Some(token),
            Some(body),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let body = json!({"name": "by-editor", "namespace": ORG, "is_private": true});
    let (made, event) = s
        .audited_once(
            ORG,
            "repo.create",
            "repo.create",
            EDITOR,
            create_repo(s, &w.editor, ORG, body),
        )
        .await;
    assert_eq!(event.name, format!("{ORG}/by-editor"));
    assert_eq!(audit_data(&event)["is_private"], "true");
    assert_eq!(permissions(&made), [true, true, true]);
    assert_eq!(made["namespace"], ORG);
    let by_owner = new_repo(s, &w.owner, ORG, "by-owner", false).await;
    assert_eq!(permissions(&by_owner), [true, true, true]);
    assert_eq!(
        listed(s, Some(&w.owner), &theirs).await,
        (2, names(&["by-editor", "by-owner"]))
    );
    // The editor's private repository is the organization's: the owner administers it.
    let path = repo_path(ORG, "by-editor");
    assert_eq!(
        permissions(&read(s, Some(&w.owner), &path).await),
        [true, true, true]
    );
    s.refused(Method::GET, &path, Some(&w.member), None, StatusCode::NOT_FOUND)
        .await;
}

/// Tags filled from real pushes: the list (newest push first, paged), `HEAD` of the list
/// and of a tag, the tag object with its images (one per platform, with layers and their
/// instructions), pull times and the repository's pull count.
async fn tags_of_pushed_images(backend: Backend) {
    let (server, alice) = Server::start_as(&backend, "alice").await;
    server.user_with_token("bobby").await;
    new_repo(&server, &alice, "alice", "app", false).await;
    let repo = "alice/app";
    let tags = hub_tags("alice", "app");
    assert_eq!(head(&server, &tags, Some(&alice)).await, StatusCode::NOT_FOUND);
    assert_eq!(
        listed(&server, Some(&alice), &tags).await,
        (0, vec![]),
        "no tags yet"
    );

    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &[repo, "alice/hidden"], ALL).await;
    let (v1, layers) = push_arm64(&registry, repo, "v1").await;
    // A two-platform index; the second child's configuration says amd64, the index says
    // arm64/v8, and the index wins.
    let amd64 = registry.image_manifest(repo).await;
    let arm64 = registry.image_manifest(repo).await;
    let amd64_digest = registry
        .push_manifest(repo, &sha256(&amd64), OCI_MANIFEST, &amd64)
        .await;
    let arm64_digest = registry
        .push_manifest(repo, &sha256(&arm64), OCI_MANIFEST, &arm64)
        .await;
    let mut first = descriptor(OCI_MANIFEST, &amd64);
    first["platform"] = json!({"architecture": "amd64", "os": "linux"});
    let mut second = descriptor(OCI_MANIFEST, &arm64);
    second["platform"] = json!({"architecture": "arm64", "os": "linux", "variant": "v8"});
    let multi = index(&[first, second]);
    let multi_digest = registry.push_manifest(repo, "multi", OCI_INDEX, &multi).await;
    let (_, v2) = registry.push_image(repo, "v2").await;

    assert_eq!(head(&server, &tags, Some(&alice)).await, StatusCode::OK);
    assert_eq!(head(&server, &tags, None).await, StatusCode::OK);
    let page = read(&server, None, &tags).await;
    assert_eq!(page["count"], 3);
    assert_eq!(column(&page, "name"), names(&["v2", "multi", "v1"]));
    let first_page = read(&server, Some(&alice), &format!("{tags}?page_size=2")).await;
    assert_eq!(column(&first_page, "name"), names(&["v2", "multi"]));
    assert!(
        first_page["next"].as_str().is_some_and(|n| n.contains("page=2")),
        "{first_page}"
    );
    let second_page = read(&server, Some(&alice), &format!("{tags}?page=2&page_size=2")).await;
    assert_eq!(column(&second_page, "name"), names(&["v1"]));
    assert!(second_page["next"].is_null(), "{second_page}");
    for query in ["?page=3&page_size=2", "?page=2"] {
        let path = format!("{tags}{query}");
        server
            .refused(Method::GET, &path, Some(&alice), None, StatusCode::NOT_FOUND)
            .await;
    }
    assert_paging_refused(&server, Some(&alice), &tags).await;

    // One image, from the configuration: platform, size, layers with their instructions.
    let path = hub_tag("alice", "app", "v1");
    let tag = read(&server, None, &path).await;
    assert_eq!(page["results"][2], tag, "the list holds the same tag");
    assert_has_fields(&tag, &TAG_FIELDS);
    assert_eq!(tag["name"], "v1");
    assert_eq!(tag["digest"], v1);
    assert_eq!(tag["media_type"], OCI_MANIFEST);
    assert_eq!(tag["v2"], true);
    assert_eq!(tag["tag_status"], "active");
    assert_eq!(tag["last_updater_username"], "alice");
    assert_eq!(tag["full_size"], 1000);
    assert!(tag["id"].is_i64() && tag["repository"].is_i64(), "{tag}");
    assert_eq!(tag["repository"], page["results"][0]["repository"]);
    assert_utc_time(&tag["tag_last_pushed"]);
    assert_eq!(tag["last_updated"], tag["tag_last_pushed"]);
    assert!(tag["tag_last_pulled"].is_null(), "never pulled: {tag}");
    let images = tag["images"].as_array().expect("images");
    assert_eq!(images.len(), 1, "{tag}");
    let image = &images[0];
    assert_has_fields(image, &IMAGE_FIELDS);
    assert_eq!(
        (
            &image["architecture"],
            &image["os"],
            &image["variant"],
            &image["digest"]
        ),
        (&json!("arm64"), &json!("linux"), &json!("v8"), &json!(v1))
    );
    assert_eq!(image["size"], 1000);
    assert_eq!(image["status"], "active");
    assert!(image["last_pulled"].is_null(), "{image}");
    assert_eq!(image["last_pushed"], tag["tag_last_pushed"]);
    assert_eq!(
        image["layers"],
        json!([
            {"digest": layers[0], "size": 300, "instruction": "ADD file:0a1b2c in /"},
            {"digest": layers[1], "size": 700, "instruction": "RUN apk add --no-cache tool1"},
            {"digest": null, "size": 0, "instruction": "CMD [\"sh\"]"},
        ])
    );

    // An index: one image per platform manifest, with the index's platforms.
    let tag = read(&server, Some(&alice), &hub_tag("alice", "app", "multi")).await;
    assert_eq!(tag["digest"], multi_digest);
    assert_eq!(tag["media_type"], OCI_INDEX);
    let images = tag["images"].as_array().expect("images");
    let platforms: Vec<(&Value, &Value, &Value, &Value, &Value)> = images
        .iter()
        .map(|i| {
            (
                &i["digest"],
                &i["architecture"],
                &i["os"],
                &i["variant"],
                &i["size"],
            )
        })
        .collect();
    assert_eq!(
        platforms,
        vec![
            (
                &json!(amd64_digest),
                &json!("amd64"),
                &json!("linux"),
                &Value::Null,
                &json!(512)
            ),
            (
                &json!(arm64_digest),
                &json!("arm64"),
                &json!("linux"),
                &json!("v8"),
                &json!(512)
            ),
        ],
        "{tag}"
    );
    assert_eq!(tag["full_size"], 1024);
    for image in images {
        let layers = image["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 1, "{image}");
        assert_eq!(layers[0]["size"], 512);
    }
    let tag = read(&server, None, &hub_tag("alice", "app", "v2")).await;
    assert_eq!(tag["digest"], v2);

    for path in [hub_tag("alice", "app", "v1"), hub_tag("alice", "app", "multi")] {
        assert_eq!(head(&server, &path, None).await, StatusCode::OK);
    }
    for path in [
        hub_tag("alice", "app", "nope"),
        hub_tag("alice", "nothing", "v1"),
        hub_tag("nosuchns", "app", "v1"),
    ] {
        server
            .refused(Method::GET, &path, Some(&alice), None, StatusCode::NOT_FOUND)
            .await;
        assert_eq!(head(&server, &path, Some(&alice)).await, StatusCode::NOT_FOUND);
    }
    for path in [hub_tags("alice", "nothing"), hub_tags("nosuchns", "app")] {
        server
            .refused(Method::GET, &path, Some(&alice), None, StatusCode::NOT_FOUND)
            .await;
        assert_eq!(head(&server, &path, Some(&alice)).await, StatusCode::NOT_FOUND);
    }

    // Pulls: a manifest GET by tag sets the tag's pull time; every manifest GET (not HEAD)
    // counts toward the repository's pull count.
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    for reference in ["v1", "v1", &v1] {
        let res = registry.send(Method::GET, &manifest_path(repo, reference)).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = registry.send(Method::HEAD, &manifest_path(repo, "v2")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let tag = read(&server, None, &hub_tag("alice", "app", "v1")).await;
    assert_utc_time(&tag["tag_last_pulled"]);
    assert!(parse_time(&tag["tag_last_pulled"]) >= before, "{tag}");
    assert_eq!(tag["images"][0]["last_pulled"], tag["tag_last_pulled"]);
    let tag = read(&server, None, &hub_tag("alice", "app", "v2")).await;
    assert!(tag["tag_last_pulled"].is_null(), "HEAD is no pull: {tag}");
    let info = read(&server, None, &repo_path("alice", "app")).await;
    assert_eq!(info["pull_count"], 3, "{info}");
    let media_types: BTreeSet<&str> = info["media_types"]
        .as_array()
        .expect("media_types")
        .iter()
        .map(|t| t.as_str().expect("a media type"))
        .collect();
    assert_eq!(media_types, BTreeSet::from([OCI_MANIFEST, OCI_INDEX]));
    assert_eq!(info["content_types"], json!(["image"]));
    assert!(info["storage_size"].as_i64().is_some_and(|n| n >= 2024), "{info}");
    let anonymous = Registry::login(&server, None, &[repo], "pull").await;
    let res = anonymous.send(Method::GET, &manifest_path(repo, "multi")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let entry = read(&server, None, &format!("{}?name=app", repos_path("alice"))).await;
    assert_eq!(entry["results"][0]["pull_count"], 4, "{entry}");

    // The tags of a private repository are hidden like the repository.
    registry.push_image("alice/hidden", "v1").await;
    let hidden = hub_tags("alice", "hidden");
    assert_eq!(listed(&server, Some(&alice), &hidden).await.1, names(&["v1"]));
    let bobby = server.token("bobby", PASSWORD).await;
    for token in [None, Some(bobby.as_str())] {
        for path in [hidden.clone(), hub_tag("alice", "hidden", "v1")] {
            server
                .refused(Method::GET, &path, token, None, StatusCode::NOT_FOUND)
                .await;
            assert_eq!(head(&server, &path, token).await, StatusCode::NOT_FOUND);
        }
    }
}

/// `PATCH /v2/repositories/{ns}/{repo}` (descriptions, immutable tags as a list or one
/// string), `POST …/privacy`, and `DELETE …/tags/{tag}`, with their audit events and
/// refusals.
async fn update_privacy_and_tag_delete(backend: Backend) {
    let (server, alice) = Server::start_as(&backend, "alice").await;
    let bobby = server.user_with_token("bobby").await;
    new_repo(&server, &alice, "alice", "app", false).await;
    let repo = "alice/app";
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &[repo], ALL).await;
    let (_, v1) = registry.push_image(repo, "v1").await;
    let (_, v2) = registry.push_image(repo, "v2").await;
    registry.push_image(repo, "latest").await;
    let path = legacy_repo("alice", "app");

    // Descriptions.
    let body = json!({"description": "Short words", "full_description": "# Long words"});
    let (updated, event) = server
        .audited_once(
            "alice",
            "repo.update",
            "repo.update",
            "alice",
            server.expect(Method::PATCH, &path, Some(&alice), Some(body), StatusCode::OK),
        )
        .await;
    assert_eq!(event.name, repo);
    assert_eq!(audit_data(&event)["description"], "Short words");
    assert_has_fields(&updated, &REPOSITORY_FIELDS);
    assert_eq!(updated["description"], "Short words");
    assert_eq!(updated["full_description"], "# Long words");
    assert_eq!(permissions(&updated), [true, true, true]);
    assert_eq!(
        read(&server, None, &repo_path("alice", "app")).await["description"],
        "Short words"
    );
    // Only what is sent changes.
    let body = json!({"full_description": "# Longer words"});
    let updated = server
        .expect(Method::PATCH, &path, Some(&alice), Some(body), StatusCode::OK)
        .await;
    assert_eq!(
        (&updated["description"], &updated["full_description"]),
        (&json!("Short words"), &json!("# Longer words"))
    );

    // Immutable tags: rules as a list, and as one comma-separated string.
    let body = json!({"immutable_tags": true, "immutable_tags_rules": ["v.*", "release-.*"]});
    let (updated, event) = server
        .audited_once(
            "alice",
            "repo.immutable.tags.updated",
            "repo.immutable.tags.updated",
            "alice",
            server.expect(Method::PATCH, &path, Some(&alice), Some(body), StatusCode::OK),
        )
        .await;
    assert_eq!(
        updated["immutable_tags_settings"],
        json!({"enabled": true, "rules": ["v.*", "release-.*"]})
    );
    let data = audit_data(&event);
    assert_eq!(
        (&data["immutable_tags"], &data["immutable_tags_rules"]),
        (&json!("true"), &json!("v.*,release-.*"))
    );
    let body = json!({"immutable_tags_rules": "v1, stable"});
    let updated = server
        .expect(Method::PATCH, &path, Some(&alice), Some(body), StatusCode::OK)
        .await;
    assert_eq!(
        updated["immutable_tags_settings"],
        json!({"enabled": true, "rules": ["v1", "stable"]})
    );
    assert_eq!(updated["description"], "Short words");

    // Refusals change nothing.
    let before = read(&server, Some(&alice), &repo_path("alice", "app")).await;
    let body = json!({"description": "d".repeat(101)});
    field_refused(
        &server,
        Method::PATCH,
        &path,
        Some(&alice),
        Some(body),
        "description",
    )
    .await;
    let body = json!({"full_description": "f".repeat(25_001)});
    field_refused(
        &server,
        Method::PATCH,
        &path,
        Some(&alice),
        Some(body),
        "full_description",
    )
    .await;
    for body in [
        json!({"immutable_tags_rules": ["v("]}),
        json!({"immutable_tags_rules": [""]}),
        json!({"immutable_tags": true, "immutable_tags_rules": []}),
    ] {
        server
            .refused(
                Method::PATCH,
                &path,
                Some(&alice),
                Some(body),
                StatusCode::BAD_REQUEST,
            )
            .await;
    }
    let body = Some(json!({"description": "mine now"}));
    server
        .refused(
            Method::PATCH,
            &path,
            Some(&bobby),
            body.clone(),
            StatusCode::FORBIDDEN,
        )
        .await;
    server
        .refused(Method::PATCH, &path, None, body.clone(), StatusCode::UNAUTHORIZED)
        .await;
    let nothing = legacy_repo("alice", "nothing");
    server
        .refused(Method::PATCH, &nothing, Some(&alice), body, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(
        read(&server, Some(&alice), &repo_path("alice", "app")).await,
        before
    );

    // Deleting tags: the tag goes from the Hub and the registry, its manifest stays.
    let tag_path = |tag: &str| format!("{path}/tags/{tag}");
    server
        .refused(
            Method::DELETE,
            &tag_path("latest"),
            Some(&bobby),
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
    server
        .refused(
            Method::DELETE,
            &tag_path("latest"),
            None,
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    server
        .refused(
            Method::DELETE,
            &tag_path("nope"),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    let latest = read(&server, None, &hub_tag("alice", "app", "latest")).await;
    let latest = latest["digest"].as_str().expect("digest").to_string();
    let (deleted, event) = server
        .audited_once(
            "alice",
            "repo.tag.delete",
            "repo.tag.delete",
            "alice",
            server.expect(
                Method::DELETE,
                &tag_path("latest"),
                Some(&alice),
                None,
                StatusCode::NO_CONTENT,
            ),
        )
        .await;
    assert_eq!(deleted, Value::Null, "204 has no body");
    assert_eq!(event.name, repo);
    let data = audit_data(&event);
    assert_eq!(
        (&data["tag"], &data["digest"]),
        (&json!("latest"), &json!(latest))
    );
    server
        .refused(
            Method::GET,
            &hub_tag("alice", "app", "latest"),
            None,
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    let mut listed_tags = registry.tags(repo, "").await.0;
    listed_tags.sort();
    assert_eq!(listed_tags, names(&["v1", "v2"]));
    let res = registry.send(Method::GET, &manifest_path(repo, &latest)).await;
    assert_eq!(res.status(), StatusCode::OK, "the manifest stays, by digest");
    registry.assert_no_manifest(repo, "latest").await;
    server
        .refused(
            Method::DELETE,
            &tag_path("latest"),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;

    // An immutable tag is not deleted (the rules are now `v1` and `stable`).
    server
        .refused(
            Method::DELETE,
            &tag_path("v1"),
            Some(&alice),
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
    assert_eq!(
        read(&server, None, &hub_tag("alice", "app", "v1")).await["digest"],
        v1
    );
    let mut listed_tags = registry.tags(repo, "").await.0;
    listed_tags.sort();
    assert_eq!(listed_tags, names(&["v1", "v2"]));
    // `v2` matches no rule any more.
    server
        .expect(
            Method::DELETE,
            &format!("{}/", tag_path("v2")),
            Some(&alice),
            None,
            StatusCode::NO_CONTENT,
        )
        .await;
    assert_eq!(
        listed(&server, None, &hub_tags("alice", "app")).await.1,
        names(&["v1"])
    );
    let res = registry.send(Method::GET, &manifest_path(repo, &v2)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(events(&server, "alice", "repo.tag.delete").await.len(), 2);

    // Privacy: private hides the repository from everyone else, in the Hub and the
    // registry; public shows it again.
    let privacy = format!("{path}/privacy");
    let body = Some(json!({"is_private": true}));
    server
        .refused(
            Method::POST,
            &privacy,
            Some(&bobby),
            body.clone(),
            StatusCode::FORBIDDEN,
        )
        .await;
    server
        .refused(
            Method::POST,
            &privacy,
            None,
            body.clone(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    let (made_private, event) = server
        .audited_once(
            "alice",
            "repo.change_privacy",
            "repo.change_privacy",
            "alice",
            server.expect(Method::POST, &privacy, Some(&alice), body, StatusCode::OK),
        )
        .await;
    assert_eq!(event.name, repo);
    assert_eq!(audit_data(&event)["is_private"], "true");
    assert_has_fields(&made_private, &REPOSITORY_FIELDS);
    assert_eq!(made_private["is_private"], true);
    for token in [None, Some(bobby.as_str())] {
        for path in [repo_path("alice", "app"), hub_tags("alice", "app")] {
            server
                .refused(Method::GET, &path, token, None, StatusCode::NOT_FOUND)
                .await;
        }
    }
    assert_eq!(listed(&server, None, &repos_path("alice")).await, (0, vec![]));
    assert_eq!(granted(&server, None, repo).await, Vec::<String>::new());
    assert_eq!(
        granted(&server, Some(("bobby", PASSWORD)), repo).await,
        Vec::<String>::new()
    );
    let anonymous = Registry::login(&server, None, &[repo], "pull").await;
    let res = anonymous.send(Method::GET, &manifest_path(repo, "v1")).await;
    assert_oci_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    let body = Some(json!({"is_private": false}));
    let public = server
        .expect(
            Method::POST,
            &format!("{privacy}/"),
            Some(&alice),
            body,
            StatusCode::OK,
        )
        .await;
    assert_eq!(public["is_private"], false);
    assert_eq!(
        read(&server, None, &repo_path("alice", "app")).await["is_private"],
        false
    );
    assert_eq!(granted(&server, None, repo).await, names(&["pull"]));
    let anonymous = Registry::login(&server, None, &[repo], "pull").await;
    let res = anonymous.send(Method::GET, &manifest_path(repo, "v1")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(events(&server, "alice", "repo.change_privacy").await.len(), 2);
    server
        .refused(
            Method::POST,
            &format!("{}/privacy", legacy_repo("alice", "nothing")),
            Some(&alice),
            Some(json!({"is_private": true})),
            StatusCode::NOT_FOUND,
        )
        .await;
}

/// `DELETE /v2/repositories/{ns}/{repo}`: 202, the audit event, the repository gone from
/// the Hub and the registry, and a new push starting afresh.
async fn delete_repository(backend: Backend) {
    let (server, alice) = Server::start_as(&backend, "alice").await;
    let bobby = server.user_with_token("bobby").await;
    new_repo(&server, &alice, "alice", "app", false).await;
    new_repo(&server, &alice, "alice", "keep", false).await;
    let repo = "alice/app";
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &[repo], ALL).await;
    let (_, v1) = registry.push_image(repo, "v1").await;
    registry.push_image(repo, "v2").await;
    let res = registry.send(Method::GET, &manifest_path(repo, "v1")).await;
    assert_eq!(res.status(), StatusCode::OK);

    let path = legacy_repo("alice", "app");
    server
        .refused(Method::DELETE, &path, Some(&bobby), None, StatusCode::FORBIDDEN)
        .await;
    server
        .refused(Method::DELETE, &path, None, None, StatusCode::UNAUTHORIZED)
        .await;
    let nothing = legacy_repo("alice", "nothing");
    server
        .refused(
            Method::DELETE,
            &nothing,
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(read(&server, None, &hub_tags("alice", "app")).await["count"], 2);

    let (deleted, event) = server
        .audited_once(
            "alice",
            "repo.delete",
            "repo.delete",
            "alice",
            server.expect(Method::DELETE, &path, Some(&alice), None, StatusCode::ACCEPTED),
        )
        .await;
    assert_eq!(deleted, Value::Null, "{deleted}");
    assert_eq!(event.name, repo);
    for path in [
        repo_path("alice", "app"),
        hub_tags("alice", "app"),
        hub_tag("alice", "app", "v1"),
        legacy_repo("alice", "app"),
    ] {
        server
            .refused(Method::GET, &path, Some(&alice), None, StatusCode::NOT_FOUND)
            .await;
    }
    assert_eq!(
        head(&server, &repo_path("alice", "app"), Some(&alice)).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        listed(&server, Some(&alice), &repos_path("alice")).await,
        (1, names(&["keep"]))
    );
    server
        .refused(Method::DELETE, &path, Some(&alice), None, StatusCode::NOT_FOUND)
        .await;
    // The registry no longer knows the repository at all.
    let fresh = Registry::login(&server, Some(("alice", PASSWORD)), &[repo], ALL).await;
    for path in [
        manifest_path(repo, "v1"),
        manifest_path(repo, &v1),
        tags_path(repo),
    ] {
        fresh
            .refused(Method::GET, &path, StatusCode::NOT_FOUND, "NAME_UNKNOWN")
            .await;
    }

    // A new push starts a new repository, private as every repository a push creates.
    // Nothing of the old one carries over, its pulls included.
    let (image, _) = fresh.push_image(repo, "v3").await;
    let info = read(&server, Some(&alice), &repo_path("alice", "app")).await;
    assert_eq!(
        (&info["pull_count"], &info["is_private"], &info["description"]),
        (&json!(0), &json!(true), &json!(""))
    );
    fresh.assert_manifest(repo, "v3", OCI_MANIFEST, &image).await;
    let info = read(&server, Some(&alice), &repo_path("alice", "app")).await;
    assert_eq!(info["pull_count"], 1, "{info}");
    assert_eq!(
        listed(&server, Some(&alice), &hub_tags("alice", "app")).await,
        (1, names(&["v3"]))
    );
    assert_eq!(events(&server, "alice", "repo.delete").await.len(), 1);
    // With a trailing slash too.
    server
        .expect(
            Method::DELETE,
            &format!("{path}/"),
            Some(&alice),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    server
        .refused(
            Method::GET,
            &repo_path("alice", "app"),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
}

/// The legacy forms share the handlers (list, both creations, get, head, tags, the user
/// profile); organization access tokens are refused on the legacy reads; every route
/// takes a trailing slash.
async fn legacy_routes_and_trailing_slashes(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    let alice = s.user_with_token("alice").await;

    // Creation in the namespace of the path, and in the one the body names.
    let body = json!({"name": "one", "namespace": "alice", "description": "first"});
    let (one, _) = s
        .audited_once(
            "alice",
            "repo.create",
            "repo.create",
            "alice",
            s.expect(
                Method::POST,
                "/v2/repositories/alice",
                Some(&alice),
                Some(body),
                StatusCode::CREATED,
            ),
        )
        .await;
    assert_has_fields(&one, &REPOSITORY_FIELDS);
    assert_eq!(
        (&one["namespace"], &one["name"]),
        (&json!("alice"), &json!("one"))
    );
    let body = json!({"name": "two", "namespace": "alice"});
    let two = s
        .expect(
            Method::POST,
            "/v2/repositories",
            Some(&alice),
            Some(body),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(two["name"], "two");
    let body = json!({"name": "org-app", "namespace": ORG});
    let org_app = s
        .expect(
            Method::POST,
            "/v2/repositories/",
            Some(&w.owner),
            Some(body),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(org_app["namespace"], ORG);
    let body = json!({"name": "three", "namespace": "alice"});
    s.expect(
        Method::POST,
        "/v2/repositories/alice/",
        Some(&alice),
        Some(body),
        StatusCode::CREATED,
    )
    .await;
    let body = json!({"name": "four", "namespace": "alice"});
    s.expect(
        Method::POST,
        "/v2/namespaces/alice/repositories/",
        Some(&alice),
        Some(body),
        StatusCode::CREATED,
    )
    .await;
    let body = json!({"name": "elsewhere", "namespace": ORG});
    field_refused(
        s,
        Method::POST,
        "/v2/repositories/alice",
        Some(&alice),
        Some(body),
        "namespace",
    )
    .await;
    let body = json!({"name": "Bad", "namespace": "alice"});
    field_refused(
        s,
        Method::POST,
        "/v2/repositories",
        Some(&alice),
        Some(body),
        "name",
    )
    .await;
    let body = json!({"name": "theirs", "namespace": ORG});
    s.refused(
        Method::POST,
        "/v2/repositories",
        Some(&alice),
        Some(body.clone()),
        StatusCode::FORBIDDEN,
    )
    .await;
    s.refused(
        Method::POST,
        "/v2/repositories",
        None,
        Some(body),
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // The legacy listing: the official list entries plus `user`, `can_edit`, `is_migrated`.
    let legacy = read(s, Some(&alice), "/v2/repositories/alice?ordering=last_updated").await;
    let official = read(
        s,
        Some(&alice),
        &format!("{}?ordering=last_updated", repos_path("alice")),
    )
    .await;
    assert_eq!(column(&legacy, "name"), column(&official, "name"));
    assert_eq!(column(&legacy, "name"), names(&["one", "two", "three", "four"]));
    let entry = &legacy["results"][0];
    assert_has_fields(entry, &LIST_ENTRY_FIELDS);
    assert_eq!(
        (&entry["user"], &entry["can_edit"], &entry["is_migrated"]),
        (&json!("alice"), &json!(true), &json!(false))
    );
    let anonymous = read(s, None, "/v2/repositories/alice?name=one").await;
    assert_eq!(anonymous["results"][0]["can_edit"], false);
    assert_eq!(anonymous["count"], 1);
    field_refused(
        s,
        Method::GET,
        "/v2/repositories/alice?ordering=stars",
        None,
        None,
        "ordering",
    )
    .await;
    s.refused(
        Method::GET,
        "/v2/repositories/nosuchns",
        None,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Get, head and tags, as the official routes answer them.
    let registry = Registry::login(s, Some(("alice", PASSWORD)), &["alice/one"], ALL).await;
    registry.push_image("alice/one", "v1").await;
    let legacy_one = read(s, Some(&alice), &legacy_repo("alice", "one")).await;
    assert_eq!(
        legacy_one,
        read(s, Some(&alice), &repo_path("alice", "one")).await
    );
    assert_eq!(legacy_one["description"], "first");
    let legacy_tags = read(s, None, &format!("{}/tags", legacy_repo("alice", "one"))).await;
    assert_eq!(legacy_tags, read(s, None, &hub_tags("alice", "one")).await);
    assert_eq!(column(&legacy_tags, "name"), names(&["v1"]));
    let legacy_tag = read(s, None, &format!("{}/tags/v1", legacy_repo("alice", "one"))).await;
    assert_eq!(legacy_tag, read(s, None, &hub_tag("alice", "one", "v1")).await);
    for path in [
        legacy_repo("alice", "nothing"),
        format!("{}/tags/nope", legacy_repo("alice", "one")),
        format!("{}/tags", legacy_repo("alice", "nothing")),
    ] {
        s.refused(Method::GET, &path, None, None, StatusCode::NOT_FOUND)
            .await;
    }
    assert_eq!(
        head(s, &legacy_repo("alice", "nothing"), None).await,
        StatusCode::NOT_FOUND
    );

    // The user profile.
    let profile = read(s, None, "/v2/users/alice").await;
    assert_eq!(
        (&profile["username"], &profile["type"]),
        (&json!("alice"), &json!("User"))
    );
    s.assert_account_fields(&profile, "alice");
    assert_eq!(read(s, Some(&w.owner), "/v2/users/alice/").await, profile);
    s.refused(
        Method::GET,
        "/v2/users/nosuchuser",
        None,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Organization access tokens: the official reads answer, the legacy ones refuse.
    let registry = Registry::login(s, Some((OWNER, PASSWORD)), &["acme/org-app"], ALL).await;
    registry.push_image("acme/org-app", "v1").await;
    let resources = json!([
        {"type": "TYPE_REPO", "path": format!("{ORG}/*"), "scopes": ["scope-image-pull"]},
        {"type": "TYPE_ORG", "path": ORG, "scopes": ["scope-repository-list"]},
    ]);
    let (oat, _) = s.oat_session(&w.owner, ORG, resources).await;
    for path in [
        repos_path(ORG),
        repo_path(ORG, "org-app"),
        hub_tags(ORG, "org-app"),
        hub_tag(ORG, "org-app", "v1"),
    ] {
        read(s, Some(&oat), &path).await;
    }
    for path in [
        format!("/v2/repositories/{ORG}"),
        legacy_repo(ORG, "org-app"),
        format!("{}/tags", legacy_repo(ORG, "org-app")),
        format!("{}/tags/v1", legacy_repo(ORG, "org-app")),
        "/v2/users/alice".to_string(),
    ] {
        s.refused(Method::GET, &path, Some(&oat), None, StatusCode::FORBIDDEN)
            .await;
    }
    assert_eq!(
        head(s, &legacy_repo(ORG, "org-app"), Some(&oat)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        head(s, &repo_path(ORG, "org-app"), Some(&oat)).await,
        StatusCode::OK
    );

    // Every read with and without a trailing slash.
    let reads = [
        repos_path("alice"),
        repo_path("alice", "one"),
        hub_tags("alice", "one"),
        hub_tag("alice", "one", "v1"),
        "/v2/repositories/alice".to_string(),
        legacy_repo("alice", "one"),
        format!("{}/tags", legacy_repo("alice", "one")),
        format!("{}/tags/v1", legacy_repo("alice", "one")),
        "/v2/users/alice".to_string(),
    ];
    for path in reads {
        // The lists are single pages: no links, which would name the path.
        let plain = read(s, Some(&alice), &path).await;
        let slashed = read(s, Some(&alice), &format!("{path}/")).await;
        assert_eq!(slashed, plain, "{path}/");
    }
    for path in [
        repo_path("alice", "one"),
        hub_tags("alice", "one"),
        hub_tag("alice", "one", "v1"),
        legacy_repo("alice", "one"),
    ] {
        assert_eq!(
            head(s, &format!("{path}/"), Some(&alice)).await,
            StatusCode::OK,
            "{path}/"
        );
    }
    let body = json!({"description": "slashed"});
    let updated = s
        .expect(
            Method::PATCH,
            &format!("{}/", legacy_repo("alice", "one")),
            Some(&alice),
            Some(body),
            StatusCode::OK,
        )
        .await;
    assert_eq!(updated["description"], "slashed");
    let page = read(s, Some(&alice), &format!("{}/?page_size=1", repos_path("alice"))).await;
    assert!(
        page["next"].as_str().is_some_and(|n| n.contains("page=2")),
        "{page}"
    );
}

/// Team access to an organization's repository: grant, list, get, change, revoke; the
/// refusals; and the audit trail.
async fn team_access_management(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    new_repo(s, &w.owner, ORG, "secret", true).await;
    new_repo(s, &w.owner, ORG, "public-app", false).await;
    new_repo(s, &w.owner, OWNER, "mine", true).await;
    s.create_org(OTHER_ORG, OWNER).await;
    let devs = create_team(&w, ORG, "devs").await;
    let ops = create_team(&w, ORG, "ops").await;
    let intruders = create_team(&w, OTHER_ORG, "intruders").await;
    add_to_team(&w, "devs", MEMBER).await;

    let (added, event) = s
        .audited_once(
            ORG,
            "repo.group.add",
            "repo.group.add",
            OWNER,
            grant(&w, &w.owner, "secret", devs, "read"),
        )
        .await;
    assert_eq!(
        added,
        json!({"group_name": "devs", "permission": "read", "group_id": devs})
    );
    assert_eq!(event.name, format!("{ORG}/secret"));
    let data = audit_data(&event);
    assert_eq!(
        (&data["team"], &data["permission"]),
        (&json!("devs"), &json!("read"))
    );
    assert_eq!(read(s, Some(&w.owner), &group_path("secret", devs)).await, added);

    // The editor administers the organization's repositories, their team access included.
    let ops_grant = grant(&w, &w.editor, "secret", ops, "write").await;
    assert_eq!(
        ops_grant,
        json!({"group_name": "ops", "permission": "write", "group_id": ops})
    );
    let page = read(s, Some(&w.owner), &groups_path("secret")).await;
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"], json!([added, ops_grant]));
    let first = read(
        s,
        Some(&w.editor),
        &format!("{}?page_size=1", groups_path("secret")),
    )
    .await;
    assert_eq!(first["results"], json!([added]));
    assert!(
        first["next"].as_str().is_some_and(|n| n.contains("page=2")),
        "{first}"
    );
    let second = read(
        s,
        Some(&w.owner),
        &format!("{}?page=2&page_size=1", groups_path("secret")),
    )
    .await;
    assert_eq!(second["results"], json!([ops_grant]));
    assert!(second["next"].is_null(), "{second}");
    let past = format!("{}?page=3&page_size=1", groups_path("secret"));
    s.refused(Method::GET, &past, Some(&w.owner), None, StatusCode::NOT_FOUND)
        .await;
    assert_paging_refused(s, Some(&w.owner), &groups_path("secret")).await;
    assert_eq!(
        read(s, Some(&w.owner), &groups_path("public-app")).await["count"],
        0
    );

    // Changing a permission.
    let path = group_path("secret", devs);
    let (changed, event) = s
        .audited_once(
            ORG,
            "repo.group.update",
            "repo.group.update",
            OWNER,
            s.expect(
                Method::PATCH,
                &path,
                Some(&w.owner),
                Some(json!({"permission": "write", "group_id": 0, "group_name": ""})),
                StatusCode::OK,
            ),
        )
        .await;
    assert_eq!(
        changed,
        json!({"group_name": "devs", "permission": "write", "group_id": devs})
    );
    assert_eq!(audit_data(&event)["permission"], "write");
    assert_eq!(read(s, Some(&w.owner), &path).await["permission"], "write");
    // POST for a team that has access changes its permission.
    let (again, event) = s
        .audited_once(
            ORG,
            "repo.group.update",
            "repo.group.update",
            OWNER,
            grant(&w, &w.owner, "secret", devs, "admin"),
        )
        .await;
    assert_eq!(again["permission"], "admin");
    assert_eq!(audit_data(&event)["permission"], "admin");
    let slashed = s
        .expect(
            Method::PATCH,
            &format!("{path}/"),
            Some(&w.owner),
            Some(json!({"permission": "read"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(slashed["permission"], "read");
    assert_eq!(read(s, Some(&w.owner), &format!("{path}/")).await, slashed);

    // Refusals, none of which changes anything.
    let secret_groups = groups_path("secret");
    for permission in ["owner", "READ", "", "pull"] {
        let body = json!({"group_id": devs, "permission": permission});
        field_refused(
            s,
            Method::POST,
            &secret_groups,
            Some(&w.owner),
            Some(body),
            "permission",
        )
        .await;
        let body = json!({"permission": permission});
        field_refused(s, Method::PATCH, &path, Some(&w.owner), Some(body), "permission").await;
    }
    for group_id in [intruders, 999_999] {
        let body = Some(json!({"group_id": group_id, "permission": "read"}));
        s.refused(
            Method::POST,
            &secret_groups,
            Some(&w.owner),
            body,
            StatusCode::NOT_FOUND,
        )
        .await;
        let other = group_path("secret", group_id);
        s.refused(Method::GET, &other, Some(&w.owner), None, StatusCode::NOT_FOUND)
            .await;
        let body = Some(json!({"permission": "read"}));
        s.refused(Method::PATCH, &other, Some(&w.owner), body, StatusCode::NOT_FOUND)
            .await;
        s.refused(
            Method::DELETE,
            &other,
            Some(&w.owner),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // A team of the organization without access to this repository.
    let body = Some(json!({"permission": "read"}));
    let public_devs = group_path("public-app", devs);
    s.refused(
        Method::GET,
        &public_devs,
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    s.refused(
        Method::PATCH,
        &public_devs,
        Some(&w.owner),
        body,
        StatusCode::NOT_FOUND,
    )
    .await;
    s.refused(
        Method::GET,
        &format!("{secret_groups}/devs"),
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A user's repository has no team access.
    let user_groups = format!("/v2/repositories/{OWNER}/mine/groups");
    let body = Some(json!({"group_id": devs, "permission": "read"}));
    s.refused(
        Method::POST,
        &user_groups,
        Some(&w.owner),
        body,
        StatusCode::BAD_REQUEST,
    )
    .await;
    s.refused(
        Method::GET,
        &user_groups,
        Some(&w.owner),
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    // Unknown repositories and namespaces.
    for groups in [
        groups_path("nothing"),
        "/v2/repositories/nosuchns/app/groups".into(),
    ] {
        let body = Some(json!({"group_id": devs, "permission": "read"}));
        s.refused(Method::POST, &groups, Some(&w.owner), body, StatusCode::NOT_FOUND)
            .await;
    }
    // Who may manage team access: on a public repository, members and outsiders read it
    // but may not; a private one they cannot read does not exist for them.
    let public_groups = groups_path("public-app");
    let grant_body = Some(json!({"group_id": ops, "permission": "read"}));
    let callers = [
        (Some(w.member.as_str()), StatusCode::FORBIDDEN),
        (Some(w.loner.as_str()), StatusCode::FORBIDDEN),
        (Some(w.outsider.as_str()), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
    ];
    s.refused_to(&callers, Method::POST, &public_groups, grant_body.clone())
        .await;
    s.refused_to(&callers, Method::GET, &public_groups, None).await;
    let callers = [
        (Some(w.loner.as_str()), StatusCode::NOT_FOUND),
        (Some(w.outsider.as_str()), StatusCode::NOT_FOUND),
        (None, StatusCode::UNAUTHORIZED),
    ];
    s.refused_to(&callers, Method::POST, &secret_groups, grant_body)
        .await;
    s.refused_to(&callers[..2], Method::GET, &secret_groups, None)
        .await;
    s.refused_to(&callers[..2], Method::DELETE, &path, None).await;
    // A team member with read access reads the repository, not its team access.
    s.refused_to(
        &[(Some(w.member.as_str()), StatusCode::FORBIDDEN)],
        Method::GET,
        &secret_groups,
        None,
    )
    .await;
    s.refused_to(
        &[(Some(w.member.as_str()), StatusCode::FORBIDDEN)],
        Method::DELETE,
        &path,
        None,
    )
    .await;
    assert_eq!(
        read(s, Some(&w.owner), &secret_groups).await["results"],
        json!([slashed, ops_grant])
    );
    assert!(
        events(s, ORG, "repo.group.add").await.len() == 2
            && events(s, ORG, "repo.group.update").await.len() == 3,
        "refusals record nothing"
    );

    // Revoking.
    let (removed, event) = s
        .audited_once(
            ORG,
            "repo.group.remove",
            "repo.group.remove",
            OWNER,
            s.expect(
                Method::DELETE,
                &path,
                Some(&w.owner),
                None,
                StatusCode::NO_CONTENT,
            ),
        )
        .await;
    assert_eq!(removed, Value::Null);
    let data = audit_data(&event);
    assert_eq!(
        (&data["team"], &data["permission"]),
        (&json!("devs"), &json!("read"))
    );
    s.refused(Method::GET, &path, Some(&w.owner), None, StatusCode::NOT_FOUND)
        .await;
    s.refused(Method::DELETE, &path, Some(&w.owner), None, StatusCode::NOT_FOUND)
        .await;
    s.expect(
        Method::DELETE,
        &format!("{}/", group_path("secret", ops)),
        Some(&w.editor),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(read(s, Some(&w.owner), &secret_groups).await["count"], 0);
    assert_eq!(
        read(s, Some(&w.owner), &format!("{secret_groups}/")).await["count"],
        0
    );
    // Granting again is an addition.
    s.audited_once(
        ORG,
        "repo.group.add",
        "repo.group.add",
        OWNER,
        s.expect(
            Method::POST,
            &format!("{secret_groups}/"),
            Some(&w.owner),
            Some(json!({"group_id": devs, "permission": "read"})),
            StatusCode::OK,
        ),
    )
    .await;
}

/// What team access means through the registry: a member pulls a private repository of
/// the organization only with a team grant, pushes with `write`, deletes with `admin`,
/// and loses it all when the grant is revoked.
async fn team_access_through_registry(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    new_repo(s, &w.owner, ORG, "secret", true).await;
    let repo = "acme/secret";
    let owner = Registry::login(s, Some((OWNER, PASSWORD)), &[repo], ALL).await;
    owner.push_image(repo, "v1").await;
    let devs = create_team(&w, ORG, "devs").await;
    add_to_team(&w, "devs", MEMBER).await;
    let member: Creds<'_> = Some((MEMBER, PASSWORD));
    let loner: Creds<'_> = Some((LONER, PASSWORD));
    let pull = manifest_path(repo, "v1");

    // No team access: nothing.
    assert_eq!(granted(s, member, repo).await, Vec::<String>::new());
    let registry = Registry::login(s, member, &[repo], ALL).await;
    assert_oci_error(
        registry.send(Method::GET, &pull).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    s.refused(
        Method::GET,
        &repo_path(ORG, "secret"),
        Some(&w.member),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Read: pull, not push.
    grant(&w, &w.owner, "secret", devs, "read").await;
    assert_eq!(granted(s, member, repo).await, names(&["pull"]));
    let registry = Registry::login(s, member, &[repo], ALL).await;
    assert_eq!(registry.send(Method::GET, &pull).await.status(), StatusCode::OK);
    let scope = format!("repository:{repo}:pull,push");
    assert_challenge(
        s,
        registry.send(Method::POST, &uploads_path(repo)).await,
        Ask::Scope(&scope),
    )
    .await;
    let info = read(s, Some(&w.member), &repo_path(ORG, "secret")).await;
    assert_eq!(permissions(&info), [true, false, false]);
    assert_eq!(
        listed(s, Some(&w.member), &hub_tags(ORG, "secret")).await.1,
        names(&["v1"])
    );
    // Only the team's members.
    assert_eq!(granted(s, loner, repo).await, Vec::<String>::new());
    assert_eq!(
        granted(s, Some((OUTSIDER, PASSWORD)), repo).await,
        Vec::<String>::new()
    );

    // Write: push too, not delete.
    let path = group_path("secret", devs);
    let body = Some(json!({"permission": "write"}));
    s.expect(Method::PATCH, &path, Some(&w.owner), body, StatusCode::OK)
        .await;
    assert_eq!(granted(s, member, repo).await, names(&["pull", "push"]));
    let registry = Registry::login(s, member, &[repo], ALL).await;
    let (_, pushed) = registry.push_image(repo, "by-mark").await;
    let scope = format!("repository:{repo}:delete");
    assert_challenge(
        s,
        registry.send(Method::DELETE, &manifest_path(repo, &pushed)).await,
        Ask::Scope(&scope),
    )
    .await;
    let tag = read(s, Some(&w.member), &hub_tag(ORG, "secret", "by-mark")).await;
    assert_eq!(tag["last_updater_username"], MEMBER);
    assert_eq!(
        permissions(&read(s, Some(&w.member), &repo_path(ORG, "secret")).await),
        [true, true, false]
    );

    // Admin: delete too.
    let body = Some(json!({"permission": "admin"}));
    s.expect(Method::PATCH, &path, Some(&w.owner), body, StatusCode::OK)
        .await;
    assert_eq!(granted(s, member, repo).await, names(&["pull", "push", "delete"]));
    let registry = Registry::login(s, member, &[repo], ALL).await;
    let res = registry.send(Method::DELETE, &manifest_path(repo, &pushed)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    registry.assert_no_manifest(repo, &pushed).await;
    assert_eq!(
        permissions(&read(s, Some(&w.member), &repo_path(ORG, "secret")).await),
        [true, true, true]
    );

    // Revoked: the token already issued stops working, the next one grants nothing.
    s.expect(
        Method::DELETE,
        &path,
        Some(&w.owner),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    registry
        .refused(Method::GET, &pull, StatusCode::FORBIDDEN, "DENIED")
        .await;
    assert_eq!(granted(s, member, repo).await, Vec::<String>::new());
    let registry = Registry::login(s, member, &[repo], ALL).await;
    assert_oci_error(
        registry.send(Method::GET, &pull).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    s.refused(
        Method::GET,
        &repo_path(ORG, "secret"),
        Some(&w.member),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Leaving the team has the same effect as losing the grant.
    grant(&w, &w.owner, "secret", devs, "read").await;
    assert_eq!(granted(s, member, repo).await, names(&["pull"]));
    s.expect(
        Method::DELETE,
        &format!("/v2/orgs/{ORG}/groups/devs/members/{MEMBER}"),
        Some(&w.owner),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(granted(s, member, repo).await, Vec::<String>::new());
}

/// The `count` of an unfiltered listing (kept per namespace by the store) follows creation,
/// privacy changes and deletion, for the owner (every repository) and for anonymous
/// callers (the public ones); a name search counts what matches.
async fn list_counts_follow_changes(backend: Backend) {
    let (server, alice) = Server::start_as(&backend, "alice").await;
    let path = repos_path("alice");
    // (what alice counts, what an anonymous caller counts)
    async fn counts(server: &Server, alice: &str) -> (u64, u64) {
        let path = repos_path("alice");
        let all = listed(server, Some(alice), &path).await.0;
        let public = listed(server, None, &path).await.0;
        (all, public)
    }
    assert_eq!(counts(&server, &alice).await, (0, 0));
    for (name, is_private) in [("one", false), ("two", false), ("three", true)] {
        new_repo(&server, &alice, "alice", name, is_private).await;
    }
    assert_eq!(counts(&server, &alice).await, (3, 2));
    assert_eq!(
        listed(&server, Some(&alice), &format!("{path}?name=t")).await.0,
        2
    );

    let private = Some(json!({"is_private": true}));
    server
        .expect(
            Method::POST,
            &format!("{}/privacy", legacy_repo("alice", "one")),
            Some(&alice),
            private,
            StatusCode::OK,
        )
        .await;
    assert_eq!(counts(&server, &alice).await, (3, 1));
    server
        .expect(
            Method::DELETE,
            &legacy_repo("alice", "two"),
            Some(&alice),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(counts(&server, &alice).await, (2, 0));
    // A push creates the repository it names.
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/pushed"], ALL).await;
    registry.push_image("alice/pushed", "v1").await;
    let (all, _) = counts(&server, &alice).await;
    assert_eq!(all, 3);
}

crate::both_backends!(
    list_counts_follow_changes,
    list_filters_orders_and_pages,
    visibility_and_permissions,
    create_and_get,
    tags_of_pushed_images,
    update_privacy_and_tag_delete,
    delete_repository,
    legacy_routes_and_trailing_slashes,
    team_access_management,
    team_access_through_registry,
);
