//! Session tokens: the JWTs that `/v2/users/login`, `/v2/users/2fa-login` and
//! `/v2/auth/token` hand out, and the short-lived 2FA challenge token.
//!
//! Signed with HS256 under a key kept in the store (created on first start), so tokens
//! survive restarts and hold on every instance that shares the store. A JWT only says who
//! the caller claims to be and with which credential; every request re-checks that the
//! user and credential are still valid (see `auth.rs`), so revocation does not wait for
//! expiry.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

const ISSUER: &str = "wharf";
const KIND_ACCESS: &str = "access";
const KIND_SECOND_FACTOR: &str = "2fa";
const KIND_REGISTRY: &str = "registry";

/// Which credential a session was opened with; what is re-checked on every request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionCredential {
    /// Valid while the user's password epoch is unchanged.
    Password { epoch: i64 },
    /// Valid while the token exists, is active and has not expired.
    Pat { id: String },
    /// An organization access token; the session's subject is the organization. Valid
    /// while the token exists, is active and has not expired.
    Oat { id: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// User id.
    sub: String,
    /// Username, for humans reading a token; never trusted over `sub`.
    username: String,
    /// `access` or `2fa`.
    typ: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cred: Option<SessionCredential>,
    jti: String,
    iat: i64,
    exp: i64,
    /// Registry tokens: what was granted, per repository (Docker's token format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access: Option<Vec<RegistryAccess>>,
}

/// One grant of a registry token: `{"type": "repository", "name": "ns/repo", "actions": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryAccess {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// A verified registry token's content.
#[derive(Debug, Clone)]
pub struct RegistrySession {
    /// The account it was issued to and the credential used; `None` for anonymous.
    pub session: Option<Session>,
    pub access: Vec<RegistryAccess>,
    pub expired: bool,
}

/// A verified access token's content.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub credential: SessionCredential,
}

/// Signs and verifies session tokens.
#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl SessionKeys {
    pub fn new(secret: &[u8]) -> SessionKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        SessionKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    fn sign(&self, claims: &Claims) -> Result<String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(Error::internal)
    }

    fn verify(&self, token: &str, kind: &str) -> Option<Claims> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        (claims.typ == kind).then_some(claims)
    }

    /// An access token for `user_id`, valid `ttl_secs` from `now`.
    pub fn issue_access(
        &self,
        user_id: &str,
        username: &str,
        credential: SessionCredential,
        now_secs: i64,
        ttl_secs: i64,
    ) -> Result<String> {
        self.sign(&Claims {
            iss: ISSUER.into(),
            sub: user_id.into(),
            username: username.into(),
            typ: KIND_ACCESS.into(),
            cred: Some(credential),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now_secs,
            exp: now_secs + ttl_secs,
            access: None,
        })
    }

    /// A registry token granting `access`, for `session`'s account (or anonymous).
    pub fn issue_registry(
        &self,
        session: Option<&Session>,
        access: Vec<RegistryAccess>,
        now_secs: i64,
        ttl_secs: i64,
    ) -> Result<String> {
        self.sign(&Claims {
            iss: ISSUER.into(),
            sub: session.map(|s| s.user_id.clone()).unwrap_or_default(),
            username: String::new(),
            typ: KIND_REGISTRY.into(),
            cred: session.map(|s| s.credential.clone()),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now_secs,
            exp: now_secs + ttl_secs,
            access: Some(access),
        })
    }

    /// Verifies a registry token's signature, issuer and kind. Expiry is reported rather
    /// than refused: an upload in progress outlives its token (see the registry's upload
    /// routes); everything else refuses an expired token.
    pub fn verify_registry(&self, token: &str) -> Option<RegistrySession> {
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        let claims = decode::<Claims>(token, &self.decoding, &validation).ok()?.claims;
        if claims.typ != KIND_REGISTRY {
            return None;
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Some(RegistrySession {
            session: claims.cred.map(|credential| Session {
                user_id: claims.sub,
                credential,
            }),
            access: claims.access.unwrap_or_default(),
            expired: claims.exp <= now,
        })
    }

    /// Verifies signature, issuer, kind and expiry of an access token.
    pub fn verify_access(&self, token: &str) -> Option<Session> {
        let claims = self.verify(token, KIND_ACCESS)?;
        Some(Session {
            user_id: claims.sub,
            credential: claims.cred?,
        })
    }

    /// The token that carries a pending 2FA login; `challenge_id` makes it single-use.
    pub fn issue_second_factor(
        &self,
        user_id: &str,
        username: &str,
        challenge_id: &str,
        now_secs: i64,
        ttl_secs: i64,
    ) -> Result<String> {
        self.sign(&Claims {
            iss: ISSUER.into(),
            sub: user_id.into(),
            username: username.into(),
            typ: KIND_SECOND_FACTOR.into(),
            cred: None,
            jti: challenge_id.into(),
            iat: now_secs,
            exp: now_secs + ttl_secs,
            access: None,
        })
    }

    /// Verifies a 2FA token; returns (user id, challenge id).
    pub fn verify_second_factor(&self, token: &str) -> Option<(String, String)> {
        let claims = self.verify(token, KIND_SECOND_FACTOR)?;
        Some((claims.sub, claims.jti))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_their_kind_and_key() {
        let keys = SessionKeys::new(b"0123456789abcdef0123456789abcdef");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let access = keys
            .issue_access("u1", "alice", SessionCredential::Password { epoch: 3 }, now, 600)
            .unwrap();
        let session = keys.verify_access(&access).unwrap();
        assert_eq!(session.user_id, "u1");
        assert_eq!(session.credential, SessionCredential::Password { epoch: 3 });
        assert!(keys.verify_second_factor(&access).is_none());

        let second = keys.issue_second_factor("u1", "alice", "c1", now, 300).unwrap();
        assert!(keys.verify_access(&second).is_none());
        assert_eq!(
            keys.verify_second_factor(&second),
            Some(("u1".into(), "c1".into()))
        );

        let other = SessionKeys::new(b"another key another key another k");
        assert!(other.verify_access(&access).is_none());
        let expired = keys
            .issue_access(
                "u1",
                "alice",
                SessionCredential::Password { epoch: 3 },
                now - 1000,
                600,
            )
            .unwrap();
        assert!(keys.verify_access(&expired).is_none());
    }
}
