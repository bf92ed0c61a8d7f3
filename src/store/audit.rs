//! Rows of `audit_events`: append-only. There is no update or delete here on purpose.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreResult, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub account: String,
    pub action: String,
    pub name: String,
    pub actor: String,
    /// The label of the access token the actor used, if any (never the secret).
    pub credential: Option<String>,
    /// A JSON object of strings.
    pub data: String,
    pub created_at: i64,
}

fn from_row(row: &AnyRow) -> Result<AuditRow, sqlx::Error> {
    Ok(AuditRow {
        account: row.try_get("account")?,
        action: row.try_get("action")?,
        name: row.try_get("name")?,
        actor: row.try_get("actor")?,
        credential: row.try_get("credential")?,
        data: row.try_get("data")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Appends an event inside the transaction of the change it records.
    pub async fn insert_audit(&self, tx: &mut Tx, event: &AuditRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (account, action, name, actor, credential, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&event.account)
        .bind(&event.action)
        .bind(&event.name)
        .bind(&event.actor)
        .bind(&event.credential)
        .bind(&event.data)
        .bind(event.created_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The newest events of `account`, newest first. (The filtered query API comes with
    /// the audit log endpoints; this is what tests and the admin CLI read meanwhile.)
    pub async fn recent_audit(&self, account: &str, limit: i64) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query(
            "SELECT account, action, name, actor, credential, data, created_at \
             FROM audit_events WHERE account = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(account)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
    }
}
