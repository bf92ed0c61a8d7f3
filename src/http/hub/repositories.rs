//! `repositories` group (and the namespace routes of repositories): listing, creation and
//! the repository view, immutable tags; plus the routes Docker's own clients call that the
//! official spec leaves out (update, privacy, delete) and the legacy `/v2/repositories/…`
//! forms, which share the handlers' code.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::policy::{Principal, RepoAction};
use crate::domain::repositories::{
    parse_ordering, stored_rules, NewRepositoryRequest, RepoListQuery, RepoView, RepositoryUpdate,
};
use crate::http::auth::{Caller, LegacyCaller, MaybeCaller};
use crate::http::error::HubResult;
use crate::http::extract::{HubQuery, JsonBody};
use crate::http::openapi::{ReadErrors, WriteErrors};
use crate::http::pagination::{Page, PageRequest};
use crate::timefmt::format_micros;

const IMAGE_TYPES: [&str; 4] = [
    crate::domain::manifests::OCI_MANIFEST,
    crate::domain::manifests::OCI_INDEX,
    crate::domain::manifests::DOCKER_MANIFEST,
    crate::domain::manifests::DOCKER_MANIFEST_LIST,
];

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

/// A repository category (Wharf has none yet: the list is always empty).
#[derive(Debug, Serialize, ToSchema)]
pub struct Category {
    pub name: String,
    pub slug: String,
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
    pub categories: Vec<Category>,
    pub immutable_tags_settings: ImmutableTagsSettings,
    pub storage_size: Option<i64>,
    pub source: Option<String>,
}

fn content_types(media_types: &[String]) -> Vec<String> {
    if media_types.iter().any(|t| IMAGE_TYPES.contains(&t.as_str())) {
        vec!["image".into()]
    } else {
        Vec::new()
    }
}

impl From<RepoView> for RepositoryInfo {
    fn from(view: RepoView) -> RepositoryInfo {
        let RepoView {
            repo,
            permissions,
            content,
        } = view;
        RepositoryInfo {
            immutable_tags_settings: ImmutableTagsSettings {
                enabled: repo.immutable_tags,
                rules: stored_rules(&repo),
            },
            user: repo.namespace.clone(),
            hub_user: Some(repo.namespace.clone()),
            repository_type: Some("image".into()),
            status: 1,
            status_description: "active".into(),
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
            content_types: content_types(&content.media_types),
            media_types: content.media_types,
            categories: Vec::new(),
            storage_size: Some(content.storage_size),
            source: None,
            name: repo.name,
            namespace: repo.namespace,
            description: repo.description,
        }
    }
}

/// A repository in a listing (`repository_list_entry`), with the fields the legacy listing
/// adds (`user`, `can_edit`, `is_migrated`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RepositoryListEntry {
    pub name: String,
    pub namespace: String,
    pub user: String,
    pub repository_type: Option<String>,
    pub status: i32,
    pub status_description: String,
    pub description: Option<String>,
    pub is_private: bool,
    pub star_count: i64,
    pub pull_count: i64,
    pub last_updated: Option<String>,
    pub last_modified: Option<String>,
    pub date_registered: String,
    pub affiliation: String,
    pub media_types: Vec<String>,
    pub content_types: Vec<String>,
    pub categories: Vec<Category>,
    pub storage_size: Option<i64>,
    pub can_edit: bool,
    pub is_migrated: bool,
}

impl From<RepoView> for RepositoryListEntry {
    fn from(view: RepoView) -> RepositoryListEntry {
        let info = RepositoryInfo::from(view);
        RepositoryListEntry {
            user: info.user,
            repository_type: info.repository_type,
            status: info.status,
            status_description: info.status_description,
            description: Some(info.description),
            is_private: info.is_private,
            star_count: info.star_count,
            pull_count: info.pull_count,
            last_updated: Some(info.last_updated),
            last_modified: info.last_modified,
            date_registered: info.date_registered,
            affiliation: String::new(),
            media_types: info.media_types,
            content_types: info.content_types,
            categories: info.categories,
            storage_size: info.storage_size,
            can_edit: info.permissions.admin,
            is_migrated: false,
            name: info.name,
            namespace: info.namespace,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct RepositoryListParams {
    /// Part of the repository name.
    pub name: Option<String>,
    /// `name`, `-name`, `last_updated`, `-last_updated`, `pull_count` or `-pull_count`.
    pub ordering: Option<String>,
    /// Page number, from 1.
    pub page: Option<String>,
    /// Results per page (1 to 100, default 10).
    pub page_size: Option<String>,
}

/// `repo_creation_request`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRepositoryRequest {
    /// 2 to 255 characters: lowercase letters and digits separated by `.`, `_` or `-`.
    pub name: String,
    /// Must be the namespace of the path (on the legacy `POST /v2/repositories/`, it
    /// names the namespace).
    pub namespace: String,
    pub description: Option<String>,
    pub full_description: Option<String>,
    /// Accepted and ignored: Wharf is the registry.
    pub registry: Option<String>,
    #[serde(default)]
    pub is_private: bool,
}

/// Immutable-tag rules as clients send them: a list, or (the Terraform provider) one
/// string of comma-separated rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RulesField {
    List(Vec<String>),
    Text(String),
}

impl RulesField {
    fn into_rules(self) -> Vec<String> {
        match self {
            RulesField::List(rules) => rules,
            RulesField::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|rule| !rule.is_empty())
                .map(String::from)
                .collect(),
        }
    }
}

