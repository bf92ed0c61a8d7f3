//! The store's side of `wharf fsck`: the blob rows, and references that point nowhere.

use sqlx::Row;

use super::{Store, StoreResult};

/// A manifest's reference to a digest that is neither a blob nor a manifest of its
/// repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanglingReference {
    pub repository: String,
    pub manifest: String,
    pub digest: String,
}

impl Store {
    /// Up to `limit` blob rows after `after` (by digest) that something serves: linked to a
    /// repository or referenced by a manifest, and not being collected. `(digest, size)`.
    /// (An unlinked row is either an upload committing right now or garbage awaiting the
    /// collector; its object may rightly be missing.)
    pub async fn blob_rows_after(&self, after: &str, limit: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT b.digest, b.size FROM blobs b WHERE b.digest > $1 AND b.deleting = 0 \
             AND (EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest) \
                  OR EXISTS (SELECT 1 FROM manifest_references r WHERE r.digest = b.digest)) \
             ORDER BY b.digest LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("digest")?, r.try_get("size")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Whether a blob row exists for `digest`.
    pub async fn has_blob_row(&self, digest: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM blobs WHERE digest = $1")
            .bind(digest)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    /// Up to `limit` manifest references to digests the store has neither as a blob nor as
    /// a manifest of the same repository.
    pub async fn dangling_references(&self, limit: i64) -> StoreResult<Vec<DanglingReference>> {
        let rows = sqlx::query(
            "SELECT r.namespace || '/' || r.name AS repository, mr.manifest_digest, mr.digest \
             FROM manifest_references mr JOIN repositories r ON r.id = mr.repository_id \
             WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = mr.digest) \
               AND NOT EXISTS (SELECT 1 FROM manifests m \
                               WHERE m.repository_id = mr.repository_id AND m.digest = mr.digest) \
             ORDER BY repository, mr.manifest_digest, mr.digest LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(DanglingReference {
                    repository: r.try_get("repository")?,
                    manifest: r.try_get("manifest_digest")?,
                    digest: r.try_get("digest")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
