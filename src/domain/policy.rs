//! Who may do what: every authorization decision Wharf makes is taken here.
//!
//! Effective rights are always the credential's bound **intersected** with what the
//! principal itself may do, never added: a `repo:read` token of an owner can read, not
//! delete. Handlers and domain operations ask [`authorize`] or [`authorize_org`] and never
//! decide on their own.
//!
//! ## Principals and credentials
//!
//! A principal is a user (signed in with a password, or with a personal access token, PAT)
//! or an organization (signed in with one of its organization access tokens, OAT).
//! PAT scopes form a chain, `repo:admin` ⊃ `repo:write` ⊃ `repo:read` ⊃ `repo:public_read`.
//! OAT scopes are named per resource (`scope-member-read`, …); a higher scope includes the
//! lower ones of its family (see [`OAT_SCOPES`]).
//!
//! ## Account rules
//!
//! | action                  | password | PAT                      | OAT | anonymous |
//! |-------------------------|----------|--------------------------|-----|-----------|
//! | `ReadOwnAccount`        | yes      | any scope                | 403 | 401       |
//! | `ManageOwnAccessTokens` | yes      | 403: a token cannot mint | 403 | 401       |
//! |                         |          | or manage tokens         |     |           |
//! | `CreateOrg`             | yes      | `repo:admin`             | 403 | 401       |
//! | `RespondToInvite`       | yes      | `repo:admin`             | 403 | 401       |
//!
//! ## Organization rules
//!
//! Roles are ordered `member` < `editor` < `owner`; a user's role is their direct role,
//! raised to `editor` by a team that grants it (owner is only ever granted directly). A user
//! outside the organization gets 403 for everything but the public profile.
//!
//! | action               | least role | PAT at least | OAT scope             | anonymous |
//! |----------------------|------------|--------------|-----------------------|-----------|
//! | `ReadProfile`        | anyone     | any          | any                   | yes       |
//! | `ReadMembers`        | member     | `repo:read`  | `scope-member-read`   | 401       |
//! | `EditMembers`        | owner      | `repo:admin` | `scope-member-edit`   | 401       |
//! | `Leave` (oneself)    | member     | `repo:admin` | 403                   | 401       |
//! | `ReadInvites`        | owner      | `repo:read`  | `scope-invite-read`   | 401       |
//! | `EditInvites`        | owner      | `repo:admin` | `scope-invite-edit`   | 401       |
//! | `ReadTeams`          | member     | `repo:read`  | `scope-group-read`    | 401       |
//! | `EditTeams`          | owner      | `repo:admin` | `scope-group-edit`    | 401       |
//! | `ReadSettings`       | owner      | `repo:read`  | 403                   | 401       |
//! | `EditSettings`       | owner      | `repo:admin` | 403                   | 401       |
//! | `ManageAccessTokens` | owner      | 403          | 403                   | 401       |
//!
//! An OAT acts only for its own organization (403 elsewhere), and never for a user.

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

/// One resource of an organization access token: what it reaches, and with which scopes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OatResource {
    #[serde(rename = "type")]
    pub kind: OatResourceType,
    pub path: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OatResourceType {
    #[serde(rename = "TYPE_REPO")]
    Repo,
    #[serde(rename = "TYPE_ORG")]
    Org,
}

