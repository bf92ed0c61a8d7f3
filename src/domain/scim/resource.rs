//! SCIM users and groups as JSON: rendering rows as resources, and reading the attributes
//! a request sets from a resource document (a POST or PUT body, or a resource after PATCH
//! operations were applied to it, so that every write path validates the same way).

use serde_json::{json, Map, Value};

use super::schema::{DOCKER_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use crate::domain::accounts::normalize_email;
use crate::domain::policy::Role;
use crate::domain::{Error, Result, ScimErrorKind};
use crate::store::{ScimGroupRow, ScimMembership, ScimUserRow};
use crate::timefmt::format_micros;

/// Longest text attribute accepted.
const MAX_TEXT: usize = 256;

fn invalid(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::InvalidValue, message)
}

/// The member of `object` named `name`, ignoring case (attribute names are
/// case-insensitive, RFC 7643 §2.1).
pub fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null())
}

/// A text attribute, if present.
fn text(object: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match member(object, name) {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_TEXT => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(format!("{name}: longer than {MAX_TEXT} characters"))),
        Some(other) => Err(invalid(format!("{name}: expected a string, got {other}"))),
    }
}

/// A boolean attribute; `"True"`/`"false"` strings too, as Microsoft Entra sends them.
pub fn boolean(name: &str, value: &Value) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(invalid(format!("{name}: expected a boolean, got {other}"))),
    }
}

/// The document's `schemas` must name `core` (and only schemas Wharf knows).
fn check_schemas(doc: &Map<String, Value>, core: &str, allowed: &[&str]) -> Result<()> {
    let Some(schemas) = member(doc, "schemas").and_then(Value::as_array) else {
        return Err(Error::scim(
            ScimErrorKind::InvalidSyntax,
            format!("schemas: required, a list naming {core}"),
        ));
    };
    let names: Vec<&str> = schemas.iter().filter_map(Value::as_str).collect();
    if names.len() != schemas.len() || !names.iter().any(|s| s.eq_ignore_ascii_case(core)) {
        return Err(invalid(format!("schemas: must name {core}")));
    }
    if let Some(unknown) = names
        .iter()
        .find(|s| !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)))
    {
        return Err(invalid(format!("schemas: unknown schema {unknown}")));
    }
    Ok(())
}

/// The attributes of a provisioned user that a request sets.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `emails`, each checked, as sent.
    pub emails: Vec<Value>,
    /// The address filters match and a new account gets: the primary one, else the first,
    /// else the `userName` when it is an address.
    pub email: Option<String>,
    pub active: bool,
    /// `dockerRole`, when given.
    pub role: Option<Role>,
    pub team: Option<String>,
    /// The username wanted for a new account; ignored afterwards.
    pub display_name: Option<String>,
}

/// Schemas a user document may name: the core schema, Docker's extension, and the
/// enterprise extension identity providers add (its attributes are ignored).
const USER_SCHEMAS: [&str; 3] = [
    USER_SCHEMA,
    DOCKER_USER_SCHEMA,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
];

impl UserInput {
    /// Reads a User document. `active` defaults to `default_active` when absent (true on
    /// creation; false on replacement, as Docker Hub's PUT defines).
    pub fn parse(doc: &Value, default_active: bool, org_name: &str) -> Result<UserInput> {
        let Some(doc) = doc.as_object() else {
            return Err(Error::scim(
                ScimErrorKind::InvalidSyntax,
                "the body must be a User object",
            ));
        };
        check_schemas(doc, USER_SCHEMA, &USER_SCHEMAS)?;
        let user_name = text(doc, "userName")?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("userName: required"))?;
        let (given_name, family_name) = match member(doc, "name") {
            None => (None, None),
            Some(Value::Object(name)) => (text(name, "givenName")?, text(name, "familyName")?),
            Some(other) => return Err(invalid(format!("name: expected an object, got {other}"))),
        };
        let emails = match member(doc, "emails") {
            None => Vec::new(),
            Some(Value::Array(emails)) => checked_emails(emails)?,
            Some(other) => return Err(invalid(format!("emails: expected a list, got {other}"))),
        };
        // On Docker Hub the userName is the email.
        let email = chosen_email(&emails).or_else(|| normalize_email(&user_name).ok());
        let active = match member(doc, "active") {
            None => default_active,
            Some(value) => boolean("active", value)?,
        };
        let (role, team) = match member(doc, DOCKER_USER_SCHEMA) {
            None => (None, None),
            Some(Value::Object(ext)) => {
                if let Some(org) = text(ext, "dockerOrg")? {
                    if !org.eq_ignore_ascii_case(org_name) {
                        return Err(invalid(format!(
                            "dockerOrg: this token provisions {org_name} only"
                        )));
                    }
                }
                let role = text(ext, "dockerRole")?.map(|r| parse_role(&r)).transpose()?;
                (role, text(ext, "dockerTeam")?.filter(|t| !t.is_empty()))
            }
            Some(other) => {
                return Err(invalid(format!(
                    "{DOCKER_USER_SCHEMA}: expected an object, got {other}"
                )))
            }
        };
        if let Some(team) = &team {
            crate::domain::teams::validate_team_name(team)
                .map_err(|e| invalid(format!("dockerTeam: {e}")))?;
        }
        Ok(UserInput {
            user_name,
            external_id: text(doc, "externalId")?,
            given_name,
            family_name,
            emails,
            email,
            active,
            role,
            team,
            display_name: text(doc, "displayName")?,
        })
    }
}

