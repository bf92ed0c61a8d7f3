//! Rows of `organizations` and `org_members`.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::namespaces::NamespaceKind;
use super::{flag, like_pattern, Backend, Store, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub full_name: String,
    pub company: String,
    pub location: String,
    pub restrict_images: bool,
    pub allow_official_images: bool,
    pub allow_verified_publishers: bool,
    pub created_at: i64,
}

/// The `restricted_images` settings of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgSettingsRow {
    pub restrict_images: bool,
    pub allow_official_images: bool,
    pub allow_verified_publishers: bool,
}

/// A member with the account fields the API shows. `role` is the effective role: the
/// direct one, raised to `editor` by a team that grants it.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub user_id: String,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub date_joined: i64,
    pub role: String,
    pub joined_at: i64,
}

/// Which members to list.
#[derive(Debug, Default, Clone)]
pub struct MemberFilter<'a> {
    /// Substring of username or full name (and email, when `search_email`),
    /// case-insensitive.
    pub search: Option<&'a str>,
    /// Whether `search` matches email addresses too: only for callers who may see them.
    pub search_email: bool,
    /// Effective role.
    pub role: Option<&'a str>,
}

const ORG_COLUMNS: &str = "id, name, full_name, company, location, restrict_images, \
                           allow_official_images, allow_verified_publishers, created_at";

/// The effective role of the membership row `m`: owner is only ever direct; editor is
/// direct or granted by a team of the organization.
const EFFECTIVE_ROLE: &str = "CASE WHEN m.role = 'owner' THEN 'owner' \
     WHEN m.role = 'editor' OR EXISTS (SELECT 1 FROM team_members tm JOIN teams t ON t.id = tm.team_id \
          WHERE t.org_id = m.org_id AND tm.user_id = m.user_id AND t.role = 'editor') THEN 'editor' \
     ELSE 'member' END";

