//! The permission matrix of repositories: every repository route of the Hub API, and
//! pull, push and delete through the registry, called by every kind of caller on a private
//! and on a public repository of an organization, against an expected status written down
//! cell by cell from the repository rules table of `authorize_repo` in
//! `src/domain/policy.rs` and from the order in which `hub_repository` in
//! `src/domain/repositories.rs` asks it: a caller the action is allowed to gets it; one who
//! may neither do it nor read the repository gets 404 (a change too: nothing is learnt of a
//! repository one may not read), one who may read it but not do the action 403, and an
//! anonymous caller 401 wherever the route needs a caller. Any cell that differs, an
//! unexpected allow as much as an unexpected refusal, fails the test; all differing cells
//! are listed together.
//!
//! Every cell also checks the audit log of the organization: a refusal records nothing, a
//! success of a change records its event, by the right actor and credential. A registry
//! cell also checks what `/token` granted: the token's `access` holds the action exactly
//! when the cell expects the operation to succeed.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use wharf::store::{AuditRow, Store};

use self::Target::{Private, Public};
use crate::harness::{json, Backend, Server, PASSWORD};
use crate::oci::{
    config_blob, descriptor, manifest, manifest_path, random_bytes, sha256, token_response, uploads_path,
    with_digest, Registry, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST,
};

/// The organization under test, owned by [`OWNER`].
const ORG: &str = "repoperms";
/// Another organization, owned by [`OUTSIDER`]: the source of the foreign token.
const OTHER: &str = "rivalrepos";
const OWNER: &str = "repoowner";
const EDITOR: &str = "repoeditor";
/// Members of [`ORG`] in the teams [`READERS`], [`WRITERS`] and [`ADMINS`].
const READER: &str = "teamreader";
const WRITER: &str = "teamwriter";
const ADMINER: &str = "teamadmin";
/// A member of [`ORG`] whose only team, [`IDLE`], has access to no repository.
const MEMBER: &str = "plainmember";
/// A user in no role of [`ORG`]; owner of [`OTHER`].
const OUTSIDER: &str = "repooutsider";
/// Teams with `read`, `write` and `admin` on every repository of the matrix.
const READERS: &str = "readers";
const WRITERS: &str = "writers";
const ADMINS: &str = "admins";
/// A team with access to nothing.
const IDLE: &str = "idle";
/// A team with no members that the team-access rows grant access to.
const SPARE: &str = "spare";
/// The private and the public repository of [`ORG`].
const PRIVATE: &str = "secret";
const PUBLIC: &str = "open";
/// The tag pushed to both before the matrix runs.
const TAG: &str = "v1";
/// The label the harness gives every organization access token it creates.
const OAT_LABEL: &str = "test token";

/// The repository a row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Private,
    Public,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Private => PRIVATE,
            Public => PUBLIC,
        }
    }

    /// `org/repo`, as the registry names it.
    fn path(self) -> String {
        format!("{ORG}/{}", self.name())
    }

    fn is_private(self) -> bool {
        self == Private
    }

    fn index(self) -> usize {
        match self {
            Private => 0,
            Public => 1,
        }
    }
}

/// The columns of the matrix: every kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No credentials at all.
    Anonymous,
    /// A user in no role of [`ORG`] (password).
    Outsider,
    /// Password sessions of [`ORG`]'s owner and editor.
    Owner,
    Editor,
    /// Members whose team has `read`, `write` or `admin` on the repositories.
    TeamRead,
    TeamWrite,
    TeamAdmin,
    /// A member whose team has access to no repository.
    NoTeam,
    /// The owner's personal access tokens, one per scope.
    PatPublicRead,
    PatRead,
    PatWrite,
    PatAdmin,
    /// OATs of [`ORG`] with a `TYPE_REPO` resource `org/*` holding one scope each.
    OatImagePull,
    OatImagePush,
    OatImageDelete,
    OatRepositoryRead,
    OatRepositoryEdit,
    OatRepositoryAdmin,
    OatTagRead,
    OatTagAdmin,
    OatGroupRead,
    OatGroupEdit,
    OatSettingsAdmin,
    /// An OAT of [`ORG`] with an unrelated organization scope only.
    OatUnrelated,
    /// OATs of [`ORG`] with the `TYPE_ORG` scope `scope-repository-list`, or
    /// `scope-repository-create`, and nothing else.
    OatList,
    OatCreate,
    /// An OAT of [`ORG`] with `scope-image-delete` on `org/<private repository>` only.
    OatOneRepo,
    /// An OAT of [`ORG`] with `scope-image-delete` on `*/*/public`.
    OatPublicRepos,
    /// An OAT of [`OTHER`] with every repository scope on `*/*/public` and on its own
    /// repositories, and the organization's repository scopes.
    OatForeign,
}

/// The number of columns.
const COLUMNS: usize = 29;

const CALLERS: [Caller; COLUMNS] = [
    Caller::Anonymous,
    Caller::Outsider,
    Caller::Owner,
    Caller::Editor,
    Caller::TeamRead,
    Caller::TeamWrite,
    Caller::TeamAdmin,
    Caller::NoTeam,
    Caller::PatPublicRead,
    Caller::PatRead,
    Caller::PatWrite,
    Caller::PatAdmin,
    Caller::OatImagePull,
    Caller::OatImagePush,
    Caller::OatImageDelete,
    Caller::OatRepositoryRead,
    Caller::OatRepositoryEdit,
    Caller::OatRepositoryAdmin,
    Caller::OatTagRead,
    Caller::OatTagAdmin,
    Caller::OatGroupRead,
    Caller::OatGroupEdit,
    Caller::OatSettingsAdmin,
    Caller::OatUnrelated,
    Caller::OatList,
    Caller::OatCreate,
    Caller::OatOneRepo,
    Caller::OatPublicRepos,
    Caller::OatForeign,
];

