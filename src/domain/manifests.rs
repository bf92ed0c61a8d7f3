//! Manifests and tags: push (validated with `oci-spec`, every referenced blob present),
//! pull by tag or digest, delete, tag listing and the referrers API.

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde_json::json;

use super::audit::{self, Actor, Event};
use super::error::{Error, RegistryCode, Result};
use super::policy::{Principal, RepoAction};
use super::registry::{parse_digest, valid_tag, RepoName};
use crate::app::App;
use crate::blobs::{Algorithm, Digest};
use crate::store::{now_micros, ManifestRow, NewManifest};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// What a manifest reference names.
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    /// A reference to read or delete: one that is no valid tag names no manifest.
    pub fn lookup(text: &str) -> Result<Reference> {
        match Reference::parse(text) {
            Err(Error::Registry {
                code: RegistryCode::ManifestInvalid,
                ..
            }) => Err(manifest_unknown(text.to_string())),
            other => other,
        }
    }

    /// A reference to push to: a digest, or a tag by the tag grammar.
    pub fn parse(text: &str) -> Result<Reference> {
        if text.contains(':') {
            return Ok(Reference::Digest(parse_digest(text)?));
        }
        if valid_tag(text) {
            Ok(Reference::Tag(text.to_string()))
        } else {
            Err(Error::registry(
                RegistryCode::ManifestInvalid,
                format!("invalid tag {text:?}"),
            ))
        }
    }
}

/// A manifest just stored.
pub struct PushedManifest {
    pub digest: Digest,
    /// The digest of its `subject`, for the `OCI-Subject` header.
    pub subject: Option<String>,
    /// The tags of a push by digest with `?tag=`, for the `OCI-Tag` headers.
    pub tags: Vec<String>,
}

/// What a pushed manifest is, read from its content.
struct Parsed {
    media_type: String,
    artifact_type: Option<String>,
    subject: Option<String>,
    /// Blobs that must be in the repository.
    blobs: Vec<String>,
    /// Manifests that must be in the repository (an index's children).
    manifests: Vec<String>,
    annotations: serde_json::Value,
    content: Content,
}

/// The parsed manifest, for the per-platform images.
enum Content {
    Image(Box<ImageManifest>),
    Index(Box<ImageIndex>),
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::registry(RegistryCode::ManifestInvalid, msg)
}

fn digest_of(descriptor: &Descriptor) -> String {
    descriptor.digest().to_string()
}

fn non_distributable(layer: &Descriptor) -> bool {
    let media_type = layer.media_type().to_string();
    media_type.contains("nondistributable")
        || media_type.contains(".foreign.")
        || layer.urls().as_ref().is_some_and(|urls| !urls.is_empty())
}

/// Parses `content` as the manifest kind its media type names. The media type comes from
/// the `mediaType` field or, failing that, the request's `Content-Type`; when both are
/// present they must agree.
/// Whether `content` (sent as `content_type`) is a manifest Wharf accepts: the checks of a
/// push that need no store (fuzzed: `fuzz/fuzz_targets/manifest.rs`).
pub fn check_manifest(content: &[u8], content_type: Option<&str>) -> Result<()> {
    parse_manifest(content, content_type).map(|_| ())
}

