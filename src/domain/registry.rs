//! The registry's operations: repository names, access (through the policy module), blob
//! uploads and downloads, manifests, tags and referrers.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};

use super::audit::{self, Actor, Event};
use super::error::{Error, RegistryCode, Result};
use super::policy::{
    authorize_repo, NamespaceOwner, Principal, RepoAction, RepoPermission, RepoStanding, Role,
};
use super::session::RegistryAccess;
use crate::app::App;
use crate::blobs::{Algorithm, BlobError, Digest, Hasher};
use crate::store::{now_micros, NamespaceKind, NewRepository, RepositoryRow, UploadRow};

/// Largest blob accepted in one upload request (a whole layer may come in one PATCH).
pub const MAX_BLOB_SIZE: u64 = 64 * 1024 * 1024 * 1024;

/// A repository name: `namespace/name`, where `name` may have more `/` components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    pub namespace: String,
    pub name: String,
}

impl RepoName {
    /// Parses a name by the OCI grammar: lowercase alphanumeric components joined by `.`,
    /// `_`, `__` or runs of `-`, separated by `/`; at least two components (a namespace
    /// and a repository), at most 255 characters.
    pub fn parse(path: &str) -> Result<RepoName> {
        let invalid = || {
            Error::registry(
                RegistryCode::NameInvalid,
                format!("invalid repository name {path:?}"),
            )
        };
        if path.len() > 255 {
            return Err(invalid());
        }
        let components: Vec<&str> = path.split('/').collect();
        if components.len() < 2 || !components.iter().all(|c| valid_component(c)) {
            return Err(invalid());
        }
        let (namespace, name) = path.split_once('/').ok_or_else(invalid)?;
        Ok(RepoName {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    pub fn path(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One component of a repository name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => i += if bytes.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || !bytes.get(i).copied().is_some_and(alnum) {
            return false;
        }
    }
    true
}

/// Tags: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub fn parse_digest(text: &str) -> Result<Digest> {
    Digest::parse(text)
        .ok_or_else(|| Error::registry(RegistryCode::DigestInvalid, format!("invalid digest {text:?}")))
}

/// A repository the caller may act on, and whether it exists yet.
pub struct RepoTarget {
    pub name: RepoName,
    pub repo: Option<RepositoryRow>,
    pub standing: RepoStanding,
}

impl RepoTarget {
    fn existing(&self) -> Result<&RepositoryRow> {
        self.repo.as_ref().ok_or_else(|| name_unknown(&self.name))
    }
}

fn name_unknown(name: &RepoName) -> Error {
    Error::registry(
        RegistryCode::NameUnknown,
        format!("repository {} not found", name.path()),
    )
}

fn blob_unknown(digest: &Digest) -> Error {
    Error::registry(RegistryCode::BlobUnknown, format!("blob {digest} not found"))
}

fn upload_unknown() -> Error {
    Error::registry(RegistryCode::BlobUploadUnknown, "upload not found")
}

fn storage(err: BlobError) -> Error {
    match err {
        BlobError::Body(msg) => Error::registry(RegistryCode::BlobUploadInvalid, msg),
        // The object store failed (after its own retries): this request fails, whatever it
        // wrote stays invisible, and the client may try again.
        BlobError::Storage(e) => {
            tracing::warn!(error = %e, "blob storage failed");
            Error::Unavailable("blob storage failed; try again".into())
        }
        other => Error::internal(other),
    }
}

/// How long finishing an upload waits for the collector to finish deleting the same blob.
const CLAIM_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Running digests of uploads in progress on this instance, so that finishing an upload
/// does not read its bytes back. Keyed by upload id; valid while the offset matches the
/// store's. Another instance (or a restart) recomputes from storage instead.
#[derive(Default)]
pub struct UploadHashes {
    running: Mutex<HashMap<String, (i64, Hasher)>>,
}

impl UploadHashes {
    fn take(&self, id: &str, offset: i64) -> Option<Hasher> {
        let mut running = self.running.lock().ok()?;
        match running.remove(id) {
            Some((at, hasher)) if at == offset => Some(hasher),
            _ => None,
        }
    }

    fn put(&self, id: &str, offset: i64, hasher: Hasher) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(id.to_string(), (offset, hasher));
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(id);
        }
    }
}

