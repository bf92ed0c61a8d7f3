//! `/v2/orgs/{org}/members`: the members list (shape, effective roles, email visibility,
//! paging, search, role filter, pending invitees), the CSV export, role changes and
//! removal. Refused requests are checked to change nothing, and every change to leave its
//! audit event in the organization's log.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wharf::store::AuditRow;

use crate::harness::{
    assert_hub_error, audit_data, forbidden_and_anonymous, keys, Backend, Server, INVALID_PAGING, PASSWORD,
};

/// The organization of these tests.
const ORG: &str = "acme";
/// Its first owner.
const OWNER: &str = "alice";
/// Every field of an `org_member`.
const MEMBER_FIELDS: [&str; 15] = [
    "id",
    "username",
    "full_name",
    "company",
    "location",
    "profile_url",
    "gravatar_email",
    "gravatar_url",
    "type",
    "date_joined",
    "email",
    "role",
    "groups",
    "is_guest",
    "primary_email",
];
const CSV_HEADER: &str = "Name,Username,Email,Type,Role,Teams,Date Joined";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The users of an organization, by name and role; [`OWNER`] owns it.
struct Org {
    server: Server,
    owner: String,
}

impl Org {
    /// A server with [`ORG`] owned by [`OWNER`], and `others` as `"username:role"` members
    /// (a bare username: a user outside the organization). Returns each one's session, in
    /// the order given.
    async fn start<const N: usize>(backend: &Backend, others: [&str; N]) -> (Org, [String; N]) {
        let server = Server::start(backend).await;
        let owner = server.user_with_token(OWNER).await;
        server.create_org(ORG, OWNER).await;
        let mut sessions = Vec::new();
        for other in others {
            let (name, role) = other.split_once(':').map_or((other, None), |(n, r)| (n, Some(r)));
            sessions.push(server.user_with_token(name).await);
            if let Some(role) = role {
                server.add_org_member(ORG, name, role).await;
            }
        }
        let sessions = sessions.try_into().expect("one session per user");
        (Org { server, owner }, sessions)
    }

    /// `GET /v2/orgs/ORG/members{query}` as `token`.
    async fn list(&self, token: Option<&str>, query: &str) -> (StatusCode, Value) {
        self.server
            .call(Method::GET, &members_path(query), token, None)
            .await
    }

    /// A members page that must be 200.
    async fn list_ok(&self, token: &str, query: &str) -> Value {
        self.server
            .expect(
                Method::GET,
                &members_path(query),
                Some(token),
                None,
                StatusCode::OK,
            )
            .await
    }

    /// `GET /v2/orgs/ORG/members{query}` as `token`, which must be refused with `expected`.
    async fn list_refused(&self, token: Option<&str>, query: &str, expected: StatusCode) {
        self.server
            .refused(Method::GET, &members_path(query), token, None, expected)
            .await;
    }

    /// `GET path` as `token`, which must be 200; returns the body.
    async fn read(&self, token: &str, path: &str) -> Value {
        self.server
            .expect(Method::GET, path, Some(token), None, StatusCode::OK)
            .await
    }

    /// Gives `username` `role` as `token`, which must succeed; returns the member.
    async fn set_role(&self, token: &str, username: &str, role: &str) -> Value {
        let body = Some(json!({"role": role}));
        self.server
            .expect(
                Method::PUT,
                &member_path(username),
                Some(token),
                body,
                StatusCode::OK,
            )
            .await
    }

    /// Removes `username` as `token`, which must succeed with no body.
    async fn remove(&self, token: &str, username: &str) {
        let path = member_path(username);
        let body = self
            .server
            .expect(Method::DELETE, &path, Some(token), None, StatusCode::NO_CONTENT)
            .await;
        assert_eq!(body, Value::Null, "a 204 has no body");
    }

    /// A request of the owner's that must answer `expected`; returns its body.
    async fn as_owner(&self, method: Method, path: &str, body: Option<Value>, expected: StatusCode) -> Value {
        self.server
            .expect(method, path, Some(&self.owner), body, expected)
            .await
    }

    /// `(username, role)` of every member, as the owner sees them.
    async fn roles(&self) -> Vec<(String, String)> {
        self.roles_as(&self.owner).await
    }

