//! Rows of `org_access_tokens`. As for personal tokens, only the secret's SHA-256 is kept.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{conflict_on_unique, flag, Store, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct OatRow {
    pub id: String,
    pub org_id: String,
    pub label: String,
    pub description: String,
    /// JSON array of `{type, path, scopes}`.
    pub resources: String,
    pub is_active: bool,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

pub struct NewOat<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub label: &'a str,
    pub description: &'a str,
    pub secret_sha256: &'a str,
    pub resources: &'a str,
    pub created_by: &'a str,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// A partial update; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct OatUpdate<'a> {
    pub label: Option<&'a str>,
    pub description: Option<&'a str>,
    pub resources: Option<&'a str>,
    pub is_active: Option<bool>,
}

const COLUMNS: &str = "id, org_id, label, description, resources, is_active, created_by, \
                       created_at, expires_at, last_used_at";

fn from_row(row: &AnyRow) -> Result<OatRow, sqlx::Error> {
    Ok(OatRow {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        label: row.try_get("label")?,
        description: row.try_get("description")?,
        resources: row.try_get("resources")?,
        is_active: row.try_get::<i64, _>("is_active")? != 0,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl Store {
    pub async fn insert_oat(&self, tx: &mut Tx, oat: NewOat<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO org_access_tokens (id, org_id, label, description, secret_sha256, resources, \
             created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(oat.id)
        .bind(oat.org_id)
        .bind(oat.label)
        .bind(oat.description)
        .bind(oat.secret_sha256)
        .bind(oat.resources)
        .bind(oat.created_by)
        .bind(oat.created_at)
        .bind(oat.expires_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "token collision"))?;
        Ok(())
    }

    /// One of `org_id`'s tokens; another organization's token id is "not found".
    pub async fn oat(&self, org_id: &str, id: &str) -> StoreResult<Option<OatRow>> {
        let sql = format!("SELECT {COLUMNS} FROM org_access_tokens WHERE id = $1 AND org_id = $2");
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(org_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The token with this secret hash, whatever its state.
    pub async fn oat_by_secret_hash(&self, secret_sha256: &str) -> StoreResult<Option<OatRow>> {
        let sql = format!("SELECT {COLUMNS} FROM org_access_tokens WHERE secret_sha256 = $1");
        let row = sqlx::query(&sql)
            .bind(secret_sha256)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// A page of `org_id`'s tokens, newest first, and their number.
    pub async fn list_oats(&self, org_id: &str, offset: i64, limit: i64) -> StoreResult<(Vec<OatRow>, i64)> {
        let total = sqlx::query("SELECT COUNT(*) AS n FROM org_access_tokens WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(self.reader())
            .await?
            .try_get("n")?;
        let sql = format!(
            "SELECT {COLUMNS} FROM org_access_tokens WHERE org_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
    }

    /// Applies `update`; false when `org_id` has no such token.
    pub async fn update_oat(
        &self,
        tx: &mut Tx,
        org_id: &str,
        id: &str,
        update: &OatUpdate<'_>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE org_access_tokens SET label = COALESCE($1, label), \
             description = COALESCE($2, description), resources = COALESCE($3, resources), \
             is_active = COALESCE($4, is_active) WHERE id = $5 AND org_id = $6",
        )
        .bind(update.label)
        .bind(update.description)
        .bind(update.resources)
        .bind(update.is_active.map(flag))
        .bind(id)
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_oat(&self, tx: &mut Tx, org_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM org_access_tokens WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_oat(&self, id: &str, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE org_access_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
