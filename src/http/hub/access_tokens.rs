//! `access-tokens` group: personal access tokens of the calling user.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::access_tokens::CreatorInfo;
use crate::domain::auth::pat_scope;
use crate::http::auth::Caller;
use crate::http::error::HubResult;
use crate::http::extract::{ClientInfo, JsonBody};
use crate::http::openapi::ErrorBody;
use crate::http::pagination::{Page, PageRequest};
use crate::store::PatRow;
use crate::timefmt::format_micros;

/// What later responses show instead of the secret.
const REDACTED: &str = "***";

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessToken {
    pub uuid: String,
    pub client_id: String,
    pub creator_ip: String,
    pub creator_ua: String,
    pub created_at: String,
    pub last_used: Option<String>,
    pub generated_by: String,
    pub is_active: bool,
    /// The secret at creation; `***` afterwards.
    pub token: String,
    pub token_label: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
}

impl AccessToken {
    fn from_row(row: PatRow, token: String) -> AccessToken {
        AccessToken {
            uuid: row.id,
            client_id: row.client_id,
            creator_ip: row.creator_ip,
            creator_ua: row.creator_ua,
            created_at: format_micros(row.created_at),
            last_used: row.last_used_at.map(format_micros),
            generated_by: row.generated_by,
            is_active: row.is_active,
            token,
            token_label: row.label,
            scopes: vec![pat_scope(&row.scopes).as_str().to_string()],
            expires_at: row.expires_at.map(format_micros),
        }
    }

    fn redacted(row: PatRow) -> AccessToken {
        AccessToken::from_row(row, REDACTED.into())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAccessTokenRequest {
    /// Friendly name, 1 to 100 characters.
    pub token_label: String,
    /// `repo:admin`, `repo:write`, `repo:read` or `repo:public_read`; the highest one wins.
    pub scopes: Vec<String>,
    /// Optional expiry (RFC 3339); without it the token does not expire.
    pub expires_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchAccessTokenRequest {
    pub token_label: Option<String>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessTokenList {
    #[serde(flatten)]
    pub page: Page<AccessToken>,
    pub active_count: u64,
}

/// Create personal access token.
#[utoipa::path(
    post,
    path = "/v2/access-tokens",
    tag = "access-tokens",
    operation_id = "postV2AccessTokens",
    request_body = CreateAccessTokenRequest,
    responses(
        (status = 201, description = "Created", body = AccessToken),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "Tokens cannot manage tokens", body = ErrorBody),
    )
)]
pub async fn create(
    State(app): State<App>,
    Caller(principal): Caller,
    client: ClientInfo,
    JsonBody(body, ..): JsonBody<CreateAccessTokenRequest>,
) -> HubResult<(StatusCode, Json<AccessToken>)> {
    let expires_at = crate::http::extract::expires_at(body.expires_at.as_deref())?;
    let ip = client.ip.to_string();
    let created = app
        .create_pat(
            &principal,
            &body.token_label,
            &body.scopes,
            expires_at,
            CreatorInfo {
                ip: &ip,
                user_agent: &client.user_agent,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AccessToken::from_row(created.row, created.secret)),
    ))
}

/// List personal access tokens.
#[utoipa::path(
    get,
    path = "/v2/access-tokens",
    tag = "access-tokens",
    operation_id = "getV2AccessTokens",
    params(
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<u64>, Query, description = "Results per page, 1 to 100 (default 10)"),
    ),
    responses(
        (status = 200, description = "OK", body = AccessTokenList),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 404, description = "Page past the last", body = ErrorBody),
    )
)]
pub async fn list(
    State(app): State<App>,
    Caller(principal): Caller,
    page: PageRequest,
) -> HubResult<Json<AccessTokenList>> {
    let found = app.list_pats(&principal, page.offset(), page.limit()).await?;
    let results = found.rows.into_iter().map(AccessToken::redacted).collect();
    let page = page.respond(found.total as u64, results)?;
    Ok(Json(AccessTokenList {
        page,
        active_count: found.active as u64,
    }))
}

/// Get personal access token.
#[utoipa::path(
    get,
    path = "/v2/access-tokens/{uuid}",
    tag = "access-tokens",
    operation_id = "getV2AccessTokensByUuid",
    params(("uuid" = String, Path, description = "UUID of the personal access token")),
    responses(
        (status = 200, description = "OK", body = AccessToken),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 404, description = "Not Found", body = ErrorBody),
    )
)]
pub async fn get(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(uuid): Path<String>,
) -> HubResult<Json<AccessToken>> {
    Ok(Json(AccessToken::redacted(app.get_pat(&principal, &uuid).await?)))
}

/// Update personal access token: its label, or enable/disable it.
#[utoipa::path(
    patch,
    path = "/v2/access-tokens/{uuid}",
    tag = "access-tokens",
    operation_id = "patchV2AccessTokensByUuid",
    params(("uuid" = String, Path, description = "UUID of the personal access token")),
    request_body = PatchAccessTokenRequest,
    responses(
        (status = 200, description = "OK", body = AccessToken),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 404, description = "Not Found", body = ErrorBody),
    )
)]
pub async fn update(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(uuid): Path<String>,
    JsonBody(body, ..): JsonBody<PatchAccessTokenRequest>,
) -> HubResult<Json<AccessToken>> {
    let row = app
        .update_pat(&principal, &uuid, body.token_label.as_deref(), body.is_active)
        .await?;
    Ok(Json(AccessToken::redacted(row)))
}

/// Delete personal access token.
#[utoipa::path(
    delete,
    path = "/v2/access-tokens/{uuid}",
    tag = "access-tokens",
    operation_id = "deleteV2AccessTokensByUuid",
    params(("uuid" = String, Path, description = "UUID of the personal access token")),
    responses(
        (status = 204, description = "A successful response."),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 404, description = "Not Found", body = ErrorBody),
    )
)]
pub async fn delete(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(uuid): Path<String>,
) -> HubResult<StatusCode> {
    app.delete_pat(&principal, &uuid).await?;
    Ok(StatusCode::NO_CONTENT)
}
