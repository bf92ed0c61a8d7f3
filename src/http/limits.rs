//! Time limits, so that no request holds a connection, a database transaction or an upload
//! session forever. Sizes are limited where bodies are read (`extract::MAX_JSON_BODY`,
//! `max_manifest_size`, `registry::MAX_BLOB_SIZE`); here is how long things may take.
//!
//! - A Hub API or SCIM request has `--request-timeout` (30 s) to be answered, body included.
//! - A registry body may be as large as a layer, so it has no deadline; instead it must
//!   keep arriving: `--body-stall-timeout` (60 s) without a byte ends the request (a
//!   manifest, being small, has the request timeout to arrive whole).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::{Stream, StreamExt};

use crate::app::App;
use crate::domain::Error;

/// Middleware: answers 503 (in the error format of the API called) when the handler takes
/// longer than the request timeout.
pub async fn api_deadline(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let deadline = app.settings.request_timeout;
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => super::error_for_path(
            &path,
            Error::Unavailable(format!("the request took longer than {} s", deadline.as_secs())),
        ),
    }
}

/// A request body as a stream that fails when no data arrives for `stall`.
pub fn stall_limited(body: Body, stall: Duration) -> impl Stream<Item = Result<Bytes, String>> + Send {
    futures_util::stream::unfold(Some(body.into_data_stream()), move |state| async move {
        let mut body = state?;
        match tokio::time::timeout(stall, body.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(body))),
            Ok(Some(Err(e))) => Some((Err(e.to_string()), None)),
            Ok(None) => None,
            Err(_) => Some((Err(format!("no data for {} s", stall.as_secs())), None)),
        }
    })
}
