//! List requests: `filter` turned into a store [`Predicate`], `sortBy`/`sortOrder`,
//! `startIndex`/`count`, and the `attributes`/`excludedAttributes` projection.
//!
//! The filter is parsed by [`super::filter`]; here each attribute path is resolved against
//! the resource's attributes (case-insensitively, with or without the schema URN) and
//! becomes a column comparison the store evaluates in SQL. What cannot be evaluated is
//! refused with `invalidFilter`, never silently ignored.

use serde_json::{Map, Value};

use super::filter::{self, AttrPath, CompareOp, Filter};
use super::schema::{ResourceType, DOCKER_USER_SCHEMA, GROUP, MAX_RESULTS, USER};
use crate::domain::{Error, Result, ScimErrorKind};
use crate::store::{Comparison, Predicate, ScimColumn, ScimQuery};
use crate::timefmt::parse_rfc3339_micros;

/// The query parameters of `GET /Users` and `GET /Groups`, as sent.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// RFC 7644 §3.4.2.2 filter, e.g. `userName eq "jane@example.com"`.
    pub filter: Option<String>,
    /// 1-based index of the first result.
    pub start_index: Option<String>,
    /// Results per page, at most 200.
    pub count: Option<String>,
    pub sort_by: Option<String>,
    /// `ascending` (default) or `descending`.
    pub sort_order: Option<String>,
    /// Comma-separated attributes to return (plus `id` and `schemas`).
    pub attributes: Option<String>,
    /// Comma-separated attributes to leave out.
    pub excluded_attributes: Option<String>,
}

/// Which resource a list is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    fn schema(self) -> &'static ResourceType {
        match self {
            Resource::User => &USER,
            Resource::Group => &GROUP,
        }
    }
}

fn invalid_filter(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::InvalidFilter, message)
}

fn invalid_value(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::InvalidValue, message)
}

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub query: ScimQuery,
    pub start_index: i64,
    pub projection: Projection,
}

impl ListParams {
    pub fn resolve(&self, resource: Resource, org_name: &str) -> Result<ListRequest> {
        let filter = match self.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None => Predicate::Const(true),
            Some(text) => {
                let parsed = filter::parse_filter(text).map_err(|e| invalid_filter(e.message))?;
                predicate(resource, org_name, &parsed)?
            }
        };
        let start_index = integer("startIndex", self.start_index.as_deref())?
            .unwrap_or(1)
            .max(1);
        let count = integer("count", self.count.as_deref())?
            .unwrap_or(MAX_RESULTS)
            .clamp(0, MAX_RESULTS);
        let descending = match self.sort_order.as_deref() {
            None => false,
            Some(order) if order.eq_ignore_ascii_case("ascending") => false,
            Some(order) if order.eq_ignore_ascii_case("descending") => true,
            Some(order) => {
                return Err(invalid_value(format!(
                    "sortOrder: {order:?} is not ascending or descending"
                )))
            }
        };
        let sort = match self.sort_by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(name) => {
                let path = filter::parse_path(name)
                    .ok()
                    .filter(|p| p.value_filter.is_none())
                    .ok_or_else(|| invalid_value(format!("sortBy: {name:?} is not an attribute")))?;
                match target(resource, &path.attr)? {
                    Target::Column(column) => Some((column, descending)),
                    _ => return Err(invalid_value(format!("sortBy: cannot sort by {name:?}"))),
                }
            }
        };
        Ok(ListRequest {
            query: ScimQuery {
                filter,
                sort,
                offset: start_index - 1,
                limit: count,
            },
            start_index,
            projection: Projection::new(
                resource,
                self.attributes.as_deref(),
                self.excluded_attributes.as_deref(),
            )?,
        })
    }
}

fn integer(name: &str, text: Option<&str>) -> Result<Option<i64>> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| invalid_value(format!("{name}: {t:?} is not an integer")))
    })
    .transpose()
}