impl App {
    /// Loads what the caller is to repository `name`, and checks `action` with the policy.
    /// A refused caller learns nothing about whether the repository exists.
    pub async fn registry_access(
        &self,
        principal: Option<&Principal>,
        name: &RepoName,
        action: RepoAction,
    ) -> Result<RepoTarget> {
        let target = self.repo_target(principal, name).await?;
        if !authorize_repo(principal, &target.standing, action) {
            return Err(match principal {
                None => Error::registry(RegistryCode::Unauthorized, "authentication required"),
                Some(_) => Error::registry(
                    RegistryCode::Denied,
                    format!(
                        "requested access to {} ({}) is denied",
                        name.path(),
                        action.as_str()
                    ),
                ),
            });
        }
        if !matches!(action, RepoAction::Push | RepoAction::Create) && target.repo.is_none() {
            return Err(name_unknown(name));
        }
        Ok(target)
    }

    pub(super) async fn repo_target(
        &self,
        principal: Option<&Principal>,
        name: &RepoName,
    ) -> Result<RepoTarget> {
        let kind = self.store.namespace_kind(&name.namespace).await?;
        let repo = match kind {
            Some(_) => self.store.repository(&name.namespace, &name.name).await?,
            None => return Err(name_unknown(name)),
        };
        let owner = match kind {
            Some(NamespaceKind::User) => {
                let user = self
                    .store
                    .user_by_name(&name.namespace)
                    .await?
                    .ok_or_else(|| name_unknown(name))?;
                NamespaceOwner::User { user_id: user.id }
            }
            _ => {
                let org = self
                    .store
                    .org_by_name(&name.namespace)
                    .await?
                    .ok_or_else(|| name_unknown(name))?;
                let (role, team) = match principal.and_then(Principal::user_id) {
                    Some(user_id) => {
                        let role = self
                            .store
                            .member(&org.id, user_id)
                            .await?
                            .and_then(|m| Role::parse(&m.role));
                        let team = match (&repo, role) {
                            (Some(repo), Some(Role::Member)) => self
                                .store
                                .team_repo_permissions_of(&repo.id, user_id)
                                .await?
                                .into_iter()
                                .filter_map(|p| RepoPermission::parse(&p))
                                .max(),
                            _ => None,
                        };
                        (role, team)
                    }
                    None => (None, None),
                };
                NamespaceOwner::Org {
                    org_id: org.id,
                    role,
                    team,
                }
            }
        };
        let standing = RepoStanding {
            path: name.path(),
            owner,
            is_private: repo.as_ref().map(|r| r.is_private),
        };
        Ok(RepoTarget {
            name: name.clone(),
            repo,
            standing,
        })
    }

