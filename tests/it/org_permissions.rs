//! The permission matrix of the organizations feature: every route of it, called by every
//! kind of caller, against an expected status written down cell by cell from the rules
//! tables in the module docs of `src/domain/policy.rs` (and the order in which the domain
//! operations look things up: an unknown organization is a 404 before any role check, an
//! invite that is not the caller's is a 404 after the token check). Any cell that differs,
//! an unexpected allow as much as an unexpected refusal, fails the test; all differing
//! cells are listed together.
//!
//! Every cell also checks the audit log of the organization concerned: a refusal records
//! nothing, a success of a change records its event, by the right actor and credential.
//! A second test checks that refused changes leave the organization exactly as it was.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wharf::store::{AuditRow, Store};

use crate::harness::{Backend, Server};

/// The organization under test, owned by [`OWNER`].
const ORG: &str = "permorg";
/// Another organization, owned by [`OUTSIDER`]: the source of the foreign token, and of
/// the invites answered in the matrix (answering one does not depend on the organization,
/// and accepting one must not change who is in [`ORG`] for the rest of the matrix).
const OTHER: &str = "rivalorg";
const OWNER: &str = "permowner";
const MEMBER: &str = "permmember";
const EDITOR: &str = "permeditor";
/// A user in no role of [`ORG`]; owner of [`OTHER`].
const OUTSIDER: &str = "outsider";
/// A user who is invited to [`OTHER`] afresh for each cell that answers an invite.
const INVITEE: &str = "invitee";
/// A member of [`ORG`] whose role the matrix changes and whom it adds to teams; the user
/// of the member's PAT column.
const STEADY: &str = "steady";
/// A member of [`ORG`] whom the matrix removes (and adds back before each cell).
const TARGET: &str = "target";
/// The team every reading cell reads; [`STEADY`] is in it.
const TEAM: &str = "core";
/// The label the harness gives every organization access token it creates.
const OAT_LABEL: &str = "test token";
/// The label of the owner's personal access token that is deactivated.
const PAT_OFF_LABEL: &str = "perm-deactivated";

/// The columns of the matrix: every kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// A user in no role of [`ORG`] (password session).
    Outsider,
    /// Password sessions of [`ORG`]'s member, editor and owner.
    Member,
    Editor,
    Owner,
    /// The owner's personal access tokens, one per scope.
    PatPublicRead,
    PatRead,
    PatWrite,
    PatAdmin,
    /// A `repo:admin` PAT of a member ([`STEADY`]): the token's scope never adds to the
    /// role.
    MemberPatAdmin,
    /// An OAT of [`ORG`] with every organization scope the routes need.
    Oat,
    /// An OAT of [`ORG`] with the read scopes only: reading never includes editing.
    OatRead,
    /// An OAT of [`ORG`] with a repository scope only.
    OatNoScope,
    /// An OAT of [`OTHER`] with every organization scope.
    OatForeign,
    /// The owner's `repo:admin` PAT, deactivated after its session was opened.
    PatOff,
    /// An OAT of [`ORG`] with every scope, deactivated after its session was opened.
    OatOff,
    /// A user with a pending invite of their own (password session), outside [`ORG`].
    Invitee,
}

/// The number of columns.
const COLUMNS: usize = 17;

const CALLERS: [Caller; COLUMNS] = [
    Caller::Anonymous,
    Caller::Outsider,
    Caller::Member,
    Caller::Editor,
    Caller::Owner,
    Caller::PatPublicRead,
    Caller::PatRead,
    Caller::PatWrite,
    Caller::PatAdmin,
    Caller::MemberPatAdmin,
    Caller::Oat,
    Caller::OatRead,
    Caller::OatNoScope,
    Caller::OatForeign,
    Caller::PatOff,
    Caller::OatOff,
    Caller::Invitee,
];

/// The column headings of [`MATRIX`], for failure messages.
const HEADINGS: [&str; COLUMNS] = [
    "anon", "outs", "mmbr", "edtr", "ownr", "pPub", "pRd", "pWr", "pAdm", "mPAT", "oat", "oatR", "oat0",
    "oatX", "pOff", "oOff", "invt",
];

