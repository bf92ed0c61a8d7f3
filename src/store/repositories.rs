//! Repositories and tags as the Hub API lists them, repository settings, and team access
//! to repositories (`repository_teams`). The registry's own rows are in `registry.rs`.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::registry::{repo_from_row, REPO_COLUMNS};
use super::{like_pattern, RepositoryRow, Store, StoreResult, Tx};

/// Which repositories of a namespace a listing shows.
#[derive(Debug, Clone)]
pub enum RepoVisibility<'a> {
    All,
    Public,
    /// Public ones, and private ones a team of this user has access to.
    PublicAndTeams(&'a str),
}

/// The order of a repository listing; ties are broken by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoOrdering {
    Name,
    NameDesc,
    LastUpdated,
    LastUpdatedDesc,
    PullCount,
    PullCountDesc,
}

impl RepoOrdering {
    fn sql(self) -> &'static str {
        match self {
            RepoOrdering::Name => "name ASC",
            RepoOrdering::NameDesc => "name DESC",
            RepoOrdering::LastUpdated => "updated_at ASC, name ASC",
            RepoOrdering::LastUpdatedDesc => "updated_at DESC, name ASC",
            RepoOrdering::PullCount => "pull_count ASC, name ASC",
            RepoOrdering::PullCountDesc => "pull_count DESC, name ASC",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RepoFilter<'a> {
    pub namespace: &'a str,
    /// Part of the name, case-insensitive.
    pub name: Option<&'a str>,
    pub visibility: RepoVisibility<'a>,
}

/// Figures about a repository's content.
#[derive(Debug, Clone, Default)]
pub struct RepoContent {
    /// Sum of the sizes of the blobs it holds.
    pub storage_size: i64,
    /// The media types of its manifests.
    pub media_types: Vec<String>,
}

/// A tag with what the Hub API shows of it.
#[derive(Debug, Clone)]
pub struct TagRow {
    pub number: i64,
    pub repository_number: i64,
    pub name: String,
    pub digest: String,
    pub media_type: String,
    pub pushed_at: i64,
    pub pushed_by: String,
    pub last_pulled_at: Option<i64>,
    /// JSON: the manifest's per-platform images.
    pub images: String,
}

/// A team's access to a repository.
#[derive(Debug, Clone)]
pub struct RepoTeamRow {
    pub team_id: i64,
    pub team_name: String,
    pub permission: String,
}

const TAG_COLUMNS: &str = "t.number, r.number AS repository_number, t.name, t.digest, m.media_type, \
     t.pushed_at, t.pushed_by, t.last_pulled_at, m.images";
/// The manifest and repository of each tag `t`.
const TAG_JOINS: &str = "JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest \
     JOIN repositories r ON r.id = t.repository_id";

fn tag_from_row(row: &AnyRow) -> Result<TagRow, sqlx::Error> {
    Ok(TagRow {
        number: row.try_get("number")?,
        repository_number: row.try_get("repository_number")?,
        name: row.try_get("name")?,
        digest: row.try_get("digest")?,
        media_type: row.try_get("media_type")?,
        pushed_at: row.try_get("pushed_at")?,
        pushed_by: row.try_get("pushed_by")?,
        last_pulled_at: row.try_get("last_pulled_at")?,
        images: row.try_get("images")?,
    })
}

fn repo_team_from_row(row: &AnyRow) -> Result<RepoTeamRow, sqlx::Error> {
    Ok(RepoTeamRow {
        team_id: row.try_get("team_id")?,
        team_name: row.try_get("team_name")?,
        permission: row.try_get("permission")?,
    })
}

/// The `WHERE` clause of a listing and the values of its parameters (`$1`, `$2`, …): the
/// namespace, then the name pattern and the user, where the filter has them.
fn repo_filter_sql(filter: &RepoFilter<'_>) -> (String, Vec<String>) {
    let mut sql = String::from("namespace = $1");
    let mut values = vec![filter.namespace.to_string()];
    if let Some(name) = filter.name {
        values.push(like_pattern(name));
        sql.push_str(&format!(" AND LOWER(name) LIKE ${} ESCAPE '\\'", values.len()));
    }
    match filter.visibility {
        RepoVisibility::All => {}
        RepoVisibility::Public => sql.push_str(" AND is_private = 0"),
        RepoVisibility::PublicAndTeams(user_id) => {
            values.push(user_id.to_string());
            sql.push_str(&format!(
                " AND (is_private = 0 OR id IN (SELECT rt.repository_id FROM repository_teams rt \
                 JOIN team_members tm ON tm.team_id = rt.team_id WHERE tm.user_id = ${}))",
                values.len()
            ));
        }
    }
    (sql, values)
}

impl Store {
    /// A page of a namespace's repositories, and how many match in all.
    pub async fn list_repositories(
        &self,
        filter: &RepoFilter<'_>,
        ordering: RepoOrdering,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<RepositoryRow>, i64)> {
        let (condition, values) = repo_filter_sql(filter);
        // Unfiltered listings read the namespace's counts (kept by triggers, migration
        // 0011); a name search or a member's view counts what matches.
        let count_sql = match (filter.name, &filter.visibility) {
            (None, RepoVisibility::All) => {
                "SELECT repository_count AS n FROM namespaces WHERE name = $1".to_string()
            }
            (None, RepoVisibility::Public) => {
                "SELECT public_repository_count AS n FROM namespaces WHERE name = $1".to_string()
            }
            _ => format!("SELECT COUNT(*) AS n FROM repositories WHERE {condition}"),
        };
        let mut count = sqlx::query(&count_sql);
        for value in &values {
            count = count.bind(value.as_str());
        }
        let total: i64 = count
            .fetch_optional(self.reader())
            .await?
            .map(|row| row.try_get("n"))
            .transpose()?
            .unwrap_or(0);
        // The page's names are picked first, from an index alone where the filter allows
        // (migration 0012), then its rows are read: skipping to a deep page walks index
        // entries, not table rows. `CROSS JOIN` makes the page SQLite's outer loop, as in
        // `list_tag_rows`.
        let order = ordering.sql();
        let sql = format!(
            "SELECT {REPO_COLUMNS} FROM (SELECT name AS page_name FROM repositories WHERE {condition} \
             ORDER BY {order} LIMIT ${} OFFSET ${}) page CROSS JOIN repositories \
             WHERE repositories.namespace = $1 AND repositories.name = page.page_name ORDER BY {order}",
            values.len() + 1,
            values.len() + 2
        );
        let mut page = sqlx::query(&sql);
        for value in &values {
            page = page.bind(value.as_str());
        }
        let rows = page.bind(limit).bind(offset).fetch_all(self.reader()).await?;
        let repos = rows.iter().map(repo_from_row).collect::<Result<_, _>>()?;
        Ok((repos, total))
    }

