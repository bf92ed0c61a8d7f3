//! Authentication: secrets in, session tokens out, and the per-request re-check of a
//! session token against the store.
//!
//! Brute-force protection counts *failures* per account and per client address: a caller
//! that keeps getting its credentials right is never refused, one that guesses gets 429
//! once either counter is exhausted.

use std::net::IpAddr;

use super::error::{Error, Result};
use super::policy::{Credential, OatResource, Principal, RepoScope};
use super::secrets::{self, OAT_PREFIX, PAT_PREFIX};
use super::session::{Session, SessionCredential};
use super::totp;
use crate::app::App;
use crate::store::{now_micros, ChallengeState, OatRow, OrgRow, PatRow, UserRow};

/// The message of every failed credential check: it never says which part was wrong.
pub const BAD_CREDENTIALS: &str = "Incorrect authentication credentials";
/// How long a pending 2FA login stays open.
const SECOND_FACTOR_TTL_SECS: i64 = 300;
/// Wrong codes one pending 2FA login tolerates before it is void.
const SECOND_FACTOR_MAX_ATTEMPTS: i64 = 5;

/// A verified secret: the user and the credential it was.
struct Authenticated {
    user: UserRow,
    credential: SessionCredential,
}

fn now_secs() -> i64 {
    now_micros() / 1_000_000
}

impl App {
    /// `POST /v2/users/login`: a password or PAT in, a session token out, or
    /// [`Error::SecondFactorRequired`] when a password login needs its second step.
    pub async fn login(&self, username: &str, secret: &str, client: IpAddr) -> Result<String> {
        if secret.starts_with(OAT_PREFIX) {
            // As on Docker Hub: organization tokens work with `/v2/auth/token` only.
            return Err(Error::unauthorized("Cannot log into an organization account"));
        }
        let found = self.check_secret(username, secret, client).await?;
        if matches!(found.credential, SessionCredential::Password { .. }) && found.user.totp_secret.is_some()
        {
            let challenge = uuid::Uuid::new_v4().to_string();
            let now = now_secs();
            self.store
                .insert_challenge(
                    &challenge,
                    &found.user.id,
                    (now + SECOND_FACTOR_TTL_SECS) * 1_000_000,
                )
                .await?;
            let token = self.sessions.issue_second_factor(
                &found.user.id,
                &found.user.username,
                &challenge,
                now,
                SECOND_FACTOR_TTL_SECS,
            )?;
            return Err(Error::SecondFactorRequired {
                login_2fa_token: token,
            });
        }
        self.open_session(&found).await
    }

    /// `POST /v2/users/2fa-login`: the second step of a 2FA login. The 2FA token is
    /// single-use and allows a few attempts; a TOTP code is accepted once only.
    pub async fn login_second_factor(
        &self,
        login_2fa_token: &str,
        code: &str,
        client: IpAddr,
    ) -> Result<String> {
        let (user_id, challenge) = self
            .sessions
            .verify_second_factor(login_2fa_token)
            .ok_or_else(|| Error::unauthorized(BAD_CREDENTIALS))?;
        let user = self
            .store
            .user_by_id(&user_id)
            .await?
            .ok_or_else(|| Error::unauthorized(BAD_CREDENTIALS))?;
        self.refuse_if_guessing(&user.username, client)?;
        let ChallengeState::Open { user_id: owner } = self
            .store
            .attempt_challenge(&challenge, now_micros(), SECOND_FACTOR_MAX_ATTEMPTS)
            .await?
        else {
            return Err(Error::unauthorized(
                "The 2FA token is invalid, expired or already used",
            ));
        };
        let secret = match (&user.totp_secret, owner == user.id && user.is_active) {
            (Some(secret), true) => secret.clone(),
            _ => return Err(Error::unauthorized(BAD_CREDENTIALS)),
        };
        let step = totp::matching_step(&secret, code, now_secs().max(0) as u64)?;
        let accepted = match step {
            Some(step) => self.store.claim_totp_step(&user.id, step).await?,
            None => false,
        };
        if !accepted {
            self.count_failure(&user.username, client);
            return Err(Error::unauthorized(
                "Incorrect or already used authentication code",
            ));
        }
        if !self.store.consume_challenge(&challenge).await? {
            return Err(Error::unauthorized(
                "The 2FA token is invalid, expired or already used",
            ));
        }
        self.login_failures.reset(&account_key(&user.username));
        let epoch = user.password_epoch;
        self.open_session(&Authenticated {
            user,
            credential: SessionCredential::Password { epoch },
        })
        .await
    }

