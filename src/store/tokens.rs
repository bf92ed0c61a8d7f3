//! Rows of `personal_access_tokens`. Secrets are never stored: only their SHA-256.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{conflict_on_unique, flag, Store, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct PatRow {
    pub id: String,
    pub user_id: String,
    pub label: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub is_active: bool,
    pub client_id: String,
    pub generated_by: String,
    pub creator_ip: String,
    pub creator_ua: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

pub struct NewPat<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub label: &'a str,
    pub secret_sha256: &'a str,
    pub scopes: &'a str,
    pub client_id: &'a str,
    pub generated_by: &'a str,
    pub creator_ip: &'a str,
    pub creator_ua: &'a str,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// A partial update; `None` leaves a column as it is.
#[derive(Default)]
pub struct PatUpdate<'a> {
    pub label: Option<&'a str>,
    pub is_active: Option<bool>,
}

const COLUMNS: &str = "id, user_id, label, scopes, is_active, client_id, generated_by, \
                       creator_ip, creator_ua, created_at, expires_at, last_used_at";

fn from_row(row: &AnyRow) -> Result<PatRow, sqlx::Error> {
    Ok(PatRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        label: row.try_get("label")?,
        scopes: row.try_get("scopes")?,
        is_active: row.try_get::<i64, _>("is_active")? != 0,
        client_id: row.try_get("client_id")?,
        generated_by: row.try_get("generated_by")?,
        creator_ip: row.try_get("creator_ip")?,
        creator_ua: row.try_get("creator_ua")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl Store {
    pub async fn insert_pat(&self, tx: &mut Tx, pat: NewPat<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO personal_access_tokens (id, user_id, label, secret_sha256, scopes, \
             client_id, generated_by, creator_ip, creator_ua, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(pat.id)
        .bind(pat.user_id)
        .bind(pat.label)
        .bind(pat.secret_sha256)
        .bind(pat.scopes)
        .bind(pat.client_id)
        .bind(pat.generated_by)
        .bind(pat.creator_ip)
        .bind(pat.creator_ua)
        .bind(pat.created_at)
        .bind(pat.expires_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "token collision"))?;
        Ok(())
    }

    /// The token with this secret hash, whatever its state; the caller decides whether it
    /// may be used (active, not expired).
    pub async fn pat_by_secret_hash(&self, secret_sha256: &str) -> StoreResult<Option<PatRow>> {
        let sql = format!("SELECT {COLUMNS} FROM personal_access_tokens WHERE secret_sha256 = $1");
        let row = sqlx::query(&sql)
            .bind(secret_sha256)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// One of `user_id`'s tokens; another user's token id is "not found".
    pub async fn pat(&self, user_id: &str, id: &str) -> StoreResult<Option<PatRow>> {
        let sql = format!("SELECT {COLUMNS} FROM personal_access_tokens WHERE id = $1 AND user_id = $2");
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// A page of `user_id`'s tokens, newest first, with the total and active counts.
    pub async fn list_pats(
        &self,
        user_id: &str,
        offset: i64,
        limit: i64,
        now: i64,
    ) -> StoreResult<(Vec<PatRow>, i64, i64)> {
        let counts = sqlx::query(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN is_active = 1 AND (expires_at IS NULL OR expires_at > $2) \
                          THEN 1 ELSE 0 END), 0) AS active \
             FROM personal_access_tokens WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(self.reader())
        .await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM personal_access_tokens WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        let rows = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok((rows, counts.try_get("total")?, counts.try_get("active")?))
    }

    /// Applies `update` to one of `user_id`'s tokens; false when there is no such token.
    pub async fn update_pat(
        &self,
        tx: &mut Tx,
        user_id: &str,
        id: &str,
        update: &PatUpdate<'_>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE personal_access_tokens SET label = COALESCE($1, label), \
             is_active = COALESCE($2, is_active) WHERE id = $3 AND user_id = $4",
        )
        .bind(update.label)
        .bind(update.is_active.map(flag))
        .bind(id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_pat(&self, tx: &mut Tx, user_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM personal_access_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_pat(&self, id: &str, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE personal_access_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
