//! RFC 6238 time-based one-time passwords: SHA-1, 6 digits, 30-second steps, as every
//! authenticator app expects.

use totp_rs::{Algorithm, Secret, TOTP};

use super::error::{Error, Result};
use super::secrets::constant_time_eq;

const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
pub const ISSUER: &str = "Wharf";

/// A new random 160-bit secret, base32 as authenticator apps take it.
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

fn totp(secret_b32: &str, account: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string())
        .to_bytes()
        .map_err(|e| Error::internal(format!("stored TOTP secret is invalid: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        bytes,
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .map_err(|e| Error::internal(format!("TOTP set-up failed: {e}")))
}

/// The `otpauth://totp/…?secret=…` URI to enrol the secret in an authenticator app.
pub fn otpauth_uri(secret_b32: &str, account: &str) -> Result<String> {
    Ok(totp(secret_b32, account)?.get_url())
}

/// The current code, for tests and tooling.
pub fn code_at(secret_b32: &str, unix_secs: u64) -> Result<String> {
    Ok(totp(secret_b32, "x")?.generate(unix_secs))
}

/// The time step whose code `code` is, within ±1 step of `now`, or `None`. The caller
/// stores the step so the same code (or an older one) is never accepted twice.
pub fn matching_step(secret_b32: &str, code: &str, now_unix_secs: u64) -> Result<Option<i64>> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret_b32, "x")?;
    let current = now_unix_secs / STEP_SECS;
    let mut found = None;
    // Check every candidate step, not stopping at the first match, so timing does not
    // reveal which one matched.
    for step in [current.saturating_sub(1), current, current + 1] {
        if constant_time_eq(&totp.generate(step * STEP_SECS), code) {
            found = Some(step as i64);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_adjacent_steps_only() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(
            matching_step(&secret, &code, now).unwrap(),
            Some((now / 30) as i64)
        );
        assert!(matching_step(&secret, &code, now + 30).unwrap().is_some());
        assert!(matching_step(&secret, &code, now - 30).unwrap().is_some());
        assert_eq!(matching_step(&secret, &code, now + 90).unwrap(), None);
        assert_eq!(matching_step(&secret, "12345", now).unwrap(), None);
        assert_eq!(matching_step(&secret, "abcdef", now).unwrap(), None);
    }

    #[test]
    fn uri_names_issuer_and_secret() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/"));
        assert!(uri.contains(&format!("secret={secret}")));
    }
}
