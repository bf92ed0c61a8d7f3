//! Repositories through the Hub API: listing, creation, the repository view with the
//! caller's permissions, descriptions, visibility, deletion, and immutable tags (the rules,
//! their verification against existing tags, and the check every tag-changing path runs).

use super::audit::{self, Actor, Event};
use super::error::{Error, RegistryCode, Result};
use super::policy::{
    authorize_repo, repo_listing, tag_change_allowed, NamespaceOwner, Principal, RepoAction, RepoListing,
    RepoPermission, RepoStanding, Role, TagImmutability,
};
use super::registry::RepoName;
use crate::app::App;
use crate::store::{
    now_micros, NamespaceKind, NewRepository, RepoContent, RepoFilter, RepoOrdering, RepoVisibility,
    RepositoryRow, Tx,
};

/// What a caller may do with a repository, as the Hub API's `permissions` object shows.
#[derive(Debug, Clone, Copy)]
pub struct RepoPermissions {
    pub read: bool,
    pub write: bool,
    pub admin: bool,
}

/// The `permissions` object: pull, push, and changing the repository's settings.
fn permissions_of(principal: Option<&Principal>, standing: &RepoStanding) -> RepoPermissions {
    RepoPermissions {
        read: authorize_repo(principal, standing, RepoAction::Pull),
        write: authorize_repo(principal, standing, RepoAction::Push),
        admin: authorize_repo(principal, standing, RepoAction::Edit),
    }
}

/// A repository found by Hub API path, with what the caller is to it.
pub struct HubRepository {
    pub repo: RepositoryRow,
    pub standing: RepoStanding,
}

/// A repository as the Hub API shows it to one caller.
pub struct RepoView {
    pub repo: RepositoryRow,
    pub permissions: RepoPermissions,
    pub content: RepoContent,
}

/// A listing's filter, order and page.
pub struct RepoListQuery<'a> {
    pub name: Option<&'a str>,
    pub ordering: RepoOrdering,
    pub offset: i64,
    pub limit: i64,
}

/// Parses the `ordering` parameter of a repository listing (default: by name).
pub fn parse_ordering(ordering: Option<&str>) -> Result<RepoOrdering> {
    Ok(match ordering.unwrap_or("name") {
        "name" => RepoOrdering::Name,
        "-name" => RepoOrdering::NameDesc,
        "last_updated" => RepoOrdering::LastUpdated,
        "-last_updated" => RepoOrdering::LastUpdatedDesc,
        "pull_count" => RepoOrdering::PullCount,
        "-pull_count" => RepoOrdering::PullCountDesc,
        _ => {
            return Err(Error::invalid_field(
                "ordering",
                "Invalid ordering value. Must be one of: name, -name, last_updated, -last_updated, pull_count, -pull_count",
            ))
        }
    })
}

/// `POST /v2/namespaces/{ns}/repositories`.
pub struct NewRepositoryRequest<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub description: Option<&'a str>,
    pub full_description: Option<&'a str>,
    pub is_private: bool,
}

/// `PATCH /v2/repositories/{ns}/{repo}/`; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct RepositoryUpdate {
    pub description: Option<String>,
    pub full_description: Option<String>,
    pub immutable_tags: Option<bool>,
    pub immutable_tags_rules: Option<Vec<String>>,
}

/// Hub API repository names: 2 to 255 characters, lowercase letters and digits separated
/// by single `.`, `_` or `-` (the spec's pattern).
pub fn validate_repository_name(name: &str) -> Result<()> {
    let separated = name
        .split(['.', '_', '-'])
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if !(2..=255).contains(&name.len()) || !separated {
        return Err(Error::invalid_field(
            "name",
            "must be 2 to 255 characters: lowercase letters and digits, separated by single '.', '_' or '-'",
        ));
    }
    Ok(())
}

