//! `invites` group: bulk invites, the organization's pending invites, cancel and resend;
//! and the invitee's side (extensions): their pending invites, accept, decline.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::invites::{BulkInvite, InviteOutcome};
use crate::http::auth::Caller;
use crate::http::error::HubResult;
use crate::http::extract::JsonBody;
use crate::http::openapi::{ErrorBody, ReadErrors};
use crate::store::InviteRow;
use crate::timefmt::format_micros;

/// An invite (`invite`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Invite {
    pub id: String,
    pub inviter_username: String,
    /// The Docker ID or email address invited.
    pub invitee: String,
    pub org: String,
    /// The team the invitee joins on accepting; empty for none.
    pub team: String,
    /// The role the invitee gets: `owner`, `editor` or `member`.
    pub role: String,
    pub created_at: String,
}

impl From<InviteRow> for Invite {
    fn from(row: InviteRow) -> Invite {
        Invite {
            id: row.id,
            inviter_username: row.inviter_name,
            invitee: row.invitee,
            org: row.org_name,
            team: row.team_name.unwrap_or_default(),
            role: row.role,
            created_at: format_micros(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteList {
    pub data: Vec<Invite>,
}

impl InviteList {
    fn from_rows(rows: Vec<InviteRow>) -> Json<InviteList> {
        Json(InviteList {
            data: rows.into_iter().map(Invite::from).collect(),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkInviteRequest {
    /// Organization name.
    pub org: String,
    /// Team the invitees join.
    pub team: Option<String>,
    /// Role of the invitees (default `member`).
    pub role: Option<String>,
    /// Docker IDs or email addresses.
    pub invitees: Vec<String>,
    /// Validate only; change nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkInviteOutcome {
    pub invitee: String,
    /// `invited`, `existing_org_member`, `already_invited` or `invalid_email_or_docker_id`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite: Option<Invite>,
}

impl From<InviteOutcome> for BulkInviteOutcome {
    fn from(outcome: InviteOutcome) -> BulkInviteOutcome {
        BulkInviteOutcome {
            invitee: outcome.invitee,
            status: outcome.status.as_str().into(),
            invite: outcome.invite.map(Invite::from),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkInviteResponse {
    pub invitees: Vec<BulkInviteOutcome>,
}

/// List org invites: the pending ones. Owners only.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/invites",
    tag = "invites",
    operation_id = "getV2OrgsByOrgNameInvites",
    params(("org_name" = String, Path, description = "Name of the organization")),
    responses(
        (status = 200, description = "Pending invites", body = InviteList),
        ReadErrors,
    )
)]
pub async fn list_for_org(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
) -> HubResult<Json<InviteList>> {
    Ok(InviteList::from_rows(
        app.org_invites(&principal, &org_name).await?,
    ))
}

/// Bulk create invites by Docker ID or email, with a status per invitee. Owners only.
#[utoipa::path(
    post,
    path = "/v2/invites/bulk",
    tag = "invites",
    operation_id = "postV2InvitesBulk",
    params(("X-Analytics-Client-Feature" = Option<String>, Header, description = "Accepted and ignored")),
    request_body = BulkInviteRequest,
    responses(
        (status = 202, description = "Accepted", body = BulkInviteResponse),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "Forbidden", body = ErrorBody),
        (status = 404, description = "No such organization or team", body = ErrorBody),
    )
)]
pub async fn bulk(
    State(app): State<App>,
    Caller(principal): Caller,
    JsonBody(body, ..): JsonBody<BulkInviteRequest>,
) -> HubResult<(StatusCode, Json<BulkInviteResponse>)> {
    let request = BulkInvite {
        org: &body.org,
        team: body.team.as_deref(),
        role: body.role.as_deref(),
        invitees: &body.invitees,
        dry_run: body.dry_run.unwrap_or(false),
    };
    let outcomes = app.bulk_invite(&principal, &request).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(BulkInviteResponse {
            invitees: outcomes.into_iter().map(BulkInviteOutcome::from).collect(),
        }),
    ))
}

/// Cancel an invite. Owners of its organization only.
#[utoipa::path(
    delete,
    path = "/v2/invites/{id}",
    tag = "invites",
    operation_id = "deleteV2InvitesById",
    params(("id" = String, Path, description = "ID of the invitation")),
    responses(
        (status = 204, description = "Cancelled"),
        ReadErrors,
    )
)]
pub async fn cancel(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> HubResult<StatusCode> {
    app.cancel_invite(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resend an invite. Any owner of its organization.
#[utoipa::path(
    patch,
    path = "/v2/invites/{id}/resend",
    tag = "invites",
    operation_id = "patchV2InvitesByIdResend",
    params(("id" = String, Path, description = "ID of the invitation")),
    responses(
        (status = 204, description = "Resent"),
        ReadErrors,
    )
)]
pub async fn resend(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> HubResult<StatusCode> {
    app.resend_invite(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's pending invites (extension): how an invitee finds them without email.
#[utoipa::path(
    get,
    path = "/v2/user/invites",
    tag = "wharf-extensions",
    operation_id = "ListCurrentUserInvites",
    responses(
        (status = 200, description = "Pending invites addressed to the caller", body = InviteList),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "An organization access token", body = ErrorBody),
    )
)]
pub async fn mine(State(app): State<App>, Caller(principal): Caller) -> HubResult<Json<InviteList>> {
    Ok(InviteList::from_rows(app.my_invites(&principal).await?))
}

/// Accept an invite (extension): the invitee joins the organization with its role and team.
#[utoipa::path(
    post,
    path = "/v2/invites/{id}/accept",
    tag = "wharf-extensions",
    operation_id = "AcceptInvite",
    params(("id" = String, Path, description = "ID of the invitation")),
    responses(
        (status = 204, description = "Joined"),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "The token may not answer invites", body = ErrorBody),
        (status = 404, description = "No pending invite with this id for the caller", body = ErrorBody),
    )
)]
pub async fn accept(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> HubResult<StatusCode> {
    app.accept_invite(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Decline an invite (extension).
#[utoipa::path(
    post,
    path = "/v2/invites/{id}/decline",
    tag = "wharf-extensions",
    operation_id = "DeclineInvite",
    params(("id" = String, Path, description = "ID of the invitation")),
    responses(
        (status = 204, description = "Declined"),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "The token may not answer invites", body = ErrorBody),
        (status = 404, description = "No pending invite with this id for the caller", body = ErrorBody),
    )
)]
pub async fn decline(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> HubResult<StatusCode> {
    app.decline_invite(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
