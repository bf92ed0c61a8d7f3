//! The store's side of garbage collection (`domain::gc`): which blobs and manifests may go,
//! and taking them in transactions that cannot race a push into a dangling reference.
//!
//! The rule every write follows: a push that relies on a blob or a manifest locks its row in
//! its own transaction (`touch_blobs`, `lock_manifests`, `link_blob`), and the collector
//! takes a row only under the same lock and re-checks, in a later statement, that nothing
//! references it. Whichever comes second sees the other's committed work: the push finds
//! the blob gone and fails cleanly, or the collector finds the new reference and keeps it.

use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};

use super::{commit, Backend, Store, StoreResult};

/// A blob row: its digest and size.
pub type BlobEntry = (String, i64);

/// A manifest of one repository as the collector sees it.
#[derive(Debug, Clone)]
pub struct ManifestNode {
    pub digest: String,
    pub subject: Option<String>,
    pub pushed_at: i64,
}

/// PostgreSQL's session advisory lock for one collector at a time: held by one pooled
/// connection, released by [`AdvisoryLock::release`] or, if the process dies, by the
/// connection closing.
pub struct AdvisoryLock {
    conn: Option<PoolConnection<Any>>,
    key: i64,
}

impl AdvisoryLock {
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let released = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut *conn)
                .await;
            if released.is_err() {
                // Never hand a connection that may still hold the lock back to the pool.
                conn.close_on_drop();
            }
        }
    }
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.close_on_drop();
        }
    }
}