fn validate_descriptions(description: Option<&str>, full_description: Option<&str>) -> Result<()> {
    if description.is_some_and(|d| d.chars().count() > 100) {
        return Err(Error::invalid_field(
            "description",
            "must be at most 100 characters",
        ));
    }
    if full_description.is_some_and(|d| d.chars().count() > 25_000) {
        return Err(Error::invalid_field(
            "full_description",
            "must be at most 25000 characters",
        ));
    }
    Ok(())
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

    /// A repository by Hub API path, for `action`. A caller who may neither do that nor
    /// read the repository learns nothing about it (404, as for one that does not exist);
    /// one who may read it but not `action` it gets 403 (401 when anonymous).
    pub async fn hub_repository(
        &self,
        principal: Option<&Principal>,
        namespace: &str,
        repository: &str,
        action: RepoAction,
    ) -> Result<HubRepository> {
        let not_found = || Error::not_found(format!("repository {namespace}/{repository} not found"));
        let name = RepoName {
            namespace: namespace.to_string(),
            name: repository.to_string(),
        };
        let target = self.repo_target(principal, &name).await.map_err(hub_error)?;
        let Some(repo) = target.repo else {
            return Err(not_found());
        };
        let standing = target.standing;
        if authorize_repo(principal, &standing, action) {
            return Ok(HubRepository { repo, standing });
        }
        if !authorize_repo(principal, &standing, RepoAction::ReadInfo) {
            return Err(not_found());
        }
        Err(match principal {
            None => Error::unauthorized("authentication required"),
            Some(_) => Error::forbidden(format!(
                "you may not {} the repository {namespace}/{repository}",
                action.as_str()
            )),
        })
    }

    /// A repository the caller may administer, by Hub API path.
    async fn administered(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
    ) -> Result<RepositoryRow> {
        Ok(self
            .hub_repository(Some(principal), namespace, repository, RepoAction::Admin)
            .await?
            .repo)
    }

    /// The repository's Hub API view for the caller.
    pub async fn repository_view(
        &self,
        principal: Option<&Principal>,
        found: HubRepository,
    ) -> Result<RepoView> {
        let content = self.store.repository_content(&found.repo.id).await?;
        Ok(RepoView {
            permissions: permissions_of(principal, &found.standing),
            repo: found.repo,
            content,
        })
    }

    /// The repository's view after the caller changed it with `action`: they may lack the
    /// right to read it (an OAT scoped to settings only), which must not turn a committed
    /// change into a 404.
    pub async fn repository_after(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        action: RepoAction,
    ) -> Result<RepoView> {
        let found = self
            .hub_repository(Some(principal), namespace, repository, action)
            .await?;
        self.repository_view(Some(principal), found).await
    }

    /// `GET /v2/namespaces/{ns}/repositories/{repo}`.
    pub async fn get_repository(
        &self,
        principal: Option<&Principal>,
        namespace: &str,
        repository: &str,
    ) -> Result<RepoView> {
        self.flush_pulls_before_read().await;
        let found = self
            .hub_repository(principal, namespace, repository, RepoAction::ReadInfo)
            .await?;
        self.repository_view(principal, found).await
    }

    /// `GET /v2/namespaces/{ns}/repositories`: the repositories of a namespace the caller
    /// may see (the policy's [`repo_listing`]), a page of them and how many in all.
    pub async fn list_repositories(
        &self,
        principal: Option<&Principal>,
        namespace: &str,
        query: &RepoListQuery<'_>,
    ) -> Result<(Vec<RepoView>, i64)> {
        self.flush_pulls_before_read().await;
        let owner = self.namespace_owner(principal, namespace).await?;
        let listing = repo_listing(principal, &owner);
        let visibility = match &listing {
            RepoListing::All => RepoVisibility::All,
            RepoListing::Public => RepoVisibility::Public,
            RepoListing::PublicAndTeams { user_id } => RepoVisibility::PublicAndTeams(user_id),
        };
        let filter = RepoFilter {
            namespace,
            name: query.name.filter(|n| !n.is_empty()),
            visibility,
        };
        let (rows, total) = self
            .store
            .list_repositories(&filter, query.ordering, query.offset, query.limit)
            .await?;
        let member = match (&owner, principal.and_then(Principal::user_id)) {
            (
                NamespaceOwner::Org {
                    role: Some(Role::Member),
                    ..
                },
                Some(user_id),
            ) => Some(user_id),
            _ => None,
        };
        let ids: Vec<&str> = rows.iter().map(|repo| repo.id.as_str()).collect();
        let mut contents = self.store.repository_contents(&ids).await?;
        let mut views = Vec::with_capacity(rows.len());
        for repo in rows {
            let mut owner = owner.clone();
            // Only a member's standing differs from repository to repository.
            if let (Some(user_id), NamespaceOwner::Org { team, .. }) = (member, &mut owner) {
                *team = self
                    .store
                    .team_repo_permissions_of(&repo.id, user_id)
                    .await?
                    .iter()
                    .filter_map(|p| RepoPermission::parse(p))
                    .max();
            }
            let standing = RepoStanding {
                path: format!("{namespace}/{}", repo.name),
                owner,
                is_private: Some(repo.is_private),
            };
            let content = contents.remove(&repo.id).unwrap_or_default();
            views.push(RepoView {
                permissions: permissions_of(principal, &standing),
                repo,
                content,
            });
        }
        Ok((views, total))
    }

    /// Who owns `namespace`, as the policy sees the caller there; 404 for no namespace.
    async fn namespace_owner(
        &self,
        principal: Option<&Principal>,
        namespace: &str,
    ) -> Result<NamespaceOwner> {
        let not_found = || Error::not_found(format!("namespace {namespace} not found"));
        match self
            .store
            .namespace_kind(namespace)
            .await?
            .ok_or_else(not_found)?
        {
            NamespaceKind::User => {
                let user = self.store.user_by_name(namespace).await?.ok_or_else(not_found)?;
                Ok(NamespaceOwner::User { user_id: user.id })
            }
            NamespaceKind::Org => {
                let org = self.store.org_by_name(namespace).await?.ok_or_else(not_found)?;
                let role = match principal.and_then(Principal::user_id) {
                    Some(user_id) => self
                        .store
                        .member(&org.id, user_id)
                        .await?
                        .and_then(|m| Role::parse(&m.role)),
                    None => None,
                };
                Ok(NamespaceOwner::Org {
                    org_id: org.id,
                    role,
                    team: None,
                })
            }
        }
    }

    /// `POST /v2/namespaces/{ns}/repositories`: creates an empty repository.
    pub async fn create_repository(
        &self,
        principal: &Principal,
        namespace: &str,
        new: &NewRepositoryRequest<'_>,
    ) -> Result<RepoView> {
        validate_repository_name(new.name)?;
        if new.namespace != namespace {
            return Err(Error::invalid_field(
                "namespace",
                format!("must be the namespace of the path, {namespace}"),
            ));
        }
        validate_descriptions(new.description, new.full_description)?;
        let name = RepoName {
            namespace: namespace.to_string(),
            name: new.name.to_string(),
        };
        let target = self
            .repo_target(Some(principal), &name)
            .await
            .map_err(|e| match e {
                Error::Registry { .. } => Error::not_found(format!("namespace {namespace} not found")),
                other => other,
            })?;
        if !authorize_repo(Some(principal), &target.standing, RepoAction::Create) {
            return Err(Error::forbidden(format!(
                "you may not create repositories in {namespace}"
            )));
        }
        let exists = || {
            Error::invalid_field(
                "name",
                format!("the repository {namespace}/{} already exists", new.name),
            )
        };
        if target.repo.is_some() {
            return Err(exists());
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        let inserted = self
            .store
            .insert_repository(
                &mut tx,
                &NewRepository {
                    id: &id,
                    namespace,
                    name: new.name,
                    is_private: new.is_private,
                    created_by: &principal.account_name,
                    now,
                },
            )
            .await;
        match inserted {
            Err(crate::store::StoreError::Conflict(_)) => return Err(exists()),
            other => other?,
        }
        if new.description.is_some() || new.full_description.is_some() {
            self.store
                .update_repository(&mut tx, &id, new.description, new.full_description, now)
                .await?;
        }
        let event = Event::new(audit::REPO_CREATE, namespace, &name.path())
            .with("is_private", new.is_private.to_string());
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        self.repository_after(principal, namespace, new.name, RepoAction::Create)
            .await
    }

    /// `PATCH /v2/repositories/{ns}/{repo}/`: descriptions (needs `Edit`) and immutable
    /// tags (needs `Admin`); each kind of change records its own event.
    pub async fn update_repository(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        update: &RepositoryUpdate,
    ) -> Result<RepoView> {
        validate_descriptions(update.description.as_deref(), update.full_description.as_deref())?;
        let edits_descriptions = update.description.is_some() || update.full_description.is_some();
        let edits_immutability = update.immutable_tags.is_some() || update.immutable_tags_rules.is_some();
        // Both permissions are checked before anything changes.
        let found = self
            .hub_repository(Some(principal), namespace, repository, RepoAction::Edit)
            .await?;
        if edits_immutability {
            self.hub_repository(Some(principal), namespace, repository, RepoAction::Admin)
                .await?;
            let enabled = update.immutable_tags.unwrap_or(found.repo.immutable_tags);
            let rules = update
                .immutable_tags_rules
                .clone()
                .unwrap_or_else(|| stored_rules(&found.repo));
            self.update_immutable_tags(principal, namespace, repository, enabled, &rules)
                .await?;
        }
        if edits_descriptions {
            let mut tx = self.store.begin().await?;
            self.store
                .update_repository(
                    &mut tx,
                    &found.repo.id,
                    update.description.as_deref(),
                    update.full_description.as_deref(),
                    now_micros(),
                )
                .await?;
            let mut event = Event::new(
                audit::REPO_UPDATE,
                namespace,
                &format!("{namespace}/{repository}"),
            );
            if let Some(description) = &update.description {
                event = event.with("description", description.as_str());
            }
            if update.full_description.is_some() {
                event = event.with("full_description", "updated");
            }
            self.commit_audited(tx, &Actor::of(principal), event).await?;
        }
        let action = if edits_immutability {
            RepoAction::Admin
        } else {
            RepoAction::Edit
        };
        self.repository_after(principal, namespace, repository, action)
            .await
    }

    /// `POST /v2/repositories/{ns}/{repo}/privacy`.
    pub async fn set_repository_privacy(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        is_private: bool,
    ) -> Result<RepoView> {
        let found = self
            .hub_repository(Some(principal), namespace, repository, RepoAction::Edit)
            .await?;
        if found.repo.is_private != is_private {
            let mut tx = self.store.begin().await?;
            self.store
                .set_repository_privacy(&mut tx, &found.repo.id, is_private, now_micros())
                .await?;
            let event = Event::new(
                audit::REPO_CHANGE_PRIVACY,
                namespace,
                &format!("{namespace}/{repository}"),
            )
            .with("is_private", is_private.to_string());
            self.commit_audited(tx, &Actor::of(principal), event).await?;
        }
        self.repository_after(principal, namespace, repository, RepoAction::Edit)
            .await
    }

    /// `DELETE /v2/repositories/{ns}/{repo}/`: the repository, its tags and manifests. Its
    /// blobs stay for the garbage collector (other repositories may share them).
    pub async fn delete_repository(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
    ) -> Result<()> {
        let found = self
            .hub_repository(
                Some(principal),
                namespace,
                repository,
                RepoAction::DeleteRepository,
            )
            .await?;
        let mut tx = self.store.begin().await?;
        if !self.store.delete_repository(&mut tx, &found.repo.id).await? {
            return Err(Error::not_found(format!(
                "repository {namespace}/{repository} not found"
            )));
        }
        let event = Event::new(
            audit::REPO_DELETE,
            namespace,
            &format!("{namespace}/{repository}"),
        );
        self.commit_audited(tx, &Actor::of(principal), event).await
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
