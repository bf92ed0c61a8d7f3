//! PATCH (RFC 7644 §3.5.2): operations applied to a resource's JSON document.
//!
//! The current resource is rendered, each operation changes the document, and the result
//! is read back by the same parser as a PUT body ([`super::resource`]), which validates
//! every value. So PATCH supports exactly what PUT does, and a bad operation anywhere in
//! the list fails the request before anything is written.
//!
//! Accepted beyond the letter of the RFC, because identity providers send them: operation
//! names in any case (`Replace`), booleans as strings (`"False"`), a `remove` of
//! `members` with a `value` list naming the members to remove, and an `add`/`replace`
//! through a value filter that matches nothing (`emails[type eq "work"].value`), which
//! creates the value.

use serde_json::{Map, Value};

use super::filter::{self, AttrPath, CompareOp, Filter, PatchPath};
use super::resource::member;
use super::schema::{ResourceType, DOCKER_USER_SCHEMA, PATCH_OP};
use crate::domain::{Error, Result, ScimErrorKind};

/// Most operations one PATCH request may carry.
pub const MAX_OPERATIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

fn invalid_path(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::InvalidPath, message)
}

fn invalid_value(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::InvalidValue, message)
}

fn invalid_syntax(message: impl Into<String>) -> Error {
    Error::scim(ScimErrorKind::InvalidSyntax, message)
}

/// Reads a PatchOp request body.
pub fn parse_request(body: &Value) -> Result<Vec<Operation>> {
    let Some(body) = body.as_object() else {
        return Err(invalid_syntax("the body must be a PatchOp object"));
    };
    let names_patch_op = member(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP)))
        });
    if !names_patch_op {
        return Err(invalid_syntax(format!("schemas: must name {PATCH_OP}")));
    }
    let Some(operations) = member(body, "Operations").and_then(Value::as_array) else {
        return Err(invalid_syntax("Operations: required, a list"));
    };
    if operations.is_empty() {
        return Err(invalid_syntax("Operations: empty"));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(Error::scim(
            ScimErrorKind::TooMany,
            format!("Operations: at most {MAX_OPERATIONS} per request"),
        ));
    }
    operations.iter().map(parse_operation).collect()
}

fn parse_operation(op: &Value) -> Result<Operation> {
    let Some(op) = op.as_object() else {
        return Err(invalid_syntax("each operation must be an object"));
    };
    let kind = match member(op, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        _ => return Err(invalid_syntax("op: must be add, replace or remove")),
    };
    let path = match member(op, "path") {
        None => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => {
            Some(filter::parse_path(text.trim()).map_err(|e| invalid_path(e.message))?)
        }
        Some(other) => return Err(invalid_path(format!("path: expected a string, got {other}"))),
    };
    let value = member(op, "value").cloned();
    match (kind, &path, &value) {
        (OpKind::Remove, None, _) => Err(Error::scim(ScimErrorKind::NoTarget, "remove: a path is required")),
        (OpKind::Add | OpKind::Replace, _, None) => Err(invalid_value("add and replace need a value")),
        (OpKind::Add | OpKind::Replace, None, Some(v)) if !v.is_object() => Err(invalid_value(
            "without a path, the value must be an object of attributes",
        )),
        _ => Ok(Operation { kind, path, value }),
    }
}

/// Where a path points in the document: the object holding the attribute (the resource,
/// or the extension object), and the attribute's key there.
struct Location {
    extension: bool,
    key: String,
    multi_valued: bool,
    complex: bool,
    /// Required: it may be replaced, never removed.
    required: bool,
}

/// `None`: an operation on the user's `displayName`, which is ignored: it is the username,
/// set once, and identity providers send their display name in every update (RFC 7644
/// wants an error for a read-only attribute; Wharf keeps those updates working instead).
fn locate(resource: &ResourceType, attr: &AttrPath) -> Result<Option<Location>> {
    let unknown = || invalid_path(format!("{attr}: no such attribute of a {}", resource.name));
    if let Some((urn, _)) = resource.extension {
        if attr.schema_is(urn) {
            let found = resource.extension_attribute(&attr.attr).ok_or_else(unknown)?;
            if attr.sub_attr.is_some() {
                return Err(unknown());
            }
            if found.is_read_only() {
                return Err(read_only(found.name));
            }
            return Ok(Some(Location {
                extension: true,
                key: found.name.into(),
                multi_valued: false,
                complex: false,
                required: false,
            }));
        }
    }
    if let Some(urn) = &attr.schema {
        if !urn.eq_ignore_ascii_case(resource.schema) {
            return Err(unknown());
        }
    }
    let found = resource.attribute(&attr.attr).ok_or_else(unknown)?;
    if found.is_read_only() {
        if resource.name == "User" && found.name == "displayName" {
            return Ok(None);
        }
        return Err(read_only(found.name));
    }
    if let Some(sub) = &attr.sub_attr {
        if found.sub(sub).is_none() {
            return Err(unknown());
        }
    }
    Ok(Some(Location {
        extension: false,
        key: found.name.into(),
        multi_valued: found.is_multi_valued(),
        complex: !found.sub_attributes.is_empty(),
        required: found.is_required() && attr.sub_attr.is_none(),
    }))
}