fn parse_manifest(content: &[u8], content_type: Option<&str>) -> Result<Parsed> {
    let value: serde_json::Value =
        serde_json::from_slice(content).map_err(|e| invalid(format!("manifest is not JSON: {e}")))?;
    let declared = value.get("mediaType").and_then(|v| v.as_str());
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty());
    let media_type = match (declared, content_type) {
        (Some(declared), Some(header)) if declared != header => {
            return Err(invalid(format!(
                "mediaType {declared:?} does not match Content-Type {header:?}"
            )))
        }
        (Some(media_type), _) | (None, Some(media_type)) => media_type.to_string(),
        (None, None) => return Err(invalid("manifest has no media type")),
    };
    let annotations = value.get("annotations").cloned().unwrap_or_else(|| json!({}));
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let manifest: ImageManifest = serde_json::from_slice(content)
                .map_err(|e| invalid(format!("invalid image manifest: {e}")))?;
            let mut blobs = vec![digest_of(manifest.config())];
            // Non-distributable layers (foreign layers, or any layer with `urls`) live
            // elsewhere by design: they need not be in the repository.
            blobs.extend(
                manifest
                    .layers()
                    .iter()
                    .filter(|layer| !non_distributable(layer))
                    .map(digest_of),
            );
            let artifact_type = manifest
                .artifact_type()
                .as_ref()
                .map(|t| t.to_string())
                .or_else(|| Some(manifest.config().media_type().to_string()));
            Ok(Parsed {
                media_type,
                artifact_type,
                subject: manifest.subject().as_ref().map(digest_of),
                blobs,
                manifests: Vec::new(),
                annotations,
                content: Content::Image(Box::new(manifest)),
            })
        }
        OCI_INDEX | DOCKER_MANIFEST_LIST => {
            let index: ImageIndex =
                serde_json::from_slice(content).map_err(|e| invalid(format!("invalid image index: {e}")))?;
            Ok(Parsed {
                media_type,
                artifact_type: index.artifact_type().as_ref().map(|t| t.to_string()),
                subject: index.subject().as_ref().map(digest_of),
                blobs: Vec::new(),
                manifests: index.manifests().iter().map(digest_of).collect(),
                annotations,
                content: Content::Index(Box::new(index)),
            })
        }
        other => Err(invalid(format!("unsupported manifest media type {other:?}"))),
    }
}

impl App {
    /// `PUT …/manifests/<reference>`, with the tags of `?tag=` (`extra_tags`, OCI 1.2's
    /// tag parameters) when the reference is a digest.
    pub async fn put_manifest(
        &self,
        principal: &Principal,
        name: &RepoName,
        reference: &str,
        extra_tags: &[String],
        content_type: Option<&str>,
        content: &[u8],
    ) -> Result<PushedManifest> {
        let reference = Reference::parse(reference)?;
        for tag in extra_tags {
            if !valid_tag(tag) {
                return Err(Error::registry(
                    RegistryCode::ManifestInvalid,
                    format!("invalid tag {tag:?}"),
                ));
            }
        }
        let target = self
            .registry_access(Some(principal), name, RepoAction::Push)
            .await?;
        if content.len() > self.settings.max_manifest_size {
            return Err(Error::PayloadTooLarge(format!(
                "manifests may be at most {} bytes",
                self.settings.max_manifest_size
            )));
        }
        let algorithm = match &reference {
            Reference::Digest(d) => d.algorithm(),
            Reference::Tag(_) => Algorithm::Sha256,
        };
        let digest = Digest::of(algorithm, content);
        if let Reference::Digest(expected) = &reference {
            if *expected != digest {
                return Err(Error::registry(
                    RegistryCode::DigestInvalid,
                    format!("manifest digest {digest} does not match {expected}"),
                ));
            }
        }
        let parsed = parse_manifest(content, content_type)?;
        // Checked before the repository is created, so that a refused first push leaves
        // nothing behind; in a repository that does not exist yet, everything is missing.
        let mut missing = Vec::new();
        match &target.repo {
            Some(repo) => {
                missing = self.store.missing_blobs(&repo.id, &parsed.blobs).await?;
                for child in &parsed.manifests {
                    if self.store.manifest(&repo.id, child).await?.is_none() {
                        missing.push(child.clone());
                    }
                }
            }
            None => missing.extend(parsed.blobs.iter().chain(&parsed.manifests).cloned()),
        }
        if let Some(first) = missing.first() {
            return Err(Error::registry(
                RegistryCode::ManifestBlobUnknown,
                format!("manifest references {first}, which is not in the repository"),
            ));
        }
        let repo = self.push_repository(principal, &target).await?;
        let digest_text = digest.to_string();
        let mut references = parsed.blobs.clone();
        references.extend(parsed.manifests.iter().cloned());
        let annotations = parsed.annotations.to_string();
        let images = match &parsed.content {
            Content::Image(manifest) => vec![self.image_of_manifest(&digest_text, manifest).await],
            Content::Index(index) => self.images_of_index(&repo.id, index).await?,
        };
        let images = serde_json::to_string(&images).map_err(Error::internal)?;
        let now = now_micros();
        let manifest = NewManifest {
            repository_id: &repo.id,
            digest: &digest_text,
            media_type: &parsed.media_type,
            artifact_type: parsed.artifact_type.as_deref(),
            subject: parsed.subject.as_deref(),
            content,
            images: &images,
            annotations: &annotations,
            references: &references,
            now,
        };
        // The tags to point at it: the reference's, or those of `?tag=` on a push by digest.
        let tags: Vec<String> = match reference {
            Reference::Tag(tag) => vec![tag],
            Reference::Digest(_) => extra_tags.to_vec(),
        };
        let mut tx = self.store.begin().await?;
        // Touch and lock what the manifest references, inside the transaction that adds the
        // references: the collector either sees them or has already taken the row, and then
        // the push fails here rather than leave a reference to nothing.
        let mut gone = self.store.touch_blobs(&mut tx, &parsed.blobs, now).await?;
        gone.extend(
            self.store
                .lock_manifests(&mut tx, &repo.id, &parsed.manifests)
                .await?,
        );
        if let Some(first) = gone.first() {
            return Err(Error::registry(
                RegistryCode::ManifestBlobUnknown,
                format!("manifest references {first}, which is not in the repository"),
            ));
        }
        self.store.insert_manifest(&mut tx, &manifest).await?;
        let actor = Actor::of(principal);
        for tag in &tags {
            self.check_tag_change(&mut tx, &repo, tag, Some(&digest_text))
                .await?;
            self.store
                .set_tag(&mut tx, &repo.id, tag, &digest_text, &principal.account_name, now)
                .await?;
            let event = Event::new(audit::REPO_TAG_PUSH, &name.namespace, &name.path())
                .with("tag", tag.as_str())
                .with("digest", digest_text.as_str());
            audit::record(&self.store, &mut tx, &actor, event).await?;
        }
        crate::store::commit(tx).await?;
        Ok(PushedManifest {
            digest,
            subject: parsed.subject,
            tags: if extra_tags.is_empty() { Vec::new() } else { tags },
        })
    }