impl Store {
    /// Takes PostgreSQL advisory lock `key` if nobody holds it; `None` when someone does.
    /// On SQLite there is nothing to take (the caller locks a file instead).
    pub async fn try_advisory_lock(&self, key: i64) -> StoreResult<Option<AdvisoryLock>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut conn = self.write.acquire().await?;
        let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        let taken: bool = row.try_get("taken")?;
        Ok(taken.then_some(AdvisoryLock {
            conn: Some(conn),
            key,
        }))
    }

    /// Up to `limit` blobs after `after` (by digest) that no manifest references and nobody
    /// touched since `cutoff`: the sweep's candidates, read from the store alone.
    pub async fn unreferenced_blobs(
        &self,
        cutoff: i64,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<BlobEntry>> {
        let rows = sqlx::query(
            "SELECT b.digest, b.size FROM blobs b WHERE b.deleting = 0 AND b.touched_at < $1 AND b.digest > $2 \
             AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.digest = b.digest) \
             ORDER BY b.digest LIMIT $3",
        )
        .bind(cutoff)
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        blob_entries(&rows)
    }

    /// Marks `candidates` for deletion, each only if it is still untouched since `cutoff`
    /// and, checked after its row is locked, still unreferenced; unlinks the marked ones from
    /// every repository. Returns those marked. One transaction for the batch.
    pub async fn mark_blobs_deleting(
        &self,
        candidates: &[BlobEntry],
        cutoff: i64,
    ) -> StoreResult<Vec<BlobEntry>> {
        let mut tx = self.begin().await?;
        let mut marked = Vec::new();
        for (digest, size) in candidates {
            let locked = sqlx::query(
                "UPDATE blobs SET deleting = 1 WHERE digest = $1 AND deleting = 0 AND touched_at < $2",
            )
            .bind(digest)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
            if locked.rows_affected() == 0 {
                continue;
            }
            // A later statement: on PostgreSQL it sees every push that committed before we
            // got the row lock.
            let referenced =
                sqlx::query("SELECT 1 AS one FROM manifest_references WHERE digest = $1 LIMIT 1")
                    .bind(digest)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            if referenced {
                sqlx::query("UPDATE blobs SET deleting = 0 WHERE digest = $1")
                    .bind(digest)
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
            sqlx::query("DELETE FROM repository_blobs WHERE digest = $1")
                .bind(digest)
                .execute(&mut *tx)
                .await?;
            marked.push((digest.clone(), *size));
        }
        commit(tx).await?;
        Ok(marked)
    }

    /// Up to `limit` blobs marked for deletion (by a run that may have stopped half-way).
    pub async fn blobs_deleting(&self, limit: i64) -> StoreResult<Vec<BlobEntry>> {
        let rows = sqlx::query("SELECT digest, size FROM blobs WHERE deleting = 1 ORDER BY digest LIMIT $1")
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        blob_entries(&rows)
    }

    /// Forgets blobs marked for deletion whose objects are gone.
    pub async fn forget_deleted_blobs(&self, digests: &[String]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for digest in digests {
            sqlx::query("DELETE FROM blobs WHERE digest = $1 AND deleting = 1")
                .bind(digest)
                .execute(&mut *tx)
                .await?;
        }
        commit(tx).await
    }

    /// Up to `limit` repository ids after `after`, in order.
    pub async fn repository_ids_after(&self, after: &str, limit: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM repositories WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// A repository's manifests, its tagged digests, and its manifest-to-manifest
    /// references `(parent, child)`: what reachability is computed from.
    pub async fn manifest_graph(
        &self,
        repository_id: &str,
    ) -> StoreResult<(Vec<ManifestNode>, Vec<String>, Vec<(String, String)>)> {
        let nodes = sqlx::query("SELECT digest, subject, pushed_at FROM manifests WHERE repository_id = $1")
            .bind(repository_id)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| {
                Ok(ManifestNode {
                    digest: r.try_get("digest")?,
                    subject: r.try_get("subject")?,
                    pushed_at: r.try_get("pushed_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let tagged = sqlx::query("SELECT DISTINCT digest FROM tags WHERE repository_id = $1")
            .bind(repository_id)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| r.try_get("digest"))
            .collect::<Result<Vec<String>, sqlx::Error>>()?;
        let edges = sqlx::query(
            "SELECT r.manifest_digest, r.digest FROM manifest_references r JOIN manifests m \
             ON m.repository_id = r.repository_id AND m.digest = r.digest WHERE r.repository_id = $1",
        )
        .bind(repository_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("manifest_digest")?, r.try_get("digest")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok((nodes, tagged, edges))
    }

    /// Deletes an untagged manifest pushed before `cutoff`, if, checked under its row lock,
    /// no tag points at it, no other manifest of the repository references it, and it is
    /// not a referrer of a tagged or referenced manifest. The blobs it referenced are
    /// touched: they have been unreferenced only from now on. False when it was kept.
    pub async fn delete_untagged_manifest(
        &self,
        repository_id: &str,
        digest: &str,
        cutoff: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let locked = sqlx::query(
            "UPDATE manifests SET pushed_at = pushed_at WHERE repository_id = $1 AND digest = $2 AND pushed_at < $3",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        if locked.rows_affected() == 0 {
            return Ok(false);
        }
        let in_use = sqlx::query(
            "SELECT 1 AS one FROM manifests m WHERE m.repository_id = $1 AND m.digest = $2 AND ( \
               EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest) \
               OR EXISTS (SELECT 1 FROM manifest_references r WHERE r.repository_id = m.repository_id \
                          AND r.digest = m.digest AND r.manifest_digest <> m.digest) \
               OR EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.subject) \
               OR EXISTS (SELECT 1 FROM manifest_references r WHERE r.repository_id = m.repository_id \
                          AND r.digest = m.subject))",
        )
        .bind(repository_id)
        .bind(digest)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if in_use {
            return Ok(false);
        }
        touch_referenced_blobs(&mut tx, repository_id, Some(digest), super::now_micros()).await?;
        let deleted = sqlx::query("DELETE FROM manifests WHERE repository_id = $1 AND digest = $2")
            .bind(repository_id)
            .bind(digest)
            .execute(&mut *tx)
            .await;
        match deleted {
            Ok(_) => {}
            // A tag created meanwhile (its foreign key holds the row): the manifest stays.
            Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        commit(tx).await?;
        Ok(true)
    }
}

/// Touches the blobs referenced by one manifest of a repository (or by all of them, with
/// `manifest` `None`), because it is about to go: "unreferenced for the grace window" counts
/// from now.
pub(super) async fn touch_referenced_blobs(
    tx: &mut super::Tx,
    repository_id: &str,
    manifest: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE blobs SET touched_at = $1 WHERE deleting = 0 AND digest IN \
         (SELECT digest FROM manifest_references WHERE repository_id = $2 \
          AND ($3 IS NULL OR manifest_digest = $3))",
    )
    .bind(now)
    .bind(repository_id)
    .bind(manifest)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn blob_entries(rows: &[sqlx::any::AnyRow]) -> StoreResult<Vec<BlobEntry>> {
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get("digest")?, r.try_get("size")?)))
        .collect::<Result<_, sqlx::Error>>()?)
}
