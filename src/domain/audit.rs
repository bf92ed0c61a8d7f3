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
// user's own account.
actions! {
    ACCOUNT_CREATE = ("account", "create", "Account Created", "Activities related to accounts being created");
    ACCOUNT_PASSWORD_CHANGE = ("account", "password.change", "Password Changed", "Activities related to account passwords being changed");
    ACCOUNT_TWO_FACTOR_ENABLE = ("account", "2fa.enable", "Two-Factor Authentication Enabled", "Activities related to two-factor authentication being enabled");
    ACCOUNT_TWO_FACTOR_DISABLE = ("account", "2fa.disable", "Two-Factor Authentication Disabled", "Activities related to two-factor authentication being disabled");
    ACCOUNT_ACCESS_TOKEN_CREATE = ("account", "access_token.create", "Personal Access Token Created", "Activities related to personal access tokens being created");
    ACCOUNT_ACCESS_TOKEN_UPDATE = ("account", "access_token.update", "Personal Access Token Updated", "Activities related to personal access tokens being updated");
    ACCOUNT_ACCESS_TOKEN_DELETE = ("account", "access_token.delete", "Personal Access Token Deleted", "Activities related to personal access tokens being deleted");
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
            name: principal.username.clone(),
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
