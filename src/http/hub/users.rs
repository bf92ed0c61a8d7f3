//! `users` group: password/PAT login and the second factor.
//! Errors use the login format, `{"detail": …}`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::http::error::{Login, LoginResult};
use crate::http::extract::{ClientInfo, JsonBody};

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The username of the account.
    pub username: String,
    /// The password or a personal access token.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SecondFactorRequest {
    /// The intermediate token from `/v2/users/login`.
    pub login_2fa_token: String,
    /// The current TOTP code.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Session token (JWT) for `Authorization: Bearer …`.
    pub token: String,
}

/// Failed login, or second factor required.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginErrorBody {
    pub detail: String,
    /// Present only when the account has 2FA: continue at `/v2/users/2fa-login`.
    pub login_2fa_token: Option<String>,
}

/// Create an authentication token (deprecated upstream in favour of `/v2/auth/token`).
#[utoipa::path(
    post,
    path = "/v2/users/login",
    tag = "authentication-api",
    operation_id = "PostUsersLogin",
    request_body = LoginRequest,
    security(()),
    responses(
        (status = 200, description = "Authentication successful", body = LoginResponse),
        (status = 400, description = "Malformed request", body = LoginErrorBody),
        (status = 401, description = "Authentication failed or second factor required", body = LoginErrorBody),
        (status = 429, description = "Too many failed attempts", body = LoginErrorBody),
    )
)]
pub async fn login(
    State(app): State<App>,
    client: ClientInfo,
    JsonBody(body, ..): JsonBody<LoginRequest, Login>,
) -> LoginResult<Json<LoginResponse>> {
    let token = app.login(&body.username, &body.password, client.ip).await?;
    Ok(Json(LoginResponse { token }))
}

/// Second factor authentication.
#[utoipa::path(
    post,
    path = "/v2/users/2fa-login",
    tag = "authentication-api",
    operation_id = "PostUsers2FALogin",
    request_body = SecondFactorRequest,
    security(()),
    responses(
        (status = 200, description = "Authentication successful", body = LoginResponse),
        (status = 400, description = "Malformed request", body = LoginErrorBody),
        (status = 401, description = "Authentication failed", body = LoginErrorBody),
        (status = 429, description = "Too many failed attempts", body = LoginErrorBody),
    )
)]
pub async fn login_second_factor(
    State(app): State<App>,
    client: ClientInfo,
    JsonBody(body, ..): JsonBody<SecondFactorRequest, Login>,
) -> LoginResult<Json<LoginResponse>> {
    let token = app
        .login_second_factor(&body.login_2fa_token, &body.code, client.ip)
        .await?;
    Ok(Json(LoginResponse { token }))
}