/// Expected status of every route (rows) for every caller (columns, as [`CALLERS`]).
///
/// Placeholders: `{org}` is [`ORG`]; `{username}`, `{group}` and `{id}` are a fresh target
/// for each cell where the call changes or consumes it (see [`Fixture::prepare`]).
/// Reading it against the policy tables: anonymous callers get 401 from every route that
/// needs a caller; a deactivated token is a 401 everywhere, the public profile included
/// (an `Authorization` header that does not authenticate is never downgraded to
/// anonymous); outsiders, and the invitee (an outsider of [`ORG`] too), get 403 for
/// everything but the profile; PATs need both the "PAT at least" scope and the role of
/// their user (the owner's PATs follow the scope column, the member's `repo:admin` PAT the
/// member's column); OATs of [`ORG`] follow the "OAT scope" column (an edit scope includes
/// its read scope, a read scope no edit), OATs of another organization get 403.
#[rustfmt::skip]
const MATRIX: &[(&str, [u16; COLUMNS])] = &[
    //                                                   anon outs mmbr edtr ownr pPub pRd  pWr  pAdm mPAT oat  oatR oat0 oatX pOff oOff invt
    // Account rules (ReadOwnAccount, CreateOrg) and the public profile (ReadProfile).
    ("GET /v2/orgs/{org}",                               [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401, 200]),
    ("POST /v2/orgs",                                    [401, 201, 201, 201, 201, 403, 403, 403, 201, 201, 403, 403, 403, 403, 401, 401, 201]),
    ("GET /v2/user/orgs",                                [401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 401, 401, 200]),
    ("GET /v2/user/invites",                             [401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 401, 401, 200]),
    // ReadSettings, EditSettings: owners; PATs from repo:read / repo:admin; never an OAT.
    ("GET /v2/orgs/{org}/settings",                      [401, 403, 403, 403, 200, 403, 200, 200, 200, 403, 403, 403, 403, 403, 401, 401, 403]),
    ("PUT /v2/orgs/{org}/settings",                      [401, 403, 403, 403, 200, 403, 403, 403, 200, 403, 403, 403, 403, 403, 401, 401, 403]),
    // ReadMembers: members; EditMembers: owners, repo:admin, scope-member-edit.
    ("GET /v2/orgs/{org}/members",                       [401, 403, 200, 200, 200, 403, 200, 200, 200, 200, 200, 200, 403, 403, 401, 401, 403]),
    ("GET /v2/orgs/{org}/members/export",                [401, 403, 200, 200, 200, 403, 200, 200, 200, 200, 200, 200, 403, 403, 401, 401, 403]),
    ("PUT /v2/orgs/{org}/members/{username}",            [401, 403, 403, 403, 200, 403, 403, 403, 200, 403, 200, 403, 403, 403, 401, 401, 403]),
    ("DELETE /v2/orgs/{org}/members/{username}",         [401, 403, 403, 403, 204, 403, 403, 403, 204, 403, 204, 403, 403, 403, 401, 401, 403]),
    // ReadInvites: owners, repo:read, scope-invite-read; EditInvites: owners, repo:admin,
    // scope-invite-edit.
    ("GET /v2/orgs/{org}/invites",                       [401, 403, 403, 403, 200, 403, 200, 200, 200, 403, 200, 200, 403, 403, 401, 401, 403]),
    ("POST /v2/invites/bulk",                            [401, 403, 403, 403, 202, 403, 403, 403, 202, 403, 202, 403, 403, 403, 401, 401, 403]),
    ("DELETE /v2/invites/{id}",                          [401, 403, 403, 403, 204, 403, 403, 403, 204, 403, 204, 403, 403, 403, 401, 401, 403]),
    ("PATCH /v2/invites/{id}/resend",                    [401, 403, 403, 403, 204, 403, 403, 403, 204, 403, 204, 403, 403, 403, 401, 401, 403]),
    // RespondToInvite: the token check first (PATs below repo:admin and OATs: 403), then
    // anyone's invite but one's own is "not found". Decline comes first: the invitee is
    // then free to be invited again for the accept cell.
    ("POST /v2/invites/{id}/decline",                    [401, 404, 404, 404, 404, 403, 403, 403, 404, 404, 403, 403, 403, 403, 401, 401, 204]),
    ("POST /v2/invites/{id}/accept",                     [401, 404, 404, 404, 404, 403, 403, 403, 404, 404, 403, 403, 403, 403, 401, 401, 204]),
    // ReadTeams: members; EditTeams: owners, repo:admin, scope-group-edit.
    ("GET /v2/orgs/{org}/groups",                        [401, 403, 200, 200, 200, 403, 200, 200, 200, 200, 200, 200, 403, 403, 401, 401, 403]),
    ("POST /v2/orgs/{org}/groups",                       [401, 403, 403, 403, 201, 403, 403, 403, 201, 403, 201, 403, 403, 403, 401, 401, 403]),
    ("GET /v2/orgs/{org}/groups/{group}",                [401, 403, 200, 200, 200, 403, 200, 200, 200, 200, 200, 200, 403, 403, 401, 401, 403]),
    ("PUT /v2/orgs/{org}/groups/{group}",                [401, 403, 403, 403, 200, 403, 403, 403, 200, 403, 200, 403, 403, 403, 401, 401, 403]),
    ("PATCH /v2/orgs/{org}/groups/{group}",              [401, 403, 403, 403, 200, 403, 403, 403, 200, 403, 200, 403, 403, 403, 401, 401, 403]),
    ("DELETE /v2/orgs/{org}/groups/{group}",             [401, 403, 403, 403, 204, 403, 403, 403, 204, 403, 204, 403, 403, 403, 401, 401, 403]),
    ("GET /v2/orgs/{org}/groups/{group}/members",        [401, 403, 200, 200, 200, 403, 200, 200, 200, 200, 200, 200, 403, 403, 401, 401, 403]),
    ("POST /v2/orgs/{org}/groups/{group}/members",       [401, 403, 403, 403, 200, 403, 403, 403, 200, 403, 200, 403, 403, 403, 401, 401, 403]),
    ("DELETE /v2/orgs/{org}/groups/{group}/members/{username}",
                                                         [401, 403, 403, 403, 204, 403, 403, 403, 204, 403, 204, 403, 403, 403, 401, 401, 403]),
    // ManageAccessTokens: owners from a password session only.
    ("POST /v2/orgs/{org}/access-tokens",                [401, 403, 403, 403, 201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401, 403]),
    ("GET /v2/orgs/{org}/access-tokens",                 [401, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401, 403]),
    ("GET /v2/orgs/{org}/access-tokens/{id}",            [401, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401, 403]),
    ("PATCH /v2/orgs/{org}/access-tokens/{id}",          [401, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401, 403]),
    ("DELETE /v2/orgs/{org}/access-tokens/{id}",         [401, 403, 403, 403, 204, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401, 403]),
    // An unknown organization: 404 before any role or scope check, for every caller.
    ("GET /v2/orgs/{unknown}/members",                   [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401, 401, 404]),
    // Leave: each caller removes their own username. Members, editors and a member's
    // repo:admin PAT leave (204); the owner may too but is the last owner (400), and so
    // is the owner's repo:admin PAT; lower PATs 403; outsiders are no members (403). An
    // OAT has no username of its own: it names the owner who created it, which is no
    // leaving but EditMembers: stopped by the last-owner rule with scope-member-edit
    // (400), 403 without it. Last, as it removes members the other rows use.
    ("DELETE /v2/orgs/{org}/members/{self}",             [401, 403, 204, 204, 400, 403, 403, 403, 400, 204, 400, 403, 403, 403, 401, 401, 403]),
];

