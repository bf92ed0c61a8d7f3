//! Personal access tokens (PATs): created, listed, changed and deleted by their owner.
//! The secret is returned once, at creation; the store keeps only its SHA-256.

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::policy::{authorize, Action, Principal, RepoScope};
use super::secrets::{self, PAT_PREFIX};
use crate::app::App;
use crate::store::{now_micros, NewPat, PatRow, PatUpdate};

/// Where a token was created from, as the API reports it.
pub struct CreatorInfo<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// A token just created, with its secret (shown this once).
pub struct CreatedPat {
    pub row: PatRow,
    pub secret: String,
}

/// One page of a user's tokens.
pub struct PatPage {
    pub rows: Vec<PatRow>,
    pub total: i64,
    pub active: i64,
}

pub fn validate_label(label: &str) -> Result<()> {
    let len = label.chars().count();
    if len == 0 || len > 100 || label.trim().is_empty() {
        return Err(Error::bad_request("token_label: must be 1 to 100 characters"));
    }
    Ok(())
}

impl App {
    pub async fn create_pat(
        &self,
        principal: &Principal,
        label: &str,
        scopes: &[String],
        expires_at: Option<i64>,
        creator: CreatorInfo<'_>,
    ) -> Result<CreatedPat> {
        authorize(Some(principal), Action::ManageOwnAccessTokens)?;
        validate_label(label)?;
        let scope = RepoScope::from_requested(scopes)?;
        let now = now_micros();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::bad_request("expires_at: must be in the future"));
        }
        let secret = secrets::generate_token(PAT_PREFIX);
        let id = uuid::Uuid::new_v4().to_string();
        let hash = secrets::token_hash(&secret);
        let new_pat = NewPat {
            id: &id,
            user_id: &principal.account_id,
            label,
            secret_sha256: &hash,
            scopes: scope.as_str(),
            client_id: "HUB",
            generated_by: "manual",
            creator_ip: creator.ip,
            creator_ua: creator.user_agent,
            created_at: now,
            expires_at,
        };
        let mut tx = self.store.begin().await?;
        self.store.insert_pat(&mut tx, new_pat).await?;
        let event = Event::new(
            audit::ACCOUNT_ACCESS_TOKEN_CREATE,
            &principal.account_name,
            &principal.account_name,
        )
        .with("token_id", &id)
        .with("token_label", label)
        .with("scopes", scope.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        let row = self.own_pat(principal, &id).await?;
        Ok(CreatedPat { row, secret })
    }

    pub async fn list_pats(&self, principal: &Principal, offset: i64, limit: i64) -> Result<PatPage> {
        authorize(Some(principal), Action::ManageOwnAccessTokens)?;
        let (rows, total, active) = self
            .store
            .list_pats(&principal.account_id, offset, limit, now_micros())
            .await?;
        Ok(PatPage { rows, total, active })
    }

    pub async fn get_pat(&self, principal: &Principal, id: &str) -> Result<PatRow> {
        authorize(Some(principal), Action::ManageOwnAccessTokens)?;
        self.own_pat(principal, id).await
    }

    /// Changes the label and/or the active flag. Deactivating revokes the token at once.
    pub async fn update_pat(
        &self,
        principal: &Principal,
        id: &str,
        label: Option<&str>,
        is_active: Option<bool>,
    ) -> Result<PatRow> {
        authorize(Some(principal), Action::ManageOwnAccessTokens)?;
        if label.is_none() && is_active.is_none() {
            return Err(Error::bad_request(
                "nothing to update: give token_label and/or is_active",
            ));
        }
        if let Some(label) = label {
            validate_label(label)?;
        }
        let current = self.own_pat(principal, id).await?;
        let mut tx = self.store.begin().await?;
        let update = PatUpdate { label, is_active };
        if !self
            .store
            .update_pat(&mut tx, &principal.account_id, id, &update)
            .await?
        {
            return Err(not_found());
        }
        let mut event = Event::new(
            audit::ACCOUNT_ACCESS_TOKEN_UPDATE,
            &principal.account_name,
            &principal.account_name,
        )
        .with("token_id", id)
        // The event names the token by its label after the change.
        .with("token_label", label.unwrap_or(&current.label));
        if let Some(active) = is_active {
            event = event.with("is_active", active.to_string());
        }
        self.commit_audited(tx, &Actor::of(principal), event).await?;
        self.own_pat(principal, id).await
    }

    pub async fn delete_pat(&self, principal: &Principal, id: &str) -> Result<()> {
        authorize(Some(principal), Action::ManageOwnAccessTokens)?;
        let pat = self.own_pat(principal, id).await?;
        let mut tx = self.store.begin().await?;
        if !self.store.delete_pat(&mut tx, &principal.account_id, id).await? {
            return Err(not_found());
        }
        let event = Event::new(
            audit::ACCOUNT_ACCESS_TOKEN_DELETE,
            &principal.account_name,
            &principal.account_name,
        )
        .with("token_id", id)
        .with("token_label", pat.label.as_str());
        self.commit_audited(tx, &Actor::of(principal), event).await
    }

    async fn own_pat(&self, principal: &Principal, id: &str) -> Result<PatRow> {
        self.store
            .pat(&principal.account_id, id)
            .await?
            .ok_or_else(not_found)
    }
}

fn not_found() -> Error {
    Error::not_found("access token not found")
}
