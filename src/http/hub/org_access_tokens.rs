//! `org-access-tokens` group: organization access tokens, managed by owners from a
//! password session. As in `orgs.rs`, the organization parameter is `{org_name}` on every
//! route (the spec says `{name}` on the collection).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::auth::oat_resources;
use crate::domain::org_tokens::{OatChange, OatRequest};
use crate::domain::policy::{OatResource, OatResourceType};
use crate::domain::Error;
use crate::http::auth::Caller;
use crate::http::error::HubResult;
use crate::http::extract::JsonBody;
use crate::http::openapi::{ReadErrors, WriteErrors};
use crate::http::pagination::{PageRequest, TotalPage};
use crate::store::OatRow;
use crate::timefmt::format_micros;

/// A resource of a token (`orgAccessTokenResource`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Resource {
    /// `TYPE_REPO` or `TYPE_ORG`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `TYPE_REPO`: `org/repo`, `org/*` or `*/*/public`; `TYPE_ORG`: the organization's name.
    pub path: String,
    pub scopes: Vec<String>,
}

impl Resource {
    fn into_domain(self) -> Result<OatResource, Error> {
        let kind = match self.kind.as_str() {
            "TYPE_REPO" => OatResourceType::Repo,
            "TYPE_ORG" => OatResourceType::Org,
            other => {
                return Err(Error::bad_request(format!(
                    "resources: unknown type {other:?}; expected TYPE_REPO or TYPE_ORG"
                )))
            }
        };
        Ok(OatResource {
            kind,
            path: self.path,
            scopes: self.scopes,
        })
    }

    fn from_domain(resource: OatResource) -> Resource {
        Resource {
            kind: match resource.kind {
                OatResourceType::Repo => "TYPE_REPO",
                OatResourceType::Org => "TYPE_ORG",
            }
            .into(),
            path: resource.path,
            scopes: resource.scopes,
        }
    }
}

fn into_domain(resources: Vec<Resource>) -> Result<Vec<OatResource>, Error> {
    resources.into_iter().map(Resource::into_domain).collect()
}

/// A token in a list (`orgAccessToken`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgAccessToken {
    pub id: String,
    pub label: String,
    pub created_by: String,
    pub is_active: bool,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl From<&OatRow> for OrgAccessToken {
    fn from(row: &OatRow) -> OrgAccessToken {
        OrgAccessToken {
            id: row.id.clone(),
            label: row.label.clone(),
            created_by: row.created_by.clone(),
            is_active: row.is_active,
            created_at: format_micros(row.created_at),
            expires_at: row.expires_at.map(format_micros),
            last_used_at: row.last_used_at.map(format_micros),
        }
    }
}

/// One token with its resources (`getOrgAccessTokenResponse`, `updateOrgAccessTokenResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgAccessTokenDetail {
    #[serde(flatten)]
    pub token: OrgAccessToken,
    pub resources: Vec<Resource>,
}

impl From<OatRow> for OrgAccessTokenDetail {
    fn from(row: OatRow) -> OrgAccessTokenDetail {
        OrgAccessTokenDetail {
            token: OrgAccessToken::from(&row),
            resources: oat_resources(&row.resources)
                .into_iter()
                .map(Resource::from_domain)
                .collect(),
        }
    }
}

