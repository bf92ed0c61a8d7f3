//! Online garbage collection: `wharf gc`, and the schedule in `wharf serve`.
//!
//! **Mark** is read from the store, never from a bucket listing: a blob is live while a
//! manifest references it, and a manifest is live while it is reachable from a tag (through
//! index children, and referrers whose subject is live). Untagged, unreachable manifests
//! are kept or deleted by [`UntaggedPolicy`].
//!
//! **Sweep** takes blobs that are unreferenced and untouched for longer than the grace
//! window (`blobs.touched_at`: uploads, mounts, manifest pushes and manifest deletes touch
//! it), in batches: mark the batch `deleting` (each row re-checked under its lock, see
//! `store::gc`), delete the objects with bounded parallelism, forget the rows. A run that
//! stops half-way leaves rows marked `deleting`; the next run finishes them first, so the
//! collector is resumable and idempotent.
//!
//! **One leader**: on PostgreSQL an advisory lock, on SQLite a lock on a file in the data
//! directory. Correctness does not depend on it (two collectors would only repeat each
//! other's checks); it keeps several instances' schedules from doing the work twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use futures_util::StreamExt;

use crate::app::App;
use crate::blobs::Digest;
use crate::config::UntaggedPolicy;
use crate::store::{now_micros, AdvisoryLock, BlobEntry, ManifestNode};

use super::{Error, Result};

/// Blobs marked and deleted per batch.
const BATCH: i64 = 256;
/// Object deletions in flight at once.
const PARALLEL_DELETES: usize = 8;
/// Repositories read per page when looking for untagged manifests.
const REPOSITORY_PAGE: i64 = 100;
/// The PostgreSQL advisory lock key of the collector ("wharf-gc").
const LOCK_KEY: i64 = 0x7768_6172_662d_6763;

#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Seconds a blob must have been unreferenced and untouched (and an untagged manifest
    /// old) before it goes.
    pub grace_secs: u64,
    pub untagged: UntaggedPolicy,
    /// Report what would go; change nothing.
    pub dry_run: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// False when another collector held the lock and this run did nothing.
    pub ran: bool,
    pub manifests_deleted: u64,
    pub blobs_deleted: u64,
    pub bytes_deleted: u64,
    /// Blobs a previous, interrupted run had marked and this one finished.
    pub blobs_resumed: u64,
}

/// Who holds the collector's lock, until released.
enum Leadership {
    Advisory(AdvisoryLock),
    File(std::fs::File),
}

impl Leadership {
    async fn release(self) {
        match self {
            Leadership::Advisory(lock) => lock.release().await,
            Leadership::File(file) => drop(file.unlock()),
        }
    }
}

impl App {
    /// One collection. Returns what it did (or, with `dry_run`, what it would do).
    pub async fn gc(&self, options: &GcOptions) -> Result<GcReport> {
        let started = Instant::now();
        let Some(leadership) = self.gc_leadership().await? else {
            tracing::info!("gc: another collector holds the lock; nothing to do");
            metrics::counter!("wharf_gc_runs_total", "result" => "skipped").increment(1);
            return Ok(GcReport::default());
        };
        tracing::info!(
            grace_secs = options.grace_secs,
            untagged = ?options.untagged,
            dry_run = options.dry_run,
            "gc: started"
        );
        let outcome = self.collect(options).await;
        leadership.release().await;
        let result = if outcome.is_ok() { "ok" } else { "error" };
        metrics::counter!("wharf_gc_runs_total", "result" => result).increment(1);
        metrics::gauge!("wharf_gc_last_run_duration_seconds").set(started.elapsed().as_secs_f64());
        metrics::gauge!("wharf_gc_last_run_timestamp_seconds").set(now_micros() as f64 / 1e6);
        let report = outcome?;
        if !options.dry_run {
            metrics::counter!("wharf_gc_manifests_deleted_total").increment(report.manifests_deleted);
            metrics::counter!("wharf_gc_blobs_deleted_total")
                .increment(report.blobs_deleted + report.blobs_resumed);
            metrics::counter!("wharf_gc_bytes_deleted_total").increment(report.bytes_deleted);
        }
        tracing::info!(
            manifests = report.manifests_deleted,
            blobs = report.blobs_deleted,
            bytes = report.bytes_deleted,
            resumed = report.blobs_resumed,
            dry_run = options.dry_run,
            seconds = started.elapsed().as_secs_f64(),
            "gc: finished"
        );
        Ok(report)
    }

