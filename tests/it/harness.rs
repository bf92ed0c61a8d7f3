//! Test harness: starts the real `wharf` binary on a random port against a fresh store
//! (SQLite in a temporary data directory, or a new PostgreSQL database), and talks HTTP to
//! it. Tests are written once, `async fn name(backend: Backend)`, and instantiated for both
//! backends with [`both_backends!`].

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_wharf");
pub const PASSWORD: &str = "correct-horse-battery";

/// Which metadata database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server URL of a PostgreSQL cluster; each test creates its own database in it.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL from `WHARF_TEST_DATABASE_URL`, or `None` (the test is skipped, loudly)
    /// when it is not set. When it is set, the tests must reach it or fail.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("WHARF_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!("SKIPPED: set WHARF_TEST_DATABASE_URL to run the PostgreSQL tests");
                None
            }
        }
    }
}

/// A database of its own for one test, dropped afterwards.
pub struct TestDatabase {
    pub url: Option<String>,
    admin_url: Option<String>,
    name: String,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> TestDatabase {
        let name = format!("wharf_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => TestDatabase {
                url: None,
                admin_url: None,
                name,
            },
            Backend::Postgres(server) => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(server)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {server}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(server).expect("WHARF_TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                TestDatabase {
                    url: Some(url.to_string()),
                    admin_url: Some(server.clone()),
                    name,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (Some(admin), name) = (self.admin_url.clone(), self.name.clone()) else {
            return;
        };
        // Drop may run inside a runtime; do the async clean-up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// A running `wharf serve`.
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// Whether dropping this server removes its data directory.
    owns_store: bool,
    pub db: TestDatabase,
    pub log: Arc<Mutex<Vec<String>>>,
    pub client: Client,
}

impl Server {
    pub async fn start(backend: &Backend) -> Server {
        Server::start_with(backend, &[], &[]).await
    }

    /// Starts with extra `serve` flags and environment variables.
    pub async fn start_with(backend: &Backend, args: &[&str], env: &[(&str, &str)]) -> Server {
        let db = TestDatabase::create(backend).await;
        let data_dir = std::env::temp_dir().join(format!("wharf-it-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&data_dir).expect("create data dir");
        Server::launch(db, data_dir, true, args, env).await
    }

    /// Another instance on this server's store (as behind a load balancer, or after a
    /// restart). It leaves the store in place when dropped.
    pub async fn another_instance(&self) -> Server {
        let db = TestDatabase {
            url: self.db.url.clone(),
            admin_url: None,
            name: self.db.name.clone(),
        };
        Server::launch(db, self.data_dir.clone(), false, &[], &[]).await
    }

    async fn launch(
        db: TestDatabase,
        data_dir: PathBuf,
        owns_store: bool,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(args)
            .env_remove("WHARF_DATABASE_URL")
            .env("WHARF_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(url) = &db.url {
            cmd.arg("--database-url").arg(url);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn wharf serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                // Text or JSON logs: the address is the run of address characters.
                let addr: Option<String> = line.split("wharf listening on ").nth(1).map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
                        .collect()
                });
                // Keep the line before announcing the start, so a test sees it in the log.
                sink.lock().unwrap().push(line);
                if let Some(addr) = addr {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(addr)) => addr.parse::<std::net::SocketAddr>().expect("listening address"),
            _ => panic!(
                "wharf serve did not start; log:\n{}",
                log.lock().unwrap().join("\n")
            ),
        };
        Server {
            child,
            base: format!("http://{addr}"),

            data_dir,
            owns_store,
            db,
            log,
            client: Client::builder().build().expect("http client"),
        }
    }

    /// The `--database-url`/`--data-dir` flags that point `wharf admin` at this store.
    pub fn store_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_string(), self.data_dir.display().to_string()];
        if let Some(url) = &self.db.url {
            args.push("--database-url".into());
            args.push(url.clone());
        }
        args
    }

    /// The database URL of this store, as the server resolved it.
    pub fn database_url(&self) -> String {
        match &self.db.url {
            Some(url) => url.clone(),
            None => wharf::store::Store::sqlite_url_in(&self.data_dir),
        }
    }