/// One cell: a row of [`MATRIX`] and a caller.
#[derive(Debug, Clone, Copy)]
struct Cell {
    row: usize,
    col: usize,
    caller: Caller,
}

impl Cell {
    /// A name unique to this cell, for the fresh targets it creates (lowercase letters and
    /// digits, so it fits every kind of name).
    fn tag(&self) -> String {
        format!("r{}c{}", self.row, self.col)
    }
}

/// The request of one cell, and the audit event it must leave on success.
struct Request {
    method: Method,
    path: String,
    body: Option<Value>,
    /// The account whose audit log the call writes to.
    account: String,
    /// The newest event after a success; `None`: the call records nothing (a read, or a
    /// change to what already is).
    event: Option<&'static str>,
}

impl Request {
    fn new(
        method: Method,
        path: impl Into<String>,
        body: Option<Value>,
        event: Option<&'static str>,
    ) -> Request {
        Request {
            method,
            path: path.into(),
            body,
            account: ORG.into(),
            event,
        }
    }

    fn in_account(mut self, account: &str) -> Request {
        self.account = account.into();
        self
    }
}

/// The owner's PAT of each PAT column: its scope and label.
fn pat_of(caller: Caller) -> Option<(&'static str, &'static str)> {
    match caller {
        Caller::PatPublicRead => Some(("repo:public_read", "perm-public-read")),
        Caller::PatRead => Some(("repo:read", "perm-read")),
        Caller::PatWrite => Some(("repo:write", "perm-write")),
        Caller::PatAdmin => Some(("repo:admin", "perm-admin")),
        Caller::MemberPatAdmin => Some(("repo:admin", "perm-member-admin")),
        Caller::PatOff => Some(("repo:admin", PAT_OFF_LABEL)),
        _ => None,
    }
}

/// The actor and credential label the audit log names for a change made by `caller`.
fn acting_as(caller: Caller) -> (&'static str, Option<&'static str>) {
    match caller {
        Caller::Anonymous => ("", None),
        Caller::Outsider => (OUTSIDER, None),
        Caller::Member => (MEMBER, None),
        Caller::Editor => (EDITOR, None),
        Caller::Owner => (OWNER, None),
        Caller::Invitee => (INVITEE, None),
        Caller::PatPublicRead | Caller::PatRead | Caller::PatWrite | Caller::PatAdmin | Caller::PatOff => {
            (OWNER, pat_of(caller).map(|(_, label)| label))
        }
        Caller::MemberPatAdmin => (STEADY, pat_of(caller).map(|(_, label)| label)),
        Caller::Oat | Caller::OatRead | Caller::OatNoScope | Caller::OatOff => (ORG, Some(OAT_LABEL)),
        Caller::OatForeign => (OTHER, Some(OAT_LABEL)),
    }
}