    /// `POST /v2/auth/token`: identifier and secret in, an access token out. A password
    /// does not bypass 2FA: accounts with 2FA exchange a personal access token here.
    pub async fn exchange_token(&self, identifier: &str, secret: &str, client: IpAddr) -> Result<String> {
        let session = self.verify_credentials(identifier, secret, client).await?;
        if !matches!(session.credential, SessionCredential::Oat { .. }) {
            self.store.touch_login(&session.user_id, now_micros()).await?;
        }
        // The name in the token is informational only; the id is what is checked.
        self.sessions.issue_access(
            &session.user_id,
            &identifier.trim().to_ascii_lowercase(),
            session.credential,
            now_secs(),
            self.settings.token_ttl_secs as i64,
        )
    }

    /// Verifies an identifier and secret as `/v2/auth/token` and the registry's `/token`
    /// take them: a username with a password (not on 2FA accounts) or a PAT, or an
    /// organization's name with one of its OATs.
    pub async fn verify_credentials(
        &self,
        identifier: &str,
        secret: &str,
        client: IpAddr,
    ) -> Result<Session> {
        if secret.starts_with(OAT_PREFIX) {
            let (org, oat) = self.check_org_token(identifier, secret, client).await?;
            return Ok(Session {
                user_id: org.id,
                credential: SessionCredential::Oat { id: oat.id },
            });
        }
        let found = self.check_secret(identifier, secret, client).await?;
        if matches!(found.credential, SessionCredential::Password { .. }) && found.user.totp_secret.is_some()
        {
            return Err(Error::unauthorized(
                "two-factor authentication is enabled on this account: use a personal access token",
            ));
        }
        Ok(Session {
            user_id: found.user.id,
            credential: found.credential,
        })
    }

    /// Checks the bearer token of a request and re-checks, against the store, that its
    /// user and credential are still valid. Revocation is effective here, immediately.
    pub async fn principal_for(&self, bearer: &str) -> Result<Principal> {
        let session = self
            .sessions
            .verify_access(bearer)
            .ok_or_else(|| Error::unauthorized("invalid or expired token"))?;
        self.principal_of(&session).await
    }