    /// What a registry token may grant for one requested scope
    /// (`repository:NAME:ACTIONS`): the requested actions the policy allows. Unknown or
    /// malformed scopes grant nothing.
    pub async fn grant_scope(
        &self,
        principal: Option<&Principal>,
        scope: &str,
    ) -> Result<Option<RegistryAccess>> {
        let mut parts = scope.splitn(3, ':');
        let (Some(kind), Some(path), Some(actions)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(None);
        };
        if kind != "repository" {
            return Ok(None);
        }
        let Ok(name) = RepoName::parse(path) else {
            return Ok(None);
        };
        let target = match self.repo_target(principal, &name).await {
            Ok(target) => target,
            Err(Error::Registry { .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        let mut granted = Vec::new();
        for action in actions.split(',') {
            let wanted: &[RepoAction] = match action {
                "pull" => &[RepoAction::Pull],
                "push" => &[RepoAction::Push],
                "delete" => &[RepoAction::Delete],
                "*" => &[RepoAction::Pull, RepoAction::Push, RepoAction::Delete],
                _ => &[],
            };
            for action in wanted {
                let name = action.as_str().to_string();
                if !granted.contains(&name) && authorize_repo(principal, &target.standing, *action) {
                    granted.push(name);
                }
            }
        }
        Ok(Some(RegistryAccess {
            kind: "repository".into(),
            name: name.path(),
            actions: granted,
        }))
    }

    /// The repository a push goes to, created on the first push (private unless
    /// configured otherwise).
    pub(super) async fn push_repository(
        &self,
        principal: &Principal,
        target: &RepoTarget,
    ) -> Result<RepositoryRow> {
        if let Some(repo) = &target.repo {
            return Ok(repo.clone());
        }
        let id = uuid::Uuid::new_v4().to_string();
        let new_repo = NewRepository {
            id: &id,
            namespace: &target.name.namespace,
            name: &target.name.name,
            is_private: self.settings.new_repository_visibility == crate::config::Visibility::Private,
            created_by: &principal.account_name,
            now: now_micros(),
        };
        let mut tx = self.store.begin().await?;
        match self.store.insert_repository(&mut tx, &new_repo).await {
            Ok(()) => {
                // The same event as a repository created through the Hub API.
                let event = Event::new(audit::REPO_CREATE, &target.name.namespace, &target.name.path())
                    .with("is_private", new_repo.is_private.to_string());
                self.commit_audited(tx, &Actor::of(principal), event).await?;
            }
            // Created by a concurrent push meanwhile: use that one.
            Err(crate::store::StoreError::Conflict(_)) => drop(tx),
            Err(other) => return Err(other.into()),
        }
        self.store
            .repository(&target.name.namespace, &target.name.name)
            .await?
            .ok_or_else(|| name_unknown(&target.name))
    }

    /// `POST …/blobs/uploads/`: opens an upload session.
    pub async fn start_upload(&self, principal: &Principal, name: &RepoName) -> Result<UploadRow> {
        let target = self
            .registry_access(Some(principal), name, RepoAction::Push)
            .await?;
        let repo = self.push_repository(principal, &target).await?;
        let id = uuid::Uuid::new_v4().to_string();
        self.store
            .insert_upload(&id, &repo.id, &principal.account_id, now_micros())
            .await?;
        self.store.upload(&id).await?.ok_or_else(upload_unknown)
    }

    /// An upload session of repository `name` that belongs to `account_id`.
    pub async fn upload_of(&self, account_id: &str, name: &RepoName, id: &str) -> Result<UploadRow> {
        let repo = self
            .store
            .repository(&name.namespace, &name.name)
            .await?
            .ok_or_else(upload_unknown)?;
        self.store
            .upload(id)
            .await?
            .filter(|u| u.repository_id == repo.id && u.account_id == account_id)
            .ok_or_else(upload_unknown)
    }

    /// Appends a chunk to an upload. `start` is the offset the client says the chunk
    /// begins at (from `Content-Range`), which must be where the upload stands.
    pub async fn append_upload<S, E>(
        &self,
        upload: &UploadRow,
        start: Option<u64>,
        body: S,
    ) -> Result<UploadRow>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        if start.is_some_and(|s| s != upload.size as u64) {
            return Err(Error::registry(
                RegistryCode::RangeInvalid,
                format!("chunk must start at offset {}", upload.size),
            ));
        }
        let mut hasher = if upload.size == 0 {
            Some(Algorithm::Sha256.hasher())
        } else {
            self.upload_hashes.take(&upload.id, upload.size)
        };
        let room = MAX_BLOB_SIZE.saturating_sub(upload.size as u64);
        let before = upload.state();
        let after = self
            .blobs
            .append(&before, body, room, &mut hasher)
            .await
            .map_err(storage)?;
        if after != before {
            if !self
                .store
                .record_upload_write(&before, &after, now_micros())
                .await?
            {
                self.blobs.abandon_write(&before, &after).await;
                return Err(Error::registry(
                    RegistryCode::BlobUploadInvalid,
                    "the upload changed meanwhile (concurrent writes to one upload)",
                ));
            }
            self.blobs.drop_previous_tail(&before).await;
        }
        if let Some(hasher) = hasher {
            self.upload_hashes.put(&upload.id, after.size as i64, hasher);
        }
        Ok(UploadRow {
            size: after.size as i64,
            parts: after.writes,
            multipart_id: after.multipart_id,
            multipart_parts: after.part_ids,
            tail_size: after.tail_size as i64,
            ..upload.clone()
        })
    }

    /// Completes an upload as blob `digest`: verifies the digest over everything received,
    /// then makes the blob durable and visible in the repository.
    pub async fn finish_upload(
        &self,
        principal_name: &str,
        upload: &UploadRow,
        digest: &Digest,
    ) -> Result<()> {
        let state = upload.state();
        let hasher = self.upload_hashes.take(&upload.id, upload.size);
        let assembled = self.blobs.assemble(&state).await.map_err(storage)?;
        let computed = match hasher {
            Some(hasher) if digest.algorithm() == Algorithm::Sha256 => hasher.finish(),
            _ => {
                let mut hasher = digest.algorithm().hasher();
                let mut bytes = self.blobs.read_assembled(&assembled).await.map_err(storage)?;
                while let Some(chunk) = bytes.next().await {
                    hasher.update(&chunk.map_err(storage)?);
                }
                hasher.finish()
            }
        };
        if computed != *digest {
            if state.multipart_id.is_some() {
                // Its multipart upload is completed and cannot take more parts: the session
                // ends, and the client starts over.
                let _ = self.cancel_upload(upload).await;
            } else {
                self.blobs.drop_assembled(&state, &assembled).await;
            }
            return Err(Error::registry(
                RegistryCode::DigestInvalid,
                format!("content digest {computed} does not match {digest}"),
            ));
        }
        let digest_text = digest.to_string();
        // The row first, so that the collector leaves the object alone from here on.
        self.claim_blob(&digest_text, upload.size).await?;
        if !self.blobs.exists(digest).await.map_err(storage)? {
            self.blobs
                .commit_assembled(&assembled, upload.size as u64, digest)
                .await
                .map_err(storage)?;
        }
        self.blobs.discard_upload(&state).await;
        let mut tx = self.store.begin().await?;
        if !self.store.delete_upload(&mut tx, &upload.id).await? {
            return Err(upload_unknown());
        }
        if !self
            .store
            .link_blob(&mut tx, &upload.repository_id, &digest_text, now_micros())
            .await?
        {
            // The collector took the blob between the claim and now (possible only with a
            // grace window shorter than this upload's commit). The parts are gone: the
            // session ends, and the client uploads again.
            crate::store::commit(tx).await?;
            return Err(Error::Unavailable(format!(
                "blob {digest} was garbage-collected while it was committed; upload it again"
            )));
        }
        crate::store::commit(tx).await?;
        tracing::debug!(digest = %digest, by = principal_name, "blob committed");
        Ok(())
    }

    /// `DELETE` of an upload session: drops what it received.
    pub async fn cancel_upload(&self, upload: &UploadRow) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if !self.store.delete_upload(&mut tx, &upload.id).await? {
            return Err(upload_unknown());
        }
        crate::store::commit(tx).await?;
        self.upload_hashes.forget(&upload.id);
        self.blobs.discard_upload(&upload.state()).await;
        Ok(())
    }

    /// Ends the upload sessions nobody has written to for `idle_secs`, and deletes their
    /// parts: a client that went away leaves nothing behind. Returns how many ended.
    pub async fn expire_uploads(&self, idle_secs: u64) -> Result<u64> {
        let idle = i64::try_from(idle_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        let before = now_micros().saturating_sub(idle);
        let mut ended = 0;
        loop {
            let stale = self.store.stale_uploads(before, 100).await?;
            if stale.is_empty() {
                return Ok(ended);
            }
            for upload in &stale {
                // The row goes first: a part written after it is an orphan fsck reports,
                // never a session that points at missing parts.
                match self.cancel_upload(upload).await {
                    Ok(()) => ended += 1,
                    // Finished or cancelled meanwhile.
                    Err(Error::Registry { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
        }
    }

    /// Cross-repository mount: links blob `digest` of repository `from` into `target`,
    /// when the caller may pull `from`. False when it cannot (the client then uploads).
    pub async fn mount_blob(
        &self,
        principal: &Principal,
        target: &RepositoryRow,
        digest: &Digest,
        from: &str,
    ) -> Result<bool> {
        let Ok(from) = RepoName::parse(from) else {
            return Ok(false);
        };
        let source = match self
            .registry_access(Some(principal), &from, RepoAction::Pull)
            .await
        {
            Ok(source) => source,
            Err(Error::Registry { .. }) => return Ok(false),
            Err(other) => return Err(other),
        };
        let source = source.existing()?;
        if self
            .store
            .repository_blob(&source.id, &digest.to_string())
            .await?
            .is_none()
        {
            return Ok(false);
        }
        let mut tx = self.store.begin().await?;
        let linked = self
            .store
            .link_blob(&mut tx, &target.id, &digest.to_string(), now_micros())
            .await?;
        crate::store::commit(tx).await?;
        // Not linked: the collector is taking the blob; the client uploads it instead.
        Ok(linked)
    }

    /// Claims a blob row for an upload about to commit it, waiting while the collector
    /// finishes deleting an earlier copy of the same blob (a matter of milliseconds).
    async fn claim_blob(&self, digest: &str, size: i64) -> Result<()> {
        let deadline = std::time::Instant::now() + CLAIM_WAIT;
        while !self.store.claim_blob(digest, size, now_micros()).await? {
            if std::time::Instant::now() >= deadline {
                return Err(Error::Unavailable(format!(
                    "blob {digest} is being garbage-collected; try again"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// The size of blob `digest` in the repository, when the caller may pull it.
    pub async fn blob_size(&self, target: &RepoTarget, digest: &Digest) -> Result<u64> {
        let repo = target.existing()?;
        let size = self
            .store
            .repository_blob(&repo.id, &digest.to_string())
            .await?
            .ok_or_else(|| blob_unknown(digest))?;
        Ok(size as u64)
    }

    /// Unlinks a blob from the repository (its bytes stay while others use them).
    pub async fn delete_blob(&self, target: &RepoTarget, digest: &Digest) -> Result<()> {
        let repo = target.existing()?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .unlink_blob(&mut tx, &repo.id, &digest.to_string())
            .await?
        {
            return Err(blob_unknown(digest));
        }
        crate::store::commit(tx).await?;
        Ok(())
    }
}
