//! `auditlogs` group: the action catalogue and the event list of an account. Queries are
//! limited per caller (429 with the spec's body and `Retry-After`).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::audit_log::{catalogue, describe, group_label, AuditQuery};
use crate::domain::policy::Principal;
use crate::domain::Error;
use crate::http::auth::Caller;
use crate::http::error::AuditResult;
use crate::http::extract::HubQuery;
use crate::http::openapi::WriteErrors;
use crate::store::AuditRow;
use crate::timefmt::format_micros;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogAction {
    pub name: String,
    pub description: String,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogActions {
    pub actions: Vec<AuditLogAction>,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GetAuditActionsResponse {
    /// Keyed by action group (`repo`, `org`, …).
    pub actions: BTreeMap<String, AuditLogActions>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    pub account: String,
    pub action: String,
    pub name: String,
    pub actor: String,
    pub data: BTreeMap<String, String>,
    pub timestamp: String,
    pub action_description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GetAuditLogsResponse {
    pub logs: Vec<AuditLog>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditLogParams {
    /// A full action name, e.g. `repo.tag.push`.
    pub action: Option<String>,
    /// A repository, organization or member name.
    pub name: Option<String>,
    /// The username of who acted.
    pub actor: Option<String>,
    /// Events from this time on (RFC 3339).
    pub from: Option<String>,
    /// Events up to this time (RFC 3339).
    pub to: Option<String>,
    /// Page number, from 1.
    pub page: Option<String>,
    /// Events per page (1 to 100, default 25).
    pub page_size: Option<String>,
}

impl From<AuditRow> for AuditLog {
    fn from(row: AuditRow) -> AuditLog {
        let data: BTreeMap<String, String> = serde_json::from_str(&row.data).unwrap_or_default();
        AuditLog {
            action_description: describe(&row, &data),
            timestamp: format_micros(row.created_at),
            account: row.account,
            action: row.action,
            name: row.name,
            actor: row.actor,
            data,
        }
    }
}

/// Counts one query of `principal`; 429 past the limit.
fn limit_queries(app: &App, principal: &Principal) -> Result<(), Error> {
    let quota = app.audit_queries.hit(&principal.account_name);
    if quota.exceeded {
        return Err(Error::RateLimited {
            retry_after_secs: quota.retry_after_secs.max(1),
        });
    }
    Ok(())
}

/// The audit log actions Wharf records, by group.
#[utoipa::path(
    get,
    path = "/v2/auditlogs/{account}/actions",
    tag = "audit-logs",
    operation_id = "AuditLogs_ListAuditActions",
    params(("account" = String, Path, description = "Namespace to query audit log actions for")),
    responses(
        (status = 200, description = "The actions", body = GetAuditActionsResponse),
        (status = 429, description = "Rate limit exceeded"),
        WriteErrors,
    )
)]
pub async fn actions(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(account): Path<String>,
) -> AuditResult<Json<GetAuditActionsResponse>> {
    limit_queries(&app, &principal)?;
    app.audit_actions(&principal, &account).await?;
    let actions = catalogue()
        .into_iter()
        .map(|(group, actions)| {
            let actions = actions
                .into_iter()
                .map(|a| AuditLogAction {
                    name: a.name.to_string(),
                    description: a.description.to_string(),
                    label: a.label.to_string(),
                })
                .collect();
            let label = group_label(group).to_string();
            (group.to_string(), AuditLogActions { actions, label })
        })
        .collect();
    Ok(Json(GetAuditActionsResponse { actions }))
}

/// The audit log events of an account, newest first.
#[utoipa::path(
    get,
    path = "/v2/auditlogs/{account}",
    tag = "audit-logs",
    operation_id = "AuditLogs_ListAuditLogs",
    params(("account" = String, Path, description = "Namespace to query audit logs for"), AuditLogParams),
    responses(
        (status = 200, description = "The events", body = GetAuditLogsResponse),
        (status = 429, description = "Rate limit exceeded"),
        WriteErrors,
    )
)]
pub async fn list(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(account): Path<String>,
    HubQuery(params): HubQuery<AuditLogParams>,
) -> AuditResult<Json<GetAuditLogsResponse>> {
    limit_queries(&app, &principal)?;
    let query = AuditQuery {
        action: params.action.as_deref(),
        name: params.name.as_deref(),
        actor: params.actor.as_deref(),
        from: params.from.as_deref(),
        to: params.to.as_deref(),
        page: params.page.as_deref(),
        page_size: params.page_size.as_deref(),
    };
    let rows = app.audit_logs(&principal, &account, &query).await?;
    Ok(Json(GetAuditLogsResponse {
        logs: rows.into_iter().map(AuditLog::from).collect(),
    }))
}