/// What an attribute path names.
enum Target {
    Column(ScimColumn),
    /// An attribute whose value is the same for every resource (`emails.type` is
    /// `work`, `emails.primary` true, `dockerOrg` the organization).
    Constant(Value),
    /// Users: the teams they are in (`groups`, `groups.value`).
    Groups,
    /// Groups: their members (`members`, `members.value`).
    Members,
}

/// Resolves `path` on `resource`: the attribute, with the right schema if one is written.
fn target(resource: Resource, path: &AttrPath) -> Result<Target> {
    target_in(resource, path, "")
}

fn target_in(resource: Resource, path: &AttrPath, org_name: &str) -> Result<Target> {
    let schema = resource.schema();
    let unknown = || invalid_filter(format!("{path}: no such attribute of a {}", schema.name));
    let extension = path
        .schema
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case(DOCKER_USER_SCHEMA));
    if let Some(urn) = &path.schema {
        if !extension && !urn.eq_ignore_ascii_case(schema.schema) {
            return Err(unknown());
        }
    }
    if extension {
        if resource != Resource::User || path.sub_attr.is_some() {
            return Err(unknown());
        }
        return match path.attr.to_ascii_lowercase().as_str() {
            "dockerrole" => Ok(Target::Column(ScimColumn::Role)),
            "dockerorg" => Ok(Target::Constant(Value::String(org_name.to_string()))),
            _ => Err(unknown()),
        };
    }
    let attr = path.attr.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    let column = match (resource, attr.as_str(), sub.as_deref()) {
        (Resource::User, "id", None) => ScimColumn::UserId,
        (Resource::User, "username", None) => ScimColumn::UserName,
        (Resource::User, "displayname", None) => ScimColumn::Username,
        (Resource::User, "externalid", None) => ScimColumn::UserExternalId,
        (Resource::User, "active", None) => ScimColumn::Active,
        (Resource::User, "name", Some("givenname")) => ScimColumn::GivenName,
        (Resource::User, "name", Some("familyname")) => ScimColumn::FamilyName,
        (Resource::User, "emails", None | Some("value") | Some("display")) => ScimColumn::Email,
        (Resource::User, "emails", Some("type")) => {
            return Ok(Target::Constant(Value::String("work".into())))
        }
        (Resource::User, "emails", Some("primary")) => return Ok(Target::Constant(Value::Bool(true))),
        (Resource::User, "groups", None | Some("value")) => return Ok(Target::Groups),
        (Resource::User, "meta", Some("created")) => ScimColumn::UserCreated,
        (Resource::User, "meta", Some("lastmodified")) => ScimColumn::UserUpdated,
        (Resource::Group, "id", None) => ScimColumn::GroupId,
        (Resource::Group, "displayname", None) => ScimColumn::GroupDisplayName,
        (Resource::Group, "externalid", None) => ScimColumn::GroupExternalId,
        (Resource::Group, "members", None | Some("value")) => return Ok(Target::Members),
        (Resource::Group, "meta", Some("created") | Some("lastmodified")) => ScimColumn::GroupCreated,
        (_, "meta", Some("resourcetype")) => {
            return Ok(Target::Constant(Value::String(schema.name.to_string())));
        }
        _ => return Err(unknown()),
    };
    Ok(Target::Column(column))
}

fn comparison(op: CompareOp) -> Comparison {
    match op {
        CompareOp::Eq => Comparison::Eq,
        CompareOp::Ne => Comparison::Ne,
        CompareOp::Co => Comparison::Co,
        CompareOp::Sw => Comparison::Sw,
        CompareOp::Ew => Comparison::Ew,
        CompareOp::Gt => Comparison::Gt,
        CompareOp::Ge => Comparison::Ge,
        CompareOp::Lt => Comparison::Lt,
        CompareOp::Le => Comparison::Le,
    }
}

