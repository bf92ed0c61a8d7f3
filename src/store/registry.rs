//! Rows of the registry: `repositories`, `blobs`, `repository_blobs`, `manifests`,
//! `manifest_references`, `tags` and `uploads`. Everything the registry serves is looked up
//! here, by index; storage is only read for blob bytes.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{conflict_on_unique, Store, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct RepositoryRow {
    pub id: String,
    /// The integer id the Hub API shows.
    pub number: i64,
    pub namespace: String,
    pub name: String,
    pub is_private: bool,
    pub description: String,
    pub full_description: String,
    pub immutable_tags: bool,
    /// JSON array of patterns.
    pub immutable_tags_rules: String,
    pub pull_count: i64,
    pub last_pulled_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: String,
    pub repository_id: String,
    pub account_id: String,
    pub size: i64,
    /// Writes so far (see `blobs::UploadState`).
    pub parts: i64,
    pub multipart_id: Option<String>,
    /// The S3 part ids, in order.
    pub multipart_parts: Vec<String>,
    pub tail_size: i64,
}

impl UploadRow {
    /// Where the upload stands in blob storage.
    pub fn state(&self) -> crate::blobs::UploadState {
        crate::blobs::UploadState {
            id: self.id.clone(),
            size: self.size as u64,
            writes: self.parts,
            multipart_id: self.multipart_id.clone(),
            part_ids: self.multipart_parts.clone(),
            tail_size: self.tail_size as u64,
        }
    }
}

const UPLOAD_COLUMNS: &str =
    "id, repository_id, account_id, size, parts, multipart_id, multipart_parts, tail_size";

#[derive(Debug, Clone)]
pub struct ManifestRow {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    pub size: i64,
    pub content: Vec<u8>,
    /// JSON: per-platform images (see `domain::images`).
    pub images: String,
    pub annotations: String,
}

pub struct NewRepository<'a> {
    pub id: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub is_private: bool,
    pub created_by: &'a str,
    pub now: i64,
}

pub struct NewManifest<'a> {
    pub repository_id: &'a str,
    pub digest: &'a str,
    pub media_type: &'a str,
    pub artifact_type: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub content: &'a [u8],
    pub images: &'a str,
    pub annotations: &'a str,
    pub references: &'a [String],
    pub now: i64,
}

pub(super) const REPO_COLUMNS: &str =
    "id, number, namespace, name, is_private, description, full_description, immutable_tags, \
     immutable_tags_rules, pull_count, last_pulled_at, created_by, created_at, updated_at";

const MANIFEST_COLUMNS: &str =
    "m.digest, m.media_type, m.artifact_type, m.subject, m.size, m.content, m.images, m.annotations";

