//! A hand-written OCI Distribution client for the tests: paths, digests, a token-holding
//! [`Registry`] that uploads blobs and pushes manifests, the challenge and error
//! assertions, and builders for manifests, indexes and image configs.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256, Sha512};

use crate::harness::{json, Server};

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub(crate) const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub(crate) const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The digest of no bytes at all.
pub(crate) const EMPTY_SHA256: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Credentials for `/token`: an account name and a password or token; `None`: anonymous.
pub(crate) type Creds<'a> = Option<(&'a str, &'a str)>;

pub(crate) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub(crate) fn sha512(bytes: &[u8]) -> String {
    format!("sha512:{}", hex::encode(Sha512::digest(bytes)))
}

pub(crate) fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

pub(crate) fn uploads_path(repo: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/")
}

pub(crate) fn blob_path(repo: &str, digest: &str) -> String {
    format!("/v2/{repo}/blobs/{digest}")
}

pub(crate) fn manifest_path(repo: &str, reference: &str) -> String {
    format!("/v2/{repo}/manifests/{reference}")
}

pub(crate) fn tags_path(repo: &str) -> String {
    format!("/v2/{repo}/tags/list")
}

/// `location` (which may already have a query) with `?digest=` added.
pub(crate) fn with_digest(location: &str, digest: &str) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={digest}")
}

/// A header of a response, as text (empty when absent).
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|v| v.to_str().expect("header is text"))
        .unwrap_or("")
}