/// The username a caller names as their own in the leave row: the user behind a PAT, and
/// for an OAT (which has none) the user who created it.
fn own_name(caller: Caller) -> &'static str {
    match caller {
        Caller::Anonymous | Caller::Member => MEMBER,
        Caller::Editor => EDITOR,
        Caller::Outsider | Caller::OatForeign => OUTSIDER,
        Caller::Invitee => INVITEE,
        Caller::MemberPatAdmin => STEADY,
        _ => OWNER,
    }
}

/// Every organization scope the routes need.
const EDIT_SCOPES: [&str; 3] = ["scope-member-edit", "scope-invite-edit", "scope-group-edit"];
/// The read scopes of the same families.
const READ_SCOPES: [&str; 3] = ["scope-member-read", "scope-invite-read", "scope-group-read"];

/// OAT resources: the organization `org` itself, with `scopes`.
fn org_resources(org: &str, scopes: [&str; 3]) -> Value {
    json!([{"type": "TYPE_ORG", "path": org, "scopes": scopes}])
}

/// Resources that reach [`ORG`]'s repositories only, and nothing of the organization.
fn repository_scope_only() -> Value {
    json!([{"type": "TYPE_REPO", "path": format!("{ORG}/*"), "scopes": ["scope-image-pull"]}])
}

/// `GET path` as `token`, which must be 200 (fixtures and observations only); the body.
async fn read(server: &Server, path: &str, token: &str) -> Value {
    server
        .expect(Method::GET, path, Some(token), None, StatusCode::OK)
        .await
}

/// A change to the fixtures as `token`, which must answer `expected`; returns the body.
async fn change(
    server: &Server,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
    expected: StatusCode,
) -> Value {
    server
        .expect(method, path, Some(token), Some(body), expected)
        .await
}

/// Invites `invitee` (a Docker ID or an email address) to `org` as the owner with
/// `session`; returns the pending invite's id (a new one, or the one already pending).
async fn invite(server: &Server, session: &str, org: &str, invitee: &str) -> String {
    let body = json!({"org": org, "invitees": [invitee]});
    let answer = change(
        server,
        Method::POST,
        "/v2/invites/bulk",
        session,
        body,
        StatusCode::ACCEPTED,
    )
    .await;
    answer["invitees"][0]["invite"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("fixture: no invite for {invitee} in {org}: {answer}"))
        .to_string()
}

async fn create_team(server: &Server, session: &str, team: &str) {
    let path = format!("/v2/orgs/{ORG}/groups");
    let body = json!({"name": team, "description": "permission matrix"});
    change(server, Method::POST, &path, session, body, StatusCode::CREATED).await;
}

async fn add_to_team(server: &Server, session: &str, team: &str, username: &str) {
    let path = format!("/v2/orgs/{ORG}/groups/{team}/members");
    let body = json!({"member": username});
    change(server, Method::POST, &path, session, body, StatusCode::OK).await;
}

/// A session of a new OAT of `org` with `resources`, made by `owner`; and the token's id.
async fn oat_session(server: &Server, owner: &str, org: &str, resources: Value) -> (String, String) {
    let (session, oat) = server.oat_session(owner, org, resources).await;
    (session, oat["id"].as_str().expect("OAT id").to_string())
}

/// The users, organizations, team and tokens of the matrix.
struct Fixture {
    /// The session of each caller (in [`CALLERS`] order); `None` for anonymous.
    sessions: Vec<Option<String>>,
    /// The owner's password session: it makes the fresh targets.
    owner: String,
    /// The outsider's password session: it makes the invites answered in the matrix.
    outsider: String,
    /// An OAT of [`ORG`] that stays for the whole matrix.
    kept_oat: String,
}