    /// `GET`/`HEAD …/manifests/<reference>`. A `GET` counts as a pull.
    pub async fn get_manifest(
        &self,
        principal: Option<&Principal>,
        name: &RepoName,
        reference: &str,
        count_pull: bool,
    ) -> Result<ManifestRow> {
        let reference = Reference::lookup(reference)?;
        let target = self.registry_access(principal, name, RepoAction::Pull).await?;
        let repo = target
            .repo
            .as_ref()
            .ok_or_else(|| manifest_unknown(reference_text(&reference)))?;
        let (manifest, tag) = match &reference {
            Reference::Tag(tag) => (
                self.store.manifest_by_tag(&repo.id, tag).await?,
                Some(tag.as_str()),
            ),
            Reference::Digest(digest) => (self.store.manifest(&repo.id, &digest.to_string()).await?, None),
        };
        let manifest = manifest.ok_or_else(|| manifest_unknown(reference_text(&reference)))?;
        if count_pull {
            self.pending_pulls.record(&repo.id, tag);
        }
        Ok(manifest)
    }

    /// `DELETE …/manifests/<reference>`: by digest, the manifest and every tag on it; by
    /// tag, that tag only.
    pub async fn delete_manifest(
        &self,
        principal: &Principal,
        name: &RepoName,
        reference: &str,
    ) -> Result<()> {
        let reference = Reference::lookup(reference)?;
        let target = self
            .registry_access(Some(principal), name, RepoAction::Delete)
            .await?;
        let repo = target
            .repo
            .as_ref()
            .ok_or_else(|| manifest_unknown(reference_text(&reference)))?;
        let mut tx = self.store.begin().await?;
        // Immutable tags are checked before anything is deleted.
        let (digest, tags) = match &reference {
            Reference::Digest(digest) => {
                let digest = digest.to_string();
                let tags = self.store.tags_of(&mut tx, &repo.id, &digest).await?;
                for tag in &tags {
                    self.check_tag_change(&mut tx, repo, tag, None).await?;
                }
                if !self.store.delete_manifest(&mut tx, &repo.id, &digest).await? {
                    return Err(manifest_unknown(digest));
                }
                (digest, tags)
            }
            Reference::Tag(tag) => {
                let digest = self
                    .store
                    .tag_digest(&mut tx, &repo.id, tag)
                    .await?
                    .ok_or_else(|| manifest_unknown(tag.clone()))?;
                self.check_tag_change(&mut tx, repo, tag, None).await?;
                self.store.delete_tag(&mut tx, &repo.id, tag).await?;
                (digest, vec![tag.clone()])
            }
        };
        let actor = Actor::of(principal);
        for tag in &tags {
            let event = Event::new(audit::REPO_TAG_DELETE, &name.namespace, &name.path())
                .with("tag", tag.as_str())
                .with("digest", digest.as_str());
            audit::record(&self.store, &mut tx, &actor, event).await?;
        }
        crate::store::commit(tx).await?;
        Ok(())
    }

