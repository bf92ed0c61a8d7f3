//! SCIM provisioning rows: organization tokens, provisioned users (`scim_users`), and the
//! identity provider's attributes of teams; and the evaluation of SCIM filters in SQL.
//!
//! The domain turns a parsed SCIM filter into a [`Predicate`] over the [`ScimColumn`]s
//! below; this module is the only place that knows which SQL expression each column is,
//! so the same predicate runs on SQLite and PostgreSQL.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{conflict_on_unique, flag, Store, StoreResult, Tx};

/// A provisioned user, with the account's username.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserRow {
    pub org_id: String,
    pub user_id: String,
    /// The account's username (SCIM `displayName`).
    pub username: String,
    /// SCIM `userName`, as the identity provider sent it.
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `emails` as sent: a JSON list.
    pub emails: String,
    /// The address filters on `emails` match.
    pub email: Option<String>,
    pub active: bool,
    /// `dockerRole`, when set: the role held in the organization while active.
    pub role: Option<String>,
    /// `dockerTeam`.
    pub team: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A team as a SCIM group.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroupRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    /// The identity provider's name for it (`org:team` or `team`), else the team's name.
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A member of a group, for rendering `members` and a user's `groups`.
#[derive(Debug, Clone)]
pub struct ScimMembership {
    pub team_id: i64,
    pub team_uuid: String,
    pub team_name: String,
    pub user_id: String,
    pub username: String,
}

/// What a SCIM filter or `sortBy` can test: an attribute of a provisioned user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimColumn {
    UserId,
    UserName,
    /// The account's username: `displayName`.
    Username,
    UserExternalId,
    GivenName,
    FamilyName,
    Email,
    Active,
    Role,
    UserCreated,
    UserUpdated,
    GroupId,
    GroupDisplayName,
    GroupExternalId,
    GroupCreated,
}

/// How a column compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    /// Text compared without regard to case.
    Text,
    /// Text compared exactly (ids).
    ExactText,
    Flag,
    Time,
}

impl ScimColumn {
    fn sql(self) -> &'static str {
        match self {
            ScimColumn::UserId => "s.user_id",
            ScimColumn::UserName => "s.user_name",
            ScimColumn::Username => "u.username",
            ScimColumn::UserExternalId => "s.external_id",
            ScimColumn::GivenName => "s.given_name",
            ScimColumn::FamilyName => "s.family_name",
            ScimColumn::Email => "s.email",
            ScimColumn::Active => "s.active",
            ScimColumn::Role => "s.role",
            ScimColumn::UserCreated => "s.created_at",
            ScimColumn::UserUpdated => "s.updated_at",
            ScimColumn::GroupId => "t.uuid",
            ScimColumn::GroupDisplayName => "COALESCE(t.scim_display_name, t.name)",
            ScimColumn::GroupExternalId => "t.external_id",
            ScimColumn::GroupCreated => "t.created_at",
        }
    }

    fn kind(self) -> ColumnKind {
        match self {
            ScimColumn::UserId
            | ScimColumn::UserExternalId
            | ScimColumn::GroupId
            | ScimColumn::GroupExternalId => ColumnKind::ExactText,
            ScimColumn::Active => ColumnKind::Flag,
            ScimColumn::UserCreated | ScimColumn::UserUpdated | ScimColumn::GroupCreated => ColumnKind::Time,
            _ => ColumnKind::Text,
        }
    }

    /// The expression to sort by: text without regard to case.
    fn sort_sql(self) -> String {
        match self.kind() {
            ColumnKind::Text => format!("LOWER({})", self.sql()),
            _ => self.sql().to_string(),
        }
    }
}

/// A comparison of RFC 7644 §3.4.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A filter the store evaluates. Text values of case-insensitive columns are compared
/// lowercased; times are microseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Const(bool),
    And(Box<Predicate>, Box<Predicate>),
    Or(Box<Predicate>, Box<Predicate>),
    Not(Box<Predicate>),
    Text {
        column: ScimColumn,
        op: Comparison,
        value: String,
    },
    Flag {
        column: ScimColumn,
        equal: bool,
        value: bool,
    },
    Time {
        column: ScimColumn,
        op: Comparison,
        micros: i64,
    },
    /// The column has a value (RFC 7644 `pr`).
    Present(ScimColumn),
    /// Groups: the group has the user with this id as a member.
    HasMember(String),
    /// Users: the user is in the group (team) with this id.
    InGroup(String),
}