    async fn gc_leadership(&self) -> Result<Option<Leadership>> {
        if let Some(lock) = self.store.try_advisory_lock(LOCK_KEY).await? {
            return Ok(Some(Leadership::Advisory(lock)));
        }
        if self.store.backend() == crate::store::Backend::Postgres {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.settings.data_dir).map_err(Error::internal)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.settings.data_dir.join("gc.lock"))
            .map_err(Error::internal)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Leadership::File(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::internal(e)),
        }
    }

    async fn collect(&self, options: &GcOptions) -> Result<GcReport> {
        let mut report = GcReport {
            ran: true,
            ..GcReport::default()
        };
        let grace = i64::try_from(options.grace_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        if !options.dry_run {
            report.blobs_resumed = self.finish_marked_blobs().await?;
        }
        if options.untagged == UntaggedPolicy::Delete {
            report.manifests_deleted = self
                .collect_untagged(now_micros().saturating_sub(grace), options.dry_run)
                .await?;
        }
        // The blob cutoff is taken after the manifests went: their blobs were touched then,
        // and wait a grace window of their own.
        let cutoff = now_micros().saturating_sub(grace);
        let mut after = String::new();
        loop {
            let candidates = self.store.unreferenced_blobs(cutoff, &after, BATCH).await?;
            let Some((last, _)) = candidates.last() else {
                break;
            };
            after = last.clone();
            let (count, bytes) = if options.dry_run {
                for (digest, size) in &candidates {
                    tracing::info!(%digest, size, "gc: would delete blob");
                }
                (
                    candidates.len() as u64,
                    candidates.iter().map(|(_, s)| *s as u64).sum(),
                )
            } else {
                let marked = self.store.mark_blobs_deleting(&candidates, cutoff).await?;
                self.delete_marked(&marked).await?
            };
            report.blobs_deleted += count;
            report.bytes_deleted += bytes;
            tracing::info!(
                blobs = report.blobs_deleted,
                bytes = report.bytes_deleted,
                dry_run = options.dry_run,
                "gc: sweeping"
            );
        }
        Ok(report)
    }

    /// Finishes the blobs a previous run marked and did not delete.
    async fn finish_marked_blobs(&self) -> Result<u64> {
        let mut finished = 0;
        loop {
            let marked = self.store.blobs_deleting(BATCH).await?;
            if marked.is_empty() {
                return Ok(finished);
            }
            let (count, _) = self.delete_marked(&marked).await?;
            if count == 0 {
                return Err(Error::internal("gc: no marked blob could be deleted"));
            }
            finished += count;
        }
    }

    /// Deletes the objects of marked blobs, a few at a time, then forgets the rows of those
    /// that are gone. Returns how many went, and their bytes. A failed deletion leaves its
    /// row marked for the next run.
    async fn delete_marked(&self, marked: &[BlobEntry]) -> Result<(u64, u64)> {
        let results: Vec<_> = futures_util::stream::iter(marked.iter().cloned())
            .map(|(digest, size)| async move {
                let Some(parsed) = Digest::parse(&digest) else {
                    // Not a digest Wharf writes; there is no object to delete.
                    return Some((digest, size));
                };
                match self.blobs.delete(&parsed).await {
                    Ok(()) => Some((digest, size)),
                    Err(e) => {
                        tracing::warn!(%digest, error = %e, "gc: deleting a blob failed; the next run retries");
                        None
                    }
                }
            })
            .buffer_unordered(PARALLEL_DELETES)
            .collect()
            .await;
        let deleted: Vec<BlobEntry> = results.into_iter().flatten().collect();
        let digests: Vec<String> = deleted.iter().map(|(d, _)| d.clone()).collect();
        self.store.forget_deleted_blobs(&digests).await?;
        Ok((deleted.len() as u64, deleted.iter().map(|(_, s)| *s as u64).sum()))
    }

    /// Deletes (or counts, on a dry run) the unreachable manifests pushed before `cutoff`,
    /// repository by repository.
    async fn collect_untagged(&self, cutoff: i64, dry_run: bool) -> Result<u64> {
        let mut deleted = 0;
        let mut after = String::new();
        loop {
            let repositories = self.store.repository_ids_after(&after, REPOSITORY_PAGE).await?;
            let Some(last) = repositories.last() else {
                return Ok(deleted);
            };
            after = last.clone();
            for repository_id in &repositories {
                let (nodes, tagged, edges) = self.store.manifest_graph(repository_id).await?;
                let mut candidates: Vec<String> = unreachable(&nodes, &tagged, &edges)
                    .into_iter()
                    .filter(|node| node.pushed_at < cutoff)
                    .map(|node| node.digest.clone())
                    .collect();
                if dry_run {
                    for digest in &candidates {
                        tracing::info!(%digest, "gc: would delete untagged manifest");
                    }
                    deleted += candidates.len() as u64;
                    continue;
                }
                // An index goes before its children (which it still references): passes
                // until one deletes nothing.
                loop {
                    let before = candidates.len();
                    let mut kept = Vec::new();
                    for digest in candidates {
                        if self
                            .store
                            .delete_untagged_manifest(repository_id, &digest, cutoff)
                            .await?
                        {
                            tracing::info!(%digest, "gc: untagged manifest deleted");
                            deleted += 1;
                        } else {
                            kept.push(digest);
                        }
                    }
                    if kept.is_empty() || kept.len() == before {
                        break;
                    }
                    candidates = kept;
                }
            }
        }
    }
}