    /// The principal of a verified session, if its account and credential are still
    /// valid: the per-request re-check that makes revocation immediate.
    pub async fn principal_of(&self, session: &Session) -> Result<Principal> {
        let invalid = || Error::unauthorized("invalid or expired token");
        if let SessionCredential::Oat { id } = &session.credential {
            return self
                .org_principal(&session.user_id, id)
                .await?
                .ok_or_else(invalid);
        }
        let user = self
            .store
            .user_by_id(&session.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(invalid)?;
        let credential = match &session.credential {
            SessionCredential::Password { epoch } if *epoch == user.password_epoch => Credential::Password,
            SessionCredential::Password { .. } => return Err(invalid()),
            SessionCredential::Oat { .. } => return Err(invalid()),
            SessionCredential::Pat { id } => {
                let pat = self.store.pat(&user.id, id).await?.ok_or_else(invalid)?;
                if !pat_usable(&pat, now_micros()) {
                    return Err(invalid());
                }
                Credential::Pat {
                    id: pat.id,
                    label: pat.label,
                    scope: pat_scope(&pat.scopes),
                }
            }
        };
        Ok(Principal {
            account_id: user.id,
            account_name: user.username,
            credential,
        })
    }

    /// The organization acting through OAT `token_id`, if the token is still usable.
    async fn org_principal(&self, org_id: &str, token_id: &str) -> Result<Option<Principal>> {
        let Some(oat) = self.store.oat(org_id, token_id).await? else {
            return Ok(None);
        };
        let Some(org) = self.store.org_by_id(org_id).await? else {
            return Ok(None);
        };
        if !oat_usable(&oat, now_micros()) {
            return Ok(None);
        }
        Ok(Some(Principal {
            account_id: org.id,
            account_name: org.name,
            credential: Credential::Oat {
                resources: oat_resources(&oat.resources),
                id: oat.id,
                label: oat.label,
            },
        }))
    }

    /// An organization access token, with the organization's name as the identifier.
    async fn check_org_token(
        &self,
        identifier: &str,
        secret: &str,
        client: IpAddr,
    ) -> Result<(OrgRow, OatRow)> {
        let org_name = identifier.trim().to_ascii_lowercase();
        self.refuse_if_guessing(&org_name, client)?;
        let found = match self
            .store
            .oat_by_secret_hash(&secrets::token_hash(secret))
            .await?
        {
            Some(oat) if oat_usable(&oat, now_micros()) => self
                .store
                .org_by_id(&oat.org_id)
                .await?
                .filter(|org| org.name == org_name)
                .map(|org| (org, oat)),
            _ => None,
        };
        let Some((org, oat)) = found else {
            self.count_failure(&org_name, client);
            return Err(Error::unauthorized(BAD_CREDENTIALS));
        };
        self.login_failures.reset(&account_key(&org_name));
        self.store.touch_oat(&oat.id, now_micros()).await?;
        Ok((org, oat))
    }

    fn refuse_if_guessing(&self, username: &str, client: IpAddr) -> Result<()> {
        let account = self.login_failures.peek(&account_key(username));
        let address = self.login_failures.peek(&address_key(client));
        if account.exceeded || address.exceeded {
            return Err(Error::RateLimited {
                retry_after_secs: account.retry_after_secs.max(address.retry_after_secs),
            });
        }
        Ok(())
    }

    fn count_failure(&self, username: &str, client: IpAddr) {
        self.login_failures.hit(&account_key(username));
        self.login_failures.hit(&address_key(client));
    }

    /// Verifies `secret` (a password or a PAT) for `username`.
    async fn check_secret(&self, username: &str, secret: &str, client: IpAddr) -> Result<Authenticated> {
        // Usernames are lowercase; `Alice` logs in as `alice`, as on Docker Hub.
        let username = username.trim().to_ascii_lowercase();
        let username = username.as_str();
        self.refuse_if_guessing(username, client)?;
        let user = self.store.user_by_name(username).await?;
        let found = if secret.starts_with(PAT_PREFIX) {
            self.check_pat(user, secret).await?
        } else {
            let password = secret.to_string();
            secrets::argon2_off_thread(move || check_password(user, &password)).await?
        };
        match found {
            Some(found) => {
                self.login_failures.reset(&account_key(username));
                Ok(found)
            }
            None => {
                self.count_failure(username, client);
                Err(Error::unauthorized(BAD_CREDENTIALS))
            }
        }
    }

    async fn check_pat(&self, user: Option<UserRow>, secret: &str) -> Result<Option<Authenticated>> {
        let Some(pat) = self
            .store
            .pat_by_secret_hash(&secrets::token_hash(secret))
            .await?
        else {
            return Ok(None);
        };
        let now = now_micros();
        let Some(user) = user.filter(|u| u.id == pat.user_id && u.is_active) else {
            return Ok(None);
        };
        if !pat_usable(&pat, now) {
            return Ok(None);
        }
        self.store.touch_pat(&pat.id, now).await?;
        Ok(Some(Authenticated {
            user,
            credential: SessionCredential::Pat { id: pat.id },
        }))
    }

    async fn open_session(&self, found: &Authenticated) -> Result<String> {
        let now = now_secs();
        self.store.touch_login(&found.user.id, now_micros()).await?;
        self.sessions.issue_access(
            &found.user.id,
            &found.user.username,
            found.credential.clone(),
            now,
            self.settings.token_ttl_secs as i64,
        )
    }
}

fn check_password(user: Option<UserRow>, password: &str) -> Option<Authenticated> {
    // Unknown users cost a verification too, so timing does not reveal who exists.
    let stored = user
        .as_ref()
        .map_or(secrets::dummy_password_hash(), |u| u.password_hash.as_str());
    let valid =
        password.len() <= super::accounts::MAX_PASSWORD_LEN && secrets::verify_password(password, stored);
    let user = user.filter(|u| valid && u.is_active)?;
    let epoch = user.password_epoch;
    Some(Authenticated {
        user,
        credential: SessionCredential::Password { epoch },
    })
}

/// Active and not expired.
pub fn pat_usable(pat: &PatRow, now: i64) -> bool {
    pat.is_active && pat.expires_at.is_none_or(|at| at > now)
}

/// Active and not expired.
pub fn oat_usable(oat: &OatRow, now: i64) -> bool {
    oat.is_active && oat.expires_at.is_none_or(|at| at > now)
}

/// The resources stored on an OAT. They are written validated; should a row not parse,
/// the token reaches nothing rather than something.
pub fn oat_resources(stored: &str) -> Vec<OatResource> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// The scope stored on a token. Tokens are written with valid scopes only; should a row
/// hold something unknown, it gets the least scope, never more.
pub fn pat_scope(stored: &str) -> RepoScope {
    stored
        .split_whitespace()
        .filter_map(RepoScope::parse)
        .max()
        .unwrap_or(RepoScope::PublicRead)
}

fn account_key(username: &str) -> String {
    format!("account:{username}")
}

fn address_key(client: IpAddr) -> String {
    format!("address:{client}")
}
