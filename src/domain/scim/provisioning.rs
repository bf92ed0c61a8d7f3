//! What the identity provider does through SCIM: the organization's token, and the
//! users and groups it provisions. Each request is one transaction; every change records
//! its audit event with the SCIM token as the actor.
//!
//! A provisioned user is a member of the organization exactly while `active`:
//! deactivating or deleting them removes the membership (and their teams in the
//! organization) in the same transaction, so their sessions and tokens lose access to the
//! organization on the next request, as every request asks the store.

use serde_json::Value;

use super::patch;
use super::query::{ListParams, Projection, Resource};
use super::resource::{render_group, render_user, GroupInput, UserInput};
use super::schema::{list_response, GROUP, USER};
use crate::app::App;
use crate::domain::audit::{self, Actor, Event};
use crate::domain::policy::{OrgAction, Principal, Role};
use crate::domain::{secrets, Error, Result, ScimErrorKind};
use crate::store::{now_micros, NewUser, OrgRow, ScimGroupRow, ScimUserRow, StoreError, TeamUpdate, Tx};

/// The actor of provisioning changes. Not a valid username (it has a dash).
pub const SCIM_ACTOR: &str = "scim-provisioning";
/// The credential label provisioning changes name.
pub const SCIM_TOKEN_LABEL: &str = "SCIM token";
/// The prefix of SCIM tokens.
pub const SCIM_TOKEN_PREFIX: &str = "wharf_scim_";
/// A password hash no password matches: accounts created by provisioning sign in only
/// after an administrator sets a password.
const NO_PASSWORD: &str = "!provisioned";

fn scim_actor() -> Actor {
    Actor {
        name: SCIM_ACTOR.into(),
        credential: Some(SCIM_TOKEN_LABEL.into()),
    }
}

fn uniqueness(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::Uniqueness, message)
}

fn invalid_value(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::InvalidValue, message)
}

fn user_not_found(id: &str) -> Error {
    Error::not_found(format!("User {id} not found"))
}

fn group_not_found(id: &str) -> Error {
    Error::not_found(format!("Group {id} not found"))
}

fn last_owner() -> Error {
    Error::scim(
        ScimErrorKind::Mutability,
        "the organization's last owner cannot be deprovisioned or demoted",
    )
}

/// Maps a store uniqueness conflict to SCIM's `uniqueness` error.
fn unique<T>(result: std::result::Result<T, StoreError>, what: &str) -> Result<T> {
    result.map_err(|e| match e {
        StoreError::Conflict(_) => uniqueness(what.to_string()),
        other => other.into(),
    })
}

/// The team a group's `displayName` names: `team`, or `org:team` for this organization.
fn team_name_of(org: &OrgRow, display_name: &str) -> Result<String> {
    let name = match display_name.split_once(':') {
        Some((prefix, team)) if prefix.eq_ignore_ascii_case(&org.name) => team,
        Some(_) => {
            return Err(invalid_value(format!(
                "displayName: {display_name:?} names another organization; this token provisions {}",
                org.name
            )))
        }
        None => display_name,
    };
    crate::domain::teams::validate_team_name(name).map_err(|e| invalid_value(format!("displayName: {e}")))?;
    Ok(name.to_string())
}

impl App {
    // ---- The token -------------------------------------------------------------------

    /// A new SCIM token for `org`, replacing the old one; the secret is shown only here.
    async fn rotate_scim_token(&self, actor: &Actor, org: &OrgRow) -> Result<String> {
        let secret = secrets::generate_token(SCIM_TOKEN_PREFIX);
        let mut tx = self.store.begin().await?;
        self.store
            .set_scim_token(&mut tx, &org.id, &secrets::token_hash(&secret), now_micros())
            .await?;
        let event = Event::new(audit::ENTERPRISE_SCIM_TOKEN_REFRESH, &org.name, &org.name);
        self.commit_audited(tx, actor, event).await?;
        Ok(secret)
    }

