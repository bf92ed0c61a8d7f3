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
//! | `ReadActivity`       | owner      | `repo:read`  | `scope-activity-read` | 401       |
//! | `ManageScim`         | owner      | 403          | 403                   | 401       |
//!
//! An OAT acts only for its own organization (403 elsewhere), and never for a user.
//!
//! ## SCIM
//!
//! A SCIM token is no principal of the rules above: it authenticates the organization's
//! identity provider on `/v2/scim/2.0` only, where it may provision that organization's
//! users and teams and nothing else. Every SCIM lookup is scoped to the token's
//! organization, so another organization's users and teams are "not found". Minting the
//! token is `ManageScim`: owners, from a password session.

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

/// Whether a caller may use the legacy `/v2/repositories/…` and `/v2/users/…` reads:
/// anyone but an organization access token, which Docker Hub refuses there (403). What
/// the read then shows is decided by the repository rules.
pub fn authorize_legacy_read(principal: Option<&Principal>) -> Result<()> {
    match principal.map(|p| &p.credential) {
        Some(Credential::Oat { .. }) => Err(Error::forbidden(
            "organization access tokens cannot use this legacy route",
        )),
        _ => Ok(()),
    }
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
    /// Read the organization's audit log.
    ReadActivity,
    /// Mint the organization's SCIM token.
    ManageScim,
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
        ManageAccessTokens | ManageScim => rule(Some(Role::Owner), None, None),
        ReadActivity => rule(
            Some(Role::Owner),
            Some(RepoScope::Read),
            Some("scope-activity-read"),
        ),
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

/// What a team grants on an organization's repository; also the level of access anyone
/// has to a repository. Ordered: each includes the lower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoPermission {
    Read,
    Write,
    Admin,
}

impl RepoPermission {
    pub const ALL: [RepoPermission; 3] = [RepoPermission::Read, RepoPermission::Write, RepoPermission::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            RepoPermission::Read => "read",
            RepoPermission::Write => "write",
            RepoPermission::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<RepoPermission> {
        RepoPermission::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Something a caller wants to do with a repository, through the registry or the Hub API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RepoAction {
    /// Registry pull.
    Pull,
    /// Registry push (a push to a repository that does not exist also needs `Create`).
    Push,
    /// Registry delete of manifests and blobs.
    Delete,
    /// Change the immutable-tag settings.
    Admin,
    /// Create the repository (by push or through the Hub API).
    Create,
    /// Read the repository's Hub API view.
    ReadInfo,
    /// Change description and visibility.
    Edit,
    /// Delete the whole repository.
    DeleteRepository,
    /// Read the Hub API tag views.
    ReadTags,
    /// Delete a tag through the Hub API.
    DeleteTag,
    /// See which teams have access.
    ReadGroups,
    /// Grant, change and revoke team access.
    EditGroups,
}

/// One row of the repository rules table.
struct RepoRule {
    /// The access level the action needs.
    level: RepoPermission,
    /// The least PAT scope (on a private repository; public reads need none).
    pat: RepoScope,
    /// OAT repository scopes, any of which allows the action on a matching resource.
    oat: &'static [&'static str],
}

impl RepoAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RepoAction::Pull => "pull",
            RepoAction::Push => "push",
            RepoAction::Delete => "delete",
            RepoAction::Admin => "admin",
            RepoAction::Create => "create",
            RepoAction::ReadInfo => "read",
            RepoAction::Edit => "edit",
            RepoAction::DeleteRepository => "delete repository",
            RepoAction::ReadTags => "read tags",
            RepoAction::DeleteTag => "delete tag",
            RepoAction::ReadGroups => "read team access",
            RepoAction::EditGroups => "edit team access",
        }
    }

    fn rule(self) -> RepoRule {
        use RepoPermission::{Admin, Read, Write};
        let (level, pat, oat): (RepoPermission, RepoScope, &'static [&'static str]) = match self {
            RepoAction::Pull => (Read, RepoScope::Read, &["scope-image-pull"]),
            RepoAction::Push => (Write, RepoScope::Write, &["scope-image-push"]),
            RepoAction::Delete => (Admin, RepoScope::Admin, &["scope-image-delete"]),
            RepoAction::Admin => (Admin, RepoScope::Admin, &["scope-repository-settings-admin"]),
            // Creation is decided by namespace, not by a repository's access level.
            RepoAction::Create => (Admin, RepoScope::Write, &[]),
            RepoAction::ReadInfo => (
                Read,
                RepoScope::Read,
                &["scope-repository-read", "scope-image-pull"],
            ),
            RepoAction::Edit => (Admin, RepoScope::Admin, &["scope-repository-edit"]),
            RepoAction::DeleteRepository => (Admin, RepoScope::Admin, &["scope-repository-admin"]),
            RepoAction::ReadTags => (Read, RepoScope::Read, &["scope-tag-read", "scope-image-pull"]),
            RepoAction::DeleteTag => (
                Admin,
                RepoScope::Admin,
                &["scope-tag-admin", "scope-image-delete"],
            ),
            RepoAction::ReadGroups => (Admin, RepoScope::Read, &["scope-repo-group-read"]),
            RepoAction::EditGroups => (Admin, RepoScope::Admin, &["scope-repo-group-edit"]),
        };
        RepoRule { level, pat, oat }
    }
}

