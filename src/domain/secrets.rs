//! Secrets: passwords (argon2id), high-entropy tokens (SHA-256), constant-time checks.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{Error, Result};

/// Prefix of personal access tokens, as on Docker Hub, so that tools and secret scanners
/// recognise them.
pub const PAT_PREFIX: &str = "dckr_pat_";
/// Organization access tokens start with this, as on Docker Hub.
pub const OAT_PREFIX: &str = "dckr_oat_";

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// [`hash_password`], through [`argon2_off_thread`].
pub async fn hash_password_off_thread(password: &str) -> Result<String> {
    let password = password.to_string();
    argon2_off_thread(move || hash_password(&password)).await?
}

/// Runs an argon2 computation on the blocking pool (it is deliberately slow and must not
/// hold up the async workers), at most one per core at a time: each takes 19 MiB, so a
/// burst of logins waits its turn instead of growing memory with the burst.
pub async fn argon2_off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let _permit = permits.acquire().await.map_err(Error::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(Error::internal)
}

/// Checks a password against a stored argon2 hash (the comparison is constant-time).
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash that takes as long as a real verification, for unknown users, so that response
/// times do not reveal which usernames exist.
pub fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("wharf-timing-equaliser").unwrap_or_default())
}

/// A new random token secret: `prefix` followed by 36 alphanumerics (~214 bits).
pub fn generate_token(prefix: &str) -> String {
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(36)
        .map(char::from)
        .collect();
    format!("{prefix}{body}")
}

/// Random bytes as URL-safe base64, for signing keys and ids that must not be guessed.
pub fn random_key(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill(buf.as_mut_slice());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a token secret, hex-encoded: what the store keeps and looks tokens up by.
/// High-entropy secrets need no slow hash; a lookup by hash is itself constant-time with
/// respect to the secret.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time string equality.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn tokens_have_prefix_and_entropy() {
        let a = generate_token(PAT_PREFIX);
        let b = generate_token(PAT_PREFIX);
        assert!(a.starts_with(PAT_PREFIX));
        assert_eq!(a.len(), PAT_PREFIX.len() + 36);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
    }
}
