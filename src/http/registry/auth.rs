//! Docker registry token auth: the `/token` endpoint, and the check of a registry token on
//! every registry request (with the `WWW-Authenticate` challenge when it falls short).

use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine;
use serde::Serialize;

use super::Rejection;
use crate::app::App;
use crate::domain::policy::{Principal, RepoAction};
use crate::domain::registry::RepoName;
use crate::domain::session::RegistryAccess;
use crate::domain::{Error, RegistryCode};
use crate::http::error::{ApiError, Oci};
use crate::http::extract::{client_ip, public_base};

/// A registry request's caller, from its bearer token. `principal` is re-checked against
/// the store (revocation is immediate); `access` is what the token grants.
pub struct RegistryCaller {
    pub principal: Option<Principal>,
    pub access: Vec<RegistryAccess>,
    /// Whether a token came at all (no token: challenge).
    pub has_token: bool,
    pub expired: bool,
    /// Where to send the client for a token.
    realm: String,
    service: String,
}

impl FromRequestParts<App> for RegistryCaller {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let base = public_base(parts, &app.settings);
        let service = service_name(&base);
        let realm = format!("{base}/token");
        let mut caller = RegistryCaller {
            principal: None,
            access: Vec::new(),
            has_token: false,
            expired: false,
            realm,
            service,
        };
        let Some(token) = crate::http::auth::bearer_token(parts) else {
            return Ok(caller);
        };
        let Some(verified) = app.sessions.verify_registry(token) else {
            return Err(caller.challenge(None, "invalid registry token"));
        };
        if let Some(session) = &verified.session {
            match app.principal_of(session).await {
                Ok(principal) => caller.principal = Some(principal),
                Err(_) => return Err(caller.challenge(None, "the token's credential is no longer valid")),
            }
        }
        caller.access = verified.access;
        caller.has_token = true;
        caller.expired = verified.expired;
        Ok(caller)
    }
}

impl RegistryCaller {
    /// 401 with the challenge that tells the client where to get a token for `scope`.
    pub fn challenge(&self, scope: Option<&str>, message: &str) -> Rejection {
        self.challenge_with(scope, None, message)
    }

    /// A challenge with an `error` parameter (`insufficient_scope`: the token is valid but
    /// grants too little; the client may ask for a new one).
    fn challenge_with(&self, scope: Option<&str>, error: Option<&str>, message: &str) -> Rejection {
        let mut value = format!("Bearer realm=\"{}\",service=\"{}\"", self.realm, self.service);
        if let Some(scope) = scope {
            value.push_str(&format!(",scope=\"{scope}\""));
        }
        if let Some(error) = error {
            value.push_str(&format!(",error=\"{error}\""));
        }
        let mut response =
            ApiError::<Oci>::new(Error::registry(RegistryCode::Unauthorized, message)).into_response();
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response.into()
    }

    /// Checks that the token grants `action` on `name`. Otherwise 401 with a challenge for
    /// the needed scope (`error="insufficient_scope"` when a valid token grants too little),
    /// as Docker's registry does: clients then fetch a token for that scope. An expired
    /// token passes only when `allow_expired` (an upload already under way). Whether the
    /// token's account may do it at all is the policy's question, asked again by the domain
    /// (403 `DENIED`).
    pub fn require(&self, name: &RepoName, action: RepoAction, allow_expired: bool) -> Result<(), Rejection> {
        let path = name.path();
        let scope = match action {
            RepoAction::Push | RepoAction::Create => format!("repository:{path}:pull,push"),
            RepoAction::Delete | RepoAction::DeleteRepository | RepoAction::DeleteTag => {
                format!("repository:{path}:delete")
            }
            // The registry asks only for the three above; the Hub actions map to the
            // nearest registry scope.
            RepoAction::Admin | RepoAction::Edit | RepoAction::EditGroups => {
                format!("repository:{path}:delete")
            }
            RepoAction::Pull | RepoAction::ReadInfo | RepoAction::ReadTags | RepoAction::ReadGroups => {
                format!("repository:{path}:pull")
            }
        };
        if !self.has_token {
            return Err(self.challenge(Some(&scope), "authentication required"));
        }
        if self.expired && !allow_expired {
            return Err(self.challenge(Some(&scope), "the registry token has expired"));
        }
        let granted = self.access.iter().any(|a| {
            a.kind == "repository" && a.name == path && a.actions.iter().any(|x| x == action.as_str())
        });
        if granted {
            return Ok(());
        }
        Err(self.challenge_with(
            Some(&scope),
            Some("insufficient_scope"),
            &format!("the token does not grant {} on {path}", action.as_str()),
        ))
    }

    /// The `/v2/` check: any valid token will do.
    pub fn require_any(&self) -> Result<(), Rejection> {
        if self.has_token && !self.expired {
            Ok(())
        } else {
            Err(self.challenge(None, "authentication required"))
        }
    }
}

/// The `service` of the challenge: the host clients reach us at.
fn service_name(base: &str) -> String {
    url::Url::parse(base)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or_else(|| h.to_string(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| "wharf".into())
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub token: String,
    pub access_token: String,
    pub expires_in: u64,
    pub issued_at: String,
}

/// `GET /token?service=…&scope=…`: a registry token for the requested scopes, as far as
/// the credentials (HTTP Basic: username + password or PAT, organization + OAT; or none,
/// anonymous) and the policy allow. Bad credentials are a 401; scopes that are not
/// allowed are simply not granted.
pub async fn token(State(app): State<App>, parts: Parts) -> Result<Json<TokenResponse>, ApiError<Oci>> {
    let session = match basic_credentials(&parts) {
        Some((identifier, secret)) => Some(
            app.verify_credentials(&identifier, &secret, client_ip(&parts, &app.settings))
                .await
                .map_err(|_| Error::registry(RegistryCode::Unauthorized, "incorrect username or password"))?,
        ),
        None => None,
    };
    let principal = match &session {
        Some(session) => Some(app.principal_of(session).await?),
        None => None,
    };
    let mut access = Vec::new();
    let query = parts.uri.query().unwrap_or("");
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key != "scope" {
            continue;
        }
        // One `scope` parameter may hold several scopes separated by spaces.
        for scope in value.split(' ').filter(|s| !s.is_empty()) {
            if let Some(grant) = app.grant_scope(principal.as_ref(), scope).await? {
                access.push(grant);
            }
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let ttl = app.settings.registry_token_ttl_secs;
    let token = app
        .sessions
        .issue_registry(session.as_ref(), access, now.unix_timestamp(), ttl as i64)?;
    Ok(Json(TokenResponse {
        access_token: token.clone(),
        token,
        expires_in: ttl,
        issued_at: crate::timefmt::format_micros(crate::store::now_micros()),
    }))
}

/// `Authorization: Basic base64(identifier:secret)`.
fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (identifier, secret) = text.split_once(':')?;
    Some((identifier.to_string(), secret.to_string()))
}