    /// `(username, role)` of every member, as `token` sees them.
    async fn roles_as(&self, token: &str) -> Vec<(String, String)> {
        let page = self.list_ok(token, "?page_size=100").await;
        results(&page)
            .iter()
            .map(|m| (text(m, "username").to_string(), text(m, "role").to_string()))
            .collect()
    }

    /// What a refused request must leave as it was: the members (with roles and teams)
    /// and the organization's audit log.
    async fn snapshot(&self) -> (Value, Vec<AuditRow>) {
        self.snapshot_as(&self.owner).await
    }

    /// [`Org::snapshot`], the members as `token` (an owner) lists them.
    async fn snapshot_as(&self, token: &str) -> (Value, Vec<AuditRow>) {
        (
            self.list_ok(token, "?page_size=100").await["results"].clone(),
            self.server.audit_events(ORG).await,
        )
    }

    async fn create_team(&self, team: &str, members: &[&str]) {
        let groups = format!("/v2/orgs/{ORG}/groups");
        let body = Some(json!({"name": team}));
        self.as_owner(Method::POST, &groups, body, StatusCode::CREATED)
            .await;
        for member in members {
            let body = Some(json!({"member": member}));
            let path = format!("{groups}/{team}/members");
            self.as_owner(Method::POST, &path, body, StatusCode::OK).await;
        }
    }

    /// The team `team` as the owner reads it.
    async fn team(&self, team: &str) -> Value {
        self.read(&self.owner, &format!("/v2/orgs/{ORG}/groups/{team}"))
            .await
    }

    /// Sets a user's full name in the store: the API has no way to change it yet.
    async fn set_full_name(&self, username: &str, full_name: &str) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.server.database_url())
            .await
            .expect("open the store");
        let done = sqlx::query("UPDATE users SET full_name = $1 WHERE username = $2")
            .bind(full_name)
            .bind(username)
            .execute(&mut conn)
            .await
            .expect("set full name");
        assert_eq!(done.rows_affected(), 1, "no user {username}");
        conn.close().await.expect("close the store");
    }

    /// A session of an organization access token of [`ORG`] with `scope`.
    async fn oat(&self, scope: &str) -> String {
        let resources = json!([{"type": "TYPE_ORG", "path": ORG, "scopes": [scope]}]);
        self.server.oat_session(&self.owner, ORG, resources).await.0
    }
}

/// A session opened with a new PAT of `username` (session `session`) with `scope`.
async fn pat_session(server: &Server, username: &str, session: &str, scope: &str) -> String {
    server.pat_session(username, session, scope, &[scope]).await.0
}

fn members_path(query: &str) -> String {
    format!("/v2/orgs/{ORG}/members{query}")
}

fn member_path(username: &str) -> String {
    format!("/v2/orgs/{ORG}/members/{username}")
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field} in {value}"))
}

fn results(page: &Value) -> &Vec<Value> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
}

