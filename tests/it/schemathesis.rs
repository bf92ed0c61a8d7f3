//! API fuzzing from the OpenAPI documents, with schemathesis (PyPI `schemathesis`, pinned in
//! `.ci/run`), as the owner of an organization that has a repository with a tag:
//!
//! - against Wharf's own `/openapi.json`: no 5xx, and every status code, content type and
//!   body as documented;
//! - against the official Docker Hub spec (`WHARF_HUB_SPEC`, read from outside the project):
//!   no 5xx, and every body the spec describes matches it. (Its status code lists are not
//!   exhaustive: it documents no 400 for most inputs Wharf rightly refuses.)
//!
//! A fixed seed and a bounded number of examples and time keep each run reproducible and
//! short; `st run` with the same flags and a longer `--max-time` digs deeper. Skipped, loudly,
//! when `st` is not installed; fails instead when `WHARF_REQUIRE_SCHEMATHESIS` is set.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{json, Backend, Server, PASSWORD};
use crate::oci::Registry;

/// Seconds each run may take.
const MAX_TIME: &str = "90";

fn installed() -> bool {
    let found = std::process::Command::new("st")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("WHARF_REQUIRE_SCHEMATHESIS").is_none(),
            "schemathesis (st) is not installed, and WHARF_REQUIRE_SCHEMATHESIS is set"
        );
        eprintln!("SKIPPED: schemathesis is not installed (pip install schemathesis)");
    }
    found
}

/// A server with alice, owner of `acme`, whose repository `acme/app` has a tag; returns
/// it with alice's session token.
async fn fixture() -> (Server, String) {
    let server = Server::start_with(
        &Backend::Sqlite,
        // No limit may turn a generated request into a 429.
        &[
            "--rate-limit",
            "0",
            "--audit-rate-limit",
            "0",
            "--login-failure-limit",
            "1000000",
        ],
        &[],
    )
    .await;
    let session = server.user_with_token("alice").await;
    server
        .admin_ok(&["org", "create", "acme", "--owner", "alice"])
        .await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &["acme/app"], "pull,push").await;
    registry.push_image("acme/app", "latest").await;
    let (status, _) = json(
        server
            .post("/v2/orgs/acme/groups", Some(&session), json!({"name": "devs"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    (server, session)
}

/// `st run LOCATION` with `extra` flags; panics with the report when it found a failure.
async fn schemathesis(server: &Server, session: &str, location: &str, checks: &str, extra: &[&str]) {
    let config = server.data_dir.join("schemathesis.toml");
    // Path parameters that name what the fixture made, so that operations reach real data.
    std::fs::write(
        &config,
        "[parameters]\norg_name = \"acme\"\nnamespace = \"acme\"\nrepository = \"app\"\n",
    )
    .expect("write config");
    let out = tokio::process::Command::new("st")
        .arg("--config-file")
        .arg(&config)
        .args(["run", location])
        .args(extra)
        .args(["-H", &format!("Authorization: Bearer {session}")])
        .args(["--checks", checks])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "10", "--max-time", MAX_TIME, "--workers", "2"])
        .args(["--seed", "1", "--no-shrink"])
        .current_dir(&server.data_dir)
        .output()
        .await
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("Test cases:"),
        "schemathesis did not run: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Failures are what Wharf did wrong. Errors are schemathesis's own trouble with a
    // document (reported, not failed on).
    assert!(
        !report.contains("\nFailures:\n"),
        "schemathesis found failures:\n{report}"
    );
    if !out.status.success() {
        eprintln!("schemathesis reported errors but no failures:\n{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_openapi_document_holds() {
    if !installed() {
        return;
    }
    let (server, session) = fixture().await;
    let location = server.url("/openapi.json");
    schemathesis(
        &server,
        &session,
        &location,
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_spec_holds() {
    let Some(spec) = std::env::var_os("WHARF_HUB_SPEC") else {
        eprintln!("SKIPPED: set WHARF_HUB_SPEC to the official Docker Hub OpenAPI document");
        return;
    };
    if !installed() {
        return;
    }
    let spec = Path::new(&spec).to_str().expect("a UTF-8 path").to_string();
    let (server, session) = fixture().await;
    let base = server.url("");
    schemathesis(
        &server,
        &session,
        &spec,
        "not_a_server_error,response_schema_conformance",
        // The official document names a path parameter `{name}` that it never defines on
        // these two operations, so no request can be built for them.
        &[
            "--url",
            &base,
            "--exclude-path-regex",
            "^/v2/orgs/\\{name\\}/access-tokens$",
        ],
    )
    .await;
}