/// A token just created (`createOrgAccessTokenResponse`): the secret, this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrgAccessToken {
    pub id: String,
    pub label: String,
    pub is_active: bool,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    /// The secret (`dckr_oat_…`); never shown again.
    pub token: String,
    pub resources: Vec<Resource>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrgAccessTokenRequest {
    pub label: String,
    pub description: Option<String>,
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// RFC 3339; null or absent for no expiry.
    pub expires_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateOrgAccessTokenRequest {
    pub label: Option<String>,
    pub description: Option<String>,
    pub resources: Option<Vec<Resource>>,
    pub is_active: Option<bool>,
}

/// Create access token.
#[utoipa::path(
    post,
    path = "/v2/orgs/{org_name}/access-tokens",
    tag = "org-access-tokens",
    operation_id = "postV2OrgsByNameAccessTokens",
    params(("org_name" = String, Path, description = "Name of the organization (the spec calls it `name`)")),
    request_body = CreateOrgAccessTokenRequest,
    responses(
        (status = 201, description = "Created", body = CreatedOrgAccessToken),
        WriteErrors,
    )
)]
pub async fn create(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
    JsonBody(body, ..): JsonBody<CreateOrgAccessTokenRequest>,
) -> HubResult<(StatusCode, Json<CreatedOrgAccessToken>)> {
    let expires_at = crate::http::extract::expires_at(body.expires_at.as_deref())?;
    let request = OatRequest {
        label: &body.label,
        description: body.description.as_deref(),
        resources: into_domain(body.resources)?,
        expires_at,
    };
    let created = app.create_oat(&principal, &org_name, request).await?;
    let detail = OrgAccessTokenDetail::from(created.row);
    let token = detail.token;
    Ok((
        StatusCode::CREATED,
        Json(CreatedOrgAccessToken {
            id: token.id,
            label: token.label,
            is_active: token.is_active,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            token: created.secret,
            resources: detail.resources,
        }),
    ))
}

/// List access tokens.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/access-tokens",
    tag = "org-access-tokens",
    operation_id = "getV2OrgsByNameAccessTokens",
    params(
        ("org_name" = String, Path, description = "Name of the organization (the spec calls it `name`)"),
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<u64>, Query, description = "Results per page, 1 to 100 (default 10)"),
    ),
    responses(
        (status = 200, description = "OK", body = TotalPage<OrgAccessToken>),
        WriteErrors,
    )
)]
pub async fn list(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
    page: PageRequest,
) -> HubResult<Json<TotalPage<OrgAccessToken>>> {
    let (rows, total) = app
        .list_oats(&principal, &org_name, page.offset(), page.limit())
        .await?;
    let results = rows.iter().map(OrgAccessToken::from).collect();
    Ok(Json(page.respond_total(total as u64, results)?))
}

/// Get access token.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/access-tokens/{access_token_id}",
    tag = "org-access-tokens",
    operation_id = "getV2OrgsByOrgNameAccessTokensByAccessTokenId",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("access_token_id" = String, Path, description = "The ID of the access token"),
    ),
    responses(
        (status = 200, description = "OK", body = OrgAccessTokenDetail),
        ReadErrors,
    )
)]
pub async fn get(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, id)): Path<(String, String)>,
) -> HubResult<Json<OrgAccessTokenDetail>> {
    Ok(Json(app.get_oat(&principal, &org_name, &id).await?.into()))
}

/// Update access token: label, description, resources, active flag (not the expiry).
#[utoipa::path(
    patch,
    path = "/v2/orgs/{org_name}/access-tokens/{access_token_id}",
    tag = "org-access-tokens",
    operation_id = "patchV2OrgsByOrgNameAccessTokensByAccessTokenId",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("access_token_id" = String, Path, description = "The ID of the access token"),
    ),
    request_body = UpdateOrgAccessTokenRequest,
    responses(
        (status = 200, description = "OK", body = OrgAccessTokenDetail),
        WriteErrors,
    )
)]
pub async fn update(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, id)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<UpdateOrgAccessTokenRequest>,
) -> HubResult<Json<OrgAccessTokenDetail>> {
    let change = OatChange {
        label: body.label.as_deref(),
        description: body.description.as_deref(),
        resources: body.resources.map(into_domain).transpose()?,
        is_active: body.is_active,
    };
    Ok(Json(
        app.update_oat(&principal, &org_name, &id, change).await?.into(),
    ))
}

/// Delete access token.
#[utoipa::path(
    delete,
    path = "/v2/orgs/{org_name}/access-tokens/{access_token_id}",
    tag = "org-access-tokens",
    operation_id = "deleteV2OrgsByOrgNameAccessTokensByAccessTokenId",
    params(
        ("org_name" = String, Path, description = "Name of the organization"),
        ("access_token_id" = String, Path, description = "The ID of the access token"),
    ),
    responses(
        (status = 204, description = "Access token deleted successfully"),
        ReadErrors,
    )
)]
pub async fn delete(
    State(app): State<App>,
    Caller(principal): Caller,
    Path((org_name, id)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    app.delete_oat(&principal, &org_name, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
