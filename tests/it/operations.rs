//! Operations endpoints: `/healthz` (alive), `/readyz` (the store and blob storage answer)
//! and `/metrics` (Prometheus text: requests by route template and status, latency
//! histograms, bytes, uploads in progress, connection pools).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{json, Backend, Server, PASSWORD};
use crate::oci::Registry;

async fn text(server: &Server, path: &str) -> (StatusCode, String, String) {
    let res = server.send(Method::GET, path, None, None).await;
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, res.text().await.expect("body"))
}

async fn health_and_readiness(backend: Backend) {
    let server = Server::start(&backend).await;
    let (status, body) = json(server.send(Method::GET, "/healthz", None, None).await).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = json(server.send(Method::GET, "/readyz", None, None).await).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"store": "ok", "blobs": "ok"}))
    );
}

/// The series a scrape shows after a login, a push and a pull: labelled by route
/// template, never by repository name or digest.
async fn metrics_count_requests_by_route(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let login = json!({"username": "alice", "password": PASSWORD});
    server.post("/v2/users/login", None, login).await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/web"], "pull,push").await;
    let (_, digest) = registry.push_image("alice/web", "v1").await;
    registry
        .send(Method::GET, &format!("/v2/alice/web/manifests/{digest}"))
        .await;
    let upload = registry.start_upload("alice/web").await;

    let (status, content_type, body) = text(&server, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    for expected in [
        r#"wharf_http_requests_total{route="/v2/users/login",method="POST",status="200"} 1"#,
        r#"wharf_http_requests_total{route="/v2/{name}/manifests/{reference}",method="PUT",status="201"} 1"#,
        r#"wharf_http_requests_total{route="/v2/{name}/manifests/{reference}",method="GET",status="200"} 1"#,
        r#"wharf_http_requests_total{route="/v2/{name}/blobs/uploads/",method="POST",status="201"}"#,
        r#"wharf_http_request_duration_seconds_bucket{route="/token",method="GET",le="+Inf"}"#,
        r#"wharf_http_response_bytes_total{route="/v2/{name}/manifests/{reference}"}"#,
        r#"wharf_http_request_bytes_total{route="/v2/{name}/manifests/{reference}"}"#,
        "wharf_uploads_in_progress 1",
        "wharf_db_pool_connections{pool=",
    ] {
        assert!(body.contains(expected), "no {expected} in\n{body}");
    }
    assert!(
        !body.contains("alice/web") && !body.contains(&digest),
        "names in labels:\n{body}"
    );
    registry.send(Method::DELETE, &upload).await;
}

/// When blob storage stops answering, the instance is not ready (503, naming the storage),
/// while it is still alive.
async fn not_ready_without_blob_storage(backend: Backend) {
    let root = std::env::temp_dir().join(format!("wharf-blobs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&root).expect("mkdir");
    let storage = format!("file://{}", root.display());
    let server = Server::start_with(&backend, &["--storage", &storage], &[]).await;
    let (status, _) = json(server.send(Method::GET, "/readyz", None, None).await).await;
    assert_eq!(status, StatusCode::OK);
    // The storage's root becomes a file: every lookup in it fails.
    std::fs::remove_dir_all(&root).expect("remove the storage");
    std::fs::write(&root, b"not a directory").expect("put a file there");
    let (status, body) = json(server.send(Method::GET, "/readyz", None, None).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["store"], "ok", "{body}");
    assert!(body["blobs"].as_str().is_some_and(|e| e != "ok"), "{body}");
    let (status, _) = json(server.send(Method::GET, "/healthz", None, None).await).await;
    assert_eq!(status, StatusCode::OK, "still alive");
    let _ = std::fs::remove_file(&root);
}

crate::both_backends!(
    health_and_readiness,
    metrics_count_requests_by_route,
    not_ready_without_blob_storage
);