/// Who owns a namespace, as the repository rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceOwner {
    /// A user's own namespace: only that user writes to it.
    User { user_id: String },
    /// An organization's: the caller's effective role there, if any, and the highest
    /// permission the caller's teams have on the repository.
    Org {
        org_id: String,
        role: Option<Role>,
        team: Option<RepoPermission>,
    },
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

/// The access level a user (password or PAT, before the PAT's ceiling) has to a
/// repository of `owner`: everything in their own namespace and, in an organization, as
/// owner or editor; as a member, what their teams grant.
fn user_level(principal: &Principal, owner: &NamespaceOwner) -> Option<RepoPermission> {
    match owner {
        NamespaceOwner::User { user_id } => {
            (*user_id == principal.account_id).then_some(RepoPermission::Admin)
        }
        NamespaceOwner::Org { role, team, .. } => match role {
            Some(Role::Owner | Role::Editor) => Some(RepoPermission::Admin),
            Some(Role::Member) => *team,
            None => None,
        },
    }
}

/// Decides whether `principal` (or an anonymous caller) may `action` the repository.
///
/// Everyone may do the read actions on a public repository. Otherwise a user has a level
/// (own namespace and organization owner/editor: `admin`; organization member: what their
/// teams grant; anyone else: none), and a PAT caps it:
///
/// | action             | level   | PAT at least | OAT scope (TYPE_REPO resource matching the repo) |
/// |--------------------|---------|--------------|--------------------------------------------------|
/// | `Pull`             | read    | `repo:read`  | `scope-image-pull` |
/// | `Push`             | write   | `repo:write` | `scope-image-push` |
/// | `Delete`           | admin   | `repo:admin` | `scope-image-delete` |
/// | `Admin`            | admin   | `repo:admin` | `scope-repository-settings-admin` |
/// | `ReadInfo`         | read    | `repo:read`  | `scope-repository-read` or `scope-image-pull` |
/// | `Edit`             | admin   | `repo:admin` | `scope-repository-edit` |
/// | `DeleteRepository` | admin   | `repo:admin` | `scope-repository-admin` |
/// | `ReadTags`         | read    | `repo:read`  | `scope-tag-read` or `scope-image-pull` |
/// | `DeleteTag`        | admin   | `repo:admin` | `scope-tag-admin` or `scope-image-delete` |
/// | `ReadGroups`       | admin   | `repo:read`  | `scope-repo-group-read` |
/// | `EditGroups`       | admin   | `repo:admin` | `scope-repo-group-edit` |
/// | `Create`           | own namespace, org owner/editor | `repo:write` | TYPE_ORG `scope-repository-create` |
///
/// A push to a repository that does not exist yet is a `Create` as well. An OAT acts only
/// in its own organization.
pub fn authorize_repo(principal: Option<&Principal>, repo: &RepoStanding, action: RepoAction) -> bool {
    if action == RepoAction::Push
        && repo.is_private.is_none()
        && !authorize_repo(principal, repo, RepoAction::Create)
    {
        return false;
    }
    let rule = action.rule();
    let public = repo.is_private == Some(false);
    if rule.level == RepoPermission::Read && public {
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
        if action == RepoAction::Create {
            return principal.oat_has_org_scope("scope-repository-create");
        }
        return resources.iter().any(|r| {
            r.kind == OatResourceType::Repo
                && oat_path_matches(&r.path, &repo.path, public)
                && r.scopes
                    .iter()
                    .any(|granted| rule.oat.iter().any(|needed| oat_scope_includes(granted, needed)))
        });
    }
    let allowed = match action {
        RepoAction::Create => match &repo.owner {
            NamespaceOwner::User { user_id } => *user_id == principal.account_id,
            NamespaceOwner::Org { role, .. } => role.is_some_and(|r| r >= Role::Editor),
        },
        _ => user_level(principal, &repo.owner).is_some_and(|level| level >= rule.level),
    };
    allowed
        && match &principal.credential {
            Credential::Pat { scope, .. } => *scope >= rule.pat,
            _ => true,
        }
}

