//! `repositories` group: immutable tags (the rest of the group comes with the repository
//! API). Repositories are created by pushing to the registry.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::repositories::{stored_rules, RepoPermissions};
use crate::http::auth::Caller;
use crate::http::error::HubResult;
use crate::http::extract::JsonBody;
use crate::http::openapi::ErrorBody;
use crate::store::RepositoryRow;
use crate::timefmt::format_micros;

#[derive(Debug, Serialize, ToSchema)]
pub struct Permissions {
    pub read: bool,
    pub write: bool,
    pub admin: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImmutableTagsSettings {
    pub enabled: bool,
    pub rules: Vec<String>,
}

/// A repository (`repository_info`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RepositoryInfo {
    pub user: String,
    pub name: String,
    pub namespace: String,
    pub repository_type: Option<String>,
    pub status: i32,
    pub status_description: String,
    pub description: String,
    pub is_private: bool,
    pub is_automated: bool,
    pub star_count: i64,
    pub pull_count: i64,
    pub last_updated: String,
    pub last_modified: Option<String>,
    pub date_registered: String,
    pub collaborator_count: i64,
    pub affiliation: Option<String>,
    pub hub_user: Option<String>,
    pub has_starred: bool,
    pub full_description: Option<String>,
    pub permissions: Permissions,
    pub media_types: Vec<String>,
    pub content_types: Vec<String>,
    pub categories: Vec<String>,
    pub immutable_tags_settings: ImmutableTagsSettings,
    pub storage_size: Option<i64>,
    pub source: Option<String>,
}

impl RepositoryInfo {
    pub fn from_row(repo: RepositoryRow, permissions: RepoPermissions) -> RepositoryInfo {
        RepositoryInfo {
            immutable_tags_settings: ImmutableTagsSettings {
                enabled: repo.immutable_tags,
                rules: stored_rules(&repo),
            },
            user: repo.namespace.clone(),
            hub_user: Some(repo.namespace.clone()),
            name: repo.name,
            namespace: repo.namespace,
            repository_type: Some("image".into()),
            status: 1,
            status_description: "active".into(),
            description: repo.description,
            is_private: repo.is_private,
            is_automated: false,
            star_count: 0,
            pull_count: repo.pull_count,
            last_updated: format_micros(repo.updated_at),
            last_modified: Some(format_micros(repo.updated_at)),
            date_registered: format_micros(repo.created_at),
            collaborator_count: 0,
            affiliation: None,
            has_starred: false,
            full_description: Some(repo.full_description),
            permissions: Permissions {
                read: permissions.read,
                write: permissions.write,
                admin: permissions.admin,
            },
            media_types: Vec::new(),
            content_types: Vec::new(),
            categories: Vec::new(),
            storage_size: None,
            source: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateImmutableTagsRequest {
    pub immutable_tags: bool,
    /// RE2 patterns matching whole tag names; no commas.
    pub immutable_tags_rules: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyImmutableTagsRequest {
    /// An RE2 pattern; no commas.
    pub regex: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyImmutableTagsResponse {
    pub tags: Vec<String>,
}

/// Update repository immutable tags (administrators of the repository only).
#[utoipa::path(
    patch,
    path = "/v2/namespaces/{namespace}/repositories/{repository}/immutabletags",
    tag = "repositories",
    operation_id = "UpdateRepositoryImmutableTags",
    params(
        ("namespace" = String, Path, description = "Namespace of the repository"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    request_body = UpdateImmutableTagsRequest,
    responses(
        (status = 200, description = "The repository", body = RepositoryInfo),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "Forbidden", body = ErrorBody),
        (status = 404, description = "Not Found", body = ErrorBody),
    )
)]
pub async fn update_immutable_tags(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<UpdateImmutableTagsRequest>,
) -> HubResult<Json<RepositoryInfo>> {
    let repo = app
        .update_immutable_tags(
            &principal,
            &namespace,
            &repository,
            body.immutable_tags,
            &body.immutable_tags_rules,
        )
        .await?;
    let permissions = app.repo_permissions(&principal, &repo).await?;
    Ok(Json(RepositoryInfo::from_row(repo, permissions)))
}

/// Verify repository immutable tags: the existing tags the pattern matches.
#[utoipa::path(
    post,
    path = "/v2/namespaces/{namespace}/repositories/{repository}/immutabletags/verify",
    tag = "repositories",
    operation_id = "VerifyRepositoryImmutableTags",
    params(
        ("namespace" = String, Path, description = "Namespace of the repository"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    request_body = VerifyImmutableTagsRequest,
    responses(
        (status = 200, description = "Matching tags", body = VerifyImmutableTagsResponse),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "Forbidden", body = ErrorBody),
        (status = 404, description = "Not Found", body = ErrorBody),
    )
)]
pub async fn verify_immutable_tags(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<VerifyImmutableTagsRequest>,
) -> HubResult<Json<VerifyImmutableTagsResponse>> {
    let tags = app
        .verify_immutable_tags(&principal, &namespace, &repository, &body.regex)
        .await?;
    Ok(Json(VerifyImmutableTagsResponse { tags }))
}
