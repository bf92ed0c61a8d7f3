//! The one audit helper. Every state change calls [`record`] inside the transaction that
//! makes the change, so an event exists exactly when its change was committed.

use std::collections::BTreeMap;

use super::error::Result;
use super::policy::Principal;
use crate::store::{now_micros, AuditRow, Store, Tx};

/// An action Wharf records: `group.name` as the audit log API filters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditAction {
    pub group: &'static str,
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
}

impl AuditAction {
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.group, self.name)
    }
}

macro_rules! actions {
    ($($id:ident = ($group:literal, $name:literal, $label:literal, $desc:literal);)*) => {
        $(pub const $id: AuditAction = AuditAction { group: $group, name: $name, label: $label, description: $desc };)*
        /// Every action Wharf records, in catalogue order.
        pub const CATALOGUE: &[AuditAction] = &[$($id),*];
    };
}

// The `account` group is a Wharf extension: Docker Hub's catalogue has no events for a
// user's own account. The `org` actions carry Docker Hub's names and labels (the team
// labels as the docs give them; the spec example mislabels them), except the two marked
// as extensions.
actions! {
    ACCOUNT_CREATE = ("account", "create", "Account Created", "Activities related to accounts being created");
    ACCOUNT_PASSWORD_CHANGE = ("account", "password.change", "Password Changed", "Activities related to account passwords being changed");
    ACCOUNT_TWO_FACTOR_ENABLE = ("account", "2fa.enable", "Two-Factor Authentication Enabled", "Activities related to two-factor authentication being enabled");
    ACCOUNT_TWO_FACTOR_DISABLE = ("account", "2fa.disable", "Two-Factor Authentication Disabled", "Activities related to two-factor authentication being disabled");
    ACCOUNT_ACCESS_TOKEN_CREATE = ("account", "access_token.create", "Personal Access Token Created", "Activities related to personal access tokens being created");
    ACCOUNT_ACCESS_TOKEN_UPDATE = ("account", "access_token.update", "Personal Access Token Updated", "Activities related to personal access tokens being updated");
    ACCOUNT_ACCESS_TOKEN_DELETE = ("account", "access_token.delete", "Personal Access Token Deleted", "Activities related to personal access tokens being deleted");
    ORG_CREATE = ("org", "create", "Organization Created", "Activities related to the creation of a new organization");
    ORG_MEMBER_ADD = ("org", "member.add", "Organization Member Added", "Activities related to the addition of a member to the organization");
    ORG_MEMBER_REMOVE = ("org", "member.remove", "Organization Member Removed", "Activities related to the removal of a member from the organization");
    ORG_MEMBER_ROLE_CHANGE = ("org", "member.role.change", "Member Role Changed", "Activities related to the change of a member role in the organization");
    ORG_MEMBER_INVITE_SEND = ("org", "member.invite.send", "Org Member Invited", "Activities related to the invite of a member to the organization");
    ORG_TEAM_CREATE = ("org", "team.create", "Team Created", "Activities related to the creation of a team");
    ORG_TEAM_UPDATE = ("org", "team.update", "Team Updated", "Activities related to the modification of a team");
    ORG_TEAM_DELETE = ("org", "team.delete", "Team Deleted", "Activities related to the deletion of a team");
    ORG_TEAM_MEMBER_ADD = ("org", "team.member.add", "Team Member Added", "Activities related to the addition of a member to a team");
    ORG_TEAM_MEMBER_REMOVE = ("org", "team.member.remove", "Team Member Removed", "Activities related to the removal of a member from a team");
    ORG_SETTINGS_UPDATE = ("org", "settings.update", "Organization Settings Updated", "Activities related to the modification of the organization settings");
    ORG_ACCESS_TOKEN_CREATE = ("org", "access_token.create", "Access token created", "Activities related to the creation of an organization access token");
    ORG_ACCESS_TOKEN_UPDATE = ("org", "access_token.update", "Access token updated", "Activities related to the modification of an organization access token");
    ORG_ACCESS_TOKEN_DELETE = ("org", "access_token.delete", "Access token deleted", "Activities related to the deletion of an organization access token");
    REPO_CREATE = ("repo", "create", "Repository Created", "Activities related to the creation of a repository");
    REPO_TAG_PUSH = ("repo", "tag.push", "Tag Pushed", "Activities related to the tags pushed");
    REPO_TAG_DELETE = ("repo", "tag.delete", "Tag Deleted", "Activities related to the tags deleted");
    REPO_UPDATE = ("repo", "update", "Repository Updated", "Activities related to the modification of a repository");
    REPO_DELETE = ("repo", "delete", "Repository Deleted", "Activities related to the deletion of a repository");
    REPO_CHANGE_PRIVACY = ("repo", "change_privacy", "Privacy Changed", "Activities related to the privacy of a repository being changed");
    REPO_IMMUTABLE_TAGS_UPDATED = ("repo", "immutable.tags.updated", "Tag immutability updated", "Activities related to the immutable tags settings of a repository being updated");
    // Extensions: Docker Hub records no event when an invite is answered or cancelled.
    ORG_MEMBER_INVITE_ACCEPT = ("org", "member.invite.accept", "Org Member Invite Accepted", "Activities related to an invitee accepting an invite to the organization");
    ORG_MEMBER_INVITE_CANCEL = ("org", "member.invite.cancel", "Org Member Invite Cancelled", "Activities related to the cancellation of an invite to the organization");
    ORG_MEMBER_INVITE_DECLINE = ("org", "member.invite.decline", "Org Member Invite Declined", "Activities related to an invitee declining an invite to the organization");
    // Extensions: Docker Hub's catalogue has no event for team access to a repository.
    REPO_GROUP_ADD = ("repo", "group.add", "Team Access Granted", "Activities related to a team being given access to a repository");
    REPO_GROUP_UPDATE = ("repo", "group.update", "Team Access Changed", "Activities related to a team's permission on a repository being changed");
    REPO_GROUP_REMOVE = ("repo", "group.remove", "Team Access Revoked", "Activities related to a team's access to a repository being removed");
    // Docker Hub's name for a new SCIM token.
    ENTERPRISE_SCIM_TOKEN_REFRESH = ("enterprise", "sso.connection.scim_token_refresh", "Refresh SCIM Token", "Details of a SCIM token refresh on an existing org/company SSO connection");
    // Extension: the identity provider changed a provisioned user's attributes (not their
    // membership or role, which have events of their own) or removed an inactive one.
    ORG_MEMBER_SCIM_UPDATE = ("org", "member.scim.update", "Member Provisioning Updated", "Activities related to the identity provider changing a provisioned member's attributes");
}

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    /// Label of the access token used, if any.
    pub credential: Option<String>,
}