/// The column headings of [`MATRIX`], for failure messages.
const HEADINGS: [&str; COLUMNS] = [
    "anon", "outs", "ownr", "edtr", "tRd", "tWr", "tAdm", "mbr0", "pPub", "pRd", "pWr", "pAdm", "iPul",
    "iPsh", "iDel", "rRd", "rEd", "rAdm", "tgRd", "tgAd", "gRd", "gEd", "sAdm", "o0", "oLst", "oCrt", "one",
    "pubs", "oX",
];

/// Expected status of every operation on each target (rows) for every caller (columns,
/// as [`CALLERS`]).
///
/// The operations, on the row's repository `{repo}` of `{org}`:
///
/// | row                         | request                                                      |
/// |-----------------------------|--------------------------------------------------------------|
/// | `GET repo`, `HEAD repo`     | `/v2/namespaces/{org}/repositories/{repo}`                   |
/// | `GET tags`                  | `GET /v2/namespaces/{org}/repositories/{repo}/tags`          |
/// | `GET tag`                   | `GET /v2/namespaces/{org}/repositories/{repo}/tags/v1`       |
/// | `PATCH repo`                | `PATCH /v2/repositories/{org}/{repo}`, a new description     |
/// | `POST privacy`              | `POST /v2/repositories/{org}/{repo}/privacy`, the other way (set back after) |
/// | `PATCH immutabletags`       | `PATCH /v2/namespaces/{org}/repositories/{repo}/immutabletags`, off |
/// | `POST immutabletags/verify` | `POST /v2/namespaces/{org}/repositories/{repo}/immutabletags/verify` |
/// | `GET groups`                | `GET /v2/repositories/{org}/{repo}/groups`                   |
/// | `POST groups`               | `POST /v2/repositories/{org}/{repo}/groups`: [`SPARE`] gets `read` |
/// | `DELETE tag`                | `DELETE /v2/repositories/{org}/{repo}/tags/{tag}`, a tag pushed for the cell |
/// | `DELETE repo`               | `DELETE /v2/repositories/{org}/{name}`, a repository made for the cell, as private or public as the row's, with the same team access |
/// | `POST create`               | `POST /v2/namespaces/{org}/repositories`, a new private (public) repository |
/// | `registry pull`             | `/token` for `pull,push,delete`, then `GET` of the manifest `v1` |
/// | `registry push`             | the same token: a config and a layer blob, then `PUT` of a manifest as a new tag |
/// | `registry delete`           | the same token: `DELETE` by digest of a manifest pushed, and tagged, for the cell |
/// | `GET listing`               | `GET /v2/namespaces/{org}/repositories` answers 200 to all; here 200 means the repository is listed, 404 that it is left out |
///
/// Reading it against the policy: a private repository is readable (`ReadInfo`) by the
/// owner, the editor and the members of a team with access, by the owner's PATs from
/// `repo:read`, and by OATs with `scope-repository-read` or `scope-image-pull` (or a scope
/// including one of them) on a matching path; a public one by anyone. A caller refused an
/// action gets 404 when they cannot read the repository either, 403 when they can; so OAT
/// scopes without a read scope (`scope-tag-*`, `scope-repo-group-*`,
/// `scope-repository-settings-admin`) get their own routes on a private repository and 404
/// everywhere else. Creation is decided by namespace: owners, editors, PATs from
/// `repo:write` of one of them, OATs with `TYPE_ORG` `scope-repository-create`. The
/// registry refuses everything a token does not grant with 401. An OAT of another
/// organization reaches only what anyone may, whatever its scopes: the reads of the public
/// repository (and, unlike an anonymous caller, gets 404 or 403 rather than 401).
#[rustfmt::skip]
const MATRIX: &[(&str, Target, [u16; COLUMNS])] = &[
    //                                     anon outs ownr edtr  tRd  tWr tAdm mbr0 pPub  pRd  pWr pAdm iPul iPsh iDel  rRd  rEd rAdm tgRd tgAd  gRd  gEd sAdm   o0 oLst oCrt  one pubs   oX
    ("GET repo",                  Private, [404, 404, 200, 200, 200, 200, 200, 404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404]),
    ("GET repo",                  Public,  [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("HEAD repo",                 Private, [404, 404, 200, 200, 200, 200, 200, 404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404]),
    ("HEAD repo",                 Public,  [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    // ReadTags: what reads the repository, but scope-repository-* (no tag scope); and
    // scope-tag-*, which does not read the repository.
    ("GET tags",                  Private, [404, 404, 200, 200, 200, 200, 200, 404, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200, 200, 404, 404, 404, 404, 404, 404, 200, 404, 404]),
    ("GET tags",                  Public,  [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET tag",                   Private, [404, 404, 200, 200, 200, 200, 200, 404, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200, 200, 404, 404, 404, 404, 404, 404, 200, 404, 404]),
    ("GET tag",                   Public,  [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    // Edit: admin level, repo:admin, scope-repository-edit (or -admin).
    ("PATCH repo",                Private, [401, 404, 200, 200, 403, 403, 200, 404, 404, 403, 403, 200, 403, 403, 403, 403, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 403, 404, 404]),
    ("PATCH repo",                Public,  [401, 403, 200, 200, 403, 403, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403]),
    ("POST privacy",              Private, [401, 404, 200, 200, 403, 403, 200, 404, 404, 403, 403, 200, 403, 403, 403, 403, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 403, 404, 404]),
    ("POST privacy",              Public,  [401, 403, 200, 200, 403, 403, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403]),
    // Admin: admin level, repo:admin, scope-repository-settings-admin.
    ("PATCH immutabletags",       Private, [401, 404, 200, 200, 403, 403, 200, 404, 404, 403, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 404, 404, 200, 404, 404, 404, 403, 404, 404]),
    ("PATCH immutabletags",       Public,  [401, 403, 200, 200, 403, 403, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403]),
    ("POST immutabletags/verify", Private, [401, 404, 200, 200, 403, 403, 200, 404, 404, 403, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 404, 404, 200, 404, 404, 404, 403, 404, 404]),
    ("POST immutabletags/verify", Public,  [401, 403, 200, 200, 403, 403, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403]),
    // ReadGroups: admin level, but repo:read; scope-repo-group-read (or -edit).
    ("GET groups",                Private, [401, 404, 200, 200, 403, 403, 200, 404, 404, 200, 200, 200, 403, 403, 403, 403, 403, 403, 404, 404, 200, 200, 404, 404, 404, 404, 403, 404, 404]),
    ("GET groups",                Public,  [401, 403, 200, 200, 403, 403, 200, 403, 403, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403, 403, 403, 403]),
    // EditGroups: admin level, repo:admin, scope-repo-group-edit.
    ("POST groups",               Private, [401, 404, 200, 200, 403, 403, 200, 404, 404, 403, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 404, 200, 404, 404, 404, 404, 403, 404, 404]),
    ("POST groups",               Public,  [401, 403, 200, 200, 403, 403, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403]),
    // DeleteTag: admin level, repo:admin, scope-tag-admin or scope-image-delete.
    ("DELETE tag",                Private, [401, 404, 204, 204, 403, 403, 204, 404, 404, 403, 403, 204, 403, 403, 204, 403, 403, 403, 404, 204, 404, 404, 404, 404, 404, 404, 204, 404, 404]),
    ("DELETE tag",                Public,  [401, 403, 204, 204, 403, 403, 204, 403, 403, 403, 403, 204, 403, 403, 204, 403, 403, 403, 403, 204, 403, 403, 403, 403, 403, 403, 403, 204, 403]),
    // DeleteRepository: admin level, repo:admin, scope-repository-admin. The repository is
    // not the one the single-repository OAT names: it cannot read the private one.
    ("DELETE repo",               Private, [401, 404, 202, 202, 403, 403, 202, 404, 404, 403, 403, 202, 403, 403, 403, 403, 403, 202, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404]),
    ("DELETE repo",               Public,  [401, 403, 202, 202, 403, 403, 202, 403, 403, 403, 403, 202, 403, 403, 403, 403, 403, 202, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403]),
    // Create: owners and editors, repo:write, TYPE_ORG scope-repository-create.
    ("POST create",               Private, [401, 403, 201, 201, 403, 403, 403, 403, 403, 403, 201, 201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201, 403, 403, 403]),
    ("POST create",               Public,  [401, 403, 201, 201, 403, 403, 403, 403, 403, 403, 201, 201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201, 403, 403, 403]),
    // Pull: read level, repo:read, scope-image-pull; anyone on a public repository.
    ("registry pull",             Private, [401, 401, 200, 200, 200, 200, 200, 401, 401, 200, 200, 200, 200, 200, 200, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 200, 401, 401]),
    ("registry pull",             Public,  [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    // Push: write level, repo:write, scope-image-push (or -delete).
    ("registry push",             Private, [401, 401, 201, 201, 401, 201, 201, 401, 401, 401, 201, 201, 401, 201, 201, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 201, 401, 401]),
    ("registry push",             Public,  [401, 401, 201, 201, 401, 201, 201, 401, 401, 401, 201, 201, 401, 201, 201, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 201, 401]),
    // Delete: admin level, repo:admin, scope-image-delete.
    ("registry delete",           Private, [401, 401, 202, 202, 401, 401, 202, 401, 401, 401, 401, 202, 401, 401, 202, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 202, 401, 401]),
    ("registry delete",           Public,  [401, 401, 202, 202, 401, 401, 202, 401, 401, 401, 401, 202, 401, 401, 202, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 202, 401]),
    // The listing: private repositories to the owner, editors, members through their teams,
    // PATs from repo:read, OATs with scope-repository-list; public ones to everyone.
    ("GET listing",               Private, [404, 404, 200, 200, 200, 200, 200, 404, 404, 200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 404, 404]),
    ("GET listing",               Public,  [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
];

/// One cell: a row of [`MATRIX`] and a caller.
#[derive(Debug, Clone, Copy)]
struct Cell {
    row: usize,
    col: usize,
    caller: Caller,
    target: Target,
}

impl Cell {
    /// A name unique to this cell, for the fresh tags and repositories it makes.
    fn tag(&self) -> String {
        format!("r{}c{}", self.row, self.col)
    }
}

/// The user of each password column.
fn user_of(caller: Caller) -> Option<&'static str> {
    match caller {
        Caller::Outsider => Some(OUTSIDER),
        Caller::Owner => Some(OWNER),
        Caller::Editor => Some(EDITOR),
        Caller::TeamRead => Some(READER),
        Caller::TeamWrite => Some(WRITER),
        Caller::TeamAdmin => Some(ADMINER),
        Caller::NoTeam => Some(MEMBER),
        _ => None,
    }
}

/// The owner's PAT of each PAT column: its scope and label.
fn pat_of(caller: Caller) -> Option<(&'static str, &'static str)> {
    match caller {
        Caller::PatPublicRead => Some(("repo:public_read", "repo-public-read")),
        Caller::PatRead => Some(("repo:read", "repo-read")),
        Caller::PatWrite => Some(("repo:write", "repo-write")),
        Caller::PatAdmin => Some(("repo:admin", "repo-admin")),
        _ => None,
    }
}

/// Every repository scope that includes no other one's family: with them, a token holds
/// every repository scope.
const EVERY_REPO_SCOPE: [&str; 6] = [
    "scope-image-delete",
    "scope-repository-admin",
    "scope-tag-admin",
    "scope-repo-group-admin",
    "scope-repository-settings-admin",
    "scope-webhook-admin",
];

/// The organization and the resources of each OAT column.
fn oat_of(caller: Caller) -> Option<(&'static str, Value)> {
    let repos = |path: String, scope: &str| json!([{"type": "TYPE_REPO", "path": path, "scopes": [scope]}]);
    let all = || format!("{ORG}/*");
    let org = |scope: &str| json!([{"type": "TYPE_ORG", "path": ORG, "scopes": [scope]}]);
    let resources = match caller {
        Caller::OatImagePull => repos(all(), "scope-image-pull"),
        Caller::OatImagePush => repos(all(), "scope-image-push"),
        Caller::OatImageDelete => repos(all(), "scope-image-delete"),
        Caller::OatRepositoryRead => repos(all(), "scope-repository-read"),
        Caller::OatRepositoryEdit => repos(all(), "scope-repository-edit"),
        Caller::OatRepositoryAdmin => repos(all(), "scope-repository-admin"),
        Caller::OatTagRead => repos(all(), "scope-tag-read"),
        Caller::OatTagAdmin => repos(all(), "scope-tag-admin"),
        Caller::OatGroupRead => repos(all(), "scope-repo-group-read"),
        Caller::OatGroupEdit => repos(all(), "scope-repo-group-edit"),
        Caller::OatSettingsAdmin => repos(all(), "scope-repository-settings-admin"),
        Caller::OatUnrelated => org("scope-member-read"),
        Caller::OatList => org("scope-repository-list"),
        Caller::OatCreate => org("scope-repository-create"),
        Caller::OatOneRepo => repos(format!("{ORG}/{PRIVATE}"), "scope-image-delete"),
        Caller::OatPublicRepos => repos("*/*/public".into(), "scope-image-delete"),
        Caller::OatForeign => {
            let resources = json!([
                {"type": "TYPE_REPO", "path": "*/*/public", "scopes": EVERY_REPO_SCOPE},
                {"type": "TYPE_REPO", "path": format!("{OTHER}/*"), "scopes": EVERY_REPO_SCOPE},
                {"type": "TYPE_ORG", "path": OTHER,
                 "scopes": ["scope-repository-create", "scope-repository-list"]},
            ]);
            return Some((OTHER, resources));
        }
        _ => return None,
    };
    Some((ORG, resources))
}

/// The actor and credential label the audit log names for a change made by `caller`.
fn acting_as(caller: Caller) -> (&'static str, Option<&'static str>) {
    if let Some(user) = user_of(caller) {
        return (user, None);
    }
    if let Some((_, label)) = pat_of(caller) {
        return (OWNER, Some(label));
    }
    match oat_of(caller) {
        Some((org, _)) => (org, Some(OAT_LABEL)),
        None => ("", None),
    }
}

/// What a cell does.
enum Call {
    /// A Hub API request.
    Hub {
        method: Method,
        path: String,
        body: Option<Value>,
    },
    /// Registry: a token for the row's repository, then `GET` of the manifest [`TAG`].
    Pull,
    /// Registry: a token, two blobs and a new manifest pushed as `tag`.
    Push { tag: String },
    /// Registry: a token, and `DELETE` of the manifest `digest`.
    Delete { digest: String },
    /// The namespace listing: whether it shows the row's repository.
    Listing,
}

/// What the owner puts back after a cell.
enum Cleanup {
    Nothing,
    /// Deletes this repository (if it is still there).
    DeleteRepository(String),
    /// Makes the row's repository private (`true`) or public again.
    Privacy(bool),
}

/// The call of one cell, the audit event it must leave on success, and what to undo.
struct Prepared {
    call: Call,
    /// The newest event of [`ORG`] after a success; `None`: the call records nothing.
    event: Option<&'static str>,
    cleanup: Cleanup,
}

impl Prepared {
    fn hub(method: Method, path: String, body: Option<Value>, event: Option<&'static str>) -> Prepared {
        Prepared {
            call: Call::Hub { method, path, body },
            event,
            cleanup: Cleanup::Nothing,
        }
    }

    fn undo(mut self, cleanup: Cleanup) -> Prepared {
        self.cleanup = cleanup;
        self
    }
}

/// A change to the fixtures as `token`, which must answer `expected`; returns the body.
async fn change(
    server: &Server,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    expected: StatusCode,
) -> Value {
    server.expect(method, path, Some(token), body, expected).await
}

/// The team ids of [`ORG`] the fixtures use.
struct Teams {
    readers: i64,
    writers: i64,
    admins: i64,
    spare: i64,
}

/// A registry token, and the actions it grants on the repository it was asked for.
type Granted = (String, Vec<String>);

/// The users, organizations, teams, repositories and tokens of the matrix.
struct Fixture {
    /// The Hub session of each caller (in [`CALLERS`] order); `None` for anonymous.
    sessions: Vec<Option<String>>,
    /// The `/token` credentials of each caller: an account name and a password or secret.
    creds: Vec<Option<(String, String)>>,
    /// The owner's password session: it makes the fresh targets.
    owner: String,
    /// A registry token of the owner for both repositories, for the fixtures.
    registry: String,
    /// The manifest tagged [`TAG`] in each target (in [`Target::index`] order).
    images: [Vec<u8>; 2],
    teams: Teams,
    /// The registry token of each caller (column) for each target, once asked for, and
    /// the actions it grants: the registry rows of a target share it.
    registry_tokens: Mutex<HashMap<(usize, usize), Granted>>,
}

impl Fixture {
    async fn create(server: &Server) -> Fixture {
        let owner = server.user_with_token(OWNER).await;
        let mut user_sessions = vec![(OWNER, owner.clone())];
        for user in [OUTSIDER, EDITOR, READER, WRITER, ADMINER, MEMBER] {
            user_sessions.push((user, server.user_with_token(user).await));
        }
        let session_of = |user: &str| {
            user_sessions
                .iter()
                .find(|(name, _)| *name == user)
                .map(|(_, session)| session.clone())
                .expect("a user of the fixtures")
        };
        server.create_org(ORG, OWNER).await;
        server.create_org(OTHER, OUTSIDER).await;
        server.add_org_member(ORG, EDITOR, "editor").await;
        for user in [READER, WRITER, ADMINER, MEMBER] {
            server.add_org_member(ORG, user, "member").await;
        }
        let mut ids = Vec::new();
        for (team, member) in [
            (READERS, Some(READER)),
            (WRITERS, Some(WRITER)),
            (ADMINS, Some(ADMINER)),
            (IDLE, Some(MEMBER)),
            (SPARE, None),
        ] {
            let path = format!("/v2/orgs/{ORG}/groups");
            let body = json!({"name": team, "description": "repository permission matrix"});
            let created = change(
                server,
                Method::POST,
                &path,
                &owner,
                Some(body),
                StatusCode::CREATED,
            )
            .await;
            ids.push(created["id"].as_i64().expect("team id"));
            if let Some(member) = member {
                let path = format!("/v2/orgs/{ORG}/groups/{team}/members");
                let body = json!({"member": member});
                change(server, Method::POST, &path, &owner, Some(body), StatusCode::OK).await;
            }
        }
        let teams = Teams {
            readers: ids[0],
            writers: ids[1],
            admins: ids[2],
            spare: ids[4],
        };

        let paths = [Private.path(), Public.path()];
        let registry = Registry::login(
            server,
            Some((OWNER, PASSWORD)),
            &[paths[0].as_str(), paths[1].as_str()],
            "pull,push,delete",
        )
        .await;
        let mut images = Vec::new();
        for target in [Private, Public] {
            create_repository(server, &owner, target.name(), target.is_private()).await;
            grant_teams(server, &owner, &teams, target.name()).await;
            images.push(registry.push_image(&target.path(), TAG).await.0);
        }
        let images: [Vec<u8>; 2] = images.try_into().expect("two images");

        let mut sessions = Vec::new();
        let mut creds = Vec::new();
        for caller in CALLERS {
            let (session, cred) = if caller == Caller::Anonymous {
                (None, None)
            } else if let Some(user) = user_of(caller) {
                (
                    Some(session_of(user)),
                    Some((user.to_string(), PASSWORD.to_string())),
                )
            } else if let Some((scope, label)) = pat_of(caller) {
                let (session, pat) = server.pat_session(OWNER, &owner, label, &[scope]).await;
                let secret = pat["token"].as_str().expect("PAT secret").to_string();
                (Some(session), Some((OWNER.to_string(), secret)))
            } else {
                let (org, resources) = oat_of(caller).expect("an OAT column");
                let maker = if org == ORG {
                    owner.clone()
                } else {
                    session_of(OUTSIDER)
                };
                let (session, oat) = server.oat_session(&maker, org, resources).await;
                let secret = oat["token"].as_str().expect("OAT secret").to_string();
                (Some(session), Some((org.to_string(), secret)))
            };
            sessions.push(session);
            creds.push(cred);
        }
        Fixture {
            sessions,
            creds,
            owner,
            registry: registry.token,
            images,
            teams,
            registry_tokens: Mutex::default(),
        }
    }

    fn session(&self, cell: Cell) -> Option<&str> {
        self.sessions[cell.col].as_deref()
    }

    fn owner_registry<'a>(&self, server: &'a Server) -> Registry<'a> {
        Registry::with_token(server, &self.registry)
    }

    /// The call of `cell` for `route`, after making the fresh target it needs.
    async fn prepare(&self, server: &Server, route: &str, cell: Cell) -> Prepared {
        use Method as M;
        let name = cell.target.name();
        let private = cell.target.is_private();
        let namespaced = format!("/v2/namespaces/{ORG}/repositories/{name}");
        let legacy = format!("/v2/repositories/{ORG}/{name}");
        let tag = cell.tag();
        match route {
            "GET repo" => Prepared::hub(M::GET, namespaced, None, None),
            "HEAD repo" => Prepared::hub(M::HEAD, namespaced, None, None),
            "GET tags" => Prepared::hub(M::GET, format!("{namespaced}/tags"), None, None),
            "GET tag" => Prepared::hub(M::GET, format!("{namespaced}/tags/{TAG}"), None, None),
            "PATCH repo" => {
                let body = json!({"description": format!("described in cell {tag}")});
                Prepared::hub(M::PATCH, legacy, Some(body), Some("repo.update"))
            }
            "POST privacy" => {
                // The other way, so that a success is a change that is recorded; the owner
                // sets it back after the cell.
                let body = json!({"is_private": !private});
                let event = Some("repo.change_privacy");
                Prepared::hub(M::POST, format!("{legacy}/privacy"), Some(body), event)
                    .undo(Cleanup::Privacy(private))
            }
            "PATCH immutabletags" => {
                // Off, with a rule no tag matches: the fixture's tags stay deletable.
                let body = json!({"immutable_tags": false, "immutable_tags_rules": ["frozen-.*"]});
                let path = format!("{namespaced}/immutabletags");
                Prepared::hub(M::PATCH, path, Some(body), Some("repo.immutable.tags.updated"))
            }
            "POST immutabletags/verify" => {
                let path = format!("{namespaced}/immutabletags/verify");
                Prepared::hub(M::POST, path, Some(json!({"regex": "v.*"})), None)
            }
            "GET groups" => Prepared::hub(M::GET, format!("{legacy}/groups"), None, None),
            "POST groups" => {
                // The spare team has no access before each cell: a success is a grant.
                let spare = format!("{legacy}/groups/{}", self.teams.spare);
                let res = server.send(M::DELETE, &spare, Some(&self.owner), None).await;
                let status = res.status();
                assert!(
                    matches!(status.as_u16(), 204 | 404),
                    "fixture: revoking the spare team's access answered {status}"
                );
                let body = json!({"group_id": self.teams.spare, "permission": "read"});
                Prepared::hub(
                    M::POST,
                    format!("{legacy}/groups"),
                    Some(body),
                    Some("repo.group.add"),
                )
            }
            "DELETE tag" => {
                let doomed = format!("gone-{tag}");
                let image = &self.images[cell.target.index()];
                self.owner_registry(server)
                    .push_manifest(&cell.target.path(), &doomed, OCI_MANIFEST, image)
                    .await;
                let path = format!("{legacy}/tags/{doomed}");
                Prepared::hub(M::DELETE, path, None, Some("repo.tag.delete"))
            }
            "DELETE repo" => {
                let doomed = format!("gone-{tag}");
                create_repository(server, &self.owner, &doomed, private).await;
                grant_teams(server, &self.owner, &self.teams, &doomed).await;
                let path = format!("/v2/repositories/{ORG}/{doomed}");
                Prepared::hub(M::DELETE, path, None, Some("repo.delete"))
                    .undo(Cleanup::DeleteRepository(doomed))
            }
            "POST create" => {
                let fresh = format!("new-{tag}");
                let body = json!({"name": fresh, "namespace": ORG, "is_private": private});
                let path = format!("/v2/namespaces/{ORG}/repositories");
                Prepared::hub(M::POST, path, Some(body), Some("repo.create"))
                    .undo(Cleanup::DeleteRepository(fresh))
            }
            "registry pull" => Prepared {
                call: Call::Pull,
                event: None,
                cleanup: Cleanup::Nothing,
            },
            "registry push" => Prepared {
                call: Call::Push {
                    tag: format!("push-{tag}"),
                },
                event: Some("repo.tag.push"),
                cleanup: Cleanup::Nothing,
            },
            "registry delete" => {
                let doomed = format!("gone-{tag}");
                let (_, digest) = self
                    .owner_registry(server)
                    .push_image(&cell.target.path(), &doomed)
                    .await;
                Prepared {
                    call: Call::Delete { digest },
                    event: Some("repo.tag.delete"),
                    cleanup: Cleanup::Nothing,
                }
            }
            "GET listing" => Prepared {
                call: Call::Listing,
                event: None,
                cleanup: Cleanup::Nothing,
            },
            other => panic!("the matrix has no request for the row {other:?}"),
        }
    }

    /// Puts back what a cell changed, as the owner.
    async fn clean_up(&self, server: &Server, cell: Cell, cleanup: &Cleanup) {
        match cleanup {
            Cleanup::Nothing => {}
            Cleanup::DeleteRepository(name) => {
                let path = format!("/v2/repositories/{ORG}/{name}");
                let res = server.send(Method::DELETE, &path, Some(&self.owner), None).await;
                let status = res.status();
                assert!(
                    matches!(status.as_u16(), 202 | 404),
                    "fixture: deleting {name} answered {status}"
                );
            }
            Cleanup::Privacy(private) => {
                let path = format!("/v2/repositories/{ORG}/{}/privacy", cell.target.name());
                let body = json!({"is_private": private});
                change(
                    server,
                    Method::POST,
                    &path,
                    &self.owner,
                    Some(body),
                    StatusCode::OK,
                )
                .await;
            }
        }
    }

    /// Performs the call of `cell`: the status (for the listing, 200 when it shows the
    /// repository and 404 when not) and the body, for messages; or what is wrong besides
    /// the status.
    async fn perform(
        &self,
        server: &Server,
        cell: Cell,
        call: &Call,
        expected: u16,
    ) -> Result<(u16, String), String> {
        let session = self.session(cell);
        match call {
            Call::Hub { method, path, body } => {
                let res = server.send(method.clone(), path, session, body.clone()).await;
                let status = res.status();
                let text = res.text().await.expect("response body");
                if (status.is_client_error() || status.is_server_error()) && *method != Method::HEAD {
                    if let Some(problem) = hub_error_problem(&text) {
                        return Err(format!("{status}, but {problem}"));
                    }
                }
                Ok((status.as_u16(), text))
            }
            Call::Listing => {
                let path = format!("/v2/namespaces/{ORG}/repositories?page_size=100");
                let (status, body) = server.call(Method::GET, &path, session, None).await;
                if status != StatusCode::OK {
                    return Err(format!("the listing answered {status}: {body}"));
                }
                let names = body["results"]
                    .as_array()
                    .ok_or_else(|| format!("no results in the listing: {body}"))?;
                if names.len() as u64 != body["count"].as_u64().unwrap_or_default() {
                    return Err(format!("the listing needs more than one page: {body}"));
                }
                let shown = names.iter().any(|repo| repo["name"] == cell.target.name());
                Ok((if shown { 200 } else { 404 }, body.to_string()))
            }
            Call::Pull | Call::Push { .. } | Call::Delete { .. } => {
                let (token, granted) = self.registry_token(server, cell).await?;
                let (action, succeeded) = match call {
                    Call::Pull => ("pull", 200),
                    Call::Push { .. } => ("push", 201),
                    _ => ("delete", 202),
                };
                let grants = granted.iter().any(|a| a == action);
                if grants != (expected == succeeded) {
                    return Err(format!(
                        "/token granted {granted:?}: the {action} grant should be {}",
                        if expected == succeeded { "there" } else { "absent" }
                    ));
                }
                let registry = Registry::with_token(server, &token);
                let repo = cell.target.path();
                match call {
                    Call::Pull => {
                        registry_outcome(registry.send(Method::GET, &manifest_path(&repo, TAG)).await).await
                    }
                    Call::Push { tag } => push(&registry, &repo, tag).await,
                    Call::Delete { digest } => {
                        registry_outcome(registry.send(Method::DELETE, &manifest_path(&repo, digest)).await)
                            .await
                    }
                    _ => unreachable!("a registry call"),
                }
            }
        }
    }

    /// A registry token of the caller of `cell` asked for every action on the row's
    /// repository, and the actions it grants there.
    async fn registry_token(&self, server: &Server, cell: Cell) -> Result<Granted, String> {
        let key = (cell.col, cell.target.index());
        if let Some(known) = self.registry_tokens.lock().expect("token cache").get(&key) {
            return Ok(known.clone());
        }
        let repo = cell.target.path();
        let creds = self.creds[cell.col]
            .as_ref()
            .map(|(name, secret)| (name.as_str(), secret.as_str()));
        let scope = format!("repository:{repo}:pull,push,delete");
        let (status, body) = json(token_response(server, creds, &[scope]).await).await;
        if status != StatusCode::OK {
            return Err(format!("/token answered {status}: {body}"));
        }
        let token = body["token"]
            .as_str()
            .ok_or_else(|| format!("no token from /token: {body}"))?
            .to_string();
        let granted = granted_actions(&token, &repo)?;
        let known = (token, granted);
        self.registry_tokens
            .lock()
            .expect("token cache")
            .insert(key, known.clone());
        Ok(known)
    }
}

/// Creates the repository `name` of [`ORG`] as the owner.
async fn create_repository(server: &Server, owner: &str, name: &str, private: bool) {
    let path = format!("/v2/namespaces/{ORG}/repositories");
    let body = json!({"name": name, "namespace": ORG, "is_private": private});
    change(
        server,
        Method::POST,
        &path,
        owner,
        Some(body),
        StatusCode::CREATED,
    )
    .await;
}

/// Gives [`READERS`], [`WRITERS`] and [`ADMINS`] their access to the repository `name`.
async fn grant_teams(server: &Server, owner: &str, teams: &Teams, name: &str) {
    let path = format!("/v2/repositories/{ORG}/{name}/groups");
    for (team, permission) in [
        (teams.readers, "read"),
        (teams.writers, "write"),
        (teams.admins, "admin"),
    ] {
        let body = json!({"group_id": team, "permission": permission});
        change(server, Method::POST, &path, owner, Some(body), StatusCode::OK).await;
    }
}

/// The actions a registry token grants on `repo`, read from its (unverified) payload.
fn granted_actions(token: &str, repo: &str) -> Result<Vec<String>, String> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| format!("the registry token is no JWT: {token}"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| format!("the registry token's payload is not base64url: {e}"))?;
    let claims: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the registry token's payload is not JSON: {e}"))?;
    let access = claims["access"]
        .as_array()
        .ok_or_else(|| format!("no access in the registry token: {claims}"))?;
    let actions = access
        .iter()
        .filter(|grant| grant["type"] == "repository" && grant["name"] == repo)
        .flat_map(|grant| grant["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(String::from))
        .collect();
    Ok(actions)
}

/// A config and a layer blob, then a manifest of them as `tag`: the status of the first
/// request that fails, or of the manifest.
async fn push(registry: &Registry<'_>, repo: &str, tag: &str) -> Result<(u16, String), String> {
    let config = config_blob();
    let layer = random_bytes(256);
    for blob in [&config, &layer] {
        let path = with_digest(&uploads_path(repo), &sha256(blob));
        let res = registry
            .request(Method::POST, &path)
            .body(blob.clone())
            .send()
            .await
            .expect("request");
        if res.status() != StatusCode::CREATED {
            return registry_outcome(res).await;
        }
    }
    let bytes = manifest(
        OCI_MANIFEST,
        descriptor(OCI_CONFIG, &config),
        &[descriptor(OCI_LAYER, &layer)],
        json!({}),
    );
    registry_outcome(registry.put_manifest(repo, tag, OCI_MANIFEST, &bytes).await).await
}

/// The status and body of a registry response; a refusal must be the OCI error its status
/// calls for.
async fn registry_outcome(res: Response) -> Result<(u16, String), String> {
    let status = res.status();
    let text = res.text().await.expect("response body");
    let code = match status.as_u16() {
        401 => "UNAUTHORIZED",
        403 => "DENIED",
        _ => return Ok((status.as_u16(), text)),
    };
    let body: Value = serde_json::from_str(&text)
        .map_err(|_| format!("{status}, but the body is not JSON: {text:.200}"))?;
    if body["errors"][0]["code"] != code {
        return Err(format!("{status}, but not the OCI error {code}: {body}"));
    }
    Ok((status.as_u16(), text))
}

/// What is wrong with an error response's body, if anything: it must be the Hub error
/// format, `{"message", "errinfo": null, "detail"}` (see `assert_hub_error`).
fn hub_error_problem(text: &str) -> Option<String> {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Some(format!("the error body is not JSON: {text:.200}"));
    };
    let hub_shaped =
        body["message"].is_string() && body["errinfo"].is_null() && body["detail"] == body["message"];
    (!hub_shaped).then(|| format!("the error body is not in the Hub format: {body}"))
}

/// The newest audit event of [`ORG`], if any.
async fn newest_event(store: &Store) -> Option<AuditRow> {
    let events = store.recent_audit(ORG, 1).await.expect("read audit events");
    events.into_iter().next()
}

/// What is wrong with the audit log after a cell whose status was as expected, if
/// anything: a success of a change records its event by the caller; anything else nothing.
fn audit_problem(
    event: Option<&'static str>,
    caller: Caller,
    succeeded: bool,
    before: &Option<AuditRow>,
    after: &Option<AuditRow>,
) -> Option<String> {
    let recorded = (after != before).then_some(after.as_ref()).flatten();
    match (event.filter(|_| succeeded), recorded) {
        (None, None) => None,
        (None, Some(event)) => Some(format!("recorded {event:?} but should record nothing")),
        (Some(action), None) => Some(format!("recorded nothing; expected {action}")),
        (Some(action), Some(event)) => {
            let (actor, credential) = acting_as(caller);
            let right =
                event.action == action && event.actor == actor && event.credential.as_deref() == credential;
            (!right).then(|| format!("expected {action} by {actor} with {credential:?}; got {event:?}"))
        }
    }
}

/// Runs one cell; what differs from the expectation, if anything: the status, the error
/// body's format, the token's grant, or the audit log.
async fn run_cell(
    server: &Server,
    fixture: &Fixture,
    store: &Store,
    route: &str,
    cell: Cell,
    expected: u16,
) -> Option<String> {
    let prepared = fixture.prepare(server, route, cell).await;
    let before = newest_event(store).await;
    let outcome = fixture.perform(server, cell, &prepared.call, expected).await;
    let after = newest_event(store).await;
    fixture.clean_up(server, cell, &prepared.cleanup).await;
    let (status, text) = match outcome {
        Ok(outcome) => outcome,
        Err(problem) => return Some(problem),
    };
    if status != expected {
        // A refusal that changed something anyway is worth knowing.
        let recorded = match (after != before, &after) {
            (true, Some(event)) => format!(" (the audit log recorded {} by {})", event.action, event.actor),
            _ => String::new(),
        };
        return Some(format!(
            "expected {expected}, got {status}{recorded}: {text:.200}"
        ));
    }
    let succeeded = (200..300).contains(&status);
    audit_problem(prepared.event, cell.caller, succeeded, &before, &after)
        .map(|problem| format!("{status}, but the audit log {problem}"))
}

/// What is wrong with the two repositories of the matrix after it, as the owner sees them:
/// each must be as private or public as it was made, and still hold [`TAG`].
async fn fixture_problems(server: &Server, fixture: &Fixture) -> Vec<String> {
    let mut problems = Vec::new();
    for target in [Private, Public] {
        let path = format!("/v2/namespaces/{ORG}/repositories/{}", target.name());
        let tag = format!("{path}/tags/{TAG}");
        let (status, body) = server.call(Method::GET, &path, Some(&fixture.owner), None).await;
        if status != StatusCode::OK || body["is_private"] != target.is_private() {
            let body = body.to_string();
            problems.push(format!("after the matrix, GET {path}: {status} {body:.200}"));
        }
        let (status, body) = server.call(Method::GET, &tag, Some(&fixture.owner), None).await;
        if status != StatusCode::OK {
            let body = body.to_string();
            problems.push(format!("after the matrix, GET {tag}: {status} {body:.200}"));
        }
    }
    problems
}

/// Runs every cell of [`MATRIX`] on one server, and lists every cell that differs.
async fn permission_matrix(backend: Backend) {
    // Login tokens and the fixtures' registry token last the whole matrix, and its thousands
    // of requests from one address are not rate limited.
    let args = [
        "--registry-token-ttl",
        "3600",
        "--token-ttl",
        "3600",
        "--rate-limit",
        "0",
    ];
    let server = Server::start_with(&backend, &args, &[]).await;
    let fixture = Fixture::create(&server).await;
    let store = Store::connect(&server.database_url()).await.expect("open store");
    let mut mismatches = Vec::new();
    for (row, (route, target, expected_row)) in MATRIX.iter().enumerate() {
        for (col, (caller, expected)) in CALLERS.into_iter().zip(expected_row).enumerate() {
            let cell = Cell {
                row,
                col,
                caller,
                target: *target,
            };
            if let Some(problem) = run_cell(&server, &fixture, &store, route, cell, *expected).await {
                let row = format!("{route} {target:?}");
                mismatches.push(format!("{row:<34} {:<5} {problem}", HEADINGS[col]));
            }
        }
    }
    store.close().await;
    mismatches.extend(fixture_problems(&server, &fixture).await);
    assert!(
        mismatches.is_empty(),
        "{} cells of the repository permission matrix differ from the policy table (columns: {}):\n{}",
        mismatches.len(),
        HEADINGS.join(" "),
        mismatches.join("\n")
    );
}

crate::both_backends!(permission_matrix);
