//! `/v2/auditlogs/{account}` and `/v2/auditlogs/{account}/actions`: the action catalogue;
//! the events made through the API, newest first, exactly as the store holds them and in
//! words; the filters (action, name, actor, time window); paging; who may read an
//! account's log; the refusal of malformed queries; the per-caller query limit; and that
//! reading the log records nothing.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use wharf::store::AuditRow;

use crate::harness::{
    assert_hub_error, assert_utc_time, audit_data, forbidden_and_anonymous, json, keys, parse_time, rfc3339,
    Backend, Server, INVALID_PAGING, PASSWORD,
};
use crate::oci::{header, Registry};

/// The organization whose log these tests read.
const ORG: &str = "acme";
/// Another organization, owned by [`OUTSIDER`].
const OTHER_ORG: &str = "globex";
/// The owner of [`ORG`].
const OWNER: &str = "alice";
/// A plain member of [`ORG`].
const MEMBER: &str = "bobby";
/// An editor of [`ORG`].
const EDITOR: &str = "dave";
/// A user outside [`ORG`].
const OUTSIDER: &str = "carol";
/// The team the owner creates.
const TEAM: &str = "devs";
/// The repository pushed to, once with a password and once with a PAT.
const WEB: &str = "acme/web";
/// The repository created through the Hub API with a PAT.
const API: &str = "acme/api";
/// The label of the PAT that pushes `WEB:v2`.
const PUSH_TOKEN: &str = "ci-push";
/// The label of the PAT that creates [`API`].
const CREATE_TOKEN: &str = "ci";
/// The actor of changes made with `wharf admin`.
const ADMIN_CLI: &str = "wharf-admin";
/// No account of that name exists.
const NO_SUCH_ACCOUNT: &str = "nosuchaccount";

/// Every field of an event.
const LOG_FIELDS: [&str; 7] = [
    "account",
    "action",
    "name",
    "actor",
    "data",
    "timestamp",
    "action_description",
];

/// An event as `(action, name, actor)`.
type Summary = (String, String, String);

/// A server where the owner, through the API, created a team, added the member to it,
/// pushed `WEB:v1` with a password and `WEB:v2` with a PAT, and created [`API`] with
/// another PAT; members and the organization were set up with `wharf admin`.
struct World {
    server: Server,
    owner: String,
    member: String,
    editor: String,
    outsider: String,
    /// The digests of `WEB:v1` and `WEB:v2`.
    v1: String,
    v2: String,
}

async fn world(backend: &Backend) -> World {
    let server = Server::start(backend).await;
    let owner = server.user_with_token(OWNER).await;
    let member = server.user_with_token(MEMBER).await;
    let editor = server.user_with_token(EDITOR).await;
    let outsider = server.user_with_token(OUTSIDER).await;
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, MEMBER, "member").await;
    server.add_org_member(ORG, EDITOR, "editor").await;

    let groups = format!("/v2/orgs/{ORG}/groups");
    let team = Some(json!({"name": TEAM}));
    server
        .expect(Method::POST, &groups, Some(&owner), team, StatusCode::CREATED)
        .await;
    let members = format!("{groups}/{TEAM}/members");
    let add = Some(json!({"member": MEMBER}));
    server
        .expect(Method::POST, &members, Some(&owner), add, StatusCode::OK)
        .await;

    let registry = Registry::login(&server, Some((OWNER, PASSWORD)), &[WEB], "pull,push,delete").await;
    let (_, v1) = registry.push_image(WEB, "v1").await;
    let pat = server.create_pat(&owner, PUSH_TOKEN, &["repo:write"]).await;
    let secret = pat["token"].as_str().expect("PAT secret");
    let registry = Registry::login(&server, Some((OWNER, secret)), &[WEB], "pull,push").await;
    let (_, v2) = registry.push_image(WEB, "v2").await;

    let (session, _) = server
        .pat_session(OWNER, &owner, CREATE_TOKEN, &["repo:admin"])
        .await;
    let body = json!({"name": "api", "namespace": ORG, "is_private": false});
    server
        .expect(
            Method::POST,
            &format!("/v2/namespaces/{ORG}/repositories"),
            Some(&session),
            Some(body),
            StatusCode::CREATED,
        )
        .await;
    World {
        server,
        owner,
        member,
        editor,
        outsider,
        v1,
        v2,
    }
}