/// The actor name of changes made with `wharf admin`. Not a valid username (it has a
/// dash), so it cannot be confused with one.
pub const ADMIN_CLI_ACTOR: &str = "wharf-admin";

impl Actor {
    pub fn of(principal: &Principal) -> Actor {
        Actor {
            name: principal.account_name.clone(),
            credential: principal.token_label().map(str::to_string),
        }
    }

    pub fn admin_cli() -> Actor {
        Actor {
            name: ADMIN_CLI_ACTOR.into(),
            credential: None,
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event {
    action: AuditAction,
    /// The account (user or organization) whose log the event belongs to.
    account: String,
    /// What the event is about: a repository, a team member, an account.
    name: String,
    data: BTreeMap<String, String>,
}

impl Event {
    pub fn new(action: AuditAction, account: &str, name: &str) -> Event {
        Event {
            action,
            account: account.into(),
            name: name.into(),
            data: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Event {
        self.data.insert(key.into(), value.into());
        self
    }
}

/// Records `event` by `actor` in `tx`.
pub async fn record(store: &Store, tx: &mut Tx, actor: &Actor, event: Event) -> Result<()> {
    let mut data = event.data;
    if let Some(label) = &actor.credential {
        data.entry("token_label".into()).or_insert_with(|| label.clone());
    }
    let row = AuditRow {
        account: event.account,
        action: event.action.full_name(),
        name: event.name,
        actor: actor.name.clone(),
        credential: actor.credential.clone(),
        data: serde_json::to_string(&data).map_err(super::error::Error::internal)?,
        created_at: now_micros(),
    };
    store.insert_audit(tx, &row).await?;
    Ok(())
}

impl crate::app::App {
    /// Records `event` by `actor` in `tx` and commits: a change and its event are
    /// committed together or not at all. Every state change ends with this call.
    pub async fn commit_audited(&self, mut tx: Tx, actor: &Actor, event: Event) -> Result<()> {
        record(&self.store, &mut tx, actor, event).await?;
        crate::store::commit(tx).await?;
        Ok(())
    }
}
