//! Rows of `login_challenges`: the pending second step of a 2FA login.

use sqlx::Row;

use super::{Store, StoreResult};

/// What a 2FA attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum ChallengeState {
    /// The challenge is open and belongs to this user; this attempt has been counted.
    Open { user_id: String },
    /// Unknown, already used, expired or out of attempts.
    Gone,
}

impl Store {
    pub async fn insert_challenge(&self, id: &str, user_id: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO login_challenges (id, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(user_id)
            .bind(expires_at)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Counts one attempt against the challenge and tells whether it may still be answered.
    /// The increment and the check are one statement, so parallel guesses cannot exceed
    /// `max_attempts`.
    pub async fn attempt_challenge(
        &self,
        id: &str,
        now: i64,
        max_attempts: i64,
    ) -> StoreResult<ChallengeState> {
        let row = sqlx::query(
            "UPDATE login_challenges SET attempts = attempts + 1 \
             WHERE id = $1 AND expires_at > $2 AND attempts < $3 RETURNING user_id",
        )
        .bind(id)
        .bind(now)
        .bind(max_attempts)
        .fetch_optional(self.writer())
        .await?;
        Ok(match row {
            Some(row) => ChallengeState::Open {
                user_id: row.try_get("user_id")?,
            },
            None => ChallengeState::Gone,
        })
    }

    /// Consumes the challenge; false when another request consumed it first.
    pub async fn consume_challenge(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM login_challenges WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Drops expired challenges.
    pub async fn prune_challenges(&self, now: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM login_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }
}
