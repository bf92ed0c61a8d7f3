//! Tags through the Hub API: the tag views (filled from what was pushed: images per
//! platform, sizes, push and pull times) and deleting a tag.

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::policy::{Principal, RepoAction};
use crate::app::App;
use crate::store::TagRow;

/// A tag is `active` when it was pushed or pulled within this many days.
pub const ACTIVE_DAYS: i64 = 30;

/// Whether a tag pushed at `pushed_at` and last pulled at `last_pulled_at` is active at
/// `now` (all in microseconds).
pub fn is_active(pushed_at: i64, last_pulled_at: Option<i64>, now: i64) -> bool {
    let since = now - ACTIVE_DAYS * 24 * 3600 * 1_000_000;
    pushed_at >= since || last_pulled_at.is_some_and(|at| at >= since)
}

impl App {
    /// `GET …/tags`: a page of a repository's tags, newest push first, and how many.
    pub async fn list_hub_tags(
        &self,
        principal: Option<&Principal>,
        namespace: &str,
        repository: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<TagRow>, i64)> {
        self.flush_pulls_before_read().await;
        let found = self
            .hub_repository(principal, namespace, repository, RepoAction::ReadTags)
            .await?;
        Ok(self.store.list_tag_rows(&found.repo.id, offset, limit).await?)
    }

    /// `HEAD …/tags`: whether the repository has tags (404 when it has none).
    pub async fn check_hub_tags(
        &self,
        principal: Option<&Principal>,
        namespace: &str,
        repository: &str,
    ) -> Result<()> {
        let found = self
            .hub_repository(principal, namespace, repository, RepoAction::ReadTags)
            .await?;
        if self.store.has_tags(&found.repo.id).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!("{namespace}/{repository} has no tags")))
        }
    }

    /// `GET …/tags/{tag}`.
    pub async fn get_hub_tag(
        &self,
        principal: Option<&Principal>,
        namespace: &str,
        repository: &str,
        tag: &str,
    ) -> Result<TagRow> {
        self.flush_pulls_before_read().await;
        let found = self
            .hub_repository(principal, namespace, repository, RepoAction::ReadTags)
            .await?;
        self.store
            .tag_row(&found.repo.id, tag)
            .await?
            .ok_or_else(|| tag_not_found(namespace, repository, tag))
    }

    /// `DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/`: the tag only (its manifest stays,
    /// reachable by digest); refused for an immutable tag.
    pub async fn delete_hub_tag(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        tag: &str,
    ) -> Result<()> {
        let found = self
            .hub_repository(Some(principal), namespace, repository, RepoAction::DeleteTag)
            .await?;
        let repo = &found.repo;
        let mut tx = self.store.begin().await?;
        let digest = self
            .store
            .tag_digest(&mut tx, &repo.id, tag)
            .await?
            .ok_or_else(|| tag_not_found(namespace, repository, tag))?;
        self.check_tag_change(&mut tx, repo, tag, None)
            .await
            .map_err(|_| Error::forbidden(format!("the tag {tag} is immutable")))?;
        self.store.delete_tag(&mut tx, &repo.id, tag).await?;
        let event = Event::new(
            audit::REPO_TAG_DELETE,
            namespace,
            &format!("{namespace}/{repository}"),
        )
        .with("tag", tag)
        .with("digest", digest);
        self.commit_audited(tx, &Actor::of(principal), event).await
    }
}

fn tag_not_found(namespace: &str, repository: &str, tag: &str) -> Error {
    Error::not_found(format!("tag {tag} not found in {namespace}/{repository}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_means_pushed_or_pulled_within_a_month() {
        let day = 24 * 3600 * 1_000_000;
        let now = 100 * day;
        assert!(is_active(now - day, None, now));
        assert!(!is_active(now - 31 * day, None, now));
        assert!(is_active(now - 60 * day, Some(now - 2 * day), now));
        assert!(!is_active(now - 60 * day, Some(now - 40 * day), now));
    }
}
