//! `/v2/orgs/{org}/groups`: an organization's teams (the API calls them groups). Creating,
//! listing (paged, searched, by member), reading, replacing, patching and deleting them;
//! their members; the role a team grants; who may do each; and the audit trail of every
//! change. Every refused request is also checked to change nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wharf::store::AuditRow;

use crate::harness::{assert_hub_error, json, Backend, Server};

const ORG: &str = "acme";
const OWNER: &str = "olivia";
const MEMBER: &str = "mark";
const EDITOR: &str = "edith";
/// A user outside the organization.
const OUTSIDER: &str = "oscar";

/// Every field of a team (`org_group`).
const TEAM_FIELDS: [&str; 6] = ["id", "uuid", "name", "description", "member_count", "role"];
/// Every field of a team member (`group_member`).
const MEMBER_FIELDS: [&str; 11] = [
    "id",
    "username",
    "full_name",
    "type",
    "date_joined",
    "email",
    "company",
    "location",
    "profile_url",
    "gravatar_email",
    "gravatar_url",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A server with organization [`ORG`]: its owner, a member, an editor, and a user outside
/// it, each with a password session.
struct World {
    server: Server,
    owner: String,
    member: String,
    editor: String,
    outsider: String,
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
    World {
        server,
        owner,
        member,
        editor,
        outsider,
    }
}

fn groups() -> String {
    format!("/v2/orgs/{ORG}/groups")
}

fn group(name: &str) -> String {
    format!("/v2/orgs/{ORG}/groups/{name}")
}

fn group_members(name: &str) -> String {
    format!("/v2/orgs/{ORG}/groups/{name}/members")
}

fn group_member(team: &str, username: &str) -> String {
    format!("/v2/orgs/{ORG}/groups/{team}/members/{username}")
}

async fn call(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    json(server.send(method, path, token, body).await).await
}

/// A request that must succeed with `expected`; returns its body.
async fn ok(
    server: &Server,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    expected: StatusCode,
) -> Value {
    let (status, answer) = call(server, method.clone(), path, Some(token), body).await;
    assert_eq!(status, expected, "{method} {path}: {answer}");
    answer
}

/// A request that must be refused with `expected`, in the Hub error format.
async fn refused(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    expected: StatusCode,
) {
    let (status, answer) = call(server, method, path, token, body).await;
    assert_hub_error(status, &answer, expected);
}

async fn create_team(w: &World, body: Value) -> Value {
    ok(
        &w.server,
        Method::POST,
        &groups(),
        &w.owner,
        Some(body),
        StatusCode::CREATED,
    )
    .await
}

async fn get_team(w: &World, name: &str) -> Value {
    ok(
        &w.server,
        Method::GET,
        &group(name),
        &w.owner,
        None,
        StatusCode::OK,
    )
    .await
}

async fn add_to_team(w: &World, team: &str, username: &str) {
    let body = ok(
        &w.server,
        Method::POST,
        &group_members(team),
        &w.owner,
        Some(json!({"member": username})),
        StatusCode::OK,
    )
    .await;
    // The spec answers this route with 200 and no body at all.
    assert_eq!(body, Value::Null, "adding {username} to {team} has a body");
}

/// A PATCH of `team` by the owner that must succeed; returns the team.
async fn patch_team(w: &World, team: &str, body: Value) -> Value {
    ok(
        &w.server,
        Method::PATCH,
        &group(team),
        &w.owner,
        Some(body),
        StatusCode::OK,
    )
    .await
}

/// A PATCH of `team` by the owner that must be refused with `expected`.
async fn patch_refused(w: &World, team: &str, body: Value, expected: StatusCode) {
    refused(
        &w.server,
        Method::PATCH,
        &group(team),
        Some(&w.owner),
        Some(body),
        expected,
    )
    .await;
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

/// `count` and the team names of `GET groups{query}` as `token`.
async fn team_names(w: &World, token: &str, query: &str) -> (u64, Vec<String>) {
    let path = format!("{}{query}", groups());
    let page = ok(&w.server, Method::GET, &path, token, None, StatusCode::OK).await;
    (page["count"].as_u64().expect("count"), column(&page, "name"))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The events of [`ORG`] with `action`, newest first.
async fn events(server: &Server, action: &str) -> Vec<AuditRow> {
    server
        .audit_events(ORG)
        .await
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

fn data(event: &AuditRow) -> Value {
    serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("audit data not JSON ({e}): {}", event.data))
}

/// `username`'s entry in the organization's member list, as the owner sees it.
async fn member_entry(w: &World, username: &str) -> Value {
    let path = format!("/v2/orgs/{ORG}/members?search={username}");
    let page = ok(&w.server, Method::GET, &path, &w.owner, None, StatusCode::OK).await;
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|m| m["username"] == username)
        .unwrap_or_else(|| panic!("{username} not in {page}"))
        .clone()
}

fn assert_fields(item: &Value, fields: &[&str]) {
    let keys: Vec<&str> = item
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {item}"))
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = fields.to_vec();
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected, "fields of {item}");
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// Creating a team: the `org_group` shape, the audit event, name validation, duplicates,
/// and who may create one.
async fn create_team_shape_validation_and_rights(backend: Backend) {
    let w = world(&backend).await;
    let team = create_team(
        &w,
        json!({"name": "developers", "description": "Development team"}),
    )
    .await;
    assert_fields(&team, &TEAM_FIELDS);
    assert!(team["id"].is_i64(), "id is a number: {team}");
    uuid::Uuid::parse_str(team["uuid"].as_str().expect("uuid")).expect("uuid is a UUID");
    assert_eq!(team["name"], "developers");
    assert_eq!(team["description"], "Development team");
    assert_eq!(team["member_count"], 0);
    assert!(team["role"].is_null(), "a new team grants no role: {team}");
    assert_eq!(get_team(&w, "developers").await, team);

    let qa = create_team(&w, json!({"name": "qa"})).await;
    assert_eq!(qa["description"], "", "no description is an empty one");
    assert_ne!(qa["id"], team["id"]);
    assert_ne!(qa["uuid"], team["uuid"]);

    let created = events(&w.server, "org.team.create").await;
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(created[0].name, "qa");
    assert_eq!(created[1].name, "developers");
    assert_eq!(created[1].actor, OWNER);
    assert_eq!(created[1].credential, None);
    assert_eq!(data(&created[1])["team"], "developers");

    // The longest name allowed: 50 characters.
    let longest = "a".repeat(50);
    create_team(&w, json!({"name": longest})).await;

    let too_long = "a".repeat(51);
    for name in ["", "-dev", "dev team", too_long.as_str()] {
        let body = Some(json!({"name": name}));
        refused(
            &w.server,
            Method::POST,
            &groups(),
            Some(&w.owner),
            body,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    for body in [json!({"description": "no name"}), json!({"name": 7})] {
        refused(
            &w.server,
            Method::POST,
            &groups(),
            Some(&w.owner),
            Some(body),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    // A duplicate is a 400: the spec lists no 409 for this route.
    let duplicate = Some(json!({"name": "developers", "description": "other"}));
    refused(
        &w.server,
        Method::POST,
        &groups(),
        Some(&w.owner),
        duplicate,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        get_team(&w, "developers").await,
        team,
        "a duplicate changes nothing"
    );

    let attempt = || Some(json!({"name": "intruders"}));
    for token in [&w.member, &w.editor, &w.outsider] {
        refused(
            &w.server,
            Method::POST,
            &groups(),
            Some(token),
            attempt(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    refused(
        &w.server,
        Method::POST,
        &groups(),
        None,
        attempt(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let elsewhere = "/v2/orgs/nosuchorg/groups";
    refused(
        &w.server,
        Method::POST,
        elsewhere,
        Some(&w.owner),
        attempt(),
        StatusCode::NOT_FOUND,
    )
    .await;

    let (count, listed) = team_names(&w, &w.owner, "").await;
    assert_eq!(count, 3);
    assert_eq!(listed, vec![longest, "developers".into(), "qa".into()]);
    assert_eq!(
        events(&w.server, "org.team.create").await.len(),
        3,
        "refusals record nothing"
    );
}

/// Listing teams: paged and sorted by name, `search` on the name, `username` for one
/// member's teams; members and editors may read, outsiders may not.
async fn list_teams_paging_search_and_readers(backend: Backend) {
    let w = world(&backend).await;
    // Created out of order, to see the sorting.
    for name in ["zeta-ops", "alpha", "gamma", "beta_ops", "delta"] {
        create_team(&w, json!({"name": name})).await;
    }
    let all = names(&["alpha", "beta_ops", "delta", "gamma", "zeta-ops"]);
    assert_eq!(team_names(&w, &w.owner, "").await, (5, all.clone()));

    let first = ok(
        &w.server,
        Method::GET,
        &format!("{}?page_size=2", groups()),
        &w.owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["count"], 5);
    assert_eq!(column(&first, "name"), names(&["alpha", "beta_ops"]));
    assert!(first["previous"].is_null(), "{first}");
    let next = first["next"].as_str().expect("a next link");
    assert!(next.starts_with("http") && next.contains("page=2"), "{next}");
    assert_eq!(
        team_names(&w, &w.owner, "?page_size=2&page=2").await.1,
        names(&["delta", "gamma"])
    );
    let last = ok(
        &w.server,
        Method::GET,
        &format!("{}?page_size=2&page=3", groups()),
        &w.owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(column(&last, "name"), names(&["zeta-ops"]));
    assert!(last["next"].is_null() && last["previous"].is_string(), "{last}");

    assert_eq!(
        team_names(&w, &w.owner, "?search=ta").await,
        (3, names(&["beta_ops", "delta", "zeta-ops"]))
    );
    // `_` is a literal character, not a wildcard (it would match `zeta-ops` too).
    assert_eq!(
        team_names(&w, &w.owner, "?search=a_o").await,
        (1, names(&["beta_ops"]))
    );
    assert_eq!(team_names(&w, &w.owner, "?search=nothing").await, (0, vec![]));

    add_to_team(&w, "zeta-ops", MEMBER).await;
    add_to_team(&w, "alpha", MEMBER).await;
    add_to_team(&w, "gamma", EDITOR).await;
    assert_eq!(
        team_names(&w, &w.owner, &format!("?username={MEMBER}")).await,
        (2, names(&["alpha", "zeta-ops"]))
    );
    assert_eq!(
        team_names(&w, &w.owner, &format!("?username={EDITOR}")).await,
        (1, names(&["gamma"]))
    );
    assert_eq!(
        team_names(&w, &w.owner, &format!("?username={OWNER}")).await,
        (0, vec![])
    );
    assert_eq!(
        team_names(&w, &w.owner, "?username=nosuchuser").await,
        (0, vec![])
    );
    assert_eq!(
        team_names(&w, &w.owner, &format!("?username={MEMBER}&search=ze")).await,
        (1, names(&["zeta-ops"]))
    );

    // Members and editors read what the owner reads.
    for token in [&w.member, &w.editor] {
        assert_eq!(team_names(&w, token, "").await, (5, all.clone()));
        let alpha = ok(
            &w.server,
            Method::GET,
            &group("alpha"),
            token,
            None,
            StatusCode::OK,
        )
        .await;
        assert_eq!(alpha, get_team(&w, "alpha").await);
    }
    for path in [groups(), group("alpha")] {
        refused(
            &w.server,
            Method::GET,
            &path,
            Some(&w.outsider),
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
        refused(
            &w.server,
            Method::GET,
            &path,
            None,
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    refused(
        &w.server,
        Method::GET,
        "/v2/orgs/nosuchorg/groups",
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        &w.server,
        Method::GET,
        &group("nosuchteam"),
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// PUT replaces name and description; PATCH changes any of name, description and role;
/// only owners may do either; every change is audited, a rename with the old name.
async fn replace_and_patch_team(backend: Backend) {
    let w = world(&backend).await;
    let devs = create_team(&w, json!({"name": "devs", "description": "Developers"})).await;
    let ops = create_team(&w, json!({"name": "ops", "description": "Operations"})).await;

    // PUT requires a name.
    let nameless = Some(json!({"description": "no name"}));
    refused(
        &w.server,
        Method::PUT,
        &group("devs"),
        Some(&w.owner),
        nameless,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(get_team(&w, "devs").await, devs);

    let renamed = ok(
        &w.server,
        Method::PUT,
        &group("devs"),
        &w.owner,
        Some(json!({"name": "builders", "description": "Builds things"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["name"], "builders");
    assert_eq!(renamed["description"], "Builds things");
    assert_eq!(
        (&renamed["id"], &renamed["uuid"]),
        (&devs["id"], &devs["uuid"]),
        "the same team"
    );
    refused(
        &w.server,
        Method::GET,
        &group("devs"),
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(get_team(&w, "builders").await, renamed);

    let put = Some(json!({"name": "builders"}));
    let replaced = ok(
        &w.server,
        Method::PUT,
        &group("builders"),
        &w.owner,
        put,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        replaced["description"], "",
        "PUT without a description empties it"
    );

    let described = patch_team(&w, "builders", json!({"description": "Only the description"})).await;
    assert_eq!(described["name"], "builders");
    assert_eq!(described["description"], "Only the description");
    assert!(described["role"].is_null());
    // Roles are case-insensitive on the way in, lowercase on the way out.
    assert_eq!(
        patch_team(&w, "builders", json!({"role": "EDITOR"})).await["role"],
        "editor"
    );
    assert_eq!(get_team(&w, "builders").await["role"], "editor");
    let member_role = patch_team(&w, "builders", json!({"role": "Member"})).await;
    assert_eq!(member_role["role"], "member");
    assert_eq!(
        member_role["description"], "Only the description",
        "PATCH keeps what it omits"
    );

    // Owner is granted to members directly only; "admin" is no role at all.
    patch_refused(&w, "builders", json!({"role": "owner"}), StatusCode::BAD_REQUEST).await;
    patch_refused(&w, "builders", json!({"role": "admin"}), StatusCode::BAD_REQUEST).await;
    patch_refused(&w, "builders", json!({"name": "-bad"}), StatusCode::BAD_REQUEST).await;
    // Renaming onto another team's name is a 400, by PATCH as by PUT.
    patch_refused(&w, "builders", json!({"name": "ops"}), StatusCode::BAD_REQUEST).await;
    let onto_ops = Some(json!({"name": "ops", "description": "taken"}));
    refused(
        &w.server,
        Method::PUT,
        &group("builders"),
        Some(&w.owner),
        onto_ops,
        StatusCode::BAD_REQUEST,
    )
    .await;
    patch_refused(
        &w,
        "nosuchteam",
        json!({"description": "x"}),
        StatusCode::NOT_FOUND,
    )
    .await;
    let put_missing = Some(json!({"name": "nosuchteam"}));
    refused(
        &w.server,
        Method::PUT,
        &group("nosuchteam"),
        Some(&w.owner),
        put_missing,
        StatusCode::NOT_FOUND,
    )
    .await;
    let elsewhere = "/v2/orgs/nosuchorg/groups/builders";
    refused(
        &w.server,
        Method::PATCH,
        elsewhere,
        Some(&w.owner),
        Some(json!({"description": "x"})),
        StatusCode::NOT_FOUND,
    )
    .await;

    for token in [Some(&w.member), Some(&w.editor), Some(&w.outsider), None] {
        let expected = if token.is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        let token = token.map(String::as_str);
        let body = || Some(json!({"name": "taken", "description": "taken", "role": "editor"}));
        refused(
            &w.server,
            Method::PUT,
            &group("builders"),
            token,
            body(),
            expected,
        )
        .await;
        refused(
            &w.server,
            Method::PATCH,
            &group("builders"),
            token,
            body(),
            expected,
        )
        .await;
    }
    assert_eq!(
        get_team(&w, "builders").await,
        member_role,
        "refusals change nothing"
    );
    assert_eq!(get_team(&w, "ops").await, ops);

    let makers = patch_team(&w, "builders", json!({"name": "makers"})).await;
    assert_eq!(makers["name"], "makers");
    assert_eq!(makers["role"], "member");

    // Updates, newest first: the two renames carry the old name.
    let updates = events(&w.server, "org.team.update").await;
    let audited: Vec<(&str, Value)> = updates.iter().map(|e| (e.name.as_str(), data(e))).collect();
    assert_eq!(audited.len(), 6, "one event per successful update: {updates:?}");
    assert_eq!(audited[0].0, "makers");
    assert_eq!(audited[0].1["old_name"], "builders");
    assert_eq!(audited[0].1["team"], "makers");
    assert_eq!(audited[1].1["role"], "member");
    assert_eq!(audited[2].1["role"], "editor");
    for (name, data) in &audited[1..5] {
        assert_eq!(*name, "builders");
        assert!(data.get("old_name").is_none(), "no rename: {data}");
    }
    assert_eq!(audited[5].0, "builders");
    assert_eq!(audited[5].1["old_name"], "devs");
    assert!(updates.iter().all(|e| e.actor == OWNER));
}

/// Deleting a team removes it and its memberships; pending invites to it stay, without a
/// team; only owners may delete.
async fn delete_team(backend: Backend) {
    let w = world(&backend).await;
    w.server.create_user("bobby").await;
    create_team(&w, json!({"name": "devs"})).await;
    create_team(&w, json!({"name": "ops"})).await;
    add_to_team(&w, "devs", MEMBER).await;
    add_to_team(&w, "ops", MEMBER).await;
    let invite = json!({"org": ORG, "team": "devs", "invitees": ["bobby"]});
    ok(
        &w.server,
        Method::POST,
        "/v2/invites/bulk",
        &w.owner,
        Some(invite),
        StatusCode::ACCEPTED,
    )
    .await;

    for token in [Some(&w.member), Some(&w.editor), Some(&w.outsider), None] {
        let expected = if token.is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        refused(
            &w.server,
            Method::DELETE,
            &group("devs"),
            token.map(String::as_str),
            None,
            expected,
        )
        .await;
    }
    assert_eq!(
        get_team(&w, "devs").await["member_count"],
        1,
        "refusals change nothing"
    );

    let gone = ok(
        &w.server,
        Method::DELETE,
        &group("devs"),
        &w.owner,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(gone, Value::Null);
    refused(
        &w.server,
        Method::GET,
        &group("devs"),
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        &w.server,
        Method::DELETE,
        &group("devs"),
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        &w.server,
        Method::GET,
        &group_members("devs"),
        Some(&w.owner),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(team_names(&w, &w.owner, "").await, (1, names(&["ops"])));
    assert_eq!(member_entry(&w, MEMBER).await["groups"], json!(["ops"]));

    let invites = ok(
        &w.server,
        Method::GET,
        &format!("/v2/orgs/{ORG}/invites"),
        &w.owner,
        None,
        StatusCode::OK,
    )
    .await;
    let data_list = invites["data"].as_array().expect("data");
    assert_eq!(data_list.len(), 1, "{invites}");
    assert_eq!(data_list[0]["invitee"], "bobby");
    assert_eq!(data_list[0]["team"], "", "the invite stays, without its team");

    // A new team of the same name starts empty: the memberships went with the old one.
    let again = create_team(&w, json!({"name": "devs"})).await;
    assert_eq!(again["member_count"], 0);
    assert_eq!(member_entry(&w, MEMBER).await["groups"], json!(["ops"]));

    let deleted = events(&w.server, "org.team.delete").await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0].name, "devs");
    assert_eq!(deleted[0].actor, OWNER);
    assert_eq!(data(&deleted[0])["team"], "devs");
}

/// Adding, listing (shape, search, email visibility, paging) and removing team members.
async fn team_members(backend: Backend) {
    let w = world(&backend).await;
    create_team(&w, json!({"name": "devs"})).await;
    add_to_team(&w, "devs", MEMBER).await;
    assert_eq!(get_team(&w, "devs").await["member_count"], 1);
    // Adding someone already in the team is fine, and records nothing more.
    add_to_team(&w, "devs", MEMBER).await;
    assert_eq!(get_team(&w, "devs").await["member_count"], 1);
    assert_eq!(events(&w.server, "org.team.member.add").await.len(), 1);
    add_to_team(&w, "devs", OWNER).await;

    let add = |username: &str| Some(json!({"member": username}));
    // Outside the organization (they need an invite first), unknown, or no such team.
    for username in [OUTSIDER, "nosuchuser"] {
        refused(
            &w.server,
            Method::POST,
            &group_members("devs"),
            Some(&w.owner),
            add(username),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    refused(
        &w.server,
        Method::POST,
        &group_members("nosuchteam"),
        Some(&w.owner),
        add(EDITOR),
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        &w.server,
        Method::POST,
        &group_members("devs"),
        Some(&w.owner),
        Some(json!({})),
        StatusCode::BAD_REQUEST,
    )
    .await;
    for token in [Some(&w.member), Some(&w.editor), Some(&w.outsider), None] {
        let expected = if token.is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        let token = token.map(String::as_str);
        refused(
            &w.server,
            Method::POST,
            &group_members("devs"),
            token,
            add(EDITOR),
            expected,
        )
        .await;
        refused(
            &w.server,
            Method::DELETE,
            &group_member("devs", MEMBER),
            token,
            None,
            expected,
        )
        .await;
    }
    assert_eq!(
        get_team(&w, "devs").await["member_count"],
        2,
        "refusals change nothing"
    );

    let page = ok(
        &w.server,
        Method::GET,
        &group_members("devs"),
        &w.owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["count"], 2);
    assert_eq!(column(&page, "username"), names(&[MEMBER, OWNER]));
    let mark = &page["results"][0];
    assert_fields(mark, &MEMBER_FIELDS);
    assert_eq!(mark["type"], "User");
    assert_eq!(
        mark["email"],
        format!("{MEMBER}@example.com"),
        "owners see emails"
    );
    let id = mark["id"].as_str().expect("id");
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "a UUID without dashes: {id}"
    );
    assert!(
        mark["date_joined"].as_str().is_some_and(|d| !d.is_empty()),
        "{mark}"
    );
    assert!(
        mark["profile_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/u/{MEMBER}"))),
        "{mark}"
    );

    // Members and editors read the list, without anyone's email.
    for token in [&w.member, &w.editor] {
        let seen = ok(
            &w.server,
            Method::GET,
            &group_members("devs"),
            token,
            None,
            StatusCode::OK,
        )
        .await;
        assert_eq!(column(&seen, "username"), names(&[MEMBER, OWNER]));
        assert_eq!(column(&seen, "email"), names(&["", ""]), "only owners see emails");
    }
    refused(
        &w.server,
        Method::GET,
        &group_members("devs"),
        Some(&w.outsider),
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    refused(
        &w.server,
        Method::GET,
        &group_members("devs"),
        None,
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let search = |token: &str, query: &str| {
        let path = format!("{}{query}", group_members("devs"));
        let token = token.to_string();
        let server = &w.server;
        async move {
            column(
                &ok(server, Method::GET, &path, &token, None, StatusCode::OK).await,
                "username",
            )
        }
    };
    assert_eq!(search(&w.owner, "?search=mar").await, names(&[MEMBER]));
    assert_eq!(search(&w.owner, "?search=nobody").await, Vec::<String>::new());
    // Only the owner, who sees emails, may find someone by email.
    assert_eq!(
        search(&w.owner, &format!("?search={MEMBER}@example")).await,
        names(&[MEMBER])
    );
    assert_eq!(
        search(&w.member, &format!("?search={MEMBER}@example")).await,
        Vec::<String>::new()
    );
    let paged = ok(
        &w.server,
        Method::GET,
        &format!("{}?page_size=1", group_members("devs")),
        &w.owner,
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (paged["count"].as_u64(), column(&paged, "username")),
        (Some(2), names(&[MEMBER]))
    );
    assert!(paged["next"].is_string(), "{paged}");

    let removed = ok(
        &w.server,
        Method::DELETE,
        &group_member("devs", MEMBER),
        &w.owner,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(removed, Value::Null);
    assert_eq!(get_team(&w, "devs").await["member_count"], 1);
    for path in [
        group_member("devs", MEMBER),
        group_member("devs", "nosuchuser"),
        group_member("nosuchteam", OWNER),
    ] {
        refused(
            &w.server,
            Method::DELETE,
            &path,
            Some(&w.owner),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    assert_eq!(search(&w.owner, "").await, names(&[OWNER]));

    let added = events(&w.server, "org.team.member.add").await;
    let added: Vec<(&str, Value)> = added.iter().map(|e| (e.name.as_str(), data(e))).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    assert_eq!((added[0].0, &added[0].1["team"]), (OWNER, &json!("devs")));
    assert_eq!((added[1].0, &added[1].1["team"]), (MEMBER, &json!("devs")));
    let removed = events(&w.server, "org.team.member.remove").await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0].name, MEMBER);
    assert_eq!(removed[0].actor, OWNER);
    assert_eq!(data(&removed[0])["team"], "devs");
}

/// A team's role raises its members' effective role (never lowers it), for as long as they
/// are in the team.
async fn team_role_raises_effective_role(backend: Backend) {
    let w = world(&backend).await;
    create_team(&w, json!({"name": "devs"})).await;
    let patch = |role: &str| patch_team(&w, "devs", json!({"role": role}));
    patch("editor").await;
    assert_eq!(member_entry(&w, MEMBER).await["role"], "Member");

    add_to_team(&w, "devs", MEMBER).await;
    add_to_team(&w, "devs", OWNER).await;
    let mark = member_entry(&w, MEMBER).await;
    assert_eq!(mark["role"], "Editor", "{mark}");
    assert_eq!(mark["groups"], json!(["devs"]));
    assert_eq!(
        member_entry(&w, OWNER).await["role"],
        "Owner",
        "a team never lowers a role"
    );

    patch("member").await;
    assert_eq!(member_entry(&w, MEMBER).await["role"], "Member");
    assert_eq!(member_entry(&w, OWNER).await["role"], "Owner");
    patch("editor").await;
    assert_eq!(member_entry(&w, MEMBER).await["role"], "Editor");

    ok(
        &w.server,
        Method::DELETE,
        &group_member("devs", MEMBER),
        &w.owner,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let mark = member_entry(&w, MEMBER).await;
    assert_eq!(mark["role"], "Member", "out of the team, back to the direct role");
    assert_eq!(mark["groups"], json!([]));
}

crate::both_backends!(
    create_team_shape_validation_and_rights,
    list_teams_paging_search_and_readers,
    replace_and_patch_team,
    delete_team,
    team_members,
    team_role_raises_effective_role,
);
