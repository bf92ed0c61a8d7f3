//! Rows of `namespaces`: the one registry of user and organization names.

use sqlx::Row;

use super::{conflict_on_unique, Store, StoreResult, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    User,
    Org,
}

impl NamespaceKind {
    fn as_str(self) -> &'static str {
        match self {
            NamespaceKind::User => "user",
            NamespaceKind::Org => "org",
        }
    }
}

impl Store {
    /// Takes `name` for a new user or organization; [`super::StoreError::Conflict`] when a
    /// user or an organization already has it.
    pub async fn claim_namespace(&self, tx: &mut Tx, name: &str, kind: NamespaceKind) -> StoreResult<()> {
        sqlx::query("INSERT INTO namespaces (name, kind) VALUES ($1, $2)")
            .bind(name)
            .bind(kind.as_str())
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict_on_unique(e, "name already in use by a user or an organization"))?;
        Ok(())
    }

    /// What `name` is, if anything.
    pub async fn namespace_kind(&self, name: &str) -> StoreResult<Option<NamespaceKind>> {
        let row = sqlx::query("SELECT kind FROM namespaces WHERE name = $1")
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        Ok(match row {
            Some(row) if row.try_get::<String, _>("kind")? == "org" => Some(NamespaceKind::Org),
            Some(_) => Some(NamespaceKind::User),
            None => None,
        })
    }
}
