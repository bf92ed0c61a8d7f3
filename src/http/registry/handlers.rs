//! The registry endpoints. Each checks the token's grant ([`RegistryCaller::require`]),
//! then calls the domain, which checks the policy again against the current store.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use super::auth::RegistryCaller;
use super::Rejection;
use crate::app::App;
use crate::domain::policy::RepoAction;
use crate::domain::registry::{parse_digest, RepoName};
use crate::domain::{Error, RegistryCode};
use crate::store::UploadRow;

pub type Reply = Result<Response, Rejection>;

/// What every endpoint gets: the app, the caller, the repository name, and the request's
/// headers and query parameters. (The body, which is not `Sync`, travels separately.)
pub struct Ctx {
    pub app: App,
    pub caller: RegistryCaller,
    pub name: RepoName,
    pub headers: HeaderMap,
    pub params: Vec<(String, String)>,
}

const DIGEST_HEADER: HeaderName = HeaderName::from_static("docker-content-digest");
const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
const OCI_TAG: HeaderName = HeaderName::from_static("oci-tag");
const OCI_FILTERS: HeaderName = HeaderName::from_static("oci-filters-applied");

fn fail(error: Error) -> Rejection {
    error.into()
}

trait OrOci<T> {
    fn or_oci(self) -> Result<T, Rejection>;
}

impl<T> OrOci<T> for Result<T, Error> {
    fn or_oci(self) -> Result<T, Rejection> {
        self.map_err(fail)
    }
}

fn header_value(text: &str) -> Result<HeaderValue, Rejection> {
    HeaderValue::from_str(text).map_err(|e| fail(Error::internal(e)))
}

/// The query parameters of a request.
pub fn query(request: &Request<Body>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn upload_location(name: &RepoName, id: &str) -> String {
    format!("/v2/{}/blobs/uploads/{id}", name.path())
}

/// 202/204 for an upload in progress: where it is and how much it holds.
fn upload_response(status: StatusCode, name: &RepoName, upload: &UploadRow) -> Reply {
    let range = format!("0-{}", (upload.size - 1).max(0));
    Ok((
        status,
        [
            (
                header::LOCATION,
                header_value(&upload_location(name, &upload.id))?,
            ),
            (header::RANGE, header_value(&range)?),
            (UPLOAD_UUID, header_value(&upload.id)?),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
    )
        .into_response())
}

/// 201 for a committed blob.
fn blob_created(name: &RepoName, digest: &str) -> Reply {
    Ok((
        StatusCode::CREATED,
        [
            (
                header::LOCATION,
                header_value(&format!("/v2/{}/blobs/{digest}", name.path()))?,
            ),
            (DIGEST_HEADER, header_value(digest)?),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
    )
        .into_response())
}

pub async fn start_upload(ctx: Ctx, body: Body) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Push, false)?;
    let principal = ctx
        .caller
        .principal
        .as_ref()
        .ok_or_else(|| ctx.caller.challenge(None, "authentication required"))?;
    let params = &ctx.params;
    if let (Some(mount), Some(from)) = (param(params, "mount"), param(params, "from")) {
        let digest = parse_digest(mount).or_oci()?;
        let target = ctx
            .app
            .registry_access(Some(principal), &ctx.name, RepoAction::Push)
            .await
            .or_oci()?;
        let repo = match target.repo {
            Some(repo) => repo,
            None => {
                // Mounting into a repository that does not exist yet creates it.
                let upload = ctx.app.start_upload(principal, &ctx.name).await.or_oci()?;
                ctx.app.cancel_upload(&upload).await.or_oci()?;
                ctx.app
                    .store
                    .repository(&ctx.name.namespace, &ctx.name.name)
                    .await
                    .map_err(|e| fail(e.into()))?
                    .ok_or_else(|| fail(Error::internal("repository vanished")))?
            }
        };
        if ctx
            .app
            .mount_blob(principal, &repo, &digest, from)
            .await
            .or_oci()?
        {
            return blob_created(&ctx.name, &digest.to_string());
        }
    }
    // Parsed before the session is opened, so that a malformed digest leaves none behind.
    let digest = param(params, "digest").map(parse_digest).transpose().or_oci()?;
    let upload = ctx.app.start_upload(principal, &ctx.name).await.or_oci()?;
    if let Some(digest) = digest {
        // Monolithic upload: the whole blob in this one request. The client never learns
        // of its session, so a failed one is cancelled rather than left behind.
        let body = crate::http::limits::stall_limited(body, ctx.app.settings.body_stall_timeout);
        let upload = match ctx.app.append_upload(&upload, None, body).await {
            Ok(appended) => appended,
            Err(e) => {
                let _ = ctx.app.cancel_upload(&upload).await;
                return Err(fail(e));
            }
        };
        if let Err(e) = ctx
            .app
            .finish_upload(&principal.account_name, &upload, &digest)
            .await
        {
            let _ = ctx.app.cancel_upload(&upload).await;
            return Err(fail(e));
        }
        return blob_created(&ctx.name, &digest.to_string());
    }
    upload_response(StatusCode::ACCEPTED, &ctx.name, &upload)
}

/// The caller's upload `id`. An upload under way may outlive its token: an expired token
/// of the account that started it is still accepted here.
async fn own_upload(ctx: &Ctx, id: &str) -> Result<UploadRow, Rejection> {
    ctx.caller.require(&ctx.name, RepoAction::Push, true)?;
    let account_id = ctx
        .caller
        .principal
        .as_ref()
        .map(|p| p.account_id.clone())
        .ok_or_else(|| ctx.caller.challenge(None, "authentication required"))?;
    ctx.app.upload_of(&account_id, &ctx.name, id).await.or_oci()
}

/// The start offset of a `Content-Range: START-END` header, if any.
fn content_range_start(headers: &HeaderMap) -> Result<Option<u64>, Rejection> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(super::ranges::chunk_start)
        .map(Some)
        .ok_or_else(|| {
            fail(Error::registry(
                RegistryCode::RangeInvalid,
                "Content-Range must be START-END",
            ))
        })
}