/// The store predicate of a parsed filter on `resource`.
pub fn predicate(resource: Resource, org_name: &str, filter: &Filter) -> Result<Predicate> {
    Ok(match filter {
        Filter::And(a, b) => Predicate::And(
            Box::new(predicate(resource, org_name, a)?),
            Box::new(predicate(resource, org_name, b)?),
        ),
        Filter::Or(a, b) => Predicate::Or(
            Box::new(predicate(resource, org_name, a)?),
            Box::new(predicate(resource, org_name, b)?),
        ),
        Filter::Not(inner) => Predicate::Not(Box::new(predicate(resource, org_name, inner)?)),
        Filter::Present(path) => match target_in(resource, path, org_name)? {
            Target::Column(column) => Predicate::Present(column),
            Target::Constant(_) => Predicate::Const(true),
            Target::Groups | Target::Members => {
                return Err(invalid_filter(format!("{path} pr: not supported")));
            }
        },
        Filter::Compare { path, op, value } => compare(resource, org_name, path, *op, value)?,
        Filter::ValuePath { attr, filter } => {
            // `emails[type eq "work"]`, `members[value eq "…"]`: the sub-attribute paths
            // inside are relative to `attr`.
            let scoped = scope(filter, attr)?;
            predicate(resource, org_name, &scoped)?
        }
    })
}

/// `filter` with each attribute path made a sub-attribute of `parent`.
fn scope(filter: &Filter, parent: &AttrPath) -> Result<Filter> {
    let sub = |path: &AttrPath| -> Result<AttrPath> {
        if path.schema.is_some() || path.sub_attr.is_some() {
            return Err(invalid_filter(format!("{path}: not a sub-attribute of {parent}")));
        }
        Ok(AttrPath {
            schema: parent.schema.clone(),
            attr: parent.attr.clone(),
            sub_attr: Some(path.attr.clone()),
        })
    };
    Ok(match filter {
        Filter::And(a, b) => Filter::And(Box::new(scope(a, parent)?), Box::new(scope(b, parent)?)),
        Filter::Or(a, b) => Filter::Or(Box::new(scope(a, parent)?), Box::new(scope(b, parent)?)),
        Filter::Not(inner) => Filter::Not(Box::new(scope(inner, parent)?)),
        Filter::Present(path) => Filter::Present(sub(path)?),
        Filter::Compare { path, op, value } => Filter::Compare {
            path: sub(path)?,
            op: *op,
            value: value.clone(),
        },
        Filter::ValuePath { .. } => return Err(invalid_filter("nested value filters are not allowed")),
    })
}

fn compare(
    resource: Resource,
    org_name: &str,
    path: &AttrPath,
    op: CompareOp,
    value: &filter::Value,
) -> Result<Predicate> {
    let text = || match value {
        filter::Value::String(s) => Ok(s.clone()),
        other => Err(invalid_filter(format!(
            "{path} {op}: expected a string, got {other}"
        ))),
    };
    Ok(match target_in(resource, path, org_name)? {
        Target::Constant(constant) => {
            match (&constant, value, op) {
                (Value::String(_), filter::Value::String(_), _) => {}
                (Value::Bool(_), filter::Value::Bool(_), CompareOp::Eq | CompareOp::Ne) => {}
                (Value::Bool(_), filter::Value::Bool(_), _) => {
                    return Err(invalid_filter(format!(
                        "{path} {op}: booleans compare with eq or ne"
                    )));
                }
                _ => {
                    return Err(invalid_filter(format!(
                        "{path} {op}: the value has the wrong type"
                    )))
                }
            }
            Predicate::Const(op.matches(&constant, value))
        }
        Target::Groups | Target::Members => {
            if op != CompareOp::Eq {
                return Err(invalid_filter(format!("{path}: only eq is supported")));
            }
            let id = text()?;
            if matches!(target_in(resource, path, org_name)?, Target::Groups) {
                Predicate::InGroup(id)
            } else {
                Predicate::HasMember(id)
            }
        }
        Target::Column(column) => match column {
            ScimColumn::Active => match (op, value) {
                (CompareOp::Eq | CompareOp::Ne, filter::Value::Bool(b)) => Predicate::Flag {
                    column,
                    equal: op == CompareOp::Eq,
                    value: *b,
                },
                _ => {
                    return Err(invalid_filter(format!(
                        "{path}: compare with eq or ne and true or false"
                    )))
                }
            },
            ScimColumn::UserCreated | ScimColumn::UserUpdated | ScimColumn::GroupCreated => {
                let when = text()?;
                let micros = parse_rfc3339_micros(&when).ok_or_else(|| {
                    invalid_filter(format!("{path}: {when:?} is not an RFC 3339 date-time"))
                })?;
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    return Err(invalid_filter(format!("{path} {op}: not defined for date-times")));
                }
                Predicate::Time {
                    column,
                    op: comparison(op),
                    micros,
                }
            }
            _ => match value {
                // `attr eq null` is "has no value".
                filter::Value::Null if op == CompareOp::Eq => {
                    Predicate::Not(Box::new(Predicate::Present(column)))
                }
                filter::Value::Null if op == CompareOp::Ne => Predicate::Present(column),
                _ => Predicate::Text {
                    column,
                    op: comparison(op),
                    value: text()?,
                },
            },
        },
    })
}

