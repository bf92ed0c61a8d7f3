//! An independent check of SCIM 2.0 compliance (RFC 7643 and 7644): scim2-tester (the
//! `scim2-tester` package on PyPI, by Yaal Coop) against the real server, authenticated by
//! an organization's SCIM token. It discovers the server (ServiceProviderConfig,
//! ResourceTypes, Schemas), then creates, reads, lists, searches, replaces, patches (add,
//! remove and replace of every writable attribute) and deletes users and groups. No check
//! may fail, except those of a feature the ServiceProviderConfig says is unsupported
//! (bulk, etag, changePassword), which do not apply.
//!
//! The checker is driven by `scim_compliance.py` beside this file, run with `python3`;
//! what it is told about Wharf, and the failures it reports that the RFCs do not back
//! (`excused`), are there, each with its reason.

use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{json, Backend, Server};

const ORG: &str = "acme";
const OWNER: &str = "owner1";
const BASE: &str = "/v2/scim/2.0";

/// The driver of scim2-tester.
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/scim_compliance.py");
/// How long one run of the checker may take.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The features of the ServiceProviderConfig a check may concern though Wharf has them
/// not, each with the words that name it in a check's name or tags.
const OPTIONAL_FEATURES: [(&str, &[&str]); 3] = [
    ("bulk", &["bulk"]),
    ("etag", &["etag"]),
    (
        "changePassword",
        &["changepassword", "change_password", "password"],
    ),
];

/// How much of what a failed check saw is shown.
const SHOWN: usize = 1500;

/// Whether scim2-tester and its HTTP client can be imported by `python3`. When they
/// cannot, the test is skipped, loudly; or fails, when `WHARF_REQUIRE_SCIM_TESTER` is set
/// (where the checker is expected, a missing one must not pass silently).
fn scim_tester_installed() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import scim2_tester, httpx2"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("WHARF_REQUIRE_SCIM_TESTER").is_none(),
            "scim2-tester is not installed (`python3 -c 'import scim2_tester, httpx2'` fails), \
             and WHARF_REQUIRE_SCIM_TESTER is set"
        );
        eprintln!("SKIPPED: scim2-tester not installed (pip install 'scim2-tester[httpx2]')");
    }
    found
}

/// The features the ServiceProviderConfig of `server` says are unsupported, after
/// checking that it supports those Wharf has.
async fn unsupported_features(server: &Server, token: &str) -> Vec<&'static str> {
    let res = server
        .request(Method::GET, &format!("{BASE}/ServiceProviderConfig"))
        .header(ACCEPT, "application/scim+json")
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let (status, config) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{config}");
    for feature in ["patch", "filter", "sort"] {
        assert_eq!(config[feature]["supported"], true, "{feature}: {config}");
    }
    OPTIONAL_FEATURES
        .iter()
        .map(|(feature, _)| *feature)
        .filter(|feature| {
            let supported = &config[*feature]["supported"];
            assert!(supported.is_boolean(), "{feature}: {config}");
            supported == false
        })
        .collect()
}

/// The unsupported feature `check` concerns, if any.
fn not_applicable(check: &Value, unsupported: &[&str]) -> Option<&'static str> {
    let mut words = vec![text(check, "check").to_ascii_lowercase()];
    if let Some(tags) = check["tags"].as_array() {
        words.extend(tags.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase));
    }
    OPTIONAL_FEATURES
        .iter()
        .filter(|(feature, _)| unsupported.contains(feature))
        .find(|(_, names)| {
            names
                .iter()
                .any(|name| words.iter().any(|word| word.contains(name)))
        })
        .map(|(feature, _)| *feature)
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

/// One line for a check: its status, name, resource type and reason.
fn line(check: &Value) -> String {
    let on = match check["resource_type"].as_str() {
        Some(resource_type) => format!(" [{resource_type}]"),
        None => String::new(),
    };
    format!(
        "{} {}{on}: {}",
        text(check, "status"),
        text(check, "check"),
        text(check, "reason").replace('\n', " / ")
    )
}

