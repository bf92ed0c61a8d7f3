//! Teams (the API calls them groups): created and managed by organization owners; every
//! member may read them.

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::orgs::OrgContext;
use super::policy::{OrgAction, Principal, Role};
use crate::app::App;
use crate::store::{now_micros, TeamFilter, TeamMemberRow, TeamRow, TeamUpdate};

/// Team names: 1 to 50 characters, letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit.
pub fn validate_team_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !first_ok || !rest_ok || name.len() > 50 {
        return Err(Error::bad_request(
            "name: must be 1 to 50 characters: letters, digits, '-', '_' and '.', starting with a letter or digit",
        ));
    }
    Ok(())
}

fn validate_description(description: &str) -> Result<()> {
    if description.chars().count() > 500 {
        return Err(Error::bad_request("description: must be at most 500 characters"));
    }
    Ok(())
}

/// The role a team may grant. Owner is granted to members directly only, so that the last
/// owner is always a question about direct roles.
fn team_role(requested: &str) -> Result<Role> {
    match Role::from_request("role", requested)? {
        Role::Owner => Err(Error::bad_request(
            "role: a team can grant editor or member; owner is granted to members directly",
        )),
        role => Ok(role),
    }
}

/// A change to a team (PUT sets name and description, PATCH any of the three).
#[derive(Debug, Default)]
pub struct TeamChange<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub role: Option<&'a str>,
}

/// A page of team members; `emails_visible` says whether the caller may see emails.
pub struct TeamMemberPage {
    pub rows: Vec<TeamMemberRow>,
    pub total: i64,
    pub emails_visible: bool,
}

impl App {
    async fn team_in(&self, ctx: &OrgContext, name: &str) -> Result<TeamRow> {
        self.store
            .team_by_name(&ctx.org.id, name)
            .await?
            .ok_or_else(|| Error::not_found(format!("team {name:?} not found in {}", ctx.org.name)))
    }

    pub async fn list_teams(
        &self,
        principal: &Principal,
        org_name: &str,
        username: Option<&str>,
        search: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<TeamRow>, i64)> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ReadTeams)
            .await?;
        let member_id = match username {
            Some(name) => match self.store.user_by_name(name).await? {
                Some(user) => Some(user.id),
                // An unknown user is in no team.
                None => return Ok((Vec::new(), 0)),
            },
            None => None,
        };
        let filter = TeamFilter {
            member_id: member_id.as_deref(),
            search,
        };
        Ok(self.store.list_teams(&ctx.org.id, &filter, offset, limit).await?)
    }

    pub async fn get_team(&self, principal: &Principal, org_name: &str, team: &str) -> Result<TeamRow> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ReadTeams)
            .await?;
        self.team_in(&ctx, team).await
    }

    pub async fn create_team(
        &self,
        principal: &Principal,
        org_name: &str,
        name: &str,
        description: &str,
    ) -> Result<TeamRow> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::EditTeams)
            .await?;
        validate_team_name(name)?;
        validate_description(description)?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut tx = self.store.begin().await?;
        self.store
            .insert_team(&mut tx, &uuid, &ctx.org.id, name, description, now_micros())
            .await
            .map_err(duplicate_is_bad_request)?;
        let event = Event::new(audit::ORG_TEAM_CREATE, &ctx.org.name, name).with("team", name);
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        self.team_in(&ctx, name).await
    }

    pub async fn update_team(
        &self,
        principal: &Principal,
        org_name: &str,
        team: &str,
        change: &TeamChange<'_>,
    ) -> Result<TeamRow> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::EditTeams)
            .await?;
        let current = self.team_in(&ctx, team).await?;
        if let Some(name) = change.name {
            validate_team_name(name)?;
        }
        if let Some(description) = change.description {
            validate_description(description)?;
        }
        let role = change.role.map(team_role).transpose()?;
        let update = TeamUpdate {
            name: change.name,
            description: change.description,
            role: role.map(|r| Some(r.as_str())),
        };
        let mut tx = self.store.begin().await?;
        self.store
            .update_team(&mut tx, current.id, &update)
            .await
            .map_err(duplicate_is_bad_request)?;
        let new_name = change.name.unwrap_or(&current.name);
        let mut event = Event::new(audit::ORG_TEAM_UPDATE, &ctx.org.name, new_name).with("team", new_name);
        if new_name != current.name {
            event = event.with("old_name", current.name.as_str());
        }
        if let Some(role) = role {
            event = event.with("role", role.as_str());
        }
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        self.team_in(&ctx, new_name).await
    }

    pub async fn delete_team(&self, principal: &Principal, org_name: &str, team: &str) -> Result<()> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::EditTeams)
            .await?;
        let current = self.team_in(&ctx, team).await?;
        let mut tx = self.store.begin().await?;
        self.store.delete_team(&mut tx, current.id).await?;
        let event = Event::new(audit::ORG_TEAM_DELETE, &ctx.org.name, &current.name)
            .with("team", current.name.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }

    pub async fn list_team_members(
        &self,
        principal: &Principal,
        org_name: &str,
        team: &str,
        search: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<TeamMemberPage> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ReadTeams)
            .await?;
        let team = self.team_in(&ctx, team).await?;
        let emails_visible = emails_visible(principal, &ctx);
        let (rows, total) = self
            .store
            .list_team_members(team.id, search, emails_visible, offset, limit)
            .await?;
        Ok(TeamMemberPage {
            rows,
            total,
            emails_visible,
        })
    }

    /// Adds an organization member to a team; adding someone already in it changes
    /// nothing. A user outside the organization must be invited first (404 here).
    pub async fn add_team_member(
        &self,
        principal: &Principal,
        org_name: &str,
        team: &str,
        username: &str,
    ) -> Result<()> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::EditTeams)
            .await?;
        let team = self.team_in(&ctx, team).await?;
        let (member, _) = self.org_member(&ctx.org.id, username).await?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .add_team_member(&mut tx, team.id, &member.user_id, now_micros())
            .await?
        {
            return Ok(());
        }
        let event = Event::new(audit::ORG_TEAM_MEMBER_ADD, &ctx.org.name, &member.username)
            .with("team", team.name.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }

    pub async fn remove_team_member(
        &self,
        principal: &Principal,
        org_name: &str,
        team: &str,
        username: &str,
    ) -> Result<()> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::EditTeams)
            .await?;
        let team = self.team_in(&ctx, team).await?;
        let not_in_team = || Error::not_found(format!("{username:?} is not a member of team {}", team.name));
        let user = self.store.user_by_name(username).await?.ok_or_else(not_in_team)?;
        let mut tx = self.store.begin().await?;
        if !self.store.remove_team_member(&mut tx, team.id, &user.id).await? {
            return Err(not_in_team());
        }
        let event = Event::new(audit::ORG_TEAM_MEMBER_REMOVE, &ctx.org.name, &user.username)
            .with("team", team.name.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }
}

/// Owners, and the organization itself (an OAT), see members' email addresses; other
/// members do not.
pub fn emails_visible(principal: &Principal, ctx: &OrgContext) -> bool {
    principal.user_id().is_none() || ctx.standing.role == Some(Role::Owner)
}

/// The spec answers a duplicate team name with 400, not 409.
fn duplicate_is_bad_request(err: crate::store::StoreError) -> Error {
    match err {
        crate::store::StoreError::Conflict(what) => Error::bad_request(format!("name: {what}")),
        other => other.into(),
    }
}