/// One attribute named in `attributes` or `excludedAttributes`: its key in the resource
/// document (the extension's URN for Docker's attributes) and the sub-attribute.
#[derive(Debug, Clone, PartialEq)]
struct Named {
    key: String,
    sub: Option<String>,
}

/// What a list or get returns of each resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    include: Option<Vec<Named>>,
    exclude: Vec<Named>,
}

impl Projection {
    pub fn new(resource: Resource, attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection> {
        let names = |list: Option<&str>, param: &str| -> Result<Vec<Named>> {
            list.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|name| {
                    named(resource, name)
                        .map_err(|_| invalid_value(format!("{param}: {name:?} is not an attribute")))
                })
                .collect()
        };
        let include = names(attributes, "attributes")?;
        Ok(Projection {
            include: (!include.is_empty()).then_some(include),
            exclude: names(excluded, "excludedAttributes")?,
        })
    }

    /// `doc` with only the attributes asked for; `id` and `schemas` always.
    pub fn apply(&self, doc: Value) -> Value {
        let Value::Object(mut doc) = doc else {
            return doc;
        };
        if let Some(include) = &self.include {
            let mut kept = Map::new();
            for key in ["schemas", "id"] {
                if let Some(value) = doc.remove(key) {
                    kept.insert(key.into(), value);
                }
            }
            for named in include {
                let Some(value) = doc.get(&named.key) else {
                    continue;
                };
                match (&named.sub, value) {
                    (None, value) => {
                        kept.insert(named.key.clone(), value.clone());
                    }
                    (Some(sub), Value::Object(object)) => {
                        if let Some(inner) = object.get(sub) {
                            let entry = kept
                                .entry(named.key.clone())
                                .or_insert_with(|| Value::Object(Map::new()));
                            if let Value::Object(entry) = entry {
                                entry.insert(sub.clone(), inner.clone());
                            }
                        }
                    }
                    (Some(sub), Value::Array(items)) => {
                        let picked: Vec<Value> = items
                            .iter()
                            .filter_map(|item| item.get(sub).map(|v| serde_json::json!({ sub.as_str(): v })))
                            .collect();
                        kept.insert(named.key.clone(), Value::Array(picked));
                    }
                    _ => {}
                }
            }
            doc = kept;
        }
        for named in &self.exclude {
            if named.key == "id" || named.key == "schemas" {
                continue;
            }
            match &named.sub {
                None => {
                    doc.remove(&named.key);
                }
                Some(sub) => match doc.get_mut(&named.key) {
                    Some(Value::Object(object)) => {
                        object.remove(sub);
                    }
                    Some(Value::Array(items)) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            item.remove(sub);
                        }
                    }
                    _ => {}
                },
            }
        }
        Value::Object(doc)
    }
}

