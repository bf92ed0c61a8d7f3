//! Rows of `audit_events`: append-only. There is no update here on purpose, and the only
//! delete is the retention period's, of events older than it.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreResult, Tx};

/// Which events of an account a query of the log returns.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter<'a> {
    pub account: &'a str,
    /// A full action name (`repo.tag.push`).
    pub action: Option<&'a str>,
    pub name: Option<&'a str>,
    pub actor: Option<&'a str>,
    /// From this time on (microseconds), inclusive.
    pub from: Option<i64>,
    /// Up to this time (microseconds), inclusive.
    pub to: Option<i64>,
}

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

    /// A page of the events `filter` selects, newest first. Served by the index on
    /// `(account, created_at, id)`; the other filters narrow what it walks.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter<'_>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT account, action, name, actor, credential, data, created_at FROM audit_events WHERE account = $1",
        );
        let mut texts: Vec<&str> = vec![filter.account];
        for (column, value) in [
            ("action", filter.action),
            ("name", filter.name),
            ("actor", filter.actor),
        ] {
            if let Some(value) = value {
                texts.push(value);
                sql.push_str(&format!(" AND {column} = ${}", texts.len()));
            }
        }
        let mut numbers = Vec::new();
        for (op, value) in [(">=", filter.from), ("<=", filter.to)] {
            if let Some(value) = value {
                numbers.push(value);
                sql.push_str(&format!(" AND created_at {op} ${}", texts.len() + numbers.len()));
            }
        }
        let next = texts.len() + numbers.len();
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
            next + 1,
            next + 2
        ));
        let mut query = sqlx::query(&sql);
        for text in texts {
            query = query.bind(text);
        }
        for number in numbers {
            query = query.bind(number);
        }
        let rows = query.bind(limit).bind(offset).fetch_all(self.reader()).await?;
        Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
    }

    /// Deletes the events older than `before` (microseconds): the retention period.
    pub async fn prune_audit(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_events WHERE created_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
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
