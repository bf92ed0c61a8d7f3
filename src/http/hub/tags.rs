//! Tags of a repository in the Hub API (`repositories` group): the tag views, filled from
//! what was pushed, and (extension) deleting a tag; the legacy `/v2/repositories/…/tags`
//! reads share the handlers' code.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::images::stored_images;
use crate::domain::policy::Principal;
use crate::domain::tags::is_active;
use crate::http::auth::{Caller, LegacyCaller, MaybeCaller};
use crate::http::error::HubResult;
use crate::http::openapi::{ReadErrors, WriteErrors};
use crate::http::pagination::{Page, PageRequest};
use crate::store::{now_micros, TagRow};
use crate::timefmt::format_micros;

#[derive(Debug, Serialize, ToSchema)]
pub struct Layer {
    pub digest: Option<String>,
    pub size: i64,
    /// The Dockerfile instruction that made it, where the image records one.
    pub instruction: String,
}

/// One platform's image of a tag.
#[derive(Debug, Serialize, ToSchema)]
pub struct Image {
    pub architecture: String,
    pub features: Option<String>,
    pub variant: Option<String>,
    pub digest: Option<String>,
    pub layers: Vec<Layer>,
    pub os: String,
    pub os_features: Option<String>,
    pub os_version: Option<String>,
    pub size: i64,
    /// `active` or `inactive`.
    pub status: String,
    pub last_pulled: Option<String>,
    pub last_pushed: Option<String>,
}

/// A tag (`tag`), with the fields real responses add (`digest`, `media_type`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Tag {
    pub id: i64,
    pub images: Vec<Image>,
    pub last_updated: Option<String>,
    pub last_updater_username: String,
    pub name: String,
    pub repository: i64,
    pub full_size: i64,
    pub v2: bool,
    /// `active` when pushed or pulled within the last 30 days, else `inactive`.
    pub tag_status: String,
    pub tag_last_pulled: Option<String>,
    pub tag_last_pushed: Option<String>,
    pub digest: String,
    pub media_type: String,
}

fn status(active: bool) -> String {
    if active { "active" } else { "inactive" }.to_string()
}

impl From<TagRow> for Tag {
    fn from(row: TagRow) -> Tag {
        let active = is_active(row.pushed_at, row.last_pulled_at, now_micros());
        let pushed = Some(format_micros(row.pushed_at));
        let pulled = row.last_pulled_at.map(format_micros);
        let images: Vec<Image> = stored_images(&row.images)
            .into_iter()
            .map(|image| Image {
                architecture: image.architecture,
                features: image.features,
                variant: image.variant,
                digest: Some(image.digest),
                layers: image
                    .layers
                    .into_iter()
                    .map(|l| Layer {
                        digest: l.digest,
                        size: l.size,
                        instruction: l.instruction,
                    })
                    .collect(),
                os: image.os,
                os_features: image.os_features,
                os_version: image.os_version,
                size: image.size,
                status: status(active),
                last_pulled: pulled.clone(),
                last_pushed: pushed.clone(),
            })
            .collect();
        Tag {
            id: row.number,
            full_size: images.iter().map(|i| i.size).sum(),
            images,
            last_updated: pushed.clone(),
            last_updater_username: row.pushed_by,
            name: row.name,
            repository: row.repository_number,
            v2: true,
            tag_status: status(active),
            tag_last_pulled: pulled,
            tag_last_pushed: pushed,
            digest: row.digest,
            media_type: row.media_type,
        }
    }
}

async fn tags_page(
    app: &App,
    principal: Option<&Principal>,
    namespace: &str,
    repository: &str,
    page: &PageRequest,
) -> HubResult<Json<Page<Tag>>> {
    let (rows, total) = app
        .list_hub_tags(principal, namespace, repository, page.offset(), page.limit())
        .await?;
    let results = rows.into_iter().map(Tag::from).collect();
    Ok(Json(page.respond(total as u64, results)?))
}

async fn one_tag(
    app: &App,
    principal: Option<&Principal>,
    namespace: &str,
    repository: &str,
    tag: &str,
) -> HubResult<Json<Tag>> {
    let row = app.get_hub_tag(principal, namespace, repository, tag).await?;
    Ok(Json(row.into()))
}

