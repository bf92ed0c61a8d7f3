//! `GET /v2/user`: the calling user, and `GET /v2/users/{username}`: a user's profile
//! (Wharf extensions of the official spec; Docker's own clients, hub-tool and the
//! Terraform provider, call them).

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::policy::{authorize, Action};
use crate::http::auth::{Caller, LegacyCaller};
use crate::http::error::HubResult;
use crate::http::extract::PublicBase;
use crate::http::openapi::{ErrorBody, ReadErrors};
use crate::store::UserRow;
use crate::timefmt::format_micros;

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub location: String,
    pub company: String,
    pub gravatar_email: String,
    pub gravatar_url: String,
    pub is_staff: bool,
    pub is_admin: bool,
    pub profile_url: String,
    pub date_joined: String,
    /// Always `User`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The calling user (extension).
#[utoipa::path(
    get,
    path = "/v2/user",
    tag = "wharf-extensions",
    operation_id = "GetCurrentUser",
    responses(
        (status = 200, description = "The calling user", body = CurrentUser),
        (status = 401, description = "Unauthorized", body = ErrorBody),
    )
)]
pub async fn current(
    State(app): State<App>,
    Caller(principal): Caller,
    PublicBase(base): PublicBase,
) -> HubResult<Json<CurrentUser>> {
    authorize(Some(&principal), Action::ReadOwnAccount)?;
    let user = app.user_named(&principal.account_name).await?;
    Ok(Json(CurrentUser::of(user, &base)))
}

impl CurrentUser {
    fn of(user: UserRow, base: &str) -> CurrentUser {
        CurrentUser {
            profile_url: format!("{base}/u/{}", user.username),
            // The UUID without dashes, as in every user-shaped item of the API.
            id: user.id.replace('-', ""),
            username: user.username,
            full_name: user.full_name,
            location: String::new(),
            company: String::new(),
            gravatar_email: String::new(),
            gravatar_url: String::new(),
            is_staff: false,
            is_admin: false,
            date_joined: format_micros(user.created_at),
            kind: "User".into(),
        }
    }
}

/// A user's public profile (extension: the legacy route Docker's clients call; refused to
/// organization access tokens).
#[utoipa::path(
    get,
    path = "/v2/users/{username}",
    tag = "wharf-extensions",
    params(("username" = String, Path, description = "The user")),
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "The user", body = CurrentUser), ReadErrors)
)]
pub async fn profile(
    State(app): State<App>,
    _caller: LegacyCaller,
    Path(username): Path<String>,
    PublicBase(base): PublicBase,
) -> HubResult<Json<CurrentUser>> {
    let user = app.user_named(&username).await?;
    Ok(Json(CurrentUser::of(user, &base)))
}