/// Every OAT scope: its resource type, its name, and the scopes it includes.
pub const OAT_SCOPES: &[(OatResourceType, &str, &[&str])] = {
    use OatResourceType::{Org, Repo};
    &[
        (Repo, "scope-image-pull", &[]),
        (Repo, "scope-image-push", &["scope-image-pull"]),
        (
            Repo,
            "scope-image-delete",
            &["scope-image-push", "scope-image-pull"],
        ),
        (Repo, "scope-repository-read", &[]),
        (Repo, "scope-repository-edit", &["scope-repository-read"]),
        (
            Repo,
            "scope-repository-admin",
            &["scope-repository-edit", "scope-repository-read"],
        ),
        (Repo, "scope-tag-read", &[]),
        (Repo, "scope-tag-admin", &["scope-tag-read"]),
        (Repo, "scope-webhook-read", &[]),
        (Repo, "scope-webhook-edit", &["scope-webhook-read"]),
        (
            Repo,
            "scope-webhook-admin",
            &["scope-webhook-edit", "scope-webhook-read"],
        ),
        (Repo, "scope-repo-group-read", &[]),
        (Repo, "scope-repo-group-edit", &["scope-repo-group-read"]),
        (
            Repo,
            "scope-repo-group-admin",
            &["scope-repo-group-edit", "scope-repo-group-read"],
        ),
        (Repo, "scope-repository-settings-admin", &[]),
        (Org, "scope-member-read", &[]),
        (Org, "scope-member-edit", &["scope-member-read"]),
        (Org, "scope-invite-read", &[]),
        (Org, "scope-invite-edit", &["scope-invite-read"]),
        (Org, "scope-group-read", &[]),
        (Org, "scope-group-edit", &["scope-group-read"]),
        (Org, "scope-activity-read", &[]),
        (Org, "scope-siem_credentials-read", &[]),
        (Org, "scope-ram-read", &[]),
        (Org, "scope-ram-write", &["scope-ram-read"]),
        (Org, "scope-report-read", &[]),
        (Org, "scope-repository-create", &[]),
        (Org, "scope-repository-list", &[]),
        (Org, "scope-registry-usage-read", &[]),
        (Org, "scope-cloud-connect", &[]),
        (Org, "scope-audit_events-read", &[]),
        (Org, "scope-governance-policy-read", &[]),
        (
            Org,
            "scope-governance-policy-write",
            &["scope-governance-policy-read"],
        ),
    ]
};

/// Whether `scope` is a known scope for resources of type `kind`.
pub fn oat_scope_known(kind: OatResourceType, scope: &str) -> bool {
    OAT_SCOPES.iter().any(|(k, name, _)| *k == kind && *name == scope)
}

/// Whether holding `granted` includes `needed`.
pub fn oat_scope_includes(granted: &str, needed: &str) -> bool {
    granted == needed
        || OAT_SCOPES
            .iter()
            .any(|(_, name, includes)| *name == granted && includes.contains(&needed))
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
    /// An organization access token: the organization acts, bounded by the token's
    /// resources.
    Oat {
        id: String,
        label: String,
        resources: Vec<OatResource>,
    },
}

/// An authenticated caller, freshly re-checked against the store for this request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account acting: a user, or with an OAT the organization.
    pub account_id: String,
    pub account_name: String,
    pub credential: Credential,
}

impl Principal {
    /// The user acting, if a user acts (not with an OAT).
    pub fn user_id(&self) -> Option<&str> {
        match self.credential {
            Credential::Oat { .. } => None,
            _ => Some(&self.account_id),
        }
    }

    /// The label of the access token in use, for audit events.
    pub fn token_label(&self) -> Option<&str> {
        match &self.credential {
            Credential::Password => None,
            Credential::Pat { label, .. } | Credential::Oat { label, .. } => Some(label),
        }
    }

    /// Whether this OAT holds `scope` (or one including it) on its organization.
    fn oat_has_org_scope(&self, scope: &str) -> bool {
        match &self.credential {
            Credential::Oat { resources, .. } => resources.iter().any(|r| {
                r.kind == OatResourceType::Org
                    && r.scopes.iter().any(|granted| oat_scope_includes(granted, scope))
            }),
            _ => false,
        }
    }
}

/// A role in an organization. Ordered: a higher role may do everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Editor,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Editor, Role::Member];

    /// The lowercase name request bodies and the store use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }

    /// The capitalised name responses show.
    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "Member",
            Role::Editor => "Editor",
            Role::Owner => "Owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Parses a role from a request body; anything else is a 400 naming the valid ones.
    /// (Docker Hub also accepts custom role names; Wharf has no custom roles.)
    pub fn from_request(field: &str, s: &str) -> Result<Role> {
        Role::parse(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
            Error::bad_request(format!(
                "{field}: unknown role {s:?}; valid roles are owner, editor, member"
            ))
        })
    }
}

/// Something a caller wants to do with their own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadOwnAccount,
    ManageOwnAccessTokens,
    CreateOrg,
    RespondToInvite,
}