impl Fixture {
    async fn create(server: &Server) -> Fixture {
        let owner = server.user_with_token(OWNER).await;
        let member = server.user_with_token(MEMBER).await;
        let editor = server.user_with_token(EDITOR).await;
        let outsider = server.user_with_token(OUTSIDER).await;
        let invitee = server.user_with_token(INVITEE).await;
        let steady = server.user_with_token(STEADY).await;
        server.create_user(TARGET).await;
        server.create_org(ORG, OWNER).await;
        server.create_org(OTHER, OUTSIDER).await;
        for (user, role) in [
            (MEMBER, "member"),
            (EDITOR, "editor"),
            (STEADY, "member"),
            (TARGET, "member"),
        ] {
            server.add_org_member(ORG, user, role).await;
        }
        create_team(server, &owner, TEAM).await;
        add_to_team(server, &owner, TEAM, STEADY).await;

        let (oat, _) = oat_session(server, &owner, ORG, org_resources(ORG, EDIT_SCOPES)).await;
        let (oat_read, _) = oat_session(server, &owner, ORG, org_resources(ORG, READ_SCOPES)).await;
        let (oat_no_scope, kept_oat) = oat_session(server, &owner, ORG, repository_scope_only()).await;
        let (oat_foreign, _) = oat_session(server, &outsider, OTHER, org_resources(OTHER, EDIT_SCOPES)).await;
        let pat_off = Fixture::deactivated_pat(server, &owner).await;
        let oat_off = Fixture::deactivated_oat(server, &owner).await;

        let mut sessions = Vec::new();
        for caller in CALLERS {
            let session = match caller {
                Caller::Anonymous => None,
                Caller::Outsider => Some(outsider.clone()),
                Caller::Member => Some(member.clone()),
                Caller::Editor => Some(editor.clone()),
                Caller::Owner => Some(owner.clone()),
                Caller::Invitee => Some(invitee.clone()),
                Caller::PatPublicRead | Caller::PatRead | Caller::PatWrite | Caller::PatAdmin => {
                    let (scope, label) = pat_of(caller).expect("a PAT column");
                    Some(server.pat_session(OWNER, &owner, label, &[scope]).await.0)
                }
                Caller::MemberPatAdmin => {
                    let (scope, label) = pat_of(caller).expect("a PAT column");
                    Some(server.pat_session(STEADY, &steady, label, &[scope]).await.0)
                }
                Caller::Oat => Some(oat.clone()),
                Caller::OatRead => Some(oat_read.clone()),
                Caller::OatNoScope => Some(oat_no_scope.clone()),
                Caller::OatForeign => Some(oat_foreign.clone()),
                Caller::PatOff => Some(pat_off.clone()),
                Caller::OatOff => Some(oat_off.clone()),
            };
            sessions.push(session);
        }
        Fixture {
            sessions,
            owner,
            outsider,
            kept_oat,
        }
    }

    /// A session of the owner's `repo:admin` PAT that worked, then was deactivated.
    async fn deactivated_pat(server: &Server, owner: &str) -> String {
        let (session, pat) = server
            .pat_session(OWNER, owner, PAT_OFF_LABEL, &["repo:admin"])
            .await;
        let uuid = pat["uuid"].as_str().expect("PAT uuid");
        Fixture::deactivate(server, owner, &session, &format!("/v2/access-tokens/{uuid}")).await;
        session
    }

    /// A session of an OAT of [`ORG`] with every scope that worked, then was deactivated.
    async fn deactivated_oat(server: &Server, owner: &str) -> String {
        let (session, id) = oat_session(server, owner, ORG, org_resources(ORG, EDIT_SCOPES)).await;
        let path = format!("/v2/orgs/{ORG}/access-tokens/{id}");
        Fixture::deactivate(server, owner, &session, &path).await;
        session
    }

    /// Deactivates the token at `path` (as `owner`), after checking that `session`, opened
    /// with it, works: so that its 401s in the matrix are the deactivation's.
    async fn deactivate(server: &Server, owner: &str, session: &str, path: &str) {
        read(server, &format!("/v2/orgs/{ORG}/members"), session).await;
        let off = json!({"is_active": false});
        change(server, Method::PATCH, path, owner, off, StatusCode::OK).await;
    }

    fn session(&self, cell: Cell) -> Option<&str> {
        self.sessions[cell.col].as_deref()
    }