/// One bound value of a compiled predicate.
enum Bind {
    Text(String),
    Int(i64),
}

/// A predicate as SQL, with its binds numbered from a given placeholder on.
struct Compiled {
    sql: String,
    binds: Vec<Bind>,
    next: usize,
}

impl Compiled {
    fn new(first_placeholder: usize) -> Compiled {
        Compiled {
            sql: String::new(),
            binds: Vec::new(),
            next: first_placeholder,
        }
    }

    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        let placeholder = format!("${}", self.next);
        self.next += 1;
        placeholder
    }

    fn push(&mut self, predicate: &Predicate) {
        match predicate {
            Predicate::Const(true) => self.sql.push_str("1 = 1"),
            Predicate::Const(false) => self.sql.push_str("1 = 0"),
            Predicate::And(a, b) | Predicate::Or(a, b) => {
                let joiner = if matches!(predicate, Predicate::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                self.sql.push('(');
                self.push(a);
                self.sql.push_str(joiner);
                self.push(b);
                self.sql.push(')');
            }
            Predicate::Not(inner) => {
                self.sql.push_str("NOT (");
                self.push(inner);
                self.sql.push(')');
            }
            Predicate::Text { column, op, value } => self.text(*column, *op, value),
            Predicate::Flag { column, equal, value } => {
                let operator = if *equal { "=" } else { "<>" };
                let placeholder = self.bind(Bind::Int(i64::from(flag(*value))));
                self.sql
                    .push_str(&format!("{} {operator} {placeholder}", column.sql()));
            }
            Predicate::Time { column, op, micros } => {
                let placeholder = self.bind(Bind::Int(*micros));
                let operator = match op {
                    Comparison::Gt => ">",
                    Comparison::Ge => ">=",
                    Comparison::Lt => "<",
                    Comparison::Le => "<=",
                    Comparison::Ne => "<>",
                    _ => "=",
                };
                self.sql
                    .push_str(&format!("{} {operator} {placeholder}", column.sql()));
            }
            Predicate::Present(column) => match column.kind() {
                ColumnKind::Text | ColumnKind::ExactText => {
                    let sql = column.sql();
                    self.sql.push_str(&format!("({sql} IS NOT NULL AND {sql} <> '')"));
                }
                _ => self.sql.push_str(&format!("{} IS NOT NULL", column.sql())),
            },
            Predicate::HasMember(user_id) => {
                let placeholder = self.bind(Bind::Text(user_id.clone()));
                self.sql.push_str(&format!(
                    "EXISTS (SELECT 1 FROM team_members gm WHERE gm.team_id = t.id AND gm.user_id = {placeholder})"
                ));
            }
            Predicate::InGroup(uuid) => {
                let placeholder = self.bind(Bind::Text(uuid.clone()));
                self.sql.push_str(&format!(
                    "EXISTS (SELECT 1 FROM team_members gm JOIN teams gt ON gt.id = gm.team_id \
                     WHERE gm.user_id = s.user_id AND gt.org_id = s.org_id AND gt.uuid = {placeholder})"
                ));
            }
        }
    }

    fn text(&mut self, column: ScimColumn, op: Comparison, value: &str) {
        let exact = column.kind() == ColumnKind::ExactText;
        let (expr, value) = if exact {
            (column.sql().to_string(), value.to_string())
        } else {
            (format!("LOWER({})", column.sql()), value.to_lowercase())
        };
        let like = |prefix: bool, suffix: bool| {
            let mut pattern = String::new();
            if prefix {
                pattern.push('%');
            }
            for c in value.chars() {
                if matches!(c, '\\' | '%' | '_') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            if suffix {
                pattern.push('%');
            }
            pattern
        };
        let (operator, bound) = match op {
            Comparison::Eq => ("=", value.clone()),
            Comparison::Ne => ("<>", value.clone()),
            Comparison::Co => ("LIKE", like(true, true)),
            Comparison::Sw => ("LIKE", like(false, true)),
            Comparison::Ew => ("LIKE", like(true, false)),
            Comparison::Gt => (">", value.clone()),
            Comparison::Ge => (">=", value.clone()),
            Comparison::Lt => ("<", value.clone()),
            Comparison::Le => ("<=", value.clone()),
        };
        let placeholder = self.bind(Bind::Text(bound));
        let escape = if operator == "LIKE" { " ESCAPE '\\'" } else { "" };
        if op == Comparison::Ne {
            // An attribute without a value is "not equal" to any value.
            let column = column.sql();
            self.sql
                .push_str(&format!("({column} IS NULL OR {expr} <> {placeholder})"));
        } else {
            self.sql
                .push_str(&format!("({expr} {operator} {placeholder}{escape})"));
        }
    }
}

/// A list query: the predicate, the order, and the page.
#[derive(Debug, Clone)]
pub struct ScimQuery {
    pub filter: Predicate,
    pub sort: Option<(ScimColumn, bool)>,
    pub offset: i64,
    pub limit: i64,
}

/// What a list query reads: the columns, the rows of one organization (`$1`), and the
/// orders.
struct Listing {
    columns: &'static str,
    from: &'static str,
    tie_breaker: &'static str,
    default_order: &'static str,
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_all<'q>(mut query: Query<'q>, binds: &'q [Bind]) -> Query<'q> {
    for value in binds {
        query = match value {
            Bind::Text(text) => query.bind(text.as_str()),
            Bind::Int(number) => query.bind(*number),
        };
    }
    query
}

const USER_COLUMNS: &str = "s.org_id, s.user_id, u.username, s.user_name, s.external_id, s.given_name, \
     s.family_name, s.emails, s.email, s.active, s.role, s.team, s.created_at, s.updated_at";

fn user_from_row(row: &AnyRow) -> Result<ScimUserRow, sqlx::Error> {
    Ok(ScimUserRow {
        org_id: row.try_get("org_id")?,
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        user_name: row.try_get("user_name")?,
        external_id: row.try_get("external_id")?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        emails: row.try_get("emails")?,
        email: row.try_get("email")?,
        active: row.try_get::<i64, _>("active")? != 0,
        role: row.try_get("role")?,
        team: row.try_get("team")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const GROUP_COLUMNS: &str = "t.id, t.uuid, t.name, COALESCE(t.scim_display_name, t.name) AS display_name, \
     t.external_id, t.created_at, COALESCE(t.scim_updated_at, t.created_at) AS updated_at";

fn group_from_row(row: &AnyRow) -> Result<ScimGroupRow, sqlx::Error> {
    Ok(ScimGroupRow {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        external_id: row.try_get("external_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn membership_from_row(row: &AnyRow) -> Result<ScimMembership, sqlx::Error> {
    Ok(ScimMembership {
        team_id: row.try_get("team_id")?,
        team_uuid: row.try_get("team_uuid")?,
        team_name: row.try_get("team_name")?,
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
    })
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn fetch_user<'e, E>(executor: E, org_id: &str, user_id: &str) -> StoreResult<Option<ScimUserRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM scim_users s JOIN users u ON u.id = s.user_id \
         WHERE s.org_id = $1 AND s.user_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(user_from_row).transpose()?)
}

async fn fetch_group<'e, E>(executor: E, org_id: &str, uuid: &str) -> StoreResult<Option<ScimGroupRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("SELECT {GROUP_COLUMNS} FROM teams t WHERE t.org_id = $1 AND t.uuid = $2");
    let row = sqlx::query(&sql)
        .bind(org_id)
        .bind(uuid)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(group_from_row).transpose()?)
}

impl Store {
    /// Replaces the organization's SCIM token (its hash).
    pub async fn set_scim_token(
        &self,
        tx: &mut Tx,
        org_id: &str,
        secret_sha256: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO scim_tokens (org_id, secret_sha256, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id) DO UPDATE SET secret_sha256 = excluded.secret_sha256, \
             created_at = excluded.created_at",
        )
        .bind(org_id)
        .bind(secret_sha256)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "token collision"))?;
        Ok(())
    }

    /// The organization whose SCIM token has this hash.
    pub async fn org_id_by_scim_token(&self, secret_sha256: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT org_id FROM scim_tokens WHERE secret_sha256 = $1")
            .bind(secret_sha256)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(|r| r.try_get("org_id")).transpose()?)
    }

    pub async fn insert_scim_user(&self, tx: &mut Tx, user: &ScimUserRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO scim_users (org_id, user_id, user_name, user_name_key, external_id, given_name, \
             family_name, emails, email, active, role, team, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&user.org_id)
        .bind(&user.user_id)
        .bind(&user.user_name)
        .bind(user.user_name.to_lowercase())
        .bind(&user.external_id)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.emails)
        .bind(&user.email)
        .bind(flag(user.active))
        .bind(&user.role)
        .bind(&user.team)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "a user with this userName is already provisioned"))?;
        Ok(())
    }

    /// Writes every attribute of a provisioned user.
    pub async fn update_scim_user(&self, tx: &mut Tx, user: &ScimUserRow) -> StoreResult<()> {
        sqlx::query(
            "UPDATE scim_users SET user_name = $3, user_name_key = $4, external_id = $5, given_name = $6, \
             family_name = $7, emails = $8, email = $9, active = $10, role = $11, team = $12, updated_at = $13 \
             WHERE org_id = $1 AND user_id = $2",
        )
        .bind(&user.org_id)
        .bind(&user.user_id)
        .bind(&user.user_name)
        .bind(user.user_name.to_lowercase())
        .bind(&user.external_id)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.emails)
        .bind(&user.email)
        .bind(flag(user.active))
        .bind(&user.role)
        .bind(&user.team)
        .bind(user.updated_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "a user with this userName is already provisioned"))?;
        Ok(())
    }

    pub async fn delete_scim_user(&self, tx: &mut Tx, org_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM scim_users WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A provisioned user of `org_id`, read in `tx`.
    pub async fn scim_user_in(
        &self,
        tx: &mut Tx,
        org_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<ScimUserRow>> {
        fetch_user(&mut **tx, org_id, user_id).await
    }

    /// A provisioned user of `org_id`.
    pub async fn scim_user(&self, org_id: &str, user_id: &str) -> StoreResult<Option<ScimUserRow>> {
        fetch_user(self.reader(), org_id, user_id).await
    }

    /// A page of `org_id`'s provisioned users, and how many match in all.
    pub async fn list_scim_users(
        &self,
        org_id: &str,
        query: &ScimQuery,
    ) -> StoreResult<(Vec<ScimUserRow>, i64)> {
        let table = Listing {
            columns: USER_COLUMNS,
            from: "FROM scim_users s JOIN users u ON u.id = s.user_id WHERE s.org_id = $1",
            tie_breaker: "s.user_id",
            default_order: "s.created_at, s.user_id",
        };
        self.list_page(&table, org_id, query, user_from_row).await
    }

    /// A page of `org_id`'s teams as groups, and how many match in all.
    pub async fn list_scim_groups(
        &self,
        org_id: &str,
        query: &ScimQuery,
    ) -> StoreResult<(Vec<ScimGroupRow>, i64)> {
        let table = Listing {
            columns: GROUP_COLUMNS,
            from: "FROM teams t WHERE t.org_id = $1",
            tie_breaker: "t.id",
            default_order: "t.created_at, t.id",
        };
        self.list_page(&table, org_id, query, group_from_row).await
    }

    /// The rows of `table` in `org_id` that match the query's filter: one page in the
    /// query's order, and how many match in all.
    async fn list_page<T>(
        &self,
        table: &Listing,
        org_id: &str,
        query: &ScimQuery,
        from_row: fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> StoreResult<(Vec<T>, i64)> {
        let mut compiled = Compiled::new(2);
        compiled.push(&query.filter);
        let from = format!("{} AND {}", table.from, compiled.sql);
        let count_sql = format!("SELECT COUNT(*) AS n {from}");
        let total: i64 = bind_all(sqlx::query(&count_sql).bind(org_id), &compiled.binds)
            .fetch_one(self.reader())
            .await?
            .try_get("n")?;
        if query.limit <= 0 {
            return Ok((Vec::new(), total));
        }
        let order = match query.sort {
            Some((column, descending)) => format!(
                "{} {}, {}",
                column.sort_sql(),
                if descending { "DESC" } else { "ASC" },
                table.tie_breaker
            ),
            None => table.default_order.to_string(),
        };
        let (limit, offset) = (compiled.next, compiled.next + 1);
        let sql = format!(
            "SELECT {} {from} ORDER BY {order} LIMIT ${limit} OFFSET ${offset}",
            table.columns
        );
        let rows = bind_all(sqlx::query(&sql).bind(org_id), &compiled.binds)
            .bind(query.limit)
            .bind(query.offset)
            .fetch_all(self.reader())
            .await?;
        Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
    }

    /// The teams of `org_id` that the users `user_ids` are in.
    pub async fn scim_groups_of_users(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<ScimMembership>> {
        let binds: Vec<Bind> = user_ids.iter().map(|id| Bind::Text(id.clone())).collect();
        let condition = format!(
            "t.org_id = $1 AND tm.user_id IN ({})",
            placeholders(2, binds.len())
        );
        self.memberships(&condition, Some(org_id), &binds, "t.name").await
    }

    /// The members of the teams `team_ids`.
    pub async fn scim_members_of_groups(&self, team_ids: &[i64]) -> StoreResult<Vec<ScimMembership>> {
        let binds: Vec<Bind> = team_ids.iter().map(|id| Bind::Int(*id)).collect();
        let condition = format!("tm.team_id IN ({})", placeholders(1, binds.len()));
        self.memberships(&condition, None, &binds, "u.username").await
    }

    /// Team memberships matching `condition`, whose placeholders are `org_id` (when given,
    /// as `$1`) and then `binds`.
    async fn memberships(
        &self,
        condition: &str,
        org_id: Option<&str>,
        binds: &[Bind],
        order: &str,
    ) -> StoreResult<Vec<ScimMembership>> {
        if binds.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT t.id AS team_id, t.uuid AS team_uuid, t.name AS team_name, u.id AS user_id, u.username \
             FROM team_members tm JOIN teams t ON t.id = tm.team_id JOIN users u ON u.id = tm.user_id \
             WHERE {condition} ORDER BY {order}"
        );
        let mut query = sqlx::query(&sql);
        if let Some(org_id) = org_id {
            query = query.bind(org_id);
        }
        let rows = bind_all(query, binds).fetch_all(self.reader()).await?;
        Ok(rows.iter().map(membership_from_row).collect::<Result<_, _>>()?)
    }

    /// One of `org_id`'s teams as a group, by its id (uuid), read in `tx`.
    pub async fn scim_group_in(
        &self,
        tx: &mut Tx,
        org_id: &str,
        uuid: &str,
    ) -> StoreResult<Option<ScimGroupRow>> {
        fetch_group(&mut **tx, org_id, uuid).await
    }

    /// One of `org_id`'s teams as a group, by its id (uuid).
    pub async fn scim_group(&self, org_id: &str, uuid: &str) -> StoreResult<Option<ScimGroupRow>> {
        fetch_group(self.reader(), org_id, uuid).await
    }

    /// The id of `org_id`'s team `name`, read in `tx`.
    pub async fn team_id_in(&self, tx: &mut Tx, org_id: &str, name: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT id FROM teams WHERE org_id = $1 AND name = $2")
            .bind(org_id)
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// Notes that provisioning changed a team (its members) now.
    pub async fn touch_scim_group(&self, tx: &mut Tx, team_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE teams SET scim_updated_at = $2 WHERE id = $1")
            .bind(team_id)
            .bind(super::now_micros())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Sets the identity provider's id and name of a team.
    pub async fn set_team_scim_attributes(
        &self,
        tx: &mut Tx,
        team_id: i64,
        external_id: Option<&str>,
        display_name: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE teams SET external_id = $2, scim_display_name = $3, scim_updated_at = $4 WHERE id = $1",
        )
        .bind(team_id)
        .bind(external_id)
        .bind(display_name)
        .bind(super::now_micros())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The user ids in a team, read in `tx`.
    pub async fn team_member_ids(&self, tx: &mut Tx, team_id: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
            .bind(team_id)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("user_id"))
            .collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(predicate: &Predicate) -> (String, usize) {
        let mut compiled = Compiled::new(2);
        compiled.push(predicate);
        (compiled.sql, compiled.binds.len())
    }

    #[test]
    fn compiles_nested_predicates_with_numbered_binds() {
        let predicate = Predicate::Or(
            Box::new(Predicate::And(
                Box::new(Predicate::Text {
                    column: ScimColumn::UserName,
                    op: Comparison::Sw,
                    value: "J_".into(),
                }),
                Box::new(Predicate::Flag {
                    column: ScimColumn::Active,
                    equal: true,
                    value: true,
                }),
            )),
            Box::new(Predicate::Not(Box::new(Predicate::Present(
                ScimColumn::UserExternalId,
            )))),
        );
        let (sql, binds) = compile(&predicate);
        assert_eq!(
            sql,
            "(((LOWER(s.user_name) LIKE $2 ESCAPE '\\') AND s.active = $3) OR NOT ((s.external_id IS NOT NULL AND s.external_id <> '')))"
        );
        assert_eq!(binds, 2);
    }
}
