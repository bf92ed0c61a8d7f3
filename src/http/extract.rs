//! Extractors shared by every handler: JSON bodies that fail in the API's own error
//! format, the caller's address and user agent.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::{ApiError, Hub, Surface};
use crate::domain::Error;

/// Largest JSON body a Hub endpoint accepts.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A JSON request body. Malformed JSON, missing fields and wrong types are a 400 in the
/// surface's error format (whatever the `Content-Type`, as curl users often omit it);
/// bodies over [`MAX_JSON_BODY`] are a 413.
pub struct JsonBody<T, S: Surface = Hub>(pub T, pub PhantomData<S>);

impl<T, S, St> FromRequest<St> for JsonBody<T, S>
where
    T: DeserializeOwned,
    S: Surface,
    St: Send + Sync,
{
    type Rejection = ApiError<S>;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Error::PayloadTooLarge(format!("request body larger than {MAX_JSON_BODY} bytes"))
            }
            other => Error::bad_request(format!("cannot read request body: {other}")),
        })?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))?;
        Ok(JsonBody(value, PhantomData))
    }
}

/// Query parameters, deserialized into `T`; a malformed value is a 400 in the Hub error
/// format. Unknown parameters (such as `page`, read by the pagination extractor) are
/// ignored.
pub struct HubQuery<T>(pub T);

impl<T, St> FromRequestParts<St> for HubQuery<T>
where
    T: DeserializeOwned,
    St: Send + Sync,
{
    type Rejection = ApiError<Hub>;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let value = serde_urlencoded::from_str(query)
            .map_err(|e| Error::bad_request(format!("invalid query parameters: {e}")))?;
        Ok(HubQuery(value))
    }
}

/// Who is on the other end: address and user agent.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub user_agent: String,
}

impl<St: Send + Sync> FromRequestParts<St> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo {
            ip: client_ip(parts),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(255)
                .collect(),
        })
    }
}

/// The peer address of the connection (unspecified when the server was not started with
/// connection info, as in unit tests).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The base URL for absolute links in responses: the configured public URL, or else
/// `http://` (`https://` when serving TLS) plus the request's `Host` header (what the client
/// used to reach us).
pub fn public_base(parts: &Parts, settings: &crate::config::Settings) -> String {
    if let Some(url) = &settings.public_url {
        return url.clone();
    }
    let scheme = if settings.tls.is_some() { "https" } else { "http" };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// The base URL for absolute links ([`public_base`]) as an extractor.
pub struct PublicBase(pub String);

impl FromRequestParts<crate::app::App> for PublicBase {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &crate::app::App) -> Result<Self, Self::Rejection> {
        Ok(PublicBase(public_base(parts, &app.settings)))
    }
}

/// An optional `expires_at` of a request body: RFC 3339, as store microseconds; a 400
/// otherwise.
pub fn expires_at(text: Option<&str>) -> Result<Option<i64>, Error> {
    text.map(|text| {
        crate::timefmt::parse_rfc3339_micros(text)
            .ok_or_else(|| Error::bad_request("expires_at: must be an RFC 3339 date-time"))
    })
    .transpose()
}