    /// The request of `cell` for `route`, after making the fresh target it needs.
    async fn prepare(&self, server: &Server, route: &str, cell: Cell) -> Request {
        use Method as M;
        let tag = cell.tag();
        let org = format!("/v2/orgs/{ORG}");
        match route {
            "GET /v2/orgs/{org}" => Request::new(M::GET, org, None, None),
            "POST /v2/orgs" => {
                let name = format!("neworg{}", cell.col);
                let body = json!({"orgname": name});
                Request::new(M::POST, "/v2/orgs", Some(body), Some("org.create")).in_account(&name)
            }
            "GET /v2/user/orgs" => Request::new(M::GET, "/v2/user/orgs", None, None),
            "GET /v2/user/invites" => Request::new(M::GET, "/v2/user/invites", None, None),
            "GET /v2/orgs/{org}/settings" => Request::new(M::GET, format!("{org}/settings"), None, None),
            "PUT /v2/orgs/{org}/settings" => {
                // The current values: an authorized no-op that is still recorded.
                let current = read(server, &format!("{org}/settings"), &self.owner).await;
                let event = Some("org.settings.update");
                Request::new(M::PUT, format!("{org}/settings"), Some(current), event)
            }
            "GET /v2/orgs/{org}/members" => Request::new(M::GET, format!("{org}/members"), None, None),
            "GET /v2/orgs/{org}/members/export" => {
                Request::new(M::GET, format!("{org}/members/export"), None, None)
            }
            "PUT /v2/orgs/{org}/members/{username}" => {
                // From member to editor: a real change each time.
                let path = format!("{org}/members/{STEADY}");
                let member = json!({"role": "member"});
                change(server, M::PUT, &path, &self.owner, member, StatusCode::OK).await;
                let event = Some("org.member.role.change");
                Request::new(M::PUT, path, Some(json!({"role": "editor"})), event)
            }
            "DELETE /v2/orgs/{org}/members/{username}" => {
                server.add_org_member(ORG, TARGET, "member").await;
                let path = format!("{org}/members/{TARGET}");
                Request::new(M::DELETE, path, None, Some("org.member.remove"))
            }
            "GET /v2/orgs/{org}/invites" => Request::new(M::GET, format!("{org}/invites"), None, None),
            "POST /v2/invites/bulk" => {
                let body = json!({"org": ORG, "invitees": [format!("{tag}@example.com")]});
                Request::new(
                    M::POST,
                    "/v2/invites/bulk",
                    Some(body),
                    Some("org.member.invite.send"),
                )
            }
            "DELETE /v2/invites/{id}" => {
                let id = invite(server, &self.owner, ORG, &format!("{tag}@example.com")).await;
                let event = Some("org.member.invite.cancel");
                Request::new(M::DELETE, format!("/v2/invites/{id}"), None, event)
            }
            "PATCH /v2/invites/{id}/resend" => {
                let id = invite(server, &self.owner, ORG, &format!("{tag}@example.com")).await;
                let event = Some("org.member.invite.send");
                Request::new(M::PATCH, format!("/v2/invites/{id}/resend"), None, event)
            }
            "POST /v2/invites/{id}/decline" => self.answer(server, cell, "decline").await,
            "POST /v2/invites/{id}/accept" => self.answer(server, cell, "accept").await,
            "GET /v2/orgs/{org}/groups" => Request::new(M::GET, format!("{org}/groups"), None, None),
            "POST /v2/orgs/{org}/groups" => {
                let body = json!({"name": format!("new{tag}")});
                Request::new(
                    M::POST,
                    format!("{org}/groups"),
                    Some(body),
                    Some("org.team.create"),
                )
            }
            "GET /v2/orgs/{org}/groups/{group}" => {
                Request::new(M::GET, format!("{org}/groups/{TEAM}"), None, None)
            }
            "PUT /v2/orgs/{org}/groups/{group}" => {
                let path = self.fresh_team(server, &tag).await;
                let body = json!({"name": tag, "description": "replaced"});
                Request::new(M::PUT, path, Some(body), Some("org.team.update"))
            }
            "PATCH /v2/orgs/{org}/groups/{group}" => {
                let path = self.fresh_team(server, &tag).await;
                let body = json!({"description": "patched"});
                Request::new(M::PATCH, path, Some(body), Some("org.team.update"))
            }
            "DELETE /v2/orgs/{org}/groups/{group}" => {
                let path = self.fresh_team(server, &tag).await;
                Request::new(M::DELETE, path, None, Some("org.team.delete"))
            }
            "GET /v2/orgs/{org}/groups/{group}/members" => {
                Request::new(M::GET, format!("{org}/groups/{TEAM}/members"), None, None)
            }
            "POST /v2/orgs/{org}/groups/{group}/members" => {
                // Already in the team: authorized, and nothing to record.
                let body = json!({"member": STEADY});
                Request::new(M::POST, format!("{org}/groups/{TEAM}/members"), Some(body), None)
            }
            "DELETE /v2/orgs/{org}/groups/{group}/members/{username}" => {
                let team = self.fresh_team(server, &tag).await;
                add_to_team(server, &self.owner, &tag, STEADY).await;
                let path = format!("{team}/members/{STEADY}");
                Request::new(M::DELETE, path, None, Some("org.team.member.remove"))
            }
            "POST /v2/orgs/{org}/access-tokens" => {
                let body = json!({"label": tag, "resources": repository_scope_only()});
                let event = Some("org.access_token.create");
                Request::new(M::POST, format!("{org}/access-tokens"), Some(body), event)
            }
            "GET /v2/orgs/{org}/access-tokens" => {
                Request::new(M::GET, format!("{org}/access-tokens"), None, None)
            }
            "GET /v2/orgs/{org}/access-tokens/{id}" => {
                let path = format!("{org}/access-tokens/{}", self.kept_oat);
                Request::new(M::GET, path, None, None)
            }
            "PATCH /v2/orgs/{org}/access-tokens/{id}" => {
                let path = self.fresh_oat(server).await;
                let event = Some("org.access_token.update");
                Request::new(M::PATCH, path, Some(json!({"label": "renamed"})), event)
            }
            "DELETE /v2/orgs/{org}/access-tokens/{id}" => {
                let path = self.fresh_oat(server).await;
                Request::new(M::DELETE, path, None, Some("org.access_token.delete"))
            }
            "GET /v2/orgs/{unknown}/members" => {
                Request::new(M::GET, "/v2/orgs/nosuchorg/members", None, None)
            }
            "DELETE /v2/orgs/{org}/members/{self}" => {
                let path = format!("{org}/members/{}", own_name(cell.caller));
                Request::new(M::DELETE, path, None, Some("org.member.remove"))
            }
            other => panic!("the matrix has no request for the route {other:?}"),
        }
    }

