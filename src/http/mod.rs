//! The HTTP layer: one listener, one router. Hub API groups live in [`hub`]; the registry
//! (under the same `/v2/`) joins later. Cross-cutting conventions each live in one module:
//! errors ([`error`]), pagination ([`pagination`]), authentication ([`auth`]), request
//! limits ([`ratelimit`]), extractors ([`extract`]).

pub mod auth;
pub mod error;
pub mod extract;
pub mod hub;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod ratelimit;
pub mod registry;
pub mod scim;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use axum::{middleware, Extension, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::App;
use crate::domain::Error;
use error::{ApiError, Hub};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application as an axum router, and its OpenAPI document.
pub fn router(app: App) -> (Router, utoipa::openapi::OpenApi) {
    metrics::recorder();
    let (hub, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(hub::routes())
        .merge(scim::routes())
        .split_for_parts();
    let router = hub
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY))
        .route("/v2/openapi.json", get(openapi::document))
        .route("/openapi.json", get(openapi::document_at_root))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(registry::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(metrics::record_request))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            ratelimit::limit_requests,
        ))
        .layer(Extension(Arc::new(doc.clone())))
        .with_state(app)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    (router, doc)
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    unknown_route(uri.path(), Error::not_found("not found"))
}

async fn method_not_allowed(uri: axum::http::Uri) -> axum::response::Response {
    unknown_route(uri.path(), Error::MethodNotAllowed)
}

/// An unknown route or method, in the error format of the API the path belongs to: SCIM's
/// under `/v2/scim/`, the Hub API's everywhere else.
pub fn unknown_route(path: &str, error: Error) -> axum::response::Response {
    use axum::response::IntoResponse;
    if path.starts_with(scim::BASE_PATH) {
        ApiError::<error::Scim>::new(error).into_response()
    } else {
        ApiError::<Hub>::new(error).into_response()
    }
}
