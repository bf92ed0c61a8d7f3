//! The contract with the official Docker Hub API spec: every operation Wharf documents as
//! part of the Hub API (everything not tagged `wharf-extensions`) exists in the official
//! spec with the same method, path and operationId, and documents the spec's success status.
//!
//! Paths are compared with their parameter names blanked: the spec names the organization
//! `{name}` on some routes and `{org_name}` on others at the same position, which one
//! router cannot do, and a parameter's name is invisible to clients.
//!
//! The spec is not part of this repository: point `WHARF_HUB_SPEC` at a copy of Docker's
//! `dockerhub-openapi.yaml` to run this check; without it the test says so and passes.

use std::collections::BTreeMap;

use reqwest::Method;

use crate::harness::{json, Backend, Server};

/// `path` with every `{parameter}` written as `{}`.
fn template(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

const METHODS: [&str; 6] = ["get", "head", "post", "put", "patch", "delete"];

/// (method, path) → (operationId, success statuses) from the spec's YAML. The file is
/// regular enough (two-space indentation, one key per line) that a line scan suffices and
/// spares a YAML dependency.
fn official_operations(yaml: &str) -> BTreeMap<(String, String), (String, Vec<String>)> {
    let mut ops = BTreeMap::new();
    let (mut path, mut method) = (None::<String>, None::<String>);
    let mut in_responses = false;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        match indent {
            2 if text.starts_with("/v2/") => {
                path = Some(text.trim_end_matches(':').to_string());
                method = None;
            }
            2 => path = path.filter(|_| text.is_empty()),
            4 if path.is_some() => {
                let key = text.trim_end_matches(':');
                method = METHODS.contains(&key).then(|| key.to_string());
                in_responses = false;
                if let (Some(p), Some(m)) = (&path, &method) {
                    ops.insert((m.clone(), template(p)), (String::new(), Vec::new()));
                }
            }
            6 if method.is_some() => {
                in_responses = text == "responses:";
                if let Some(id) = text.strip_prefix("operationId: ") {
                    let key = (
                        method.clone().unwrap_or_default(),
                        template(path.as_deref().unwrap_or_default()),
                    );
                    if let Some(entry) = ops.get_mut(&key) {
                        entry.0 = id.trim().to_string();
                    }
                }
            }
            8 if in_responses => {
                // `"200":`, `'200':` or `'200': {}`.
                let code = text
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim_matches(['"', '\'']);
                if code.starts_with('2') {
                    let key = (
                        method.clone().unwrap_or_default(),
                        template(path.as_deref().unwrap_or_default()),
                    );
                    if let Some(entry) = ops.get_mut(&key) {
                        entry.1.push(code.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    ops
}

async fn documented_hub_operations_match_the_official_spec(backend: Backend) {
    let Ok(spec_path) = std::env::var("WHARF_HUB_SPEC") else {
        eprintln!("SKIPPED: set WHARF_HUB_SPEC to the official dockerhub-openapi.yaml to check the contract");
        return;
    };
    let yaml = std::fs::read_to_string(&spec_path).unwrap_or_else(|e| panic!("cannot read {spec_path}: {e}"));
    let official = official_operations(&yaml);
    assert_eq!(official.len(), 54, "the official spec has 54 operations");

    let server = Server::start(&backend).await;
    let (_, doc) = json(server.send(Method::GET, "/v2/openapi.json", None, None).await).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let tags: Vec<&str> = op["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .collect();
            if tags.contains(&"wharf-extensions") {
                continue;
            }
            let key = (method.clone(), template(path));
            let (operation_id, success) = official.get(&key).unwrap_or_else(|| {
                panic!("{method} {path} is not in the official spec; tag it wharf-extensions")
            });
            assert_eq!(
                op["operationId"].as_str(),
                Some(operation_id.as_str()),
                "{method} {path}"
            );
            for status in success {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} does not document the official {status}"
                );
            }
            checked += 1;
        }
    }
    eprintln!(
        "{checked} of {} official operations implemented and matching",
        official.len()
    );
    // Accounts, auth, access tokens (8), organizations with their invites (24),
    // repositories with their tags and team access (11), and audit logs (2) so far.
    assert!(checked >= 45, "only {checked} official operations documented");
}

crate::both_backends!(documented_hub_operations_match_the_official_spec);