fn read_only(name: &str) -> Error {
    Error::scim(ScimErrorKind::Mutability, format!("{name}: read-only"))
}

/// Applies `operations` to `doc`, a rendering of a resource of type `resource`.
pub fn apply(resource: &ResourceType, doc: &mut Map<String, Value>, operations: &[Operation]) -> Result<()> {
    for op in operations {
        match &op.path {
            Some(path) => apply_at(resource, doc, op.kind, path, op.value.as_ref())?,
            None => {
                let Some(Value::Object(values)) = &op.value else {
                    return Err(invalid_value("without a path, the value must be an object"));
                };
                for (key, value) in values {
                    apply_key(resource, doc, op.kind, key, value)?;
                }
            }
        }
    }
    Ok(())
}

/// One attribute of a path-less add/replace: `"active": false`, `"name.givenName": "x"`,
/// or the extension object `"urn:…:docker:2.0:User": {"dockerRole": …}`.
fn apply_key(
    resource: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: OpKind,
    key: &str,
    value: &Value,
) -> Result<()> {
    if let Some((urn, _)) = resource.extension {
        if key.eq_ignore_ascii_case(urn) {
            let Value::Object(values) = value else {
                return Err(invalid_value(format!("{urn}: expected an object")));
            };
            for (name, inner) in values {
                let path =
                    filter::parse_path(&format!("{urn}:{name}")).map_err(|e| invalid_path(e.message))?;
                apply_at(resource, doc, kind, &path, Some(inner))?;
            }
            return Ok(());
        }
    }
    // Read-only attributes in a whole-resource value (Okta sends `id` back) are skipped.
    if ["id", "meta", "groups", "schemas"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
    {
        return Ok(());
    }
    let path = filter::parse_path(key).map_err(|e| invalid_path(e.message))?;
    apply_at(resource, doc, kind, &path, Some(value))
}

fn apply_at(
    resource: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<()> {
    let Some(location) = locate(resource, &path.attr)? else {
        return Ok(());
    };
    if kind == OpKind::Remove && location.required && path.value_filter.is_none() {
        return Err(Error::scim(
            ScimErrorKind::Mutability,
            format!("{}: required; it can be replaced, not removed", location.key),
        ));
    }
    let holder: &mut Map<String, Value> = if location.extension {
        let entry = doc
            .entry(DOCKER_USER_SCHEMA.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry.as_object_mut() {
            Some(object) => object,
            None => return Err(Error::internal("extension is not an object")),
        }
    } else {
        doc
    };
    let key = location.key.as_str();
    match (&path.value_filter, &path.attr.sub_attr) {
        (Some(filter), _) => apply_filtered(holder, key, kind, filter, path.sub_attr.as_deref(), value),
        (None, Some(sub)) => {
            let sub = canonical_sub(resource, key, sub);
            if location.multi_valued {
                // `emails.value`: every value of the multi-valued attribute.
                let items = array_at(holder, key);
                if items.is_empty() && kind != OpKind::Remove {
                    items.push(Value::Object(Map::new()));
                }
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    set_or_remove(item, &sub, kind, value);
                }
            } else {
                let entry = holder
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Some(object) = entry.as_object_mut() {
                    set_or_remove(object, &sub, kind, value);
                }
            }
            Ok(())
        }
        (None, None) => {
            match kind {
                OpKind::Remove => match value {
                    // `{"op":"Remove","path":"members","value":[{"value":"id"}]}`.
                    Some(Value::Array(listed)) if location.multi_valued => {
                        let doomed: Vec<&Value> = listed.iter().filter_map(|v| v.get("value")).collect();
                        array_at(holder, key)
                            .retain(|item| !item.get("value").is_some_and(|v| doomed.contains(&v)));
                    }
                    _ => {
                        holder.remove(key);
                    }
                },
                OpKind::Add if location.multi_valued => {
                    let new_values = match value {
                        Some(Value::Array(values)) => values.clone(),
                        Some(single) => vec![single.clone()],
                        None => Vec::new(),
                    };
                    let items = array_at(holder, key);
                    // A new primary value takes the flag from the others (RFC 7644 §3.5.2.1).
                    if new_values
                        .iter()
                        .any(|v| v.get("primary") == Some(&Value::Bool(true)))
                    {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            item.insert("primary".into(), Value::Bool(false));
                        }
                    }
                    for new in new_values {
                        if !items.contains(&new) {
                            items.push(new);
                        }
                    }
                }
                OpKind::Add | OpKind::Replace if location.complex && !location.multi_valued => {
                    // A complex attribute: the sub-attributes given replace theirs.
                    let Some(Value::Object(values)) = value else {
                        return Err(invalid_value(format!("{key}: expected an object")));
                    };
                    let entry = holder
                        .entry(key.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !entry.is_object() {
                        *entry = Value::Object(Map::new());
                    }
                    if let Some(object) = entry.as_object_mut() {
                        for (sub, inner) in values {
                            let sub = canonical_sub(resource, key, sub);
                            object.insert(sub, inner.clone());
                        }
                    }
                }
                OpKind::Add | OpKind::Replace => {
                    if let Some(value) = value {
                        holder.insert(key.to_string(), value.clone());
                    }
                }
            }
            Ok(())
        }
    }
}

/// The sub-attribute's canonical name (`givenname` → `givenName`).
fn canonical_sub(resource: &ResourceType, key: &str, sub: &str) -> String {
    resource
        .attribute(key)
        .and_then(|a| a.sub(sub))
        .map(|a| a.name.to_string())
        .unwrap_or_else(|| sub.to_string())
}

fn set_or_remove(object: &mut Map<String, Value>, key: &str, kind: OpKind, value: Option<&Value>) {
    match (kind, value) {
        (OpKind::Remove, _) => {
            object.remove(key);
        }
        (_, Some(value)) => {
            object.insert(key.to_string(), value.clone());
        }
        (_, None) => {}
    }
}

/// The array at `key`, created (or made one) if it is not.
fn array_at<'a>(holder: &'a mut Map<String, Value>, key: &str) -> &'a mut Vec<Value> {
    let entry = holder
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        let single = std::mem::take(entry);
        *entry = Value::Array(if single.is_null() {
            Vec::new()
        } else {
            vec![single]
        });
    }
    match entry {
        Value::Array(items) => items,
        _ => unreachable!("made an array above"),
    }
}

