//! Organizations: creation, profile, settings and members.
//!
//! Every operation starts with [`App::org_for`], which loads the organization, works out
//! what the caller is to it and asks the policy; nothing here decides permissions itself.

use super::accounts::validate_namespace_name;
use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::policy::{authorize, authorize_org, Action, OrgAction, OrgStanding, Principal, Role};
use super::teams::emails_visible;
use crate::app::App;
use crate::config::OrgCreation;
use crate::store::{now_micros, InviteRow, MemberFilter, MemberRow, OrgRow, OrgSettingsRow};

/// An organization the caller may act on, with what the caller is to it.
pub struct OrgContext {
    pub org: OrgRow,
    pub standing: OrgStanding,
}

/// A page of members (and, when asked for, pending invitees after them).
pub struct MemberPage {
    pub members: Vec<(MemberRow, Vec<String>)>,
    pub invitees: Vec<InviteRow>,
    pub total: i64,
    /// Whether the caller may see email addresses (see [`super::teams::emails_visible`]).
    pub emails_visible: bool,
}

/// Which members `GET /v2/orgs/{org}/members` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberType {
    All,
    Invitee,
    Member,
}

impl MemberType {
    pub fn parse(s: &str) -> Result<MemberType> {
        match s {
            "all" => Ok(MemberType::All),
            "invitee" => Ok(MemberType::Invitee),
            "member" => Ok(MemberType::Member),
            _ => Err(Error::bad_request("type: must be all, invitee or member")),
        }
    }
}

/// The query of a member listing.
pub struct MemberQuery<'a> {
    pub search: Option<&'a str>,
    pub role: Option<Role>,
    /// Members, invitees or both.
    pub kind: MemberType,
}

impl App {
    /// Loads `org_name`, and checks that `principal` may do `action` there.
    pub async fn org_for(
        &self,
        principal: Option<&Principal>,
        org_name: &str,
        action: OrgAction,
    ) -> Result<OrgContext> {
        let org = self
            .store
            .org_by_name(org_name)
            .await?
            .ok_or_else(|| Error::not_found(format!("organization {org_name:?} not found")))?;
        let role = match principal.and_then(Principal::user_id) {
            Some(user_id) => self
                .store
                .member(&org.id, user_id)
                .await?
                .and_then(|m| Role::parse(&m.role)),
            None => None,
        };
        let standing = OrgStanding {
            org_id: org.id.clone(),
            org_name: org.name.clone(),
            role,
        };
        authorize_org(principal, &standing, action)?;
        Ok(OrgContext { org, standing })
    }

    /// `POST /v2/orgs` (extension): creates an organization owned by the caller.
    pub async fn create_org_as(&self, principal: &Principal, name: &str) -> Result<OrgRow> {
        authorize(Some(principal), Action::CreateOrg)?;
        if self.settings.org_creation == OrgCreation::Admin {
            return Err(Error::forbidden(
                "organizations are created by the administrator on this server (wharf admin org create)",
            ));
        }
        let owner = principal.account_name.clone();
        self.create_org(&Actor::of(principal), name, &owner).await
    }

    /// Creates organization `name` with user `owner` as its first owner.
    pub async fn create_org(&self, actor: &Actor, name: &str, owner: &str) -> Result<OrgRow> {
        validate_namespace_name("orgname", name)?;
        let owner = self.user_named(owner).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        self.store.insert_org(&mut tx, &id, name, &owner.id, now).await?;
        audit::record(
            &self.store,
            &mut tx,
            actor,
            Event::new(audit::ORG_MEMBER_ADD, name, &owner.username).with("role", Role::Owner.as_str()),
        )
        .await?;
        self.commit_audited(tx, actor, Event::new(audit::ORG_CREATE, name, name))
            .await?;
        self.org_named(name).await
    }

    pub async fn org_named(&self, name: &str) -> Result<OrgRow> {
        self.store
            .org_by_name(name)
            .await?
            .ok_or_else(|| Error::not_found(format!("organization {name:?} not found")))
    }

    /// The organizations the calling user belongs to.
    pub async fn my_orgs(
        &self,
        principal: &Principal,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OrgRow>, i64)> {
        authorize(Some(principal), Action::ReadOwnAccount)?;
        Ok(self
            .store
            .orgs_of_user(&principal.account_id, offset, limit)
            .await?)
    }