    /// A new team of [`ORG`] named `name`; returns its path.
    async fn fresh_team(&self, server: &Server, name: &str) -> String {
        create_team(server, &self.owner, name).await;
        format!("/v2/orgs/{ORG}/groups/{name}")
    }

    /// A new OAT of [`ORG`]; returns its path.
    async fn fresh_oat(&self, server: &Server) -> String {
        let oat = server.create_oat(&self.owner, ORG, repository_scope_only()).await;
        format!(
            "/v2/orgs/{ORG}/access-tokens/{}",
            oat["id"].as_str().expect("OAT id")
        )
    }

    /// A fresh pending invite of [`OTHER`] to answer: addressed to the invitee in the
    /// invitee's column, to an address of nobody in the matrix in every other column.
    async fn answer(&self, server: &Server, cell: Cell, verb: &str) -> Request {
        let addressee = match cell.caller {
            Caller::Invitee => INVITEE.to_string(),
            _ => format!("{}@example.com", cell.tag()),
        };
        let id = invite(server, &self.outsider, OTHER, &addressee).await;
        let event = if verb == "accept" {
            "org.member.invite.accept"
        } else {
            "org.member.invite.decline"
        };
        Request::new(
            Method::POST,
            format!("/v2/invites/{id}/{verb}"),
            None,
            Some(event),
        )
        .in_account(OTHER)
    }
}

/// The newest audit event of `account`, if any.
async fn newest_event(store: &Store, account: &str) -> Option<AuditRow> {
    let events = store.recent_audit(account, 1).await.expect("read audit events");
    events.into_iter().next()
}

/// What is wrong with an error response's body, if anything: it must be the Hub error
/// format, `{"message", "errinfo": null, "detail"}` (see `assert_hub_error`).
fn error_body_problem(text: &str) -> Option<String> {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Some(format!("error body is not JSON: {text:.200}"));
    };
    let hub_shaped =
        body["message"].is_string() && body["errinfo"].is_null() && body["detail"] == body["message"];
    (!hub_shaped).then(|| format!("error body is not in the Hub format: {body}"))
}

/// What is wrong with the audit log after a cell whose status was as expected, if
/// anything: a success of a change records its event by the caller; anything else nothing.
fn audit_problem(
    request: &Request,
    caller: Caller,
    succeeded: bool,
    before: &Option<AuditRow>,
    after: &Option<AuditRow>,
) -> Option<String> {
    let recorded = (after != before).then_some(after.as_ref()).flatten();
    match (request.event.filter(|_| succeeded), recorded) {
        (None, None) => None,
        (None, Some(event)) => Some(format!("recorded {event:?} but should record nothing")),
        (Some(action), None) => Some(format!("recorded nothing; expected {action}")),
        (Some(action), Some(event)) => {
            let (actor, credential) = acting_as(caller);
            let right =
                event.action == action && event.actor == actor && event.credential.as_deref() == credential;
            (!right).then(|| format!("expected {action} by {actor} with {credential:?}; got {event:?}"))
        }
    }
}

/// Runs one cell; what differs from the expectation, if anything: the status, the error
/// body's format, or the audit log.
async fn run_cell(
    server: &Server,
    fixture: &Fixture,
    store: &Store,
    route: &str,
    cell: Cell,
    expected: u16,
) -> Option<String> {
    let request = fixture.prepare(server, route, cell).await;
    let before = newest_event(store, &request.account).await;
    let session = fixture.session(cell);
    let response = server
        .send(
            request.method.clone(),
            &request.path,
            session,
            request.body.clone(),
        )
        .await;
    let status = response.status();
    let text = response.text().await.expect("response body");
    if status.as_u16() != expected {
        return Some(format!("expected {expected}, got {status}: {text:.200}"));
    }
    if status.is_client_error() || status.is_server_error() {
        if let Some(problem) = error_body_problem(&text) {
            return Some(problem);
        }
    }
    let after = newest_event(store, &request.account).await;
    audit_problem(&request, cell.caller, status.is_success(), &before, &after)
        .map(|problem| format!("{status}, but the audit log {problem}"))
}

