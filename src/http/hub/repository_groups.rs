//! Team access to a repository (`repositories` group: the spec has the grant; list, get,
//! change and revoke are the extension routes Docker's Terraform provider calls).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::http::auth::Caller;
use crate::http::error::HubResult;
use crate::http::extract::JsonBody;
use crate::http::openapi::{ReadErrors, WriteErrors};
use crate::http::pagination::{Page, PageRequest};
use crate::store::RepoTeamRow;

/// A team's access to a repository (`RepositoryGroup`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RepositoryGroup {
    pub group_name: String,
    /// `read`, `write` or `admin`.
    pub permission: String,
    pub group_id: i64,
}

impl From<RepoTeamRow> for RepositoryGroup {
    fn from(row: RepoTeamRow) -> RepositoryGroup {
        RepositoryGroup {
            group_name: row.team_name,
            permission: row.permission,
            group_id: row.team_id,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RepositoryGroupCreationRequest {
    pub group_id: i64,
    /// `read`, `write` or `admin`.
    pub permission: String,
}

/// A permission change. The Terraform provider also sends `group_id` and `group_name`;
/// they are ignored (the path names the team).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RepositoryGroupUpdateRequest {
    pub permission: String,
}

/// Give a team (group) access to a repository, or change the access it has.
#[utoipa::path(
    post,
    path = "/v2/repositories/{namespace}/{repository}/groups",
    tag = "repositories",
    operation_id = "CreateRepositoryGroup",
    params(
        ("namespace" = String, Path, description = "Organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    request_body = RepositoryGroupCreationRequest,
    responses((status = 200, description = "Team access granted", body = RepositoryGroup), WriteErrors)
)]
pub async fn create(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<RepositoryGroupCreationRequest>,
) -> HubResult<Json<RepositoryGroup>> {
    let row = app
        .set_repository_group(
            &principal,
            &namespace,
            &repository,
            body.group_id,
            &body.permission,
            false,
        )
        .await?;
    Ok(Json(row.into()))
}

/// The teams with access to a repository (extension).
#[utoipa::path(
    get,
    path = "/v2/repositories/{namespace}/{repository}/groups",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "Organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("page" = Option<i64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<i64>, Query, description = "Results per page (1 to 100, default 10)"),
    ),
    responses((status = 200, description = "Teams with access", body = Page<RepositoryGroup>), WriteErrors)
)]
pub async fn list(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
    page: PageRequest,
) -> HubResult<Json<Page<RepositoryGroup>>> {
    let rows = app.repository_groups(&principal, &namespace, &repository).await?;
    let total = rows.len() as u64;
    let results = rows
        .into_iter()
        .skip(page.offset() as usize)
        .take(page.limit() as usize)
        .map(RepositoryGroup::from)
        .collect();
    Ok(Json(page.respond(total, results)?))
}

/// One team's access to a repository (extension).
#[utoipa::path(
    get,
    path = "/v2/repositories/{namespace}/{repository}/groups/{group_id}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "Organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("group_id" = i64, Path, description = "Team id"),
    ),
    responses((status = 200, description = "The team's access", body = RepositoryGroup), ReadErrors)
)]
pub async fn get(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository, group_id)): Path<(String, String, String)>,
) -> HubResult<Json<RepositoryGroup>> {
    let row = app
        .repository_group(&principal, &namespace, &repository, group_number(&group_id)?)
        .await?;
    Ok(Json(row.into()))
}

/// Change a team's permission on a repository (extension).
#[utoipa::path(
    patch,
    path = "/v2/repositories/{namespace}/{repository}/groups/{group_id}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "Organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("group_id" = i64, Path, description = "Team id"),
    ),
    request_body = RepositoryGroupUpdateRequest,
    responses((status = 200, description = "The team's access", body = RepositoryGroup), WriteErrors)
)]
pub async fn update(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository, group_id)): Path<(String, String, String)>,
    JsonBody(body, ..): JsonBody<RepositoryGroupUpdateRequest>,
) -> HubResult<Json<RepositoryGroup>> {
    let row = app
        .set_repository_group(
            &principal,
            &namespace,
            &repository,
            group_number(&group_id)?,
            &body.permission,
            true,
        )
        .await?;
    Ok(Json(row.into()))
}

/// Revoke a team's access to a repository (extension).
#[utoipa::path(
    delete,
    path = "/v2/repositories/{namespace}/{repository}/groups/{group_id}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "Organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("group_id" = i64, Path, description = "Team id"),
    ),
    responses((status = 204, description = "Access revoked"), ReadErrors)
)]
pub async fn delete(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository, group_id)): Path<(String, String, String)>,
) -> HubResult<StatusCode> {
    app.remove_repository_group(&principal, &namespace, &repository, group_number(&group_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team id from the path; anything but a number names no team.
fn group_number(text: &str) -> Result<i64, crate::http::error::ApiError<crate::http::error::Hub>> {
    text.parse()
        .map_err(|_| crate::domain::Error::not_found(format!("group {text} not found")).into())
}
