//! `wharf fsck`: does blob storage hold what the store says it does?
//!
//! Every blob row is looked up in storage: it must be there with the size the row records
//! (and, with `verify_digests`, bytes that hash to its digest). Every manifest reference
//! must name a blob or a manifest of its repository. Every blob object in storage must
//! have a row; one without is an orphan, and `repair` deletes orphans older than the grace
//! window, the only repair that is always safe (a younger one may be an upload finishing
//! right now). Nothing else is changed: a missing or damaged blob needs its data back.

use futures_util::{stream, StreamExt, TryStreamExt};

use crate::app::App;
use crate::blobs::digest::Digest;
use crate::domain::{Error, Result};
use crate::store::{now_micros, DanglingReference};

/// How many blob rows are read at a time, and how many lookups run at once.
const PAGE: i64 = 1000;
const PARALLEL: usize = 8;

#[derive(Debug, Clone)]
pub struct FsckOptions {
    /// Read every blob and check its digest, not only its size.
    pub verify_digests: bool,
    /// Delete orphan objects older than the grace window.
    pub repair: bool,
    /// Seconds an orphan must be old before it is an inconsistency.
    pub grace_secs: u64,
}

/// What an orphan object is, or became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanState {
    /// Newer than the grace window: perhaps an upload finishing; left alone.
    Recent,
    /// Older: an inconsistency.
    Found,
    /// Older, and deleted by `repair`.
    Deleted,
}

/// One problem (or, for a recent orphan, one observation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Missing {
        digest: String,
        size: i64,
    },
    WrongSize {
        digest: String,
        expected: i64,
        actual: u64,
    },
    WrongDigest {
        digest: String,
        actual: String,
    },
    Dangling(DanglingReference),
    Orphan {
        digest: String,
        size: u64,
        state: OrphanState,
    },
}

impl Finding {
    /// Whether it leaves the store and storage inconsistent.
    pub fn is_problem(&self) -> bool {
        !matches!(
            self,
            Finding::Orphan {
                state: OrphanState::Recent | OrphanState::Deleted,
                ..
            }
        )
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Missing { digest, size } => {
                write!(f, "missing: blob {digest} ({size} bytes) is not in storage")
            }
            Finding::WrongSize {
                digest,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "wrong size: blob {digest} has {actual} bytes in storage, {expected} in the store"
                )
            }
            Finding::WrongDigest { digest, actual } => {
                write!(f, "wrong digest: blob {digest} hashes to {actual}")
            }
            Finding::Dangling(r) => write!(
                f,
                "dangling reference: manifest {} of {} references {}, which the store does not have",
                r.manifest, r.repository, r.digest
            ),
            Finding::Orphan { digest, size, state } => match state {
                OrphanState::Found => write!(f, "orphan: object {digest} ({size} bytes) has no blob row"),
                OrphanState::Deleted => write!(f, "orphan deleted: object {digest} ({size} bytes)"),
                OrphanState::Recent => write!(
                    f,
                    "recent orphan (within the grace window, left alone): object {digest} ({size} bytes)"
                ),
            },
        }
    }
}

/// What a run checked and found.
#[derive(Debug, Clone, Default)]
pub struct FsckReport {
    pub blobs_checked: u64,
    pub objects_listed: u64,
    pub findings: Vec<Finding>,
}

impl FsckReport {
    pub fn problems(&self) -> usize {
        self.findings.iter().filter(|f| f.is_problem()).count()
    }
}

fn storage(e: crate::blobs::BlobError) -> Error {
    Error::internal(format!("blob storage: {e}"))
}

impl App {
    /// Checks the store against blob storage; `found` sees each finding as it is made.
    pub async fn fsck(&self, options: &FsckOptions, mut found: impl FnMut(&Finding)) -> Result<FsckReport> {
        let mut report = FsckReport::default();
        let mut note = |report: &mut FsckReport, finding: Finding| {
            found(&finding);
            report.findings.push(finding);
        };

        // Every blob row: in storage, with its size (and digest).
        let mut after = String::new();
        loop {
            let rows = self.store.blob_rows_after(&after, PAGE).await?;
            let Some((last, _)) = rows.last() else { break };
            after = last.clone();
            let checks = stream::iter(rows)
                .map(|(digest, size)| self.check_blob(digest, size, options.verify_digests))
                .buffer_unordered(PARALLEL);
            let results: Vec<Option<Finding>> = checks.try_collect().await?;
            report.blobs_checked += results.len() as u64;
            for finding in results.into_iter().flatten() {
                note(&mut report, finding);
            }
        }

        // Every reference: to something the store has.
        for dangling in self.store.dangling_references(PAGE).await? {
            note(&mut report, Finding::Dangling(dangling));
        }

        // Every object: with a row.
        let grace_micros = i64::try_from(options.grace_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        let cutoff = now_micros().saturating_sub(grace_micros);
        let mut objects = self.blobs.list_blobs();
        while let Some(object) = objects.next().await {
            let object = object.map_err(storage)?;
            report.objects_listed += 1;
            let digest = object.digest.to_string();
            if self.store.has_blob_row(&digest).await? {
                continue;
            }
            let state = if object.modified_micros > cutoff {
                OrphanState::Recent
            } else if options.repair {
                self.blobs.delete(&object.digest).await.map_err(storage)?;
                OrphanState::Deleted
            } else {
                OrphanState::Found
            };
            let finding = Finding::Orphan {
                digest,
                size: object.size,
                state,
            };
            note(&mut report, finding);
        }
        Ok(report)
    }

    async fn check_blob(&self, digest_text: String, size: i64, verify: bool) -> Result<Option<Finding>> {
        let Some(digest) = Digest::parse(&digest_text) else {
            return Err(Error::internal(format!(
                "the store holds an invalid digest {digest_text:?}"
            )));
        };
        let Some(actual) = self.blobs.size_of(&digest).await.map_err(storage)? else {
            return Ok(Some(Finding::Missing {
                digest: digest_text,
                size,
            }));
        };
        if i64::try_from(actual).ok() != Some(size) {
            return Ok(Some(Finding::WrongSize {
                digest: digest_text,
                expected: size,
                actual,
            }));
        }
        if verify {
            let recomputed = self.blobs.recompute(&digest).await.map_err(storage)?;
            if recomputed != digest {
                return Ok(Some(Finding::WrongDigest {
                    digest: digest_text,
                    actual: recomputed.to_string(),
                }));
            }
        }
        Ok(None)
    }
}