fn usernames(page: &Value) -> Vec<&str> {
    results(page).iter().map(|m| text(m, "username")).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Asserts that `member` is `username` with `role` and `groups`, in the `org_member`
/// shape, with the email shown or blanked.
fn assert_member(
    server: &Server,
    member: &Value,
    username: &str,
    role: &str,
    groups: &[&str],
    email_shown: bool,
) {
    assert_eq!(keys(member), BTreeSet::from(MEMBER_FIELDS), "fields of {member}");
    server.assert_account_fields(member, username);
    assert_eq!(member["username"], username);
    assert_eq!(member["role"], role, "{member}");
    assert_eq!(member["groups"], json!(groups), "{member}");
    assert_eq!(member["type"], "User");
    assert_eq!(member["is_guest"], false);
    let email = if email_shown {
        format!("{username}@example.com")
    } else {
        String::new()
    };
    assert_eq!(member["email"], email.as_str(), "{member}");
    assert_eq!(member["primary_email"], email.as_str(), "{member}");
}

// ---------------------------------------------------------------------------------------
// GET /v2/orgs/{org}/members
// ---------------------------------------------------------------------------------------

/// The shape of each member, effective roles (a team can make a member an editor), and
/// who sees email addresses; who may list at all.
async fn member_list_shape_and_visibility(backend: Backend) {
    let (org, sessions) =
        Org::start(&backend, ["brian:editor", "carol:member", "david:member", "erin"]).await;
    let [editor, member, _, outsider] = &sessions;
    let server = &org.server;

    let page = org.list_ok(&org.owner, "").await;
    assert_eq!(page["count"], 4, "{page}");
    assert!(page["next"].is_null() && page["previous"].is_null(), "{page}");
    let expected = [
        (OWNER, "Owner"),
        ("brian", "Editor"),
        ("carol", "Member"),
        ("david", "Member"),
    ];
    for (got, (username, role)) in results(&page).iter().zip(expected) {
        assert_member(server, got, username, role, &[], true);
    }
    // The id is the account's.
    let me = org.read(&org.owner, "/v2/user").await;
    assert_eq!(results(&page)[0]["id"], text(&me, "id").replace('-', ""));

    // A team granting editor makes its members editors; other teams only show as groups.
    org.create_team("builders", &["david"]).await;
    org.create_team("readers", &["carol", "david"]).await;
    assert_eq!(
        org.roles().await,
        pairs(&[
            (OWNER, "Owner"),
            ("brian", "Editor"),
            ("carol", "Member"),
            ("david", "Member")
        ])
    );
    let builders = format!("/v2/orgs/{ORG}/groups/builders");
    let editors = Some(json!({"role": "editor"}));
    org.as_owner(Method::PATCH, &builders, editors, StatusCode::OK)
        .await;
    let expected = [
        (OWNER, "Owner", vec![]),
        ("brian", "Editor", vec![]),
        ("carol", "Member", vec!["readers"]),
        ("david", "Editor", vec!["builders", "readers"]),
    ];
    let page = org.list_ok(&org.owner, "?role=editor").await;
    assert_eq!(usernames(&page), ["brian", "david"]);
    assert_eq!(page["count"], 2);

    // Members and editors see the same list with emails blanked; an OAT that may read
    // members sees them, as the owner does.
    let oat = org.oat("scope-member-read").await;
    for (token, emails_shown) in [
        (org.owner.as_str(), true),
        (editor, false),
        (member, false),
        (&oat, true),
    ] {
        let page = org.list_ok(token, "").await;
        assert_eq!(page["count"], 4);
        for (got, (username, role, groups)) in results(&page).iter().zip(&expected) {
            assert_member(server, got, username, role, groups, emails_shown);
        }
    }

    let team_oat = org.oat("scope-group-read").await;
    for (token, expected) in [
        (Some(outsider.as_str()), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
        (Some("garbage"), StatusCode::UNAUTHORIZED),
        (Some(&team_oat), StatusCode::FORBIDDEN),
    ] {
        org.list_refused(token, "", expected).await;
    }
    for token in [org.owner.as_str(), outsider] {
        let unknown = "/v2/orgs/nosuchorg/members";
        org.server
            .refused(Method::GET, unknown, Some(token), None, StatusCode::NOT_FOUND)
            .await;
    }
    // With a trailing slash too.
    let page = org.list_ok(&org.owner, "/").await;
    assert_eq!(page["count"], 4);
}

/// Pages of members: sizes, links (which keep the other parameters), the page past the
/// last, and invalid sizes.
async fn member_list_paging(backend: Backend) {
    let (org, _) = Org::start(
        &backend,
        ["erin:member", "carol:member", "brian:editor", "david:member"],
    )
    .await;
    let all = [OWNER, "brian", "carol", "david", "erin"];

    let page = org.list_ok(&org.owner, "").await;
    assert_eq!(usernames(&page), all);

    let mut url = org.server.url(&members_path("?page_size=2"));
    let mut seen = Vec::new();
    for (index, expected) in [&all[0..2], &all[2..4], &all[4..5]].into_iter().enumerate() {
        let (status, page) = org.server.follow(&url, &org.owner).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        assert_eq!(page["count"], 5, "{page}");
        assert_eq!(usernames(&page), expected, "{url}");
        assert_eq!(page["previous"].is_null(), index == 0, "{page}");
        seen.extend(usernames(&page).into_iter().map(str::to_string));
        match page["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, all);

    // Links keep the filters.
    let page = org.list_ok(&org.owner, "?role=member&page_size=1&page=2").await;
    assert_eq!(usernames(&page), ["david"]);
    assert_eq!(page["count"], 3);
    for link in ["next", "previous"] {
        let link = text(&page, link);
        assert!(
            link.contains("role=member") && link.contains("page_size=1"),
            "{link}"
        );
    }
    let owner = Some(org.owner.as_str());
    org.list_refused(owner, "?page_size=2&page=4", StatusCode::NOT_FOUND)
        .await;
    for query in INVALID_PAGING {
        org.list_refused(owner, query, StatusCode::BAD_REQUEST).await;
    }
    let page = org.list_ok(&org.owner, "?page_size=100").await;
    assert_eq!(usernames(&page), all);
}

/// `search` (username, full name, email; case-insensitive; `%` and `_` literal) and the
/// `role` filter, alone and together.
async fn member_list_search_and_role(backend: Backend) {
    let (org, sessions) = Org::start(
        &backend,
        ["brian:editor", "carol:member", "david:member", "erin:owner"],
    )
    .await;
    org.set_full_name("brian", "Brian 100% Certain").await;
    org.set_full_name("david", "David_Jones").await;

    for (search, expected) in [
        ("aro", vec!["carol"]),
        ("ARO", vec!["carol"]),
        ("CERTAIN", vec!["brian"]),
        ("jones", vec!["david"]),
        ("david@example", vec!["david"]),
        ("@EXAMPLE.COM", vec![OWNER, "brian", "carol", "david", "erin"]),
        ("%", vec!["brian"]),
        ("0% c", vec!["brian"]),
        ("_", vec!["david"]),
        ("d_j", vec!["david"]),
        ("r%n", vec![]),
        ("c_rol", vec![]),
        ("nobody", vec![]),
    ] {
        let query = format!(
            "?search={}",
            url::form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>()
        );
        let page = org.list_ok(&org.owner, &query).await;
        assert_eq!(usernames(&page), expected, "search {search:?}");
        assert_eq!(page["count"], expected.len(), "search {search:?}");
    }
    // An empty search is no filter.
    assert_eq!(org.list_ok(&org.owner, "?search=").await["count"], 5);

    // Those who may not see email addresses cannot search them either (it would reveal
    // them one guess at a time); names still match.
    let (editor, member) = (&sessions[0], &sessions[1]);
    for token in [editor, member] {
        for (search, expected) in [
            ("david@example", vec![]),
            ("example.com", vec![]),
            ("david", vec!["david"]),
            ("jones", vec!["david"]),
        ] {
            let page = org.list_ok(token, &format!("?search={search}")).await;
            assert_eq!(usernames(&page), expected, "search {search:?} by a non-owner");
            assert_eq!(page["count"], expected.len(), "search {search:?} by a non-owner");
        }
    }

    for (role, expected) in [
        ("owner", vec![OWNER, "erin"]),
        ("editor", vec!["brian"]),
        ("member", vec!["carol", "david"]),
    ] {
        let page = org.list_ok(&org.owner, &format!("?role={role}")).await;
        assert_eq!(usernames(&page), expected, "role {role}");
        assert_eq!(page["count"], expected.len());
    }
    let page = org.list_ok(&org.owner, "?role=member&search=d").await;
    assert_eq!(usernames(&page), ["david"]);
    let page = org.list_ok(&org.owner, "?role=owner&search=brian").await;
    assert_eq!(page["count"], 0);
    for role in ["admin", "invitee", "owners", "x"] {
        let query = format!("?role={role}");
        org.list_refused(Some(&org.owner), &query, StatusCode::BAD_REQUEST)
            .await;
    }
}

/// Pending invitees come after the members, with role `Invitee`, when asked for with
/// `invites=true` or `type`.
async fn member_list_invitees(backend: Backend) {
    let (org, sessions) = Org::start(&backend, ["brian:member", "carol"]).await;
    let member = &sessions[0];
    let invite = Some(json!({"org": ORG, "invitees": ["carol", "zed@example.org"]}));
    org.as_owner(Method::POST, "/v2/invites/bulk", invite, StatusCode::ACCEPTED)
        .await;

    let members = [OWNER, "brian"];
    for query in ["", "?invites=false", "?type=member", "?type=member&invites=true"] {
        let page = org.list_ok(&org.owner, query).await;
        assert_eq!(usernames(&page), members, "{query}");
        assert_eq!(page["count"], 2, "{query}");
    }
    for query in ["?invites=true", "?type=all", "?type=all&invites=false"] {
        let page = org.list_ok(&org.owner, query).await;
        assert_eq!(page["count"], 4, "{query}: {page}");
        assert_eq!(usernames(&page), [OWNER, "brian", "carol", ""], "{query}");
        let roles: Vec<&str> = results(&page).iter().map(|m| text(m, "role")).collect();
        assert_eq!(roles, ["Owner", "Member", "Invitee", "Invitee"], "{query}");
        let invitees = &results(&page)[2..];
        assert_eq!(invitees[0]["email"], "", "{page}");
        assert_eq!(invitees[1]["email"], "zed@example.org", "{page}");
        for invitee in invitees {
            assert_eq!(invitee["is_guest"], false);
            assert_eq!(invitee["groups"], json!([]));
        }
    }
    let page = org.list_ok(&org.owner, "?type=invitee").await;
    assert_eq!(page["count"], 2, "{page}");
    assert_eq!(usernames(&page), ["carol", ""]);

    // Paging runs across members and invitees.
    let page = org.list_ok(&org.owner, "?invites=true&page_size=3").await;
    assert_eq!(usernames(&page), [OWNER, "brian", "carol"]);
    assert!(page["next"].is_string());
    let page = org.list_ok(&org.owner, "?invites=true&page_size=3&page=2").await;
    assert_eq!(results(&page).len(), 1);
    assert_eq!(page["results"][0]["email"], "zed@example.org");
    assert!(page["next"].is_null());
    let page = org.list_ok(&org.owner, "?type=invitee&page_size=1&page=2").await;
    assert_eq!(page["results"][0]["email"], "zed@example.org");

    // Search reaches invitees; a role filter names member roles only.
    let page = org.list_ok(&org.owner, "?invites=true&search=ZED").await;
    assert_eq!(page["count"], 1, "{page}");
    assert_eq!(page["results"][0]["role"], "Invitee");
    let page = org.list_ok(&org.owner, "?invites=true&role=member").await;
    assert_eq!(usernames(&page), ["brian"]);

    // Pending invites are for owners, as on their own route: members asking for them get
    // the members only, and cannot find an invitee by searching.
    let page = org.list_ok(member, "?invites=true").await;
    assert!(results(&page).iter().all(|m| m["role"] != "Invitee"), "{page}");
    assert!(results(&page).iter().all(|m| m["email"] == ""), "{page}");
    for query in [
        "?invites=true&search=zed",
        "?type=invitee&search=example.org",
        "?type=invitee&search=CAROL",
        "?type=invitee",
    ] {
        let page = org.list_ok(member, query).await;
        assert_eq!(page["count"], 0, "{query}: {page}");
    }

    for query in ["?type=bogus", "?type=ALL", "?type=", "?invites=maybe"] {
        org.list_refused(Some(&org.owner), query, StatusCode::BAD_REQUEST)
            .await;
    }
}

// ---------------------------------------------------------------------------------------
// GET /v2/orgs/{org}/members/export
// ---------------------------------------------------------------------------------------

/// The export as `token`: 200, its Content-Disposition, and the raw CSV text.
async fn export(org: &Org, token: &str) -> (String, String) {
    let res = org
        .server
        .request(Method::GET, &members_path("/export"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .expect("ASCII header")
            .to_string()
    };
    assert!(
        header("content-type").starts_with("text/csv"),
        "{}",
        header("content-type")
    );
    let disposition = header("content-disposition");
    (disposition, res.text().await.expect("body"))
}

/// Parses CSV text into records, the header included.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_string).collect())
        .collect()
}

/// The CSV export: headers, columns, quoting, dates, and who may export.
async fn member_export_csv(backend: Backend) {
    let (org, sessions) = Org::start(&backend, ["brian:editor", "carol:member", "erin"]).await;
    let [editor, member, outsider] = &sessions;
    let full_name = "Alice \"Al\" Smith, Jr.";
    org.set_full_name(OWNER, full_name).await;
    org.create_team("alpha", &["carol"]).await;
    org.create_team("beta", &["carol"]).await;

    let (disposition, csv_text) = export(&org, &org.owner).await;
    let prefix = format!("attachment;filename=\"{ORG}-members-");
    assert!(
        disposition.starts_with(&prefix)
            && disposition.ends_with(".csv\"")
            && disposition.len() > prefix.len() + 5,
        "{disposition}"
    );
    assert_eq!(csv_text.lines().next(), Some(CSV_HEADER));
    // Fields with commas and quotes are quoted, quotes doubled.
    assert!(csv_text.contains("\"Alice \"\"Al\"\" Smith, Jr.\""), "{csv_text}");
    assert!(csv_text.contains(",\"alpha,beta\","), "{csv_text}");

    let records = parse_csv(&csv_text);
    assert_eq!(records.len(), 4, "{csv_text}");
    assert_eq!(records[0].join(","), CSV_HEADER);
    let rows: Vec<Vec<&str>> = records[1..]
        .iter()
        .map(|r| r[..6].iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![full_name, OWNER, "alice@example.com", "User", "Owner", ""],
            vec!["", "brian", "brian@example.com", "User", "Editor", ""],
            vec!["", "carol", "carol@example.com", "User", "Member", "alpha,beta"],
        ]
    );
    // Dates in Go's format, the same instants as the list shows.
    let page = org.list_ok(&org.owner, "").await;
    for (record, listed) in records[1..].iter().zip(results(&page)) {
        let joined = &record[6];
        assert!(joined.ends_with(" +0000 UTC"), "{joined}");
        let listed = text(listed, "date_joined").replacen('T', " ", 1);
        assert_eq!(joined[..19], listed[..19], "{joined} vs {listed}");
    }

    // Members and editors export too, without emails.
    for token in [editor, member] {
        let (_, csv_text) = export(&org, token).await;
        let records = parse_csv(&csv_text);
        assert_eq!(records.len(), 4);
        assert!(records[1..].iter().all(|r| r[2].is_empty()), "{csv_text}");
    }

    let callers = forbidden_and_anonymous(&[outsider]);
    org.server
        .refused_to(&callers, Method::GET, &members_path("/export"), None)
        .await;
    let (unknown, owner) = ("/v2/orgs/nosuchorg/members/export", Some(org.owner.as_str()));
    org.server
        .refused(Method::GET, unknown, owner, None, StatusCode::NOT_FOUND)
        .await;
}

// ---------------------------------------------------------------------------------------
// PUT /v2/orgs/{org}/members/{username}
// ---------------------------------------------------------------------------------------

/// Role changes: the answer, the audit event, validation, who may, and the last owner.
async fn change_member_role(backend: Backend) {
    let (org, sessions) =
        Org::start(&backend, ["brian:member", "carol:editor", "david:member", "erin"]).await;
    let [_, editor, member, outsider] = &sessions;
    let server = &org.server;
    let put = |role: &str| Some(json!({"role": role}));

    let body = org.set_role(&org.owner, "brian", "editor").await;
    assert_member(server, &body, "brian", "Editor", &[], true);
    let event = &server.audit_events(ORG).await[0];
    assert_eq!(event.action, "org.member.role.change");
    assert_eq!((event.name.as_str(), event.actor.as_str()), ("brian", OWNER));
    assert_eq!(audit_data(event), json!({"old_role": "member", "role": "editor"}));

    // Roles are case-insensitive on input.
    let body = org.set_role(&org.owner, "brian", "OWNER").await;
    assert_eq!(body["role"], "Owner");
    let event = &server.audit_events(ORG).await[0];
    assert_eq!(audit_data(event), json!({"old_role": "editor", "role": "owner"}));
    assert_eq!(
        org.roles().await,
        pairs(&[
            (OWNER, "Owner"),
            ("brian", "Owner"),
            ("carol", "Editor"),
            ("david", "Member")
        ])
    );

    // The same role again: 200, and no event.
    let before = org.snapshot().await;
    let body = org.set_role(&org.owner, "brian", "Owner").await;
    assert_member(server, &body, "brian", "Owner", &[], true);
    assert_eq!(org.snapshot().await, before);

    // Refusals, none of which changes anything.
    let owner = Some(org.owner.as_str());
    let david = member_path("david");
    for body in [
        json!({"role": "admin"}),
        json!({"role": ""}),
        json!({"role": "invitee"}),
        json!({"role": 1}),
        json!({}),
        json!({"role": null}),
    ] {
        org.server
            .refused(Method::PUT, &david, owner, Some(body), StatusCode::BAD_REQUEST)
            .await;
    }
    for path in [
        member_path("nobody"),
        member_path("erin"),
        "/v2/orgs/nosuchorg/members/david".to_string(),
    ] {
        org.server
            .refused(Method::PUT, &path, owner, put("editor"), StatusCode::NOT_FOUND)
            .await;
    }
    let read_pat = pat_session(server, OWNER, &org.owner, "repo:read").await;
    for (token, target, expected) in [
        (Some(editor.as_str()), "david", StatusCode::FORBIDDEN),
        (Some(member), "david", StatusCode::FORBIDDEN),
        (Some(member), "carol", StatusCode::FORBIDDEN),
        (Some(outsider), "david", StatusCode::FORBIDDEN),
        (Some(outsider), "erin", StatusCode::FORBIDDEN),
        (None, "david", StatusCode::UNAUTHORIZED),
        (Some(&read_pat), "david", StatusCode::FORBIDDEN),
    ] {
        let path = member_path(target);
        org.server
            .refused(Method::PUT, &path, token, put("owner"), expected)
            .await;
    }
    assert_eq!(org.snapshot().await, before);

    // With two owners one can be demoted, but never the last one.
    let body = org.set_role(&org.owner, OWNER, "member").await;
    assert_eq!(body["role"], "Member");
    let brian = server.token("brian", PASSWORD).await;
    let before = org.snapshot_as(&brian).await;
    let path = member_path("brian");
    for body in [put("editor"), put("member")] {
        org.server
            .refused(Method::PUT, &path, Some(&brian), body, StatusCode::BAD_REQUEST)
            .await;
    }
    assert_eq!(org.snapshot_as(&brian).await, before);
    assert_eq!(
        org.roles_as(&brian).await,
        pairs(&[
            (OWNER, "Member"),
            ("brian", "Owner"),
            ("carol", "Editor"),
            ("david", "Member")
        ])
    );
    // The demoted owner may no longer change roles.
    org.server
        .refused(Method::PUT, &david, owner, put("editor"), StatusCode::FORBIDDEN)
        .await;

    // Two owners demoting each other at once: one wins, the other is the last owner.
    org.set_role(&brian, OWNER, "owner").await;
    let (brian_path, alice_path) = (member_path("brian"), member_path(OWNER));
    let (first, second) = tokio::join!(
        server.call(Method::PUT, &brian_path, owner, put("member")),
        server.call(Method::PUT, &alice_path, Some(&brian), put("member")),
    );
    assert_one_owner_left(&org, [&org.owner, &brian], [first, second]).await;
}

/// After two owners tried, at the same time, to demote or remove each other: one request
/// succeeded, the other was refused (as the last owner's, or as no longer an owner's), and
/// exactly one owner is left. `sessions` are the two owners' sessions.
async fn assert_one_owner_left(org: &Org, sessions: [&str; 2], results: [(StatusCode, Value); 2]) {
    let succeeded: Vec<_> = results.iter().filter(|(status, _)| status.is_success()).collect();
    assert_eq!(succeeded.len(), 1, "{results:?}");
    for (status, body) in results.iter().filter(|(status, _)| !status.is_success()) {
        assert!(
            matches!(*status, StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN),
            "{status}: {body}"
        );
        assert_hub_error(*status, body, *status);
    }
    // Whoever is still a member reads the roles.
    for session in sessions {
        let (status, page) = org.list(Some(session), "?role=owner").await;
        if status == StatusCode::OK {
            assert_eq!(page["count"], 1, "{page}");
            return;
        }
    }
    panic!("neither owner is left in {ORG}");
}

// ---------------------------------------------------------------------------------------
// DELETE /v2/orgs/{org}/members/{username}
// ---------------------------------------------------------------------------------------

/// `member_count` of each team, as the owner reads them.
async fn team_sizes(org: &Org, teams: &[&str]) -> Vec<i64> {
    let mut sizes = Vec::new();
    for team in teams {
        sizes.push(
            org.team(team).await["member_count"]
                .as_i64()
                .expect("member_count"),
        );
    }
    sizes
}

/// Removal: from the organization and all its teams, not from the server; leaving; who
/// may remove whom; the last owner.
async fn remove_member(backend: Backend) {
    let (org, sessions) =
        Org::start(&backend, ["brian:member", "carol:member", "david:editor", "erin"]).await;
    let [brian, carol, david, outsider] = &sessions;
    let server = &org.server;
    org.create_team("crew", &["brian", "carol"]).await;
    org.create_team("solo", &["brian"]).await;
    org.create_team("other", &["david"]).await;
    let teams = ["crew", "solo", "other"];
    assert_eq!(team_sizes(&org, &teams).await, [2, 1, 1]);
    let brian_pat = pat_session(server, "brian", brian, "repo:admin").await;
    assert_eq!(org.list_ok(&brian_pat, "").await["count"], 4);

    // Refusals first: none changes anything.
    let before = org.snapshot().await;
    let owner = Some(org.owner.as_str());
    for (token, target, expected) in [
        (Some(carol.as_str()), "brian", StatusCode::FORBIDDEN),
        (Some(carol), OWNER, StatusCode::FORBIDDEN),
        (Some(david), "carol", StatusCode::FORBIDDEN),
        (Some(outsider), "carol", StatusCode::FORBIDDEN),
        (Some(outsider), "erin", StatusCode::FORBIDDEN),
        (None, "brian", StatusCode::UNAUTHORIZED),
        (owner, "nobody", StatusCode::NOT_FOUND),
        (owner, "erin", StatusCode::NOT_FOUND),
        // The last owner, even leaving.
        (owner, OWNER, StatusCode::BAD_REQUEST),
    ] {
        let path = member_path(target);
        org.server
            .refused(Method::DELETE, &path, token, None, expected)
            .await;
    }
    let unknown = "/v2/orgs/nosuchorg/members/brian";
    org.server
        .refused(Method::DELETE, unknown, owner, None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(org.snapshot().await, before);
    assert_eq!(team_sizes(&org, &teams).await, [2, 1, 1]);

    // The owner removes brian: gone from the organization and its teams, not the server.
    org.remove(&org.owner, "brian").await;
    assert_eq!(
        org.roles().await,
        pairs(&[(OWNER, "Owner"), ("carol", "Member"), ("david", "Editor")])
    );
    assert_eq!(team_sizes(&org, &teams).await, [1, 0, 1]);
    let crew = org
        .read(&org.owner, &format!("/v2/orgs/{ORG}/groups/crew/members"))
        .await;
    assert_eq!(usernames(&crew), ["carol"], "{crew}");
    let event = &server.audit_events(ORG).await[0];
    assert_eq!(event.action, "org.member.remove");
    assert_eq!((event.name.as_str(), event.actor.as_str()), ("brian", OWNER));
    assert_eq!(audit_data(event)["role"], "member");
    // brian keeps his account, his password and his PAT, but not the organization.
    for token in [brian, &brian_pat] {
        assert_eq!(org.read(token, "/v2/user").await["username"], "brian");
        org.list_refused(Some(token), "", StatusCode::FORBIDDEN).await;
    }
    server.token("brian", PASSWORD).await;
    let orgs = org.read(brian, "/v2/user/orgs").await;
    assert_eq!(orgs["count"], 0, "{orgs}");
    let path = member_path("brian");
    org.server
        .refused(Method::DELETE, &path, owner, None, StatusCode::NOT_FOUND)
        .await;

    // carol leaves on her own.
    org.remove(carol, "carol").await;
    assert_eq!(org.roles().await, pairs(&[(OWNER, "Owner"), ("david", "Editor")]));
    assert_eq!(team_sizes(&org, &teams).await, [0, 0, 1]);
    let event = &server.audit_events(ORG).await[0];
    assert_eq!(event.action, "org.member.remove");
    assert_eq!((event.name.as_str(), event.actor.as_str()), ("carol", "carol"));

    // With a second owner, the first may be removed (here, by the second).
    org.set_role(&org.owner, "david", "owner").await;
    org.remove(david, OWNER).await;
    assert_eq!(org.roles_as(david).await, pairs(&[("david", "Owner")]));
    let before = org.snapshot_as(david).await;
    let path = member_path("david");
    org.server
        .refused(Method::DELETE, &path, Some(david), None, StatusCode::BAD_REQUEST)
        .await;
    assert_eq!(org.snapshot_as(david).await, before);

    // Two owners removing each other at once: one owner is left.
    server.add_org_member(ORG, "erin", "owner").await;
    let (erin_path, david_path) = (member_path("erin"), member_path("david"));
    let (first, second) = tokio::join!(
        server.call(Method::DELETE, &erin_path, Some(david), None),
        server.call(Method::DELETE, &david_path, Some(outsider), None),
    );
    assert_one_owner_left(&org, [david, outsider], [first, second]).await;
}

crate::both_backends!(
    member_list_shape_and_visibility,
    member_list_paging,
    member_list_search_and_role,
    member_list_invitees,
    member_export_csv,
    change_member_role,
    remove_member,
);