fn logs_path(account: &str) -> String {
    format!("/v2/auditlogs/{account}")
}

fn actions_path(account: &str) -> String {
    format!("/v2/auditlogs/{account}/actions")
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {value}"))
}

/// Asserts the shape of one event of `account`'s log.
fn assert_log_shape(log: &Value, account: &str) {
    assert_eq!(keys(log), LOG_FIELDS.into_iter().collect(), "{log}");
    assert_eq!(log["account"], account, "{log}");
    for field in ["action", "name", "actor", "action_description"] {
        assert!(!text(log, field).is_empty(), "empty {field} in {log}");
    }
    let data = log["data"]
        .as_object()
        .unwrap_or_else(|| panic!("data is not an object in {log}"));
    assert!(data.values().all(Value::is_string), "data of strings: {log}");
    assert_utc_time(&log["timestamp"]);
}

/// `GET /v2/auditlogs/{account}{query}` as `token`, which must be 200: the events.
async fn logs(server: &Server, token: &str, account: &str, query: &str) -> Vec<Value> {
    let path = format!("{}{query}", logs_path(account));
    let body = server
        .expect(Method::GET, &path, Some(token), None, StatusCode::OK)
        .await;
    assert_eq!(keys(&body), BTreeSet::from(["logs"]), "{path}: {body}");
    let logs = body["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: logs is not a list in {body}"))
        .clone();
    for log in &logs {
        assert_log_shape(log, account);
    }
    logs
}

/// Every event of `account` (fewer than 100), newest first, as `token` reads them.
async fn all_logs(server: &Server, token: &str, account: &str) -> Vec<Value> {
    logs(server, token, account, "?page_size=100").await
}

fn summary(log: &Value) -> Summary {
    (
        text(log, "action").to_string(),
        text(log, "name").to_string(),
        text(log, "actor").to_string(),
    )
}

fn summaries(logs: &[Value]) -> Vec<Summary> {
    logs.iter().map(summary).collect()
}

fn expected_summaries(events: &[(&str, &str, &str)]) -> Vec<Summary> {
    events
        .iter()
        .map(|(action, name, actor)| (action.to_string(), name.to_string(), actor.to_string()))
        .collect()
}

fn timestamp(log: &Value) -> OffsetDateTime {
    parse_time(&log["timestamp"])
}

/// Asserts that `logs` are exactly the events the store holds for `account`, in order:
/// every field, the time to the microsecond, and the token label of an event made with a
/// token in both `data` and the description.
async fn assert_as_stored(server: &Server, account: &str, logs: &[Value]) {
    let rows: Vec<AuditRow> = server.audit_events(account).await;
    assert_eq!(logs.len(), rows.len(), "{logs:#?}\n{rows:#?}");
    for (log, row) in logs.iter().zip(&rows) {
        assert_eq!(
            (
                text(log, "account"),
                text(log, "action"),
                text(log, "name"),
                text(log, "actor")
            ),
            (
                row.account.as_str(),
                row.action.as_str(),
                row.name.as_str(),
                row.actor.as_str()
            ),
            "{log}"
        );
        let stored = audit_data(row);
        assert_eq!(log["data"], stored, "{log}");
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.created_at) * 1_000).expect("time");
        assert_eq!(timestamp(log), at, "{log}");
        let description = text(log, "action_description");
        match &row.credential {
            Some(label) => {
                assert_eq!(log["data"]["token_label"], label.as_str(), "{log}");
                let suffix = format!(" (with the access token {label})");
                assert!(description.ends_with(&suffix), "{log}");
            }
            None => assert!(!description.contains("(with the access token"), "{log}"),
        }
    }
}

