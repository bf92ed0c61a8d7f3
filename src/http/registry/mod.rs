//! The registry (OCI Distribution) under `/v2/`, on the same listener as the Hub API.
//!
//! One catch-all route takes every `/v2/…` path the Hub API does not own, and
//! [`dispatch`] splits it into a repository name and an endpoint by its suffix
//! (`/blobs/…`, `/manifests/…`, `/tags/list`, `/referrers/…`), so names may have any number
//! of `/` components. Errors use the OCI format (`{"errors": [...]}`).

pub mod auth;
mod handlers;
pub mod ranges;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;

use crate::app::App;
use crate::domain::registry::RepoName;
use crate::domain::{Error, RegistryCode};
use crate::http::error::{ApiError, Oci};
use auth::RegistryCaller;

/// The registry's routes: the base check, the catch-all, and the token endpoint.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/v2", get(base).head(base))
        .route("/v2/{*path}", any(dispatch))
        // A token is a credential: never cached.
        .route(
            "/token",
            get(auth::token).layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            )),
        )
}

/// `GET /v2/`: 200 for a valid token, else the challenge that starts `docker login`.
async fn base(caller: Result<RegistryCaller, Rejection>) -> Response {
    match caller.and_then(|c| c.require_any()) {
        Ok(()) => (
            [("Docker-Distribution-API-Version", "registry/2.0")],
            axum::Json(serde_json::json!({})),
        )
            .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// A registry endpoint, parsed from the path after `/v2/`.
enum Endpoint {
    Blob(String),
    Uploads,
    Upload(String),
    Manifest(String),
    Tags,
    Referrers(String),
}

/// Splits `ns/repo/…/blobs/uploads/ID` and friends into a name and an endpoint, at the
/// last marker so that repository names may contain the marker words.
fn parse(path: &str) -> Option<(String, Endpoint)> {
    let path = path.trim_end_matches('/');
    if let Some(name) = path.strip_suffix("/tags/list") {
        return Some((name.to_string(), Endpoint::Tags));
    }
    if let Some(name) = path.strip_suffix("/blobs/uploads") {
        return Some((name.to_string(), Endpoint::Uploads));
    }
    for (marker, make) in [
        ("/blobs/uploads/", Endpoint::Upload as fn(String) -> Endpoint),
        ("/blobs/", Endpoint::Blob),
        ("/manifests/", Endpoint::Manifest),
        ("/referrers/", Endpoint::Referrers),
    ] {
        if let Some(at) = path.rfind(marker) {
            let (name, rest) = (&path[..at], &path[at + marker.len()..]);
            if !rest.is_empty() && !rest.contains('/') {
                return Some((name.to_string(), make(rest.to_string())));
            }
        }
    }
    None
}

/// The route label of a registry request path (`/v2/…`) for metrics: the endpoint kind,
/// without the repository name or reference.
pub fn route_label(path: &str) -> &'static str {
    let Some((_, endpoint)) = path.strip_prefix("/v2/").and_then(parse) else {
        return "/v2/{*path}";
    };
    match endpoint {
        Endpoint::Blob(_) => "/v2/{name}/blobs/{digest}",
        Endpoint::Uploads => "/v2/{name}/blobs/uploads/",
        Endpoint::Upload(_) => "/v2/{name}/blobs/uploads/{id}",
        Endpoint::Manifest(_) => "/v2/{name}/manifests/{reference}",
        Endpoint::Tags => "/v2/{name}/tags/list",
        Endpoint::Referrers(_) => "/v2/{name}/referrers/{digest}",
    }
}

async fn dispatch(State(app): State<App>, Path(path): Path<String>, request: Request<Body>) -> Response {
    // A path that is no registry endpoint is an unknown route, reported like the Hub API's.
    let Some((name, endpoint)) = parse(&path) else {
        return crate::http::error_for_path(&format!("/v2/{path}"), Error::not_found("not found"));
    };
    let name = match RepoName::parse(&name) {
        Ok(name) => name,
        Err(e) => return oci_error(e),
    };
    let method = request.method().clone();
    let params = handlers::query(&request);
    let (mut parts, body) = request.into_parts();
    let caller = match RegistryCaller::from_request_parts(&mut parts, &app).await {
        Ok(caller) => caller,
        Err(rejection) => return rejection.into_response(),
    };
    let ctx = handlers::Ctx {
        app,
        caller,
        name,
        headers: parts.headers,
        params,
    };
    let result = match (endpoint, method) {
        (Endpoint::Blob(d), Method::GET) => handlers::get_blob(ctx, &d, true).await,
        (Endpoint::Blob(d), Method::HEAD) => handlers::get_blob(ctx, &d, false).await,
        (Endpoint::Blob(d), Method::DELETE) => handlers::delete_blob(ctx, &d).await,
        (Endpoint::Uploads, Method::POST) => handlers::start_upload(ctx, body).await,
        (Endpoint::Upload(id), Method::GET) => handlers::upload_status(ctx, &id).await,
        (Endpoint::Upload(id), Method::PATCH) => handlers::patch_upload(ctx, &id, body).await,
        (Endpoint::Upload(id), Method::PUT) => handlers::put_upload(ctx, &id, body).await,
        (Endpoint::Upload(id), Method::DELETE) => handlers::cancel_upload(ctx, &id).await,
        (Endpoint::Manifest(r), Method::GET) => handlers::get_manifest(ctx, &r, true).await,
        (Endpoint::Manifest(r), Method::HEAD) => handlers::get_manifest(ctx, &r, false).await,
        (Endpoint::Manifest(r), Method::PUT) => handlers::put_manifest(ctx, &r, body).await,
        (Endpoint::Manifest(r), Method::DELETE) => handlers::delete_manifest(ctx, &r).await,
        (Endpoint::Tags, Method::GET) => handlers::list_tags(ctx).await,
        (Endpoint::Referrers(d), Method::GET) => handlers::referrers(ctx, &d).await,
        _ => Err(Rejection::from(Error::registry(
            RegistryCode::Unsupported,
            "method not allowed on this endpoint",
        ))),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A refused registry request: a response (OCI error, or a challenge) ready to send.
/// Boxed, as responses are large and refusals travel through many `?`.
pub struct Rejection(Box<Response>);

impl From<Response> for Rejection {
    fn from(response: Response) -> Rejection {
        Rejection(Box::new(response))
    }
}

impl From<Error> for Rejection {
    fn from(error: Error) -> Rejection {
        oci_error(error).into()
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Whether `path` is served by the registry (the base, the token endpoint, or a
/// repository endpoint) rather than the Hub API.
pub fn is_registry_path(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path == "/v2"
        || path == "/token"
        || path
            .strip_prefix("/v2/")
            .is_some_and(|rest| parse(rest).is_some())
}

/// An error response in the OCI format.
pub fn oci_error(error: Error) -> Response {
    ApiError::<Oci>::new(error).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_at_the_last_marker() {
        let name = |p: &str| parse(p).map(|(n, _)| n);
        assert_eq!(name("a/b/blobs/sha256:x").as_deref(), Some("a/b"));
        assert_eq!(name("a/b/c/manifests/latest").as_deref(), Some("a/b/c"));
        assert_eq!(
            name("a/manifests/b/manifests/v1").as_deref(),
            Some("a/manifests/b")
        );
        assert_eq!(name("a/b/blobs/uploads/").as_deref(), Some("a/b"));
        assert_eq!(name("a/b/blobs/uploads/123").as_deref(), Some("a/b"));
        assert_eq!(name("a/b/tags/list").as_deref(), Some("a/b"));
        assert_eq!(name("a/b/referrers/sha256:x").as_deref(), Some("a/b"));
        assert!(parse("a/b").is_none());
        assert!(parse("a/b/manifests/").is_none());
        assert!(matches!(parse("a/b/blobs/uploads/123"), Some((_, Endpoint::Upload(id))) if id == "123"));
    }
}
