//! Team access to an organization's repositories (the API calls teams "groups"): which
//! teams may read, write or administer a repository. What a grant means for a member is
//! decided by the policy module; this is only its management.

use super::audit::{self, Actor, AuditAction, Event};
use super::error::{Error, Result};
use super::policy::{NamespaceOwner, Principal, RepoAction, RepoPermission};
use super::repositories::HubRepository;
use crate::app::App;
use crate::store::{now_micros, RepoTeamRow};

fn parse_permission(permission: &str) -> Result<RepoPermission> {
    RepoPermission::parse(permission)
        .ok_or_else(|| Error::invalid_field("permission", "must be one of read, write, admin"))
}

impl App {
    /// An organization's repository the caller may manage team access of (`action`).
    async fn team_managed(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        action: RepoAction,
    ) -> Result<(HubRepository, String)> {
        let found = self
            .hub_repository(Some(principal), namespace, repository, action)
            .await?;
        match &found.standing.owner {
            NamespaceOwner::Org { org_id, .. } => {
                let org_id = org_id.clone();
                Ok((found, org_id))
            }
            NamespaceOwner::User { .. } => Err(Error::bad_request(format!(
                "{namespace}/{repository} belongs to a user: only an organization's repositories have team access"
            ))),
        }
    }

    /// The teams with access to a repository.
    pub async fn repository_groups(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
    ) -> Result<Vec<RepoTeamRow>> {
        let (found, _) = self
            .team_managed(principal, namespace, repository, RepoAction::ReadGroups)
            .await?;
        Ok(self.store.repository_teams(&found.repo.id).await?)
    }

    /// One team's access to a repository.
    pub async fn repository_group(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        group_id: i64,
    ) -> Result<RepoTeamRow> {
        let (found, _) = self
            .team_managed(principal, namespace, repository, RepoAction::ReadGroups)
            .await?;
        self.store
            .repository_team(&found.repo.id, group_id)
            .await?
            .ok_or_else(|| group_not_found(group_id))
    }

    /// `POST …/groups` (grant; changes the permission of a team that has one) and
    /// `PATCH …/groups/{id}` (change; the team must have access already).
    pub async fn set_repository_group(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        group_id: i64,
        permission: &str,
        must_exist: bool,
    ) -> Result<RepoTeamRow> {
        let permission = parse_permission(permission)?;
        let (found, org_id) = self
            .team_managed(principal, namespace, repository, RepoAction::EditGroups)
            .await?;
        let team = self
            .store
            .team_by_id(group_id)
            .await?
            .filter(|team| team.org_id == org_id)
            .ok_or_else(|| group_not_found(group_id))?;
        let current = self.store.repository_team(&found.repo.id, group_id).await?;
        if must_exist && current.is_none() {
            return Err(group_not_found(group_id));
        }
        let action: AuditAction = match &current {
            None => audit::REPO_GROUP_ADD,
            Some(_) => audit::REPO_GROUP_UPDATE,
        };
        if current
            .as_ref()
            .is_none_or(|c| c.permission != permission.as_str())
        {
            let mut tx = self.store.begin().await?;
            self.store
                .set_repository_team(
                    &mut tx,
                    &found.repo.id,
                    group_id,
                    permission.as_str(),
                    now_micros(),
                )
                .await?;
            let event = Event::new(action, namespace, &format!("{namespace}/{repository}"))
                .with("team", team.name.as_str())
                .with("permission", permission.as_str());
            self.commit_audited(tx, &Actor::of(principal), event).await?;
        }
        Ok(RepoTeamRow {
            team_id: group_id,
            team_name: team.name,
            permission: permission.as_str().to_string(),
        })
    }

    /// `DELETE …/groups/{id}`: revokes a team's access.
    pub async fn remove_repository_group(
        &self,
        principal: &Principal,
        namespace: &str,
        repository: &str,
        group_id: i64,
    ) -> Result<()> {
        let (found, _) = self
            .team_managed(principal, namespace, repository, RepoAction::EditGroups)
            .await?;
        let current = self
            .store
            .repository_team(&found.repo.id, group_id)
            .await?
            .ok_or_else(|| group_not_found(group_id))?;
        let mut tx = self.store.begin().await?;
        self.store
            .remove_repository_team(&mut tx, &found.repo.id, group_id)
            .await?;
        let event = Event::new(
            audit::REPO_GROUP_REMOVE,
            namespace,
            &format!("{namespace}/{repository}"),
        )
        .with("team", current.team_name.as_str())
        .with("permission", current.permission.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }
}

fn group_not_found(group_id: i64) -> Error {
    Error::not_found(format!("group {group_id} not found"))
}
