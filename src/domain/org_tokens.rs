//! Organization access tokens (OATs): created and managed by organization owners from a
//! password session. The organization acts through them, bounded by their resources. The
//! secret is shown once; the store keeps only its SHA-256.

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::policy::{oat_scope_known, OatResource, OatResourceType, OrgAction, Principal};
use super::registry::valid_component;
use super::secrets::{self, OAT_PREFIX};
use crate::app::App;
use crate::store::{now_micros, NewOat, OatRow, OatUpdate};

/// At most this many resources per token, as on Docker Hub.
pub const MAX_RESOURCES: usize = 50;
/// The path of a `TYPE_REPO` resource that reaches every public repository.
pub const ALL_PUBLIC_REPOS: &str = "*/*/public";

/// A token just created, with its secret (shown this once).
pub struct CreatedOat {
    pub row: OatRow,
    pub secret: String,
}

/// What a new token is.
pub struct OatRequest<'a> {
    pub label: &'a str,
    pub description: Option<&'a str>,
    pub resources: Vec<OatResource>,
    pub expires_at: Option<i64>,
}

/// A change to a token; `None` leaves a field as it is. The expiry cannot change.
pub struct OatChange<'a> {
    pub label: Option<&'a str>,
    pub description: Option<&'a str>,
    pub resources: Option<Vec<OatResource>>,
    pub is_active: Option<bool>,
}

fn validate_label(label: &str) -> Result<()> {
    let len = label.chars().count();
    if len == 0 || len > 100 || label.trim().is_empty() {
        return Err(Error::bad_request("label: must be 1 to 100 characters"));
    }
    Ok(())
}

fn validate_description(description: &str) -> Result<()> {
    if description.chars().count() > 500 {
        return Err(Error::bad_request("description: must be at most 500 characters"));
    }
    Ok(())
}

/// Checks every resource against `org_name`: repository paths inside the organization (or
/// all public repositories), the organization's own name, and scopes that exist for the
/// resource's type.
pub fn validate_resources(org_name: &str, resources: &[OatResource]) -> Result<()> {
    if resources.len() > MAX_RESOURCES {
        return Err(Error::bad_request(format!(
            "resources: at most {MAX_RESOURCES} per token"
        )));
    }
    for resource in resources {
        let path = resource.path.as_str();
        match resource.kind {
            OatResourceType::Repo => {
                let in_org = path
                    .split_once('/')
                    .is_some_and(|(ns, repo)| ns == org_name && (repo == "*" || valid_component(repo)));
                if !(in_org || path == ALL_PUBLIC_REPOS) {
                    return Err(Error::bad_request(format!(
                        "resources: TYPE_REPO path {path:?} must be {org_name}/<repository>, {org_name}/* or {ALL_PUBLIC_REPOS}"
                    )));
                }
            }
            OatResourceType::Org => {
                if path != org_name {
                    return Err(Error::bad_request(format!(
                        "resources: TYPE_ORG path must be the organization's name, {org_name:?}"
                    )));
                }
            }
        }
        if resource.scopes.is_empty() {
            return Err(Error::bad_request(format!(
                "resources: {path:?} needs at least one scope"
            )));
        }
        if let Some(unknown) = resource
            .scopes
            .iter()
            .find(|scope| !oat_scope_known(resource.kind, scope))
        {
            return Err(Error::bad_request(format!(
                "resources: unknown scope {unknown:?} for {path:?}"
            )));
        }
    }
    Ok(())
}

fn resources_json(resources: &[OatResource]) -> Result<String> {
    serde_json::to_string(resources).map_err(Error::internal)
}

