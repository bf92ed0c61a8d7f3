//! The Hub API's JSON request bodies, fuzzed through the real router: every operation of
//! the OpenAPI document that takes a body (Hub and SCIM), called as the owner of an
//! organization (SCIM with the organization's SCIM token) on a SQLite store in a temporary
//! directory. Whatever the body, the answer is never a 5xx, and an error is JSON in the
//! API's error format.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use clap::Parser;
use tower::ServiceExt;

use crate::app::App;
use crate::config::{Cli, Command, Settings};
use crate::domain::audit::Actor;

const OWNER: &str = "fuzzowner";
const PASSWORD: &str = "fuzz-password-1";
const ORG: &str = "fuzzorg";
const REPOSITORY: &str = "repo";
const TEAM: &str = "team";

/// One operation that takes a body, with its path parameters filled in.
struct Endpoint {
    method: Method,
    path: String,
    bearer: String,
}

/// A running application with its fixture, kept for every input of a fuzzing process.
pub struct HubApi {
    runtime: tokio::runtime::Runtime,
    router: Router,
    endpoints: Vec<Endpoint>,
    data_dir: PathBuf,
}

impl HubApi {
    /// The process's one instance, started on first use.
    pub fn shared() -> &'static HubApi {
        static API: OnceLock<HubApi> = OnceLock::new();
        API.get_or_init(|| HubApi::start().expect("start the application to fuzz"))
    }

    fn start() -> anyhow::Result<HubApi> {
        let data_dir = std::env::temp_dir().join(format!("wharf-fuzz-hub-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let data_dir_arg = data_dir.to_string_lossy().into_owned();
        // No request limit: the fuzzer is one client sending as fast as it can.
        let cli = Cli::try_parse_from(["wharf", "--data-dir", &data_dir_arg, "serve", "--rate-limit", "0"])?;
        let Command::Serve(serve) = &cli.command else {
            anyhow::bail!("not a serve command");
        };
        let mut settings = Settings::resolve(&cli.store, Some(serve))?;
        settings.database_url = crate::store::Store::sqlite_url_in(&data_dir);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (router, endpoints) = runtime.block_on(async {
            let store = crate::server::open_store(&settings).await?;
            let app = App::new(store, settings).await?;
            let admin = Actor::admin_cli();
            app.create_user(&admin, OWNER, "owner@fuzz.example", PASSWORD)
                .await?;
            app.create_org(&admin, ORG, OWNER).await?;
            let scim_token = app.admin_scim_token(ORG).await?;
            let (router, doc) = crate::http::router(app);
            let bearer = fixture(&router).await?;
            let endpoints = endpoints(&doc, &bearer, &scim_token);
            anyhow::Ok((router, endpoints))
        })?;
        Ok(HubApi {
            runtime,
            router,
            endpoints,
            data_dir,
        })
    }

    /// Sends `body` to the operation `selector` picks; panics on a 5xx or an error that is
    /// not JSON.
    pub fn send(&self, selector: u8, body: &[u8]) {
        let endpoint = &self.endpoints[usize::from(selector) % self.endpoints.len()];
        let (status, answer) = self.runtime.block_on(call(
            &self.router,
            &endpoint.method,
            &endpoint.path,
            &endpoint.bearer,
            body.to_vec(),
        ));
        let shown = String::from_utf8_lossy(body);
        assert!(
            !status.is_server_error(),
            "{} {} with {shown:?}: {status} {}",
            endpoint.method,
            endpoint.path,
            String::from_utf8_lossy(&answer)
        );
        if status.is_client_error() {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&answer).is_ok(),
                "{} {} with {shown:?}: {status} with a body that is not JSON",
                endpoint.method,
                endpoint.path
            );
        }
    }

    /// How many operations are fuzzed.
    pub fn endpoint_count(&self) -> usize {
        self.endpoints.len()
    }
}

impl Drop for HubApi {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Logs the owner in, and gives the organization a repository and a team for the path
/// parameters to name; returns the owner's bearer token.
async fn fixture(router: &Router) -> anyhow::Result<String> {
    let login = serde_json::json!({"username": OWNER, "password": PASSWORD}).to_string();
    let (status, answer) = call(router, &Method::POST, "/v2/users/login", "", login.into_bytes()).await;
    anyhow::ensure!(status == StatusCode::OK, "login: {status}");
    let token = serde_json::from_slice::<serde_json::Value>(&answer)?["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let repository = serde_json::json!({"name": REPOSITORY, "namespace": ORG}).to_string();
    let path = format!("/v2/namespaces/{ORG}/repositories");
    let (status, _) = call(router, &Method::POST, &path, &token, repository.into_bytes()).await;
    anyhow::ensure!(status.is_success(), "create repository: {status}");
    let team = serde_json::json!({"name": TEAM}).to_string();
    let path = format!("/v2/orgs/{ORG}/groups");
    let (status, _) = call(router, &Method::POST, &path, &token, team.into_bytes()).await;
    anyhow::ensure!(status.is_success(), "create team: {status}");
    Ok(token)
}

/// Every operation of `doc` with a request body, its path parameters naming the fixture.
fn endpoints(doc: &utoipa::openapi::OpenApi, bearer: &str, scim_token: &str) -> Vec<Endpoint> {
    let mut endpoints = Vec::new();
    for (template, item) in &doc.paths.paths {
        let operations = [
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ];
        for (method, operation) in operations {
            if operation.as_ref().is_some_and(|op| op.request_body.is_some()) {
                let scim = template.starts_with("/v2/scim/");
                endpoints.push(Endpoint {
                    method,
                    path: fill_parameters(template),
                    bearer: if scim { scim_token } else { bearer }.to_string(),
                });
            }
        }
    }
    endpoints
}

/// A path template with each `{parameter}` replaced by the fixture's value for it.
fn fill_parameters(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        path.push_str(&rest[..open]);
        path.push_str(match &rest[open + 1..open + close] {
            "namespace" | "org_name" | "org" => ORG,
            "repository" => REPOSITORY,
            "username" => OWNER,
            "group_name" | "team_name" => TEAM,
            "tag" => "latest",
            _ => "00000000-0000-0000-0000-000000000000",
        });
        rest = &rest[open + close + 1..];
    }
    path.push_str(rest);
    path
}

async fn call(
    router: &Router,
    method: &Method,
    path: &str,
    bearer: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if !bearer.is_empty() {
        request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    let request = match request.body(Body::from(body)) {
        Ok(request) => request,
        Err(e) => panic!("{method} {path}: cannot build the request: {e}"),
    };
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let answer = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map(|bytes| bytes.to_vec())
        .unwrap_or_default();
    (status, answer)
}