pub(super) fn repo_from_row(row: &AnyRow) -> Result<RepositoryRow, sqlx::Error> {
    Ok(RepositoryRow {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        namespace: row.try_get("namespace")?,
        name: row.try_get("name")?,
        is_private: row.try_get::<i64, _>("is_private")? != 0,
        description: row.try_get("description")?,
        full_description: row.try_get("full_description")?,
        immutable_tags: row.try_get::<i64, _>("immutable_tags")? != 0,
        immutable_tags_rules: row.try_get("immutable_tags_rules")?,
        pull_count: row.try_get("pull_count")?,
        last_pulled_at: row.try_get("last_pulled_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn upload_from_row(row: &AnyRow) -> Result<UploadRow, sqlx::Error> {
    let parts: String = row.try_get("multipart_parts")?;
    Ok(UploadRow {
        id: row.try_get("id")?,
        repository_id: row.try_get("repository_id")?,
        account_id: row.try_get("account_id")?,
        size: row.try_get("size")?,
        parts: row.try_get("parts")?,
        multipart_id: row.try_get("multipart_id")?,
        multipart_parts: serde_json::from_str(&parts).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        tail_size: row.try_get("tail_size")?,
    })
}

fn manifest_from_row(row: &AnyRow) -> Result<ManifestRow, sqlx::Error> {
    Ok(ManifestRow {
        digest: row.try_get("digest")?,
        media_type: row.try_get("media_type")?,
        artifact_type: row.try_get("artifact_type")?,
        subject: row.try_get("subject")?,
        size: row.try_get("size")?,
        content: row.try_get("content")?,
        images: row.try_get("images")?,
        annotations: row.try_get("annotations")?,
    })
}

impl Store {
    pub async fn repository(&self, namespace: &str, name: &str) -> StoreResult<Option<RepositoryRow>> {
        let sql = format!("SELECT {REPO_COLUMNS} FROM repositories WHERE namespace = $1 AND name = $2");
        let row = sqlx::query(&sql)
            .bind(namespace)
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(repo_from_row).transpose()?)
    }

    pub async fn insert_repository(&self, tx: &mut Tx, repo: &NewRepository<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO repositories (id, namespace, name, is_private, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(repo.id)
        .bind(repo.namespace)
        .bind(repo.name)
        .bind(i32::from(repo.is_private))
        .bind(repo.created_by)
        .bind(repo.now)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "repository already exists"))?;
        Ok(())
    }

    pub async fn set_immutable_tags(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        enabled: bool,
        rules_json: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE repositories SET immutable_tags = $1, immutable_tags_rules = $2, updated_at = $3 WHERE id = $4")
            .bind(i32::from(enabled))
            .bind(rules_json)
            .bind(super::now_micros())
            .bind(repository_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Claims blob `digest` for an upload about to commit it: records the row (once) or
    /// touches it, so that the collector leaves it alone. False while the collector is
    /// deleting it (the caller waits and tries again).
    pub async fn claim_blob(&self, digest: &str, size: i64, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (digest) DO UPDATE SET touched_at = excluded.touched_at WHERE blobs.deleting = 0",
        )
        .bind(digest)
        .bind(size)
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Links a blob to a repository, touching (and so locking) its row. False when there is
    /// no live blob row: the collector took it, and the caller must not link it.
    pub async fn link_blob(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        digest: &str,
        now: i64,
    ) -> StoreResult<bool> {
        if !self.touch_blobs(tx, &[digest.to_string()], now).await?.is_empty() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (repository_id, digest) DO NOTHING",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }

    /// Touches blobs a write is about to rely on, inside its transaction (which locks their
    /// rows against the collector). Returns the digests that have no live row.
    pub async fn touch_blobs(&self, tx: &mut Tx, digests: &[String], now: i64) -> StoreResult<Vec<String>> {
        rows_missing(
            tx,
            "UPDATE blobs SET touched_at = $1 WHERE digest = $2 AND deleting = 0",
            now,
            digests,
        )
        .await
    }

    /// Locks manifests of the repository that a new index is about to reference, against
    /// the collector. Returns the digests that are not there.
    pub async fn lock_manifests(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        digests: &[String],
    ) -> StoreResult<Vec<String>> {
        rows_missing(
            tx,
            "UPDATE manifests SET pushed_at = pushed_at WHERE repository_id = $1 AND digest = $2",
            repository_id,
            digests,
        )
        .await
    }

    /// The size of a blob linked to the repository; `None` when it is not linked there.
    pub async fn repository_blob(&self, repository_id: &str, digest: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
             WHERE rb.repository_id = $1 AND rb.digest = $2",
        )
        .bind(repository_id)
        .bind(digest)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(|r| r.try_get("size")).transpose()?)
    }

    /// Unlinks a blob from a repository; false when it was not linked.
    pub async fn unlink_blob(&self, tx: &mut Tx, repository_id: &str, digest: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2")
            .bind(repository_id)
            .bind(digest)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Which of `digests` are not linked to the repository.
    pub async fn missing_blobs(&self, repository_id: &str, digests: &[String]) -> StoreResult<Vec<String>> {
        let mut missing = Vec::new();
        for digest in digests {
            if self.repository_blob(repository_id, digest).await?.is_none() {
                missing.push(digest.clone());
            }
        }
        Ok(missing)
    }

    pub async fn insert_upload(
        &self,
        id: &str,
        repository_id: &str,
        account_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO uploads (id, repository_id, account_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(id)
        .bind(repository_id)
        .bind(account_id)
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Up to `limit` upload sessions not written to since `before` (microseconds).
    pub async fn stale_uploads(&self, before: i64, limit: i64) -> StoreResult<Vec<UploadRow>> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE updated_at < $1 ORDER BY updated_at LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(before)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.iter().map(upload_from_row).collect::<Result<_, _>>()?)
    }

    /// How many upload sessions are open, on every instance.
    pub async fn count_uploads(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM uploads")
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn upload(&self, id: &str) -> StoreResult<Option<UploadRow>> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.reader()).await?;
        Ok(row.as_ref().map(upload_from_row).transpose()?)
    }

    /// Records a write: the upload moves from `before` to `after`, if it still stands at
    /// `before` (a compare-and-swap: of two writes to one upload, one succeeds).
    pub async fn record_upload_write(
        &self,
        before: &crate::blobs::UploadState,
        after: &crate::blobs::UploadState,
        now: i64,
    ) -> StoreResult<bool> {
        let parts = serde_json::to_string(&after.part_ids).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let done = sqlx::query(
            "UPDATE uploads SET size = $1, parts = $2, multipart_id = $3, multipart_parts = $4, \
             tail_size = $5, updated_at = $6 WHERE id = $7 AND size = $8 AND parts = $9",
        )
        .bind(after.size as i64)
        .bind(after.writes)
        .bind(after.multipart_id.as_deref())
        .bind(parts)
        .bind(after.tail_size as i64)
        .bind(now)
        .bind(&before.id)
        .bind(before.size as i64)
        .bind(before.writes)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends an upload session; false when it was already gone.
    pub async fn delete_upload(&self, tx: &mut Tx, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a manifest (once per repository and digest) with the digests it references.
    pub async fn insert_manifest(&self, tx: &mut Tx, manifest: &NewManifest<'_>) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, size, content, \
             images, annotations, pushed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (repository_id, digest) DO NOTHING",
        )
        .bind(manifest.repository_id)
        .bind(manifest.digest)
        .bind(manifest.media_type)
        .bind(manifest.artifact_type)
        .bind(manifest.subject)
        .bind(manifest.content.len() as i64)
        .bind(manifest.content.to_vec())
        .bind(manifest.images)
        .bind(manifest.annotations)
        .bind(manifest.now)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(());
        }
        for digest in manifest.references {
            sqlx::query(
                "INSERT INTO manifest_references (repository_id, manifest_digest, digest) VALUES ($1, $2, $3) \
                 ON CONFLICT (repository_id, manifest_digest, digest) DO NOTHING",
            )
            .bind(manifest.repository_id)
            .bind(manifest.digest)
            .bind(digest)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub async fn manifest(&self, repository_id: &str, digest: &str) -> StoreResult<Option<ManifestRow>> {
        let sql = format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m WHERE m.repository_id = $1 AND m.digest = $2"
        );
        let row = sqlx::query(&sql)
            .bind(repository_id)
            .bind(digest)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(manifest_from_row).transpose()?)
    }

    pub async fn manifest_by_tag(&self, repository_id: &str, tag: &str) -> StoreResult<Option<ManifestRow>> {
        let sql = format!(
            "SELECT {MANIFEST_COLUMNS} FROM tags t JOIN manifests m \
             ON m.repository_id = t.repository_id AND m.digest = t.digest \
             WHERE t.repository_id = $1 AND t.name = $2"
        );
        let row = sqlx::query(&sql)
            .bind(repository_id)
            .bind(tag)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(manifest_from_row).transpose()?)
    }

    /// Manifests whose subject is `subject`, optionally of one artifact type.
    pub async fn referrers(
        &self,
        repository_id: &str,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> StoreResult<Vec<ManifestRow>> {
        let sql = format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m WHERE m.repository_id = $1 AND m.subject = $2 \
             AND ($3 IS NULL OR m.artifact_type = $3) ORDER BY m.digest"
        );
        let rows = sqlx::query(&sql)
            .bind(repository_id)
            .bind(subject)
            .bind(artifact_type)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.iter().map(manifest_from_row).collect::<Result<_, _>>()?)
    }

    /// The digest tag `name` points at, read inside `tx`.
    pub async fn tag_digest(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        name: &str,
    ) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT digest FROM tags WHERE repository_id = $1 AND name = $2")
            .bind(repository_id)
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.map(|r| r.try_get("digest")).transpose()?)
    }

    /// Points tag `name` at `digest`, creating it or moving it.
    pub async fn set_tag(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        name: &str,
        digest: &str,
        pushed_by: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tags (repository_id, name, digest, pushed_at, pushed_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (repository_id, name) DO UPDATE SET digest = excluded.digest, \
             pushed_at = excluded.pushed_at, pushed_by = excluded.pushed_by",
        )
        .bind(repository_id)
        .bind(name)
        .bind(digest)
        .bind(now)
        .bind(pushed_by)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE repositories SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(repository_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Up to `limit` tag names after `last`, in lexical order.
    pub async fn tag_names(
        &self,
        repository_id: &str,
        last: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        // Two statements rather than `($2 IS NULL OR name > $2)`: SQLite cannot start an
        // index range at `last` through an `OR`, and would read every tag before it.
        let rows = match last {
            Some(last) => {
                sqlx::query(
                    "SELECT name FROM tags WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3",
                )
                .bind(repository_id)
                .bind(last)
                .bind(limit)
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query("SELECT name FROM tags WHERE repository_id = $1 ORDER BY name LIMIT $2")
                    .bind(repository_id)
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await?
            }
        };
        rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
    }

    /// The tags pointing at `digest`, read inside `tx`.
    pub async fn tags_of(&self, tx: &mut Tx, repository_id: &str, digest: &str) -> StoreResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT name FROM tags WHERE repository_id = $1 AND digest = $2 ORDER BY name")
                .bind(repository_id)
                .bind(digest)
                .fetch_all(&mut **tx)
                .await?;
        rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
    }

    /// Deletes one tag; false when there was none.
    pub async fn delete_tag(&self, tx: &mut Tx, repository_id: &str, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM tags WHERE repository_id = $1 AND name = $2")
            .bind(repository_id)
            .bind(name)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a manifest and the tags pointing at it; false when there was none. Its blobs
    /// are touched: the collector's grace window starts now.
    pub async fn delete_manifest(&self, tx: &mut Tx, repository_id: &str, digest: &str) -> StoreResult<bool> {
        super::gc::touch_referenced_blobs(tx, repository_id, Some(digest), super::now_micros()).await?;
        sqlx::query("DELETE FROM tags WHERE repository_id = $1 AND digest = $2")
            .bind(repository_id)
            .bind(digest)
            .execute(&mut **tx)
            .await?;
        let done = sqlx::query("DELETE FROM manifests WHERE repository_id = $1 AND digest = $2")
            .bind(repository_id)
            .bind(digest)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds counted pulls to repositories and tags, in one transaction.
    pub async fn record_pulls(&self, batch: &HashMap<String, PullTally>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Rows in one order (repositories by id, each one's tags by name), in every flush of
        // every instance: two flushes that meet wait for each other instead of deadlocking.
        let mut repositories: Vec<_> = batch.iter().collect();
        repositories.sort_by(|a, b| a.0.cmp(b.0));
        for (repository_id, tally) in repositories {
            sqlx::query(
                "UPDATE repositories SET pull_count = pull_count + $1, \
                 last_pulled_at = CASE WHEN last_pulled_at IS NULL OR last_pulled_at < $2 THEN $2 \
                 ELSE last_pulled_at END WHERE id = $3",
            )
            .bind(tally.count)
            .bind(tally.last_at)
            .bind(repository_id)
            .execute(&mut *tx)
            .await?;
            let mut tags: Vec<_> = tally.tags.iter().collect();
            tags.sort();
            for (tag, at) in tags {
                sqlx::query("UPDATE tags SET last_pulled_at = $1 WHERE repository_id = $2 AND name = $3")
                    .bind(*at)
                    .bind(repository_id)
                    .bind(tag)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        super::commit(tx).await
    }
}

/// Runs the row-locking `update` (`$1` = `first`, `$2` = a digest) for each of `digests`;
/// returns the digests it matched no row for.
async fn rows_missing<'q, T>(
    tx: &mut Tx,
    update: &'q str,
    first: T,
    digests: &'q [String],
) -> StoreResult<Vec<String>>
where
    T: sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Copy + Send + 'q,
{
    let mut missing = Vec::new();
    for digest in digests {
        let done = sqlx::query(update)
            .bind(first)
            .bind(digest)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            missing.push(digest.clone());
        }
    }
    Ok(missing)
}

/// Pulls counted for one repository and not yet written.
#[derive(Debug, Default, Clone)]
pub struct PullTally {
    pub count: i64,
    pub last_at: i64,
    /// Tags pulled by name, with the latest time.
    pub tags: HashMap<String, i64>,
}