/// The manifests not reachable from a tag: through index children, and through referrers
/// of a reachable subject.
pub fn unreachable<'a>(
    nodes: &'a [ManifestNode],
    tagged: &[String],
    edges: &[(String, String)],
) -> Vec<&'a ManifestNode> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for (parent, child) in edges {
        children.entry(parent.as_str()).or_default().push(child.as_str());
    }
    let mut referrers: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in nodes {
        if let Some(subject) = &node.subject {
            referrers
                .entry(subject.as_str())
                .or_default()
                .push(node.digest.as_str());
        }
    }
    let mut reachable: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<&str> = tagged.iter().map(String::as_str).collect();
    while let Some(digest) = queue.pop_front() {
        if !reachable.insert(digest) {
            continue;
        }
        for next in children.get(digest).into_iter().chain(referrers.get(digest)) {
            queue.extend(next.iter().copied());
        }
    }
    nodes
        .iter()
        .filter(|node| !reachable.contains(node.digest.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(digest: &str, subject: Option<&str>) -> ManifestNode {
        ManifestNode {
            digest: digest.into(),
            subject: subject.map(Into::into),
            pushed_at: 0,
        }
    }

    #[test]
    fn reachability_follows_children_and_referrers() {
        let nodes = vec![
            node("index", None),
            node("child", None),
            node("signature", Some("index")),
            node("sbom-signature", Some("signature")),
            node("loose", None),
            node("loose-child", None),
            node("orphan-referrer", Some("loose")),
        ];
        let edges = vec![
            ("index".to_string(), "child".to_string()),
            ("loose".to_string(), "loose-child".to_string()),
        ];
        let gone: Vec<&str> = unreachable(&nodes, &["index".to_string()], &edges)
            .iter()
            .map(|n| n.digest.as_str())
            .collect();
        assert_eq!(gone, ["loose", "loose-child", "orphan-referrer"]);
    }
}
