//! Rows of `users`.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::namespaces::NamespaceKind;
use super::{conflict_on_unique, flag, Store, StoreError, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub password_hash: String,
    pub password_epoch: i64,
    pub is_active: bool,
    pub totp_secret: Option<String>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub created_at: i64,
}

const COLUMNS: &str = "id, username, email, full_name, password_hash, password_epoch, \
                       is_active, totp_secret, created_at, last_login_at";

fn from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        full_name: row.try_get("full_name")?,
        password_hash: row.try_get("password_hash")?,
        password_epoch: row.try_get("password_epoch")?,
        is_active: row.try_get::<i64, _>("is_active")? != 0,
        totp_secret: row.try_get("totp_secret")?,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}

impl Store {
    pub async fn insert_user(&self, tx: &mut Tx, user: NewUser<'_>) -> StoreResult<()> {
        self.claim_namespace(tx, user.username, NamespaceKind::User)
            .await?;
        sqlx::query(
            "INSERT INTO users (id, username, email, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user.id)
        .bind(user.username)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.created_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "username or email already in use"))?;
        Ok(())
    }

    pub async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The user with this (lowercased) email address.
    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.reader()).await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Replaces the password hash and bumps the epoch, which revokes every session that
    /// was opened with the old password.
    pub async fn set_password(&self, tx: &mut Tx, user_id: &str, hash: &str) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, password_epoch = password_epoch + 1 WHERE id = $2",
        )
        .bind(hash)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets (or with `None` clears) the TOTP secret, resetting the replay guard.
    pub async fn set_totp_secret(&self, tx: &mut Tx, user_id: &str, secret: Option<&str>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE id = $2")
            .bind(secret)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records that the TOTP code of time step `step` was used. Returns false when that
    /// step (or a later one) was already used: the atomic replay guard, correct across
    /// instances because the comparison happens in the database.
    pub async fn claim_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_active(&self, tx: &mut Tx, user_id: &str, active: bool) -> StoreResult<()> {
        sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
            .bind(flag(active))
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn touch_login(&self, user_id: &str, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(at)
            .bind(user_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
