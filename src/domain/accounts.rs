//! User accounts: creation, passwords, two-factor enrolment.

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::{secrets, totp};
use crate::app::App;
use crate::store::{now_micros, NewUser, UserRow};

/// Names that are Hub API path prefixes under `/v2/` and so can never be namespaces.
pub const RESERVED_NAMES: &[&str] = &[
    "users",
    "user",
    "auth",
    "access-tokens",
    "auditlogs",
    "orgs",
    "namespaces",
    "repositories",
    "invites",
    "scim",
    "library",
    "openapi",
    "healthz",
    "_catalog",
];

pub const MIN_PASSWORD_LEN: usize = 8;
/// Bounds the work one login can cause (argon2 hashes the whole input).
pub const MAX_PASSWORD_LEN: usize = 512;

/// Docker IDs: 4 to 30 characters, lowercase letters and digits only.
pub fn validate_username(name: &str) -> Result<()> {
    validate_namespace_name("username", name)
}

/// The naming rule of every namespace (user or organization), reported against `field`:
/// 4 to 30 characters, lowercase letters and digits, and not a Hub API path prefix.
pub fn validate_namespace_name(field: &str, name: &str) -> Result<()> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !(4..=30).contains(&name.len()) || !ok_chars {
        return Err(Error::bad_request(format!(
            "{field}: must be 4 to 30 characters, lowercase letters and digits only"
        )));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(Error::bad_request(format!("{field}: {name:?} is reserved")));
    }
    Ok(())
}

/// A plausible address: one `@`, something on both sides, a dot in the domain, no spaces.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_ascii_lowercase();
    let valid = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.contains('@')
               && !domain.starts_with('.') && !domain.ends_with('.'));
    if !valid {
        return Err(Error::bad_request("email: not a valid email address"));
    }
    Ok(email)
}

pub fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::bad_request(format!(
            "password: must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Error::bad_request(format!(
            "password: must be at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(())
}

impl App {
    /// Creates a user account.
    pub async fn create_user(
        &self,
        actor: &Actor,
        username: &str,
        email: &str,
        password: &str,
    ) -> Result<UserRow> {
        validate_username(username)?;
        let email = normalize_email(email)?;
        validate_password(password)?;
        let hash = secrets::hash_password_off_thread(password).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let new_user = NewUser {
            id: &id,
            username,
            email: &email,
            password_hash: &hash,
            created_at: now_micros(),
        };
        let mut tx = self.store.begin().await?;
        self.store.insert_user(&mut tx, new_user).await?;
        self.commit_audited(tx, actor, Event::new(audit::ACCOUNT_CREATE, username, username))
            .await?;
        self.user_named(username).await
    }

    /// The user called `username`, or 404.
    pub async fn user_named(&self, username: &str) -> Result<UserRow> {
        self.store
            .user_by_name(username)
            .await?
            .ok_or_else(|| Error::not_found(format!("user {username:?} not found")))
    }

    /// Replaces a user's password; every session opened with the old one ends.
    pub async fn set_password(&self, actor: &Actor, username: &str, password: &str) -> Result<()> {
        validate_password(password)?;
        let user = self.user_named(username).await?;
        let hash = secrets::hash_password_off_thread(password).await?;
        let mut tx = self.store.begin().await?;
        self.store.set_password(&mut tx, &user.id, &hash).await?;
        self.commit_audited(
            tx,
            actor,
            Event::new(audit::ACCOUNT_PASSWORD_CHANGE, username, username),
        )
        .await
    }

    /// Enables TOTP 2FA with a new secret and returns the `otpauth://` URI to enrol.
    /// Enabling again replaces the secret (the old authenticator entry stops working).
    pub async fn enable_two_factor(&self, actor: &Actor, username: &str) -> Result<String> {
        let user = self.user_named(username).await?;
        let secret = totp::new_secret();
        let uri = totp::otpauth_uri(&secret, &user.username)?;
        let mut tx = self.store.begin().await?;
        self.store
            .set_totp_secret(&mut tx, &user.id, Some(&secret))
            .await?;
        self.commit_audited(
            tx,
            actor,
            Event::new(audit::ACCOUNT_TWO_FACTOR_ENABLE, username, username),
        )
        .await?;
        Ok(uri)
    }

    pub async fn disable_two_factor(&self, actor: &Actor, username: &str) -> Result<()> {
        let user = self.user_named(username).await?;
        let mut tx = self.store.begin().await?;
        self.store.set_totp_secret(&mut tx, &user.id, None).await?;
        self.commit_audited(
            tx,
            actor,
            Event::new(audit::ACCOUNT_TWO_FACTOR_DISABLE, username, username),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("a1b2").is_ok());
        for bad in [
            "abc",
            "Alice",
            "al-ice",
            "al ice",
            "users",
            "orgs",
            &"a".repeat(31),
        ] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(normalize_email(" A@Example.com ").unwrap(), "a@example.com");
        for bad in ["", "a", "a@b", "@b.c", "a@.c", "a b@c.d", "a@b@c.d"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
