//! Repository settings through the Hub API: immutable tags (the rules, their verification
//! against existing tags) and the tag-immutability check every tag-changing path runs.

use super::audit::{self, Actor, Event};
use super::error::{Error, RegistryCode, Result};
use super::policy::{tag_change_allowed, Principal, RepoAction, TagImmutability};
use super::registry::RepoName;
use crate::app::App;
use crate::store::{RepositoryRow, Tx};

/// What a caller may do with a repository, as the Hub API's `permissions` object shows.
#[derive(Debug, Clone, Copy)]
pub struct RepoPermissions {
    pub read: bool,
    pub write: bool,
    pub admin: bool,
}

/// Compiles immutable-tag rules: RE2 syntax (the `regex` crate's), matching whole tag
/// names, no commas (the spec's `^[^,]*$`).
pub fn compile_rules(field: &str, rules: &[String]) -> Result<Vec<regex::Regex>> {
    rules
        .iter()
        .map(|rule| {
            if rule.is_empty() || rule.contains(',') || rule.len() > 256 {
                return Err(Error::bad_request(format!(
                    "{field}: {rule:?} must be 1 to 256 characters without commas"
                )));
            }
            regex::Regex::new(&format!("^(?:{rule})$"))
                .map_err(|e| Error::bad_request(format!("{field}: {rule:?} is not a valid regex: {e}")))
        })
        .collect()
}

/// The stored rules of a repository.
pub fn stored_rules(repo: &RepositoryRow) -> Vec<String> {
    serde_json::from_str(&repo.immutable_tags_rules).unwrap_or_default()
}

fn immutability_of(repo: &RepositoryRow) -> TagImmutability {
    TagImmutability {
        enabled: repo.immutable_tags,
        // Stored rules were valid when written; one that no longer compiles protects
        // nothing rather than failing every push.
        rules: stored_rules(repo)
            .iter()
            .filter_map(|rule| regex::Regex::new(&format!("^(?:{rule})$")).ok())
            .collect(),
    }
}

impl App {
    /// Refuses (`DENIED`) to move tag `tag` of `repo` to `new` (or delete it, `None`)
    /// when the tag is immutable, reading the tag's current digest inside `tx`.
    pub async fn check_tag_change(
        &self,
        tx: &mut Tx,
        repo: &RepositoryRow,
        tag: &str,
        new: Option<&str>,
    ) -> Result<()> {
        let current = self.store.tag_digest(tx, &repo.id, tag).await?;
        if tag_change_allowed(&immutability_of(repo), tag, current.as_deref(), new) {
            Ok(())
        } else {
            Err(Error::registry(
                RegistryCode::Denied,
                format!("tag {tag} is immutable in {}/{}", repo.namespace, repo.name),
            ))
        }
    }

    /// A repository the caller may administer, by Hub API path.
    async fn administered(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
    ) -> Result<RepositoryRow> {
        let name = RepoName {
            namespace: namespace.to_string(),
            name: repository.to_string(),
        };
        let target = self
            .registry_access(Some(principal), &name, RepoAction::Admin)
            .await
            .map_err(hub_error)?;
        target
            .repo
            .ok_or_else(|| Error::not_found(format!("repository {namespace}/{repository} not found")))
    }

    /// What the caller may do with a repository.
    pub async fn repo_permissions(
        &self,
        principal: &Principal,
        repo: &RepositoryRow,
    ) -> Result<RepoPermissions> {
        let name = RepoName {
            namespace: repo.namespace.clone(),
            name: repo.name.clone(),
        };
        let mut allowed = [false; 3];
        for (slot, action) in [RepoAction::Pull, RepoAction::Push, RepoAction::Admin]
            .into_iter()
            .enumerate()
        {
            allowed[slot] = self.registry_access(Some(principal), &name, action).await.is_ok();
        }
        Ok(RepoPermissions {
            read: allowed[0],
            write: allowed[1],
            admin: allowed[2],
        })
    }

    /// `PATCH …/immutabletags`: turns immutable tags on or off and sets the rules.
    pub async fn update_immutable_tags(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        enabled: bool,
        rules: &[String],
    ) -> Result<RepositoryRow> {
        let repo = self.administered(principal, namespace, repository).await?;
        compile_rules("immutable_tags_rules", rules)?;
        if enabled && rules.is_empty() {
            return Err(Error::bad_request(
                "immutable_tags_rules: give at least one rule to enable immutable tags",
            ));
        }
        let rules_json = serde_json::to_string(rules).map_err(Error::internal)?;
        let mut tx = self.store.begin().await?;
        self.store
            .set_immutable_tags(&mut tx, &repo.id, enabled, &rules_json)
            .await?;
        let event = Event::new(
            audit::REPO_IMMUTABLE_TAGS_UPDATED,
            namespace,
            &format!("{namespace}/{repository}"),
        )
        .with("immutable_tags", enabled.to_string())
        .with("immutable_tags_rules", rules.join(","));
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        self.administered(principal, namespace, repository).await
    }

    /// `POST …/immutabletags/verify`: the existing tags a rule would cover.
    pub async fn verify_immutable_tags(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        regex: &str,
    ) -> Result<Vec<String>> {
        let repo = self.administered(principal, namespace, repository).await?;
        let rule = compile_rules("regex", &[regex.to_string()])?
            .pop()
            .ok_or_else(|| Error::bad_request("regex: required"))?;
        let tags = self.store.tag_names(&repo.id, None, i64::MAX).await?;
        Ok(tags.into_iter().filter(|tag| rule.is_match(tag)).collect())
    }
}

/// Registry errors met on a Hub route, in Hub terms.
fn hub_error(error: Error) -> Error {
    match error {
        Error::Registry { code, message } => match code {
            RegistryCode::NameUnknown | RegistryCode::NameInvalid => Error::not_found(message),
            RegistryCode::Unauthorized => Error::unauthorized(message),
            _ => Error::forbidden(message),
        },
        other => other,
    }
}
