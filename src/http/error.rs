//! Rendering domain errors as HTTP responses, once, per API surface.
//!
//! Handlers return `Result<_, ApiError<S>>` where `S` is the surface they belong to; a
//! domain error converts with `?` and is rendered here in that surface's format. Nothing
//! else builds error bodies.

use std::marker::PhantomData;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::domain::{Error, RegistryCode, ScimErrorKind};

/// An API surface: how its errors look on the wire.
pub trait Surface: Send + Sync + 'static {
    fn render(status: StatusCode, error: &Error) -> Response;
}

/// The Hub API: `{"message": …, "errinfo": null, "detail": …}` (the official `error`
/// schema; `detail` repeats the message for older clients that read it).
pub struct Hub;

/// The audit log endpoints: the Hub API's errors, except that a caller over the query
/// limit gets the spec's `{"detail": "Rate limit exceeded", "error": false}`.
pub struct Audit;

impl Surface for Audit {
    fn render(status: StatusCode, error: &Error) -> Response {
        match error {
            Error::RateLimited { .. } => (
                status,
                Json(json!({"detail": public_message(status, error), "error": false})),
            )
                .into_response(),
            _ => Hub::render(status, error),
        }
    }
}

/// The login endpoints (`/v2/users/login`, `/v2/users/2fa-login`): `{"detail": …}`, plus
/// `login_2fa_token` when the second factor is required.
pub struct Login;

impl Surface for Hub {
    fn render(status: StatusCode, error: &Error) -> Response {
        let message = public_message(status, error);
        let body = match error {
            // The field-error form of the spec's examples, with the usual fields as well.
            Error::InvalidField { field, message: text } => {
                let fields = json!({ field.as_str(): [text] });
                json!({
                    "message": message,
                    "errinfo": null,
                    "detail": message,
                    "fields": fields,
                    "text": text,
                })
            }
            _ => json!({"message": message, "errinfo": null, "detail": message}),
        };
        (status, Json(body)).into_response()
    }
}

impl Surface for Login {
    fn render(status: StatusCode, error: &Error) -> Response {
        let body = match error {
            Error::SecondFactorRequired { login_2fa_token } => json!({
                "detail": error.to_string(),
                "login_2fa_token": login_2fa_token,
            }),
            _ => json!({"detail": public_message(status, error)}),
        };
        (status, Json(body)).into_response()
    }
}

/// The registry (OCI Distribution): `{"errors": [{"code", "message", "detail"}]}`.
pub struct Oci;

impl Surface for Oci {
    fn render(status: StatusCode, error: &Error) -> Response {
        let code = match error {
            Error::Registry { code, .. } => code.as_str(),
            Error::Unauthorized(_) | Error::SecondFactorRequired { .. } => "UNAUTHORIZED",
            Error::Forbidden(_) | Error::Conflict(_) => "DENIED",
            Error::NotFound(_) => "NAME_UNKNOWN",
            Error::PayloadTooLarge(_) => "SIZE_INVALID",
            Error::RateLimited { .. } => "TOOMANYREQUESTS",
            Error::BadRequest(_)
            | Error::InvalidField { .. }
            | Error::Scim { .. }
            | Error::MethodNotAllowed => "UNSUPPORTED",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::Internal(_) => "UNKNOWN",
        };
        let message = public_message(status, error);
        let body = json!({"errors": [{"code": code, "message": message, "detail": null}]});
        (status, Json(body)).into_response()
    }
}

/// SCIM (RFC 7644 §3.12): `{"schemas": [Error URN], "status": "400", "scimType": …,
/// "detail": …}` as `application/scim+json`.
pub struct Scim;

impl Surface for Scim {
    fn render(status: StatusCode, error: &Error) -> Response {
        let mut body = json!({
            "schemas": [crate::domain::scim::schema::ERROR],
            "status": status.as_u16().to_string(),
            "detail": public_message(status, error),
        });
        let kind = match error {
            Error::Scim { kind, .. } => Some(kind.as_str()),
            // Malformed JSON or query parameters.
            Error::BadRequest(_) => Some(ScimErrorKind::InvalidSyntax.as_str()),
            Error::InvalidField { .. } => Some(ScimErrorKind::InvalidValue.as_str()),
            Error::Conflict(_) => Some(ScimErrorKind::Uniqueness.as_str()),
            _ => None,
        };
        if let Some(kind) = kind {
            body["scimType"] = json!(kind);
        }
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_MEDIA_TYPE));
        response
    }
}

/// The media type of SCIM requests and responses.
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// A domain error on its way out through surface `S`.
pub struct ApiError<S: Surface>(pub Error, PhantomData<S>);

impl<S: Surface> From<Error> for ApiError<S> {
    fn from(error: Error) -> Self {
        ApiError(error, PhantomData)
    }
}

impl<S: Surface> ApiError<S> {
    pub fn new(error: Error) -> Self {
        error.into()
    }
}

pub type HubResult<T> = Result<T, ApiError<Hub>>;
pub type LoginResult<T> = Result<T, ApiError<Login>>;
pub type AuditResult<T> = Result<T, ApiError<Audit>>;
pub type OciResult<T> = Result<T, ApiError<Oci>>;
pub type ScimResult<T> = Result<T, ApiError<Scim>>;

pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::BadRequest(_) | Error::InvalidField { .. } => StatusCode::BAD_REQUEST,
        Error::Scim {
            kind: ScimErrorKind::Uniqueness,
            ..
        } => StatusCode::CONFLICT,
        Error::Scim { .. } => StatusCode::BAD_REQUEST,
        Error::Unauthorized(_) | Error::SecondFactorRequired { .. } => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Registry { code, .. } => match code {
            RegistryCode::BlobUnknown
            | RegistryCode::BlobUploadUnknown
            | RegistryCode::ManifestUnknown
            | RegistryCode::NameUnknown => StatusCode::NOT_FOUND,
            RegistryCode::Unauthorized => StatusCode::UNAUTHORIZED,
            RegistryCode::Denied => StatusCode::FORBIDDEN,
            RegistryCode::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            RegistryCode::RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
            _ => StatusCode::BAD_REQUEST,
        },
    }
}

/// What the caller is told. Internal details are logged, never sent.
fn public_message(status: StatusCode, error: &Error) -> String {
    match error {
        Error::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            "internal error".into()
        }
        Error::RateLimited { .. } => "Rate limit exceeded".into(),
        other => {
            let text = other.to_string();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_lowercase()
            } else {
                text
            }
        }
    }
}

impl<S: Surface> IntoResponse for ApiError<S> {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let mut response = S::render(status, &self.0);
        let retry_after = match self.0 {
            Error::RateLimited { retry_after_secs } => Some(retry_after_secs),
            Error::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