/// List a repository's tags, most recently pushed first.
#[utoipa::path(
    get,
    path = "/v2/namespaces/{namespace}/repositories/{repository}/tags",
    tag = "repositories",
    operation_id = "ListRepositoryTags",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("page" = Option<i64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<i64>, Query, description = "Results per page (1 to 100, default 10)"),
    ),
    security((), ("bearerAuth" = [])),
    // The official spec lists no 400 here; a `page` or `page_size` that is not a positive
    // integer (or a `page_size` over 100) gets one, as on every paginated list.
    responses((status = 200, description = "Tags", body = Page<Tag>), WriteErrors)
)]
pub async fn list(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    Path((namespace, repository)): Path<(String, String)>,
    page: PageRequest,
) -> HubResult<Json<Page<Tag>>> {
    tags_page(&app, principal.as_ref(), &namespace, &repository, &page).await
}

/// Check that a repository has tags (404 when it has none).
#[utoipa::path(
    head,
    path = "/v2/namespaces/{namespace}/repositories/{repository}/tags",
    tag = "repositories",
    operation_id = "headV2NamespacesByNamespaceRepositoriesByRepositoryTags",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "Repository contains tags"), ReadErrors)
)]
pub async fn head_list(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    Path((namespace, repository)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    app.check_hub_tags(principal.as_ref(), &namespace, &repository)
        .await?;
    Ok(StatusCode::OK)
}

/// Get one tag.
#[utoipa::path(
    get,
    path = "/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}",
    tag = "repositories",
    operation_id = "GetRepositoryTag",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("tag" = String, Path, description = "Name of the tag"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The tag", body = Tag), ReadErrors)
)]
pub async fn get(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    Path((namespace, repository, tag)): Path<(String, String, String)>,
) -> HubResult<Json<Tag>> {
    one_tag(&app, principal.as_ref(), &namespace, &repository, &tag).await
}

/// Check that a tag exists.
#[utoipa::path(
    head,
    path = "/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}",
    tag = "repositories",
    operation_id = "headV2NamespacesByNamespaceRepositoriesByRepositoryTagsByTag",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("tag" = String, Path, description = "Name of the tag"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The tag exists"), ReadErrors)
)]
pub async fn head(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    Path((namespace, repository, tag)): Path<(String, String, String)>,
) -> HubResult<StatusCode> {
    app.get_hub_tag(principal.as_ref(), &namespace, &repository, &tag)
        .await?;
    Ok(StatusCode::OK)
}

/// Delete a tag (extension: the route Docker's clients use). Its manifest stays,
/// reachable by digest; an immutable tag is refused (403).
#[utoipa::path(
    delete,
    path = "/v2/repositories/{namespace}/{repository}/tags/{tag}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("tag" = String, Path, description = "Name of the tag"),
    ),
    responses((status = 204, description = "Tag deleted"), ReadErrors)
)]
pub async fn delete(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((namespace, repository, tag)): Path<(String, String, String)>,
) -> HubResult<StatusCode> {
    app.delete_hub_tag(&principal, &namespace, &repository, &tag)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List tags (legacy form; refused to organization access tokens).
#[utoipa::path(
    get,
    path = "/v2/repositories/{namespace}/{repository}/tags",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("page" = Option<i64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<i64>, Query, description = "Results per page (1 to 100, default 10)"),
    ),
    security((), ("bearerAuth" = [])),
    // The official spec lists no 400 here; a `page` or `page_size` that is not a positive
    // integer (or a `page_size` over 100) gets one, as on every paginated list.
    responses((status = 200, description = "Tags", body = Page<Tag>), WriteErrors)
)]
pub async fn legacy_list(
    State(app): State<App>,
    LegacyCaller(principal): LegacyCaller,
    Path((namespace, repository)): Path<(String, String)>,
    page: PageRequest,
) -> HubResult<Json<Page<Tag>>> {
    tags_page(&app, principal.as_ref(), &namespace, &repository, &page).await
}

/// Get one tag (legacy form; refused to organization access tokens).
#[utoipa::path(
    get,
    path = "/v2/repositories/{namespace}/{repository}/tags/{tag}",
    tag = "wharf-extensions",
    params(
        ("namespace" = String, Path, description = "User or organization"),
        ("repository" = String, Path, description = "Name of the repository"),
        ("tag" = String, Path, description = "Name of the tag"),
    ),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The tag", body = Tag), ReadErrors)
)]
pub async fn legacy_get(
    State(app): State<App>,
    LegacyCaller(principal): LegacyCaller,
    Path((namespace, repository, tag)): Path<(String, String, String)>,
) -> HubResult<Json<Tag>> {
    one_tag(&app, principal.as_ref(), &namespace, &repository, &tag).await
}