/// Resolves an attribute name of `attributes`/`excludedAttributes` to its document key.
fn named(resource: Resource, name: &str) -> Result<Named> {
    let path = filter::parse_path(name).map_err(|e| invalid_value(e.message))?;
    if path.value_filter.is_some() {
        return Err(invalid_value("not an attribute"));
    }
    let schema = resource.schema();
    let attr = &path.attr;
    // The extension object itself, or one of its attributes.
    if let Some((urn, _)) = schema.extension {
        if attr.schema.is_none() && attr.sub_attr.is_none() && format!("{}", attr).eq_ignore_ascii_case(urn) {
            return Ok(Named {
                key: urn.into(),
                sub: None,
            });
        }
        if attr.schema_is(urn) {
            let found = schema
                .extension_attribute(&attr.attr)
                .ok_or_else(|| invalid_value("not an attribute"))?;
            return Ok(Named {
                key: urn.into(),
                sub: Some(found.name.into()),
            });
        }
    }
    if let Some(urn) = &attr.schema {
        if !urn.eq_ignore_ascii_case(schema.schema) {
            return Err(invalid_value("not an attribute"));
        }
    }
    let found = schema
        .attribute(&attr.attr)
        .ok_or_else(|| invalid_value("not an attribute"))?;
    let sub = match &attr.sub_attr {
        None => None,
        Some(sub) => Some(
            found
                .sub(sub)
                .ok_or_else(|| invalid_value("not an attribute"))?
                .name
                .to_string(),
        ),
    };
    Ok(Named {
        key: found.name.into(),
        sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_predicate(text: &str) -> Result<Predicate> {
        predicate(
            Resource::User,
            "acme",
            &filter::parse_filter(text).expect("parses"),
        )
    }

    #[test]
    fn maps_attributes_to_columns() {
        assert_eq!(
            user_predicate("USERNAME eq \"Jane@Example.com\"").unwrap(),
            Predicate::Text {
                column: ScimColumn::UserName,
                op: Comparison::Eq,
                value: "Jane@Example.com".into()
            }
        );
        assert_eq!(
            user_predicate("emails[type eq \"work\"].value eq \"j@x.io\"").unwrap(),
            Predicate::And(
                Box::new(Predicate::Const(true)),
                Box::new(Predicate::Text {
                    column: ScimColumn::Email,
                    op: Comparison::Eq,
                    value: "j@x.io".into()
                })
            )
        );
        assert!(user_predicate(
            "urn:ietf:params:scim:schemas:extension:docker:2.0:User:dockerRole eq \"owner\""
        )
        .is_ok());
        assert!(user_predicate("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"j\"").is_ok());
    }

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        for bad in [
            "nosuch eq \"x\"",
            "active eq \"yes\"",
            "meta.created gt \"yesterday\"",
            "groups.value co \"x\"",
            "urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq \"x\"",
        ] {
            let err = user_predicate(bad).expect_err(bad);
            assert!(
                matches!(
                    err,
                    Error::Scim {
                        kind: ScimErrorKind::InvalidFilter,
                        ..
                    }
                ),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn projects_attributes() {
        let doc = serde_json::json!({"schemas": ["s"], "id": "1", "userName": "u", "name": {"givenName": "g", "familyName": "f"}, "emails": [{"value": "e", "type": "work"}]});
        let only = Projection::new(Resource::User, Some("username,name.givenName"), None).unwrap();
        assert_eq!(
            only.apply(doc.clone()),
            serde_json::json!({"schemas": ["s"], "id": "1", "userName": "u", "name": {"givenName": "g"}})
        );
        let without = Projection::new(Resource::User, None, Some("emails,id")).unwrap();
        assert!(without.apply(doc).get("emails").is_none());
        assert!(Projection::new(Resource::User, Some("nosuch"), None).is_err());
    }
}
