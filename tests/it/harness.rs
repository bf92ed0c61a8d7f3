//! Test harness: starts the real `wharf` binary on a random port against a fresh store
//! (SQLite in a temporary data directory, or a new PostgreSQL database), and talks HTTP to
//! it. Tests are written once, `async fn name(backend: Backend)`, and instantiated for both
//! backends with [`both_backends!`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::spec_schema;

pub const BIN: &str = env!("CARGO_BIN_EXE_wharf");
pub const PASSWORD: &str = "correct-horse-battery";

/// Paging queries that every paged list refuses with 400: the Hub API parses `page` and
/// `page_size` in one place, so they are the same for every list.
pub const INVALID_PAGING: [&str; 10] = [
    "?page=0",
    "?page=x",
    "?page=-1",
    "?page=1.5",
    "?page=",
    "?page_size=0",
    "?page_size=101",
    "?page_size=x",
    "?page_size=ten",
    "?page_size=-10",
];

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

    /// Starts a server with the user `username`; returns it and a password session of theirs.
    pub async fn start_as(backend: &Backend, username: &str) -> (Server, String) {
        let server = Server::start(backend).await;
        let session = server.user_with_token(username).await;
        (server, session)
    }

    /// Starts with extra `serve` flags and environment variables.
    pub async fn start_with(backend: &Backend, args: &[&str], env: &[(&str, &str)]) -> Server {
        let db = TestDatabase::create(backend).await;
        let data_dir = std::env::temp_dir().join(format!("wharf-it-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&data_dir).expect("create data dir");
        Server::launch(db, data_dir, true, args, env).await
    }

    /// Starts on PostgreSQL with the database URL passed through `route` first (to reach
    /// the database through a proxy, say). `None` on SQLite.
    pub async fn start_routed(
        backend: &Backend,
        route: impl FnOnce(&str) -> String,
        args: &[&str],
    ) -> Option<Server> {
        let mut db = TestDatabase::create(backend).await;
        let url = db.url.take()?;
        db.url = Some(route(&url));
        let data_dir = std::env::temp_dir().join(format!("wharf-it-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&data_dir).expect("create data dir");
        Some(Server::launch(db, data_dir, true, args, &[]).await)
    }

    /// Another instance on this server's store (as behind a load balancer, or after a
    /// restart). It leaves the store in place when dropped.
    pub async fn another_instance(&self) -> Server {
        self.another_instance_with(&[], &[]).await
    }

    /// [`Server::another_instance`] with extra `serve` flags and environment variables (the
    /// same storage flags as this one's, say).
    pub async fn another_instance_with(&self, args: &[&str], env: &[(&str, &str)]) -> Server {
        let db = TestDatabase {
            url: self.db.url.clone(),
            admin_url: None,
            name: self.db.name.clone(),
        };
        Server::launch(db, self.data_dir.clone(), false, args, env).await
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

    /// The process id of `wharf serve`, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
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

    /// `wharf fsck --verify-digests` on this server's store, which must find it consistent.
    pub async fn assert_fsck_clean(&self) {
        let out = Command::new(BIN)
            .arg("fsck")
            .arg("--verify-digests")
            .args(self.store_args())
            .env_remove("WHARF_DATABASE_URL")
            .output()
            .await
            .expect("run wharf fsck");
        assert_eq!(
            out.status.code(),
            Some(0),
            "fsck: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
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
        let url = self.url(path);
        spec_schema::record(&method, &url);
        self.client.request(method, url)
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
        let mut req = self.request(method.clone(), path);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        spec_schema::checked(res, &method).await
    }

    /// `method path` with `text` as its JSON body, sent as given: it need not be JSON at all.
    pub fn raw(&self, method: Method, path: &str, token: &str, text: &str) -> RequestBuilder {
        self.request(method, path)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(text.to_string())
    }

    /// A request with a body that is not JSON at all (see [`Server::raw`]), which must be
    /// refused with `expected`, in the Hub error format.
    pub async fn refused_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        text: &str,
        expected: StatusCode,
    ) {
        let what = format!("{method} {path} {text}");
        let res = self.raw(method, path, token, text).send().await.expect("request");
        let (status, answer) = json(res).await;
        assert_eq!(status, expected, "{what}: {answer}");
        assert_hub_error(status, &answer, expected);
    }

    /// `GET url`, an absolute URL such as a page's links give, as the holder of `token`:
    /// the status and the JSON body.
    pub async fn follow(&self, url: &str, token: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        json(spec_schema::checked(res, &Method::GET).await).await
    }

    /// `method path` with an optional bearer token and JSON body: the status and the JSON
    /// body of the answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        json(self.send(method, path, token, body).await).await
    }

    /// A request that must answer `expected`; returns the body of the answer.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let what = describe(&method, path, body.as_ref());
        let (status, answer) = self.call(method, path, token, body).await;
        assert_eq!(status, expected, "{what}: {answer}");
        answer
    }

    /// A request that must be refused with `expected`, in the Hub error format.
    pub async fn refused(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expected: StatusCode,
    ) {
        let answer = self.expect(method, path, token, body, expected).await;
        assert_hub_error(expected, &answer, expected);
    }

    /// [`Server::refused`] for each of `callers`: a token (none: anonymous) and the status
    /// that caller must be refused with.
    pub async fn refused_to(
        &self,
        callers: &[(Option<&str>, StatusCode)],
        method: Method,
        path: &str,
        body: Option<Value>,
    ) {
        for (index, (token, expected)) in callers.iter().enumerate() {
            // Which caller it was, as tokens say little in a failure message.
            let what = format!("{} as caller {index}", describe(&method, path, body.as_ref()));
            let (status, answer) = self.call(method.clone(), path, *token, body.clone()).await;
            assert_eq!(status, *expected, "{what}: {answer}");
            assert_hub_error(status, &answer, *expected);
        }
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
        let body = serde_json::json!({"token_label": label, "scopes": scopes});
        self.expect(
            Method::POST,
            "/v2/access-tokens",
            Some(session),
            Some(body),
            StatusCode::CREATED,
        )
        .await
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
        let path = format!("/v2/orgs/{org}/access-tokens");
        let body = serde_json::json!({"label": "test token", "resources": resources});
        self.expect(
            Method::POST,
            &path,
            Some(owner_session),
            Some(body),
            StatusCode::CREATED,
        )
        .await
    }

    /// A session opened with a new PAT of `username` (whose password session is `session`),
    /// labelled `label`, with `scopes`; and the created token.
    pub async fn pat_session(
        &self,
        username: &str,
        session: &str,
        label: &str,
        scopes: &[&str],
    ) -> (String, Value) {
        let pat = self.create_pat(session, label, scopes).await;
        let secret = pat["token"].as_str().expect("PAT secret");
        (self.token(username, secret).await, pat)
    }

    /// A session of `org` opened with a new organization access token with `resources`
    /// (see [`Server::create_oat`]); and the created token.
    pub async fn oat_session(&self, owner_session: &str, org: &str, resources: Value) -> (String, Value) {
        let oat = self.create_oat(owner_session, org, resources).await;
        let secret = oat["token"].as_str().expect("OAT secret");
        (self.org_token(org, secret).await, oat)
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

    /// The newest audit events of `account` whose action starts with `family`.
    async fn audit_family(&self, account: &str, family: &str) -> Vec<wharf::store::AuditRow> {
        let mut events = self.audit_events(account).await;
        events.retain(|e| e.action.starts_with(family));
        events
    }

    /// Runs `change` and checks that it recorded exactly one event of `account` among
    /// those whose action starts with `family`: `action`, by `actor` with a password
    /// session (so no token label). Returns what `change` returned, and the event.
    pub async fn audited_once<T>(
        &self,
        account: &str,
        family: &str,
        action: &str,
        actor: &str,
        change: impl std::future::Future<Output = T>,
    ) -> (T, wharf::store::AuditRow) {
        let before = self.audit_family(account, family).await.len();
        let outcome = change.await;
        let events = self.audit_family(account, family).await;
        assert_eq!(
            events.len(),
            before + 1,
            "{action} should record exactly one event: {events:#?}"
        );
        let event = events.into_iter().next().expect("the new event");
        assert_eq!(event.action, action, "{event:#?}");
        assert_eq!(
            (event.account.as_str(), event.actor.as_str()),
            (account, actor),
            "{event:#?}"
        );
        assert_eq!(
            event.credential, None,
            "a password session has no token label: {event:#?}"
        );
        (outcome, event)
    }

    /// Asserts what an account (a user or an organization) named `name` shows of itself
    /// wherever it is listed: its id (a UUID without dashes), its profile page, the text
    /// fields of its profile, and when it joined.
    pub fn assert_account_fields(&self, item: &Value, name: &str) {
        let id = item["id"].as_str().unwrap_or_else(|| panic!("no id in {item}"));
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "id is a UUID without dashes: {id}"
        );
        assert_eq!(item["profile_url"], self.url(&format!("/u/{name}")), "{item}");
        for field in [
            "full_name",
            "company",
            "location",
            "gravatar_email",
            "gravatar_url",
        ] {
            assert!(item[field].is_string(), "{field} of {item}");
        }
        assert_utc_time(&item["date_joined"]);
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

/// Status and JSON body of a response (`Value::Null` for an empty body). With
/// `WHARF_HUB_SPEC` set, the body is checked against the official spec (see [`spec_schema`]).
pub async fn json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let sent = spec_schema::Sent::of(&res);
    let text = res.text().await.expect("body");
    if text.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    sent.check(status, &body);
    (status, body)
}

/// Callers refused something that needs a right they lack: each of `tokens` forbidden
/// (403), and an anonymous caller unauthorized (401).
pub fn forbidden_and_anonymous<'a>(tokens: &[&'a str]) -> Vec<(Option<&'a str>, StatusCode)> {
    let mut callers: Vec<_> = tokens
        .iter()
        .map(|token| (Some(*token), StatusCode::FORBIDDEN))
        .collect();
    callers.push((None, StatusCode::UNAUTHORIZED));
    callers
}

/// The field names of a JSON object.
pub fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// A timestamp of the API, which must be RFC 3339.
pub fn parse_time(text: &Value) -> OffsetDateTime {
    let text = text.as_str().unwrap_or_else(|| panic!("not a timestamp: {text}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
}

/// Asserts that `value` is a timestamp as the API writes them: RFC 3339, in UTC.
pub fn assert_utc_time(value: &Value) {
    parse_time(value);
    assert!(
        value.as_str().is_some_and(|text| text.ends_with('Z')),
        "not UTC: {value}"
    );
}

/// `at` as the API takes timestamps: RFC 3339.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("format RFC 3339")
}

/// `METHOD PATH BODY` of a request, for failure messages.
fn describe(method: &Method, path: &str, body: Option<&Value>) -> String {
    match body {
        Some(body) => format!("{method} {path} {body}"),
        None => format!("{method} {path}"),
    }
}

/// The `data` of an audit event, which the store keeps as JSON text.
pub fn audit_data(event: &wharf::store::AuditRow) -> Value {
    serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("audit data not JSON ({e}): {}", event.data))
}

/// Asserts that the `data` of an access token's audit event names token `id` and its
/// `label`.
pub fn assert_names_token(data: &Value, id: &str, label: &str) {
    assert_eq!(data["token_id"], id, "{data}");
    assert_eq!(data["token_label"], label, "{data}");
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