fn org_from_row(row: &AnyRow) -> Result<OrgRow, sqlx::Error> {
    Ok(OrgRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        full_name: row.try_get("full_name")?,
        company: row.try_get("company")?,
        location: row.try_get("location")?,
        restrict_images: row.try_get::<i64, _>("restrict_images")? != 0,
        allow_official_images: row.try_get::<i64, _>("allow_official_images")? != 0,
        allow_verified_publishers: row.try_get::<i64, _>("allow_verified_publishers")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

fn member_from_row(row: &AnyRow) -> Result<MemberRow, sqlx::Error> {
    Ok(MemberRow {
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        full_name: row.try_get("full_name")?,
        email: row.try_get("email")?,
        date_joined: row.try_get("date_joined")?,
        role: row.try_get("role")?,
        joined_at: row.try_get("joined_at")?,
    })
}

/// The members of `$1` with their effective roles, as a subquery to filter and page.
fn members_subquery() -> String {
    format!(
        "SELECT m.user_id, u.username, u.full_name, u.email, u.created_at AS date_joined, \
         m.joined_at, {EFFECTIVE_ROLE} AS role \
         FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1"
    )
}

impl Store {
    /// Creates an organization (claiming its name) with `owner_id` as its first owner.
    pub async fn insert_org(
        &self,
        tx: &mut Tx,
        id: &str,
        name: &str,
        owner_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.claim_namespace(tx, name, NamespaceKind::Org).await?;
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        self.insert_member(tx, id, owner_id, "owner", now).await
    }

    pub async fn org_by_name(&self, name: &str) -> StoreResult<Option<OrgRow>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE name = $1");
        let row = sqlx::query(&sql).bind(name).fetch_optional(self.reader()).await?;
        Ok(row.as_ref().map(org_from_row).transpose()?)
    }

    pub async fn org_by_id(&self, id: &str) -> StoreResult<Option<OrgRow>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.reader()).await?;
        Ok(row.as_ref().map(org_from_row).transpose()?)
    }

    /// A page of the organizations `user_id` belongs to, by name, and their number.
    pub async fn orgs_of_user(
        &self,
        user_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<OrgRow>, i64)> {
        let total = sqlx::query("SELECT COUNT(*) AS n FROM org_members WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(self.reader())
            .await?
            .try_get("n")?;
        let sql = format!(
            "SELECT {ORG_COLUMNS} FROM organizations WHERE id IN \
             (SELECT org_id FROM org_members WHERE user_id = $1) ORDER BY name LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        Ok((rows.iter().map(org_from_row).collect::<Result<_, _>>()?, total))
    }

    pub async fn update_org_settings(
        &self,
        tx: &mut Tx,
        org_id: &str,
        settings: OrgSettingsRow,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE organizations SET restrict_images = $1, allow_official_images = $2, \
             allow_verified_publishers = $3 WHERE id = $4",
        )
        .bind(flag(settings.restrict_images))
        .bind(flag(settings.allow_official_images))
        .bind(flag(settings.allow_verified_publishers))
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn insert_member(
        &self,
        tx: &mut Tx,
        org_id: &str,
        user_id: &str,
        role: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO org_members (org_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)")
            .bind(org_id)
            .bind(user_id)
            .bind(role)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// One member of `org_id`, with the effective role; `None` for a non-member.
    pub async fn member(&self, org_id: &str, user_id: &str) -> StoreResult<Option<MemberRow>> {
        let sql = format!("SELECT * FROM ({}) x WHERE user_id = $2", members_subquery());
        let row = sqlx::query(&sql)
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(member_from_row).transpose()?)
    }

    /// The direct role of a member, read inside `tx` (for decisions that must not race).
    pub async fn direct_role(&self, tx: &mut Tx, org_id: &str, user_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.map(|r| r.try_get("role")).transpose()?)
    }

    /// Locks `org_id`'s membership against other write transactions until `tx` ends, so
    /// that two transactions demoting or removing different owners at once cannot both see
    /// "another owner is left". On SQLite, `BEGIN IMMEDIATE` serializes writers already.
    pub async fn lock_org(&self, tx: &mut Tx, org_id: &str) -> StoreResult<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(org_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// How many owners `org_id` has, read inside `tx` (after [`Store::lock_org`]).
    pub async fn count_owners(&self, tx: &mut Tx, org_id: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM org_members WHERE org_id = $1 AND role = 'owner'")
            .bind(org_id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// A page of members by username, and how many match `filter` in all.
    pub async fn list_members(
        &self,
        org_id: &str,
        filter: &MemberFilter<'_>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<MemberRow>, i64)> {
        // $2: search pattern or NULL; $3: role or NULL; $4: 1 to match emails.
        let filtered = format!(
            "SELECT * FROM ({}) x WHERE ($2 IS NULL OR LOWER(username) LIKE $2 ESCAPE '\\' \
             OR LOWER(full_name) LIKE $2 ESCAPE '\\' OR ($4 = 1 AND LOWER(email) LIKE $2 ESCAPE '\\')) \
             AND ($3 IS NULL OR role = $3)",
            members_subquery()
        );
        let pattern = filter.search.map(like_pattern);
        let search_email = i32::from(filter.search_email);
        let total = sqlx::query(&format!("SELECT COUNT(*) AS n FROM ({filtered}) y"))
            .bind(org_id)
            .bind(pattern.as_deref())
            .bind(filter.role)
            .bind(search_email)
            .fetch_one(self.reader())
            .await?
            .try_get("n")?;
        let rows = sqlx::query(&format!("{filtered} ORDER BY username LIMIT $5 OFFSET $6"))
            .bind(org_id)
            .bind(pattern.as_deref())
            .bind(filter.role)
            .bind(search_email)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        Ok((rows.iter().map(member_from_row).collect::<Result<_, _>>()?, total))
    }

    /// The team names of each of `user_ids` in `org_id`, as (user id, team name) pairs.
    pub async fn team_names_of(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (0..user_ids.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT tm.user_id, t.name FROM team_members tm JOIN teams t ON t.id = tm.team_id \
             WHERE t.org_id = $1 AND tm.user_id IN ({placeholders}) ORDER BY t.name"
        );
        let mut query = sqlx::query(&sql).bind(org_id);
        for id in user_ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("name")?)))
            .collect()
    }

    pub async fn set_member_role(
        &self,
        tx: &mut Tx,
        org_id: &str,
        user_id: &str,
        role: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE org_members SET role = $1 WHERE org_id = $2 AND user_id = $3")
            .bind(role)
            .bind(org_id)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Removes `user_id` from `org_id` and from every team of it. Nothing else of the
    /// user's (their account, their tokens) is touched.
    pub async fn delete_member(&self, tx: &mut Tx, org_id: &str, user_id: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM team_members WHERE user_id = $1 AND team_id IN \
             (SELECT id FROM teams WHERE org_id = $2)",
        )
        .bind(user_id)
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
