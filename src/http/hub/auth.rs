//! `auth` group: exchange a password or access token for a short-lived JWT.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::http::error::HubResult;
use crate::http::extract::{ClientInfo, JsonBody};
use crate::http::openapi::ErrorBody;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTokenRequest {
    /// Username (for a password or personal access token).
    pub identifier: String,
    /// Password or personal access token.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateTokenResponse {
    /// The access token (JWT). Expires after the configured lifetime (10 minutes by default).
    pub access_token: String,
}

/// Create access token.
#[utoipa::path(
    post,
    path = "/v2/auth/token",
    tag = "authentication-api",
    operation_id = "AuthCreateAccessToken",
    request_body = CreateTokenRequest,
    security(()),
    responses(
        (status = 200, description = "Token created", body = CreateTokenResponse),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Authentication failed", body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(app): State<App>,
    client: ClientInfo,
    JsonBody(body, ..): JsonBody<CreateTokenRequest>,
) -> HubResult<Json<CreateTokenResponse>> {
    let access_token = app
        .exchange_token(&body.identifier, &body.secret, client.ip)
        .await?;
    Ok(Json(CreateTokenResponse { access_token }))
}