    /// Runs `wharf admin ARGS` on this server's store, with `stdin` as input.
    pub async fn admin(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("admin")
            .args(args)
            .args(self.store_args())
            .env_remove("WHARF_DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn wharf admin");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).await.expect("write stdin");
        }
        drop(input);
        child.wait_with_output().await.expect("wharf admin output")
    }

    /// Creates a user with [`PASSWORD`] through `wharf admin`.
    pub async fn create_user(&self, name: &str) {
        let out = self
            .admin(
                &[
                    "user",
                    "create",
                    name,
                    "--email",
                    &format!("{name}@example.com"),
                    "--password-stdin",
                ],
                Some(&format!("{PASSWORD}\n")),
            )
            .await;
        assert!(
            out.status.success(),
            "admin user create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.request(method, path);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request")
    }

    /// A session token for `username` with `secret` from `/v2/auth/token`.
    pub async fn token(&self, username: &str, secret: &str) -> String {
        let res = self
            .post(
                "/v2/auth/token",
                None,
                serde_json::json!({"identifier": username, "secret": secret}),
            )
            .await;
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::OK, "token exchange failed: {body}");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    /// Creates a user and returns a password session token for them.
    pub async fn user_with_token(&self, name: &str) -> String {
        self.create_user(name).await;
        self.token(name, PASSWORD).await
    }

    /// Creates a PAT with `scopes` and returns its secret.
    pub async fn create_pat(&self, session: &str, label: &str, scopes: &[&str]) -> Value {
        let res = self
            .post(
                "/v2/access-tokens",
                Some(session),
                serde_json::json!({"token_label": label, "scopes": scopes}),
            )
            .await;
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::CREATED, "create PAT failed: {body}");
        body
    }

    /// Runs `wharf admin …` and asserts that it succeeded.
    pub async fn admin_ok(&self, args: &[&str]) {
        let out = self.admin(args, None).await;
        assert!(
            out.status.success(),
            "wharf admin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Creates organization `org` owned by the existing user `owner`, through `wharf admin`.
    pub async fn create_org(&self, org: &str, owner: &str) {
        self.admin_ok(&["org", "create", org, "--owner", owner]).await;
    }

    /// Makes the existing user `user` a member of `org` with `role`, through `wharf admin`.
    pub async fn add_org_member(&self, org: &str, user: &str, role: &str) {
        self.admin_ok(&["org", "add-member", org, user, "--role", role])
            .await;
    }

    /// Creates an organization access token of `org` with `resources` (a JSON array), as
    /// the owner with session `owner_session`; returns the created token's body (its
    /// secret is `["token"]`).
    pub async fn create_oat(&self, owner_session: &str, org: &str, resources: Value) -> Value {
        let res = self
            .post(
                &format!("/v2/orgs/{org}/access-tokens"),
                Some(owner_session),
                serde_json::json!({"label": "test token", "resources": resources}),
            )
            .await;
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::CREATED, "create OAT failed: {body}");
        body
    }

    /// A session token for organization `org` from its access token `secret`.
    pub async fn org_token(&self, org: &str, secret: &str) -> String {
        self.token(org, secret).await
    }

    /// The newest audit events of `account`, as the store holds them.
    pub async fn audit_events(&self, account: &str) -> Vec<wharf::store::AuditRow> {
        let store = wharf::store::Store::connect(&self.database_url())
            .await
            .expect("open store");
        let events = store.recent_audit(account, 100).await.expect("audit events");
        store.close().await;
        events
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("server still running");
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server did not stop within 30 s of SIGTERM")
            .expect("wait for server")
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if self.owns_store {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// Status and JSON body of a response (`Value::Null` for an empty body).
pub async fn json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    if text.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, body)
}

/// Asserts a Hub API error: `status`, and the official body `{"message", "errinfo": null}`.
pub fn assert_hub_error(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "body: {body}");
    assert!(body["message"].is_string(), "no message in {body}");
    assert!(body["errinfo"].is_null(), "errinfo not null in {body}");
    assert_eq!(
        body["detail"], body["message"],
        "detail differs from message in {body}"
    );
}

/// Asserts a login error: `status` and `{"detail": …}`.
pub fn assert_login_error(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "body: {body}");
    assert!(body["detail"].is_string(), "no detail in {body}");
}

/// Instantiates each `async fn NAME(backend: Backend)` of the calling module as a SQLite
/// test and a PostgreSQL test.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::harness::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}
