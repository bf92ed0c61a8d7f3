//! Secrets: passwords (argon2id), high-entropy tokens (SHA-256), constant-time checks.

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Hashes a password with argon2id (the crate's default parameters: 19 MiB, 2 passes, 1
/// lane) and a random salt, in the PHC string format.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(Error::internal)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_argon2_memory(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, blocks)
    })
    .map_err(Error::internal)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(Error::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(Error::internal)?),
    };
    Ok(hash.to_string())
}

/// Runs `work` on argon2's working memory of `blocks` blocks, taken from a pool and given
/// back after, instead of 19 MiB allocated and freed on every password check. The pool
/// holds at most one buffer per concurrent check ([`argon2_off_thread`] allows one per
/// core). Why it matters: glibc keeps a freed block of that size in its arena, one per busy
/// thread, and a burst of logins left hundreds of MiB resident that were never used again
/// (the 200-client load test: 670 MiB, 80 MiB with the pool).
fn with_argon2_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    static POOL: std::sync::Mutex<Vec<Vec<Block>>> = std::sync::Mutex::new(Vec::new());
    let taken = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop();
    let mut memory = match taken {
        Some(memory) if memory.len() == blocks => memory,
        _ => vec![Block::default(); blocks],
    };
    let result = work(&mut memory);
    // Buffers of other sizes (hashes with other parameters) are not kept.
    if blocks == Params::default().block_count() {
        POOL.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(memory);
    }
    result
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

/// Checks a password against a stored argon2 hash (PHC string; the parameters are the
/// hash's own). The comparison is constant-time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(expected), Some(salt)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.hash,
        parsed.salt,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = with_argon2_memory(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, blocks)
    });
    computed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
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

    /// Hashes made here are standard PHC strings that the argon2 crate's own verifier
    /// accepts, and hashes made by the crate (older stores, other parameters) verify here.
    #[test]
    fn hashes_are_interchangeable_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong horse", &parsed)
            .is_err());

        let salt = SaltString::generate(&mut OsRng);
        let cheap = Params::new(8 * 1024, 1, 1, None).unwrap();
        for argon2 in [
            Argon2::default(),
            Argon2::new(Algorithm::Argon2id, Version::V0x13, cheap),
        ] {
            let theirs = argon2.hash_password(b"correct horse", &salt).unwrap().to_string();
            assert!(verify_password("correct horse", &theirs), "{theirs}");
            assert!(!verify_password("wrong horse", &theirs), "{theirs}");
        }
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
