//! Rows of `teams` and `team_members` (the API calls teams "groups").

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{conflict_on_unique, like_pattern, Store, StoreResult, Tx};

#[derive(Debug, Clone)]
pub struct TeamRow {
    pub id: i64,
    pub uuid: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    pub role: Option<String>,
    pub member_count: i64,
}

/// A team member with the account fields the API shows.
#[derive(Debug, Clone)]
pub struct TeamMemberRow {
    pub user_id: String,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub date_joined: i64,
}

/// Which teams to list.
#[derive(Debug, Default, Clone)]
pub struct TeamFilter<'a> {
    /// Only the teams this user is in.
    pub member_id: Option<&'a str>,
    /// Substring of the team name, case-insensitive.
    pub search: Option<&'a str>,
}

/// A partial update; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct TeamUpdate<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    /// `Some(None)` clears the role.
    pub role: Option<Option<&'a str>>,
}

const TEAM_COLUMNS: &str = "t.id, t.uuid, t.org_id, t.name, t.description, t.role, \
     (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) AS member_count";

const DUPLICATE_NAME: &str = "a team with this name already exists in the organization";

fn team_from_row(row: &AnyRow) -> Result<TeamRow, sqlx::Error> {
    Ok(TeamRow {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        role: row.try_get("role")?,
        member_count: row.try_get("member_count")?,
    })
}

fn team_member_from_row(row: &AnyRow) -> Result<TeamMemberRow, sqlx::Error> {
    Ok(TeamMemberRow {
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        full_name: row.try_get("full_name")?,
        email: row.try_get("email")?,
        date_joined: row.try_get("date_joined")?,
    })
}

impl Store {
    pub async fn insert_team(
        &self,
        tx: &mut Tx,
        uuid: &str,
        org_id: &str,
        name: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO teams (uuid, org_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid)
        .bind(org_id)
        .bind(name)
        .bind(description)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, DUPLICATE_NAME))?;
        Ok(())
    }

    pub async fn team_by_name(&self, org_id: &str, name: &str) -> StoreResult<Option<TeamRow>> {
        let sql = format!("SELECT {TEAM_COLUMNS} FROM teams t WHERE t.org_id = $1 AND t.name = $2");
        let row = sqlx::query(&sql)
            .bind(org_id)
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(team_from_row).transpose()?)
    }

    pub async fn team_by_id(&self, id: i64) -> StoreResult<Option<TeamRow>> {
        let sql = format!("SELECT {TEAM_COLUMNS} FROM teams t WHERE t.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.reader()).await?;
        Ok(row.as_ref().map(team_from_row).transpose()?)
    }

    /// A page of `org_id`'s teams by name, and how many match `filter` in all.
    pub async fn list_teams(
        &self,
        org_id: &str,
        filter: &TeamFilter<'_>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<TeamRow>, i64)> {
        // $2: member id or NULL; $3: name pattern or NULL.
        let condition = "t.org_id = $1 \
             AND ($2 IS NULL OR t.id IN (SELECT team_id FROM team_members WHERE user_id = $2)) \
             AND ($3 IS NULL OR LOWER(t.name) LIKE $3 ESCAPE '\\')";
        let pattern = filter.search.map(like_pattern);
        let total = sqlx::query(&format!("SELECT COUNT(*) AS n FROM teams t WHERE {condition}"))
            .bind(org_id)
            .bind(filter.member_id)
            .bind(pattern.as_deref())
            .fetch_one(self.reader())
            .await?
            .try_get("n")?;
        let sql = format!(
            "SELECT {TEAM_COLUMNS} FROM teams t WHERE {condition} ORDER BY t.name LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(filter.member_id)
            .bind(pattern.as_deref())
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        Ok((rows.iter().map(team_from_row).collect::<Result<_, _>>()?, total))
    }

    pub async fn update_team(&self, tx: &mut Tx, id: i64, update: &TeamUpdate<'_>) -> StoreResult<()> {
        let (set_role, role) = match update.role {
            Some(role) => (1, role),
            None => (0, None),
        };
        sqlx::query(
            "UPDATE teams SET name = COALESCE($1, name), description = COALESCE($2, description), \
             role = CASE WHEN $3 = 1 THEN $4 ELSE role END WHERE id = $5",
        )
        .bind(update.name)
        .bind(update.description)
        .bind(set_role)
        .bind(role)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, DUPLICATE_NAME))?;
        Ok(())
    }

    pub async fn delete_team(&self, tx: &mut Tx, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM team_members WHERE team_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE invites SET team_id = NULL WHERE team_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// A page of a team's members by username, and how many match `search` in all.
    /// `search` matches username and full name, and the email too when `search_email`.
    pub async fn list_team_members(
        &self,
        team_id: i64,
        search: Option<&str>,
        search_email: bool,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<TeamMemberRow>, i64)> {
        // $2: pattern or NULL; $3: 1 to match emails.
        let from = "FROM team_members tm JOIN users u ON u.id = tm.user_id WHERE tm.team_id = $1 \
             AND ($2 IS NULL OR LOWER(u.username) LIKE $2 ESCAPE '\\' OR LOWER(u.full_name) LIKE $2 ESCAPE '\\' \
                  OR ($3 = 1 AND LOWER(u.email) LIKE $2 ESCAPE '\\'))";
        let pattern = search.map(like_pattern);
        let total = sqlx::query(&format!("SELECT COUNT(*) AS n {from}"))
            .bind(team_id)
            .bind(pattern.as_deref())
            .bind(i32::from(search_email))
            .fetch_one(self.reader())
            .await?
            .try_get("n")?;
        let sql = format!(
            "SELECT tm.user_id, u.username, u.full_name, u.email, u.created_at AS date_joined {from} \
             ORDER BY u.username LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(&sql)
            .bind(team_id)
            .bind(pattern.as_deref())
            .bind(i32::from(search_email))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        Ok((
            rows.iter().map(team_member_from_row).collect::<Result<_, _>>()?,
            total,
        ))
    }

    /// Adds `user_id` to a team; false when they already were in it.
    pub async fn add_team_member(
        &self,
        tx: &mut Tx,
        team_id: i64,
        user_id: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO team_members (team_id, user_id, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (team_id, user_id) DO NOTHING",
        )
        .bind(team_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes `user_id` from a team; false when they were not in it.
    pub async fn remove_team_member(&self, tx: &mut Tx, team_id: i64, user_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