/// `dockerRole`: member, editor or owner.
pub fn parse_role(text: &str) -> Result<Role> {
    Role::ALL
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| invalid(format!("dockerRole: {text:?} is not member, editor or owner")))
}

/// Each email of `emails`: an object with an address as `value` and, if given, a string
/// `type` and `display` and a boolean `primary` (at most one). Kept as sent, with `primary`
/// as a boolean.
fn checked_emails(emails: &[Value]) -> Result<Vec<Value>> {
    let mut checked = Vec::with_capacity(emails.len());
    let mut primaries = 0;
    for email in emails {
        let Value::Object(object) = email else {
            return Err(invalid(format!("emails: expected objects, got {email}")));
        };
        let value = text(object, "value")?.ok_or_else(|| invalid("emails: each needs a value"))?;
        normalize_email(&value).map_err(|_| invalid(format!("emails: {value:?} is not an email address")))?;
        let mut kept = Map::new();
        kept.insert("value".into(), json!(value));
        for key in ["type", "display"] {
            if let Some(text) = text(object, key)? {
                kept.insert(key.into(), json!(text));
            }
        }
        if let Some(primary) = member(object, "primary") {
            let primary = boolean("emails.primary", primary)?;
            primaries += usize::from(primary);
            kept.insert("primary".into(), json!(primary));
        }
        checked.push(Value::Object(kept));
    }
    if primaries > 1 {
        return Err(invalid("emails: at most one may be primary"));
    }
    Ok(checked)
}

/// The primary email of checked `emails`, else the first; normalized.
fn chosen_email(emails: &[Value]) -> Option<String> {
    emails
        .iter()
        .find(|e| e["primary"] == json!(true))
        .or_else(|| emails.first())
        .and_then(|e| e["value"].as_str())
        .and_then(|value| normalize_email(value).ok())
}

/// A provisioned user as a SCIM resource.
pub fn render_user(base: &str, org_name: &str, row: &ScimUserRow, groups: &[&ScimMembership]) -> Value {
    let emails: Vec<Value> = serde_json::from_str(&row.emails).unwrap_or_default();
    let mut name = Map::new();
    if let Some(given) = &row.given_name {
        name.insert("givenName".into(), json!(given));
    }
    if let Some(family) = &row.family_name {
        name.insert("familyName".into(), json!(family));
    }
    let formatted: Vec<&str> = [row.given_name.as_deref(), row.family_name.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !formatted.is_empty() {
        name.insert("formatted".into(), json!(formatted.join(" ")));
    }
    let mut extension = json!({"dockerOrg": org_name});
    if let Some(role) = &row.role {
        extension["dockerRole"] = json!(role);
    }
    if let Some(team) = &row.team {
        extension["dockerTeam"] = json!(team);
    }
    let location = format!("{base}/Users/{}", row.user_id);
    let mut doc = json!({
        "schemas": [USER_SCHEMA, DOCKER_USER_SCHEMA],
        "id": row.user_id,
        "userName": row.user_name,
        "displayName": row.username,
        "active": row.active,
        "groups": groups.iter().map(|g| json!({
            "value": g.team_uuid,
            "display": g.team_name,
            "$ref": format!("{base}/Groups/{}", g.team_uuid),
        })).collect::<Vec<_>>(),
        DOCKER_USER_SCHEMA: extension,
        "meta": {
            "resourceType": "User",
            "created": format_micros(row.created_at),
            "lastModified": format_micros(row.updated_at),
            "location": location,
        },
    });
    // Unassigned attributes are left out (RFC 7643 §2.5).
    if !name.is_empty() {
        doc["name"] = Value::Object(name);
    }
    if !emails.is_empty() {
        doc["emails"] = Value::Array(emails);
    }
    if let Some(external_id) = &row.external_id {
        doc["externalId"] = json!(external_id);
    }
    doc
}

/// The attributes of a group that a request sets.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The members' user ids; `None`: not given (POST: none; PUT: none).
    pub members: Vec<String>,
}

impl GroupInput {
    pub fn parse(doc: &Value) -> Result<GroupInput> {
        let Some(doc) = doc.as_object() else {
            return Err(Error::scim(
                ScimErrorKind::InvalidSyntax,
                "the body must be a Group object",
            ));
        };
        check_schemas(doc, GROUP_SCHEMA, &[GROUP_SCHEMA])?;
        let display_name = text(doc, "displayName")?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("displayName: required"))?;
        let members = match member(doc, "members") {
            None => Vec::new(),
            Some(Value::Array(members)) => members
                .iter()
                .map(|m| {
                    m.as_object()
                        .and_then(|m| member(m, "value"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| invalid(format!("members: each needs a value (a user id), got {m}")))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(other) => return Err(invalid(format!("members: expected a list, got {other}"))),
        };
        Ok(GroupInput {
            display_name,
            external_id: text(doc, "externalId")?,
            members,
        })
    }
}

/// A team as a SCIM group.
pub fn render_group(base: &str, row: &ScimGroupRow, members: &[&ScimMembership]) -> Value {
    let mut doc = json!({
        "schemas": [GROUP_SCHEMA],
        "id": row.uuid,
        "displayName": row.display_name,
        "members": members.iter().map(|m| json!({
            "value": m.user_id,
            "display": m.username,
            "$ref": format!("{base}/Users/{}", m.user_id),
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Group",
            "created": format_micros(row.created_at),
            "lastModified": format_micros(row.updated_at),
            "location": format!("{base}/Groups/{}", row.uuid),
        },
    });
    if let Some(external_id) = &row.external_id {
        doc["externalId"] = json!(external_id);
    }
    doc
}
