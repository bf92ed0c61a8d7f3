//! The per-client request limit of the Hub API: `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset` on every response, 429 with `Retry-After` past the limit.
//!
//! Registry traffic is not counted: one `docker pull` is dozens of requests, and CI machines
//! behind one address pull all day; limiting it belongs to a reverse proxy if anywhere.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Hub};
use super::extract::client_ip;
use crate::app::App;
use crate::domain::Error;
use crate::ratelimit::Quota;

pub async fn limit_requests(State(app): State<App>, request: Request, next: Next) -> Response {
    if !app.requests.enabled() || super::registry::is_registry_path(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let quota = app
        .requests
        .hit(&format!("client:{}", client_ip(&parts, &app.settings)));
    let mut response = if quota.exceeded {
        ApiError::<Hub>::new(Error::RateLimited {
            retry_after_secs: quota.retry_after_secs,
        })
        .into_response()
    } else {
        next.run(Request::from_parts(parts, body)).await
    };
    set_headers(&mut response, &quota);
    response
}

fn set_headers(response: &mut Response, quota: &Quota) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", quota.limit as u64),
        ("x-ratelimit-remaining", quota.remaining as u64),
        ("x-ratelimit-reset", quota.reset_unix),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}