    /// `POST /v2/orgs/{org}/scim-token`: owners only, from a password session.
    pub async fn mint_scim_token(&self, principal: &Principal, org_name: &str) -> Result<String> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ManageScim)
            .await?;
        self.rotate_scim_token(&Actor::of(principal), &ctx.org).await
    }

    /// `wharf admin org scim-token ORG`.
    pub async fn admin_scim_token(&self, org_name: &str) -> Result<String> {
        let org = self.org_named(org_name).await?;
        self.rotate_scim_token(&Actor::admin_cli(), &org).await
    }

    /// The organization a SCIM bearer token provisions; 401 for any other token.
    pub async fn scim_org(&self, token: &str) -> Result<OrgRow> {
        let refused = || Error::unauthorized("a valid SCIM token is required");
        if !token.starts_with(SCIM_TOKEN_PREFIX) {
            return Err(refused());
        }
        let org_id = self
            .store
            .org_id_by_scim_token(&secrets::token_hash(token))
            .await?
            .ok_or_else(refused)?;
        self.store.org_by_id(&org_id).await?.ok_or_else(refused)
    }

    // ---- Users -------------------------------------------------------------------------

    /// Renders users with their groups.
    async fn render_users(&self, org: &OrgRow, base: &str, rows: &[ScimUserRow]) -> Result<Vec<Value>> {
        let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
        let memberships = self.store.scim_groups_of_users(&org.id, &ids).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let groups: Vec<_> = memberships.iter().filter(|m| m.user_id == row.user_id).collect();
                render_user(base, &org.name, row, &groups)
            })
            .collect())
    }

    async fn render_one_user(&self, org: &OrgRow, base: &str, user_id: &str) -> Result<Value> {
        let row = self
            .store
            .scim_user(&org.id, user_id)
            .await?
            .ok_or_else(|| user_not_found(user_id))?;
        let mut docs = self.render_users(org, base, &[row]).await?;
        docs.pop().ok_or_else(|| user_not_found(user_id))
    }

    /// `GET /Users`.
    pub async fn scim_list_users(&self, org: &OrgRow, base: &str, params: &ListParams) -> Result<Value> {
        let request = params.resolve(Resource::User, &org.name)?;
        let (rows, total) = self.store.list_scim_users(&org.id, &request.query).await?;
        let docs = self.render_users(org, base, &rows).await?;
        let docs = docs.into_iter().map(|d| request.projection.apply(d)).collect();
        Ok(list_response(docs, total, request.start_index))
    }

    /// `GET /Users/{id}`.
    pub async fn scim_get_user(
        &self,
        org: &OrgRow,
        base: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<Value> {
        Ok(projection.apply(self.render_one_user(org, base, id).await?))
    }

    /// `POST /Users`: provisions a user, creating their account or attaching the account
    /// that has the email.
    pub async fn scim_create_user(&self, org: &OrgRow, base: &str, body: &Value) -> Result<Value> {
        let input = UserInput::parse(body, true, &org.name)?;
        let email = input
            .email
            .clone()
            .ok_or_else(|| invalid_value("emails: required when userName is not an email address"))?;
        let actor = scim_actor();
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let (user_id, username) = match self.store.user_by_email(&email).await? {
            Some(user) => (user.id, user.username),
            None => {
                self.provision_account(&mut tx, &actor, &input, &email, now)
                    .await?
            }
        };
        let current = self.store.direct_role(&mut tx, &org.id, &user_id).await?;
        let row = ScimUserRow {
            org_id: org.id.clone(),
            user_id,
            username,
            user_name: input.user_name.clone(),
            external_id: input.external_id.clone(),
            given_name: input.given_name.clone(),
            family_name: input.family_name.clone(),
            emails: serde_json::to_string(&input.emails).map_err(Error::internal)?,
            email: Some(email),
            active: input.active,
            role: input.role.map(|r| r.as_str().to_string()),
            team: input.team.clone(),
            created_at: now,
            updated_at: now,
        };
        unique(
            self.store.insert_scim_user(&mut tx, &row).await,
            "a user with this userName (or this account) is already provisioned",
        )?;
        if row.active {
            self.join_org(&mut tx, &actor, org, &row, current.as_deref())
                .await?;
        } else {
            let event = Event::new(audit::ORG_MEMBER_SCIM_UPDATE, &org.name, &row.username)
                .with("changed", "created inactive");
            audit::record(&self.store, &mut tx, &actor, event).await?;
        }
        crate::store::commit(tx).await?;
        self.render_one_user(org, base, &row.user_id).await
    }

    /// A new account for a provisioned user: the username `displayName` asks for if it is
    /// valid and free, else one made from the email.
    async fn provision_account(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        input: &UserInput,
        email: &str,
        now: i64,
    ) -> Result<(String, String)> {
        let mut candidates: Vec<String> = Vec::new();
        if let Some(wanted) = &input.display_name {
            candidates.push(wanted.to_ascii_lowercase());
        }
        let local = email.split('@').next().unwrap_or_default();
        let mut stem: String = local
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .take(24)
            .collect();
        while stem.len() < 4 {
            stem.push('0');
        }
        candidates.push(stem.clone());
        candidates.extend((1..100).map(|n| format!("{stem}{n}")));
        for username in candidates {
            if crate::domain::accounts::validate_username(&username).is_err()
                || self.store.namespace_kind(&username).await?.is_some()
            {
                continue;
            }
            let id = uuid::Uuid::new_v4().to_string();
            let new_user = NewUser {
                id: &id,
                username: &username,
                email,
                password_hash: NO_PASSWORD,
                created_at: now,
            };
            self.store.insert_user(tx, new_user).await?;
            let event = Event::new(audit::ACCOUNT_CREATE, &username, &username);
            audit::record(&self.store, tx, actor, event).await?;
            return Ok((id, username));
        }
        Err(uniqueness("no free username could be made for this user"))
    }

    /// Makes a provisioned user a member with their role (and team). Without a
    /// `dockerRole`, a member keeps the role they have and a newcomer is a member.
    async fn join_org(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        org: &OrgRow,
        row: &ScimUserRow,
        current: Option<&str>,
    ) -> Result<()> {
        let role = row.role.as_deref().or(current).unwrap_or(Role::Member.as_str());
        match current {
            None => {
                self.store
                    .insert_member(tx, &org.id, &row.user_id, role, now_micros())
                    .await?;
                let event = Event::new(audit::ORG_MEMBER_ADD, &org.name, &row.username).with("role", role);
                audit::record(&self.store, tx, actor, event).await?;
            }
            Some(old) if old != role => {
                if old == Role::Owner.as_str() && self.store.count_owners(tx, &org.id).await? <= 1 {
                    return Err(last_owner());
                }
                self.store
                    .set_member_role(tx, &org.id, &row.user_id, role)
                    .await?;
                let event = Event::new(audit::ORG_MEMBER_ROLE_CHANGE, &org.name, &row.username)
                    .with("old_role", old)
                    .with("role", role);
                audit::record(&self.store, tx, actor, event).await?;
            }
            Some(_) => {}
        }
        if let Some(team) = &row.team {
            let team_id = self.ensure_team(tx, actor, org, team).await?;
            if self
                .store
                .add_team_member(tx, team_id, &row.user_id, now_micros())
                .await?
            {
                let event = Event::new(audit::ORG_TEAM_MEMBER_ADD, &org.name, &row.username)
                    .with("team", team.as_str());
                audit::record(&self.store, tx, actor, event).await?;
            }
        }
        Ok(())
    }

    /// The team `name` of `org`, created if missing.
    async fn ensure_team(&self, tx: &mut Tx, actor: &Actor, org: &OrgRow, name: &str) -> Result<i64> {
        if let Some(id) = self.store.team_id_in(tx, &org.id, name).await? {
            return Ok(id);
        }
        let uuid = uuid::Uuid::new_v4().to_string();
        self.store
            .insert_team(tx, &uuid, &org.id, name, "", now_micros())
            .await?;
        let event = Event::new(audit::ORG_TEAM_CREATE, &org.name, name).with("team", name);
        audit::record(&self.store, tx, actor, event).await?;
        self.store
            .team_id_in(tx, &org.id, name)
            .await?
            .ok_or_else(|| Error::internal("a team just created is missing"))
    }

    /// Takes a provisioned user out of the team `team` (their `dockerTeam` before).
    async fn leave_team(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        org: &OrgRow,
        row: &ScimUserRow,
        team: &str,
    ) -> Result<()> {
        let Some(team_id) = self.store.team_id_in(tx, &org.id, team).await? else {
            return Ok(());
        };
        if self.store.remove_team_member(tx, team_id, &row.user_id).await? {
            let event =
                Event::new(audit::ORG_TEAM_MEMBER_REMOVE, &org.name, &row.username).with("team", team);
            audit::record(&self.store, tx, actor, event).await?;
        }
        Ok(())
    }

    /// Removes a provisioned user from the organization (and its teams).
    async fn leave_org(&self, tx: &mut Tx, actor: &Actor, org: &OrgRow, row: &ScimUserRow) -> Result<()> {
        let Some(role) = self.store.direct_role(tx, &org.id, &row.user_id).await? else {
            return Ok(());
        };
        if role == Role::Owner.as_str() && self.store.count_owners(tx, &org.id).await? <= 1 {
            return Err(last_owner());
        }
        self.store.delete_member(tx, &org.id, &row.user_id).await?;
        let event = Event::new(audit::ORG_MEMBER_REMOVE, &org.name, &row.username).with("role", role);
        audit::record(&self.store, tx, actor, event).await
    }

    /// `PUT /Users/{id}`: replaces the user's attributes; without `active`, deactivates.
    pub async fn scim_replace_user(&self, org: &OrgRow, base: &str, id: &str, body: &Value) -> Result<Value> {
        let input = UserInput::parse(body, false, &org.name)?;
        // A replacement without Docker's extension keeps the role and team: identity
        // providers that do not manage them send none.
        self.change_user(org, id, false, |_| Ok(input)).await?;
        self.render_one_user(org, base, id).await
    }

    /// `PATCH /Users/{id}`.
    pub async fn scim_patch_user(&self, org: &OrgRow, base: &str, id: &str, body: &Value) -> Result<Value> {
        let operations = patch::parse_request(body)?;
        let current = self.render_one_user(org, base, id).await?;
        // The document holds every attribute: one missing was removed.
        self.change_user(org, id, true, |_| {
            let Value::Object(mut doc) = current else {
                return Err(Error::internal("a rendered user is not an object"));
            };
            patch::apply(&USER, &mut doc, &operations)?;
            UserInput::parse(&Value::Object(doc), false, &org.name)
        })
        .await?;
        self.render_one_user(org, base, id).await
    }

    /// Applies the attributes `change` makes of the user's current ones, in one
    /// transaction: the row, the membership and role, the team, and their events.
    /// `absent_resets`: a role or team missing from the new attributes is unset (no team;
    /// the member keeps their current role), rather than kept as the identity provider's.
    async fn change_user(
        &self,
        org: &OrgRow,
        id: &str,
        absent_resets: bool,
        change: impl FnOnce(&ScimUserRow) -> Result<UserInput>,
    ) -> Result<()> {
        let actor = scim_actor();
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let before = self
            .store
            .scim_user_in(&mut tx, &org.id, id)
            .await?
            .ok_or_else(|| user_not_found(id))?;
        let input = change(&before)?;
        let after = ScimUserRow {
            user_name: input.user_name,
            external_id: input.external_id,
            given_name: input.given_name,
            family_name: input.family_name,
            emails: serde_json::to_string(&input.emails).map_err(Error::internal)?,
            email: input.email,
            active: input.active,
            role: match (input.role, absent_resets) {
                (Some(role), _) => Some(role.as_str().to_string()),
                (None, true) => None,
                (None, false) => before.role.clone(),
            },
            team: if absent_resets {
                input.team
            } else {
                input.team.or(before.team.clone())
            },
            updated_at: now_micros(),
            ..before.clone()
        };
        let changed: Vec<&str> = [
            ("userName", before.user_name != after.user_name),
            ("externalId", before.external_id != after.external_id),
            ("name.givenName", before.given_name != after.given_name),
            ("name.familyName", before.family_name != after.family_name),
            ("emails", before.emails != after.emails),
        ]
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect();
        let membership_changes =
            before.active != after.active || before.role != after.role || before.team != after.team;
        if changed.is_empty() && !membership_changes {
            return Ok(());
        }
        unique(
            self.store.update_scim_user(&mut tx, &after).await,
            "a user with this userName is already provisioned",
        )?;
        if let (Some(old), true) = (&before.team, before.team != after.team) {
            self.leave_team(&mut tx, &actor, org, &after, old).await?;
        }
        if after.active {
            let current = self.store.direct_role(&mut tx, &org.id, &after.user_id).await?;
            self.join_org(&mut tx, &actor, org, &after, current.as_deref())
                .await?;
        } else if before.active {
            self.leave_org(&mut tx, &actor, org, &after).await?;
        }
        if !changed.is_empty() {
            let event = Event::new(audit::ORG_MEMBER_SCIM_UPDATE, &org.name, &after.username)
                .with("changed", changed.join(","));
            audit::record(&self.store, &mut tx, &actor, event).await?;
        }
        crate::store::commit(tx).await?;
        Ok(())
    }

    /// `DELETE /Users/{id}`: the user leaves the organization and is no longer
    /// provisioned; their account stays.
    pub async fn scim_delete_user(&self, org: &OrgRow, id: &str) -> Result<()> {
        let actor = scim_actor();
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let row = self
            .store
            .scim_user_in(&mut tx, &org.id, id)
            .await?
            .ok_or_else(|| user_not_found(id))?;
        if row.active {
            self.leave_org(&mut tx, &actor, org, &row).await?;
        } else {
            let event = Event::new(audit::ORG_MEMBER_SCIM_UPDATE, &org.name, &row.username)
                .with("changed", "deleted");
            audit::record(&self.store, &mut tx, &actor, event).await?;
        }
        self.store.delete_scim_user(&mut tx, &org.id, id).await?;
        crate::store::commit(tx).await?;
        Ok(())
    }

    // ---- Groups ------------------------------------------------------------------------

    async fn render_groups(&self, base: &str, rows: &[ScimGroupRow]) -> Result<Vec<Value>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let members = self.store.scim_members_of_groups(&ids).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let mine: Vec<_> = members.iter().filter(|m| m.team_id == row.id).collect();
                render_group(base, row, &mine)
            })
            .collect())
    }

    async fn render_one_group(&self, org: &OrgRow, base: &str, id: &str) -> Result<Value> {
        let row = self
            .store
            .scim_group(&org.id, id)
            .await?
            .ok_or_else(|| group_not_found(id))?;
        let mut docs = self.render_groups(base, &[row]).await?;
        docs.pop().ok_or_else(|| group_not_found(id))
    }

    /// `POST /.search` (RFC 7644 §3.4.3): users, then groups, in one page. A filter, sort
    /// or attribute that names what one resource type does not have leaves that type out;
    /// one that fits neither is refused as for `/Users`.
    pub async fn scim_search_all(&self, org: &OrgRow, base: &str, params: &ListParams) -> Result<Value> {
        let users = params.resolve(Resource::User, &org.name);
        let groups = params.resolve(Resource::Group, &org.name);
        let (users, groups) = match (users, groups) {
            (Err(e), Err(_)) => return Err(e),
            (users, groups) => (users.ok(), groups.ok()),
        };
        let Some(first) = users.as_ref().or(groups.as_ref()) else {
            return Err(Error::internal("no search request"));
        };
        let (offset, limit, start_index) = (first.query.offset, first.query.limit, first.start_index);
        let mut docs = Vec::new();
        let mut users_total = 0;
        if let Some(request) = users {
            let (rows, total) = self.store.list_scim_users(&org.id, &request.query).await?;
            users_total = total;
            let rendered = self.render_users(org, base, &rows).await?;
            docs.extend(rendered.into_iter().map(|d| request.projection.apply(d)));
        }
        let mut groups_total = 0;
        if let Some(mut request) = groups {
            // The page goes on where the users end.
            request.query.offset = (offset - users_total).max(0);
            request.query.limit = limit - docs.len() as i64;
            let (rows, total) = self.store.list_scim_groups(&org.id, &request.query).await?;
            groups_total = total;
            let rendered = self.render_groups(base, &rows).await?;
            docs.extend(rendered.into_iter().map(|d| request.projection.apply(d)));
        }
        Ok(list_response(docs, users_total + groups_total, start_index))
    }

    /// `GET /Groups`.
    pub async fn scim_list_groups(&self, org: &OrgRow, base: &str, params: &ListParams) -> Result<Value> {
        let request = params.resolve(Resource::Group, &org.name)?;
        let (rows, total) = self.store.list_scim_groups(&org.id, &request.query).await?;
        let docs = self.render_groups(base, &rows).await?;
        let docs = docs.into_iter().map(|d| request.projection.apply(d)).collect();
        Ok(list_response(docs, total, request.start_index))
    }

    /// `GET /Groups/{id}`.
    pub async fn scim_get_group(
        &self,
        org: &OrgRow,
        base: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<Value> {
        Ok(projection.apply(self.render_one_group(org, base, id).await?))
    }

    /// `POST /Groups`: creates the team, with its members.
    pub async fn scim_create_group(&self, org: &OrgRow, base: &str, body: &Value) -> Result<Value> {
        let input = GroupInput::parse(body)?;
        let name = team_name_of(org, &input.display_name)?;
        let actor = scim_actor();
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let uuid = uuid::Uuid::new_v4().to_string();
        unique(
            self.store
                .insert_team(&mut tx, &uuid, &org.id, &name, "", now_micros())
                .await,
            "a team with this name already exists",
        )?;
        let team_id = self
            .store
            .team_id_in(&mut tx, &org.id, &name)
            .await?
            .ok_or_else(|| Error::internal("a team just created is missing"))?;
        self.store
            .set_team_scim_attributes(
                &mut tx,
                team_id,
                input.external_id.as_deref(),
                Some(&input.display_name),
            )
            .await?;
        let event = Event::new(audit::ORG_TEAM_CREATE, &org.name, &name).with("team", name.as_str());
        audit::record(&self.store, &mut tx, &actor, event).await?;
        self.set_group_members(&mut tx, &actor, org, team_id, &name, &[], &input.members)
            .await?;
        crate::store::commit(tx).await?;
        self.render_one_group(org, base, &uuid).await
    }

    /// Adds and removes members so that the team has exactly `wanted`.
    #[allow(clippy::too_many_arguments)]
    async fn set_group_members(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        org: &OrgRow,
        team_id: i64,
        team: &str,
        current: &[String],
        wanted: &[String],
    ) -> Result<()> {
        for user_id in wanted.iter().filter(|id| !current.contains(id)) {
            if self.store.direct_role(tx, &org.id, user_id).await?.is_none() {
                return Err(invalid_value(format!(
                    "members: {user_id:?} is no member of the organization"
                )));
            }
            let username = self.username_of(user_id).await?;
            if self
                .store
                .add_team_member(tx, team_id, user_id, now_micros())
                .await?
            {
                let event = Event::new(audit::ORG_TEAM_MEMBER_ADD, &org.name, &username).with("team", team);
                audit::record(&self.store, tx, actor, event).await?;
            }
        }
        if wanted.iter().any(|id| !current.contains(id)) || current.iter().any(|id| !wanted.contains(id)) {
            self.store.touch_scim_group(tx, team_id).await?;
        }
        for user_id in current.iter().filter(|id| !wanted.contains(id)) {
            let username = self.username_of(user_id).await?;
            if self.store.remove_team_member(tx, team_id, user_id).await? {
                let event =
                    Event::new(audit::ORG_TEAM_MEMBER_REMOVE, &org.name, &username).with("team", team);
                audit::record(&self.store, tx, actor, event).await?;
            }
        }
        Ok(())
    }

    async fn username_of(&self, user_id: &str) -> Result<String> {
        Ok(self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| invalid_value(format!("members: no user {user_id:?}")))?
            .username)
    }

    /// `PUT /Groups/{id}`.
    pub async fn scim_replace_group(
        &self,
        org: &OrgRow,
        base: &str,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        let input = GroupInput::parse(body)?;
        self.change_group(org, id, input).await?;
        self.render_one_group(org, base, id).await
    }

    /// `PATCH /Groups/{id}`.
    pub async fn scim_patch_group(&self, org: &OrgRow, base: &str, id: &str, body: &Value) -> Result<Value> {
        let operations = patch::parse_request(body)?;
        let Value::Object(mut doc) = self.render_one_group(org, base, id).await? else {
            return Err(Error::internal("a rendered group is not an object"));
        };
        patch::apply(&GROUP, &mut doc, &operations)?;
        let input = GroupInput::parse(&Value::Object(doc))?;
        self.change_group(org, id, input).await?;
        self.render_one_group(org, base, id).await
    }

    async fn change_group(&self, org: &OrgRow, id: &str, input: GroupInput) -> Result<()> {
        let name = team_name_of(org, &input.display_name)?;
        let actor = scim_actor();
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let before = self
            .store
            .scim_group_in(&mut tx, &org.id, id)
            .await?
            .ok_or_else(|| group_not_found(id))?;
        if name != before.name
            || input.display_name != before.display_name
            || input.external_id != before.external_id
        {
            if name != before.name {
                let update = TeamUpdate {
                    name: Some(&name),
                    ..TeamUpdate::default()
                };
                unique(
                    self.store.update_team(&mut tx, before.id, &update).await,
                    "a team with this name already exists",
                )?;
            }
            self.store
                .set_team_scim_attributes(
                    &mut tx,
                    before.id,
                    input.external_id.as_deref(),
                    Some(&input.display_name),
                )
                .await?;
            let mut event = Event::new(audit::ORG_TEAM_UPDATE, &org.name, &name).with("team", name.as_str());
            if name != before.name {
                event = event.with("old_name", before.name.as_str());
            }
            if input.external_id != before.external_id {
                event = event.with("external_id", input.external_id.clone().unwrap_or_default());
            }
            audit::record(&self.store, &mut tx, &actor, event).await?;
        }
        let current = self.store.team_member_ids(&mut tx, before.id).await?;
        self.set_group_members(&mut tx, &actor, org, before.id, &name, &current, &input.members)
            .await?;
        crate::store::commit(tx).await?;
        Ok(())
    }

    /// `DELETE /Groups/{id}`: deletes the team.
    pub async fn scim_delete_group(&self, org: &OrgRow, id: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        self.store.lock_org(&mut tx, &org.id).await?;
        let group = self
            .store
            .scim_group_in(&mut tx, &org.id, id)
            .await?
            .ok_or_else(|| group_not_found(id))?;
        self.store.delete_team(&mut tx, group.id).await?;
        let event =
            Event::new(audit::ORG_TEAM_DELETE, &org.name, &group.name).with("team", group.name.as_str());
        self.commit_audited(tx, &scim_actor(), event).await
    }
}
