//! `/v2/orgs/{org}/groups`: an organization's teams (the API calls them groups). Creating,
//! listing (paged, searched, by member), reading, replacing, patching and deleting them;
//! their members; the role a team grants; who may do each; and the audit trail of every
//! change. Every refused request is also checked to change nothing.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wharf::store::AuditRow;

use crate::harness::{audit_data, forbidden_and_anonymous, keys, Backend, Server};

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

/// A request of the owner's that must answer `expected`; returns its body.
async fn as_owner(w: &World, method: Method, path: &str, body: Option<Value>, expected: StatusCode) -> Value {
    w.server
        .expect(method, path, Some(&w.owner), body, expected)
        .await
}

/// A request of the owner's that must be refused with `expected`.
async fn owner_refused(w: &World, method: Method, path: &str, body: Option<Value>, expected: StatusCode) {
    w.server
        .refused(method, path, Some(&w.owner), body, expected)
        .await;
}

/// Everyone but the owner, each with the status they are refused with.
fn non_owners(w: &World) -> Vec<(Option<&str>, StatusCode)> {
    forbidden_and_anonymous(&[&w.member, &w.editor, &w.outsider])
}

/// Those outside the organization, each with the status they are refused with.
fn strangers(w: &World) -> Vec<(Option<&str>, StatusCode)> {
    forbidden_and_anonymous(&[&w.outsider])
}

/// `GET path` as `token`, which must be 200; returns the body.
async fn read(w: &World, token: &str, path: &str) -> Value {
    w.server
        .expect(Method::GET, path, Some(token), None, StatusCode::OK)
        .await
}

async fn create_team(w: &World, body: Value) -> Value {
    as_owner(w, Method::POST, &groups(), Some(body), StatusCode::CREATED).await
}

async fn get_team(w: &World, name: &str) -> Value {
    read(w, &w.owner, &group(name)).await
}

async fn add_to_team(w: &World, team: &str, username: &str) {
    let add = Some(json!({"member": username}));
    let body = as_owner(w, Method::POST, &group_members(team), add, StatusCode::OK).await;
    // The spec answers this route with 200 and no body at all.
    assert_eq!(body, Value::Null, "adding {username} to {team} has a body");
}