/// Something a caller wants to do in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAction {
    ReadProfile,
    ReadMembers,
    EditMembers,
    Leave,
    ReadInvites,
    EditInvites,
    ReadTeams,
    EditTeams,
    ReadSettings,
    EditSettings,
    ManageAccessTokens,
}

/// What the caller is to an organization: its role there, if a member.
#[derive(Debug, Clone)]
pub struct OrgStanding {
    pub org_id: String,
    pub org_name: String,
    /// The effective role of a user principal; `None` for non-members and OATs.
    pub role: Option<Role>,
}

/// One row of the organization rules table.
struct OrgRule {
    /// `None`: anyone, even anonymous.
    role: Option<Role>,
    /// The least PAT scope; `None`: PATs are refused.
    pat: Option<RepoScope>,
    /// The OAT scope needed; `None`: OATs are refused.
    oat: Option<&'static str>,
}

fn org_rule(action: OrgAction) -> OrgRule {
    use OrgAction::*;
    let rule = |role, pat, oat| OrgRule { role, pat, oat };
    match action {
        // Public: nothing else is consulted.
        ReadProfile => rule(None, None, None),
        ReadMembers => rule(
            Some(Role::Member),
            Some(RepoScope::Read),
            Some("scope-member-read"),
        ),
        EditMembers => rule(
            Some(Role::Owner),
            Some(RepoScope::Admin),
            Some("scope-member-edit"),
        ),
        Leave => rule(Some(Role::Member), Some(RepoScope::Admin), None),
        ReadInvites => rule(
            Some(Role::Owner),
            Some(RepoScope::Read),
            Some("scope-invite-read"),
        ),
        EditInvites => rule(
            Some(Role::Owner),
            Some(RepoScope::Admin),
            Some("scope-invite-edit"),
        ),
        ReadTeams => rule(
            Some(Role::Member),
            Some(RepoScope::Read),
            Some("scope-group-read"),
        ),
        EditTeams => rule(
            Some(Role::Owner),
            Some(RepoScope::Admin),
            Some("scope-group-edit"),
        ),
        ReadSettings => rule(Some(Role::Owner), Some(RepoScope::Read), None),
        EditSettings => rule(Some(Role::Owner), Some(RepoScope::Admin), None),
        ManageAccessTokens => rule(Some(Role::Owner), None, None),
    }
}

/// The PAT ceiling check shared by account and organization rules.
fn check_pat(scope: RepoScope, least: Option<RepoScope>) -> Result<()> {
    match least {
        None => Err(Error::forbidden(
            "this cannot be done with a personal access token: sign in with a password",
        )),
        Some(least) if scope < least => Err(Error::forbidden(format!(
            "the access token's scope {scope} does not allow this; it needs {least}"
        ))),
        Some(_) => Ok(()),
    }
}

/// Decides whether `principal` (or an anonymous caller, `None`) may perform `action` on
/// their own account.
pub fn authorize(principal: Option<&Principal>, action: Action) -> Result<()> {
    let Some(principal) = principal else {
        return Err(Error::unauthorized("authentication required"));
    };
    let least_pat = match action {
        Action::ReadOwnAccount => Some(RepoScope::PublicRead),
        Action::ManageOwnAccessTokens => None,
        Action::CreateOrg | Action::RespondToInvite => Some(RepoScope::Admin),
    };
    match &principal.credential {
        Credential::Password => Ok(()),
        Credential::Pat { scope, .. } => match (action, least_pat) {
            (Action::ManageOwnAccessTokens, _) => Err(Error::forbidden(
                "access tokens can only be managed from a password login, not with an access token",
            )),
            (_, least) => check_pat(*scope, least),
        },
        Credential::Oat { .. } => Err(Error::forbidden(
            "an organization access token acts for its organization, not for a user",
        )),
    }
}