    /// `GET …/tags/list`: up to `n` tags after `last`, in lexical order, and whether more
    /// follow. (The page size is [`tags_page_size`] of `n`.)
    pub async fn list_tags(
        &self,
        principal: Option<&Principal>,
        name: &RepoName,
        n: Option<u64>,
        last: Option<&str>,
    ) -> Result<(Vec<String>, bool)> {
        let target = self.registry_access(principal, name, RepoAction::Pull).await?;
        let repo = target
            .repo
            .as_ref()
            .ok_or_else(|| Error::not_found("repository not found"))?;
        let limit = tags_page_size(n) as usize;
        // One more than the page, to know whether another page follows.
        let mut tags = self.store.tag_names(&repo.id, last, limit as i64 + 1).await?;
        let more = tags.len() > limit;
        tags.truncate(limit);
        Ok((tags, more))
    }

    /// `GET …/referrers/<digest>`: an image index of the manifests whose subject is
    /// `digest`, optionally of one artifact type.
    pub async fn referrers(
        &self,
        principal: Option<&Principal>,
        name: &RepoName,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<serde_json::Value> {
        let digest = parse_digest(digest)?;
        // The referrers API never answers 404 for a digest it knows nothing about, not even
        // in a repository nothing has been pushed to yet: that is an empty index.
        let target = match self.registry_access(principal, name, RepoAction::Pull).await {
            Ok(target) => target,
            Err(Error::Registry {
                code: RegistryCode::NameUnknown,
                ..
            }) => return Ok(referrers_index(Vec::new())),
            Err(other) => return Err(other),
        };
        let Some(repo) = target.repo.as_ref() else {
            return Ok(referrers_index(Vec::new()));
        };
        let rows = self
            .store
            .referrers(&repo.id, &digest.to_string(), artifact_type)
            .await?;
        let manifests: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                let annotations: serde_json::Value =
                    serde_json::from_str(&row.annotations).unwrap_or_else(|_| json!({}));
                let mut descriptor = json!({
                    "mediaType": row.media_type,
                    "digest": row.digest,
                    "size": row.size,
                });
                if let Some(artifact_type) = &row.artifact_type {
                    descriptor["artifactType"] = json!(artifact_type);
                }
                if annotations.as_object().is_some_and(|a| !a.is_empty()) {
                    descriptor["annotations"] = annotations;
                }
                descriptor
            })
            .collect();
        Ok(referrers_index(manifests))
    }
}

/// How many tags one `tags/list` page holds when the client asks for `n`: a default when it
/// does not say, and never more than a bound.
pub fn tags_page_size(n: Option<u64>) -> u64 {
    n.unwrap_or(1000).min(10_000)
}

fn referrers_index(manifests: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
}

fn reference_text(reference: &Reference) -> String {
    match reference {
        Reference::Tag(tag) => tag.clone(),
        Reference::Digest(digest) => digest.to_string(),
    }
}

fn manifest_unknown(reference: String) -> Error {
    Error::registry(
        RegistryCode::ManifestUnknown,
        format!("manifest {reference} not found"),
    )
}
