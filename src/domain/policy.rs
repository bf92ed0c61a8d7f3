//! Who may do what: every authorization decision Wharf makes is taken here.
//!
//! Effective rights are always the credential's scopes **intersected** with what the
//! principal itself may do, never added: a `repo:read` token of an owner can read, not
//! delete. Handlers ask [`authorize`] and never decide on their own.
//!
//! ## Rules
//!
//! | action                         | password session | PAT session                         | anonymous |
//! |--------------------------------|------------------|-------------------------------------|-----------|
//! | `ReadOwnAccount`               | yes              | yes (any scope)                     | no (401)  |
//! | `ManageOwnAccessTokens`        | yes              | no (403): a token cannot mint or    | no (401)  |
//! |                                |                  | manage tokens, so a leaked PAT can  |           |
//! |                                |                  | not entrench itself                 |           |
//!
//! PAT scopes form a chain, `repo:admin` ⊃ `repo:write` ⊃ `repo:read` ⊃ `repo:public_read`;
//! they bound repository actions, which arrive with the registry.

use std::fmt;

use super::error::{Error, Result};

/// A personal access token's scope. Ordered: a higher scope includes every lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RepoScope {
    PublicRead,
    Read,
    Write,
    Admin,
}

impl RepoScope {
    pub const ALL: [RepoScope; 4] = [
        RepoScope::Admin,
        RepoScope::Write,
        RepoScope::Read,
        RepoScope::PublicRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RepoScope::PublicRead => "repo:public_read",
            RepoScope::Read => "repo:read",
            RepoScope::Write => "repo:write",
            RepoScope::Admin => "repo:admin",
        }
    }

    pub fn parse(s: &str) -> Option<RepoScope> {
        RepoScope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// The one scope a set of requested scopes amounts to: the highest (requesting
    /// `repo:write` and `repo:read` keeps only `repo:write`). Unknown names are an error.
    pub fn from_requested(requested: &[String]) -> Result<RepoScope> {
        let mut best = None;
        for name in requested {
            let scope = RepoScope::parse(name).ok_or_else(|| {
                Error::bad_request(format!(
                    "scopes: unknown scope {name:?}; valid scopes are repo:admin, repo:write, repo:read, repo:public_read"
                ))
            })?;
            best = best.max(Some(scope));
        }
        best.ok_or_else(|| Error::bad_request("scopes: at least one scope is required"))
    }
}

impl fmt::Display for RepoScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A password (and second factor where enabled): the user's full power.
    Password,
    /// A personal access token, bounded by its scope.
    Pat {
        id: String,
        label: String,
        scope: RepoScope,
    },
}

/// An authenticated caller, freshly re-checked against the store for this request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub username: String,
    pub credential: Credential,
}

impl Principal {
    /// The label of the access token in use, for audit events.
    pub fn token_label(&self) -> Option<&str> {
        match &self.credential {
            Credential::Password => None,
            Credential::Pat { label, .. } => Some(label),
        }
    }
}

/// Something a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadOwnAccount,
    ManageOwnAccessTokens,
}

/// Decides whether `principal` (or an anonymous caller, `None`) may perform `action`.
pub fn authorize(principal: Option<&Principal>, action: Action) -> Result<()> {
    let Some(principal) = principal else {
        return Err(Error::unauthorized("authentication required"));
    };
    match (action, &principal.credential) {
        (Action::ReadOwnAccount, _) => Ok(()),
        (Action::ManageOwnAccessTokens, Credential::Password) => Ok(()),
        (Action::ManageOwnAccessTokens, Credential::Pat { .. }) => Err(Error::forbidden(
            "access tokens can only be managed from a password login, not with an access token",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(credential: Credential) -> Principal {
        Principal {
            user_id: "u".into(),
            username: "alice".into(),
            credential,
        }
    }

    fn pat(scope: RepoScope) -> Credential {
        Credential::Pat {
            id: "t".into(),
            label: "ci".into(),
            scope,
        }
    }

    /// The rules table above, as a matrix: (action, credential, allowed).
    #[test]
    fn matrix() {
        let password = Some(principal(Credential::Password));
        let admin_pat = Some(principal(pat(RepoScope::Admin)));
        let read_pat = Some(principal(pat(RepoScope::Read)));
        let cases: Vec<(Action, Option<&Principal>, Option<u16>)> = vec![
            (Action::ReadOwnAccount, password.as_ref(), None),
            (Action::ReadOwnAccount, read_pat.as_ref(), None),
            (Action::ReadOwnAccount, None, Some(401)),
            (Action::ManageOwnAccessTokens, password.as_ref(), None),
            (Action::ManageOwnAccessTokens, admin_pat.as_ref(), Some(403)),
            (Action::ManageOwnAccessTokens, read_pat.as_ref(), Some(403)),
            (Action::ManageOwnAccessTokens, None, Some(401)),
        ];
        for (action, who, expected) in cases {
            let got = match authorize(who, action) {
                Ok(()) => None,
                Err(Error::Unauthorized(_)) => Some(401),
                Err(Error::Forbidden(_)) => Some(403),
                Err(other) => panic!("unexpected {other:?}"),
            };
            assert_eq!(got, expected, "{action:?} by {who:?}");
        }
    }

    #[test]
    fn scopes_collapse_to_the_highest() {
        let req = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            RepoScope::from_requested(&req(&["repo:read", "repo:write"])).unwrap(),
            RepoScope::Write
        );
        assert_eq!(
            RepoScope::from_requested(&req(&["repo:public_read"])).unwrap(),
            RepoScope::PublicRead
        );
        assert!(RepoScope::from_requested(&req(&[])).is_err());
        assert!(RepoScope::from_requested(&req(&["repo:everything"])).is_err());
        assert!(RepoScope::Admin > RepoScope::Write && RepoScope::Read > RepoScope::PublicRead);
    }
}
