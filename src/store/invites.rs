//! Rows of `invites`. An invite is `pending` until it is accepted, declined or cancelled;
//! rows are kept afterwards as the record of what happened.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct InviteRow {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub inviter_name: String,
    pub invitee: String,
    pub invitee_user_id: Option<String>,
    pub invitee_email: Option<String>,
    pub role: String,
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub sent_at: i64,
}

pub struct NewInvite<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub inviter_id: &'a str,
    pub inviter_name: &'a str,
    pub invitee: &'a str,
    pub invitee_user_id: Option<&'a str>,
    pub invitee_email: Option<&'a str>,
    pub role: &'a str,
    pub team_id: Option<i64>,
    pub now: i64,
}

const SELECT: &str = "SELECT i.id, i.org_id, o.name AS org_name, i.inviter_name, i.invitee, \
     i.invitee_user_id, i.invitee_email, i.role, i.team_id, t.name AS team_name, i.status, \
     i.created_at, i.sent_at \
     FROM invites i JOIN organizations o ON o.id = i.org_id LEFT JOIN teams t ON t.id = i.team_id";

fn from_row(row: &AnyRow) -> Result<InviteRow, sqlx::Error> {
    Ok(InviteRow {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        org_name: row.try_get("org_name")?,
        inviter_name: row.try_get("inviter_name")?,
        invitee: row.try_get("invitee")?,
        invitee_user_id: row.try_get("invitee_user_id")?,
        invitee_email: row.try_get("invitee_email")?,
        role: row.try_get("role")?,
        team_id: row.try_get("team_id")?,
        team_name: row.try_get("team_name")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

impl Store {
    pub async fn insert_invite(&self, tx: &mut Tx, invite: NewInvite<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invites (id, org_id, inviter_id, inviter_name, invitee, invitee_user_id, \
             invitee_email, role, team_id, status, created_at, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10)",
        )
        .bind(invite.id)
        .bind(invite.org_id)
        .bind(invite.inviter_id)
        .bind(invite.inviter_name)
        .bind(invite.invitee)
        .bind(invite.invitee_user_id)
        .bind(invite.invitee_email)
        .bind(invite.role)
        .bind(invite.team_id)
        .bind(invite.now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The invite with this id, whatever its status.
    pub async fn invite(&self, id: &str) -> StoreResult<Option<InviteRow>> {
        let row = sqlx::query(&format!("{SELECT} WHERE i.id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Pending invites of `org_id`, oldest first.
    pub async fn pending_invites_of_org(&self, org_id: &str) -> StoreResult<Vec<InviteRow>> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE i.org_id = $1 AND i.status = 'pending' ORDER BY i.created_at, i.id"
        ))
        .bind(org_id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Pending invites addressed to a user: by account, or by the user's email address.
    pub async fn pending_invites_for(&self, user_id: &str, email: &str) -> StoreResult<Vec<InviteRow>> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE i.status = 'pending' AND (i.invitee_user_id = $1 OR i.invitee_email = $2) \
             ORDER BY i.created_at, i.id"
        ))
        .bind(user_id)
        .bind(email)
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Moves a pending invite to `status`; false when it was no longer pending (someone
    /// else answered or cancelled it first).
    pub async fn resolve_invite(&self, tx: &mut Tx, id: &str, status: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE invites SET status = $1, resolved_at = $2 WHERE id = $3 AND status = 'pending'",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that a pending invite was sent again.
    pub async fn touch_invite(&self, tx: &mut Tx, id: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE invites SET sent_at = $1 WHERE id = $2 AND status = 'pending'")
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