/// Decides whether `principal` (or an anonymous caller) may perform `action` in the
/// organization described by `standing`.
pub fn authorize_org(principal: Option<&Principal>, standing: &OrgStanding, action: OrgAction) -> Result<()> {
    let rule = org_rule(action);
    let Some(least_role) = rule.role else {
        return Ok(());
    };
    let Some(principal) = principal else {
        return Err(Error::unauthorized("authentication required"));
    };
    match &principal.credential {
        Credential::Oat { .. } => {
            if principal.account_id != standing.org_id {
                return Err(Error::forbidden(
                    "this organization access token belongs to another organization",
                ));
            }
            match rule.oat {
                None => Err(Error::forbidden(
                    "this cannot be done with an organization access token",
                )),
                Some(scope) if !principal.oat_has_org_scope(scope) => Err(Error::forbidden(format!(
                    "the organization access token lacks the scope {scope}"
                ))),
                Some(_) => Ok(()),
            }
        }
        credential => {
            let Some(role) = standing.role else {
                return Err(Error::forbidden(format!(
                    "you are not a member of the organization {}",
                    standing.org_name
                )));
            };
            if role < least_role {
                return Err(Error::forbidden(format!(
                    "this needs the {} role in the organization {}",
                    least_role.as_str(),
                    standing.org_name
                )));
            }
            match credential {
                Credential::Pat { scope, .. } => check_pat(*scope, rule.pat),
                _ => Ok(()),
            }
        }
    }
}

/// Something a caller wants to do to a repository's content through the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RepoAction {
    Pull,
    Push,
    Delete,
    /// Change the repository's settings (immutable tags, …).
    Admin,
}

impl RepoAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RepoAction::Pull => "pull",
            RepoAction::Push => "push",
            RepoAction::Delete => "delete",
            RepoAction::Admin => "admin",
        }
    }

    /// The least PAT scope for the action.
    fn least_pat(self) -> RepoScope {
        match self {
            RepoAction::Pull => RepoScope::Read,
            RepoAction::Push => RepoScope::Write,
            RepoAction::Delete | RepoAction::Admin => RepoScope::Admin,
        }
    }

    /// The OAT repository scope the action needs.
    fn oat_scope(self) -> &'static str {
        match self {
            RepoAction::Pull => "scope-image-pull",
            RepoAction::Push => "scope-image-push",
            RepoAction::Delete => "scope-image-delete",
            RepoAction::Admin => "scope-repository-settings-admin",
        }
    }
}

/// Who owns a namespace, as the repository rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceOwner {
    /// A user's own namespace: only that user writes to it.
    User { user_id: String },
    /// An organization's: the caller's effective role there, if any.
    Org { org_id: String, role: Option<Role> },
}

/// What the caller is to a repository (existing or about to be created by a push).
#[derive(Debug, Clone)]
pub struct RepoStanding {
    /// `namespace/name`.
    pub path: String,
    pub owner: NamespaceOwner,
    /// `None`: the repository does not exist yet (a push would create it).
    pub is_private: Option<bool>,
}

/// Decides whether `principal` (or an anonymous caller) may `action` the repository.
///
/// | action   | public repo | user namespace | org owner/editor | org member | PAT at least  | OAT (TYPE_REPO resource matching the repo) |
/// |----------|-------------|----------------|------------------|------------|---------------|--------------------------------------------|
/// | `Pull`   | anyone      | its user       | yes              | public only| `repo:read` (`repo:public_read`: public only) | `scope-image-pull` |
/// | `Push`   | —           | its user       | yes              | no         | `repo:write`  | `scope-image-push`; creating a repository also needs TYPE_ORG `scope-repository-create` |
/// | `Delete` | —           | its user       | yes              | no         | `repo:admin`  | `scope-image-delete` |
/// | `Admin`  | —           | its user       | yes              | no         | `repo:admin`  | `scope-repository-settings-admin` |
///
/// Members get no private repository until teams grant repository access.
pub fn authorize_repo(principal: Option<&Principal>, repo: &RepoStanding, action: RepoAction) -> bool {
    let public = repo.is_private == Some(false);
    if action == RepoAction::Pull && public {
        return true;
    }
    let Some(principal) = principal else {
        return false;
    };
    if let Credential::Oat { resources, .. } = &principal.credential {
        let NamespaceOwner::Org { org_id, .. } = &repo.owner else {
            return false;
        };
        if *org_id != principal.account_id {
            return false;
        }
        // Only a push creates a repository; pulling one that does not exist is a 404.
        let creating = repo.is_private.is_none() && action == RepoAction::Push;
        if creating && !principal.oat_has_org_scope("scope-repository-create") {
            return false;
        }
        return resources.iter().any(|r| {
            r.kind == OatResourceType::Repo
                && oat_path_matches(&r.path, &repo.path, public)
                && r.scopes
                    .iter()
                    .any(|granted| oat_scope_includes(granted, action.oat_scope()))
        });
    }
    let role_allows = match &repo.owner {
        NamespaceOwner::User { user_id } => *user_id == principal.account_id,
        NamespaceOwner::Org { role, .. } => role.is_some_and(|r| r >= Role::Editor),
    };
    if !role_allows {
        return false;
    }
    match &principal.credential {
        Credential::Pat { scope, .. } => *scope >= action.least_pat(),
        _ => true,
    }
}