/// `attr[filter]` or `attr[filter].sub`.
fn apply_filtered(
    holder: &mut Map<String, Value>,
    key: &str,
    kind: OpKind,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<&Value>,
) -> Result<()> {
    let items = array_at(holder, key);
    let mut matched = 0;
    let mut kept = Vec::with_capacity(items.len());
    for mut item in std::mem::take(items) {
        let hit = match item.as_object() {
            Some(object) => matches(object, filter)?,
            None => false,
        };
        if !hit {
            kept.push(item);
            continue;
        }
        matched += 1;
        match (kind, sub) {
            (OpKind::Remove, None) => continue,
            (_, Some(sub)) => {
                if let Some(object) = item.as_object_mut() {
                    set_or_remove(object, sub, kind, value);
                }
            }
            (_, None) => match value {
                Some(Value::Object(values)) => {
                    if let Some(object) = item.as_object_mut() {
                        for (k, v) in values {
                            object.insert(k.clone(), v.clone());
                        }
                    }
                }
                Some(other) => item = other.clone(),
                None => {}
            },
        }
        kept.push(item);
    }
    if matched == 0 && kind != OpKind::Remove {
        // Nothing matched: the value the filter describes is created.
        let mut created = Map::new();
        equalities(filter, &mut created);
        match (sub, value) {
            (Some(sub), Some(value)) => {
                created.insert(sub.to_string(), value.clone());
            }
            (None, Some(Value::Object(values))) => {
                for (k, v) in values {
                    created.insert(k.clone(), v.clone());
                }
            }
            _ => {
                return Err(Error::scim(
                    ScimErrorKind::NoTarget,
                    format!("{key}: no value matches the filter"),
                ))
            }
        }
        kept.push(Value::Object(created));
    }
    *items = kept;
    Ok(())
}

