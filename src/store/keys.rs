//! Rows of `signing_keys`: secrets every instance sharing the store must agree on.

use sqlx::Row;

use super::{Store, StoreResult};

impl Store {
    /// Returns the key named `name`, storing `candidate` first if there is none yet. When
    /// several instances start at once, exactly one candidate wins and all read it back.
    pub async fn signing_key_or_insert(&self, name: &str, candidate: &str, now: i64) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO signing_keys (name, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now)
        .execute(self.writer())
        .await?;
        let row = sqlx::query("SELECT secret FROM signing_keys WHERE name = $1")
            .bind(name)
            .fetch_one(self.writer())
            .await?;
        Ok(row.try_get("secret")?)
    }
}
