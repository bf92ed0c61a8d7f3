//! SCIM 2.0 provisioning (`/v2/scim/2.0`; RFC 7643 and 7644, as Docker Hub serves it): the
//! organization's SCIM token (minted with `wharf admin` or the Hub API, rotated, scoped to
//! its organization), the discovery documents, users (create, read, list with filters,
//! paging, sorting and attribute selection, replace, patch, delete), groups (the
//! organization's teams), the request sequences Okta and Microsoft Entra ID send,
//! deprovisioning taking effect at once (Hub sessions and registry tokens alike), and the
//! audit trail of every provisioning change. Every refused request is checked to change
//! nothing.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use wharf::store::AuditRow;

use crate::harness::{
    assert_hub_error, forbidden_and_anonymous, json, keys, parse_time, Backend, Server, PASSWORD,
};
use crate::oci::{header, manifest_path, token_response, Registry};
use crate::spec_schema;

const ORG: &str = "acme";
const OWNER: &str = "olivia";
/// Another organization, with a SCIM token of its own.
const OTHER_ORG: &str = "globex";
const OTHER_OWNER: &str = "gustav";

const BASE: &str = "/v2/scim/2.0";
const SCIM_JSON: &str = "application/scim+json";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const DOCKER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:docker:2.0:User";
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The `dockerRole` attribute as a PATCH path.
const ROLE_PATH: &str = "urn:ietf:params:scim:schemas:extension:docker:2.0:User:dockerRole";

/// The actor and the credential label of every change made with a SCIM token.
const SCIM_ACTOR: &str = "scim-provisioning";
const SCIM_CREDENTIAL: &str = "SCIM token";
/// The audit action of minting a SCIM token.
const TOKEN_REFRESH: &str = "enterprise.sso.connection.scim_token_refresh";
/// The `scimType`s of a body that is no SCIM resource of the right kind: either will do.
const BAD_BODY: &[&str] = &["invalidSyntax", "invalidValue"];

/// The users of the list tests (see [`cast`]), by `userName`, in the order of `userName`.
const JANE: &str = "jane.doe@example.org";
const JOHN: &str = "johnsmith@example.org";
/// An account that exists before it is provisioned.
const KIM: &str = "kimberly@example.com";
const OLIVE: &str = "oliviaprime@example.org";
/// Not an email address: the email comes from `emails`.
const SAM: &str = "sam.brown";

/// A private repository of [`ORG`], and a tag in it.
const REPO: &str = "acme/secret";
/// The user of the deprovisioning test, with a password and a Hub session.
const DANA: &str = "dana";
const TAG: &str = "v1";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `method BASE{path}` with SCIM token `token` (none: no `Authorization` header) and `body`
/// sent as `application/scim+json`: the status, the JSON body (`Null` when empty) and the
/// headers of the answer.
async fn scim(
    server: &Server,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value, HeaderMap) {
    let mut req = scim_request(server, token, method.clone(), path);
    if let Some(body) = body {
        req = req.header(CONTENT_TYPE, SCIM_JSON).body(body.to_string());
    }
    answer(req, &method).await
}

/// A SCIM request as identity providers build it, without a body.
fn scim_request(server: &Server, token: Option<&str>, method: Method, path: &str) -> RequestBuilder {
    let req = server
        .request(method, &format!("{BASE}{path}"))
        .header(ACCEPT, SCIM_JSON);
    match token {
        Some(token) => req.bearer_auth(token),
        None => req,
    }
}

/// Sends `req` (a `method` request); see [`scim`]. Every body must be `application/scim+json`.
async fn answer(req: RequestBuilder, method: &Method) -> (StatusCode, Value, HeaderMap) {
    let res = req.send().await.expect("SCIM request");
    let res = spec_schema::checked(res, method).await;
    let what = format!("{method} {}", res.url());
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.expect("SCIM response body");
    if text.is_empty() {
        return (status, Value::Null, headers);
    }
    let content_type = header(&headers, "content-type");
    assert!(
        content_type.starts_with(SCIM_JSON),
        "{what} answered {status} as {content_type:?}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    (status, body, headers)
}

/// `METHOD PATH BODY` of a request, for failure messages.
fn describe(method: &Method, path: &str, body: Option<&Value>) -> String {
    match body {
        Some(body) => format!("{method} {BASE}{path} {body}"),
        None => format!("{method} {BASE}{path}"),
    }
}

/// Asserts a SCIM error answered with `status`: the Error envelope with the status as a
/// string, and a `scimType` among `scim_types`; with none given, any `scimType` (or none)
/// on a 400 and none at all otherwise.
fn assert_scim_error(body: &Value, status: StatusCode, scim_types: &[&str]) {
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]), "{body}");
    assert_eq!(body["status"], status.as_u16().to_string(), "{body}");
    assert!(body["detail"].is_string(), "no detail in {body}");
    let scim_type = body.get("scimType");
    if !scim_types.is_empty() {
        let got = scim_type.and_then(Value::as_str).unwrap_or_default();
        assert!(
            scim_types.contains(&got),
            "scimType one of {scim_types:?}: {body}"
        );
    } else if status == StatusCode::BAD_REQUEST {
        assert!(
            scim_type.is_none_or(Value::is_string),
            "a scimType is a string: {body}"
        );
    } else {
        assert!(scim_type.is_none(), "only 400 and 409 have a scimType: {body}");
    }
}

/// A SCIM request with `token` that must be refused with `expected` (see
/// [`assert_scim_error`] for `scim_types`).
async fn refused_with(
    server: &Server,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: StatusCode,
    scim_types: &[&str],
) {
    let what = describe(&method, path, body.as_ref());
    let (status, answer, _) = scim(server, token, method, path, body).await;
    assert_eq!(status, expected, "{what}: {answer}");
    assert_scim_error(&answer, expected, scim_types);
}

/// `wharf admin org scim-token org`: a new SCIM token of `org`, the whole of stdout.
async fn mint(server: &Server, org: &str) -> String {
    let out = server.admin(&["org", "scim-token", org], None).await;
    assert!(
        out.status.success(),
        "wharf admin org scim-token {org} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).expect("the token is text");
    let token = token.trim();
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "one token on one line: {token:?}"
    );
    token.to_string()
}

fn mint_path(org: &str) -> String {
    format!("/v2/orgs/{org}/scim-token")
}

/// A server with [`ORG`], owned by [`OWNER`] (with a password session), and its SCIM token.
struct World {
    server: Server,
    owner: String,
    token: String,
}

async fn world(backend: &Backend) -> World {
    let server = Server::start(backend).await;
    let owner = server.user_with_token(OWNER).await;
    server.create_org(ORG, OWNER).await;
    let token = mint(&server, ORG).await;
    World { server, owner, token }
}

impl World {
    /// A request with the organization's SCIM token that must answer `expected`: the body
    /// and the headers.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> (Value, HeaderMap) {
        let what = describe(&method, path, body.as_ref());
        let (status, answer, headers) = scim(&self.server, Some(&self.token), method, path, body).await;
        assert_eq!(status, expected, "{what}: {answer}");
        (answer, headers)
    }

    /// A request that must answer 200; its body.
    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.send(method, path, body, StatusCode::OK).await.0
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }

    /// A request that must be refused (see [`refused_with`]).
    async fn refused(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
        scim_types: &[&str],
    ) {
        let token = Some(self.token.as_str());
        refused_with(&self.server, token, method, path, body, expected, scim_types).await;
    }

    /// `DELETE path`, which must answer 204 with no body.
    async fn delete(&self, path: &str) {
        let (body, _) = self
            .send(Method::DELETE, path, None, StatusCode::NO_CONTENT)
            .await;
        assert_eq!(body, Value::Null, "DELETE {path} has a body");
    }

    /// A Hub API `GET path` of the owner's, which must be 200.
    async fn hub_get(&self, path: &str) -> Value {
        self.server
            .expect(Method::GET, path, Some(&self.owner), None, StatusCode::OK)
            .await
    }

    /// A Hub API `GET path` of the owner's, which must be 404.
    async fn hub_missing(&self, path: &str) {
        self.server
            .refused(Method::GET, path, Some(&self.owner), None, StatusCode::NOT_FOUND)
            .await;
    }
}

fn user_path(id: &str) -> String {
    format!("/Users/{id}")
}

fn group_path(id: &str) -> String {
    format!("/Groups/{id}")
}

/// Percent-encodes everything but the unreserved characters (as `%20`, not `+`).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path?name=value&…`, encoded.
fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `body` with the fields of `extra` set; a `null` in `extra` removes that field.
fn with(mut body: Value, extra: Value) -> Value {
    let fields = body.as_object_mut().expect("a JSON object");
    for (key, value) in extra.as_object().expect("a JSON object") {
        if value.is_null() {
            fields.remove(key);
        } else {
            fields.insert(key.clone(), value.clone());
        }
    }
    body
}

/// The smallest active user: `userName` and `name`.
fn user_body(user_name: &str, given: &str, family: &str) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "active": true,
    });
    // As Okta and Entra send it: the address as the primary work email too.
    if user_name.contains('@') {
        body["emails"] = json!([{"value": user_name, "type": "work", "primary": true}]);
    }
    body
}

/// A PATCH body of `operations`.
fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": operations})
}

fn id_of(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("no id in {resource}"))
        .to_string()
}

/// The Docker extension of a user.
fn docker(user: &Value) -> &Value {
    &user[DOCKER_SCHEMA]
}

/// The value of a user's primary email (else the first), which must be of type `work`.
fn primary_email(user: &Value) -> String {
    let emails = user["emails"]
        .as_array()
        .unwrap_or_else(|| panic!("no emails in {user}"));
    // The primary one, else the first (as sent).
    let primary = emails
        .iter()
        .find(|e| e["primary"] == true)
        .or_else(|| emails.first())
        .unwrap_or_else(|| panic!("no email in {user}"));
    assert_eq!(primary["type"], "work", "{user}");
    primary["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no email value in {user}"))
        .to_string()
}

/// Asserts a Docker ID: 4 to 30 lowercase letters and digits.
fn assert_docker_id(name: &Value) {
    let text = name.as_str().unwrap_or_else(|| panic!("not a Docker ID: {name}"));
    assert!(
        (4..=30).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "not a Docker ID: {name}"
    );
}

/// Asserts the shape of a user of [`ORG`] as every SCIM answer carries it.
fn assert_user(user: &Value) {
    let schemas = user["schemas"]
        .as_array()
        .unwrap_or_else(|| panic!("no schemas in {user}"));
    for schema in [USER_SCHEMA, DOCKER_SCHEMA] {
        assert!(schemas.contains(&json!(schema)), "{schema} missing in {user}");
    }
    let id = id_of(user);
    assert!(user["userName"].is_string(), "{user}");
    assert_docker_id(&user["displayName"]);
    // Unassigned attributes are left out (RFC 7643 §2.5): a name, emails and a role only
    // when the identity provider gave them.
    assert!(user.get("name").is_none_or(Value::is_object), "{user}");
    if user.get("emails").is_some() {
        primary_email(user);
    }
    assert!(user["active"].is_boolean(), "{user}");
    assert!(user["groups"].is_array(), "{user}");
    let role = docker(user)["dockerRole"].as_str().unwrap_or("member");
    assert!(
        ["member", "editor", "owner"].contains(&role),
        "dockerRole of {user}"
    );
    assert_eq!(docker(user)["dockerOrg"], ORG, "{user}");
    let meta = &user["meta"];
    assert_eq!(meta["resourceType"], "User", "{user}");
    assert!(
        parse_time(&meta["lastModified"]) >= parse_time(&meta["created"]),
        "{user}"
    );
    let location = meta["location"].as_str().unwrap_or_default();
    assert!(
        location.ends_with(&format!("{BASE}/Users/{id}")),
        "meta.location of {user}"
    );
}