/// The `attr eq value` comparisons of a filter's conjunction, as the attributes of a new
/// value (`type eq "work"` → `{"type": "work"}`).
fn equalities(filter: &Filter, out: &mut Map<String, Value>) {
    match filter {
        Filter::And(a, b) => {
            equalities(a, out);
            equalities(b, out);
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.sub_attr.is_none() => {
            let json = match value {
                filter::Value::String(s) => Value::String(s.clone()),
                filter::Value::Bool(b) => Value::Bool(*b),
                filter::Value::Number(n) => serde_json::Number::from_f64(*n)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                filter::Value::Null => Value::Null,
            };
            out.insert(path.attr.clone(), json);
        }
        _ => {}
    }
}

/// Whether a value of a multi-valued attribute matches a value filter, whose attribute
/// paths name its sub-attributes. Text compares without regard to case.
fn matches(item: &Map<String, Value>, filter: &Filter) -> Result<bool> {
    Ok(match filter {
        Filter::And(a, b) => matches(item, a)? && matches(item, b)?,
        Filter::Or(a, b) => matches(item, a)? || matches(item, b)?,
        Filter::Not(inner) => !matches(item, inner)?,
        Filter::Present(path) => sub_value(item, path)?.is_some(),
        Filter::ValuePath { .. } => return Err(invalid_path("nested value filters are not allowed")),
        Filter::Compare { path, op, value } => {
            let Some(actual) = sub_value(item, path)? else {
                return Ok(*op == CompareOp::Ne);
            };
            op.matches(actual, value)
        }
    })
}

fn sub_value<'a>(item: &'a Map<String, Value>, path: &AttrPath) -> Result<Option<&'a Value>> {
    if path.schema.is_some() || path.sub_attr.is_some() {
        return Err(invalid_path(format!("{path}: not a sub-attribute")));
    }
    Ok(member(item, &path.attr))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::scim::schema::{GROUP, USER};

    fn patched(resource: &ResourceType, doc: Value, ops: Value) -> Result<Value> {
        let request = json!({"schemas": [PATCH_OP], "Operations": ops});
        let operations = parse_request(&request)?;
        let Value::Object(mut doc) = doc else {
            panic!("object")
        };
        apply(resource, &mut doc, &operations)?;
        Ok(Value::Object(doc))
    }

    fn user() -> Value {
        json!({"userName": "jane@example.com", "active": true, "name": {"givenName": "Jane"},
               "emails": [{"value": "jane@example.com", "type": "work", "primary": true}]})
    }

    #[test]
    fn applies_the_forms_identity_providers_send() {
        let doc = patched(
            &USER,
            user(),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .unwrap();
        assert_eq!(doc["active"], false);
        let doc = patched(
            &USER,
            user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .unwrap();
        assert_eq!(doc["active"], "False");
        let ops = json!([
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "j@new.example"},
            {"op": "Replace", "path": "name.familyName", "value": "Doe"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:docker:2.0:User:dockerRole", "value": "editor"},
        ]);
        let doc = patched(&USER, user(), ops).unwrap();
        assert_eq!(doc["emails"][0]["value"], "j@new.example");
        assert_eq!(doc["name"], json!({"givenName": "Jane", "familyName": "Doe"}));
        assert_eq!(doc[DOCKER_USER_SCHEMA]["dockerRole"], "editor");
    }

    #[test]
    fn changes_group_members() {
        let group = json!({"displayName": "devs", "members": [{"value": "a"}, {"value": "b"}]});
        let ops = json!([
            {"op": "add", "path": "members", "value": [{"value": "c"}]},
            {"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "b"}]},
        ]);
        let doc = patched(&GROUP, group, ops).unwrap();
        assert_eq!(doc["members"], json!([{"value": "c"}]));
    }

    #[test]
    fn refuses_bad_paths_and_requests() {
        let cases = [
            (
                json!([{"op": "replace", "path": "nosuch", "value": 1}]),
                ScimErrorKind::InvalidPath,
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq", "value": 1}]),
                ScimErrorKind::InvalidPath,
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                ScimErrorKind::Mutability,
            ),
            (json!([{"op": "remove"}]), ScimErrorKind::NoTarget),
            (
                json!([{"op": "move", "path": "active"}]),
                ScimErrorKind::InvalidSyntax,
            ),
            (
                json!([{"op": "add", "path": "active"}]),
                ScimErrorKind::InvalidValue,
            ),
        ];
        for (ops, kind) in cases {
            match patched(&USER, user(), ops.clone()) {
                Err(Error::Scim { kind: got, .. }) => assert_eq!(got, kind, "{ops}"),
                other => panic!("{ops}: {other:?}"),
            }
        }
    }
}