/// `PATCH /v2/repositories/{namespace}/{repository}/` (extension): any of the fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateRepositoryRequest {
    pub description: Option<String>,
    pub full_description: Option<String>,
    pub immutable_tags: Option<bool>,
    pub immutable_tags_rules: Option<RulesField>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PrivacyRequest {
    pub is_private: bool,
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

/// The shared body of the official and the legacy listing.
async fn list_page(
    app: &App,
    principal: Option<&Principal>,
    namespace: &str,
    params: &RepositoryListParams,
    page: &PageRequest,
) -> HubResult<Json<Page<RepositoryListEntry>>> {
    let query = RepoListQuery {
        name: params.name.as_deref(),
        ordering: parse_ordering(params.ordering.as_deref())?,
        offset: page.offset(),
        limit: page.limit(),
    };
    let (views, total) = app.list_repositories(principal, namespace, &query).await?;
    let results = views.into_iter().map(RepositoryListEntry::from).collect();
    Ok(Json(page.respond(total as u64, results)?))
}

/// The shared body of the official and the legacy creation.
async fn create_in(
    app: &App,
    principal: &Principal,
    namespace: &str,
    body: &CreateRepositoryRequest,
) -> HubResult<(StatusCode, Json<RepositoryInfo>)> {
    let request = NewRepositoryRequest {
        name: &body.name,
        namespace: &body.namespace,
        description: body.description.as_deref(),
        full_description: body.full_description.as_deref(),
        is_private: body.is_private,
    };
    let view = app.create_repository(principal, namespace, &request).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// List repositories in a namespace. Callers who may not read a private repository do not
/// see it.
#[utoipa::path(
    get,
    path = "/v2/namespaces/{namespace}/repositories",
    tag = "repositories",
    operation_id = "listNamespaceRepositories",
    params(("namespace" = String, Path, description = "User or organization"), RepositoryListParams),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "List of repositories", body = Page<RepositoryListEntry>), WriteErrors)
)]
pub async fn list(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    Path(namespace): Path<String>,
    HubQuery(params): HubQuery<RepositoryListParams>,
    page: PageRequest,
) -> HubResult<Json<Page<RepositoryListEntry>>> {
    list_page(&app, principal.as_ref(), &namespace, &params, &page).await
}

/// Create a repository.
#[utoipa::path(
    post,
    path = "/v2/namespaces/{namespace}/repositories",
    tag = "repositories",
    operation_id = "CreateRepository",
    params(("namespace" = String, Path, description = "User or organization")),
    request_body = CreateRepositoryRequest,
    responses((status = 201, description = "Repository created", body = RepositoryInfo), WriteErrors)
)]
pub async fn create(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(namespace): Path<String>,
    JsonBody(body, ..): JsonBody<CreateRepositoryRequest>,
) -> HubResult<(StatusCode, Json<RepositoryInfo>)> {
    create_in(&app, &principal, &namespace, &body).await
}

/// Get a repository, with the caller's permissions. A private repository the caller may
/// not read is a 404, as if it did not exist.
#[utoipa::path(
    get,
    path = "/v2/namespaces/{namespace}/repositories/{repository}",
    tag = "repositories",
    operation_id = "GetRepository",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The repository", body = RepositoryInfo), ReadErrors)
)]
pub async fn get(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    Path((namespace, repository)): Path<(String, String)>,
) -> HubResult<Json<RepositoryInfo>> {
    let view = app
        .get_repository(principal.as_ref(), &namespace, &repository)
        .await?;
    Ok(Json(view.into()))
}

/// Check that a repository exists (and that the caller may read it).
#[utoipa::path(
    head,
    path = "/v2/namespaces/{namespace}/repositories/{repository}",
    tag = "repositories",
    operation_id = "CheckRepository",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The repository exists"), ReadErrors)
)]
pub async fn head(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    Path((namespace, repository)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    app.get_repository(principal.as_ref(), &namespace, &repository)
        .await?;
    Ok(StatusCode::OK)
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
    responses((status = 200, description = "The repository", body = RepositoryInfo), WriteErrors)
)]
pub async fn update_immutable_tags(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<UpdateImmutableTagsRequest>,
) -> HubResult<Json<RepositoryInfo>> {
    app.update_immutable_tags(
        &principal,
        &namespace,
        &repository,
        body.immutable_tags,
        &body.immutable_tags_rules,
    )
    .await?;
    let view = app
        .repository_after(&principal, &namespace, &repository, RepoAction::Admin)
        .await?;
    Ok(Json(view.into()))
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
    responses((status = 200, description = "Matching tags", body = VerifyImmutableTagsResponse), WriteErrors)
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

/// Update a repository's descriptions and immutable-tag settings (extension: the route
/// Docker's clients use). Rules may be a list or one comma-separated string.
#[utoipa::path(
    patch,
    path = "/v2/repositories/{namespace}/{repository}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    request_body = UpdateRepositoryRequest,
    responses((status = 200, description = "The repository", body = RepositoryInfo), WriteErrors)
)]
pub async fn update(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<UpdateRepositoryRequest>,
) -> HubResult<Json<RepositoryInfo>> {
    let update = RepositoryUpdate {
        description: body.description,
        full_description: body.full_description,
        immutable_tags: body.immutable_tags,
        immutable_tags_rules: body.immutable_tags_rules.map(RulesField::into_rules),
    };
    let view = app
        .update_repository(&principal, &namespace, &repository, &update)
        .await?;
    Ok(Json(view.into()))
}