/// A PATCH of `team` by the owner that must succeed; returns the team.
async fn patch_team(w: &World, team: &str, body: Value) -> Value {
    as_owner(w, Method::PATCH, &group(team), Some(body), StatusCode::OK).await
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

/// The usernames of `GET groups/devs/members{query}` as `token`.
async fn devs_usernames(w: &World, token: &str, query: &str) -> Vec<String> {
    let page = read(w, token, &format!("{}{query}", group_members("devs"))).await;
    column(&page, "username")
}

/// `count` and the team names of `GET groups{query}` as `token`.
async fn team_names(w: &World, token: &str, query: &str) -> (u64, Vec<String>) {
    let page = read(w, token, &format!("{}{query}", groups())).await;
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

/// `username`'s entry in the organization's member list, as the owner sees it.
async fn member_entry(w: &World, username: &str) -> Value {
    let page = read(w, &w.owner, &format!("/v2/orgs/{ORG}/members?search={username}")).await;
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|m| m["username"] == username)
        .unwrap_or_else(|| panic!("{username} not in {page}"))
        .clone()
}

fn assert_fields(item: &Value, fields: &[&str]) {
    let expected = BTreeSet::from_iter(fields.iter().copied());
    assert_eq!(keys(item), expected, "fields of {item}");
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
    assert_eq!(audit_data(&created[1])["team"], "developers");

    // The longest name allowed: 50 characters.
    let longest = "a".repeat(50);
    create_team(&w, json!({"name": longest})).await;

    let too_long = "a".repeat(51);
    for body in [
        json!({"name": ""}),
        json!({"name": "-dev"}),
        json!({"name": "dev team"}),
        json!({"name": too_long}),
        json!({"description": "no name"}),
        json!({"name": 7}),
        // A duplicate is a 400: the spec lists no 409 for this route.
        json!({"name": "developers", "description": "other"}),
    ] {
        owner_refused(&w, Method::POST, &groups(), Some(body), StatusCode::BAD_REQUEST).await;
    }
    assert_eq!(
        get_team(&w, "developers").await,
        team,
        "a duplicate changes nothing"
    );

    let attempt = Some(json!({"name": "intruders"}));
    w.server
        .refused_to(&non_owners(&w), Method::POST, &groups(), attempt.clone())
        .await;
    let elsewhere = "/v2/orgs/nosuchorg/groups";
    owner_refused(&w, Method::POST, elsewhere, attempt, StatusCode::NOT_FOUND).await;

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

    let first = read(&w, &w.owner, &format!("{}?page_size=2", groups())).await;
    assert_eq!(first["count"], 5);
    assert_eq!(column(&first, "name"), names(&["alpha", "beta_ops"]));
    assert!(first["previous"].is_null(), "{first}");
    let next = first["next"].as_str().expect("a next link");
    assert!(next.starts_with("http") && next.contains("page=2"), "{next}");
    assert_eq!(
        team_names(&w, &w.owner, "?page_size=2&page=2").await.1,
        names(&["delta", "gamma"])
    );
    let last = read(&w, &w.owner, &format!("{}?page_size=2&page=3", groups())).await;
    assert_eq!(column(&last, "name"), names(&["zeta-ops"]));
    assert!(last["next"].is_null() && last["previous"].is_string(), "{last}");

    add_to_team(&w, "zeta-ops", MEMBER).await;
    add_to_team(&w, "alpha", MEMBER).await;
    add_to_team(&w, "gamma", EDITOR).await;
    for (query, expected) in [
        (
            "?search=ta".to_string(),
            names(&["beta_ops", "delta", "zeta-ops"]),
        ),
        // `_` is a literal character, not a wildcard (it would match `zeta-ops` too).
        ("?search=a_o".to_string(), names(&["beta_ops"])),
        ("?search=nothing".to_string(), vec![]),
        (format!("?username={MEMBER}"), names(&["alpha", "zeta-ops"])),
        (format!("?username={EDITOR}"), names(&["gamma"])),
        (format!("?username={OWNER}"), vec![]),
        ("?username=nosuchuser".to_string(), vec![]),
        (format!("?username={MEMBER}&search=ze"), names(&["zeta-ops"])),
    ] {
        let count = expected.len() as u64;
        assert_eq!(
            team_names(&w, &w.owner, &query).await,
            (count, expected),
            "{query}"
        );
    }

    // Members and editors read what the owner reads.
    for token in [&w.member, &w.editor] {
        assert_eq!(team_names(&w, token, "").await, (5, all.clone()));
        let alpha = read(&w, token, &group("alpha")).await;
        assert_eq!(alpha, get_team(&w, "alpha").await);
    }
    for path in [groups(), group("alpha")] {
        w.server
            .refused_to(&strangers(&w), Method::GET, &path, None)
            .await;
    }
    for path in ["/v2/orgs/nosuchorg/groups".to_string(), group("nosuchteam")] {
        owner_refused(&w, Method::GET, &path, None, StatusCode::NOT_FOUND).await;
    }
}

/// PUT replaces name and description; PATCH changes any of name, description and role;
/// only owners may do either; every change is audited, a rename with the old name.
async fn replace_and_patch_team(backend: Backend) {
    let w = world(&backend).await;
    let devs = create_team(&w, json!({"name": "devs", "description": "Developers"})).await;
    let ops = create_team(&w, json!({"name": "ops", "description": "Operations"})).await;

    // PUT requires a name.
    let nameless = Some(json!({"description": "no name"}));
    owner_refused(&w, Method::PUT, &group("devs"), nameless, StatusCode::BAD_REQUEST).await;
    assert_eq!(get_team(&w, "devs").await, devs);

    let put = Some(json!({"name": "builders", "description": "Builds things"}));
    let renamed = as_owner(&w, Method::PUT, &group("devs"), put, StatusCode::OK).await;
    assert_eq!(renamed["name"], "builders");
    assert_eq!(renamed["description"], "Builds things");
    assert_eq!(
        (&renamed["id"], &renamed["uuid"]),
        (&devs["id"], &devs["uuid"]),
        "the same team"
    );
    owner_refused(&w, Method::GET, &group("devs"), None, StatusCode::NOT_FOUND).await;
    assert_eq!(get_team(&w, "builders").await, renamed);

    let put = Some(json!({"name": "builders"}));
    let replaced = as_owner(&w, Method::PUT, &group("builders"), put, StatusCode::OK).await;
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

    let builders = group("builders");
    // Owner is granted to members directly only; "admin" is no role at all; renaming onto
    // another team's name is a 400, by PATCH as by PUT.
    for (method, body) in [
        (Method::PATCH, json!({"role": "owner"})),
        (Method::PATCH, json!({"role": "admin"})),
        (Method::PATCH, json!({"name": "-bad"})),
        (Method::PATCH, json!({"name": "ops"})),
        (Method::PUT, json!({"name": "ops", "description": "taken"})),
    ] {
        owner_refused(&w, method, &builders, Some(body), StatusCode::BAD_REQUEST).await;
    }
    let elsewhere = "/v2/orgs/nosuchorg/groups/builders".to_string();
    for (method, path, body) in [
        (Method::PATCH, group("nosuchteam"), json!({"description": "x"})),
        (Method::PUT, group("nosuchteam"), json!({"name": "nosuchteam"})),
        (Method::PATCH, elsewhere, json!({"description": "x"})),
    ] {
        owner_refused(&w, method, &path, Some(body), StatusCode::NOT_FOUND).await;
    }

    let taken = Some(json!({"name": "taken", "description": "taken", "role": "editor"}));
    for method in [Method::PUT, Method::PATCH] {
        w.server
            .refused_to(&non_owners(&w), method, &builders, taken.clone())
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
    let audited: Vec<(&str, Value)> = updates.iter().map(|e| (e.name.as_str(), audit_data(e))).collect();
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
    let invite = Some(json!({"org": ORG, "team": "devs", "invitees": ["bobby"]}));
    as_owner(&w, Method::POST, "/v2/invites/bulk", invite, StatusCode::ACCEPTED).await;

    w.server
        .refused_to(&non_owners(&w), Method::DELETE, &group("devs"), None)
        .await;
    assert_eq!(
        get_team(&w, "devs").await["member_count"],
        1,
        "refusals change nothing"
    );

    let gone = as_owner(&w, Method::DELETE, &group("devs"), None, StatusCode::NO_CONTENT).await;
    assert_eq!(gone, Value::Null);
    for (method, path) in [
        (Method::GET, group("devs")),
        (Method::DELETE, group("devs")),
        (Method::GET, group_members("devs")),
    ] {
        owner_refused(&w, method, &path, None, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(team_names(&w, &w.owner, "").await, (1, names(&["ops"])));
    assert_eq!(member_entry(&w, MEMBER).await["groups"], json!(["ops"]));

    let invites = read(&w, &w.owner, &format!("/v2/orgs/{ORG}/invites")).await;
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
    assert_eq!(audit_data(&deleted[0])["team"], "devs");
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

    let add = |username: &str| json!({"member": username});
    // Outside the organization (they need an invite first), unknown, or no such team; and
    // no member named at all.
    for (team, body, expected) in [
        ("devs", add(OUTSIDER), StatusCode::NOT_FOUND),
        ("devs", add("nosuchuser"), StatusCode::NOT_FOUND),
        ("nosuchteam", add(EDITOR), StatusCode::NOT_FOUND),
        ("devs", json!({}), StatusCode::BAD_REQUEST),
    ] {
        owner_refused(&w, Method::POST, &group_members(team), Some(body), expected).await;
    }
    let callers = non_owners(&w);
    w.server
        .refused_to(&callers, Method::POST, &group_members("devs"), Some(add(EDITOR)))
        .await;
    w.server
        .refused_to(&callers, Method::DELETE, &group_member("devs", MEMBER), None)
        .await;
    assert_eq!(
        get_team(&w, "devs").await["member_count"],
        2,
        "refusals change nothing"
    );

    let page = read(&w, &w.owner, &group_members("devs")).await;
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
    w.server.assert_account_fields(mark, MEMBER);

    // Members and editors read the list, without anyone's email.
    for token in [&w.member, &w.editor] {
        let seen = read(&w, token, &group_members("devs")).await;
        assert_eq!(column(&seen, "username"), names(&[MEMBER, OWNER]));
        assert_eq!(column(&seen, "email"), names(&["", ""]), "only owners see emails");
    }
    w.server
        .refused_to(&strangers(&w), Method::GET, &group_members("devs"), None)
        .await;

    let by_email = format!("?search={MEMBER}@example");
    for (token, query, expected) in [
        (&w.owner, "?search=mar", names(&[MEMBER])),
        (&w.owner, "?search=nobody", vec![]),
        // Only the owner, who sees emails, may find someone by email.
        (&w.owner, &by_email, names(&[MEMBER])),
        (&w.member, &by_email, vec![]),
    ] {
        assert_eq!(devs_usernames(&w, token, query).await, expected, "{query}");
    }
    let paged = read(&w, &w.owner, &format!("{}?page_size=1", group_members("devs"))).await;
    assert_eq!(
        (paged["count"].as_u64(), column(&paged, "username")),
        (Some(2), names(&[MEMBER]))
    );
    assert!(paged["next"].is_string(), "{paged}");

    let path = group_member("devs", MEMBER);
    let removed = as_owner(&w, Method::DELETE, &path, None, StatusCode::NO_CONTENT).await;
    assert_eq!(removed, Value::Null);
    assert_eq!(get_team(&w, "devs").await["member_count"], 1);
    for path in [
        group_member("devs", MEMBER),
        group_member("devs", "nosuchuser"),
        group_member("nosuchteam", OWNER),
    ] {
        owner_refused(&w, Method::DELETE, &path, None, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(devs_usernames(&w, &w.owner, "").await, names(&[OWNER]));

    let added = events(&w.server, "org.team.member.add").await;
    let added: Vec<(&str, Value)> = added.iter().map(|e| (e.name.as_str(), audit_data(e))).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    assert_eq!((added[0].0, &added[0].1["team"]), (OWNER, &json!("devs")));
    assert_eq!((added[1].0, &added[1].1["team"]), (MEMBER, &json!("devs")));
    let removed = events(&w.server, "org.team.member.remove").await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0].name, MEMBER);
    assert_eq!(removed[0].actor, OWNER);
    assert_eq!(audit_data(&removed[0])["team"], "devs");
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

    let path = group_member("devs", MEMBER);
    as_owner(&w, Method::DELETE, &path, None, StatusCode::NO_CONTENT).await;
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
