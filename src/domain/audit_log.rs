//! Reading the audit log: the action catalogue and the filtered, paginated event list, for
//! those who may read an account's log (a user their own; an organization's owners, and
//! its OATs with `scope-activity-read`). Events are written only by [`super::audit`].

use std::collections::BTreeMap;

use super::audit::{AuditAction, CATALOGUE};
use super::error::{Error, Result};
use super::policy::{authorize, Action, OrgAction, Principal};
use crate::app::App;
use crate::store::{AuditFilter, AuditRow, NamespaceKind};
use crate::timefmt::parse_rfc3339_micros;

/// The default and the largest page of events.
pub const DEFAULT_PAGE_SIZE: i64 = 25;
pub const MAX_PAGE_SIZE: i64 = 100;

/// A query of the log, as the API receives it.
#[derive(Debug, Default)]
pub struct AuditQuery<'a> {
    pub action: Option<&'a str>,
    pub name: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub page: Option<&'a str>,
    pub page_size: Option<&'a str>,
}

/// The label of each action group, as the catalogue shows it.
pub fn group_label(group: &str) -> &'static str {
    match group {
        "repo" => "Repository",
        "org" => "Organization",
        "account" => "Account",
        "enterprise" => "Enterprise",
        _ => "Other",
    }
}

/// The catalogue, grouped: group → (label, actions).
pub fn catalogue() -> BTreeMap<&'static str, Vec<&'static AuditAction>> {
    let mut groups: BTreeMap<&'static str, Vec<&'static AuditAction>> = BTreeMap::new();
    for action in CATALOGUE {
        groups.entry(action.group).or_default().push(action);
    }
    groups
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn time_param(field: &str, text: Option<&str>) -> Result<Option<i64>> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            parse_rfc3339_micros(t).ok_or_else(|| {
                Error::invalid_field(field, "must be a date-time such as 2024-01-31T12:00:00Z")
            })
        })
        .transpose()
}

/// A paging parameter: absent is the default; present, even empty, it must be a positive
/// integer (as everywhere in the Hub API).
fn positive(field: &str, text: Option<&str>, default: i64) -> Result<i64> {
    match text {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::invalid_field(field, "must be a positive integer")),
    }
}

/// What an event says, in words, as `action_description` shows it.
pub fn describe(row: &AuditRow, data: &BTreeMap<String, String>) -> String {
    let get = |key: &str| data.get(key).map(String::as_str).unwrap_or("");
    let name = row.name.as_str();
    let text = match row.action.as_str() {
        "repo.tag.push" => format!(
            "pushed the tag {} with the digest {} to the repository {name}",
            get("tag"),
            get("digest")
        ),
        "repo.tag.delete" => format!("deleted the tag {} from the repository {name}", get("tag")),
        "repo.create" => format!("created the repository {name}"),
        "repo.delete" => format!("deleted the repository {name}"),
        "repo.update" => format!("updated the repository {name}"),
        "repo.change_privacy" => {
            let visibility = if get("is_private") == "true" {
                "private"
            } else {
                "public"
            };
            format!("made the repository {name} {visibility}")
        }
        "repo.immutable.tags.updated" => format!("changed the immutable tags of the repository {name}"),
        "repo.group.add" => format!(
            "gave the team {} {} access to the repository {name}",
            get("team"),
            get("permission")
        ),
        "repo.group.update" => format!(
            "changed the access of the team {} to the repository {name} to {}",
            get("team"),
            get("permission")
        ),
        "repo.group.remove" => format!("removed the team {} from the repository {name}", get("team")),
        "enterprise.sso.connection.scim_token_refresh" => format!("created a new SCIM token for {name}"),
        "org.member.scim.update" => format!("changed {} of the provisioned member {name}", get("changed")),
        other => {
            let label = CATALOGUE
                .iter()
                .find(|a| a.full_name() == other)
                .map_or(other.to_string(), |a| a.label.to_lowercase());
            format!("{label}: {name}")
        }
    };
    match &row.credential {
        Some(label) => format!("{text} (with the access token {label})"),
        None => text,
    }
}

impl App {
    /// Checks that the caller may read `account`'s log: 404 for no such account.
    async fn audit_log_access(&self, principal: &Principal, account: &str) -> Result<()> {
        match self.store.namespace_kind(account).await? {
            Some(NamespaceKind::Org) => {
                self.org_for(Some(principal), account, OrgAction::ReadActivity)
                    .await?;
                Ok(())
            }
            Some(NamespaceKind::User) => {
                authorize(Some(principal), Action::ReadOwnAccount)?;
                if principal.account_name == account {
                    Ok(())
                } else {
                    Err(Error::forbidden("you may read only your own account's audit log"))
                }
            }
            None => Err(Error::not_found(format!("account {account} not found"))),
        }
    }

    /// `GET /v2/auditlogs/{account}/actions`.
    pub async fn audit_actions(&self, principal: &Principal, account: &str) -> Result<()> {
        self.audit_log_access(principal, account).await
    }

    /// `GET /v2/auditlogs/{account}`: a page of events, newest first. An unknown action
    /// name matches nothing, as on Docker Hub.
    pub async fn audit_logs(
        &self,
        principal: &Principal,
        account: &str,
        query: &AuditQuery<'_>,
    ) -> Result<Vec<AuditRow>> {
        let from = time_param("from", query.from)?;
        let to = time_param("to", query.to)?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(Error::invalid_field("from", "must not be after to"));
            }
        }
        let page = positive("page", query.page, 1)?;
        let page_size = positive("page_size", query.page_size, DEFAULT_PAGE_SIZE)?;
        if page_size > MAX_PAGE_SIZE {
            return Err(Error::invalid_field(
                "page_size",
                format!("must be at most {MAX_PAGE_SIZE}"),
            ));
        }
        self.audit_log_access(principal, account).await?;
        let filter = AuditFilter {
            account,
            action: non_empty(query.action),
            name: non_empty(query.name),
            actor: non_empty(query.actor),
            from,
            to,
        };
        let offset = (page - 1).saturating_mul(page_size);
        Ok(self.store.list_audit(&filter, offset, page_size).await?)
    }
}
