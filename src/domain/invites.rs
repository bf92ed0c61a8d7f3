//! Invites: owners invite by Docker ID or email address; the invitee accepts or declines.
//!
//! Wharf sends no email: an invite is visible to its invitee through the API
//! (`GET /v2/user/invites`), by account for a Docker ID, and by the account's email
//! address for an email invite, so an address that gets an account later still finds it.
//! Account email addresses are set by the administrator, so they count as verified.

use super::accounts::normalize_email;
use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::orgs::OrgContext;
use super::policy::{authorize, Action, OrgAction, Principal, Role};
use crate::app::App;
use crate::store::{now_micros, InviteRow, NewInvite, TeamRow, UserRow};

/// The most invitees one bulk request may name.
pub const MAX_BULK_INVITEES: usize = 100;

/// What happened to one invitee of a bulk request.
pub struct InviteOutcome {
    pub invitee: String,
    pub status: InviteStatus,
    pub invite: Option<InviteRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteStatus {
    /// Invited now (or, in a dry run, would be).
    Invited,
    ExistingOrgMember,
    /// A pending invite for this invitee exists already; it is returned.
    AlreadyInvited,
    InvalidEmailOrDockerId,
}

impl InviteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Invited => "invited",
            InviteStatus::ExistingOrgMember => "existing_org_member",
            InviteStatus::AlreadyInvited => "already_invited",
            InviteStatus::InvalidEmailOrDockerId => "invalid_email_or_docker_id",
        }
    }
}

/// A bulk invite request.
pub struct BulkInvite<'a> {
    pub org: &'a str,
    pub team: Option<&'a str>,
    pub role: Option<&'a str>,
    pub invitees: &'a [String],
    pub dry_run: bool,
}

/// Who an invitee string names.
struct Target {
    /// How the invite names them: the account's username for a Docker ID, the normalised
    /// address for an email.
    canonical: String,
    /// The account, if one exists (by Docker ID, or by email address).
    user: Option<UserRow>,
    /// The normalised address, when the invitee was given as an email address.
    email: Option<String>,
}

