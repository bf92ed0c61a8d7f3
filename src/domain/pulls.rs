//! Pull counting off the pull path: a manifest `GET` adds to an in-memory tally, and the
//! tally is written to the store in one transaction about once a second (and before the
//! Hub API reads pull counts, and at shutdown). A pull then costs no database write, and
//! the counts are at most a second behind on other instances.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::app::App;
use crate::store::{now_micros, PullTally, StoreResult};

/// Pulls not yet written: per repository, the count and the latest time, and per tag
/// pulled by name, the latest time.
#[derive(Default)]
pub struct PendingPulls {
    tally: Mutex<HashMap<String, PullTally>>,
}

impl PendingPulls {
    pub fn record(&self, repository_id: &str, tag: Option<&str>) {
        let now = now_micros();
        let Ok(mut tally) = self.tally.lock() else {
            return;
        };
        let entry = tally.entry(repository_id.to_string()).or_default();
        entry.count += 1;
        entry.last_at = now;
        if let Some(tag) = tag {
            entry.tags.insert(tag.to_string(), now);
        }
    }

    fn take(&self) -> HashMap<String, PullTally> {
        self.tally
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }

    fn is_empty(&self) -> bool {
        self.tally.lock().map(|t| t.is_empty()).unwrap_or(true)
    }
}

impl App {
    /// Writes the pending pull counts. On failure they are put back, to be tried again.
    /// [`App::flush_pulls`] before a read that shows pull counts: a failure only leaves the
    /// counts a second behind (the batch waits for the next flush), so the read goes on.
    pub async fn flush_pulls_before_read(&self) {
        if let Err(e) = self.flush_pulls().await {
            tracing::warn!(error = %e, "writing pull counts failed; will retry");
        }
    }

    pub async fn flush_pulls(&self) -> StoreResult<()> {
        if self.pending_pulls.is_empty() {
            return Ok(());
        }
        let batch = self.pending_pulls.take();
        if let Err(e) = self.store.record_pulls(&batch).await {
            if let Ok(mut tally) = self.pending_pulls.tally.lock() {
                for (repo, pending) in batch {
                    let entry = tally.entry(repo).or_default();
                    entry.count += pending.count;
                    entry.last_at = entry.last_at.max(pending.last_at);
                    for (tag, at) in pending.tags {
                        let slot = entry.tags.entry(tag).or_default();
                        *slot = (*slot).max(at);
                    }
                }
            }
            return Err(e);
        }
        Ok(())
    }
}
