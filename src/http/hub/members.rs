//! `orgs` group, members: list (with pending invitees), CSV export, role change, removal.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::orgs::{MemberQuery, MemberType};
use crate::domain::policy::Role;
use crate::domain::Error;
use crate::http::auth::Caller;
use crate::http::error::HubResult;
use crate::http::extract::{HubQuery, JsonBody, PublicBase};
use crate::http::openapi::{ErrorBody, ReadErrors, WriteErrors};
use crate::http::pagination::{Page, PageRequest};
use crate::store::{InviteRow, MemberRow};
use crate::timefmt::{format_micros, format_micros_compact, format_micros_go};

/// The account fields every user-shaped item of the API carries (`user` in the spec).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserFields {
    /// The account's UUID without dashes.
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub company: String,
    pub location: String,
    pub profile_url: String,
    pub gravatar_email: String,
    pub gravatar_url: String,
    /// `User` (organizations are never members).
    #[serde(rename = "type")]
    pub kind: String,
    pub date_joined: String,
}

impl UserFields {
    pub fn new(id: &str, username: &str, full_name: &str, date_joined: i64, base: &str) -> UserFields {
        UserFields {
            id: id.replace('-', ""),
            username: username.to_string(),
            full_name: full_name.to_string(),
            company: String::new(),
            location: String::new(),
            profile_url: if username.is_empty() {
                String::new()
            } else {
                format!("{base}/u/{username}")
            },
            gravatar_email: String::new(),
            gravatar_url: String::new(),
            kind: "User".into(),
            date_joined: format_micros(date_joined),
        }
    }
}

/// A member of an organization (`org_member`), or a pending invitee with role `Invitee`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgMember {
    #[serde(flatten)]
    pub user: UserFields,
    /// Shown to owners (and the organization's own tokens); empty for other members.
    pub email: String,
    /// `Owner`, `Editor`, `Member`, or `Invitee` for pending invites.
    pub role: String,
    /// Names of the member's teams in the organization.
    pub groups: Vec<String>,
    /// Wharf has no verified domains: never a guest.
    pub is_guest: bool,
    /// Deprecated in the spec; the same as `email`.
    pub primary_email: String,
}

impl OrgMember {
    pub fn from_member(member: MemberRow, teams: Vec<String>, emails_visible: bool, base: &str) -> OrgMember {
        let role = Role::parse(&member.role)
            .map_or("Member", Role::label)
            .to_string();
        let email = if emails_visible {
            member.email
        } else {
            String::new()
        };
        OrgMember {
            // `date_joined` of a member is when they joined the organization (the CSV
            // export's "Date Joined" too); elsewhere it is when the account was created.
            user: UserFields::new(
                &member.user_id,
                &member.username,
                &member.full_name,
                member.joined_at,
                base,
            ),
            primary_email: email.clone(),
            email,
            role,
            groups: teams,
            is_guest: false,
        }
    }

    /// A pending invitee: the Docker ID as username, or the email address.
    fn from_invite(invite: InviteRow, emails_visible: bool, base: &str) -> OrgMember {
        let (username, email) = match &invite.invitee_email {
            Some(email) => (String::new(), email.clone()),
            None => (invite.invitee.clone(), String::new()),
        };
        let email = if emails_visible { email } else { String::new() };
        OrgMember {
            user: UserFields::new(&invite.id, &username, "", invite.created_at, base),
            primary_email: email.clone(),
            email,
            role: "Invitee".into(),
            groups: invite.team_name.into_iter().collect(),
            is_guest: false,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct MembersQuery {
    /// The spec types this as an integer; it is a search text.
    search: Option<String>,
    invites: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
    role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMemberRequest {
    /// `owner`, `editor` or `member`.
    pub role: String,
}

/// List org members.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/members",
    tag = "orgs",
    operation_id = "getV2OrgsByOrgNameMembers",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("search" = Option<String>, Query, description = "Search term: username, full name, or email for callers who see emails (the spec types it as an integer, a spec error)"),
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<u64>, Query, description = "Results per page, 1 to 100 (default 10)"),
        ("invites" = Option<bool>, Query, description = "Include pending invites (role `Invitee`), after the members"),
        ("type" = Option<String>, Query, description = "`all`, `invitee` or `member`"),
        ("role" = Option<String>, Query, description = "`owner`, `editor` or `member`"),
    ),
    responses(
        (status = 200, description = "List of members", body = Page<OrgMember>),
        WriteErrors,
    )
)]
pub async fn list(
    State(app): State<App>,
    Caller(principal): Caller,
    PublicBase(base): PublicBase,
    Path(org_name): Path<String>,
    HubQuery(query): HubQuery<MembersQuery>,
    page: PageRequest,
) -> HubResult<Json<Page<OrgMember>>> {
    let kind = match query.kind.as_deref() {
        Some(kind) => MemberType::parse(kind)?,
        None if query.invites == Some(true) => MemberType::All,
        None => MemberType::Member,
    };
    let role = match query.role.as_deref() {
        Some(role) => Some(
            Role::parse(&role.to_ascii_lowercase())
                .ok_or_else(|| Error::bad_request("role: must be owner, editor or member"))?,
        ),
        None => None,
    };
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let member_query = MemberQuery { search, role, kind };
    let found = app
        .list_members(&principal, &org_name, &member_query, page.offset(), page.limit())
        .await?;
    let visible = found.emails_visible;
    let results = found
        .members
        .into_iter()
        .map(|(member, teams)| OrgMember::from_member(member, teams, visible, &base))
        .chain(
            found
                .invitees
                .into_iter()
                .map(|invite| OrgMember::from_invite(invite, visible, &base)),
        )
        .collect();
    Ok(Json(page.respond(found.total as u64, results)?))
}

