//! Organizations: creation over the API (`POST /v2/orgs`) and from the shell
//! (`wharf admin org`), the public profile `GET /v2/orgs/{org}`, the caller's organizations
//! `GET /v2/user/orgs`, and the `org-settings` group. Refused requests are checked to
//! change nothing, and every change to leave its audit event.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wharf::store::AuditRow;

use crate::harness::{audit_data, forbidden_and_anonymous, keys, Backend, Server, INVALID_PAGING, PASSWORD};

const ORGS: &str = "/v2/orgs";
const MY_ORGS: &str = "/v2/user/orgs";
/// The owner in most tests.
const OWNER: &str = "alice";
/// The organization in most tests.
const ORG: &str = "acme";
/// Every field of an organization as `hub-tool` reads it.
const ORG_FIELDS: [&str; 10] = [
    "id",
    "orgname",
    "full_name",
    "company",
    "location",
    "type",
    "date_joined",
    "gravatar_email",
    "gravatar_url",
    "profile_url",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn org_path(org: &str) -> String {
    format!("{ORGS}/{org}")
}

fn settings_path(org: &str) -> String {
    format!("{ORGS}/{org}/settings")
}

/// Asserts that `info` is the organization `name` in the shape clients read.
fn assert_org_info(server: &Server, info: &Value, name: &str) {
    assert_eq!(keys(info), BTreeSet::from(ORG_FIELDS), "fields of {info}");
    server.assert_account_fields(info, name);
    assert_eq!(info["orgname"], name);
    assert_eq!(info["type"], "Org");
}

/// `GET path` as the holder of `token` (none: anonymous), which must be 200; the body.
async fn read(server: &Server, path: &str, token: Option<&str>) -> Value {
    server
        .expect(Method::GET, path, token, None, StatusCode::OK)
        .await
}

/// `GET path` as the holder of `token`, which must be refused with `expected`.
async fn read_refused(server: &Server, path: &str, token: Option<&str>, expected: StatusCode) {
    server.refused(Method::GET, path, token, None, expected).await;
}

/// `POST /v2/orgs` of `orgname` as the holder of `token`, which must create it; the body.
async fn create_over_api(server: &Server, token: &str, orgname: &str) -> Value {
    let body = Some(json!({"orgname": orgname}));
    server
        .expect(Method::POST, ORGS, Some(token), body, StatusCode::CREATED)
        .await
}

/// `POST /v2/orgs` of `orgname` as the holder of `token`, which must be refused.
async fn create_refused(server: &Server, token: Option<&str>, orgname: &str, expected: StatusCode) {
    let body = Some(json!({"orgname": orgname}));
    server.refused(Method::POST, ORGS, token, body, expected).await;
}

/// The names of every organization the holder of `token` belongs to.
async fn my_org_names(server: &Server, token: &str) -> Vec<String> {
    page_orgnames(&read(server, &format!("{MY_ORGS}?page_size=100"), Some(token)).await)
}

fn page_orgnames(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
        .iter()
        .map(|org| org["orgname"].as_str().expect("orgname").to_string())
        .collect()
}

/// The status of the public profile of `org`.
async fn profile_status(server: &Server, org: &str) -> StatusCode {
    server
        .send(Method::GET, &org_path(org), None, None)
        .await
        .status()
}

/// `(username, role)` of every member of `org`, as `token` lists them.
async fn member_roles(server: &Server, token: &str, org: &str) -> Vec<(String, String)> {
    let page = read(
        server,
        &format!("{ORGS}/{org}/members?page_size=100"),
        Some(token),
    )
    .await;
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|m| {
            (
                m["username"].as_str().expect("username").to_string(),
                m["role"].as_str().expect("role").to_string(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The one event with `action` in `events`.
fn only_event<'a>(events: &'a [AuditRow], action: &str) -> &'a AuditRow {
    let found: Vec<&AuditRow> = events.iter().filter(|e| e.action == action).collect();
    assert_eq!(found.len(), 1, "one {action} expected in {events:#?}");
    found[0]
}

/// Runs `wharf admin ARGS`, which must fail with a message on standard error.
async fn admin_fails(server: &Server, args: &[&str]) {
    // A password on standard input, for the commands that read one.
    let out = server.admin(args, Some(&format!("{PASSWORD}\n"))).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "wharf admin {args:?} succeeded");
    assert!(
        stderr.contains("wharf: "),
        "wharf admin {args:?}: no message on stderr: {stderr}"
    );
}

/// Runs `wharf admin ARGS`, which must succeed; returns its standard output.
async fn admin_stdout(server: &Server, args: &[&str]) -> String {
    let out = server.admin(args, None).await;
    assert!(
        out.status.success(),
        "wharf admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A session of an organization access token of `org` that may edit its members.
async fn oat_session(server: &Server, owner_session: &str, org: &str) -> String {
    let resources = json!([{"type": "TYPE_ORG", "path": org, "scopes": ["scope-member-edit"]}]);
    server.oat_session(owner_session, org, resources).await.0
}

/// A session opened with a new PAT of the holder of `session`, with `scope`.
async fn pat_session(server: &Server, username: &str, session: &str, scope: &str) -> (String, String) {
    let label = format!("pat {scope}");
    let (token, _) = server.pat_session(username, session, &label, &[scope]).await;
    (token, label)
}

// ---------------------------------------------------------------------------------------
// POST /v2/orgs
// ---------------------------------------------------------------------------------------

/// A signed-in user creates an organization and becomes its owner; the profile, the
/// caller's organizations, the members list and the audit log all show it.
async fn create_org_over_api(backend: Backend) {
    let (server, session) = Server::start_as(&backend, OWNER).await;

    let created = create_over_api(&server, &session, ORG).await;
    assert_org_info(&server, &created, ORG);

    // The profile reads the same, with and without a trailing slash.
    for path in [org_path(ORG), format!("{}/", org_path(ORG))] {
        assert_eq!(read(&server, &path, None).await, created, "{path}");
    }
    assert_eq!(my_org_names(&server, &session).await, [ORG]);
    assert_eq!(
        member_roles(&server, &session, ORG).await,
        pairs(&[(OWNER, "Owner")])
    );

    // Both the creation and the first owner are in the organization's log.
    let events = server.audit_events(ORG).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let create = only_event(&events, "org.create");
    assert_eq!((create.account.as_str(), create.name.as_str()), (ORG, ORG));
    assert_eq!(create.actor, OWNER);
    assert_eq!(create.credential, None);
    let add = only_event(&events, "org.member.add");
    assert_eq!((add.account.as_str(), add.name.as_str()), (ORG, OWNER));
    assert_eq!(add.actor, OWNER);
    assert_eq!(audit_data(add)["role"], "owner");

    // A repo:admin PAT may create organizations too; the events name the token.
    let (pat, label) = pat_session(&server, OWNER, &session, "repo:admin").await;
    let second = create_over_api(&server, &pat, "globex2").await;
    assert_org_info(&server, &second, "globex2");
    assert_ne!(second["id"], created["id"]);
    assert_eq!(my_org_names(&server, &session).await, [ORG, "globex2"]);
    let events = server.audit_events("globex2").await;
    let create = only_event(&events, "org.create");
    assert_eq!(create.credential.as_deref(), Some(label.as_str()));
    assert_eq!(audit_data(create)["token_label"], label.as_str());
}

/// Invalid, reserved and taken names, bad bodies and credentials that may not create
/// organizations: each refused, and nothing created.
async fn create_org_refusals(backend: Backend) {
    let (server, session) = Server::start_as(&backend, OWNER).await;
    server.create_user("bobby").await;
    server.create_org("globex", OWNER).await;
    let before = my_org_names(&server, &session).await;
    let globex_events = server.audit_events("globex").await;

    let invalid = [
        "abc",
        "Acme",
        "ACMEINC",
        "ac-me",
        "ac_me",
        "acme.inc",
        "",
        "abcdefghijklmnopqrstuvwxyz12345",
    ];
    let reserved = ["orgs", "users", "repositories", "namespaces", "library"];
    for name in invalid.iter().chain(&reserved) {
        create_refused(&server, Some(&session), name, StatusCode::BAD_REQUEST).await;
        assert!(server.audit_events(name).await.is_empty(), "{name} audited");
    }
    // The name of a user or of another organization is taken.
    for name in ["bobby", "globex", OWNER] {
        create_refused(&server, Some(&session), name, StatusCode::CONFLICT).await;
    }
    assert_eq!(profile_status(&server, "bobby").await, StatusCode::NOT_FOUND);
    assert_eq!(profile_status(&server, OWNER).await, StatusCode::NOT_FOUND);

    // Bodies that are not `{"orgname": "<string>"}`.
    for text in [
        "{",
        "not json",
        "{}",
        r#"{"orgname": 42}"#,
        r#"{"orgname": null}"#,
        "[]",
    ] {
        server
            .refused_raw(Method::POST, ORGS, &session, text, StatusCode::BAD_REQUEST)
            .await;
    }

    assert_eq!(my_org_names(&server, &session).await, before);

    // Two creations of one name at once: one wins, the other finds the name taken.
    let race = || {
        server.call(
            Method::POST,
            ORGS,
            Some(&session),
            Some(json!({"orgname": "racer"})),
        )
    };
    let (first, second) = tokio::join!(race(), race());
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{first:?} {second:?}"
    );
    let events = server.audit_events("racer").await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let before = my_org_names(&server, &session).await;
    assert!(before.contains(&"racer".to_string()), "{before:?}");

    // Credentials that may not create organizations.
    let oat = oat_session(&server, &session, "globex").await;
    let (read_pat, _) = pat_session(&server, OWNER, &session, "repo:read").await;
    let (write_pat, _) = pat_session(&server, OWNER, &session, "repo:write").await;
    for (token, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("garbage"), StatusCode::UNAUTHORIZED),
        (Some(oat.as_str()), StatusCode::FORBIDDEN),
        (Some(&read_pat), StatusCode::FORBIDDEN),
        (Some(&write_pat), StatusCode::FORBIDDEN),
    ] {
        create_refused(&server, token, "initech", expected).await;
    }
    assert_eq!(profile_status(&server, "initech").await, StatusCode::NOT_FOUND);
    assert!(server.audit_events("initech").await.is_empty());

    assert_eq!(my_org_names(&server, &session).await, before);
    // The OAT creation is the only new event of globex.
    let events = server.audit_events("globex").await;
    assert_eq!(events.len(), globex_events.len() + 1, "{events:#?}");
    assert_eq!(events[0].action, "org.access_token.create");

    // An organization's name is taken for users too.
    admin_fails(
        &server,
        &[
            "user",
            "create",
            "globex",
            "--email",
            "globex@example.com",
            "--password-stdin",
        ],
    )
    .await;
    let login = Some(json!({"identifier": "globex", "secret": PASSWORD}));
    server
        .expect(
            Method::POST,
            "/v2/auth/token",
            None,
            login,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    assert_eq!(profile_status(&server, "globex").await, StatusCode::OK);
}

/// With `--org-creation admin`, only `wharf admin org create` creates organizations.
async fn org_creation_reserved_to_admin(backend: Backend) {
    let server = Server::start_with(&backend, &["--org-creation", "admin"], &[]).await;
    let session = server.user_with_token(OWNER).await;

    create_refused(&server, Some(&session), ORG, StatusCode::FORBIDDEN).await;
    assert_eq!(profile_status(&server, ORG).await, StatusCode::NOT_FOUND);
    assert!(my_org_names(&server, &session).await.is_empty());
    assert!(server.audit_events(ORG).await.is_empty());

    server.create_org(ORG, OWNER).await;
    assert_eq!(profile_status(&server, ORG).await, StatusCode::OK);
    assert_eq!(my_org_names(&server, &session).await, [ORG]);
    let events = server.audit_events(ORG).await;
    assert_eq!(only_event(&events, "org.create").actor, "wharf-admin");
    assert_eq!(only_event(&events, "org.member.add").name, OWNER);
}

// ---------------------------------------------------------------------------------------
// GET /v2/orgs/{org}
// ---------------------------------------------------------------------------------------

/// The profile is public: anyone, signed in or not, reads the same; unknown organizations
/// are 404; a bearer token that does not authenticate is 401 even here.
async fn org_profile_is_public(backend: Backend) {
    let (server, owner) = Server::start_as(&backend, OWNER).await;
    let outsider = server.user_with_token("bobby").await;
    server.create_org(ORG, OWNER).await;

    let anonymous = read(&server, &org_path(ORG), None).await;
    assert_org_info(&server, &anonymous, ORG);
    let slash = format!("{}/", org_path(ORG));
    for (path, token) in [
        (org_path(ORG), Some(owner.as_str())),
        (org_path(ORG), Some(outsider.as_str())),
        (slash.clone(), None),
        (slash, Some(outsider.as_str())),
    ] {
        assert_eq!(read(&server, &path, token).await, anonymous, "{path}");
    }

    for token in [None, Some(owner.as_str())] {
        for path in [org_path("nosuchorg"), "/v2/orgs/nosuchorg/".to_string()] {
            read_refused(&server, &path, token, StatusCode::NOT_FOUND).await;
        }
    }
    // A user is not an organization.
    read_refused(&server, &org_path("bobby"), None, StatusCode::NOT_FOUND).await;
    read_refused(&server, &org_path(ORG), Some("garbage"), StatusCode::UNAUTHORIZED).await;
}

// ---------------------------------------------------------------------------------------
// GET /v2/user/orgs
// ---------------------------------------------------------------------------------------

/// The caller's organizations, any role, by name, paged; nobody else's.
async fn my_orgs_paginated(backend: Backend) {
    let (server, session) = Server::start_as(&backend, OWNER).await;
    let other = server.user_with_token("bobby").await;
    let loner = server.user_with_token("carol").await;
    for org in ["zulu", "alpha", "mike", "bravo"] {
        server.create_org(org, OWNER).await;
    }
    server.create_org("xray", "bobby").await;
    server.add_org_member("xray", OWNER, "member").await;
    server.create_org("yankee", "bobby").await;

    let all = ["alpha", "bravo", "mike", "xray", "zulu"];
    for path in [MY_ORGS.to_string(), format!("{MY_ORGS}/")] {
        let page = read(&server, &path, Some(&session)).await;
        assert_eq!(page["count"], 5, "{page}");
        assert_eq!(page_orgnames(&page), all, "{path}");
        assert!(page["next"].is_null() && page["previous"].is_null(), "{page}");
        for org in page["results"].as_array().expect("results") {
            assert_org_info(&server, org, org["orgname"].as_str().expect("orgname"));
        }
    }
    assert_eq!(my_org_names(&server, &other).await, ["xray", "yankee"]);

    // Pages of two, following the links.
    let mut url = server.url(&format!("{MY_ORGS}?page_size=2"));
    let mut seen = Vec::new();
    for (index, expected) in [&all[0..2], &all[2..4], &all[4..5]].into_iter().enumerate() {
        let (status, page) = server.follow(&url, &session).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        assert_eq!(page["count"], 5);
        assert_eq!(page_orgnames(&page), expected, "{url}");
        assert_eq!(page["previous"].is_null(), index == 0, "{page}");
        seen.extend(page_orgnames(&page));
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.contains("page_size=2"), "{next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen, all);
    let page = read(&server, &format!("{MY_ORGS}?page_size=2&page=3"), Some(&session)).await;
    assert!(page["next"].is_null(), "{page}");
    assert!(
        page["previous"].as_str().is_some_and(|p| p.contains("page=2")),
        "{page}"
    );
    let past_the_last = format!("{MY_ORGS}?page_size=2&page=4");
    read_refused(&server, &past_the_last, Some(&session), StatusCode::NOT_FOUND).await;
    for query in INVALID_PAGING {
        let path = format!("{MY_ORGS}{query}");
        read_refused(&server, &path, Some(&session), StatusCode::BAD_REQUEST).await;
    }

    // A user in no organization: an empty first page.
    assert_eq!(
        read(&server, MY_ORGS, Some(&loner)).await,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );

    let oat = oat_session(&server, &session, "alpha").await;
    let slash = format!("{MY_ORGS}/");
    for (path, token, expected) in [
        (MY_ORGS, None, StatusCode::UNAUTHORIZED),
        (&slash, None, StatusCode::UNAUTHORIZED),
        (MY_ORGS, Some("garbage"), StatusCode::UNAUTHORIZED),
        (MY_ORGS, Some(&oat), StatusCode::FORBIDDEN),
    ] {
        read_refused(&server, path, token, expected).await;
    }
    // Any PAT reads the caller's own account.
    let (pat, _) = pat_session(&server, OWNER, &session, "repo:public_read").await;
    assert_eq!(my_org_names(&server, &pat).await, all);
}

// ---------------------------------------------------------------------------------------
// wharf admin org
// ---------------------------------------------------------------------------------------

/// `wharf admin org create` and `add-member`: what they print, what they refuse, and
/// that a refusal changes nothing.
async fn admin_org_commands(backend: Backend) {
    let (server, session) = Server::start_as(&backend, OWNER).await;
    server.create_user("bobby").await;
    server.create_user("carol").await;

    let out = admin_stdout(&server, &["org", "create", ORG, "--owner", OWNER]).await;
    assert!(out.contains(ORG) && out.contains(OWNER), "stdout: {out}");
    assert_eq!(profile_status(&server, ORG).await, StatusCode::OK);

    for args in [
        ["org", "create", "initech", "--owner", "nobody"],
        ["org", "create", "Initech", "--owner", OWNER],
        ["org", "create", "ini-tech", "--owner", OWNER],
        ["org", "create", "ini", "--owner", OWNER],
        ["org", "create", "users", "--owner", OWNER],
        ["org", "create", ORG, "--owner", "bobby"],
        ["org", "create", "bobby", "--owner", OWNER],
    ] {
        admin_fails(&server, &args).await;
    }
    for name in ["initech", "ini", "bobby"] {
        assert_eq!(
            profile_status(&server, name).await,
            StatusCode::NOT_FOUND,
            "{name}"
        );
    }
    assert_eq!(my_org_names(&server, &session).await, [ORG]);
    let before = server.audit_events(ORG).await;
    assert_eq!(before.len(), 2, "{before:#?}");

    let out = admin_stdout(&server, &["org", "add-member", ORG, "bobby", "--role", "member"]).await;
    assert!(
        out.contains("bobby") && out.contains(ORG) && out.contains("member"),
        "stdout: {out}"
    );
    let members = pairs(&[(OWNER, "Owner"), ("bobby", "Member")]);
    assert_eq!(member_roles(&server, &session, ORG).await, members);
    let add = &server.audit_events(ORG).await[0];
    assert_eq!(
        (add.action.as_str(), add.name.as_str()),
        ("org.member.add", "bobby")
    );
    assert_eq!(add.actor, "wharf-admin");
    assert_eq!(audit_data(add)["role"], "member");

    let before = server.audit_events(ORG).await;
    for args in [
        ["org", "add-member", ORG, "nobody", "--role", "member"],
        ["org", "add-member", "nosuchorg", "carol", "--role", "member"],
        ["org", "add-member", ORG, "carol", "--role", "admin"],
        ["org", "add-member", ORG, "carol", "--role", ""],
        ["org", "add-member", ORG, "bobby", "--role", "superuser"],
        // Demoting the last owner.
        ["org", "add-member", ORG, OWNER, "--role", "editor"],
    ] {
        admin_fails(&server, &args).await;
    }
    assert_eq!(member_roles(&server, &session, ORG).await, members);
    assert_eq!(server.audit_events(ORG).await, before);

    // On a member, add-member changes the role.
    admin_stdout(&server, &["org", "add-member", ORG, "bobby", "--role", "editor"]).await;
    assert_eq!(
        member_roles(&server, &session, ORG).await,
        pairs(&[(OWNER, "Owner"), ("bobby", "Editor")])
    );
    let change = &server.audit_events(ORG).await[0];
    assert_eq!(change.action, "org.member.role.change");
    assert_eq!(change.name, "bobby");
    assert_eq!(
        audit_data(change),
        json!({"old_role": "member", "role": "editor"})
    );
    // The same role again is no change.
    let before = server.audit_events(ORG).await;
    admin_stdout(&server, &["org", "add-member", ORG, "bobby", "--role", "editor"]).await;
    assert_eq!(server.audit_events(ORG).await, before);

    // Once there is another owner, the first one can be demoted.
    admin_stdout(&server, &["org", "add-member", ORG, "bobby", "--role", "owner"]).await;
    admin_stdout(&server, &["org", "add-member", ORG, OWNER, "--role", "member"]).await;
    assert_eq!(
        member_roles(&server, &session, ORG).await,
        pairs(&[(OWNER, "Member"), ("bobby", "Owner")])
    );
    admin_fails(&server, &["org", "add-member", ORG, "bobby", "--role", "member"]).await;
}

// ---------------------------------------------------------------------------------------
// GET/PUT /v2/orgs/{org}/settings
// ---------------------------------------------------------------------------------------

fn settings(enabled: bool, official: bool, verified: bool) -> Value {
    json!({"restricted_images": {
        "enabled": enabled,
        "allow_official_images": official,
        "allow_verified_publishers": verified,
    }})
}

async fn read_settings(server: &Server, token: &str) -> Value {
    read(server, &settings_path(ORG), Some(token)).await
}

/// Settings: the defaults, a round trip, validation, who may read and write them, and
/// the audit event.
async fn org_settings(backend: Backend) {
    let (server, owner) = Server::start_as(&backend, OWNER).await;
    let member = server.user_with_token("bobby").await;
    let editor = server.user_with_token("carol").await;
    let outsider = server.user_with_token("david").await;
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, "bobby", "member").await;
    server.add_org_member(ORG, "carol", "editor").await;
    let path = settings_path(ORG);

    assert_eq!(read_settings(&server, &owner).await, settings(false, true, true));
    let slash = read(&server, &format!("{path}/"), Some(&owner)).await;
    assert_eq!(slash, settings(false, true, true));

    let put_ok = |wanted: &Value| {
        let body = Some(wanted.clone());
        server.expect(Method::PUT, &path, Some(&owner), body, StatusCode::OK)
    };
    let wanted = settings(true, false, true);
    assert_eq!(put_ok(&wanted).await, wanted);
    assert_eq!(read_settings(&server, &owner).await, wanted);
    let events = server.audit_events(ORG).await;
    let update = &events[0];
    assert_eq!(update.action, "org.settings.update");
    assert_eq!((update.name.as_str(), update.actor.as_str()), (ORG, OWNER));
    let data = audit_data(update);
    assert_eq!(data["restricted_images.enabled"], "true", "{data}");
    assert_eq!(data["restricted_images.allow_official_images"], "false", "{data}");

    let wanted = settings(false, false, false);
    assert_eq!(put_ok(&wanted).await, wanted);
    assert_eq!(read_settings(&server, &owner).await, wanted);

    // From here on, nothing may change.
    let before = server.audit_events(ORG).await;
    let current = read_settings(&server, &owner).await;
    let bad_bodies = [
        json!({"restricted_images": {"enabled": true, "allow_official_images": true}}),
        json!({"restricted_images": {"enabled": true, "allow_verified_publishers": true}}),
        json!({"restricted_images": {"allow_official_images": true, "allow_verified_publishers": true}}),
        json!({"restricted_images": {"enabled": "yes", "allow_official_images": true, "allow_verified_publishers": true}}),
        json!({"restricted_images": {"enabled": true, "allow_official_images": 1, "allow_verified_publishers": true}}),
        json!({"restricted_images": {"enabled": true, "allow_official_images": true, "allow_verified_publishers": null}}),
        json!({"restricted_images": true}),
        json!({}),
        json!(null),
    ];
    for body in bad_bodies.map(Some) {
        server
            .refused(Method::PUT, &path, Some(&owner), body, StatusCode::BAD_REQUEST)
            .await;
    }
    let truncated = "{\"restricted_images\":";
    server
        .refused_raw(Method::PUT, &path, &owner, truncated, StatusCode::BAD_REQUEST)
        .await;

    assert_eq!(read_settings(&server, &owner).await, current);
    assert_eq!(server.audit_events(ORG).await, before);

    let put = || Some(settings(true, true, false));
    let oat = oat_session(&server, &owner, ORG).await;
    // The OAT's creation is an event of its own.
    let before = server.audit_events(ORG).await;
    let (read_pat, _) = pat_session(&server, OWNER, &owner, "repo:read").await;
    let mut callers = forbidden_and_anonymous(&[&member, &editor, &outsider, &oat]);
    callers.push((Some("garbage"), StatusCode::UNAUTHORIZED));
    for (method, body) in [(Method::GET, None), (Method::PUT, put())] {
        server.refused_to(&callers, method, &path, body).await;
    }
    // A repo:read PAT of the owner reads the settings but may not change them.
    assert_eq!(read_settings(&server, &read_pat).await, current);
    server
        .refused(Method::PUT, &path, Some(&read_pat), put(), StatusCode::FORBIDDEN)
        .await;
    let elsewhere = settings_path("nosuchorg");
    for token in [owner.as_str(), member.as_str()] {
        for (method, body) in [(Method::GET, None), (Method::PUT, put())] {
            server
                .refused(method, &elsewhere, Some(token), body, StatusCode::NOT_FOUND)
                .await;
        }
    }
    assert_eq!(read_settings(&server, &owner).await, current);
    assert_eq!(server.audit_events(ORG).await, before);
}

crate::both_backends!(
    create_org_over_api,
    create_org_refusals,
    org_creation_reserved_to_admin,
    org_profile_is_public,
    my_orgs_paginated,
    admin_org_commands,
    org_settings,
);
