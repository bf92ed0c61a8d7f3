//! Operations endpoints: `/metrics` (Prometheus text format), `/healthz` (the process is
//! alive) and `/readyz` (the store and blob storage answer), and the middleware that
//! counts every request.
//!
//! Metrics go through the `metrics` facade into one Prometheus recorder per process.
//! Request series are labelled by route template, never by raw path, so their number stays
//! bounded: Hub routes by their `MatchedPath`, registry requests by endpoint kind. Values
//! that live in the store (uploads in progress) or the pools are read when scraped, so
//! every instance reports the same truth about shared state.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::app::App;
use crate::domain::Error;
use crate::http::error::HubResult;
use crate::http::openapi;

/// Latency buckets, in seconds: from a cached manifest to a large layer.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once); `None` if another recorder was installed first.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("wharf_http_request_duration_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics are not recorded"))
                .ok()
        })
        .as_ref()
}

/// Folds the latency samples recorded since the last call into their histograms (what a
/// scrape of `/metrics` also does), so that they do not pile up between scrapes.
pub fn fold_samples() {
    if let Some(handle) = recorder() {
        handle.run_upkeep();
    }
}

/// The route label of a request: its route template, or for the registry's catch-all the
/// kind of endpoint (`/v2/<name>/manifests/<reference>`), so that repository names and
/// digests never become labels.
fn route_label(matched: Option<&MatchedPath>, path: &str) -> String {
    match matched.map(MatchedPath::as_str) {
        Some("/v2/{*path}") => crate::http::registry::route_label(path).to_string(),
        Some(route) => route.to_string(),
        None => "unmatched".to_string(),
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Counts a request: by route, method and status; its latency; and the bytes in and out
/// that its `Content-Length` headers declare (streamed bodies without one are not counted).
pub async fn record_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(request.extensions().get::<MatchedPath>(), request.uri().path());
    let method = request.method().as_str().to_string();
    let bytes_in = content_length(request.headers());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("wharf_http_requests_total", &labels).increment(1);
    metrics::histogram!("wharf_http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    if let Some(bytes) = bytes_in {
        metrics::counter!("wharf_http_request_bytes_total", &labels[..1]).increment(bytes);
    }
    if let Some(bytes) = content_length(response.headers()) {
        metrics::counter!("wharf_http_response_bytes_total", &labels[..1]).increment(bytes);
    }
    response
}

/// Prometheus metrics of this instance (extension).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "wharf-extensions",
    security(()),
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 500, description = "The store does not answer", body = openapi::ErrorBody),
    )
)]
pub async fn metrics(State(app): State<App>) -> HubResult<Response> {
    let uploads = app.store.count_uploads().await.map_err(Error::from)?;
    metrics::gauge!("wharf_uploads_in_progress").set(uploads as f64);
    for (pool, size, idle) in app.store.pool_stats() {
        metrics::gauge!("wharf_db_pool_connections", "pool" => pool).set(f64::from(size));
        metrics::gauge!("wharf_db_pool_idle_connections", "pool" => pool).set(idle as f64);
    }
    let body = recorder().map(PrometheusHandle::render).unwrap_or_default();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Liveness (extension): the process answers. Nothing else is asked, so a slow database
/// never gets a live instance restarted.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "wharf-extensions",
    security(()),
    responses((status = 200, description = "The server is up"))
)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness (extension): the store and blob storage answer; 503 otherwise, so that a load
/// balancer sends no traffic to an instance that cannot serve it.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "wharf-extensions",
    security(()),
    responses(
        (status = 200, description = "The store and blob storage answer"),
        (status = 503, description = "One of them does not; the body says which"),
    )
)]
pub async fn readyz(State(app): State<App>) -> (StatusCode, Json<serde_json::Value>) {
    let store = app.store.ping().await.map_err(|e| e.to_string());
    let blobs = app.blobs.ping().await.map_err(|e| e.to_string());
    let state = |result: &Result<(), String>| match result {
        Ok(()) => json!("ok"),
        Err(e) => json!(e),
    };
    let body = json!({"store": state(&store), "blobs": state(&blobs)});
    let status = if store.is_ok() && blobs.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