/// Which repositories of a namespace a caller sees in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoListing {
    /// Every repository.
    All,
    /// Public repositories only.
    Public,
    /// Public ones, and private ones a team of this user has access to.
    PublicAndTeams { user_id: String },
}

/// What a listing of `owner`'s repositories shows the caller: all of them to whoever may
/// read every one (the namespace's user; organization owners and editors; an OAT of the
/// organization with `scope-repository-list`), public ones plus team grants to members,
/// public ones to everyone else (and to a `repo:public_read` PAT).
pub fn repo_listing(principal: Option<&Principal>, owner: &NamespaceOwner) -> RepoListing {
    let Some(principal) = principal else {
        return RepoListing::Public;
    };
    match &principal.credential {
        Credential::Oat { .. } => {
            let own_org =
                matches!(owner, NamespaceOwner::Org { org_id, .. } if *org_id == principal.account_id);
            if own_org && principal.oat_has_org_scope("scope-repository-list") {
                RepoListing::All
            } else {
                RepoListing::Public
            }
        }
        Credential::Pat { scope, .. } if *scope < RepoScope::Read => RepoListing::Public,
        _ => match owner {
            NamespaceOwner::User { user_id } if *user_id == principal.account_id => RepoListing::All,
            NamespaceOwner::Org {
                role: Some(Role::Owner | Role::Editor),
                ..
            } => RepoListing::All,
            NamespaceOwner::Org {
                role: Some(Role::Member),
                ..
            } => RepoListing::PublicAndTeams {
                user_id: principal.account_id.clone(),
            },
            _ => RepoListing::Public,
        },
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
            (ReadActivity,       [401, 403,   403,   403,   200,  200,  200,  200, 403, 403]),
            (ManageScim,         [401, 403,   403,   403,   200,  403,  403,  403, 403, 403]),
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

    fn repo_oat(scopes: &[&str]) -> Principal {
        Principal {
            account_id: "org1".into(),
            account_name: "acme".into(),
            credential: Credential::Oat {
                id: "o".into(),
                label: "ci".into(),
                resources: vec![
                    OatResource {
                        kind: OatResourceType::Repo,
                        path: "acme/web".into(),
                        scopes: scopes.iter().map(|s| s.to_string()).collect(),
                    },
                    OatResource {
                        kind: OatResourceType::Org,
                        path: "acme".into(),
                        scopes: vec!["scope-repository-create".into()],
                    },
                ],
            },
        }
    }

    /// The repository rules table, on a private organization repository: for each action,
    /// whether each caller may do it. Columns: owner, editor, member with team read,
    /// write, admin, member without team, outsider, anonymous, owner's PATs public_read,
    /// read, write, admin, and OATs with pull, push, delete, repository-edit, tag-admin.
    #[test]
    fn repo_matrix() {
        use RepoAction::*;
        let standing = |role: Option<Role>, team: Option<RepoPermission>| RepoStanding {
            path: "acme/web".into(),
            owner: NamespaceOwner::Org {
                org_id: "org1".into(),
                role,
                team,
            },
            is_private: Some(true),
        };
        let password = principal(Credential::Password);
        let member = |team| (Some(password.clone()), standing(Some(Role::Member), team));
        let owner_with = |p: Principal| (Some(p), standing(Some(Role::Owner), None));
        let oat_with = |scope: &str| (Some(repo_oat(&[scope])), standing(None, None));
        let callers = [
            owner_with(password.clone()),
            (Some(password.clone()), standing(Some(Role::Editor), None)),
            member(Some(RepoPermission::Read)),
            member(Some(RepoPermission::Write)),
            member(Some(RepoPermission::Admin)),
            member(None),
            (Some(password.clone()), standing(None, None)),
            (None, standing(None, None)),
            owner_with(principal(pat(RepoScope::PublicRead))),
            owner_with(principal(pat(RepoScope::Read))),
            owner_with(principal(pat(RepoScope::Write))),
            owner_with(principal(pat(RepoScope::Admin))),
            oat_with("scope-image-pull"),
            oat_with("scope-image-push"),
            oat_with("scope-image-delete"),
            oat_with("scope-repository-edit"),
            oat_with("scope-tag-admin"),
        ];
        #[rustfmt::skip]
        let rows: &[(RepoAction, [u8; 17])] = &[
            //                 own ed  rd  wr  ad  no  out anon pr  rd  wr  ad  pul psh del edt tag
            (Pull,             [1,  1,  1,  1,  1,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  0,  0]),
            (Push,             [1,  1,  0,  1,  1,  0,  0,  0,  0,  0,  1,  1,  0,  1,  1,  0,  0]),
            (Delete,           [1,  1,  0,  0,  1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  1,  0,  0]),
            (Admin,            [1,  1,  0,  0,  1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  0,  0]),
            (ReadInfo,         [1,  1,  1,  1,  1,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  1,  0]),
            (Edit,             [1,  1,  0,  0,  1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  1,  0]),
            (DeleteRepository, [1,  1,  0,  0,  1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  0,  0]),
            (ReadTags,         [1,  1,  1,  1,  1,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  0,  1]),
            (DeleteTag,        [1,  1,  0,  0,  1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  1,  0,  1]),
            (ReadGroups,       [1,  1,  0,  0,  1,  0,  0,  0,  0,  1,  1,  1,  0,  0,  0,  0,  0]),
            (EditGroups,       [1,  1,  0,  0,  1,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  0,  0]),
            (Create,           [1,  1,  0,  0,  0,  0,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  1]),
        ];
        for (action, expected) in rows {
            let got: Vec<u8> = callers
                .iter()
                .map(|(p, standing)| u8::from(authorize_repo(p.as_ref(), standing, *action)))
                .collect();
            assert_eq!(&got[..], &expected[..], "{action:?}");
        }
        // A public repository: every read is everyone's, nothing else is.
        let public = RepoStanding {
            is_private: Some(false),
            ..standing(None, None)
        };
        for action in [Pull, ReadInfo, ReadTags] {
            assert!(authorize_repo(None, &public, action), "{action:?}");
        }
        for action in [Push, Delete, Edit, ReadGroups] {
            assert!(!authorize_repo(Some(&password), &public, action), "{action:?}");
        }
        // An OAT of another organization, and a push that would create a repository
        // without the right to create one.
        let mut foreign = repo_oat(&["scope-image-push"]);
        foreign.account_id = "org2".into();
        assert!(!authorize_repo(Some(&foreign), &standing(None, None), Pull));
        let new_repo = RepoStanding {
            is_private: None,
            ..standing(Some(Role::Member), Some(RepoPermission::Admin))
        };
        assert!(!authorize_repo(Some(&password), &new_repo, Push));
    }

    #[test]
    fn listings_show_what_the_caller_may_read() {
        let org = |role| NamespaceOwner::Org {
            org_id: "org1".into(),
            role,
            team: None,
        };
        let password = principal(Credential::Password);
        assert_eq!(repo_listing(None, &org(Some(Role::Owner))), RepoListing::Public);
        assert_eq!(
            repo_listing(Some(&password), &org(Some(Role::Editor))),
            RepoListing::All
        );
        assert_eq!(
            repo_listing(Some(&password), &org(Some(Role::Member))),
            RepoListing::PublicAndTeams { user_id: "u".into() }
        );
        assert_eq!(repo_listing(Some(&password), &org(None)), RepoListing::Public);
        let own = NamespaceOwner::User { user_id: "u".into() };
        assert_eq!(repo_listing(Some(&password), &own), RepoListing::All);
        let public_read = principal(pat(RepoScope::PublicRead));
        assert_eq!(repo_listing(Some(&public_read), &own), RepoListing::Public);
        let lister = oat(&["scope-repository-list"]).unwrap();
        assert_eq!(repo_listing(Some(&lister), &org(None)), RepoListing::All);
        let other = oat(&["scope-member-read"]).unwrap();
        assert_eq!(repo_listing(Some(&other), &org(None)), RepoListing::Public);
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