pub async fn patch_upload(ctx: Ctx, id: &str, body: Body) -> Reply {
    let upload = own_upload(&ctx, id).await?;
    let start = content_range_start(&ctx.headers)?;
    let body = crate::http::limits::stall_limited(body, ctx.app.settings.body_stall_timeout);
    let upload = ctx.app.append_upload(&upload, start, body).await.or_oci()?;
    upload_response(StatusCode::ACCEPTED, &ctx.name, &upload)
}

pub async fn put_upload(ctx: Ctx, id: &str, body: Body) -> Reply {
    let upload = own_upload(&ctx, id).await?;
    let params = &ctx.params;
    let digest = param(params, "digest").ok_or_else(|| {
        fail(Error::registry(
            RegistryCode::DigestInvalid,
            "the digest parameter is required",
        ))
    })?;
    let digest = parse_digest(digest).or_oci()?;
    let start = content_range_start(&ctx.headers)?;
    let body = crate::http::limits::stall_limited(body, ctx.app.settings.body_stall_timeout);
    let upload = ctx.app.append_upload(&upload, start, body).await.or_oci()?;
    let principal = ctx
        .caller
        .principal
        .as_ref()
        .map(|p| p.account_name.as_str())
        .unwrap_or("");
    ctx.app
        .finish_upload(principal, &upload, &digest)
        .await
        .or_oci()?;
    blob_created(&ctx.name, &digest.to_string())
}

pub async fn upload_status(ctx: Ctx, id: &str) -> Reply {
    let upload = own_upload(&ctx, id).await?;
    upload_response(StatusCode::NO_CONTENT, &ctx.name, &upload)
}

pub async fn cancel_upload(ctx: Ctx, id: &str) -> Reply {
    let upload = own_upload(&ctx, id).await?;
    ctx.app.cancel_upload(&upload).await.or_oci()?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `Range` request header, within `size` (see [`super::ranges::byte_range`]).
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<std::ops::Range<u64>>, Rejection> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let invalid = || fail(Error::registry(RegistryCode::RangeInvalid, "unsatisfiable Range"));
    let text = value.to_str().map_err(|_| invalid())?;
    super::ranges::byte_range(text, size).map_err(|_| invalid())
}

pub async fn get_blob(ctx: Ctx, digest: &str, with_body: bool) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Pull, false)?;
    let digest = parse_digest(digest).or_oci()?;
    let target = ctx
        .app
        .registry_access(ctx.caller.principal.as_ref(), &ctx.name, RepoAction::Pull)
        .await
        .or_oci()?;
    let size = ctx.app.blob_size(&target, &digest).await.or_oci()?;
    let range = requested_range(&ctx.headers, size)?;
    let digest_text = digest.to_string();
    let mut headers = vec![
        (DIGEST_HEADER, header_value(&digest_text)?),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
    ];
    let (status, length) = match &range {
        Some(r) => {
            headers.push((
                header::CONTENT_RANGE,
                header_value(&format!("bytes {}-{}/{size}", r.start, r.end - 1))?,
            ));
            (StatusCode::PARTIAL_CONTENT, r.end - r.start)
        }
        None => (StatusCode::OK, size),
    };
    headers.push((header::CONTENT_LENGTH, header_value(&length.to_string())?));
    let body = if with_body && length > 0 {
        let stream = ctx
            .app
            .blobs
            .read(&digest, range)
            .await
            .map_err(|e| fail(Error::internal(e)))?;
        Body::from_stream(stream.map_err(std::io::Error::other))
    } else {
        Body::empty()
    };
    let mut response = (status, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

pub async fn delete_blob(ctx: Ctx, digest: &str) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Delete, false)?;
    let digest = parse_digest(digest).or_oci()?;
    let target = ctx
        .app
        .registry_access(ctx.caller.principal.as_ref(), &ctx.name, RepoAction::Delete)
        .await
        .or_oci()?;
    ctx.app.delete_blob(&target, &digest).await.or_oci()?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn get_manifest(ctx: Ctx, reference: &str, with_body: bool) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Pull, false)?;
    let manifest = ctx
        .app
        .get_manifest(ctx.caller.principal.as_ref(), &ctx.name, reference, with_body)
        .await
        .or_oci()?;
    let headers = [
        (header::CONTENT_TYPE, header_value(&manifest.media_type)?),
        (DIGEST_HEADER, header_value(&manifest.digest)?),
        (
            header::CONTENT_LENGTH,
            header_value(&manifest.content.len().to_string())?,
        ),
    ];
    let body = if with_body {
        Body::from(manifest.content)
    } else {
        Body::empty()
    };
    Ok((headers, body).into_response())
}