/// Asserts the shape of a group.
fn assert_group(group: &Value) {
    let schemas = group["schemas"]
        .as_array()
        .unwrap_or_else(|| panic!("no schemas in {group}"));
    assert!(schemas.contains(&json!(GROUP_SCHEMA)), "{group}");
    let id = id_of(group);
    assert!(group["displayName"].is_string(), "{group}");
    assert_eq!(group["meta"]["resourceType"], "Group", "{group}");
    let location = group["meta"]["location"].as_str().unwrap_or_default();
    assert!(
        location.ends_with(&format!("{BASE}/Groups/{id}")),
        "meta.location of {group}"
    );
}

/// `POST path` of `body`, which must create (201) a resource whose `meta.location` is the
/// `Location` header; returns it.
async fn create(w: &World, path: &str, body: Value) -> Value {
    let (created, headers) = w.send(Method::POST, path, Some(body), StatusCode::CREATED).await;
    assert_eq!(
        header(&headers, "location"),
        created["meta"]["location"].as_str().unwrap_or_default(),
        "Location of {created}"
    );
    created
}

/// `POST /Users`, which must create; returns the user.
async fn provision(w: &World, body: Value) -> Value {
    let user = create(w, "/Users", body).await;
    assert_user(&user);
    user
}

/// `POST /Groups`, which must create; returns the group.
async fn create_group(w: &World, body: Value) -> Value {
    let group = create(w, "/Groups", body).await;
    assert_group(&group);
    group
}

fn group_body(display_name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": members})
}

/// A PATCH of user `id` that must succeed; returns the user.
async fn patch_user(w: &World, id: &str, operations: Value) -> Value {
    let user = w.ok(Method::PATCH, &user_path(id), Some(patch(operations))).await;
    assert_user(&user);
    user
}

/// A PATCH of group `id` that must succeed, with the group (200) or without (204);
/// returns the group as it is now.
async fn patch_group(w: &World, id: &str, operations: Value) -> Value {
    let path = group_path(id);
    let body = Some(patch(operations));
    let what = describe(&Method::PATCH, &path, body.as_ref());
    let (status, answer, _) = scim(&w.server, Some(&w.token), Method::PATCH, &path, body).await;
    let group = w.get(&path).await;
    match status {
        StatusCode::OK => assert_eq!(answer, group, "{what}"),
        StatusCode::NO_CONTENT => assert_eq!(answer, Value::Null, "{what}"),
        other => panic!("{what}: {other} {answer}"),
    }
    assert_group(&group);
    group
}

/// The member ids of a group (no `members`: none).
fn member_ids(group: &Value) -> BTreeSet<String> {
    match group.get("members") {
        None => BTreeSet::new(),
        Some(members) => members
            .as_array()
            .unwrap_or_else(|| panic!("members is no array: {group}"))
            .iter()
            .map(|m| m["value"].as_str().expect("member value").to_string())
            .collect(),
    }
}

/// The groups named `name`, without their members, as Entra ID looks a group up.
async fn groups_named(w: &World, name: &str) -> Vec<Value> {
    let filter = format!("displayName eq \"{name}\"");
    let params = [("excludedAttributes", "members"), ("filter", filter.as_str())];
    resources(&list(w, "/Groups", &params).await)
}