/// What a check saw, cut to [`SHOWN`] characters.
fn seen(check: &Value) -> String {
    let data = text(check, "data");
    match data.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &data[..end]),
        None => data.to_string(),
    }
}

async fn scim2_tester_finds_no_failure(backend: Backend) {
    if !scim_tester_installed() {
        return;
    }
    let server = Server::start(&backend).await;
    server.create_user(OWNER).await;
    server.create_org(ORG, OWNER).await;
    let minted = server.admin(&["org", "scim-token", ORG], None).await;
    assert!(
        minted.status.success(),
        "wharf admin org scim-token failed: {}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let token = String::from_utf8(minted.stdout)
        .expect("token is text")
        .trim()
        .to_string();
    assert!(!token.is_empty(), "wharf admin org scim-token printed no token");
    let unsupported = unsupported_features(&server, &token).await;

    // Every request and response of the run, kept when the test fails.
    let trace = std::env::temp_dir().join(format!(
        "wharf-scim-compliance-{}.log",
        uuid::Uuid::new_v4().simple()
    ));
    let url = format!("{}{BASE}", server.base);
    let run = tokio::process::Command::new("python3")
        .arg(DRIVER)
        .args(["--url", &url, "--token", &token])
        .arg("--trace")
        .arg(&trace)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("scim2-tester took longer than {TIMEOUT:?}"))
        .expect("run python3");
    assert!(
        out.status.success(),
        "scim2-tester failed to run:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scim2-tester printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let checks = report["results"].as_array().expect("results");

    // It got past discovery: users and groups were created, read and patched.
    for resource_type in ["User", "Group"] {
        for name in ["object_creation", "object_query", "check_add_attribute"] {
            assert!(
                checks
                    .iter()
                    .any(|c| c["check"] == name && c["resource_type"] == resource_type),
                "scim2-tester ran no {name} on {resource_type}:\n{report:#}"
            );
        }
    }

    let (mut passed, mut skipped) = (0, 0);
    let (mut inapplicable, mut excused, mut deviations, mut failed) = (vec![], vec![], vec![], vec![]);
    for check in checks {
        if let Some(feature) = not_applicable(check, &unsupported) {
            inapplicable.push(format!(
                "{} (ServiceProviderConfig: {feature} unsupported)",
                line(check)
            ));
            continue;
        }
        match text(check, "status") {
            "SUCCESS" | "COMPLIANT" | "ACCEPTABLE" => passed += 1,
            "SKIPPED" => skipped += 1,
            "DEVIATION" => deviations.push(line(check)),
            "ERROR" | "CRITICAL" => match check["excused"].as_str() {
                Some(why) => excused.push(format!("{}\n    excused: {why}", line(check))),
                None => failed.push(format!("{}\n    saw: {}", line(check), seen(check))),
            },
            other => panic!("unknown status {other:?}: {check}"),
        }
    }
    eprintln!(
        "scim2-tester {}: {passed} passed, {} failed, {skipped} skipped, {} not applicable, {} excused, {} deviations",
        report["versions"]["scim2-tester"].as_str().unwrap_or("?"),
        failed.len(),
        inapplicable.len(),
        excused.len(),
        deviations.len()
    );
    for (what, lines) in [
        ("not applicable", &inapplicable),
        ("excused", &excused),
        ("deviation (SHOULD)", &deviations),
    ] {
        for line in lines {
            eprintln!("  {what}: {line}");
        }
    }
    for note in report["notes"].as_array().into_iter().flatten() {
        eprintln!("  note: {}", note.as_str().unwrap_or_default());
    }
    assert!(
        failed.is_empty(),
        "scim2-tester found {} failures:\n{}\nevery request and response: {}",
        failed.len(),
        failed.join("\n"),
        trace.display()
    );
    let _ = std::fs::remove_file(&trace);
}

crate::both_backends!(scim2_tester_finds_no_failure);
