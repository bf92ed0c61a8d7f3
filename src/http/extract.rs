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

impl FromRequestParts<crate::app::App> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &crate::app::App) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo {
            ip: client_ip(parts, &app.settings),
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
fn peer_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Whether the request came through a trusted reverse proxy, whose forwarding headers
/// are then believed.
fn via_trusted_proxy(parts: &Parts, settings: &crate::config::Settings) -> bool {
    settings.trusts_proxy(peer_ip(parts))
}

/// The client's address: the peer's, or behind trusted proxies the nearest address in
/// `X-Forwarded-For` that is not itself a trusted proxy (the rightmost entries are the
/// ones the proxies added; what the client wrote to the left is not believed).
pub fn client_ip(parts: &Parts, settings: &crate::config::Settings) -> IpAddr {
    let peer = peer_ip(parts);
    if !settings.trusts_proxy(peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| item.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !settings.trusts_proxy(**ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// A forwarding header's value, if it is plain text of URL-safe characters.
fn forwarded_header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    let value = parts.headers.get(name)?.to_str().ok()?;
    // A proxy chain may list several; the first is what the client asked for.
    let first = value.split(',').next()?.trim();
    (!first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
    .then_some(first)
}

/// The base URL for absolute links in responses: the configured public URL, or else
/// `http://` (`https://` when serving TLS) plus the request's `Host` header (what the client
/// used to reach us).
pub fn public_base(parts: &Parts, settings: &crate::config::Settings) -> String {
    if let Some(url) = &settings.public_url {
        return url.clone();
    }
    let trusted = via_trusted_proxy(parts, settings);
    let forwarded_proto = trusted
        .then(|| forwarded_header(parts, "x-forwarded-proto"))
        .flatten()
        .filter(|p| matches!(*p, "http" | "https"));
    let scheme = forwarded_proto.unwrap_or(if settings.tls.is_some() { "https" } else { "http" });
    if let Some(host) = trusted
        .then(|| forwarded_header(parts, "x-forwarded-host"))
        .flatten()
    {
        return format!("{scheme}://{host}");
    }
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