    pub async fn org_settings(&self, principal: &Principal, org_name: &str) -> Result<OrgSettingsRow> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ReadSettings)
            .await?;
        Ok(settings_of(&ctx.org))
    }

    pub async fn update_org_settings(
        &self,
        principal: &Principal,
        org_name: &str,
        settings: OrgSettingsRow,
    ) -> Result<OrgSettingsRow> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::EditSettings)
            .await?;
        let mut tx = self.store.begin().await?;
        self.store
            .update_org_settings(&mut tx, &ctx.org.id, settings)
            .await?;
        let event = Event::new(audit::ORG_SETTINGS_UPDATE, &ctx.org.name, &ctx.org.name)
            .with("restricted_images.enabled", settings.restrict_images.to_string())
            .with(
                "restricted_images.allow_official_images",
                settings.allow_official_images.to_string(),
            )
            .with(
                "restricted_images.allow_verified_publishers",
                settings.allow_verified_publishers.to_string(),
            );
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        Ok(settings)
    }

    /// A page of members (then invitees, when asked for), each with their team names.
    pub async fn list_members(
        &self,
        principal: &Principal,
        org_name: &str,
        query: &MemberQuery<'_>,
        offset: i64,
        limit: i64,
    ) -> Result<MemberPage> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ReadMembers)
            .await?;
        // Whoever may not see email addresses may not search them either: each search
        // would confirm a guess.
        let visible = emails_visible(principal, &ctx);
        let filter = MemberFilter {
            search: query.search,
            role: query.role.map(Role::as_str),
            search_email: visible,
        };
        // Invitees come after the members; a role filter names member roles only. Pending
        // invites are shown to those who may read them (owners), as on their own route.
        let may_read_invites = authorize_org(Some(principal), &ctx.standing, OrgAction::ReadInvites).is_ok();
        let invitees: Vec<InviteRow> =
            if query.kind == MemberType::Member || query.role.is_some() || !may_read_invites {
                Vec::new()
            } else {
                self.store
                    .pending_invites_of_org(&ctx.org.id)
                    .await?
                    .into_iter()
                    .filter(|invite| {
                        query.search.is_none_or(|s| {
                            (visible || invite.invitee_email.is_none()) && contains_ci(&invite.invitee, s)
                        })
                    })
                    .collect()
            };
        let (members, member_total) = if query.kind == MemberType::Invitee {
            (Vec::new(), 0)
        } else {
            self.store
                .list_members(&ctx.org.id, &filter, offset, limit)
                .await?
        };
        let invitee_offset = usize::try_from((offset - member_total).max(0)).unwrap_or(usize::MAX);
        let invitee_room = usize::try_from(limit).unwrap_or(0).saturating_sub(members.len());
        let total = member_total + invitees.len() as i64;
        let invitees = invitees
            .into_iter()
            .skip(invitee_offset)
            .take(invitee_room)
            .collect();
        let members = self.with_team_names(&ctx.org.id, members).await?;
        Ok(MemberPage {
            members,
            invitees,
            total,
            emails_visible: visible,
        })
    }

    /// Every member with their team names, for the CSV export, and whether the caller may
    /// see email addresses.
    pub async fn export_members(
        &self,
        principal: &Principal,
        org_name: &str,
    ) -> Result<(Vec<(MemberRow, Vec<String>)>, bool)> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ReadMembers)
            .await?;
        let (members, _) = self
            .store
            .list_members(&ctx.org.id, &MemberFilter::default(), 0, i64::MAX)
            .await?;
        let members = self.with_team_names(&ctx.org.id, members).await?;
        Ok((members, emails_visible(principal, &ctx)))
    }

    async fn with_team_names(
        &self,
        org_id: &str,
        members: Vec<MemberRow>,
    ) -> Result<Vec<(MemberRow, Vec<String>)>> {
        let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        let pairs = self.store.team_names_of(org_id, &ids).await?;
        Ok(members
            .into_iter()
            .map(|member| {
                let teams = pairs
                    .iter()
                    .filter(|(user_id, _)| *user_id == member.user_id)
                    .map(|(_, team)| team.clone())
                    .collect();
                (member, teams)
            })
            .collect())
    }

    /// A member of `org_name`, with team names; 404 for a non-member.
    pub async fn org_member(&self, org_id: &str, username: &str) -> Result<(MemberRow, Vec<String>)> {
        let not_member = || Error::not_found(format!("{username:?} is not a member of this organization"));
        let user = self.store.user_by_name(username).await?.ok_or_else(not_member)?;
        let member = self
            .store
            .member(org_id, &user.id)
            .await?
            .ok_or_else(not_member)?;
        let mut found = self.with_team_names(org_id, vec![member]).await?;
        found.pop().ok_or_else(not_member)
    }

    /// Changes a member's direct role. The last owner cannot be demoted.
    pub async fn change_member_role(
        &self,
        principal: &Principal,
        org_name: &str,
        username: &str,
        role: Role,
    ) -> Result<(MemberRow, Vec<String>)> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::EditMembers)
            .await?;
        let (member, _) = self.org_member(&ctx.org.id, username).await?;
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &ctx.org.id).await?;
        let current = self
            .store
            .direct_role(&mut tx, &ctx.org.id, &member.user_id)
            .await?
            .and_then(|r| Role::parse(&r))
            .ok_or_else(|| Error::not_found(format!("{username:?} is not a member of this organization")))?;
        if current == role {
            drop(tx);
            return self.org_member(&ctx.org.id, username).await;
        }
        if current == Role::Owner && self.store.count_owners(&mut tx, &ctx.org.id).await? <= 1 {
            return Err(last_owner());
        }
        self.store
            .set_member_role(&mut tx, &ctx.org.id, &member.user_id, role.as_str())
            .await?;
        let event = Event::new(audit::ORG_MEMBER_ROLE_CHANGE, &ctx.org.name, username)
            .with("old_role", current.as_str())
            .with("role", role.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        self.org_member(&ctx.org.id, username).await
    }

    /// Removes a member from the organization and all its teams. Owners remove anyone;
    /// every member may remove themselves (leave). The last owner cannot be removed.
    pub async fn remove_member(&self, principal: &Principal, org_name: &str, username: &str) -> Result<()> {
        let leaving = principal.user_id().is_some() && principal.account_name == username;
        let action = if leaving {
            OrgAction::Leave
        } else {
            OrgAction::EditMembers
        };
        let ctx = self.org_for(Some(principal), org_name, action).await?;
        let (member, _) = self.org_member(&ctx.org.id, username).await?;
        let actor = Actor::of(principal);
        self.remove_member_as(&actor, &ctx.org, &member).await
    }

    async fn remove_member_as(&self, actor: &Actor, org: &OrgRow, member: &MemberRow) -> Result<()> {
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let Some(role) = self.store.direct_role(&mut tx, &org.id, &member.user_id).await? else {
            return Err(Error::not_found(format!(
                "{:?} is not a member of this organization",
                member.username
            )));
        };
        if role == Role::Owner.as_str() && self.store.count_owners(&mut tx, &org.id).await? <= 1 {
            return Err(last_owner());
        }
        self.store
            .delete_member(&mut tx, &org.id, &member.user_id)
            .await?;
        let event = Event::new(audit::ORG_MEMBER_REMOVE, &org.name, &member.username).with("role", role);
        self.commit_audited(tx, actor, event).await
    }

    /// `wharf admin org add-member`: adds a user with a role, or changes the role of one
    /// who already is a member.
    pub async fn admin_add_member(&self, org_name: &str, username: &str, role: Role) -> Result<()> {
        let actor = Actor::admin_cli();
        let org = self.org_named(org_name).await?;
        let user = self.user_named(username).await?;
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let event = match self.store.direct_role(&mut tx, &org.id, &user.id).await? {
            None => {
                self.store
                    .insert_member(&mut tx, &org.id, &user.id, role.as_str(), now_micros())
                    .await?;
                Event::new(audit::ORG_MEMBER_ADD, &org.name, username).with("role", role.as_str())
            }
            Some(current) if current == role.as_str() => return Ok(()),
            Some(current) => {
                if current == Role::Owner.as_str() && self.store.count_owners(&mut tx, &org.id).await? <= 1 {
                    return Err(last_owner());
                }
                self.store
                    .set_member_role(&mut tx, &org.id, &user.id, role.as_str())
                    .await?;
                Event::new(audit::ORG_MEMBER_ROLE_CHANGE, &org.name, username)
                    .with("old_role", current)
                    .with("role", role.as_str())
            }
        };
        self.commit_audited(tx, &actor, event).await
    }
}

pub fn settings_of(org: &OrgRow) -> OrgSettingsRow {
    OrgSettingsRow {
        restrict_images: org.restrict_images,
        allow_official_images: org.allow_official_images,
        allow_verified_publishers: org.allow_verified_publishers,
    }
}

fn last_owner() -> Error {
    Error::bad_request(
        "the last owner of an organization cannot be removed or demoted; make another member owner first",
    )
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}