impl App {
    pub async fn create_oat(
        &self,
        principal: &Principal,
        org_name: &str,
        request: OatRequest<'_>,
    ) -> Result<CreatedOat> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ManageAccessTokens)
            .await?;
        validate_label(request.label)?;
        let description = request.description.unwrap_or("");
        validate_description(description)?;
        validate_resources(&ctx.org.name, &request.resources)?;
        let now = now_micros();
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::bad_request("expires_at: must be in the future"));
        }
        let secret = secrets::generate_token(OAT_PREFIX);
        let id = uuid::Uuid::new_v4().to_string();
        let hash = secrets::token_hash(&secret);
        let resources = resources_json(&request.resources)?;
        let new_oat = NewOat {
            id: &id,
            org_id: &ctx.org.id,
            label: request.label,
            description,
            secret_sha256: &hash,
            resources: &resources,
            created_by: &principal.account_name,
            created_at: now,
            expires_at: request.expires_at,
        };
        let mut tx = self.store.begin().await?;
        self.store.insert_oat(&mut tx, new_oat).await?;
        let event = Event::new(audit::ORG_ACCESS_TOKEN_CREATE, &ctx.org.name, &ctx.org.name)
            .with("token_id", &id)
            .with("token_label", request.label);
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        let row = self.org_oat(&ctx.org.id, &id).await?;
        Ok(CreatedOat { row, secret })
    }

    pub async fn list_oats(
        &self,
        principal: &Principal,
        org_name: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OatRow>, i64)> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ManageAccessTokens)
            .await?;
        Ok(self.store.list_oats(&ctx.org.id, offset, limit).await?)
    }

    pub async fn get_oat(&self, principal: &Principal, org_name: &str, id: &str) -> Result<OatRow> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ManageAccessTokens)
            .await?;
        self.org_oat(&ctx.org.id, id).await
    }

    /// Changes label, description, resources or the active flag. Deactivating revokes
    /// the token at once.
    pub async fn update_oat(
        &self,
        principal: &Principal,
        org_name: &str,
        id: &str,
        change: OatChange<'_>,
    ) -> Result<OatRow> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ManageAccessTokens)
            .await?;
        let current = self.org_oat(&ctx.org.id, id).await?;
        if let Some(label) = change.label {
            validate_label(label)?;
        }
        if let Some(description) = change.description {
            validate_description(description)?;
        }
        let resources = match &change.resources {
            Some(resources) => {
                validate_resources(&ctx.org.name, resources)?;
                Some(resources_json(resources)?)
            }
            None => None,
        };
        let update = OatUpdate {
            label: change.label,
            description: change.description,
            resources: resources.as_deref(),
            is_active: change.is_active,
        };
        let mut tx = self.store.begin().await?;
        if !self.store.update_oat(&mut tx, &ctx.org.id, id, &update).await? {
            return Err(not_found());
        }
        let mut event = Event::new(audit::ORG_ACCESS_TOKEN_UPDATE, &ctx.org.name, &ctx.org.name)
            .with("token_id", id)
            .with("token_label", change.label.unwrap_or(&current.label));
        if let Some(active) = change.is_active {
            event = event.with("is_active", active.to_string());
        }
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        self.org_oat(&ctx.org.id, id).await
    }

    pub async fn delete_oat(&self, principal: &Principal, org_name: &str, id: &str) -> Result<()> {
        let ctx = self
            .org_for(Some(principal), org_name, OrgAction::ManageAccessTokens)
            .await?;
        let current = self.org_oat(&ctx.org.id, id).await?;
        let mut tx = self.store.begin().await?;
        if !self.store.delete_oat(&mut tx, &ctx.org.id, id).await? {
            return Err(not_found());
        }
        let event = Event::new(audit::ORG_ACCESS_TOKEN_DELETE, &ctx.org.name, &ctx.org.name)
            .with("token_id", id)
            .with("token_label", current.label.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }

    async fn org_oat(&self, org_id: &str, id: &str) -> Result<OatRow> {
        self.store.oat(org_id, id).await?.ok_or_else(not_found)
    }
}

fn not_found() -> Error {
    Error::not_found("access token not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: OatResourceType, path: &str, scopes: &[&str]) -> OatResource {
        OatResource {
            kind,
            path: path.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn resource_paths_and_scopes() {
        use OatResourceType::{Org, Repo};
        let ok = [
            resource(Repo, "acme/app", &["scope-image-pull"]),
            resource(Repo, "acme/my-app.v2", &["scope-image-push"]),
            resource(Repo, "acme/a__b--c", &["scope-image-push"]),
            resource(Repo, "acme/*", &["scope-image-delete"]),
            resource(Repo, "*/*/public", &["scope-image-pull"]),
            resource(Org, "acme", &["scope-member-read", "scope-group-edit"]),
        ];
        assert!(validate_resources("acme", &ok).is_ok());
        for bad in [
            resource(Repo, "other/app", &["scope-image-pull"]),
            resource(Repo, "acme/App", &["scope-image-pull"]),
            resource(Repo, "acme/a--", &["scope-image-pull"]),
            resource(Repo, "acme/a___b", &["scope-image-pull"]),
            resource(Repo, "acme/a._b", &["scope-image-pull"]),
            resource(Repo, "acme/-a", &["scope-image-pull"]),
            resource(Repo, "acme", &["scope-image-pull"]),
            resource(Repo, "acme/app", &[]),
            resource(Repo, "acme/app", &["scope-member-read"]),
            resource(Org, "other", &["scope-member-read"]),
            resource(Org, "acme", &["scope-image-pull"]),
        ] {
            assert!(
                validate_resources("acme", std::slice::from_ref(&bad)).is_err(),
                "{bad:?}"
            );
        }
        let too_many = vec![resource(Repo, "acme/*", &["scope-image-pull"]); MAX_RESOURCES + 1];
        assert!(validate_resources("acme", &too_many).is_err());
    }
}
