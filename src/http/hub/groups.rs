//! `groups` group: an organization's teams and their members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::members::UserFields;
use crate::app::App;
use crate::domain::teams::TeamChange;
use crate::http::auth::Caller;
use crate::http::error::HubResult;
use crate::http::extract::{HubQuery, JsonBody, PublicBase};
use crate::http::openapi::{ErrorBody, ReadErrors, WriteErrors};
use crate::http::pagination::{Page, PageRequest};
use crate::store::{TeamMemberRow, TeamRow};

/// A team (`org_group`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub member_count: i64,
    /// The role the team grants its members (`editor` or `member`), or null.
    pub role: Option<String>,
}

impl From<TeamRow> for Group {
    fn from(team: TeamRow) -> Group {
        Group {
            id: team.id,
            uuid: team.uuid,
            name: team.name,
            description: team.description,
            member_count: team.member_count,
            role: team.role,
        }
    }
}

/// A team member (`group_member`).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupMember {
    #[serde(flatten)]
    pub user: UserFields,
    /// Shown to owners (and the organization's own tokens); empty for other members.
    pub email: String,
}

impl GroupMember {
    fn from_row(row: TeamMemberRow, emails_visible: bool, base: &str) -> GroupMember {
        GroupMember {
            user: UserFields::new(&row.user_id, &row.username, &row.full_name, row.date_joined, base),
            email: if emails_visible { row.email } else { String::new() },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGroupRequest {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchGroupRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `editor` or `member`.
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddGroupMemberRequest {
    /// Username of an organization member.
    pub member: String,
}

#[derive(Debug, Deserialize)]
pub struct GroupsQuery {
    username: Option<String>,
    search: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GroupMembersQuery {
    search: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Get groups of an organization.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/groups",
    tag = "groups",
    operation_id = "getV2OrgsByOrgNameGroups",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<u64>, Query, description = "Results per page, 1 to 100 (default 10)"),
        ("username" = Option<String>, Query, description = "Only the groups of this user"),
        ("search" = Option<String>, Query, description = "Substring of the group name"),
    ),
    responses(
        (status = 200, description = "OK", body = Page<Group>),
        WriteErrors,
    )
)]
pub async fn list(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
    HubQuery(query): HubQuery<GroupsQuery>,
    page: PageRequest,
) -> HubResult<Json<Page<Group>>> {
    let (rows, total) = app
        .list_teams(
            &principal,
            &org_name,
            non_empty(&query.username),
            non_empty(&query.search),
            page.offset(),
            page.limit(),
        )
        .await?;
    let results = rows.into_iter().map(Group::from).collect();
    Ok(Json(page.respond(total as u64, results)?))
}

/// Create a new group. A duplicate name is a 400, as the spec lists no 409 here.
#[utoipa::path(
    post,
    path = "/v2/orgs/{org_name}/groups",
    tag = "groups",
    operation_id = "postV2OrgsByOrgNameGroups",
    params(("org_name" = String, Path, description = "Name of the organization")),
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "Group created successfully", body = Group),
        WriteErrors,
    )
)]
pub async fn create(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
    JsonBody(body, ..): JsonBody<CreateGroupRequest>,
) -> HubResult<(StatusCode, Json<Group>)> {
    let team = app
        .create_team(
            &principal,
            &org_name,
            &body.name,
            body.description.as_deref().unwrap_or(""),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

/// Get a group of an organization.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/groups/{group_name}",
    tag = "groups",
    operation_id = "getV2OrgsByOrgNameGroupsByGroupName",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("group_name" = String, Path, description = "Name of the group"),
    ),
    responses(
        (status = 200, description = "OK", body = Group),
        ReadErrors,
    )
)]
pub async fn get(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, group_name)): Path<(String, String)>,
) -> HubResult<Json<Group>> {
    Ok(Json(
        app.get_team(&principal, &org_name, &group_name).await?.into(),
    ))
}

/// Update the details for an organization group: name and description.
#[utoipa::path(
    put,
    path = "/v2/orgs/{org_name}/groups/{group_name}",
    tag = "groups",
    operation_id = "putV2OrgsByOrgNameGroupsByGroupName",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("group_name" = String, Path, description = "Name of the group"),
    ),
    request_body = CreateGroupRequest,
    responses(
        (status = 200, description = "OK", body = Group),
        WriteErrors,
    )
)]
pub async fn put(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, group_name)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<CreateGroupRequest>,
) -> HubResult<Json<Group>> {
    let change = TeamChange {
        name: Some(&body.name),
        // PUT replaces: no description means an empty one.
        description: Some(body.description.as_deref().unwrap_or("")),
        role: None,
    };
    let team = app
        .update_team(&principal, &org_name, &group_name, &change)
        .await?;
    Ok(Json(team.into()))
}