/// The `(value, display)` pairs of a user's `groups`.
fn groups_of(user: &Value) -> Vec<(String, String)> {
    user["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("no groups in {user}"))
        .iter()
        .map(|g| {
            let text = |key: &str| g[key].as_str().unwrap_or_default().to_string();
            (text("value"), text("display"))
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The resources of a list (no `Resources`: none).
fn resources(page: &Value) -> Vec<Value> {
    match page.get("Resources") {
        None => Vec::new(),
        Some(items) => items
            .as_array()
            .unwrap_or_else(|| panic!("Resources is no array: {page}"))
            .clone(),
    }
}

/// `GET path?params`, a ListResponse: asserts its envelope and returns it.
async fn list(w: &World, path: &str, params: &[(&str, &str)]) -> Value {
    let page = w.get(&with_query(path, params)).await;
    assert_eq!(page["schemas"], json!([LIST_SCHEMA]), "{page}");
    assert!(
        page.get("resources").is_none(),
        "Resources has a capital R: {page}"
    );
    let total = page["totalResults"]
        .as_u64()
        .unwrap_or_else(|| panic!("no totalResults in {page}"));
    assert!(
        page["startIndex"].as_u64().is_some_and(|i| i >= 1),
        "startIndex of {page}"
    );
    let items = resources(&page);
    assert_eq!(
        page["itemsPerPage"],
        items.len(),
        "itemsPerPage counts the page: {page}"
    );
    assert!(items.len() as u64 <= total, "{page}");
    page
}

/// The `userName`s of a page, in order.
fn user_names(page: &Value) -> Vec<String> {
    resources(page)
        .iter()
        .map(|u| u["userName"].as_str().expect("userName").to_string())
        .collect()
}

/// The `userName`s `GET /Users` finds with `filter`, which all fit on one page.
async fn found(w: &World, filter: &str) -> BTreeSet<String> {
    let page = list(w, "/Users", &[("filter", filter)]).await;
    let names = user_names(&page);
    assert_eq!(page["totalResults"], names.len(), "{filter}: {page}");
    names.into_iter().collect()
}

/// The ids of the groups `GET /Groups` finds with `filter`.
async fn groups_found(w: &World, filter: &str) -> BTreeSet<String> {
    let page = list(w, "/Groups", &[("filter", filter)]).await;
    let ids: BTreeSet<String> = resources(&page).iter().map(id_of).collect();
    assert_eq!(page["totalResults"], ids.len(), "{filter}: {page}");
    ids
}

/// The `userName`s of a page of the users with an `externalId` (the [`cast`]), by
/// `userName` in `order`, from `start` with `count`; asserts the total and `startIndex`.
async fn users_page(w: &World, start: &str, count: &str, order: &str) -> Vec<String> {
    let params = [
        ("filter", "externalId pr"),
        ("sortBy", "userName"),
        ("sortOrder", order),
        ("startIndex", start),
        ("count", count),
    ];
    let page = list(w, "/Users", &params).await;
    assert_eq!(page["totalResults"], 5, "{page}");
    assert_eq!(
        page["startIndex"],
        start.parse::<u64>().expect("a number"),
        "{page}"
    );
    user_names(&page)
}

/// The users with an `externalId` (the [`cast`]) sorted by `sort_by` in `order`.
async fn sorted_users(w: &World, sort_by: &str, order: &str) -> Value {
    let params = [
        ("filter", "externalId pr"),
        ("sortBy", sort_by),
        ("sortOrder", order),
    ];
    list(w, "/Users", &params).await
}

/// Every user the token sees, in `userName` order, to compare before and after a refusal.
async fn all_users(w: &World) -> Value {
    list(w, "/Users", &[("sortBy", "userName")]).await
}

/// `username`'s role in the Hub's member list of [`ORG`] (`Owner`, `Editor`, `Member`);
/// `None` when not a member.
async fn hub_role(w: &World, username: &str) -> Option<String> {
    let page = w.hub_get(&format!("/v2/orgs/{ORG}/members?page_size=100")).await;
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
        .iter()
        .find(|m| m["username"] == username)
        .map(|m| m["role"].as_str().expect("role").to_string())
}

/// The usernames of the Hub's member list of team `team` of [`ORG`].
async fn team_members(w: &World, team: &str) -> BTreeSet<String> {
    let page = w
        .hub_get(&format!("/v2/orgs/{ORG}/groups/{team}/members?page_size=100"))
        .await;
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
        .iter()
        .map(|m| m["username"].as_str().expect("username").to_string())
        .collect()
}

/// Asserts that the SCIM id of `user` is the id of the Hub account `username` (the Hub
/// writes ids without dashes).
async fn assert_account(w: &World, user: &Value, username: &str) {
    let account = w.hub_get(&format!("/v2/users/{username}")).await;
    assert_eq!(
        id_of(user).replace('-', ""),
        id_of(&account).replace('-', ""),
        "{user} is the account {account}"
    );
}

/// The users of the list tests, provisioned in this order: Jane (with a Docker ID of her
/// own), John (an editor in team `platform`), Kimberly (an existing account), Sam (whose
/// email comes from `emails`) and Olive (whose Docker ID is taken). Each has an
/// `externalId`, so `externalId pr` selects exactly them.
async fn cast(w: &World) -> Vec<Value> {
    w.server.create_user("kimberly").await;
    let bodies = [
        with(
            user_body(JANE, "Jane", "Doe"),
            json!({"displayName": "janedoe", "externalId": "ext-jane"}),
        ),
        with(
            user_body(JOHN, "John", "Smith"),
            json!({
                "externalId": "ext-john",
                DOCKER_SCHEMA: {"dockerRole": "editor", "dockerTeam": "platform"},
            }),
        ),
        with(
            user_body(KIM, "Kimberly", "Adams"),
            json!({"displayName": "somebodyelse", "externalId": "ext-kim"}),
        ),
        with(
            user_body(SAM, "Sam", "Brown"),
            json!({
                "externalId": "ext-sam",
                "emails": [
                    {"value": "sam@home.example.net", "type": "home"},
                    {"value": "sambrown@example.org", "type": "work", "primary": true},
                ],
            }),
        ),
        with(
            user_body(OLIVE, "Olive", "Prime"),
            json!({"displayName": OWNER, "externalId": "ext-olive"}),
        ),
    ];
    let mut users = Vec::new();
    for body in bodies {
        users.push(provision(w, body).await);
    }
    users
}

/// Runs `change`; returns what it returned and the events it recorded in `account`'s log.
async fn recorded<T>(server: &Server, account: &str, change: impl Future<Output = T>) -> (T, Vec<AuditRow>) {
    let before = server.audit_events(account).await.len();
    assert!(
        before < 90,
        "the log of {account} is too long to count new events in"
    );
    let outcome = change.await;
    let mut events = server.audit_events(account).await;
    let new = events.len().saturating_sub(before);
    events.truncate(new);
    (outcome, events)
}

/// Asserts that `events` are exactly the `(action, name)` pairs of `expected`, in any
/// order, each made by SCIM provisioning with the SCIM token.
fn assert_scim_events(events: &[AuditRow], expected: &[(&str, &str)]) {
    let mut got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.action.as_str(), e.name.as_str()))
        .collect();
    got.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{events:#?}");
    for event in events {
        assert_eq!(event.actor, SCIM_ACTOR, "{event:#?}");
        assert_eq!(event.credential.as_deref(), Some(SCIM_CREDENTIAL), "{event:#?}");
    }
}

/// Whether the Hub session `session` may read [`ORG`]'s members (a refusal must be 403
/// or 404).
async fn reads_org(server: &Server, session: &str) -> bool {
    let path = format!("/v2/orgs/{ORG}/members");
    let (status, body) = server.call(Method::GET, &path, Some(session), None).await;
    match status {
        StatusCode::OK => true,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            assert_hub_error(status, &body, status);
            false
        }
        other => panic!("GET {path}: {other} {body}"),
    }
}

/// A registry token of `username` (with [`PASSWORD`]) asked for pull on [`REPO`], and the
/// actions it grants there; `None` when `/token` refuses.
async fn pull_token(server: &Server, username: &str) -> Option<(String, Vec<String>)> {
    let scope = format!("repository:{REPO}:pull");
    let (status, body) = json(token_response(server, Some((username, PASSWORD)), &[scope]).await).await;
    if status != StatusCode::OK {
        return None;
    }
    let token = body["token"].as_str().expect("token").to_string();
    let granted = granted_actions(&token);
    Some((token, granted))
}

/// The actions a registry token grants on [`REPO`], read from its (unverified) payload.
fn granted_actions(token: &str) -> Vec<String> {
    let payload = token.split('.').nth(1).expect("the registry token is a JWT");
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .expect("the registry token's payload is base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("the registry token's payload is JSON");
    claims["access"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|grant| grant["type"] == "repository" && grant["name"] == REPO)
        .flat_map(|grant| grant["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(String::from))
        .collect()
}

/// Whether the registry serves [`REPO`]:[`TAG`] to the holder of registry token `token`.
async fn pulls(server: &Server, token: &str) -> bool {
    let registry = Registry::with_token(server, token);
    let res = registry.send(Method::GET, &manifest_path(REPO, TAG)).await;
    res.status() == StatusCode::OK
}

/// Asserts whether `username` may pull [`REPO`] with a new registry token.
async fn assert_pull(server: &Server, username: &str, expected: bool) {
    let fresh = pull_token(server, username).await;
    let granted = fresh
        .as_ref()
        .is_some_and(|(_, actions)| actions.iter().any(|a| a == "pull"));
    assert_eq!(
        granted, expected,
        "a new registry token of {username} grants pull: {fresh:?}"
    );
    if let Some((token, _)) = &fresh {
        assert_eq!(pulls(server, token).await, expected, "{username} pulls {REPO}");
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// The SCIM token: minted by `wharf admin` and by the organization's owners through the
/// Hub API (not by members, editors or anonymous callers), each mint audited and
/// invalidating the previous token at once; anything but the current token is a 401 in
/// the SCIM error format; a token sees its own organization only.
async fn token_minting_rotation_and_isolation(backend: Backend) {
    let mut w = world(&backend).await;
    let s = &w.server;
    let member = s.user_with_token("mark").await;
    s.add_org_member(ORG, "mark", "member").await;
    let editor = s.user_with_token("edith").await;
    s.add_org_member(ORG, "edith", "editor").await;
    let first = w.token.clone();
    list(&w, "/Users", &[]).await;

    // Rotating with the CLI: the old token is refused on its next request.
    let second = mint(&w.server, ORG).await;
    assert_ne!(second, first);
    w.token = second.clone();
    list(&w, "/Users", &[]).await;
    refused_with(
        s,
        Some(&first),
        Method::GET,
        "/Users",
        None,
        StatusCode::UNAUTHORIZED,
        &[],
    )
    .await;

    // Rotating through the Hub API, as an owner.
    let minted = s
        .expect(
            Method::POST,
            &mint_path(ORG),
            Some(&w.owner),
            None,
            StatusCode::CREATED,
        )
        .await;
    let third = minted["token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| panic!("no token in {minted}"))
        .to_string();
    assert!(![&first, &second].contains(&&third), "a new token");
    refused_with(
        s,
        Some(&second),
        Method::GET,
        "/Users",
        None,
        StatusCode::UNAUTHORIZED,
        &[],
    )
    .await;
    let callers = forbidden_and_anonymous(&[&member, &editor]);
    s.refused_to(&callers, Method::POST, &mint_path(ORG), None).await;
    w.token = third.clone();
    list(&w, "/Users", &[]).await;

    // Anything but the current token: 401, in the SCIM error format, with nothing done.
    let before = all_users(&w).await;
    let garbage = [
        None,
        Some("garbage"),
        Some(first.as_str()),
        Some(w.owner.as_str()),
        Some(""),
    ];
    for token in garbage {
        for path in ["/Users", "/Groups", "/ServiceProviderConfig", "/Schemas"] {
            refused_with(s, token, Method::GET, path, None, StatusCode::UNAUTHORIZED, &[]).await;
        }
        let body = Some(user_body("intruder@example.org", "In", "Truder"));
        refused_with(
            s,
            token,
            Method::POST,
            "/Users",
            body,
            StatusCode::UNAUTHORIZED,
            &[],
        )
        .await;
    }
    assert_eq!(all_users(&w).await, before, "refused requests change nothing");
    // The SCIM token is no Hub API credential.
    s.refused(
        Method::GET,
        &format!("/v2/orgs/{ORG}/members"),
        Some(&third),
        None,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Three mints, each recorded in the organization's log; no secret in any of them.
    let refreshes: Vec<AuditRow> = s
        .audit_events(ORG)
        .await
        .into_iter()
        .filter(|e| e.action == TOKEN_REFRESH)
        .collect();
    let actors: Vec<&str> = refreshes.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(actors, [OWNER, "wharf-admin", "wharf-admin"], "{refreshes:#?}");
    for event in &refreshes {
        assert_eq!(event.credential, None, "{event:#?}");
        for secret in [&first, &second, &third] {
            assert!(!event.data.contains(secret.as_str()), "a secret in {event:#?}");
            assert!(!event.name.contains(secret.as_str()), "a secret in {event:#?}");
        }
    }

    // Unknown ids: 404 in the SCIM error format.
    for id in ["00000000-0000-4000-8000-000000000000", "nosuchid"] {
        w.refused(Method::GET, &user_path(id), None, StatusCode::NOT_FOUND, &[])
            .await;
        w.refused(Method::GET, &group_path(id), None, StatusCode::NOT_FOUND, &[])
            .await;
    }

    // The token of another organization sees nothing of this one.
    s.create_user(OTHER_OWNER).await;
    s.create_org(OTHER_ORG, OTHER_OWNER).await;
    let other = mint(s, OTHER_ORG).await;
    let jane = provision(&w, user_body(JANE, "Jane", "Doe")).await;
    let devs = create_group(&w, group_body("devs", &[&id_of(&jane)])).await;
    let (jane_path, devs_path) = (user_path(&id_of(&jane)), group_path(&id_of(&devs)));
    // As she is now: a member of devs.
    let jane = w.get(&jane_path).await;
    let not_found = StatusCode::NOT_FOUND;
    let ours = Some(other.as_str());
    let replace = with(user_body(JANE, "Mallory", "Doe"), json!({"active": false}));
    let deactivate = patch(json!([{"op": "replace", "value": {"active": false}}]));
    for (method, path, body) in [
        (Method::GET, &jane_path, None),
        (Method::PUT, &jane_path, Some(replace)),
        (Method::PATCH, &jane_path, Some(deactivate)),
        (Method::DELETE, &jane_path, None),
        (Method::GET, &devs_path, None),
        (Method::PUT, &devs_path, Some(group_body("stolen", &[]))),
        (Method::DELETE, &devs_path, None),
    ] {
        refused_with(s, ours, method, path, body, not_found, &[]).await;
    }
    let (status, page, _) = scim(s, ours, Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(!user_names(&page).contains(&JANE.to_string()), "{page}");
    let (status, page, _) = scim(s, ours, Method::GET, "/Groups", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(resources(&page).iter().all(|g| g["id"] != devs["id"]), "{page}");
    assert_eq!(w.get(&jane_path).await, jane, "the other token changed nothing");
    assert_eq!(w.get(&devs_path).await, devs);
}

/// `ServiceProviderConfig`, `ResourceTypes` and `Schemas`, listed and one by one.
async fn discovery_documents(backend: Backend) {
    let w = world(&backend).await;
    let config = w.get("/ServiceProviderConfig").await;
    let config_schema = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
    assert!(
        config["schemas"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(config_schema))),
        "{config}"
    );
    for (feature, supported) in [
        ("patch", true),
        ("bulk", false),
        ("filter", true),
        ("sort", true),
        ("etag", false),
        ("changePassword", false),
    ] {
        assert_eq!(config[feature]["supported"], supported, "{feature} in {config}");
    }
    assert_eq!(config["filter"]["maxResults"], 200, "{config}");
    let schemes = config["authenticationSchemes"]
        .as_array()
        .unwrap_or_else(|| panic!("authenticationSchemes is an array: {config}"));
    assert!(
        schemes.iter().any(|s| s["type"] == "oauthbearertoken"),
        "{config}"
    );

    // Resource types: User (with the Docker extension) and Group.
    let types = w.get("/ResourceTypes").await;
    assert_eq!(types["schemas"], json!([LIST_SCHEMA]), "{types}");
    assert_eq!(types["totalResults"], 2, "{types}");
    let items = resources(&types);
    assert_eq!(items.len(), 2, "{types}");
    let named = |name: &str| -> Value {
        items
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no resource type {name} in {types}"))
            .clone()
    };
    let (user_type, group_type) = (named("User"), named("Group"));
    for (resource_type, endpoint, schema) in [
        (&user_type, "/Users", USER_SCHEMA),
        (&group_type, "/Groups", GROUP_SCHEMA),
    ] {
        let type_schema = json!("urn:ietf:params:scim:schemas:core:2.0:ResourceType");
        assert!(
            resource_type["schemas"]
                .as_array()
                .is_some_and(|s| s.contains(&type_schema)),
            "{resource_type}"
        );
        assert_eq!(resource_type["endpoint"], endpoint, "{resource_type}");
        assert_eq!(resource_type["schema"], schema, "{resource_type}");
    }
    let extensions = user_type["schemaExtensions"]
        .as_array()
        .unwrap_or_else(|| panic!("no schemaExtensions in {user_type}"));
    assert!(
        extensions.iter().any(|e| e["schema"] == DOCKER_SCHEMA),
        "{user_type}"
    );
    assert_eq!(w.get("/ResourceTypes/User").await, user_type);
    assert_eq!(w.get("/ResourceTypes/Group").await, group_type);
    w.refused(
        Method::GET,
        "/ResourceTypes/Nope",
        None,
        StatusCode::NOT_FOUND,
        &[],
    )
    .await;

    // Schemas: core User and Group, and the Docker extension.
    let schemas = w.get("/Schemas").await;
    assert_eq!(schemas["schemas"], json!([LIST_SCHEMA]), "{schemas}");
    let items = resources(&schemas);
    assert_eq!(schemas["totalResults"], items.len(), "{schemas}");
    for (urn, attributes) in [
        (USER_SCHEMA, &["userName", "name", "emails", "active"][..]),
        (GROUP_SCHEMA, &["displayName", "members"][..]),
        (DOCKER_SCHEMA, &["dockerRole", "dockerOrg", "dockerTeam"][..]),
    ] {
        let schema = items
            .iter()
            .find(|s| s["id"] == urn)
            .unwrap_or_else(|| panic!("no schema {urn} in {schemas}"));
        let schema_schema = json!("urn:ietf:params:scim:schemas:core:2.0:Schema");
        assert!(
            schema["schemas"]
                .as_array()
                .is_some_and(|s| s.contains(&schema_schema)),
            "{schema}"
        );
        let names: BTreeSet<&str> = schema["attributes"]
            .as_array()
            .unwrap_or_else(|| panic!("no attributes in {schema}"))
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        for attribute in attributes {
            assert!(names.contains(attribute), "{attribute} missing in {schema}");
        }
        assert_eq!(&w.get(&format!("/Schemas/{urn}")).await, schema);
    }
    let unknown = "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope";
    w.refused(Method::GET, unknown, None, StatusCode::NOT_FOUND, &[])
        .await;
}

/// Creating users: a new account (its Docker ID from `displayName`, or from the email when
/// that is missing or taken), an existing account attached by email, the email from
/// `emails`, the Docker role and team, either JSON media type; reading them back; and
/// every malformed or conflicting body refused with nothing changed.
async fn users_create_and_read(backend: Backend) {
    let w = world(&backend).await;
    let users = cast(&w).await;
    let [jane, john, kim, sam, olive] = &users[..] else {
        panic!("five users")
    };
    let ids: BTreeSet<String> = users.iter().map(id_of).collect();
    assert_eq!(ids.len(), 5, "distinct ids");

    // Jane: a new account named after her displayName.
    assert_eq!(jane["userName"], JANE);
    assert_eq!(jane["displayName"], "janedoe");
    assert_eq!(jane["name"]["givenName"], "Jane");
    assert_eq!(jane["name"]["familyName"], "Doe");
    assert_eq!(primary_email(jane), JANE, "the email is the userName");
    assert_eq!(jane["externalId"], "ext-jane");
    assert_eq!(jane["active"], true);
    assert_eq!(jane["groups"], json!([]));
    // No dockerRole given: none is shown, and she joins as a member (the Hub role below).
    assert!(docker(jane)["dockerRole"].is_null(), "{jane}");
    assert!(docker(jane)["dockerTeam"].is_null(), "{jane}");
    assert_account(&w, jane, "janedoe").await;
    assert_eq!(hub_role(&w, "janedoe").await.as_deref(), Some("Member"));
    assert_eq!(&w.get(&user_path(&id_of(jane))).await, jane);

    // John: named after his email, an editor, in team platform (created for him).
    assert_eq!(john["displayName"], "johnsmith");
    assert_eq!(docker(john)["dockerRole"], "editor");
    assert_eq!(docker(john)["dockerTeam"], "platform");
    assert_account(&w, john, "johnsmith").await;
    assert_eq!(hub_role(&w, "johnsmith").await.as_deref(), Some("Editor"));
    assert_eq!(team_members(&w, "platform").await, set(&["johnsmith"]));
    let john_groups = groups_of(john);
    assert_eq!(john_groups.len(), 1, "{john}");
    assert_eq!(john_groups[0].1, "platform", "{john}");
    let platform = w.get(&group_path(&john_groups[0].0)).await;
    assert_group(&platform);
    assert_eq!(member_ids(&platform), set(&[&id_of(john)]));

    // Kimberly: the existing account with her email; her displayName is her Docker ID.
    assert_eq!(kim["displayName"], "kimberly");
    assert_account(&w, kim, "kimberly").await;
    assert_eq!(hub_role(&w, "kimberly").await.as_deref(), Some("Member"));

    // Sam: the primary email of `emails`, and the Docker ID from it.
    assert_eq!(sam["userName"], SAM);
    assert_eq!(primary_email(sam), "sambrown@example.org");
    assert_eq!(sam["displayName"], "sambrown");
    assert_account(&w, sam, "sambrown").await;

    // Olive: the displayName she asked for is the owner's, so hers comes from her email.
    assert_eq!(olive["displayName"], "oliviaprime");
    assert_account(&w, olive, "oliviaprime").await;

    // Either media type is a SCIM body.
    let body = with(
        user_body("casey@example.org", "Casey", "Jones"),
        json!({"displayName": "casey"}),
    );
    let req = scim_request(&w.server, Some(&w.token), Method::POST, "/Users").json(&body);
    let (status, casey, _) = answer(req, &Method::POST).await;
    assert_eq!(status, StatusCode::CREATED, "{casey}");
    assert_user(&casey);
    assert_eq!(casey["displayName"], "casey");
    assert_eq!(&w.get(&user_path(&id_of(&casey))).await, &casey);

    // Refused, with nothing changed: neither the users nor the organization's members.
    let before = all_users(&w).await;
    let members_before = w.hub_get(&format!("/v2/orgs/{ORG}/members?page_size=100")).await;
    let conflict = StatusCode::CONFLICT;
    let bad = StatusCode::BAD_REQUEST;
    let no_schemas = with(
        user_body("fresh1@example.org", "F", "One"),
        json!({"schemas": null}),
    );
    let empty_schemas = with(
        user_body("fresh2@example.org", "F", "Two"),
        json!({"schemas": []}),
    );
    let group_schema = with(
        user_body("fresh3@example.org", "F", "Three"),
        json!({"schemas": [GROUP_SCHEMA]}),
    );
    let no_user_name = with(
        user_body("fresh4@example.org", "F", "Four"),
        json!({"userName": null}),
    );
    let empty_user_name = with(
        user_body("fresh5@example.org", "F", "Five"),
        json!({"userName": ""}),
    );
    let no_email = user_body("nomailuser", "No", "Mail");
    let empty_emails = with(user_body("nomailuser", "No", "Mail"), json!({"emails": []}));
    let god = with(
        user_body("fresh6@example.org", "F", "Six"),
        json!({DOCKER_SCHEMA: {"dockerRole": "god"}}),
    );
    for (body, status, scim_types) in [
        (
            user_body(&JANE.to_uppercase(), "Jane", "Again"),
            conflict,
            &["uniqueness"][..],
        ),
        (user_body(KIM, "Kim", "Again"), conflict, &["uniqueness"][..]),
        (no_schemas, bad, BAD_BODY),
        (empty_schemas, bad, BAD_BODY),
        (group_schema, bad, BAD_BODY),
        (no_user_name, bad, &[][..]),
        (empty_user_name, bad, &[][..]),
        (no_email, bad, &["invalidValue"][..]),
        (empty_emails, bad, &["invalidValue"][..]),
        (god, bad, &["invalidValue"][..]),
    ] {
        w.refused(Method::POST, "/Users", Some(body), status, scim_types)
            .await;
    }
    let req = scim_request(&w.server, Some(&w.token), Method::POST, "/Users")
        .header(CONTENT_TYPE, SCIM_JSON)
        .body("{\"schemas\": [");
    let (status, error, _) = answer(req, &Method::POST).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_scim_error(&error, status, &[]);
    assert_eq!(all_users(&w).await, before, "refusals change no user");
    let members_after = w.hub_get(&format!("/v2/orgs/{ORG}/members?page_size=100")).await;
    assert_eq!(members_after, members_before, "refusals change no membership");
}

/// `GET /Users`: filters (every operator, logic and grouping, case-insensitive names and
/// operators, value paths, sub-attributes, the URN-qualified form, times, `active`),
/// malformed filters, paging, sorting, `attributes` and `excludedAttributes`.
async fn users_list_filter_page_sort_attributes(backend: Backend) {
    let w = world(&backend).await;
    let users = cast(&w).await;
    let all = [JANE, JOHN, KIM, OLIVE, SAM];
    for (filter, expected) in [
        ("externalId pr", &all[..]),
        (r#"userName eq "jane.doe@example.org""#, &[JANE][..]),
        (r#"USERNAME EQ "jane.doe@example.org""#, &[JANE][..]),
        (r#"userName Eq "nobody@example.org""#, &[][..]),
        (
            r#"userName ne "jane.doe@example.org" and externalId pr"#,
            &[JOHN, KIM, OLIVE, SAM][..],
        ),
        (r#"userName co "smith""#, &[JOHN][..]),
        (r#"userName sw "j""#, &[JANE, JOHN][..]),
        (r#"userName ew "example.com""#, &[KIM][..]),
        (r#"externalId eq "ext-kim""#, &[KIM][..]),
        (
            r#"externalid PR and userName Co "o""#,
            &[JANE, JOHN, KIM, OLIVE, SAM][..],
        ),
        (r#"name.givenName eq "Jane""#, &[JANE][..]),
        (r#"Name.FamilyName sw "S""#, &[JOHN][..]),
        (
            r#"emails[type eq "work"].value eq "sambrown@example.org""#,
            &[SAM][..],
        ),
        (r#"emails.value eq "kimberly@example.com""#, &[KIM][..]),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "kimberly@example.com""#,
            &[KIM][..],
        ),
        ("active eq true and externalId pr", &all[..]),
        ("active eq false", &[][..]),
        (
            r#"not (userName sw "j") and externalId pr"#,
            &[KIM, OLIVE, SAM][..],
        ),
        (
            r#"(userName sw "j" or userName sw "k") and name.familyName eq "Doe""#,
            &[JANE][..],
        ),
        // `and` binds tighter than `or`.
        (
            r#"userName sw "k" or userName sw "j" and name.familyName eq "Doe""#,
            &[KIM, JANE][..],
        ),
        (
            r#"userName sw "j" AND NOT (name.familyName eq "Smith")"#,
            &[JANE][..],
        ),
    ] {
        assert_eq!(found(&w, filter).await, set(expected), "{filter}");
    }
    for filter in [
        "userName eq",
        r#"userName zz "x""#,
        r#"(userName eq "x""#,
        r#"userName eq "x")"#,
        r#"userName eq "x"#,
        r#"userName eq "x" and"#,
        r#"userName pr "x""#,
        r#"emails[type eq "work".value eq "x""#,
        "and",
    ] {
        let path = with_query("/Users", &[("filter", filter)]);
        w.refused(
            Method::GET,
            &path,
            None,
            StatusCode::BAD_REQUEST,
            &["invalidFilter"],
        )
        .await;
    }

    // Paging, in userName order.
    assert_eq!(users_page(&w, "1", "2", "ascending").await, [JANE, JOHN]);
    assert_eq!(users_page(&w, "3", "2", "ascending").await, [KIM, OLIVE]);
    assert_eq!(users_page(&w, "5", "2", "ascending").await, [SAM]);
    assert_eq!(users_page(&w, "6", "2", "ascending").await, Vec::<String>::new());
    assert_eq!(users_page(&w, "1", "200", "ascending").await, all);
    assert_eq!(users_page(&w, "2", "2", "descending").await, [OLIVE, KIM]);
    let counted = users_page(&w, "1", "0", "ascending").await;
    assert_eq!(counted, Vec::<String>::new(), "count=0 only counts");

    // Sorting.
    assert_eq!(user_names(&sorted_users(&w, "userName", "ascending").await), all);
    let mut backwards = all;
    backwards.reverse();
    assert_eq!(
        user_names(&sorted_users(&w, "userName", "descending").await),
        backwards
    );
    let by_family = [KIM, SAM, JANE, OLIVE, JOHN];
    assert_eq!(
        user_names(&sorted_users(&w, "name.familyName", "ascending").await),
        by_family
    );
    for (order, ascending) in [("ascending", true), ("descending", false)] {
        let times: Vec<_> = resources(&sorted_users(&w, "meta.created", order).await)
            .iter()
            .map(|u| parse_time(&u["meta"]["created"]))
            .collect();
        assert_eq!(times.len(), 5);
        let in_order = times.windows(2).all(|pair| {
            if ascending {
                pair[0] <= pair[1]
            } else {
                pair[0] >= pair[1]
            }
        });
        assert!(in_order, "meta.created {order}: {times:?}");
    }

    // attributes and excludedAttributes.
    let jane_filter = format!("userName eq \"{JANE}\"");
    let params = [
        ("filter", jane_filter.as_str()),
        ("attributes", "userName,emails"),
    ];
    let only = resources(&list(&w, "/Users", &params).await);
    assert_eq!(only.len(), 1);
    assert_eq!(
        keys(&only[0]),
        BTreeSet::from(["id", "schemas", "userName", "emails"]),
        "{}",
        only[0]
    );
    assert_eq!(only[0]["emails"], users[0]["emails"]);
    let params = [("filter", jane_filter.as_str()), ("excludedAttributes", "emails")];
    let without = resources(&list(&w, "/Users", &params).await);
    assert_eq!(without, [with(users[0].clone(), json!({"emails": null}))]);
    for (name, value) in [
        ("sortBy", "nosuchattr"),
        ("attributes", "userName,nosuchattr"),
        ("excludedAttributes", "nosuchattr"),
    ] {
        let path = with_query("/Users", &[(name, value)]);
        w.refused(Method::GET, &path, None, StatusCode::BAD_REQUEST, &[])
            .await;
    }

    // Times: only a later change is newer than every user.
    let newest = users
        .iter()
        .map(|u| {
            u["meta"]["lastModified"]
                .as_str()
                .expect("lastModified")
                .to_string()
        })
        .max_by_key(|t| parse_time(&json!(t)))
        .expect("users");
    let newer = format!("meta.lastModified gt \"{newest}\" and externalId pr");
    assert_eq!(found(&w, &newer).await, set(&[]));
    // Timestamps may have whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let op = json!([{"op": "replace", "path": "name.givenName", "value": "Janet"}]);
    let janet = patch_user(&w, &id_of(&users[0]), op).await;
    let changed = janet["meta"]["lastModified"].as_str().expect("lastModified");
    assert_eq!(found(&w, &newer).await, set(&[JANE]));
    let at_least = format!("meta.lastModified ge \"{changed}\" and externalId pr");
    assert_eq!(found(&w, &at_least).await, set(&[JANE]));
    let others = [JOHN, KIM, OLIVE, SAM];
    let earlier = format!("meta.lastModified lt \"{changed}\" and externalId pr");
    assert_eq!(found(&w, &earlier).await, set(&others));
    let at_most = format!("meta.lastModified le \"{newest}\" and externalId pr");
    assert_eq!(found(&w, &at_most).await, set(&others));

    // active.
    let op = json!([{"op": "replace", "value": {"active": false}}]);
    patch_user(&w, &id_of(&users[3]), op).await;
    assert_eq!(found(&w, "active eq false").await, set(&[SAM]));
    assert_eq!(
        found(&w, "active eq true and externalId pr").await,
        set(&[JANE, JOHN, KIM, OLIVE])
    );
}

/// PUT replaces a user (without `active` it deactivates); PATCH in its every form; bad
/// paths, values and operations refused as a whole; DELETE removes the user from the
/// organization but keeps the account, which a new POST attaches again.
async fn users_replace_patch_and_delete(backend: Backend) {
    let w = world(&backend).await;
    let users = cast(&w).await;
    let (jane_id, john_id, kim_id) = (id_of(&users[0]), id_of(&users[1]), id_of(&users[2]));
    let jane_path = user_path(&jane_id);

    // PUT replaces what it names; the Docker ID stays.
    let replacement = with(
        user_body("jane.roe@example.org", "Jane", "Roe"),
        json!({
            "emails": [{"value": "jane.roe@example.org", "type": "work", "primary": true}],
            "externalId": "ext-jane-2",
            DOCKER_SCHEMA: {"dockerRole": "editor"},
        }),
    );
    let jane = w.ok(Method::PUT, &jane_path, Some(replacement.clone())).await;
    assert_user(&jane);
    assert_eq!(jane["id"], users[0]["id"]);
    assert_eq!(jane["userName"], "jane.roe@example.org");
    assert_eq!(jane["name"]["familyName"], "Roe");
    assert_eq!(primary_email(&jane), "jane.roe@example.org");
    assert_eq!(jane["externalId"], "ext-jane-2");
    assert_eq!(jane["active"], true);
    assert_eq!(jane["displayName"], "janedoe");
    assert_eq!(docker(&jane)["dockerRole"], "editor");
    assert_eq!(jane["meta"]["created"], users[0]["meta"]["created"]);
    assert_eq!(w.get(&jane_path).await, jane);
    assert_eq!(hub_role(&w, "janedoe").await.as_deref(), Some("Editor"));

    // Refused PUTs change nothing.
    let taken = with(replacement.clone(), json!({"userName": JOHN.to_uppercase()}));
    let no_schemas = with(replacement.clone(), json!({"schemas": null}));
    let no_user_name = with(replacement.clone(), json!({"userName": null}));
    for (path, body, status, scim_types) in [
        (&jane_path, taken, StatusCode::CONFLICT, &["uniqueness"][..]),
        (&jane_path, no_schemas, StatusCode::BAD_REQUEST, BAD_BODY),
        (&jane_path, no_user_name, StatusCode::BAD_REQUEST, &[][..]),
        (
            &user_path("nosuchid"),
            replacement.clone(),
            StatusCode::NOT_FOUND,
            &[][..],
        ),
    ] {
        w.refused(Method::PUT, path, Some(body), status, scim_types).await;
    }
    assert_eq!(w.get(&jane_path).await, jane, "refused PUTs change nothing");

    // Without `active`, a PUT deactivates.
    let inactive = w
        .ok(
            Method::PUT,
            &jane_path,
            Some(with(replacement.clone(), json!({"active": null}))),
        )
        .await;
    assert_eq!(inactive["active"], false, "{inactive}");
    assert_eq!(w.get(&jane_path).await["active"], false);
    assert_eq!(hub_role(&w, "janedoe").await, None);
    let active = w.ok(Method::PUT, &jane_path, Some(replacement)).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(hub_role(&w, "janedoe").await.as_deref(), Some("Editor"));

    // PATCH, with and without a path, op names in any case.
    let kim_path = user_path(&kim_id);
    let kim = patch_user(
        &w,
        &kim_id,
        json!([{"op": "REPLACE", "path": "name.familyName", "value": "Baker"}]),
    )
    .await;
    assert_eq!(kim["name"]["familyName"], "Baker");
    assert_eq!(kim["name"]["givenName"], "Kimberly", "other sub-attributes stay");
    let kim = patch_user(
        &w,
        &kim_id,
        json!([{"op": "add", "value": {"externalId": "kim-added"}}]),
    )
    .await;
    assert_eq!(kim["externalId"], "kim-added");
    let kim = patch_user(
        &w,
        &kim_id,
        json!([{"op": "Replace", "path": "externalId", "value": "abc"}]),
    )
    .await;
    assert_eq!(kim["externalId"], "abc");
    let kim = patch_user(&w, &kim_id, json!([{"op": "remove", "path": "externalId"}])).await;
    assert!(kim["externalId"].is_null(), "{kim}");
    let op =
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "kim.work@example.org"}]);
    let kim = patch_user(&w, &kim_id, op).await;
    assert_eq!(primary_email(&kim), "kim.work@example.org");
    let op = json!([{"op": "Replace", "path": "userName", "value": "kim.new@example.org"}]);
    let kim = patch_user(&w, &kim_id, op).await;
    assert_eq!(kim["userName"], "kim.new@example.org");
    assert_eq!(kim["displayName"], "kimberly", "the Docker ID stays");
    let kim = patch_user(
        &w,
        &kim_id,
        json!([{"op": "replace", "path": ROLE_PATH, "value": "editor"}]),
    )
    .await;
    assert_eq!(docker(&kim)["dockerRole"], "editor");
    assert_eq!(hub_role(&w, "kimberly").await.as_deref(), Some("Editor"));
    let kim = patch_user(
        &w,
        &kim_id,
        json!([
            {"op": "replace", "path": "name.givenName", "value": "Kim"},
            {"op": "replace", "value": {"externalId": "kim-2", "name": {"givenName": "Kim", "familyName": "Baker"}}},
        ]),
    )
    .await;
    assert_eq!(
        (&kim["name"]["givenName"], &kim["externalId"]),
        (&json!("Kim"), &json!("kim-2"))
    );
    assert_eq!(w.get(&kim_path).await, kim);

    // Refused PATCHes change nothing, also when a good operation comes first.
    let good = json!({"op": "replace", "path": "name.givenName", "value": "Changed"});
    let promote = json!({"op": "replace", "path": ROLE_PATH, "value": "owner"});
    let no_schemas = json!({"Operations": [good.clone()]});
    for (body, scim_types) in [
        (
            patch(json!([{"op": "replace", "path": "nosuchattr", "value": "x"}])),
            &["invalidPath"][..],
        ),
        (
            patch(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
            &["invalidPath"][..],
        ),
        (
            patch(json!([{"op": "Replace", "path": "active", "value": "maybe"}])),
            &["invalidValue"][..],
        ),
        (
            patch(json!([{"op": "replace", "path": ROLE_PATH, "value": "god"}])),
            &["invalidValue"][..],
        ),
        (
            patch(json!([good.clone(), {"op": "replace", "path": "nosuchattr", "value": "x"}])),
            &["invalidPath"][..],
        ),
        (
            patch(json!([promote.clone(), {"op": "replace", "path": "active", "value": "maybe"}])),
            &["invalidValue"][..],
        ),
        (
            patch(json!([good.clone(), {"op": "frobnicate", "path": "externalId", "value": "x"}])),
            &[][..],
        ),
        (no_schemas, BAD_BODY),
    ] {
        w.refused(
            Method::PATCH,
            &kim_path,
            Some(body),
            StatusCode::BAD_REQUEST,
            scim_types,
        )
        .await;
    }
    assert_eq!(w.get(&kim_path).await, kim, "refused PATCHes change nothing");
    assert_eq!(hub_role(&w, "kimberly").await.as_deref(), Some("Editor"));
    let body = Some(patch(json!([good])));
    w.refused(
        Method::PATCH,
        &user_path("nosuchid"),
        body,
        StatusCode::NOT_FOUND,
        &[],
    )
    .await;

    // DELETE: out of the organization, the account kept; a new POST attaches it again.
    let john_path = user_path(&john_id);
    w.delete(&john_path).await;
    w.refused(Method::GET, &john_path, None, StatusCode::NOT_FOUND, &[])
        .await;
    w.refused(Method::DELETE, &john_path, None, StatusCode::NOT_FOUND, &[])
        .await;
    assert_eq!(hub_role(&w, "johnsmith").await, None);
    assert!(!found(&w, "externalId pr").await.contains(JOHN));
    w.hub_get("/v2/users/johnsmith").await;
    let again = provision(&w, user_body(JOHN, "John", "Smith")).await;
    assert_eq!(again["id"], users[1]["id"], "the same account");
    assert_eq!(again["displayName"], "johnsmith");
    assert_eq!(hub_role(&w, "johnsmith").await.as_deref(), Some("Member"));
}

/// Groups: the organization's teams, created (with an `ORG:` prefix or without), listed
/// and filtered, replaced, patched and deleted, with members that must be users of the
/// organization; every refusal changes nothing.
async fn groups_crud_filters_and_bad_input(backend: Backend) {
    let w = world(&backend).await;
    let users = cast(&w).await;
    let (jane, john) = (id_of(&users[0]), id_of(&users[1]));
    let legacy = json!({"name": "legacy"});
    let path = format!("/v2/orgs/{ORG}/groups");
    w.server
        .expect(
            Method::POST,
            &path,
            Some(&w.owner),
            Some(legacy),
            StatusCode::CREATED,
        )
        .await;

    // A team made through the Hub API is a group too.
    let page = list(&w, "/Groups", &[]).await;
    let names: BTreeSet<String> = resources(&page)
        .iter()
        .map(|g| g["displayName"].as_str().expect("displayName").to_string())
        .collect();
    assert!(names.contains("legacy") && names.contains("platform"), "{page}");

    let body = with(
        group_body("acme:devs", &[&jane]),
        json!({"externalId": "grp-devs"}),
    );
    let devs = create_group(&w, body).await;
    let devs_id = id_of(&devs);
    let devs_path = group_path(&devs_id);
    assert_eq!(devs["displayName"], "acme:devs", "the name as it was sent");
    assert_eq!(devs["externalId"], "grp-devs");
    assert_eq!(member_ids(&devs), set(&[&jane]));
    assert_eq!(w.get(&devs_path).await, devs);
    assert_eq!(
        team_members(&w, "devs").await,
        set(&["janedoe"]),
        "the prefix is stripped"
    );
    let jane_user = w.get(&user_path(&jane)).await;
    assert!(
        groups_of(&jane_user).contains(&(devs_id.clone(), "devs".to_string())),
        "{jane_user}"
    );
    let plain = create_group(&w, group_body("plain", &[])).await;
    assert_eq!(plain["displayName"], "plain");
    assert_eq!(member_ids(&plain), set(&[]));
    w.hub_get(&format!("/v2/orgs/{ORG}/groups/plain")).await;

    // Filters.
    assert_eq!(
        groups_found(&w, r#"displayName eq "acme:devs""#).await,
        set(&[&devs_id])
    );
    assert_eq!(
        groups_found(&w, r#"externalId eq "grp-devs""#).await,
        set(&[&devs_id])
    );
    let member_filter = format!("members.value eq \"{jane}\"");
    assert_eq!(groups_found(&w, &member_filter).await, set(&[&devs_id]));
    assert_eq!(
        groups_found(&w, r#"displayName eq "nosuchgroup""#).await,
        set(&[])
    );
    let path = with_query("/Groups", &[("filter", "displayName eq")]);
    w.refused(
        Method::GET,
        &path,
        None,
        StatusCode::BAD_REQUEST,
        &["invalidFilter"],
    )
    .await;

    // Refused creations.
    group_creation_refusals(&w, &john).await;

    // PUT replaces the name, externalId and members.
    let body = with(
        group_body("acme:developers", &[&john]),
        json!({"externalId": "grp-dev-2"}),
    );
    let developers = w.ok(Method::PUT, &devs_path, Some(body)).await;
    assert_group(&developers);
    assert_eq!(developers["id"], devs["id"]);
    assert_eq!(developers["displayName"], "acme:developers");
    assert_eq!(developers["externalId"], "grp-dev-2");
    assert_eq!(member_ids(&developers), set(&[&john]));
    assert_eq!(w.get(&devs_path).await, developers);
    assert_eq!(team_members(&w, "developers").await, set(&["johnsmith"]));
    w.hub_missing(&format!("/v2/orgs/{ORG}/groups/devs")).await;
    let jane_user = w.get(&user_path(&jane)).await;
    assert!(
        groups_of(&jane_user).iter().all(|(id, _)| *id != devs_id),
        "{jane_user}"
    );

    // Refused PATCHes change nothing, also when a good operation comes first.
    let add_jane = json!({"op": "add", "path": "members", "value": [{"value": jane}]});
    let unknown = json!({"op": "add", "path": "members", "value": [{"value": "nosuchid"}]});
    for (operations, scim_types) in [
        (json!([unknown.clone()]), &["invalidValue"][..]),
        (json!([add_jane.clone(), unknown]), &["invalidValue"][..]),
        (
            json!([{"op": "replace", "path": "nosuchattr", "value": "x"}]),
            &["invalidPath"][..],
        ),
        (
            json!([add_jane.clone(), {"op": "remove", "path": "members[value eq"}]),
            &["invalidPath"][..],
        ),
    ] {
        let body = Some(patch(operations));
        w.refused(
            Method::PATCH,
            &devs_path,
            body,
            StatusCode::BAD_REQUEST,
            scim_types,
        )
        .await;
    }
    assert_eq!(
        w.get(&devs_path).await,
        developers,
        "refused PATCHes change nothing"
    );
    assert_eq!(team_members(&w, "developers").await, set(&["johnsmith"]));

    let op = json!([{"op": "Replace", "path": "externalId", "value": "grp-x"}]);
    assert_eq!(patch_group(&w, &devs_id, op).await["externalId"], "grp-x");
    let both = patch_group(&w, &devs_id, json!([add_jane])).await;
    assert_eq!(member_ids(&both), set(&[&jane, &john]));
    assert_eq!(
        team_members(&w, "developers").await,
        set(&["janedoe", "johnsmith"])
    );

    // DELETE: the team goes, its members stay in the organization.
    w.delete(&devs_path).await;
    w.refused(Method::GET, &devs_path, None, StatusCode::NOT_FOUND, &[])
        .await;
    w.refused(Method::DELETE, &devs_path, None, StatusCode::NOT_FOUND, &[])
        .await;
    w.hub_missing(&format!("/v2/orgs/{ORG}/groups/developers")).await;
    assert_eq!(hub_role(&w, "janedoe").await.as_deref(), Some("Member"));
    assert_eq!(hub_role(&w, "johnsmith").await.as_deref(), Some("Editor"));
    let jane_user = w.get(&user_path(&jane)).await;
    assert!(
        groups_of(&jane_user).iter().all(|(id, _)| *id != devs_id),
        "{jane_user}"
    );
}

/// The group creations [`groups_crud_filters_and_bad_input`] must see refused (`member` is
/// a user of the organization), each changing nothing.
async fn group_creation_refusals(w: &World, member: &str) {
    let s = &w.server;
    s.create_user(OTHER_OWNER).await;
    s.create_org(OTHER_ORG, OTHER_OWNER).await;
    s.create_user("oscar").await;
    let outsider = id_of(&w.hub_get("/v2/users/oscar").await);
    let before = list(w, "/Groups", &[]).await;
    let conflict = StatusCode::CONFLICT;
    let bad = StatusCode::BAD_REQUEST;
    let no_schemas = with(group_body("fresh", &[]), json!({"schemas": null}));
    let user_schema = with(group_body("fresh", &[]), json!({"schemas": [USER_SCHEMA]}));
    let no_name = with(group_body("fresh", &[]), json!({"displayName": null}));
    for (body, status, scim_types) in [
        (group_body("devs", &[]), conflict, &["uniqueness"][..]),
        (group_body("acme:devs", &[member]), conflict, &["uniqueness"][..]),
        (group_body("legacy", &[]), conflict, &["uniqueness"][..]),
        (group_body("globex:fresh", &[]), bad, &[][..]),
        (group_body("fresh", &["nosuchid"]), bad, &["invalidValue"][..]),
        (
            group_body("fresh", &[member, &outsider]),
            bad,
            &["invalidValue"][..],
        ),
        (no_schemas, bad, BAD_BODY),
        (user_schema, bad, BAD_BODY),
        (no_name, bad, &[][..]),
    ] {
        w.refused(Method::POST, "/Groups", Some(body), status, scim_types)
            .await;
    }
    assert_eq!(list(w, "/Groups", &[]).await, before, "refusals change nothing");
    w.hub_missing(&format!("/v2/orgs/{ORG}/groups/fresh")).await;
}

/// Okta's SCIM 2.0 sequence: look the user up, create, read, replace (new name),
/// deactivate and reactivate by PATCH without a path; then Push Groups: create with a
/// member, add and remove members, rename, delete.
async fn okta_sequence(backend: Backend) {
    let w = world(&backend).await;
    let user_name = "test.user@okta.local";
    let lookup = format!("userName eq \"{user_name}\"");
    let params = [("filter", lookup.as_str()), ("startIndex", "1"), ("count", "100")];
    let empty = list(&w, "/Users", &params).await;
    assert_eq!(
        (&empty["totalResults"], &empty["startIndex"]),
        (&json!(0), &json!(1)),
        "{empty}"
    );

    let okta_user = |given: &str, family: &str, name: &str, external: &str| {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": true, "value": name, "type": "work"}],
            "displayName": format!("{given} {family}"),
            "locale": "en-US",
            "externalId": external,
            "groups": [],
            "password": "1mz050nq",
            "active": true,
        })
    };
    let created = provision(&w, okta_user("Test", "User", user_name, "00ujl29u0le5T6Aj10h7")).await;
    let id = id_of(&created);
    assert_eq!(created["userName"], user_name);
    assert_eq!(created["name"]["givenName"], "Test");
    assert_eq!(created["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(created["active"], true);
    let username = created["displayName"].as_str().expect("displayName").to_string();
    assert_account(&w, &created, &username).await;
    assert_eq!(hub_role(&w, &username).await.as_deref(), Some("Member"));
    assert_eq!(w.get(&user_path(&id)).await, created);
    let page = list(&w, "/Users", &params).await;
    assert_eq!(resources(&page), std::slice::from_ref(&created));

    // Okta replaces the whole user, sending back what it read.
    let mut body = with(
        created.clone(),
        json!({"password": "1mz050nq", "locale": "en-US"}),
    );
    body["name"] = json!({"givenName": "Another", "familyName": "User"});
    let replaced = w.ok(Method::PUT, &user_path(&id), Some(body)).await;
    assert_user(&replaced);
    assert_eq!(replaced["name"]["givenName"], "Another");
    assert_eq!(
        (&replaced["active"], &replaced["displayName"]),
        (&json!(true), &json!(username))
    );
    assert_eq!(hub_role(&w, &username).await.as_deref(), Some("Member"));

    let off = patch_user(&w, &id, json!([{"op": "replace", "value": {"active": false}}])).await;
    assert_eq!(off["active"], false);
    assert_eq!(hub_role(&w, &username).await, None);
    let on = patch_user(&w, &id, json!([{"op": "replace", "value": {"active": true}}])).await;
    assert_eq!(on["active"], true);
    assert_eq!(hub_role(&w, &username).await.as_deref(), Some("Member"));

    // Push Groups.
    let second = provision(
        &w,
        okta_user("Second", "User", "second.user@okta.local", "00ujl29u0le5T6Aj10h8"),
    )
    .await;
    let second_id = id_of(&second);
    let second_name = second["displayName"].as_str().expect("displayName").to_string();
    let lookup = list(
        &w,
        "/Groups",
        &[("filter", "displayName eq \"acme:okta-engineers\"")],
    )
    .await;
    assert_eq!(lookup["totalResults"], 0, "{lookup}");
    let group = create_group(
        &w,
        json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": "acme:okta-engineers",
            "members": [{"value": id, "display": user_name}],
        }),
    )
    .await;
    let group_id = id_of(&group);
    assert_eq!(group["displayName"], "acme:okta-engineers");
    assert_eq!(member_ids(&group), set(&[&id]));
    assert_eq!(team_members(&w, "okta-engineers").await, set(&[&username]));

    let op = json!([{"op": "add", "path": "members", "value": [{"value": second_id, "display": "second.user@okta.local"}]}]);
    let added = patch_group(&w, &group_id, op).await;
    assert_eq!(member_ids(&added), set(&[&id, &second_id]));
    assert_eq!(
        team_members(&w, "okta-engineers").await,
        set(&[&username, &second_name])
    );
    let second_user = w.get(&user_path(&second_id)).await;
    assert_eq!(
        groups_of(&second_user),
        [(group_id.clone(), "okta-engineers".to_string())]
    );

    let op = json!([{"op": "remove", "path": format!("members[value eq \"{second_id}\"]")}]);
    let removed = patch_group(&w, &group_id, op).await;
    assert_eq!(member_ids(&removed), set(&[&id]));
    assert_eq!(team_members(&w, "okta-engineers").await, set(&[&username]));
    assert_eq!(w.get(&user_path(&second_id)).await["groups"], json!([]));

    let op = json!([{"op": "replace", "value": {"id": group_id, "displayName": "acme:okta-platform"}}]);
    let renamed = patch_group(&w, &group_id, op).await;
    assert_eq!(renamed["displayName"], "acme:okta-platform");
    assert_eq!(team_members(&w, "okta-platform").await, set(&[&username]));
    w.hub_missing(&format!("/v2/orgs/{ORG}/groups/okta-engineers"))
        .await;
    let user = w.get(&user_path(&id)).await;
    assert_eq!(
        groups_of(&user),
        [(group_id.clone(), "okta-platform".to_string())]
    );

    w.delete(&group_path(&group_id)).await;
    w.refused(
        Method::GET,
        &group_path(&group_id),
        None,
        StatusCode::NOT_FOUND,
        &[],
    )
    .await;
    w.hub_missing(&format!("/v2/orgs/{ORG}/groups/okta-platform"))
        .await;
    assert_eq!(hub_role(&w, &username).await.as_deref(), Some("Member"));
    assert_eq!(w.get(&user_path(&id)).await["groups"], json!([]));
}

/// Microsoft Entra ID's sequence (the "Develop and plan provisioning for a SCIM endpoint"
/// tutorial): look the user up, create with the enterprise extension (ignored), update
/// with several Replace operations, disable and enable with string booleans, delete; then
/// groups: look up without members, create, add members, remove members by value list,
/// rename, new externalId, delete.
async fn entra_sequence(backend: Backend) {
    let w = world(&backend).await;
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
    let lookup = format!("userName eq \"{user_name}\"");
    assert_eq!(found(&w, &lookup).await, set(&[]));

    let email = "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com";
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        ENTERPRISE_SCHEMA: {"employeeNumber": "701984", "department": "Tour Operations"},
    });
    let created = provision(&w, body).await;
    let id = id_of(&created);
    let path = user_path(&id);
    assert_eq!(created["userName"], user_name);
    assert_eq!(created["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert!(primary_email(&created).eq_ignore_ascii_case(email), "{created}");
    assert_eq!(created["name"]["familyName"], "familyName");
    let username = created["displayName"].as_str().expect("displayName").to_string();
    assert_account(&w, &created, &username).await;
    assert_eq!(hub_role(&w, &username).await.as_deref(), Some("Member"));
    assert_eq!(found(&w, &lookup).await, set(&[user_name]));
    assert_eq!(w.get(&path).await, created);

    let updated = patch_user(
        &w,
        &id,
        json!([
            {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.givenName", "value": "updatedGivenName"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Replace", "path": "externalId", "value": "3f0c2d1b-updated"},
        ]),
    )
    .await;
    assert_eq!(
        updated["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    assert!(
        primary_email(&updated).eq_ignore_ascii_case("updatedEmail@microsoft.com"),
        "{updated}"
    );
    assert_eq!(updated["name"]["givenName"], "updatedGivenName");
    assert_eq!(updated["name"]["familyName"], "updatedFamilyName");
    assert_eq!(updated["externalId"], "3f0c2d1b-updated");
    assert_eq!(updated["displayName"], json!(username), "the Docker ID stays");
    let op =
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "entra.user@example.org"}]);
    assert_eq!(
        primary_email(&patch_user(&w, &id, op).await),
        "entra.user@example.org"
    );

    let off = patch_user(
        &w,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(off["active"], false);
    assert_eq!(hub_role(&w, &username).await, None);
    let on = patch_user(
        &w,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .await;
    assert_eq!(on["active"], true);
    assert_eq!(hub_role(&w, &username).await.as_deref(), Some("Member"));

    w.delete(&path).await;
    w.refused(Method::GET, &path, None, StatusCode::NOT_FOUND, &[])
        .await;
    assert_eq!(hub_role(&w, &username).await, None);

    // Groups.
    let mut members = Vec::new();
    for (name, given) in [("entra.one@example.org", "One"), ("entra.two@example.org", "Two")] {
        let body = with(
            user_body(name, given, "Entra"),
            json!({"emails": [{"primary": true, "type": "work", "value": name}], "externalId": name}),
        );
        members.push(provision(&w, body).await);
    }
    let (one, two) = (id_of(&members[0]), id_of(&members[1]));
    let usernames: Vec<String> = members
        .iter()
        .map(|u| u["displayName"].as_str().expect("displayName").to_string())
        .collect();
    assert_eq!(groups_named(&w, "Group1DisplayName").await, Vec::<Value>::new());
    let group = create_group(
        &w,
        json!({
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Group1DisplayName",
            "schemas": [GROUP_SCHEMA],
            "members": [],
            "meta": {"resourceType": "Group"},
        }),
    )
    .await;
    let group_id = id_of(&group);
    assert_eq!(group["displayName"], "Group1DisplayName");
    assert_eq!(group["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(member_ids(&group), set(&[]));
    assert_eq!(team_members(&w, "Group1DisplayName").await, set(&[]));
    let looked_up = groups_named(&w, "Group1DisplayName").await;
    assert_eq!(looked_up.len(), 1, "{looked_up:?}");
    assert_eq!(looked_up[0]["id"], group["id"]);
    assert!(
        looked_up[0].get("members").is_none(),
        "members excluded: {}",
        looked_up[0]
    );
    let external = r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#;
    assert_eq!(groups_found(&w, external).await, set(&[&group_id]));

    let op = json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": one}, {"$ref": null, "value": two}]}]);
    let added = patch_group(&w, &group_id, op).await;
    assert_eq!(member_ids(&added), set(&[&one, &two]));
    assert_eq!(
        team_members(&w, "Group1DisplayName").await,
        set(&[&usernames[0], &usernames[1]])
    );
    let filter = format!("members.value eq \"{one}\"");
    assert_eq!(groups_found(&w, &filter).await, set(&[&group_id]));

    let op = json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": one}]}]);
    let removed = patch_group(&w, &group_id, op).await;
    assert_eq!(member_ids(&removed), set(&[&two]));
    assert_eq!(team_members(&w, "Group1DisplayName").await, set(&[&usernames[1]]));
    assert_eq!(groups_found(&w, &filter).await, set(&[]));

    let op = json!([{"op": "Replace", "path": "displayName", "value": "Group2DisplayName"}]);
    let renamed = patch_group(&w, &group_id, op).await;
    assert_eq!(renamed["displayName"], "Group2DisplayName");
    assert_eq!(team_members(&w, "Group2DisplayName").await, set(&[&usernames[1]]));
    w.hub_missing(&format!("/v2/orgs/{ORG}/groups/Group1DisplayName"))
        .await;
    let op = json!([{"op": "Replace", "path": "externalId", "value": "a1b2c3d4-new"}]);
    assert_eq!(patch_group(&w, &group_id, op).await["externalId"], "a1b2c3d4-new");

    w.delete(&group_path(&group_id)).await;
    w.refused(
        Method::GET,
        &group_path(&group_id),
        None,
        StatusCode::NOT_FOUND,
        &[],
    )
    .await;
    w.hub_missing(&format!("/v2/orgs/{ORG}/groups/Group2DisplayName"))
        .await;
}

/// Deprovisioning takes effect on the next request: after a PUT without `active`, a PATCH
/// `active` false or a DELETE, the user's Hub session no longer reads the organization and
/// the registry no longer lets them pull its private repository (with a new token or one
/// issued before); reactivation restores membership with the Docker role.
async fn deprovisioning_is_immediate(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    let session = s.user_with_token(DANA).await;
    let owner = Registry::login(s, Some((OWNER, PASSWORD)), &[REPO], "pull,push").await;
    owner.push_image(REPO, TAG).await;
    let repo = w
        .hub_get(&format!("/v2/namespaces/{ORG}/repositories/secret"))
        .await;
    assert_eq!(repo["is_private"], true, "{repo}");
    assert!(!reads_org(s, &session).await);
    assert_pull(s, DANA, false).await;

    let body = with(
        user_body("dana@example.com", "Dana", "Scully"),
        json!({DOCKER_SCHEMA: {"dockerRole": "editor"}}),
    );
    let dana = provision(&w, body.clone()).await;
    assert_eq!(dana["displayName"], DANA);
    let id = id_of(&dana);
    let path = user_path(&id);
    assert_dana_restored(&w, &session).await;

    // A PUT without `active`.
    let issued = dana_pull_token(s).await;
    let user = w
        .ok(Method::PUT, &path, Some(with(body, json!({"active": null}))))
        .await;
    assert_eq!(user["active"], false, "{user}");
    assert_dana_cut_off(&w, &session, &issued).await;
    assert_eq!(
        w.get(&path).await["active"],
        false,
        "a deactivated user is still there"
    );
    assert_eq!(found(&w, "active eq false").await, set(&["dana@example.com"]));
    let user = patch_user(
        &w,
        &id,
        json!([{"op": "replace", "path": "active", "value": true}]),
    )
    .await;
    assert_eq!(
        (&user["active"], &docker(&user)["dockerRole"]),
        (&json!(true), &json!("editor"))
    );
    assert_dana_restored(&w, &session).await;

    // Okta's PATCH, and Entra's to reactivate.
    let issued = dana_pull_token(s).await;
    patch_user(&w, &id, json!([{"op": "replace", "value": {"active": false}}])).await;
    assert_dana_cut_off(&w, &session, &issued).await;
    assert_eq!(w.get(&path).await["active"], false);
    patch_user(
        &w,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .await;
    assert_dana_restored(&w, &session).await;

    // DELETE: the account stays, outside the organization.
    let issued = dana_pull_token(s).await;
    w.delete(&path).await;
    assert_dana_cut_off(&w, &session, &issued).await;
    w.refused(Method::GET, &path, None, StatusCode::NOT_FOUND, &[])
        .await;
    let me = s
        .expect(Method::GET, "/v2/user", Some(&session), None, StatusCode::OK)
        .await;
    assert_eq!(me["username"], DANA, "the account and its session remain");
}

/// A registry token of [`DANA`]'s, issued while she is an editor, which pulls [`REPO`].
async fn dana_pull_token(server: &Server) -> String {
    let (token, _) = pull_token(server, DANA)
        .await
        .expect("a registry token for a member");
    assert!(pulls(server, &token).await, "an editor pulls {REPO}");
    token
}

/// Asserts that [`DANA`] (with Hub session `session`) is an editor of [`ORG`] again.
async fn assert_dana_restored(w: &World, session: &str) {
    assert!(
        reads_org(&w.server, session).await,
        "a member reads the organization"
    );
    assert_eq!(hub_role(w, DANA).await.as_deref(), Some("Editor"));
    assert_pull(&w.server, DANA, true).await;
}

/// Asserts that [`DANA`] has lost [`ORG`]: her Hub session `session`, a new registry token
/// and `issued`, a registry token issued before, no longer reach it.
async fn assert_dana_cut_off(w: &World, session: &str, issued: &str) {
    let s = &w.server;
    assert!(
        !reads_org(s, session).await,
        "a deprovisioned user's session reads the organization"
    );
    assert_eq!(hub_role(w, DANA).await, None);
    assert_pull(s, DANA, false).await;
    assert!(
        !pulls(s, issued).await,
        "a registry token issued before still pulls"
    );
}

/// Every provisioning change is audited in the organization's log, by
/// `scim-provisioning` with the SCIM token; a new account also in its own log; refusals
/// record nothing.
async fn audit_of_provisioning_changes(backend: Backend) {
    let w = world(&backend).await;
    let s = &w.server;
    s.create_user("erin").await;

    // A new account: added to the organization, and created.
    let body = with(
        user_body("newbie@example.org", "New", "Bie"),
        json!({"displayName": "newbie"}),
    );
    let (newbie, events) = recorded(s, ORG, provision(&w, body)).await;
    assert_scim_events(&events, &[("org.member.add", "newbie")]);
    let created: Vec<AuditRow> = s
        .audit_events("newbie")
        .await
        .into_iter()
        .filter(|e| e.action == "account.create")
        .collect();
    assert_scim_events(&created, &[("account.create", "newbie")]);
    let id = id_of(&newbie);

    // An existing account: added, not created.
    let (erin, events) = recorded(
        s,
        ORG,
        provision(&w, user_body("erin@example.com", "Erin", "Early")),
    )
    .await;
    assert_scim_events(&events, &[("org.member.add", "erin")]);
    let erin_log = s.audit_events("erin").await;
    assert!(
        erin_log.iter().all(|e| e.actor != SCIM_ACTOR),
        "an existing account is not created again: {erin_log:#?}"
    );

    // A Docker team: created, and joined.
    let body = with(
        user_body("builder@example.org", "Bob", "Builder"),
        json!({"displayName": "builder", DOCKER_SCHEMA: {"dockerTeam": "builders"}}),
    );
    let (_, events) = recorded(s, ORG, provision(&w, body)).await;
    assert_scim_events(
        &events,
        &[
            ("org.member.add", "builder"),
            ("org.team.create", "builders"),
            ("org.team.member.add", "builder"),
        ],
    );

    // Attribute changes.
    let update = [("org.member.scim.update", "newbie")];
    for op in [
        json!({"op": "replace", "path": "name.givenName", "value": "Newer"}),
        json!({"op": "replace", "path": "externalId", "value": "ext-newbie"}),
        json!({"op": "replace", "path": "userName", "value": "newbie.renamed@example.org"}),
        json!({"op": "add", "path": "emails[type eq \"work\"].value", "value": "newbie.work@example.org"}),
    ] {
        let (_, events) = recorded(s, ORG, patch_user(&w, &id, json!([op]))).await;
        assert_scim_events(&events, &update);
    }
    let mut body = w.get(&user_path(&id)).await;
    body["name"]["familyName"] = json!("Replaced");
    let (_, events) = recorded(s, ORG, w.ok(Method::PUT, &user_path(&id), Some(body))).await;
    assert_scim_events(&events, &update);

    // Role and membership.
    let op = json!([{"op": "replace", "path": ROLE_PATH, "value": "editor"}]);
    let (_, events) = recorded(s, ORG, patch_user(&w, &id, op)).await;
    assert_scim_events(&events, &[("org.member.role.change", "newbie")]);
    let op = json!([{"op": "replace", "path": "active", "value": false}]);
    let (_, events) = recorded(s, ORG, patch_user(&w, &id, op)).await;
    assert_scim_events(&events, &[("org.member.remove", "newbie")]);
    let op = json!([{"op": "replace", "path": "active", "value": true}]);
    let (_, events) = recorded(s, ORG, patch_user(&w, &id, op)).await;
    assert_scim_events(&events, &[("org.member.add", "newbie")]);
    let body = with(w.get(&user_path(&id)).await, json!({"active": null}));
    let (_, events) = recorded(s, ORG, w.ok(Method::PUT, &user_path(&id), Some(body))).await;
    assert_scim_events(&events, &[("org.member.remove", "newbie")]);
    let op = json!([{"op": "Replace", "path": "active", "value": "True"}]);
    let (_, events) = recorded(s, ORG, patch_user(&w, &id, op)).await;
    assert_scim_events(&events, &[("org.member.add", "newbie")]);

    // Refusals record nothing.
    let bad = patch(json!([
        {"op": "replace", "path": ROLE_PATH, "value": "owner"},
        {"op": "replace", "path": "nosuchattr", "value": "x"},
    ]));
    let bad_path = user_path(&id);
    let refusal = w.refused(Method::PATCH, &bad_path, Some(bad), StatusCode::BAD_REQUEST, &[]);
    let (_, events) = recorded(s, ORG, refusal).await;
    assert_scim_events(&events, &[]);

    // Groups.
    let body = group_body("acme:crew", &[&id_of(&erin)]);
    let (crew, events) = recorded(s, ORG, create_group(&w, body)).await;
    assert_scim_events(
        &events,
        &[("org.team.create", "crew"), ("org.team.member.add", "erin")],
    );
    let crew_id = id_of(&crew);
    let op = json!([{"op": "add", "path": "members", "value": [{"value": id}]}]);
    let (_, events) = recorded(s, ORG, patch_group(&w, &crew_id, op)).await;
    assert_scim_events(&events, &[("org.team.member.add", "newbie")]);
    let op = json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
    let (_, events) = recorded(s, ORG, patch_group(&w, &crew_id, op)).await;
    assert_scim_events(&events, &[("org.team.member.remove", "newbie")]);
    let op = json!([{"op": "replace", "value": {"id": crew_id, "displayName": "acme:crew2"}}]);
    let (_, events) = recorded(s, ORG, patch_group(&w, &crew_id, op)).await;
    assert_scim_events(&events, &[("org.team.update", "crew2")]);
    let op = json!([{"op": "Replace", "path": "externalId", "value": "grp-crew"}]);
    let (_, events) = recorded(s, ORG, patch_group(&w, &crew_id, op)).await;
    assert_scim_events(&events, &[("org.team.update", "crew2")]);
    let (_, events) = recorded(s, ORG, w.delete(&group_path(&crew_id))).await;
    assert_scim_events(&events, &[("org.team.delete", "crew2")]);

    // DELETE of the user.
    let (_, events) = recorded(s, ORG, w.delete(&user_path(&id))).await;
    assert_scim_events(&events, &[("org.member.remove", "newbie")]);
}

/// Oversized requests: more PATCH operations than allowed (400 `tooMany`) and a body over
/// the limit (413), in SCIM's envelope and changing nothing; a page asked larger than
/// `maxResults` holds at most 200; and the same list by `POST /Users/.search`.
async fn limits_request_sizes(backend: Backend) {
    let w = world(&backend).await;
    let jane = provision(&w, user_body(JANE, "Jane", "Doe")).await;
    let path = user_path(&id_of(&jane));
    let operations: Vec<Value> = (0..101)
        .map(|i| json!({"op": "replace", "path": "name.givenName", "value": format!("name{i}")}))
        .collect();
    let too_many = patch(Value::Array(operations));
    w.refused(
        Method::PATCH,
        &path,
        Some(too_many),
        StatusCode::BAD_REQUEST,
        &["tooMany"],
    )
    .await;
    let mut huge = user_body(JANE, "Jane", "Doe");
    huge["name"]["givenName"] = json!("x".repeat(70 * 1024));
    w.refused(Method::PUT, &path, Some(huge), StatusCode::PAYLOAD_TOO_LARGE, &[])
        .await;
    assert_eq!(w.get(&path).await, jane, "refused requests changed nothing");

    for i in 0..205 {
        provision(&w, user_body(&format!("bulk{i}@example.org"), "Bulk", "User")).await;
    }
    let page = list(&w, "/Users", &[("count", "1000")]).await;
    assert_eq!(page["totalResults"], 206, "{page}");
    assert_eq!(resources(&page).len(), 200, "at most maxResults");
    assert_eq!(page["itemsPerPage"], 200, "{page}");
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("userName eq \"{JANE}\""),
        "attributes": ["userName"],
    });
    let (found, _) = w
        .send(Method::POST, "/Users/.search", Some(search), StatusCode::OK)
        .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(
        resources(&found)[0],
        json!({"schemas": jane["schemas"], "id": jane["id"], "userName": JANE}),
        "{found}"
    );
    // Across resource types: users, then groups; a filter on userName leaves groups out.
    create_group(&w, group_body("devs", &[])).await;
    let everything = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "startIndex": 206,
        "count": 10,
    });
    let (page, _) = w
        .send(Method::POST, "/.search", Some(everything), StatusCode::OK)
        .await;
    assert_eq!(page["totalResults"], 207, "{page}");
    let found_here = resources(&page);
    assert_eq!(found_here.len(), 2, "the last user, then the group: {page}");
    assert_eq!(found_here[1]["displayName"], "devs", "{page}");
    let only_jane = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("userName eq \"{JANE}\""),
    });
    let (page, _) = w
        .send(Method::POST, "/.search", Some(only_jane), StatusCode::OK)
        .await;
    assert_eq!(page["totalResults"], 1, "{page}");
}

crate::both_backends!(
    token_minting_rotation_and_isolation,
    discovery_documents,
    users_create_and_read,
    users_list_filter_page_sort_attributes,
    users_replace_patch_and_delete,
    groups_crud_filters_and_bad_input,
    okta_sequence,
    entra_sequence,
    deprovisioning_is_immediate,
    audit_of_provisioning_changes,
    limits_request_sizes,
);