    /// Storage size and manifest media types of a repository.
    pub async fn repository_content(&self, repository_id: &str) -> StoreResult<RepoContent> {
        let mut contents = self.repository_contents(&[repository_id]).await?;
        Ok(contents.remove(repository_id).unwrap_or_default())
    }

    /// Storage size and manifest media types of each of `repository_ids` (a page of a
    /// listing), in two queries whatever their number.
    pub async fn repository_contents(
        &self,
        repository_ids: &[&str],
    ) -> StoreResult<HashMap<String, RepoContent>> {
        let mut contents: HashMap<String, RepoContent> = repository_ids
            .iter()
            .map(|id| (id.to_string(), RepoContent::default()))
            .collect();
        if repository_ids.is_empty() {
            return Ok(contents);
        }
        let ids = (1..=repository_ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        // PostgreSQL sums BIGINTs as NUMERIC: cast back.
        let sizes = format!(
            "SELECT rb.repository_id, CAST(SUM(b.size) AS BIGINT) AS size FROM repository_blobs rb \
             JOIN blobs b ON b.digest = rb.digest WHERE rb.repository_id IN ({ids}) GROUP BY rb.repository_id"
        );
        let types = format!(
            "SELECT DISTINCT repository_id, media_type FROM manifests WHERE repository_id IN ({ids}) \
             ORDER BY repository_id, media_type"
        );
        let mut query = sqlx::query(&sizes);
        for id in repository_ids {
            query = query.bind(*id);
        }
        for row in query.fetch_all(self.reader()).await? {
            let id: String = row.try_get("repository_id")?;
            if let Some(content) = contents.get_mut(&id) {
                content.storage_size = row.try_get::<Option<i64>, _>("size")?.unwrap_or(0);
            }
        }
        let mut query = sqlx::query(&types);
        for id in repository_ids {
            query = query.bind(*id);
        }
        for row in query.fetch_all(self.reader()).await? {
            let id: String = row.try_get("repository_id")?;
            if let Some(content) = contents.get_mut(&id) {
                content.media_types.push(row.try_get("media_type")?);
            }
        }
        Ok(contents)
    }

    /// Sets the descriptions; `None` leaves one as it is.
    pub async fn update_repository(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        description: Option<&str>,
        full_description: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE repositories SET description = COALESCE($1, description), \
             full_description = COALESCE($2, full_description), updated_at = $3 WHERE id = $4",
        )
        .bind(description)
        .bind(full_description)
        .bind(now)
        .bind(repository_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn set_repository_privacy(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        is_private: bool,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE repositories SET is_private = $1, updated_at = $2 WHERE id = $3")
            .bind(i32::from(is_private))
            .bind(now)
            .bind(repository_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Deletes a repository with its tags, manifests, upload sessions, blob links and team
    /// grants. The blobs stay, for the garbage collector. False when there was none.
    pub async fn delete_repository(&self, tx: &mut Tx, repository_id: &str) -> StoreResult<bool> {
        super::gc::touch_referenced_blobs(tx, repository_id, None, super::now_micros()).await?;
        // Tags refer to manifests: gone first, so that no order of cascades trips on them.
        for table in ["tags", "manifest_references", "manifests"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE repository_id = $1"))
                .bind(repository_id)
                .execute(&mut **tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM repositories WHERE id = $1")
            .bind(repository_id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A page of a repository's tags, newest push first, and how many it has.
    pub async fn list_tag_rows(
        &self,
        repository_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<TagRow>, i64)> {
        // The count is kept by triggers; the page is picked from the covering index
        // `tags_by_pushed` alone, so that skipping to a deep page reads no other table.
        let total: i64 = sqlx::query("SELECT tag_count FROM repositories WHERE id = $1")
            .bind(repository_id)
            .fetch_optional(self.reader())
            .await?
            .map(|row| row.try_get("tag_count"))
            .transpose()?
            .unwrap_or(0);
        // `CROSS JOIN` keeps SQLite's planner from walking every tag in index order (to
        // spare itself a sort of 100 rows) and probing the page for each: the page is the
        // outer loop. PostgreSQL plans it as the inner join it is.
        let sql = format!(
            "SELECT {TAG_COLUMNS} FROM (SELECT name AS page_name, pushed_at AS page_pushed_at FROM tags \
             WHERE repository_id = $1 ORDER BY pushed_at DESC, name ASC LIMIT $2 OFFSET $3) page \
             CROSS JOIN tags t {TAG_JOINS} WHERE t.repository_id = $1 AND t.name = page.page_name \
             ORDER BY page.page_pushed_at DESC, page.page_name ASC"
        );
        let rows = sqlx::query(&sql)
            .bind(repository_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        let tags = rows.iter().map(tag_from_row).collect::<Result<_, _>>()?;
        Ok((tags, total))
    }

    pub async fn tag_row(&self, repository_id: &str, name: &str) -> StoreResult<Option<TagRow>> {
        let sql = format!(
            "SELECT {TAG_COLUMNS} FROM tags t {TAG_JOINS} WHERE t.repository_id = $1 AND t.name = $2"
        );
        let row = sqlx::query(&sql)
            .bind(repository_id)
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(tag_from_row).transpose()?)
    }

    /// Whether a repository has any tag.
    pub async fn has_tags(&self, repository_id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM tags WHERE repository_id = $1 LIMIT 1")
            .bind(repository_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    /// The teams with access to a repository, by team name.
    pub async fn repository_teams(&self, repository_id: &str) -> StoreResult<Vec<RepoTeamRow>> {
        let rows = sqlx::query(
            "SELECT rt.team_id, t.name AS team_name, rt.permission FROM repository_teams rt \
             JOIN teams t ON t.id = rt.team_id WHERE rt.repository_id = $1 ORDER BY t.name",
        )
        .bind(repository_id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(repo_team_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn repository_team(
        &self,
        repository_id: &str,
        team_id: i64,
    ) -> StoreResult<Option<RepoTeamRow>> {
        let row = sqlx::query(
            "SELECT rt.team_id, t.name AS team_name, rt.permission FROM repository_teams rt \
             JOIN teams t ON t.id = rt.team_id WHERE rt.repository_id = $1 AND rt.team_id = $2",
        )
        .bind(repository_id)
        .bind(team_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(repo_team_from_row).transpose()?)
    }

    /// Grants a team `permission` on a repository, or changes what it has.
    pub async fn set_repository_team(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        team_id: i64,
        permission: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO repository_teams (repository_id, team_id, permission, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (repository_id, team_id) \
             DO UPDATE SET permission = excluded.permission",
        )
        .bind(repository_id)
        .bind(team_id)
        .bind(permission)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn remove_repository_team(
        &self,
        tx: &mut Tx,
        repository_id: &str,
        team_id: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM repository_teams WHERE repository_id = $1 AND team_id = $2")
            .bind(repository_id)
            .bind(team_id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The permissions the teams of `user_id` have on a repository.
    pub async fn team_repo_permissions_of(
        &self,
        repository_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT rt.permission FROM repository_teams rt JOIN team_members tm ON tm.team_id = rt.team_id \
             WHERE rt.repository_id = $1 AND tm.user_id = $2",
        )
        .bind(repository_id)
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("permission")?)).collect()
    }
}
