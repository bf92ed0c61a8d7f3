//! The HTTP layer: one listener, one router. Hub API groups live in [`hub`]; the registry
//! (under the same `/v2/`) joins later. Cross-cutting conventions each live in one module:
//! errors ([`error`]), pagination ([`pagination`]), authentication ([`auth`]), request
//! limits ([`ratelimit`]), extractors ([`extract`]).

pub mod auth;
pub mod error;
pub mod extract;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod ratelimit;
pub mod registry;
pub mod scim;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::routing::get;
use axum::{middleware, Extension, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
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
    let tls = app.settings.tls.is_some();
    let router = hub
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY))
        // Hub API answers carry accounts, tokens and secrets shown once: never cached.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(middleware::from_fn_with_state(app.clone(), limits::api_deadline))
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
    (with_security_headers(router, tls), doc)
}

/// Headers that tell browsers to treat every answer as data, never as a page to render,
/// frame or sniff; and, when Wharf serves HTTPS itself, to keep using HTTPS.
fn with_security_headers(router: Router, tls: bool) -> Router {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ];
    let mut router = router;
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if tls {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    router
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    error_for_path(uri.path(), Error::not_found("not found"))
}

async fn method_not_allowed(uri: axum::http::Uri) -> axum::response::Response {
    error_for_path(uri.path(), Error::MethodNotAllowed)
}

/// An error raised outside a handler (an unknown route or method, a deadline), in the
/// error format of the API the path belongs to: SCIM's under `/v2/scim/`, the Hub API's
/// everywhere else.
pub fn error_for_path(path: &str, error: Error) -> axum::response::Response {
    use axum::response::IntoResponse;
    if path.starts_with(scim::BASE_PATH) {
        ApiError::<error::Scim>::new(error).into_response()
    } else {
        ApiError::<Hub>::new(error).into_response()
    }
}