/// Make a repository private or public (extension).
#[utoipa::path(
    post,
    path = "/v2/repositories/{namespace}/{repository}/privacy",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    request_body = PrivacyRequest,
    responses((status = 200, description = "The repository", body = RepositoryInfo), WriteErrors)
)]
pub async fn privacy(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<PrivacyRequest>,
) -> HubResult<Json<RepositoryInfo>> {
    let view = app
        .set_repository_privacy(&principal, &namespace, &repository, body.is_private)
        .await?;
    Ok(Json(view.into()))
}

/// Delete a repository with its tags and manifests (extension). Its layers are left to
/// garbage collection.
#[utoipa::path(
    delete,
    path = "/v2/repositories/{namespace}/{repository}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    responses((status = 202, description = "Repository deleted"), ReadErrors)
)]
pub async fn delete(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    app.delete_repository(&principal, &namespace, &repository).await?;
    Ok(StatusCode::ACCEPTED)
}

/// List repositories (legacy form of `GET /v2/namespaces/{namespace}/repositories`;
/// refused to organization access tokens).
#[utoipa::path(
    get,
    path = "/v2/repositories/{namespace}",
    tag = "wharf-extensions",
    params(("namespace" = String, Path, description = "User or organization"), RepositoryListParams),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "List of repositories", body = Page<RepositoryListEntry>), WriteErrors)
)]
pub async fn legacy_list(
    State(app): State<App>,
    LegacyCaller(principal): LegacyCaller,
    Path(namespace): Path<String>,
    HubQuery(params): HubQuery<RepositoryListParams>,
    page: PageRequest,
) -> HubResult<Json<Page<RepositoryListEntry>>> {
    list_page(&app, principal.as_ref(), &namespace, &params, &page).await
}

/// Create a repository in the namespace of the path (legacy form).
#[utoipa::path(
    post,
    path = "/v2/repositories/{namespace}",
    tag = "wharf-extensions",
    params(("namespace" = String, Path, description = "User or organization")),
    request_body = CreateRepositoryRequest,
    responses((status = 201, description = "Repository created", body = RepositoryInfo), WriteErrors)
)]
pub async fn legacy_create_in(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(namespace): Path<String>,
    JsonBody(body, ..): JsonBody<CreateRepositoryRequest>,
) -> HubResult<(StatusCode, Json<RepositoryInfo>)> {
    create_in(&app, &principal, &namespace, &body).await
}

/// Create a repository in the namespace the body names (legacy form).
#[utoipa::path(
    post,
    path = "/v2/repositories",
    tag = "wharf-extensions",
    request_body = CreateRepositoryRequest,
    responses((status = 201, description = "Repository created", body = RepositoryInfo), WriteErrors)
)]
pub async fn legacy_create(
    State(app): State<App>,
    Caller(principal): Caller,
    JsonBody(body, ..): JsonBody<CreateRepositoryRequest>,
) -> HubResult<(StatusCode, Json<RepositoryInfo>)> {
    let namespace = body.namespace.clone();
    create_in(&app, &principal, &namespace, &body).await
}

/// Get a repository (legacy form; refused to organization access tokens).
#[utoipa::path(
    get,
    path = "/v2/repositories/{namespace}/{repository}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The repository", body = RepositoryInfo), ReadErrors)
)]
pub async fn legacy_get(
    State(app): State<App>,
    LegacyCaller(principal): LegacyCaller,
    Path((namespace, repository)): Path<(String, String)>,
) -> HubResult<Json<RepositoryInfo>> {
    let view = app
        .get_repository(principal.as_ref(), &namespace, &repository)
        .await?;
    Ok(Json(view.into()))
}

/// Check that a repository exists (legacy form; refused to organization access tokens).
#[utoipa::path(
    head,
    path = "/v2/repositories/{namespace}/{repository}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The repository exists"), ReadErrors)
)]
pub async fn legacy_head(
    State(app): State<App>,
    LegacyCaller(principal): LegacyCaller,
    Path((namespace, repository)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    app.get_repository(principal.as_ref(), &namespace, &repository)
        .await?;
    Ok(StatusCode::OK)
}