/// The `service` of the challenge: the host and port the server is reached at.
pub(crate) fn service(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// What a challenge asks the client for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ask<'a> {
    /// A valid token: none was sent, or the one sent is invalid or revoked.
    Token,
    /// A fresh token for this scope: the one sent has expired.
    Fresh(&'a str),
    /// A token for this scope: the one sent grants too little.
    Scope(&'a str),
}

/// The `WWW-Authenticate` challenge of `server` that asks for `ask`.
pub(crate) fn challenge(server: &Server, ask: Ask<'_>) -> String {
    let mut value = format!(
        "Bearer realm=\"{}\",service=\"{}\"",
        server.url("/token"),
        service(server)
    );
    match ask {
        Ask::Token => {}
        Ask::Fresh(scope) => value.push_str(&format!(",scope=\"{scope}\"")),
        Ask::Scope(scope) => value.push_str(&format!(",scope=\"{scope}\",error=\"insufficient_scope\"")),
    }
    value
}

/// Asserts an OCI error: `status` and `{"errors": [{"code": code, "message": …}]}`.
/// Returns the headers, for the challenge.
pub(crate) async fn assert_oci_error(res: Response, status: StatusCode, code: &str) -> HeaderMap {
    let headers = res.headers().clone();
    let url = res.url().to_string();
    let (got, body) = json(res).await;
    assert_eq!(got, status, "{url}: {body}");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{url}: {body}"));
    assert_eq!(errors.len(), 1, "{url}: {body}");
    assert_eq!(errors[0]["code"], code, "{url}: {body}");
    assert!(errors[0]["message"].is_string(), "{url}: {body}");
    headers
}

/// Asserts the 401 that sends a client to `/token` for `ask`.
pub(crate) async fn assert_challenge(server: &Server, res: Response, ask: Ask<'_>) {
    let headers = assert_oci_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(header(&headers, "www-authenticate"), challenge(server, ask));
}

/// `GET /token` for `scopes` with `creds`.
pub(crate) async fn token_response(server: &Server, creds: Creds<'_>, scopes: &[String]) -> Response {
    let mut query = vec![("service".to_string(), service(server))];
    query.extend(scopes.iter().map(|s| ("scope".to_string(), s.clone())));
    let mut req = server.request(Method::GET, "/token").query(&query);
    if let Some((user, secret)) = creds {
        req = req.basic_auth(user, Some(secret));
    }
    req.send().await.expect("request")
}

/// A registry client with one token.
pub(crate) struct Registry<'a> {
    pub(crate) server: &'a Server,
    pub(crate) token: String,
}

impl<'a> Registry<'a> {
    /// A token for `actions` on each of `repos`, with `creds`.
    pub(crate) async fn login(
        server: &'a Server,
        creds: Creds<'_>,
        repos: &[&str],
        actions: &str,
    ) -> Registry<'a> {
        let scopes: Vec<String> = repos
            .iter()
            .map(|repo| format!("repository:{repo}:{actions}"))
            .collect();
        let (status, body) = json(token_response(server, creds, &scopes).await).await;
        assert_eq!(status, StatusCode::OK, "token for {scopes:?}: {body}");
        Registry::with_token(server, body["token"].as_str().expect("token"))
    }

    pub(crate) fn with_token(server: &'a Server, token: &str) -> Registry<'a> {
        Registry {
            server,
            token: token.to_string(),
        }
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.server.request(method, path).bearer_auth(&self.token)
    }

    pub(crate) async fn send(&self, method: Method, path: &str) -> Response {
        self.request(method, path).send().await.expect("request")
    }

    /// A request that must fail with `status` and OCI error `code`.
    pub(crate) async fn refused(&self, method: Method, path: &str, status: StatusCode, code: &str) {
        assert_oci_error(self.send(method, path).await, status, code).await;
    }

    /// A monolithic upload of `bytes`, which must succeed; returns the digest.
    pub(crate) async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let res = self
            .request(Method::POST, &with_digest(&uploads_path(repo), &digest))
            .body(bytes.to_vec())
            .send()
            .await
            .expect("request");
        assert_blob_created(res, repo, &digest).await;
        digest
    }

    /// `POST …/blobs/uploads/`, which must open a session; returns its location.
    pub(crate) async fn start_upload(&self, repo: &str) -> String {
        let res = self.send(Method::POST, &uploads_path(repo)).await;
        assert_upload_state(res, StatusCode::ACCEPTED, repo, 0).await
    }

    /// `PATCH` of `chunk` to the upload at `location`, with `Content-Range: range` if given.
    pub(crate) async fn patch_upload(&self, location: &str, range: Option<&str>, chunk: &[u8]) -> Response {
        let mut req = self.request(Method::PATCH, location).body(chunk.to_vec());
        if let Some(range) = range {
            req = req.header(reqwest::header::CONTENT_RANGE, range);
        }
        req.send().await.expect("request")
    }

    /// `PUT` that completes the upload at `location` as `digest`, with `chunk` as its end.
    pub(crate) async fn finish_upload(&self, location: &str, digest: &str, chunk: &[u8]) -> Response {
        self.request(Method::PUT, &with_digest(location, digest))
            .body(chunk.to_vec())
            .send()
            .await
            .expect("request")
    }

    /// Every request on the upload at `location` (a `PUT` completing it as `digest`):
    /// 404 `BLOB_UPLOAD_UNKNOWN`.
    pub(crate) async fn assert_no_upload(&self, location: &str, digest: &str) {
        for (method, path) in [
            (Method::GET, location.to_string()),
            (Method::PATCH, location.to_string()),
            (Method::PUT, with_digest(location, digest)),
            (Method::DELETE, location.to_string()),
        ] {
            self.refused(method, &path, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN")
                .await;
        }
    }

    pub(crate) async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Response {
        self.request(Method::PUT, &manifest_path(repo, reference))
            .header(reqwest::header::CONTENT_TYPE, media_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("request")
    }

    /// Pushes `bytes` as a manifest of `media_type`, which must succeed; returns the digest.
    pub(crate) async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let res = self.put_manifest(repo, reference, media_type, bytes).await;
        let status = res.status();
        let digest = sha256(bytes);
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap_or_default()
        );
        assert_eq!(header(res.headers(), "docker-content-digest"), digest);
        assert_eq!(header(res.headers(), "location"), manifest_path(repo, &digest));
        digest
    }

    /// Pushes a random config and layer to `repo`; returns an image manifest of them, not
    /// yet pushed.
    pub(crate) async fn image_manifest(&self, repo: &str) -> Vec<u8> {
        let config = config_blob();
        let layer = random_bytes(512);
        self.push_blob(repo, &config).await;
        self.push_blob(repo, &layer).await;
        manifest(
            OCI_MANIFEST,
            descriptor(OCI_CONFIG, &config),
            &[descriptor(OCI_LAYER, &layer)],
            json!({}),
        )
    }

    /// Pushes a new image to `repo` as `tag`; returns its manifest and digest.
    pub(crate) async fn push_image(&self, repo: &str, tag: &str) -> (Vec<u8>, String) {
        let bytes = self.image_manifest(repo).await;
        let digest = self.push_manifest(repo, tag, OCI_MANIFEST, &bytes).await;
        (bytes, digest)
    }

    /// A manifest, which must be exactly `bytes`, of `media_type`.
    pub(crate) async fn assert_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        let path = manifest_path(repo, reference);
        self.assert_serves(&path, &sha256(bytes), bytes, Some(media_type))
            .await;
    }

    /// A blob, which must be exactly `bytes`.
    pub(crate) async fn assert_blob(&self, repo: &str, digest: &str, bytes: &[u8]) {
        self.assert_serves(&blob_path(repo, digest), digest, bytes, None)
            .await;
    }

    /// `GET` and `HEAD` of `path`: `bytes` (on `HEAD`, only their length), as `digest`, and
    /// of `media_type` when given.
    pub(crate) async fn assert_serves(
        &self,
        path: &str,
        digest: &str,
        bytes: &[u8],
        media_type: Option<&str>,
    ) {
        for method in [Method::GET, Method::HEAD] {
            let what = format!("{method} {path}");
            let res = self.send(method.clone(), path).await;
            assert_eq!(res.status(), StatusCode::OK, "{what}");
            let headers = res.headers().clone();
            assert_eq!(header(&headers, "docker-content-digest"), digest, "{what}");
            let length = bytes.len().to_string();
            assert_eq!(header(&headers, "content-length"), length, "{what}");
            if let Some(media_type) = media_type {
                assert_eq!(header(&headers, "content-type"), media_type, "{what}");
            }
            let body = res.bytes().await.expect("body");
            let expected: &[u8] = if method == Method::GET { bytes } else { &[] };
            assert_eq!(&body[..], expected, "{what}");
        }
    }

    /// A manifest that is not in `repo`: 404 `MANIFEST_UNKNOWN`.
    pub(crate) async fn assert_no_manifest(&self, repo: &str, reference: &str) {
        let path = manifest_path(repo, reference);
        self.refused(Method::GET, &path, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN")
            .await;
    }

    /// A blob that is not in `repo`: 404 `BLOB_UNKNOWN` (and a bodiless 404 to `HEAD`).
    pub(crate) async fn assert_no_blob(&self, repo: &str, digest: &str) {
        let path = blob_path(repo, digest);
        self.refused(Method::GET, &path, StatusCode::NOT_FOUND, "BLOB_UNKNOWN")
            .await;
        assert_eq!(
            self.send(Method::HEAD, &path).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    /// `GET …/tags/list` with `query`: the tags and the `Link` header.
    pub(crate) async fn tags(&self, repo: &str, query: &str) -> (Vec<String>, String) {
        let res = self
            .send(Method::GET, &format!("{}{query}", tags_path(repo)))
            .await;
        let link = header(res.headers(), "link").to_string();
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::OK, "tags of {repo}{query}: {body}");
        assert_eq!(body["name"], repo);
        let tags = serde_json::from_value(body["tags"].clone()).expect("tags");
        (tags, link)
    }
}

/// Asserts the 201 of a committed blob.
pub(crate) async fn assert_blob_created(res: Response, repo: &str, digest: &str) {
    let headers = res.headers().clone();
    let status = res.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(header(&headers, "location"), blob_path(repo, digest));
    assert_eq!(header(&headers, "docker-content-digest"), digest);
}

/// Asserts a 202/204 of an upload in progress holding `size` bytes; returns its location.
pub(crate) async fn assert_upload_state(
    res: Response,
    status: StatusCode,
    repo: &str,
    size: usize,
) -> String {
    let headers = res.headers().clone();
    let got = res.status();
    assert_eq!(got, status, "{}", res.text().await.unwrap_or_default());
    let id = header(&headers, "docker-upload-uuid");
    assert!(!id.is_empty(), "no Docker-Upload-UUID: {headers:?}");
    let location = header(&headers, "location");
    assert_eq!(location, format!("{}{id}", uploads_path(repo)));
    assert_eq!(header(&headers, "range"), format!("0-{}", size.saturating_sub(1)));
    location.to_string()
}

/// A descriptor of `bytes` as `media_type`.
pub(crate) fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256(bytes), "size": bytes.len()})
}

/// A manifest of `media_type` with `config` and `layers`, plus the fields of `extra`.
pub(crate) fn manifest(media_type: &str, config: Value, layers: &[Value], extra: Value) -> Vec<u8> {
    let mut value = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config,
        "layers": layers,
    });
    for (key, field) in extra.as_object().expect("extra fields") {
        value[key] = field.clone();
    }
    serde_json::to_vec(&value).expect("manifest JSON")
}

/// An image index of `manifests` (descriptors).
pub(crate) fn index(manifests: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
        .expect("index JSON")
}

/// An image config, unique to this call.
pub(crate) fn config_blob() -> Vec<u8> {
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
        "config": {"Labels": {"nonce": uuid::Uuid::new_v4().to_string()}},
    });
    serde_json::to_vec(&config).expect("config JSON")
}