impl App {
    pub async fn bulk_invite(
        &self,
        principal: &Principal,
        request: &BulkInvite<'_>,
    ) -> Result<Vec<InviteOutcome>> {
        let ctx = self
            .org_for(Some(principal), request.org, OrgAction::EditInvites)
            .await?;
        if request.invitees.is_empty() {
            return Err(Error::bad_request(
                "invitees: name at least one Docker ID or email address",
            ));
        }
        if request.invitees.len() > MAX_BULK_INVITEES {
            return Err(Error::bad_request(format!(
                "invitees: at most {MAX_BULK_INVITEES} per request"
            )));
        }
        let role = match request.role {
            Some(role) => Role::from_request("role", role)?,
            None => Role::Member,
        };
        let team =
            match request.team.filter(|t| !t.is_empty()) {
                Some(name) => Some(self.store.team_by_name(&ctx.org.id, name).await?.ok_or_else(|| {
                    Error::not_found(format!("team {name:?} not found in {}", ctx.org.name))
                })?),
                None => None,
            };
        let mut outcomes = Vec::with_capacity(request.invitees.len());
        for invitee in request.invitees {
            let outcome = self
                .invite_one(principal, &ctx, invitee, role, team.as_ref(), request.dry_run)
                .await?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn invite_one(
        &self,
        principal: &Principal,
        ctx: &OrgContext,
        invitee: &str,
        role: Role,
        team: Option<&TeamRow>,
        dry_run: bool,
    ) -> Result<InviteOutcome> {
        let invitee = invitee.trim();
        let outcome = |status, invite| InviteOutcome {
            invitee: invitee.to_string(),
            status,
            invite,
        };
        let Some(target) = self.resolve_invitee(invitee).await? else {
            return Ok(outcome(InviteStatus::InvalidEmailOrDockerId, None));
        };
        let user_id = target.user.as_ref().map(|u| u.id.as_str());
        if let Some(user_id) = user_id {
            if self.store.member(&ctx.org.id, user_id).await?.is_some() {
                return Ok(outcome(InviteStatus::ExistingOrgMember, None));
            }
        }
        // An account is also reached by an invite to its email address made before the
        // account existed (as the invitee sees it, in `my_invites`).
        let address = target
            .user
            .as_ref()
            .map(|u| u.email.as_str())
            .or(target.email.as_deref());
        let pending = self.store.pending_invites_of_org(&ctx.org.id).await?;
        let existing = pending.into_iter().find(|i| {
            (user_id.is_some() && i.invitee_user_id.as_deref() == user_id)
                || (address.is_some() && i.invitee_email.as_deref() == address)
        });
        if let Some(existing) = existing {
            return Ok(outcome(InviteStatus::AlreadyInvited, Some(existing)));
        }
        if dry_run {
            return Ok(outcome(InviteStatus::Invited, None));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let new_invite = NewInvite {
            id: &id,
            org_id: &ctx.org.id,
            inviter_id: &principal.account_id,
            inviter_name: &principal.account_name,
            invitee: &target.canonical,
            invitee_user_id: user_id,
            invitee_email: target.email.as_deref(),
            role: role.as_str(),
            team_id: team.map(|t| t.id),
            now: now_micros(),
        };
        let mut tx = self.store.begin().await?;
        self.store.insert_invite(&mut tx, new_invite).await?;
        let mut event = Event::new(audit::ORG_MEMBER_INVITE_SEND, &ctx.org.name, &target.canonical)
            .with("invite_id", &id)
            .with("role", role.as_str());
        if let Some(team) = team {
            event = event.with("team", team.name.as_str());
        }
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        let invite = self.store.invite(&id).await?;
        Ok(outcome(InviteStatus::Invited, invite))
    }

    /// A Docker ID of an existing account, or an email address (of an account or not).
    async fn resolve_invitee(&self, invitee: &str) -> Result<Option<Target>> {
        if invitee.contains('@') {
            let Ok(email) = normalize_email(invitee) else {
                return Ok(None);
            };
            return Ok(Some(Target {
                canonical: email.clone(),
                user: self.store.user_by_email(&email).await?,
                email: Some(email),
            }));
        }
        let name = invitee.to_ascii_lowercase();
        Ok(self.store.user_by_name(&name).await?.map(|user| Target {
            canonical: user.username.clone(),
            user: Some(user),
            email: None,
        }))
    }

    pub async fn org_invites(&self, principal: &Principal, org_name: &str) -> Result<Vec<InviteRow>> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ReadInvites)
            .await?;
        Ok(self.store.pending_invites_of_org(&ctx.org.id).await?)
    }

    /// A pending invite, for an owner of its organization to manage.
    async fn managed_invite(&self, principal: &Principal, id: &str) -> Result<(OrgContext, InviteRow)> {
        let invite = self
            .store
            .invite(id)
            .await?
            .filter(|i| i.status == "pending")
            .ok_or_else(invite_not_found)?;
        let ctx = self
            .org_for(Some(principal), &invite.org_name, OrgAction::EditInvites)
            .await?;
        Ok((ctx, invite))
    }

    pub async fn cancel_invite(&self, principal: &Principal, id: &str) -> Result<()> {
        let (ctx, invite) = self.managed_invite(principal, id).await?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .resolve_invite(&mut tx, &invite.id, "cancelled", now_micros())
            .await?
        {
            return Err(invite_not_found());
        }
        let event = Event::new(audit::ORG_MEMBER_INVITE_CANCEL, &ctx.org.name, &invite.invitee)
            .with("invite_id", invite.id.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }

    /// Sends a pending invite again. Without email delivery this records the resend; the
    /// invitee sees the invite through the API either way.
    pub async fn resend_invite(&self, principal: &Principal, id: &str) -> Result<()> {
        let (ctx, invite) = self.managed_invite(principal, id).await?;
        let mut tx = self.store.begin().await?;
        if !self.store.touch_invite(&mut tx, &invite.id, now_micros()).await? {
            return Err(invite_not_found());
        }
        let event = Event::new(audit::ORG_MEMBER_INVITE_SEND, &ctx.org.name, &invite.invitee)
            .with("invite_id", invite.id.as_str())
            .with("role", invite.role.as_str())
            .with("resent", "true");
        self.commit_audited(tx, &Actor::of(principal), event).await
    }

    /// The pending invites addressed to the calling user.
    pub async fn my_invites(&self, principal: &Principal) -> Result<Vec<InviteRow>> {
        authorize(Some(principal), Action::ReadOwnAccount)?;
        let user = self.user_named(&principal.account_name).await?;
        Ok(self.store.pending_invites_for(&user.id, &user.email).await?)
    }

    /// A pending invite addressed to the calling user; anyone else's is "not found".
    async fn own_invite(&self, principal: &Principal, id: &str) -> Result<(UserRow, InviteRow)> {
        authorize(Some(principal), Action::RespondToInvite)?;
        let user = self.user_named(&principal.account_name).await?;
        let invite = self
            .store
            .invite(id)
            .await?
            .filter(|i| {
                i.status == "pending"
                    && (i.invitee_user_id.as_deref() == Some(user.id.as_str())
                        || i.invitee_email.as_deref() == Some(user.email.as_str()))
            })
            .ok_or_else(invite_not_found)?;
        Ok((user, invite))
    }

    /// The invitee accepts: they join with the invite's role (and team). Someone who is a
    /// member already keeps their role and only joins the team.
    pub async fn accept_invite(&self, principal: &Principal, id: &str) -> Result<InviteRow> {
        let (user, invite) = self.own_invite(principal, id).await?;
        let actor = Actor::of(principal);
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .resolve_invite(&mut tx, &invite.id, "accepted", now)
            .await?
        {
            return Err(invite_not_found());
        }
        let joined = self
            .store
            .direct_role(&mut tx, &invite.org_id, &user.id)
            .await?
            .is_none();
        if joined {
            self.store
                .insert_member(&mut tx, &invite.org_id, &user.id, &invite.role, now)
                .await?;
        }
        if let (Some(team_id), Some(team_name)) = (invite.team_id, &invite.team_name) {
            if self
                .store
                .add_team_member(&mut tx, team_id, &user.id, now)
                .await?
            {
                let event = Event::new(audit::ORG_TEAM_MEMBER_ADD, &invite.org_name, &user.username)
                    .with("team", team_name.as_str());
                audit::record(&self.store, &mut tx, &actor, event).await?;
            }
        }
        if joined {
            let event = Event::new(audit::ORG_MEMBER_ADD, &invite.org_name, &user.username)
                .with("role", invite.role.as_str())
                .with("invite_id", invite.id.as_str());
            audit::record(&self.store, &mut tx, &actor, event).await?;
        }
        let event = Event::new(audit::ORG_MEMBER_INVITE_ACCEPT, &invite.org_name, &user.username)
            .with("invite_id", invite.id.as_str());
        self.commit_audited(tx, &actor, event).await?;
        Ok(invite)
    }

    pub async fn decline_invite(&self, principal: &Principal, id: &str) -> Result<()> {
        let (user, invite) = self.own_invite(principal, id).await?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .resolve_invite(&mut tx, &invite.id, "declined", now_micros())
            .await?
        {
            return Err(invite_not_found());
        }
        let event = Event::new(audit::ORG_MEMBER_INVITE_DECLINE, &invite.org_name, &user.username)
            .with("invite_id", invite.id.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }
}

fn invite_not_found() -> Error {
    Error::not_found("invite not found")
}
