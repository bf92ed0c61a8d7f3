//! Entry points for fuzzing: arbitrary bytes into the parsers that read untrusted input,
//! with the properties each must keep. The cargo-fuzz targets in `fuzz/` call these
//! (`bench/fuzz.sh` runs them for minutes); the tests below run each on random inputs for
//! a fixed number of cases in every `cargo test`. None may panic; a crash found becomes a
//! test here.

use crate::blobs::Digest;
use crate::domain::manifests::{check_manifest, Reference};
use crate::domain::registry::RepoName;
use crate::domain::scim::filter::{parse_filter, parse_path, MAX_FILTER_LEN};
use crate::http::registry::ranges::{byte_range, chunk_start};

mod hub_api;
pub use hub_api::HubApi;

/// The longest valid UTF-8 prefix of `data`, so that no input is wasted.
fn text(data: &[u8]) -> &str {
    match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Repository names, references and digests: what parses prints back to itself.
pub fn oci_names(data: &[u8]) {
    let text = text(data);
    if let Ok(name) = RepoName::parse(text) {
        assert_eq!(name.path(), text);
        assert!(text.len() <= 255);
    }
    if let Some(digest) = Digest::parse(text) {
        assert_eq!(Digest::parse(&digest.to_string()), Some(digest));
    }
    match Reference::parse(text) {
        Ok(Reference::Tag(tag)) => assert!(tag.len() <= 128 && !tag.contains(':')),
        Ok(Reference::Digest(digest)) => assert_eq!(digest.to_string(), text),
        Err(_) => {}
    }
    let _ = Reference::lookup(text);
}

/// Manifests and indexes under every media type a client may declare.
pub fn manifest(data: &[u8]) {
    const TYPES: [Option<&str>; 5] = [
        None,
        Some("application/vnd.oci.image.manifest.v1+json"),
        Some("application/vnd.oci.image.index.v1+json"),
        Some("application/vnd.docker.distribution.manifest.v2+json"),
        Some("application/vnd.docker.distribution.manifest.list.v2+json"),
    ];
    let Some((first, content)) = data.split_first() else {
        return;
    };
    let _ = check_manifest(content, TYPES[usize::from(*first) % TYPES.len()]);
}

/// `Content-Range` of a chunk and `Range` of a pull: a range is never empty nor past the
/// blob, a chunk start is never after its end.
pub fn ranges(data: &[u8]) {
    let (size, text) = match data.split_first_chunk::<8>() {
        Some((size, rest)) => (u64::from_le_bytes(*size) % (1 << 40), self::text(rest)),
        None => (0, self::text(data)),
    };
    if let Ok(Some(range)) = byte_range(text, size) {
        assert!(
            range.start < range.end && range.end <= size,
            "{text:?} of {size}: {range:?}"
        );
    }
    let _ = chunk_start(text);
}

/// SCIM filters and PATCH paths: what parses prints as text that parses back to the same
/// tree.
pub fn scim_filter(data: &[u8]) {
    let text = text(data);
    if let Ok(filter) = parse_filter(text) {
        let printed = filter.to_string();
        // Printed numbers can be longer than written ones (`1e15`); past the limit the
        // reparse is refused for length, which is not a round-trip failure.
        if printed.len() <= MAX_FILTER_LEN {
            assert_eq!(
                parse_filter(&printed),
                Ok(filter),
                "filter {text:?} printed as {printed:?}"
            );
        }
    }
    if let Ok(path) = parse_path(text) {
        let printed = path.to_string();
        if printed.len() <= MAX_FILTER_LEN {
            assert_eq!(
                parse_path(&printed),
                Ok(path),
                "path {text:?} printed as {printed:?}"
            );
        }
    }
}

/// JSON request bodies of the Hub API (and SCIM), through the real router: the first byte
/// picks the operation, the rest is its body. Never a 5xx; errors are JSON.
pub fn hub_json(data: &[u8]) {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    HubApi::shared().send(*selector, body);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// Bytes that are often near-valid input for the targets: grammar pieces glued
    /// together, or anything at all.
    fn input() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just("sha256:".to_string()),
            Just("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string()),
            Just("bytes=".to_string()),
            Just("-".to_string()),
            Just("/".to_string()),
            Just("{\"schemaVersion\":2,".to_string()),
            Just("\"mediaType\":".to_string()),
            Just("\"layers\":[".to_string()),
            Just(" eq ".to_string()),
            Just("userName".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            "[a-z0-9._:-]{0,12}",
            "\\PC{0,8}",
        ];
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat().into_bytes()),
        ]
    }

    /// JSON values whose object keys are field names of the API's request bodies, and whose
    /// leaves are of every type: bodies that pass the parser and reach the handlers.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::{json, Value};
        const KEYS: &[&str] = &[
            "name",
            "namespace",
            "description",
            "full_description",
            "is_private",
            "registry",
            "immutable_tags",
            "immutable_tags_rules",
            "regex",
            "role",
            "member",
            "username",
            "password",
            "code",
            "login_2fa_token",
            "identifier",
            "secret",
            "token_label",
            "scopes",
            "expires_at",
            "is_active",
            "invitees",
            "org",
            "team",
            "dry_run",
            "resources",
            "path",
            "actions",
            "restricted_images",
            "allow_official_images",
            "allow_verified_publishers",
            "schemas",
            "userName",
            "active",
            "emails",
            "Operations",
            "op",
            "value",
            "displayName",
            "members",
            "filter",
            "startIndex",
            "count",
            "attributes",
            "excludedAttributes",
            "sortBy",
            "sortOrder",
            "type",
            "primary",
            "restricted_images_enabled",
            "permission",
            "group_name",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            prop_oneof![
                Just("fuzzowner".to_string()),
                Just("fuzzorg".to_string()),
                Just("repo".to_string()),
                Just("team".to_string()),
                Just("owner".to_string()),
                Just("editor".to_string()),
                Just("member".to_string()),
                Just("repo:read".to_string()),
                Just("2030-01-01T00:00:00Z".to_string()),
                Just("urn:ietf:params:scim:schemas:core:2.0:User".to_string()),
                Just("urn:ietf:params:scim:api:messages:2.0:PatchOp".to_string()),
                Just("replace".to_string()),
                "[a-z0-9._@:-]{0,20}",
                "\\PC{0,12}",
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map(proptest::sample::select(KEYS), inner, 0..8).prop_map(
                    |map| { Value::Object(map.into_iter().map(|(k, v)| (k.to_string(), v)).collect()) }
                ),
            ]
        })
    }

    /// An operation selector and a body: structured JSON mostly, any bytes sometimes.
    fn hub_input() -> impl Strategy<Value = Vec<u8>> {
        let body = prop_oneof![
            4 => json_value().prop_map(|v| v.to_string().into_bytes()),
            1 => proptest::collection::vec(any::<u8>(), 0..200),
        ];
        (any::<u8>(), body).prop_map(|(selector, body)| [vec![selector], body].concat())
    }

    #[test]
    fn hub_json_reaches_every_operation_with_a_body() {
        assert!(super::HubApi::shared().endpoint_count() >= 20);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]
        #[test]
        fn hub_json(data in hub_input()) { super::hub_json(&data) }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn oci_names(data in input()) { super::oci_names(&data) }
        #[test]
        fn manifest(data in input()) { super::manifest(&data) }
        #[test]
        fn ranges(data in input()) { super::ranges(&data) }
        #[test]
        fn scim_filter(data in input()) { super::scim_filter(&data) }
    }
}