/// Update some details for an organization group, including the role it grants.
#[utoipa::path(
    patch,
    path = "/v2/orgs/{org_name}/groups/{group_name}",
    tag = "groups",
    operation_id = "patchV2OrgsByOrgNameGroupsByGroupName",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("group_name" = String, Path, description = "Name of the group"),
    ),
    request_body = PatchGroupRequest,
    responses(
        (status = 200, description = "OK", body = Group),
        WriteErrors,
    )
)]
pub async fn patch(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, group_name)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<PatchGroupRequest>,
) -> HubResult<Json<Group>> {
    let change = TeamChange {
        name: body.name.as_deref(),
        description: body.description.as_deref(),
        role: body.role.as_deref(),
    };
    let team = app
        .update_team(&principal, &org_name, &group_name, &change)
        .await?;
    Ok(Json(team.into()))
}

/// Delete an organization group.
#[utoipa::path(
    delete,
    path = "/v2/orgs/{org_name}/groups/{group_name}",
    tag = "groups",
    operation_id = "deleteV2OrgsByOrgNameGroupsByGroupName",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("group_name" = String, Path, description = "Name of the group"),
    ),
    responses(
        (status = 204, description = "Group deleted successfully"),
        ReadErrors,
    )
)]
pub async fn delete(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, group_name)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    app.delete_team(&principal, &org_name, &group_name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List members of a group. Owners may search by email and see emails.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/groups/{group_name}/members",
    tag = "groups",
    operation_id = "getV2OrgsByOrgNameGroupsByGroupNameMembers",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("group_name" = String, Path, description = "Name of the group"),
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<u64>, Query, description = "Results per page, 1 to 100 (default 10)"),
        ("search" = Option<String>, Query, description = "Search members by username, full_name or email"),
    ),
    responses(
        (status = 200, description = "OK", body = Page<GroupMember>),
        WriteErrors,
    )
)]
pub async fn members(
    State(app): State<App>,
    Caller(principal): Caller,
    PublicBase(base): PublicBase,
    Path((org_name, group_name)): Path<(String, String)>,
    HubQuery(query): HubQuery<GroupMembersQuery>,
    page: PageRequest,
) -> HubResult<Json<Page<GroupMember>>> {
    let found = app
        .list_team_members(
            &principal,
            &org_name,
            &group_name,
            non_empty(&query.search),
            page.offset(),
            page.limit(),
        )
        .await?;
    let results = found
        .rows
        .into_iter()
        .map(|row| GroupMember::from_row(row, found.emails_visible, &base))
        .collect();
    Ok(Json(page.respond(found.total as u64, results)?))
}

/// Add a member to a group: 200 with no body, as specified.
#[utoipa::path(
    post,
    path = "/v2/orgs/{org_name}/groups/{group_name}/members",
    tag = "groups",
    operation_id = "postV2OrgsByOrgNameGroupsByGroupNameMembers",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("group_name" = String, Path, description = "Name of the group"),
    ),
    request_body = AddGroupMemberRequest,
    responses(
        (status = 200, description = "OK"),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "Forbidden", body = ErrorBody),
        (status = 404, description = "No such group, or the user is not a member of the organization", body = ErrorBody),
    )
)]
pub async fn add_member(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, group_name)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<AddGroupMemberRequest>,
) -> HubResult<StatusCode> {
    app.add_team_member(&principal, &org_name, &group_name, body.member.trim())
        .await?;
    Ok(StatusCode::OK)
}

/// Remove a user from a group.
#[utoipa::path(
    delete,
    path = "/v2/orgs/{org_name}/groups/{group_name}/members/{username}",
    tag = "groups",
    operation_id = "deleteV2OrgsByOrgNameGroupsByGroupNameMembersByUsername",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("group_name" = String, Path, description = "Name of the group"),
        ("username" = String, Path, description = "Username of the member"),
    ),
    responses(
        (status = 204, description = "User removed successfully"),
        ReadErrors,
    )
)]
pub async fn remove_member(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, group_name, username)): Path<(String, String, String)>,
) -> HubResult<StatusCode> {
    app.remove_team_member(&principal, &org_name, &group_name, &username)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