/// A repository's immutable-tag settings, with its rules compiled.
#[derive(Debug, Clone, Default)]
pub struct TagImmutability {
    pub enabled: bool,
    /// Each rule matches whole tag names.
    pub rules: Vec<regex::Regex>,
}

impl TagImmutability {
    /// Whether `tag` is immutable: the setting is on and a rule matches the whole name.
    pub fn covers(&self, tag: &str) -> bool {
        self.enabled && self.rules.iter().any(|rule| rule.is_match(tag))
    }
}

/// Whether tag `tag`, now at `current` (or new), may be moved to `new` (or, with `None`,
/// deleted). An immutable tag is set once: re-pushing the same digest is fine, moving or
/// deleting it is not. Every path that changes a tag asks this.
pub fn tag_change_allowed(
    immutability: &TagImmutability,
    tag: &str,
    current: Option<&str>,
    new: Option<&str>,
) -> bool {
    match current {
        None => true,
        Some(current) => !immutability.covers(tag) || new == Some(current),
    }
}

/// Whether an OAT resource path (`org/repo`, `org/*`, `*/*/public`) covers `path`.
fn oat_path_matches(pattern: &str, path: &str, public: bool) -> bool {
    if pattern == "*/*/public" {
        return public;
    }
    match pattern.strip_suffix("/*") {
        Some(namespace) => path.split_once('/').is_some_and(|(ns, _)| ns == namespace),
        None => pattern == path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(credential: Credential) -> Principal {
        Principal {
            account_id: "u".into(),
            account_name: "alice".into(),
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
        let org_token = oat(&[]);
        let cases: Vec<(Action, Option<&Principal>, Option<u16>)> = vec![
            (Action::ReadOwnAccount, password.as_ref(), None),
            (Action::ReadOwnAccount, read_pat.as_ref(), None),
            (Action::ReadOwnAccount, None, Some(401)),
            (Action::ManageOwnAccessTokens, password.as_ref(), None),
            (Action::ManageOwnAccessTokens, admin_pat.as_ref(), Some(403)),
            (Action::ManageOwnAccessTokens, read_pat.as_ref(), Some(403)),
            (Action::ManageOwnAccessTokens, None, Some(401)),
            (Action::CreateOrg, password.as_ref(), None),
            (Action::CreateOrg, admin_pat.as_ref(), None),
            (Action::CreateOrg, read_pat.as_ref(), Some(403)),
            (Action::CreateOrg, org_token.as_ref(), Some(403)),
            (Action::RespondToInvite, read_pat.as_ref(), Some(403)),
            (Action::ReadOwnAccount, org_token.as_ref(), Some(403)),
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

    fn oat(scopes: &[&str]) -> Option<Principal> {
        Some(Principal {
            account_id: "org1".into(),
            account_name: "acme".into(),
            credential: Credential::Oat {
                id: "o".into(),
                label: "ci".into(),
                resources: vec![OatResource {
                    kind: OatResourceType::Org,
                    path: "acme".into(),
                    scopes: scopes.iter().map(|s| s.to_string()).collect(),
                }],
            },
        })
    }

    fn code(result: Result<()>) -> u16 {
        match result {
            Ok(()) => 200,
            Err(Error::Unauthorized(_)) => 401,
            Err(Error::Forbidden(_)) => 403,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    /// The organization rules table, row by row: expected outcome for an anonymous caller,
    /// an outsider, a member, an editor, an owner, an owner's `repo:read` and `repo:admin`
    /// PATs, an OAT with every org scope, and an OAT of another organization.
    #[test]
    fn org_matrix() {
        use OrgAction::*;
        let standing = |role| OrgStanding {
            org_id: "org1".into(),
            org_name: "acme".into(),
            role,
        };
        let password = principal(Credential::Password);
        let read_pat = principal(pat(RepoScope::Read));
        let admin_pat = principal(pat(RepoScope::Admin));
        let all_scopes: Vec<&str> = OAT_SCOPES
            .iter()
            .filter(|(k, ..)| *k == OatResourceType::Org)
            .map(|(_, name, _)| *name)
            .collect();
        let full_oat = oat(&all_scopes).unwrap();
        let mut foreign_oat = full_oat.clone();
        foreign_oat.account_id = "org2".into();
        #[rustfmt::skip]
        let rows: &[(OrgAction, [u16; 10])] = &[
            //                   anon outsdr member editor owner rdPAT adPAT  oat  foreign  (oat none)
            (ReadProfile,        [200, 200,   200,   200,   200,  200,  200,  200, 200, 200]),
            (ReadMembers,        [401, 403,   200,   200,   200,  200,  200,  200, 403, 403]),
            (EditMembers,        [401, 403,   403,   403,   200,  403,  200,  200, 403, 403]),
            (Leave,              [401, 403,   200,   200,   200,  403,  200,  403, 403, 403]),
            (ReadInvites,        [401, 403,   403,   403,   200,  200,  200,  200, 403, 403]),
            (EditInvites,        [401, 403,   403,   403,   200,  403,  200,  200, 403, 403]),
            (ReadTeams,          [401, 403,   200,   200,   200,  200,  200,  200, 403, 403]),
            (EditTeams,          [401, 403,   403,   403,   200,  403,  200,  200, 403, 403]),
            (ReadSettings,       [401, 403,   403,   403,   200,  200,  200,  403, 403, 403]),
            (EditSettings,       [401, 403,   403,   403,   200,  403,  200,  403, 403, 403]),
            (ManageAccessTokens, [401, 403,   403,   403,   200,  403,  403,  403, 403, 403]),
        ];
        let empty_oat = oat(&[]).unwrap();
        for (action, expected) in rows {
            let got = [
                code(authorize_org(None, &standing(Some(Role::Owner)), *action)),
                code(authorize_org(Some(&password), &standing(None), *action)),
                code(authorize_org(
                    Some(&password),
                    &standing(Some(Role::Member)),
                    *action,
                )),
                code(authorize_org(
                    Some(&password),
                    &standing(Some(Role::Editor)),
                    *action,
                )),
                code(authorize_org(
                    Some(&password),
                    &standing(Some(Role::Owner)),
                    *action,
                )),
                code(authorize_org(
                    Some(&read_pat),
                    &standing(Some(Role::Owner)),
                    *action,
                )),
                code(authorize_org(
                    Some(&admin_pat),
                    &standing(Some(Role::Owner)),
                    *action,
                )),
                code(authorize_org(Some(&full_oat), &standing(None), *action)),
                code(authorize_org(Some(&foreign_oat), &standing(None), *action)),
                code(authorize_org(Some(&empty_oat), &standing(None), *action)),
            ];
            // ReadProfile is public: every caller gets it, even an OAT without scopes.
            assert_eq!(&got, expected, "{action:?}");
        }
    }

    #[test]
    fn oat_scopes_include_their_lower_scopes() {
        assert!(oat_scope_includes("scope-member-edit", "scope-member-read"));
        assert!(oat_scope_includes("scope-image-delete", "scope-image-pull"));
        assert!(!oat_scope_includes("scope-member-read", "scope-member-edit"));
        assert!(!oat_scope_includes("scope-image-pull", "scope-member-read"));
        assert!(oat_scope_known(OatResourceType::Repo, "scope-image-push"));
        assert!(!oat_scope_known(OatResourceType::Org, "scope-image-push"));
        assert_eq!(Role::from_request("role", "Editor").unwrap(), Role::Editor);
        assert!(Role::from_request("role", "admin").is_err());
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