/// Runs every cell of [`MATRIX`] on one server, and lists every cell that differs.
async fn permission_matrix(backend: Backend) {
    let server = Server::start(&backend).await;
    let fixture = Fixture::create(&server).await;
    let store = Store::connect(&server.database_url()).await.expect("open store");
    let mut mismatches = Vec::new();
    for (row, (route, expected_row)) in MATRIX.iter().enumerate() {
        for (col, (caller, expected)) in CALLERS.into_iter().zip(expected_row).enumerate() {
            let cell = Cell { row, col, caller };
            if let Some(problem) = run_cell(&server, &fixture, &store, route, cell, *expected).await {
                mismatches.push(format!("{route:<58} {:<5} {problem}", HEADINGS[col]));
            }
        }
    }
    store.close().await;
    assert!(
        mismatches.is_empty(),
        "{} cells of the permission matrix differ from the policy table (columns: {}):\n{}",
        mismatches.len(),
        HEADINGS.join(" "),
        mismatches.join("\n")
    );
}

/// Everything the owner can observe of [`ORG`]: members with invitees, settings, teams
/// and their members, pending invites, and the audit log.
#[derive(Debug, PartialEq)]
struct Observed {
    reads: Vec<Value>,
    audit: Vec<AuditRow>,
}

async fn observe(server: &Server, owner: &str) -> Observed {
    let mut reads = Vec::new();
    for path in [
        format!("/v2/orgs/{ORG}/members?type=all&page_size=100"),
        format!("/v2/orgs/{ORG}/settings"),
        format!("/v2/orgs/{ORG}/groups?page_size=100"),
        format!("/v2/orgs/{ORG}/groups/{TEAM}/members?page_size=100"),
        format!("/v2/orgs/{ORG}/invites"),
    ] {
        reads.push(read(server, &path, owner).await);
    }
    Observed {
        reads,
        audit: server.audit_events(ORG).await,
    }
}

/// Refused changes change nothing: an editor's, an OAT's without organization scopes and
/// a `repo:read` PAT's attempts to remove a member, change the settings, delete a team and
/// invite leave members, settings, teams, invites and the audit log as they were.
async fn refused_changes_change_nothing(backend: Backend) {
    let (server, owner) = Server::start_as(&backend, OWNER).await;
    let editor = server.user_with_token(EDITOR).await;
    server.create_user(TARGET).await;
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, EDITOR, "editor").await;
    server.add_org_member(ORG, TARGET, "member").await;
    create_team(&server, &owner, TEAM).await;
    add_to_team(&server, &owner, TEAM, TARGET).await;
    let pending = invite(&server, &owner, ORG, "pending@example.com").await;
    let (oat_no_scope, _) = oat_session(&server, &owner, ORG, repository_scope_only()).await;
    let (read_pat, _) = server
        .pat_session(OWNER, &owner, "perm-read", &["repo:read"])
        .await;

    let before = observe(&server, &owner).await;
    // Settings the opposite of the current ones, so that an accepted change would show.
    let settings = read(&server, &format!("/v2/orgs/{ORG}/settings"), &owner).await;
    let current = &settings["restricted_images"];
    let flip = |key: &str| !current[key].as_bool().expect("a settings flag");
    let other_settings = json!({"restricted_images": {
        "enabled": flip("enabled"),
        "allow_official_images": flip("allow_official_images"),
        "allow_verified_publishers": flip("allow_verified_publishers"),
    }});
    let org = format!("/v2/orgs/{ORG}");
    let attempts = [
        (Method::DELETE, format!("{org}/members/{TARGET}"), None),
        (
            Method::PUT,
            format!("{org}/members/{TARGET}"),
            Some(json!({"role": "owner"})),
        ),
        (Method::PUT, format!("{org}/settings"), Some(other_settings)),
        (Method::DELETE, format!("{org}/groups/{TEAM}"), None),
        (
            Method::DELETE,
            format!("{org}/groups/{TEAM}/members/{TARGET}"),
            None,
        ),
        (
            Method::POST,
            "/v2/invites/bulk".to_string(),
            Some(json!({"org": ORG, "invitees": ["newcomer@example.com"]})),
        ),
        (Method::DELETE, format!("/v2/invites/{pending}"), None),
    ];
    for (who, session) in [
        ("the editor", &editor),
        ("an OAT without organization scopes", &oat_no_scope),
        ("the owner's repo:read PAT", &read_pat),
    ] {
        eprintln!("by {who}");
        for (method, path, body) in attempts.clone() {
            server
                .refused(method, &path, Some(session), body, StatusCode::FORBIDDEN)
                .await;
        }
        assert_eq!(
            observe(&server, &owner).await,
            before,
            "refused changes by {who} changed the organization"
        );
    }
}

crate::both_backends!(permission_matrix, refused_changes_change_nothing);