pub async fn put_manifest(ctx: Ctx, reference: &str, body: Body) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Push, false)?;
    let principal = ctx
        .caller
        .principal
        .clone()
        .ok_or_else(|| ctx.caller.challenge(None, "authentication required"))?;
    let content_type = ctx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let tag_params: Vec<String> = ctx
        .params
        .iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v.clone())
        .collect();
    let limit = ctx.app.settings.max_manifest_size;
    let deadline = ctx.app.settings.request_timeout;
    let content = tokio::time::timeout(deadline, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| {
            fail(Error::registry(
                RegistryCode::ManifestInvalid,
                format!("the manifest did not arrive within {} s", deadline.as_secs()),
            ))
        })?
        .map_err(|_| {
            fail(Error::PayloadTooLarge(format!(
                "manifests may be at most {limit} bytes"
            )))
        })?;
    let pushed = ctx
        .app
        .put_manifest(
            &principal,
            &ctx.name,
            reference,
            &tag_params,
            content_type.as_deref(),
            &content,
        )
        .await
        .or_oci()?;
    let digest = pushed.digest.to_string();
    let mut response = (
        StatusCode::CREATED,
        [
            (
                header::LOCATION,
                header_value(&format!("/v2/{}/manifests/{digest}", ctx.name.path()))?,
            ),
            (DIGEST_HEADER, header_value(&digest)?),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
    )
        .into_response();
    if let Some(subject) = pushed.subject {
        response
            .headers_mut()
            .insert(OCI_SUBJECT, header_value(&subject)?);
    }
    for tag in &pushed.tags {
        response.headers_mut().append(OCI_TAG, header_value(tag)?);
    }
    Ok(response)
}

pub async fn delete_manifest(ctx: Ctx, reference: &str) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Delete, false)?;
    let principal = ctx
        .caller
        .principal
        .clone()
        .ok_or_else(|| ctx.caller.challenge(None, "authentication required"))?;
    ctx.app
        .delete_manifest(&principal, &ctx.name, reference)
        .await
        .or_oci()?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn list_tags(ctx: Ctx) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Pull, false)?;
    let params = &ctx.params;
    let n = match param(params, "n") {
        Some(n) => Some(
            n.parse::<u64>()
                .map_err(|_| fail(Error::bad_request("n must be a non-negative integer")))?,
        ),
        None => None,
    };
    let last = param(params, "last");
    // Even `n=0` goes through the domain: the repository must exist and be readable.
    let (tags, more) = ctx
        .app
        .list_tags(ctx.caller.principal.as_ref(), &ctx.name, n, last)
        .await
        .or_oci()?;
    let body = axum::Json(serde_json::json!({"name": ctx.name.path(), "tags": tags}));
    let mut response = body.into_response();
    // The next page keeps the page size, also when that was the default or the bound
    // rather than the client's `n`.
    let page = crate::domain::manifests::tags_page_size(n);
    if let Some(last_tag) = tags.last() {
        if more {
            let mut next = url::form_urlencoded::Serializer::new(String::new());
            next.append_pair("n", &page.to_string());
            next.append_pair("last", last_tag);
            let link = format!(
                "</v2/{}/tags/list?{}>; rel=\"next\"",
                ctx.name.path(),
                next.finish()
            );
            response.headers_mut().insert(header::LINK, header_value(&link)?);
        }
    }
    Ok(response)
}

pub async fn referrers(ctx: Ctx, digest: &str) -> Reply {
    ctx.caller.require(&ctx.name, RepoAction::Pull, false)?;
    let params = &ctx.params;
    let artifact_type = param(params, "artifactType");
    let index = ctx
        .app
        .referrers(ctx.caller.principal.as_ref(), &ctx.name, digest, artifact_type)
        .await
        .or_oci()?;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::domain::manifests::OCI_INDEX),
        )],
        index.to_string(),
    )
        .into_response();
    if artifact_type.is_some() {
        response
            .headers_mut()
            .insert(OCI_FILTERS, HeaderValue::from_static("artifactType"));
    }
    Ok(response)
}