/// Export org members CSV.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/members/export",
    tag = "orgs",
    operation_id = "getV2OrgsByOrgNameMembersExport",
    params(("org_name" = String, Path, description = "Name of the organization")),
    responses(
        (status = 200, description = "Exported members: Name, Username, Email, Type, Role, Teams, Date Joined", content_type = "text/csv", body = String,
         headers(("Content-Disposition" = String, description = "attachment;filename=\"{org_name}-members-{timestamp}.csv\""))),
        WriteErrors,
    )
)]
pub async fn export(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
) -> HubResult<Response> {
    let (members, emails_visible) = app.export_members(&principal, &org_name).await?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = [
        "Name",
        "Username",
        "Email",
        "Type",
        "Role",
        "Teams",
        "Date Joined",
    ];
    csv.write_record(header).map_err(Error::internal)?;
    for (member, teams) in members {
        let role = Role::parse(&member.role).map_or("Member", Role::label);
        let email = if emails_visible { member.email.as_str() } else { "" };
        let joined = format_micros_go(member.joined_at);
        let teams = teams.join(",");
        let record = [
            member.full_name.as_str(),
            member.username.as_str(),
            email,
            "User",
            role,
            teams.as_str(),
            joined.as_str(),
        ];
        csv.write_record(record).map_err(Error::internal)?;
    }
    let body = csv.into_inner().map_err(Error::internal)?;
    let filename = format!(
        "attachment;filename=\"{org_name}-members-{}.csv\"",
        format_micros_compact(crate::store::now_micros())
    );
    let disposition = HeaderValue::from_str(&filename).map_err(Error::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Update org member (role). Owners only; the last owner cannot be demoted.
#[utoipa::path(
    put,
    path = "/v2/orgs/{org_name}/members/{username}",
    tag = "orgs",
    operation_id = "putV2OrgsByOrgNameMembersByUsername",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("username" = String, Path, description = "Username of the member"),
    ),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Member role updated", body = OrgMember),
        (status = 400, description = "Bad Request, or the last owner", body = ErrorBody),
        ReadErrors,
    )
)]
pub async fn update(
    State(app): State<App>,
    Caller(principal): Caller,
    PublicBase(base): PublicBase,
    Path((org_name, username)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<UpdateMemberRequest>,
) -> HubResult<Json<OrgMember>> {
    let role = Role::from_request("role", &body.role)?;
    let (member, teams) = app
        .change_member_role(&principal, &org_name, &username, role)
        .await?;
    // The caller is an owner (or the organization's token): emails are visible.
    Ok(Json(OrgMember::from_member(member, teams, true, &base)))
}

/// Remove member from org: from the organization and all its teams. Owners remove anyone,
/// members themselves; the last owner cannot be removed.
#[utoipa::path(
    delete,
    path = "/v2/orgs/{org_name}/members/{username}",
    tag = "orgs",
    operation_id = "deleteV2OrgsByOrgNameMembersByUsername",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("username" = String, Path, description = "Username of the member"),
    ),
    responses(
        (status = 204, description = "Member removed successfully"),
        (status = 400, description = "The last owner", body = ErrorBody),
        ReadErrors,
    )
)]
pub async fn remove(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, username)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    app.remove_member(&principal, &org_name, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
