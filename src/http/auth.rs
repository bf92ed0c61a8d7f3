//! Who is calling: the `Authorization` header, checked against the store on every request.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::{ApiError, Hub};
use crate::app::App;
use crate::domain::policy::Principal;
use crate::domain::Error;

/// An authenticated caller. Rejects with 401 when there is no valid session token.
pub struct Caller(pub Principal);

/// The bearer token of a request: `Authorization: Bearer …`, or `Authorization: JWT …` as
/// older Docker Hub clients send it.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("jwt");
    (known && !token.is_empty()).then_some(token)
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError<Hub>;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| Error::unauthorized("authentication required"))?;
        Ok(Caller(app.principal_for(token).await?))
    }
}

/// A caller who may be anonymous: `None` without an `Authorization` header. A header that
/// does not authenticate is still a 401, never a silent downgrade to anonymous.
pub struct MaybeCaller(pub Option<Principal>);

impl FromRequestParts<App> for MaybeCaller {
    type Rejection = ApiError<Hub>;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeCaller(None));
        }
        let Caller(principal) = Caller::from_request_parts(parts, app).await?;
        Ok(MaybeCaller(Some(principal)))
    }
}

/// A caller, possibly anonymous, of the legacy `/v2/repositories/…` and `/v2/users/…`
/// reads, which Docker Hub refuses to organization access tokens (403).
pub struct LegacyCaller(pub Option<Principal>);

impl FromRequestParts<App> for LegacyCaller {
    type Rejection = ApiError<Hub>;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let MaybeCaller(principal) = MaybeCaller::from_request_parts(parts, app).await?;
        crate::domain::policy::authorize_legacy_read(principal.as_ref())?;
        Ok(LegacyCaller(principal))
    }
}