/// The events of `all` that `keep` keeps, which the filter `query` must return.
async fn assert_filter(w: &World, all: &[Value], query: &str, keep: impl Fn(&Value) -> bool) -> usize {
    let got = logs(&w.server, &w.owner, ORG, &format!("?page_size=100&{query}")).await;
    let expected: Vec<Value> = all.iter().filter(|log| keep(log)).cloned().collect();
    assert_eq!(got, expected, "filter {query}");
    got.len()
}

/// Asserts a 400 about `field` alone: the Hub error with `fields.{field}`.
fn assert_field_error(body: &Value, field: &str) {
    assert_hub_error(StatusCode::BAD_REQUEST, body, StatusCode::BAD_REQUEST);
    assert_eq!(keys(&body["fields"]), BTreeSet::from([field]), "fields of {body}");
    let messages = body["fields"][field]
        .as_array()
        .unwrap_or_else(|| panic!("fields.{field} is not a list in {body}"));
    assert!(
        !messages.is_empty() && messages.iter().all(Value::is_string),
        "messages of {field} in {body}"
    );
}

/// `GET path` as `token` must be a 400 about `field`.
async fn field_refused(server: &Server, token: &str, path: &str, field: &str) {
    let (status, body) = server.call(Method::GET, path, Some(token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    assert_field_error(&body, field);
}

/// Every audit event of `accounts`, as the store holds them.
async fn snapshot(server: &Server, accounts: &[&str]) -> Vec<Vec<AuditRow>> {
    let mut all = Vec::new();
    for account in accounts {
        all.push(server.audit_events(account).await);
    }
    all
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

async fn lists_the_action_catalogue(backend: Backend) {
    let (server, owner) = Server::start_as(&backend, OWNER).await;
    server.create_org(ORG, OWNER).await;
    let path = actions_path(ORG);
    let body = server
        .expect(Method::GET, &path, Some(&owner), None, StatusCode::OK)
        .await;
    assert_eq!(keys(&body), BTreeSet::from(["actions"]), "{body}");
    let groups = &body["actions"];
    assert_eq!(
        keys(groups),
        BTreeSet::from(["account", "enterprise", "org", "repo"]),
        "{body}"
    );
    for (group, label) in [
        ("account", "Account"),
        ("enterprise", "Enterprise"),
        ("org", "Organization"),
        ("repo", "Repository"),
    ] {
        let entry = &groups[group];
        assert_eq!(keys(entry), BTreeSet::from(["label", "actions"]), "{entry}");
        assert_eq!(entry["label"], label, "{entry}");
        let actions = entry["actions"]
            .as_array()
            .unwrap_or_else(|| panic!("actions of {group}: {entry}"));
        let mut names = BTreeSet::new();
        for action in actions {
            assert_eq!(
                keys(action),
                BTreeSet::from(["name", "description", "label"]),
                "{action}"
            );
            for field in ["name", "description", "label"] {
                assert!(!text(action, field).is_empty(), "empty {field}: {action}");
            }
            assert!(
                names.insert(text(action, "name")),
                "{group} lists twice: {action}"
            );
        }
        let expected: &[&str] = match group {
            "account" => &["create", "access_token.create"],
            "org" => &["create", "member.add", "team.create", "team.member.add"],
            "enterprise" => &["sso.connection.scim_token_refresh"],
            _ => &["create", "tag.push", "tag.delete", "delete"],
        };
        for name in expected {
            assert!(names.contains(name), "{group} has no {name}: {entry}");
        }
    }
    let tag_push = groups["repo"]["actions"]
        .as_array()
        .expect("repo actions")
        .iter()
        .find(|a| a["name"] == "tag.push")
        .expect("tag.push");
    assert_eq!(tag_push["label"], "Tag Pushed", "{tag_push}");

    // The same catalogue for a user's own account.
    let own = server
        .expect(
            Method::GET,
            &actions_path(OWNER),
            Some(&owner),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(own, body);
}

async fn lists_events_newest_first(backend: Backend) {
    let w = world(&backend).await;
    let all = all_logs(&w.server, &w.owner, ORG).await;
    assert_eq!(
        summaries(&all),
        expected_summaries(&[
            ("repo.create", API, OWNER),
            ("repo.tag.push", WEB, OWNER),
            ("repo.tag.push", WEB, OWNER),
            ("repo.create", WEB, OWNER),
            ("org.team.member.add", MEMBER, OWNER),
            ("org.team.create", TEAM, OWNER),
            ("org.member.add", EDITOR, ADMIN_CLI),
            ("org.member.add", MEMBER, ADMIN_CLI),
            ("org.create", ORG, ADMIN_CLI),
            ("org.member.add", OWNER, ADMIN_CLI),
        ]),
        "{all:#?}"
    );
    assert!(
        all.windows(2)
            .all(|pair| timestamp(&pair[0]) >= timestamp(&pair[1])),
        "not newest first: {all:#?}"
    );
    assert_as_stored(&w.server, ORG, &all).await;

    // The repository created with a PAT, in words and with the token's label.
    let api = &all[0];
    assert_eq!(api["data"]["token_label"], CREATE_TOKEN, "{api}");
    assert_eq!(
        api["action_description"],
        format!("created the repository {API} (with the access token {CREATE_TOKEN})"),
        "{api}"
    );
    // The tags pushed: with a PAT, then with a password.
    let (v2, v1) = (&all[1], &all[2]);
    assert_eq!(
        v2["data"],
        json!({"tag": "v2", "digest": w.v2, "token_label": PUSH_TOKEN}),
        "{v2}"
    );
    assert_eq!(
        v2["action_description"],
        format!(
            "pushed the tag v2 with the digest {} to the repository {WEB} (with the access token {PUSH_TOKEN})",
            w.v2
        ),
        "{v2}"
    );
    assert_eq!(v1["data"], json!({"tag": "v1", "digest": w.v1}), "{v1}");
    assert_eq!(
        v1["action_description"],
        format!(
            "pushed the tag v1 with the digest {} to the repository {WEB}",
            w.v1
        ),
        "{v1}"
    );
    assert_eq!(
        all[3]["action_description"],
        format!("created the repository {WEB}"),
        "{}",
        all[3]
    );
    assert_eq!(all[4]["data"]["team"], TEAM, "{}", all[4]);
    assert_eq!(all[5]["data"]["team"], TEAM, "{}", all[5]);

    // Every action logged is `group.name` of the catalogue.
    let catalogue = w
        .server
        .expect(
            Method::GET,
            &actions_path(ORG),
            Some(&w.owner),
            None,
            StatusCode::OK,
        )
        .await;
    let mut known = BTreeSet::new();
    for (group, entry) in catalogue["actions"].as_object().expect("groups") {
        for action in entry["actions"].as_array().expect("actions") {
            known.insert(format!("{group}.{}", text(action, "name")));
        }
    }

    // A user's own log: the account made with `wharf admin`, then the two PATs.
    let own = all_logs(&w.server, &w.owner, OWNER).await;
    assert_eq!(
        summaries(&own),
        expected_summaries(&[
            ("account.access_token.create", OWNER, OWNER),
            ("account.access_token.create", OWNER, OWNER),
            ("account.create", OWNER, ADMIN_CLI),
        ]),
        "{own:#?}"
    );
    assert_as_stored(&w.server, OWNER, &own).await;
    let bobs = all_logs(&w.server, &w.member, MEMBER).await;
    assert_eq!(
        summaries(&bobs),
        expected_summaries(&[("account.create", MEMBER, ADMIN_CLI)])
    );
    for log in all.iter().chain(&own).chain(&bobs) {
        assert!(known.contains(text(log, "action")), "not in the catalogue: {log}");
    }
}

async fn filters_events(backend: Backend) {
    let w = world(&backend).await;
    let all = all_logs(&w.server, &w.owner, ORG).await;
    assert_eq!(all.len(), 10, "{all:#?}");
    let is = |field: &'static str, value: &'static str| move |log: &Value| log[field] == value;

    assert_eq!(
        assert_filter(&w, &all, "action=repo.tag.push", is("action", "repo.tag.push")).await,
        2
    );
    assert_eq!(
        assert_filter(&w, &all, "action=repo.create", is("action", "repo.create")).await,
        2
    );
    assert_eq!(
        assert_filter(
            &w,
            &all,
            "action=org.team.create",
            is("action", "org.team.create")
        )
        .await,
        1
    );
    assert_eq!(
        assert_filter(&w, &all, "action=org.member.add", is("action", "org.member.add")).await,
        3
    );
    assert_eq!(
        assert_filter(&w, &all, &format!("name={WEB}"), is("name", WEB)).await,
        3
    );
    assert_eq!(
        assert_filter(&w, &all, &format!("name={MEMBER}"), is("name", MEMBER)).await,
        2
    );
    assert_eq!(
        assert_filter(&w, &all, &format!("actor={OWNER}"), is("actor", OWNER)).await,
        6
    );
    assert_eq!(
        assert_filter(&w, &all, &format!("actor={ADMIN_CLI}"), is("actor", ADMIN_CLI)).await,
        4
    );
    let both = format!("action=repo.tag.push&name={WEB}&actor={OWNER}");
    assert_eq!(
        assert_filter(&w, &all, &both, is("action", "repo.tag.push")).await,
        2
    );
    let pushed = logs(&w.server, &w.owner, ORG, "?action=repo.tag.push").await;
    assert_eq!(
        pushed
            .iter()
            .map(|log| log["data"]["tag"].clone())
            .collect::<Vec<_>>(),
        ["v2", "v1"],
        "newest first: {pushed:#?}"
    );

    // Nothing matches: an unknown action, name or actor.
    for query in [
        "action=repo.nosuchaction",
        "action=nonsense",
        "name=acme/nosuchrepo",
        "actor=nosuchuser",
        "action=repo.tag.push&actor=bobby",
    ] {
        assert_eq!(assert_filter(&w, &all, query, |_| false).await, 0);
    }

    // Time windows, inclusive at both ends, from the events' own timestamps.
    let at = |index: usize| text(&all[index], "timestamp").to_string();
    let (newer, middle, older) = (at(2), at(5), at(8));
    let (t_newer, t_middle, t_older) = (timestamp(&all[2]), timestamp(&all[5]), timestamp(&all[8]));
    let since = assert_filter(&w, &all, &format!("from={middle}"), |log| {
        timestamp(log) >= t_middle
    })
    .await;
    assert!((6..10).contains(&since), "from {middle}: {since}");
    let until = assert_filter(&w, &all, &format!("to={middle}"), |log| {
        timestamp(log) <= t_middle
    })
    .await;
    assert!((5..10).contains(&until), "to {middle}: {until}");
    let window = format!("from={older}&to={newer}");
    let inside = assert_filter(&w, &all, &window, |log| {
        (t_older..=t_newer).contains(&timestamp(log))
    })
    .await;
    assert!(inside >= 7, "{window}: {inside}");
    let instant = format!("from={middle}&to={middle}");
    let exact = assert_filter(&w, &all, &instant, |log| timestamp(log) == t_middle).await;
    assert!(exact >= 1, "{instant}: {exact}");
    // The same instant written with another offset.
    let shifted = t_middle
        .to_offset(UtcOffset::from_hms(2, 0, 0).expect("offset"))
        .format(&Rfc3339)
        .expect("format");
    assert!(shifted.contains("+02:00"), "{shifted}");
    let encoded = shifted.replace('+', "%2B");
    let same = assert_filter(&w, &all, &format!("from={encoded}"), |log| {
        timestamp(log) >= t_middle
    })
    .await;
    assert_eq!(same, since);
    let tags_until = format!("action=repo.tag.push&to={}", at(2));
    let first_push = assert_filter(&w, &all, &tags_until, |log| {
        log["action"] == "repo.tag.push" && timestamp(log) <= t_newer
    })
    .await;
    assert!(first_push >= 1, "{tags_until}: {first_push}");
    // Windows with no event in them.
    let tomorrow = rfc3339(OffsetDateTime::now_utc() + time::Duration::days(1));
    assert_eq!(
        assert_filter(&w, &all, &format!("from={tomorrow}"), |_| false).await,
        0
    );
    let long_ago = "from=2000-01-01T00:00:00Z&to=2000-12-31T23:59:59Z";
    assert_eq!(assert_filter(&w, &all, long_ago, |_| false).await, 0);
}

async fn pages_through_events(backend: Backend) {
    let w = world(&backend).await;
    let all = all_logs(&w.server, &w.owner, ORG).await;
    let count = all.len();
    assert_eq!(count, 10, "{all:#?}");

    // One event a page: each page the next event, none twice, then nothing.
    let mut walked = Vec::new();
    for page in 1..=count {
        let one = logs(&w.server, &w.owner, ORG, &format!("?page_size=1&page={page}")).await;
        assert_eq!(one.len(), 1, "page {page}: {one:#?}");
        walked.extend(one);
    }
    assert_eq!(walked, all);
    let past = logs(
        &w.server,
        &w.owner,
        ORG,
        &format!("?page_size=1&page={}", count + 1),
    )
    .await;
    assert!(past.is_empty(), "{past:#?}");

    // Three a page: 3, 3, 3, 1.
    let mut walked = Vec::new();
    for (page, expected) in [(1, 3), (2, 3), (3, 3), (4, 1), (5, 0)] {
        let some = logs(&w.server, &w.owner, ORG, &format!("?page_size=3&page={page}")).await;
        assert_eq!(some.len(), expected, "page {page}: {some:#?}");
        walked.extend(some);
    }
    assert_eq!(walked, all);

    // Paging a filter pages the filtered events.
    let first = logs(&w.server, &w.owner, ORG, "?action=repo.tag.push&page_size=1").await;
    let second = logs(
        &w.server,
        &w.owner,
        ORG,
        "?action=repo.tag.push&page_size=1&page=2",
    )
    .await;
    assert_eq!([first, second].concat(), vec![all[1].clone(), all[2].clone()]);

    // The default page is 25 events.
    assert_eq!(logs(&w.server, &w.owner, ORG, "").await, all);
    assert!(logs(&w.server, &w.owner, ORG, "?page=2").await.is_empty());
    let groups = format!("/v2/orgs/{ORG}/groups");
    for n in 0..20 {
        let team = Some(json!({"name": format!("team-{n:02}")}));
        w.server
            .expect(Method::POST, &groups, Some(&w.owner), team, StatusCode::CREATED)
            .await;
    }
    let all = all_logs(&w.server, &w.owner, ORG).await;
    assert_eq!(all.len(), 30);
    assert_eq!(all[0]["name"], "team-19", "{}", all[0]);
    let first = logs(&w.server, &w.owner, ORG, "").await;
    assert_eq!(first.as_slice(), &all[..25]);
    let second = logs(&w.server, &w.owner, ORG, "?page=2").await;
    assert_eq!(second.as_slice(), &all[25..]);
    let largest = logs(&w.server, &w.owner, ORG, "?page_size=100").await;
    assert_eq!(largest, all);
}

async fn refuses_malformed_queries(backend: Backend) {
    let (server, owner) = Server::start_as(&backend, OWNER).await;
    server.create_org(ORG, OWNER).await;
    let path = logs_path(ORG);
    for (query, field) in [
        ("?from=yesterday", "from"),
        ("?from=2024-01-31", "from"),
        ("?from=2024-13-01T00:00:00Z", "from"),
        ("?from=1706702400", "from"),
        ("?to=tomorrow", "to"),
        ("?to=2024-01-31T25:00:00Z", "to"),
        ("?action=repo.tag.push&to=31/01/2024", "to"),
        // `from` after `to`.
        ("?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from"),
    ] {
        field_refused(&server, &owner, &format!("{path}{query}"), field).await;
    }
    // A user's own log is parsed the same way.
    field_refused(&server, &owner, &format!("{}?to=never", logs_path(OWNER)), "to").await;

    // Paging; the empty values last, so a failure there does not hide the others.
    let mut paging: Vec<&str> = INVALID_PAGING.to_vec();
    paging.sort_by_key(|query| query.ends_with('='));
    for query in paging {
        let field = if query.starts_with("?page_size") {
            "page_size"
        } else {
            "page"
        };
        field_refused(&server, &owner, &format!("{path}{query}"), field).await;
    }
}

async fn who_may_read(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    let (pat_read, _) = s.pat_session(OWNER, &w.owner, "reader", &["repo:read"]).await;
    let (pat_write, _) = s.pat_session(OWNER, &w.owner, "writer", &["repo:write"]).await;
    let (pat_public, _) = s
        .pat_session(OWNER, &w.owner, "public", &["repo:public_read"])
        .await;
    let resources = |org: &str, scope: &str| json!([{"type": "TYPE_ORG", "path": org, "scopes": [scope]}]);
    let (oat_activity, _) = s
        .oat_session(&w.owner, ORG, resources(ORG, "scope-activity-read"))
        .await;
    let (oat_members, _) = s
        .oat_session(&w.owner, ORG, resources(ORG, "scope-member-read"))
        .await;
    s.create_org(OTHER_ORG, OUTSIDER).await;
    let (oat_other, _) = s
        .oat_session(
            &w.outsider,
            OTHER_ORG,
            resources(OTHER_ORG, "scope-activity-read"),
        )
        .await;
    let accounts = [ORG, OTHER_ORG, OWNER, MEMBER, OUTSIDER];
    let before = snapshot(s, &accounts).await;
    let org_log = all_logs(s, &w.owner, ORG).await;

    // An organization's log: its owners (with a password or a PAT of at least
    // `repo:read`) and its OATs with `scope-activity-read`.
    for path in [logs_path(ORG), actions_path(ORG)] {
        for token in [&w.owner, &pat_read, &pat_write, &oat_activity] {
            s.expect(Method::GET, &path, Some(token), None, StatusCode::OK)
                .await;
        }
        let refused = forbidden_and_anonymous(&[
            &pat_public,
            &oat_members,
            &oat_other,
            &w.member,
            &w.editor,
            &w.outsider,
        ]);
        s.refused_to(&refused, Method::GET, &path, None).await;
    }
    for token in [&pat_read, &oat_activity] {
        assert_eq!(all_logs(s, token, ORG).await, org_log);
    }
    for path in [logs_path(OTHER_ORG), actions_path(OTHER_ORG)] {
        for token in [&w.outsider, &oat_other] {
            s.expect(Method::GET, &path, Some(token), None, StatusCode::OK)
                .await;
        }
        let refused = forbidden_and_anonymous(&[&w.owner, &oat_activity]);
        s.refused_to(&refused, Method::GET, &path, None).await;
    }

    // A user's own log: with a password or any PAT; no one else, and no OAT.
    for path in [logs_path(OWNER), actions_path(OWNER)] {
        for token in [&w.owner, &pat_public, &pat_read] {
            s.expect(Method::GET, &path, Some(token), None, StatusCode::OK)
                .await;
        }
        let refused = forbidden_and_anonymous(&[&oat_activity, &w.member, &w.outsider]);
        s.refused_to(&refused, Method::GET, &path, None).await;
    }
    s.expect(
        Method::GET,
        &logs_path(MEMBER),
        Some(&w.member),
        None,
        StatusCode::OK,
    )
    .await;

    // No such account.
    for path in [logs_path(NO_SUCH_ACCOUNT), actions_path(NO_SUCH_ACCOUNT)] {
        s.refused(Method::GET, &path, Some(&w.owner), None, StatusCode::NOT_FOUND)
            .await;
    }

    // Reading, allowed or not, recorded nothing.
    assert_eq!(snapshot(s, &accounts).await, before);
    assert_eq!(all_logs(s, &w.owner, ORG).await, org_log);
}

async fn limits_queries_per_caller(backend: Backend) {
    let server = Server::start_with(&backend, &["--audit-rate-limit", "3"], &[]).await;
    let alice = server.user_with_token(OWNER).await;
    let bob = server.user_with_token(MEMBER).await;
    server.create_org(ORG, OWNER).await;
    let accounts = [ORG, OWNER, MEMBER];
    let before = snapshot(&server, &accounts).await;

    // Both endpoints, any account: three queries of alice's.
    for path in [logs_path(ORG), actions_path(ORG), logs_path(OWNER)] {
        server
            .expect(Method::GET, &path, Some(&alice), None, StatusCode::OK)
            .await;
    }
    for path in [logs_path(ORG), actions_path(ORG), logs_path(OWNER)] {
        let res = server.send(Method::GET, &path, Some(&alice), None).await;
        let retry_after = header(res.headers(), "retry-after").to_string();
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{path}: {body}");
        assert_eq!(
            body,
            json!({"detail": "Rate limit exceeded", "error": false}),
            "{path}"
        );
        let seconds: u64 = retry_after
            .parse()
            .unwrap_or_else(|_| panic!("{path}: Retry-After {retry_after:?}"));
        assert!((1..=60).contains(&seconds), "{path}: Retry-After {seconds}");
    }
    // Another caller is not limited by alice's queries; anonymous is still 401.
    server
        .expect(Method::GET, &logs_path(MEMBER), Some(&bob), None, StatusCode::OK)
        .await;
    server
        .refused(Method::GET, &logs_path(ORG), None, None, StatusCode::UNAUTHORIZED)
        .await;
    assert_eq!(snapshot(&server, &accounts).await, before);

    // By default, 60 a minute.
    let (server, alice) = Server::start_as(&backend, OWNER).await;
    let path = logs_path(OWNER);
    for _ in 0..60 {
        server
            .expect(Method::GET, &path, Some(&alice), None, StatusCode::OK)
            .await;
    }
    let res = server.send(Method::GET, &path, Some(&alice), None).await;
    assert!(!header(res.headers(), "retry-after").is_empty(), "no Retry-After");
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body, json!({"detail": "Rate limit exceeded", "error": false}));
}

/// With a retention period, the background job deletes the events older than it, and only
/// those.
async fn applies_the_retention_period(backend: Backend) {
    let args = ["--audit-retention-days", "1", "--housekeeping-interval", "1"];
    let server = Server::start_with(&backend, &args, &[]).await;
    server.create_user(OWNER).await;
    let store = wharf::store::Store::connect(&server.database_url())
        .await
        .expect("open store");
    let day = 86_400_000_000_i64;
    let now = wharf::store::now_micros();
    let mut tx = store.begin().await.expect("begin");
    for (name, at) in [("expired", now - 2 * day), ("kept", now - day / 2)] {
        let row = AuditRow {
            account: OWNER.into(),
            action: "account.password.change".into(),
            name: name.into(),
            actor: ADMIN_CLI.into(),
            credential: None,
            data: "{}".into(),
            created_at: at,
        };
        store.insert_audit(&mut tx, &row).await.expect("insert event");
    }
    wharf::store::commit(tx).await.expect("commit");
    let names = |events: Vec<AuditRow>| events.into_iter().map(|e| e.name).collect::<Vec<_>>();
    let mut left = names(store.recent_audit(OWNER, 10).await.expect("events"));
    for _ in 0..100 {
        if !left.iter().any(|name| name == "expired") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = names(store.recent_audit(OWNER, 10).await.expect("events"));
    }
    store.close().await;
    // The account's creation (now), and the event half a day old; not the one of two days.
    assert_eq!(left, [OWNER, "kept"], "events left after the retention job");
}

crate::both_backends!(
    lists_the_action_catalogue,
    lists_events_newest_first,
    filters_events,
    pages_through_events,
    refuses_malformed_queries,
    who_may_read,
    limits_queries_per_caller,
    applies_the_retention_period,
);
