//! Every change is in the audit log, and nothing else is.
//!
//! One script drives every state-changing operation Wharf has: each Hub API write that
//! `/openapi.json` documents, each registry write the registry dispatches, and each
//! `wharf admin` command. Every step names the operation it drives and the events it must
//! leave, field for field (account, action, name, actor, token label, data), and the
//! store must then hold exactly those new events, in that order. Between the changes,
//! every documented read and the registry's reads run and must record nothing.
//!
//! At the end the operations driven are compared with the operations Wharf has: a new
//! endpoint, registry operation or admin command without a step here fails the test, so
//! that none can ship without deciding what it records.

use std::collections::BTreeSet;

use clap::CommandFactory;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

use crate::harness::{audit_data, json, Backend, Server, PASSWORD};
use crate::oci::{
    blob_path, config_blob, descriptor, header, manifest, manifest_path, random_bytes, sha256, tags_path,
    uploads_path, with_digest, Registry, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST,
};

/// The organization most steps change.
const ORG: &str = "acme";
/// The organization its owner creates through the API.
const NEW_ORG: &str = "globex";
/// The owner of [`ORG`].
const OWNER: &str = "alice";
/// A member of [`ORG`] from `wharf admin`.
const MEMBER: &str = "bobby";
/// A user who accepts an invite.
const INVITEE: &str = "carol";
/// A user with 2FA, who declines an invite.
const DECLINER: &str = "dave";
/// The team of [`ORG`].
const TEAM: &str = "devs";
/// The repository pushed to and read.
const REPO: &str = "web";
/// Its first tag.
const TAG: &str = "v1";
/// The actor of `wharf admin`.
const ADMIN_CLI: &str = "wharf-admin";
/// The user SCIM provisions.
const PROVISIONED: &str = "erin";
/// The actor and token label of provisioning.
const SCIM_ACTOR: &str = "scim-provisioning";
const SCIM_LABEL: &str = "SCIM token";
/// A data value whose presence is checked but not its value: ids Wharf makes up.
const ANY: &str = "*";

/// An event a step must record.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    account: String,
    action: &'static str,
    name: String,
    actor: String,
    token_label: Option<String>,
    data: Vec<(String, String)>,
}

/// `action` in the log of `account` about `name`, by the owner with a password session
/// and no data, until the builders below say otherwise.
fn event(account: &str, action: &'static str, name: &str) -> Expected {
    Expected {
        account: account.into(),
        action,
        name: name.into(),
        actor: OWNER.into(),
        token_label: None,
        data: Vec::new(),
    }
}

impl Expected {
    fn by(mut self, actor: &str) -> Expected {
        self.actor = actor.into();
        self
    }

    /// Made with the access token labelled `label`; the data names it too.
    fn with_token(mut self, label: &str) -> Expected {
        self.token_label = Some(label.into());
        self.data.push(("token_label".into(), label.into()));
        self
    }

    fn data(mut self, pairs: &[(&str, &str)]) -> Expected {
        self.data
            .extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Whether the stored `row` is this event.
    fn matches(&self, row: &Stored) -> bool {
        let data_matches = self.data.len() == row.data.len()
            && self.data.iter().all(|(key, value)| {
                row.data
                    .iter()
                    .any(|(k, v)| k == key && (value == ANY || v == value))
            });
        row.account == self.account
            && row.action == self.action
            && row.name == self.name
            && row.actor == self.actor
            && row.credential == self.token_label
            && data_matches
    }
}

/// An event as the store holds it.
#[derive(Debug)]
struct Stored {
    account: String,
    action: String,
    name: String,
    actor: String,
    credential: Option<String>,
    data: Vec<(String, String)>,
}

/// The script's view of the store's audit events: those recorded since the last look.
struct Log {
    pool: sqlx::AnyPool,
    seen: i64,
}

impl Log {
    async fn open(server: &Server) -> Log {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&server.database_url())
            .await
            .expect("open the store");
        let mut log = Log { pool, seen: 0 };
        log.recorded().await;
        log
    }

    /// Every event recorded, in any account, since the last call; oldest first.
    async fn recorded(&mut self) -> Vec<Stored> {
        let rows = sqlx::query(
            "SELECT id, account, action, name, actor, credential, data FROM audit_events \
             WHERE id > $1 ORDER BY id",
        )
        .bind(self.seen)
        .fetch_all(&self.pool)
        .await
        .expect("read audit events");
        let mut events = Vec::new();
        for row in rows {
            self.seen = row.get::<i64, _>("id");
            let text: String = row.get("data");
            let data = audit_data(&wharf::store::AuditRow {
                account: String::new(),
                action: String::new(),
                name: String::new(),
                actor: String::new(),
                credential: None,
                data: text,
                created_at: 0,
            });
            let data = data
                .as_object()
                .expect("event data is an object")
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().expect("data values are strings").to_string(),
                    )
                })
                .collect();
            events.push(Stored {
                account: row.get("account"),
                action: row.get("action"),
                name: row.get("name"),
                actor: row.get("actor"),
                credential: row.get("credential"),
                data,
            });
        }
        events
    }
}

/// Drives operations and checks what each recorded.
struct Script<'a> {
    server: &'a Server,
    log: Log,
    /// The operations driven: `METHOD /path/{template}` for the Hub API, `registry METHOD
    /// Endpoint`, `admin group command`.
    driven: BTreeSet<String>,
}

impl<'a> Script<'a> {
    /// Checks that the events recorded since the last check are exactly `expected`.
    async fn recorded(&mut self, op: &str, expected: &[Expected]) {
        let stored = self.log.recorded().await;
        let same = stored.len() == expected.len() && expected.iter().zip(&stored).all(|(e, s)| e.matches(s));
        assert!(
            same,
            "{op} must record exactly\n{expected:#?}\nbut the store holds\n{stored:#?}"
        );
    }

    /// A Hub API request for the documented operation `op`, which must answer `status`;
    /// returns the body (`null` if empty).
    #[allow(clippy::too_many_arguments)]
    async fn hub(
        &mut self,
        op: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: StatusCode,
        expected: &[Expected],
    ) -> Value {
        let res = self.server.send(method, path, token, body).await;
        let (got, answer) = json(res).await;
        assert_eq!(got, status, "{op} ({path}): {answer}");
        self.recorded(op, expected).await;
        self.driven.insert(op.to_string());
        answer
    }

    /// `wharf admin ARGS` with `stdin`, which must succeed; returns its standard output.
    async fn admin(&mut self, args: &[&str], stdin: Option<&str>, expected: &[Expected]) -> String {
        let out = self.server.admin(args, stdin).await;
        let op = format!("admin {}", leaf_command(args));
        assert!(
            out.status.success(),
            "{op}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.recorded(&op, expected).await;
        self.driven.insert(op);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `wharf admin ARGS`, which must fail and record nothing.
    async fn admin_refused(&mut self, args: &[&str]) {
        let out = self.server.admin(args, None).await;
        let op = format!("admin {}", leaf_command(args));
        assert!(!out.status.success(), "{op} should fail here");
        self.recorded(&op, &[]).await;
        self.driven.insert(op);
    }

    /// A registry request for `op` (`registry METHOD Endpoint`) that must answer `status`.
    async fn registry(
        &mut self,
        op: &str,
        request: reqwest::RequestBuilder,
        status: StatusCode,
        expected: &[Expected],
    ) -> reqwest::Response {
        let res = request.send().await.expect("request");
        assert_eq!(res.status(), status, "{op}: {:?}", res.headers());
        self.recorded(op, expected).await;
        self.driven.insert(op.to_string());
        res
    }

    /// A read that must succeed and record nothing.
    async fn read(&mut self, op: &str, request: reqwest::RequestBuilder) {
        let res = request.send().await.expect("request");
        let status = res.status();
        assert!(
            status.is_success(),
            "{op}: {status} {}",
            res.text().await.unwrap_or_default()
        );
        self.recorded(op, &[]).await;
        self.driven.insert(op.to_string());
    }
}

/// The admin command of `args` without its arguments: `user create`, `user 2fa enable`.
fn leaf_command(args: &[&str]) -> String {
    let commands = admin_commands();
    let words: Vec<&str> = args.iter().take_while(|a| !a.starts_with('-')).copied().collect();
    (1..=words.len())
        .rev()
        .map(|n| words[..n].join(" "))
        .find(|command| commands.contains(&format!("admin {command}")))
        .unwrap_or_else(|| panic!("not an admin command: {words:?}"))
}

/// Every `wharf admin` command, as [`leaf_command`] names it.
fn admin_commands() -> BTreeSet<String> {
    fn leaves(cmd: &clap::Command, prefix: &str, out: &mut BTreeSet<String>) {
        for sub in cmd.get_subcommands() {
            let name = format!("{prefix}{}", sub.get_name());
            if sub.get_subcommands().next().is_some() {
                leaves(sub, &format!("{name} "), out);
            } else {
                out.insert(format!("admin {name}"));
            }
        }
    }
    let cli = wharf::config::Cli::command();
    let admin = cli.find_subcommand("admin").expect("an admin command");
    let mut out = BTreeSet::new();
    leaves(admin, "", &mut out);
    out.remove("admin help");
    out
}

/// Every operation the registry dispatches, as `registry METHOD Endpoint`, read from its
/// dispatch table; `(writes, reads)`.
fn registry_operations() -> (BTreeSet<String>, BTreeSet<String>) {
    let source = include_str!("../../src/http/registry/mod.rs");
    let arm = regex::Regex::new(r"\(Endpoint::(\w+)(?:\([^)]*\))?, Method::(\w+)\)").expect("regex");
    let (mut writes, mut reads) = (BTreeSet::new(), BTreeSet::new());
    for caps in arm.captures_iter(source) {
        let op = format!("registry {} {}", &caps[2], &caps[1]);
        if matches!(&caps[2], "GET" | "HEAD") {
            reads.insert(op);
        } else {
            writes.insert(op);
        }
    }
    assert!(
        writes.len() >= 6,
        "the registry dispatch table was not found: {writes:?}"
    );
    (writes, reads)
}

/// Every documented Hub operation, as `METHOD /path`; `(writes, reads)`.
async fn documented_operations(server: &Server) -> (BTreeSet<String>, BTreeSet<String>) {
    let (status, doc) = json(server.send(Method::GET, "/openapi.json", None, None).await).await;
    assert_eq!(status, StatusCode::OK);
    let (mut writes, mut reads) = (BTreeSet::new(), BTreeSet::new());
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let op = format!("{} {path}", method.to_uppercase());
            match method.as_str() {
                "get" | "head" => reads.insert(op),
                _ => writes.insert(op),
            };
        }
    }
    (writes, reads)
}

/// A documented path with its parameters filled in from `values`.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut path = template.to_string();
    for (name, value) in values {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    assert!(!path.contains('{'), "no value for a parameter of {template}");
    path
}

/// The TOTP secret in an `otpauth://` URI.
fn totp_secret(uri: &str) -> String {
    let query = uri.split_once("secret=").expect("a secret in the URI").1;
    query.split('&').next().unwrap_or_default().trim().to_string()
}

async fn records_every_change_and_nothing_else(backend: Backend) {
    use Method as M;
    use StatusCode as S;
    let backend_is_sqlite = matches!(backend, Backend::Sqlite);
    let server = Server::start(&backend).await;
    let mut s = Script {
        server: &server,
        log: Log::open(&server).await,
        driven: BTreeSet::new(),
    };
    let password = format!("{PASSWORD}\n");

    // ---- wharf admin ---------------------------------------------------------------
    for user in [OWNER, MEMBER, INVITEE, DECLINER] {
        let email = format!("{user}@example.com");
        let args = ["user", "create", user, "--email", &email, "--password-stdin"];
        let created = event(user, "account.create", user).by(ADMIN_CLI);
        s.admin(&args, Some(&password), &[created]).await;
    }
    let args = ["user", "set-password", OWNER, "--password-stdin"];
    let changed = event(OWNER, "account.password.change", OWNER).by(ADMIN_CLI);
    s.admin(&args, Some(&password), &[changed]).await;
    let two_factor = |action, user: &str| event(user, action, user).by(ADMIN_CLI);
    let enabled = two_factor("account.2fa.enable", MEMBER);
    s.admin(&["user", "2fa", "enable", MEMBER], None, &[enabled])
        .await;
    let disabled = two_factor("account.2fa.disable", MEMBER);
    s.admin(&["user", "2fa", "disable", MEMBER], None, &[disabled])
        .await;
    // The decliner keeps 2FA, for the second-factor login below.
    let enabled = two_factor("account.2fa.enable", DECLINER);
    let uri = s
        .admin(&["user", "2fa", "enable", DECLINER], None, &[enabled])
        .await;
    let secret = totp_secret(&uri);
    let owner_added = |org: &str, actor: &str| {
        event(org, "org.member.add", OWNER)
            .by(actor)
            .data(&[("role", "owner")])
    };
    let args = ["org", "create", ORG, "--owner", OWNER];
    let org_created = event(ORG, "org.create", ORG).by(ADMIN_CLI);
    s.admin(&args, None, &[owner_added(ORG, ADMIN_CLI), org_created])
        .await;
    let args = ["org", "add-member", ORG, MEMBER, "--role", "member"];
    let member_added = event(ORG, "org.member.add", MEMBER)
        .by(ADMIN_CLI)
        .data(&[("role", "member")]);
    s.admin(&args, None, &[member_added]).await;

    // A backup (SQLite; PostgreSQL is backed up with pg_dump, and the command says so)
    // records nothing.
    let backup = server.data_dir.join("backup.db");
    let backup = backup.to_str().expect("a UTF-8 path");
    match backend_is_sqlite {
        true => {
            s.admin(&["backup", backup], None, &[]).await;
        }
        false => s.admin_refused(&["backup", backup]).await,
    }

    // ---- Signing in changes nothing that is recorded ----------------------------------
    let login = |user: &str| json!({"username": user, "password": PASSWORD});
    let op = "POST /v2/users/login";
    let owner = s
        .hub(
            op,
            M::POST,
            "/v2/users/login",
            None,
            Some(login(OWNER)),
            S::OK,
            &[],
        )
        .await;
    let owner = owner["token"].as_str().expect("token").to_string();
    let member = s
        .hub(
            op,
            M::POST,
            "/v2/users/login",
            None,
            Some(login(MEMBER)),
            S::OK,
            &[],
        )
        .await;
    let member = member["token"].as_str().expect("token").to_string();
    let invitee = s
        .hub(
            op,
            M::POST,
            "/v2/users/login",
            None,
            Some(login(INVITEE)),
            S::OK,
            &[],
        )
        .await;
    let invitee = invitee["token"].as_str().expect("token").to_string();
    let challenge = s
        .hub(
            op,
            M::POST,
            "/v2/users/login",
            None,
            Some(login(DECLINER)),
            S::UNAUTHORIZED,
            &[],
        )
        .await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let code = wharf::domain::totp::code_at(&secret, now).expect("a TOTP code");
    let body = json!({"login_2fa_token": challenge["login_2fa_token"], "code": code});
    let op = "POST /v2/users/2fa-login";
    let decliner = s
        .hub(op, M::POST, "/v2/users/2fa-login", None, Some(body), S::OK, &[])
        .await;
    let decliner = decliner["token"].as_str().expect("token").to_string();
    let body = json!({"identifier": OWNER, "secret": PASSWORD});
    s.hub(
        "POST /v2/auth/token",
        M::POST,
        "/v2/auth/token",
        None,
        Some(body),
        S::OK,
        &[],
    )
    .await;

    // ---- Organizations, settings, teams, members ---------------------------------------
    let op = "POST /v2/orgs";
    let org_created = event(NEW_ORG, "org.create", NEW_ORG);
    s.hub(
        op,
        M::POST,
        "/v2/orgs",
        Some(&owner),
        Some(json!({"orgname": NEW_ORG})),
        S::CREATED,
        &[owner_added(NEW_ORG, OWNER), org_created],
    )
    .await;
    let settings = format!("/v2/orgs/{ORG}/settings");
    let body = json!({"restricted_images": {
        "enabled": true, "allow_official_images": true, "allow_verified_publishers": false
    }});
    let updated = event(ORG, "org.settings.update", ORG).data(&[
        ("restricted_images.enabled", "true"),
        ("restricted_images.allow_official_images", "true"),
        ("restricted_images.allow_verified_publishers", "false"),
    ]);
    s.hub(
        "PUT /v2/orgs/{org_name}/settings",
        M::PUT,
        &settings,
        Some(&owner),
        Some(body),
        S::OK,
        &[updated],
    )
    .await;

    let groups = format!("/v2/orgs/{ORG}/groups");
    let team = |action| event(ORG, action, TEAM).data(&[("team", TEAM)]);
    let body = json!({"name": TEAM, "description": "developers"});
    let team_created = s
        .hub(
            "POST /v2/orgs/{org_name}/groups",
            M::POST,
            &groups,
            Some(&owner),
            Some(body),
            S::CREATED,
            &[team("org.team.create")],
        )
        .await;
    let team_id = id_text(&team_created["id"]);
    let path = format!("{groups}/{TEAM}");
    let body = json!({"name": TEAM, "description": "replaced"});
    s.hub(
        "PUT /v2/orgs/{org_name}/groups/{group_name}",
        M::PUT,
        &path,
        Some(&owner),
        Some(body),
        S::OK,
        &[team("org.team.update")],
    )
    .await;
    let body = json!({"description": "patched"});
    s.hub(
        "PATCH /v2/orgs/{org_name}/groups/{group_name}",
        M::PATCH,
        &path,
        Some(&owner),
        Some(body),
        S::OK,
        &[team("org.team.update")],
    )
    .await;
    let op = "POST /v2/orgs/{org_name}/groups/{group_name}/members";
    let joined = event(ORG, "org.team.member.add", MEMBER).data(&[("team", TEAM)]);
    let members = format!("{path}/members");
    s.hub(
        op,
        M::POST,
        &members,
        Some(&owner),
        Some(json!({"member": MEMBER})),
        S::OK,
        &[joined],
    )
    .await;
    let op = "DELETE /v2/orgs/{org_name}/groups/{group_name}/members/{username}";
    let left = event(ORG, "org.team.member.remove", MEMBER).data(&[("team", TEAM)]);
    s.hub(
        op,
        M::DELETE,
        &format!("{members}/{MEMBER}"),
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[left],
    )
    .await;
    let op = "PUT /v2/orgs/{org_name}/members/{username}";
    let role =
        event(ORG, "org.member.role.change", MEMBER).data(&[("old_role", "member"), ("role", "editor")]);
    let path = format!("/v2/orgs/{ORG}/members/{MEMBER}");
    s.hub(
        op,
        M::PUT,
        &path,
        Some(&owner),
        Some(json!({"role": "editor"})),
        S::OK,
        &[role],
    )
    .await;

    // ---- Invites ----------------------------------------------------------------------
    let invite = |invitee: &str, team: Option<&str>| {
        let mut body = json!({"org": ORG, "role": "member", "invitees": [invitee]});
        if let Some(team) = team {
            body["team"] = json!(team);
        }
        body
    };
    let sent = |invitee: &str| {
        event(ORG, "org.member.invite.send", invitee).data(&[("invite_id", ANY), ("role", "member")])
    };
    let op = "POST /v2/invites/bulk";
    let bulk = "/v2/invites/bulk";
    let answer = s
        .hub(
            op,
            M::POST,
            bulk,
            Some(&owner),
            Some(invite(INVITEE, Some(TEAM))),
            S::ACCEPTED,
            &[sent(INVITEE).data(&[("team", TEAM)])],
        )
        .await;
    let accepted_id = answer["invitees"][0]["invite"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let op = "PATCH /v2/invites/{id}/resend";
    let resent = sent(INVITEE).data(&[("resent", "true")]);
    let path = format!("/v2/invites/{accepted_id}/resend");
    s.hub(op, M::PATCH, &path, Some(&owner), None, S::NO_CONTENT, &[resent])
        .await;
    let op = "POST /v2/invites/{id}/accept";
    let path = format!("/v2/invites/{accepted_id}/accept");
    s.hub(
        op,
        M::POST,
        &path,
        Some(&invitee),
        None,
        S::NO_CONTENT,
        &[
            event(ORG, "org.team.member.add", INVITEE)
                .by(INVITEE)
                .data(&[("team", TEAM)]),
            event(ORG, "org.member.add", INVITEE)
                .by(INVITEE)
                .data(&[("role", "member"), ("invite_id", &accepted_id)]),
            event(ORG, "org.member.invite.accept", INVITEE)
                .by(INVITEE)
                .data(&[("invite_id", &accepted_id)]),
        ],
    )
    .await;
    let answer = s
        .hub(
            "POST /v2/invites/bulk",
            M::POST,
            bulk,
            Some(&owner),
            Some(invite(DECLINER, None)),
            S::ACCEPTED,
            &[sent(DECLINER)],
        )
        .await;
    let declined_id = answer["invitees"][0]["invite"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let op = "POST /v2/invites/{id}/decline";
    let path = format!("/v2/invites/{declined_id}/decline");
    let declined = event(ORG, "org.member.invite.decline", DECLINER)
        .by(DECLINER)
        .data(&[("invite_id", &declined_id)]);
    s.hub(
        op,
        M::POST,
        &path,
        Some(&decliner),
        None,
        S::NO_CONTENT,
        &[declined],
    )
    .await;
    let stranger = "stranger@example.com";
    let answer = s
        .hub(
            "POST /v2/invites/bulk",
            M::POST,
            bulk,
            Some(&owner),
            Some(invite(stranger, None)),
            S::ACCEPTED,
            &[sent(stranger)],
        )
        .await;
    let cancelled_id = answer["invitees"][0]["invite"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let cancelled = event(ORG, "org.member.invite.cancel", stranger).data(&[("invite_id", &cancelled_id)]);
    let path = format!("/v2/invites/{cancelled_id}");
    s.hub(
        "DELETE /v2/invites/{id}",
        M::DELETE,
        &path,
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[cancelled],
    )
    .await;

    // ---- Access tokens ------------------------------------------------------------------
    let body = json!({"token_label": "ci", "scopes": ["repo:admin"]});
    let pat_created = event(OWNER, "account.access_token.create", OWNER).data(&[
        ("token_id", ANY),
        ("token_label", "ci"),
        ("scopes", "repo:admin"),
    ]);
    let pat = s
        .hub(
            "POST /v2/access-tokens",
            M::POST,
            "/v2/access-tokens",
            Some(&owner),
            Some(body),
            S::CREATED,
            &[pat_created],
        )
        .await;
    let pat_id = pat["uuid"].as_str().expect("uuid").to_string();
    let pat_secret = pat["token"].as_str().expect("token").to_string();
    let pat_path = format!("/v2/access-tokens/{pat_id}");
    let renamed = event(OWNER, "account.access_token.update", OWNER)
        .data(&[("token_id", &pat_id), ("token_label", "ci-push")]);
    s.hub(
        "PATCH /v2/access-tokens/{uuid}",
        M::PATCH,
        &pat_path,
        Some(&owner),
        Some(json!({"token_label": "ci-push"})),
        S::OK,
        &[renamed],
    )
    .await;
    // A session opened with the PAT: its changes name the token.
    let pat_session = s
        .hub(
            "POST /v2/users/login",
            M::POST,
            "/v2/users/login",
            None,
            Some(json!({"username": OWNER, "password": pat_secret})),
            S::OK,
            &[],
        )
        .await;
    let pat_session = pat_session["token"].as_str().expect("token").to_string();

    let oats = format!("/v2/orgs/{ORG}/access-tokens");
    let resources =
        json!([{"type": "TYPE_REPO", "path": format!("{ORG}/*"), "scopes": ["scope-image-pull"]}]);
    let body = json!({"label": "deploy", "resources": resources});
    let oat_created =
        event(ORG, "org.access_token.create", ORG).data(&[("token_id", ANY), ("token_label", "deploy")]);
    let oat = s
        .hub(
            "POST /v2/orgs/{org_name}/access-tokens",
            M::POST,
            &oats,
            Some(&owner),
            Some(body),
            S::CREATED,
            &[oat_created],
        )
        .await;
    let oat_id = oat["id"].as_str().expect("id").to_string();
    let oat_path = format!("{oats}/{oat_id}");
    let deactivated = event(ORG, "org.access_token.update", ORG).data(&[
        ("token_id", &oat_id),
        ("token_label", "deploy"),
        ("is_active", "false"),
    ]);
    s.hub(
        "PATCH /v2/orgs/{org_name}/access-tokens/{access_token_id}",
        M::PATCH,
        &oat_path,
        Some(&owner),
        Some(json!({"is_active": false})),
        S::OK,
        &[deactivated],
    )
    .await;

    // ---- Repositories through the Hub API ------------------------------------------------
    let created = |name: &str, private: &str| {
        event(ORG, "repo.create", &format!("{ORG}/{name}")).data(&[("is_private", private)])
    };
    let body = json!({"name": "api", "namespace": ORG, "is_private": true});
    let path = format!("/v2/namespaces/{ORG}/repositories");
    s.hub(
        "POST /v2/namespaces/{namespace}/repositories",
        M::POST,
        &path,
        Some(&owner),
        Some(body),
        S::CREATED,
        &[created("api", "true")],
    )
    .await;
    let body = json!({"name": "docs", "namespace": ORG, "is_private": false});
    let path = format!("/v2/repositories/{ORG}");
    s.hub(
        "POST /v2/repositories/{namespace}",
        M::POST,
        &path,
        Some(&owner),
        Some(body),
        S::CREATED,
        &[created("docs", "false")],
    )
    .await;
    // With the PAT: the event names it.
    let body = json!({"name": "tools", "namespace": ORG, "is_private": true});
    s.hub(
        "POST /v2/repositories",
        M::POST,
        "/v2/repositories",
        Some(&pat_session),
        Some(body),
        S::CREATED,
        &[created("tools", "true").with_token("ci-push")],
    )
    .await;

    // ---- The registry ----------------------------------------------------------------------
    let web = format!("{ORG}/{REPO}");
    let registry = Registry::login(
        &server,
        Some((OWNER, PASSWORD)),
        &[&web, &format!("{ORG}/api")],
        "pull,push,delete",
    )
    .await;
    let config = config_blob();
    let layer = random_bytes(2048);
    let config_digest = sha256(&config);
    let layer_digest = sha256(&layer);
    // Blobs: monolithic, and chunked (start, patch, finish); none is recorded.
    let op = "registry POST Uploads";
    let monolithic = registry
        .request(M::POST, &with_digest(&uploads_path(&web), &config_digest))
        .body(config.clone());
    // The first upload to a repository creates it.
    s.registry(op, monolithic, S::CREATED, &[created(REPO, "true")])
        .await;
    let started = s
        .registry(
            op,
            registry.request(M::POST, &uploads_path(&web)),
            S::ACCEPTED,
            &[],
        )
        .await;
    let location = header(started.headers(), "location").to_string();
    let patch = registry.request(M::PATCH, &location).body(layer.clone());
    let patched = s.registry("registry PATCH Upload", patch, S::ACCEPTED, &[]).await;
    let location = header(patched.headers(), "location").to_string();
    let finish = registry.request(M::PUT, &with_digest(&location, &layer_digest));
    s.registry("registry PUT Upload", finish, S::CREATED, &[]).await;
    let started = s
        .registry(
            op,
            registry.request(M::POST, &uploads_path(&web)),
            S::ACCEPTED,
            &[],
        )
        .await;
    let location = header(started.headers(), "location").to_string();
    s.registry(
        "registry DELETE Upload",
        registry.request(M::DELETE, &location),
        S::NO_CONTENT,
        &[],
    )
    .await;
    // A mount into the repository created through the API.
    let mount = format!(
        "{}?mount={config_digest}&from={web}",
        uploads_path(&format!("{ORG}/api"))
    );
    s.registry(op, registry.request(M::POST, &mount), S::CREATED, &[])
        .await;

    // Each tag a push sets is recorded.
    let image = manifest(
        OCI_MANIFEST,
        descriptor(OCI_CONFIG, &config),
        &[descriptor(OCI_LAYER, &layer)],
        json!({}),
    );
    let digest = sha256(&image);
    let push = |reference: &str| {
        registry
            .request(M::PUT, &manifest_path(&web, reference))
            .header(reqwest::header::CONTENT_TYPE, OCI_MANIFEST)
            .body(image.clone())
    };
    let pushed = |tag: &str| event(ORG, "repo.tag.push", &web).data(&[("tag", tag), ("digest", &digest)]);
    let op = "registry PUT Manifest";
    s.registry(op, push(TAG), S::CREATED, &[pushed(TAG)]).await;
    // By digest: no tag, nothing recorded; with `?tag=`, each tag.
    s.registry(op, push(&digest), S::CREATED, &[]).await;
    let tagged = push(&format!("{digest}?tag=v2&tag=v3"));
    s.registry(op, tagged, S::CREATED, &[pushed("v2"), pushed("v3")])
        .await;
    let other = random_bytes(64);
    let other_digest = sha256(&other);
    let monolithic = registry
        .request(M::POST, &with_digest(&uploads_path(&web), &other_digest))
        .body(other);
    s.registry("registry POST Uploads", monolithic, S::CREATED, &[])
        .await;

    // ---- Repository settings and team access --------------------------------------------
    let legacy = format!("/v2/repositories/{ORG}/{REPO}");
    let body = json!({"description": "the website"});
    let updated = event(ORG, "repo.update", &web).data(&[("description", "the website")]);
    s.hub(
        "PATCH /v2/repositories/{namespace}/{repository}",
        M::PATCH,
        &legacy,
        Some(&owner),
        Some(body),
        S::OK,
        &[updated],
    )
    .await;
    let privacy = event(ORG, "repo.change_privacy", &web).data(&[("is_private", "false")]);
    let path = format!("{legacy}/privacy");
    s.hub(
        "POST /v2/repositories/{namespace}/{repository}/privacy",
        M::POST,
        &path,
        Some(&owner),
        Some(json!({"is_private": false})),
        S::OK,
        &[privacy],
    )
    .await;
    let namespaced = format!("/v2/namespaces/{ORG}/repositories/{REPO}");
    let body = json!({"immutable_tags": false, "immutable_tags_rules": ["release-.*"]});
    let immutability = event(ORG, "repo.immutable.tags.updated", &web).data(&[
        ("immutable_tags", "false"),
        ("immutable_tags_rules", "release-.*"),
    ]);
    let path = format!("{namespaced}/immutabletags");
    s.hub(
        "PATCH /v2/namespaces/{namespace}/repositories/{repository}/immutabletags",
        M::PATCH,
        &path,
        Some(&owner),
        Some(body),
        S::OK,
        &[immutability],
    )
    .await;
    // Checking a rule changes nothing.
    let path = format!("{namespaced}/immutabletags/verify");
    s.hub(
        "POST /v2/namespaces/{namespace}/repositories/{repository}/immutabletags/verify",
        M::POST,
        &path,
        Some(&owner),
        Some(json!({"regex": "v.*"})),
        S::OK,
        &[],
    )
    .await;
    let access =
        |action, permission| event(ORG, action, &web).data(&[("team", TEAM), ("permission", permission)]);
    let path = format!("{legacy}/groups");
    let body = json!({"group_id": team_created["id"], "permission": "read"});
    s.hub(
        "POST /v2/repositories/{namespace}/{repository}/groups",
        M::POST,
        &path,
        Some(&owner),
        Some(body),
        S::OK,
        &[access("repo.group.add", "read")],
    )
    .await;
    let group_path = format!("{legacy}/groups/{team_id}");
    s.hub(
        "PATCH /v2/repositories/{namespace}/{repository}/groups/{group_id}",
        M::PATCH,
        &group_path,
        Some(&owner),
        Some(json!({"permission": "write"})),
        S::OK,
        &[access("repo.group.update", "write")],
    )
    .await;

    // ---- SCIM provisioning ------------------------------------------------------------------
    let refreshed = |actor: &str| event(ORG, "enterprise.sso.connection.scim_token_refresh", ORG).by(actor);
    s.admin(&["org", "scim-token", ORG], None, &[refreshed(ADMIN_CLI)])
        .await;
    let op = "POST /v2/orgs/{org_name}/scim-token";
    let path = format!("/v2/orgs/{ORG}/scim-token");
    let minted = s
        .hub(
            op,
            M::POST,
            &path,
            Some(&owner),
            None,
            S::CREATED,
            &[refreshed(OWNER)],
        )
        .await;
    let scim_token = minted["token"].as_str().expect("token").to_string();
    let provisioned = |action, name: &str| event(ORG, action, name).by(SCIM_ACTOR).with_token(SCIM_LABEL);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "erin@example.com",
        "displayName": PROVISIONED,
        "name": {"givenName": "Erin"},
    });
    let user = s
        .hub(
            "POST /v2/scim/2.0/Users",
            M::POST,
            "/v2/scim/2.0/Users",
            Some(&scim_token),
            Some(body.clone()),
            S::CREATED,
            &[
                event(PROVISIONED, "account.create", PROVISIONED)
                    .by(SCIM_ACTOR)
                    .with_token(SCIM_LABEL),
                provisioned("org.member.add", PROVISIONED).data(&[("role", "member")]),
            ],
        )
        .await;
    let user_id = user["id"].as_str().expect("id").to_string();
    let user_path = format!("/v2/scim/2.0/Users/{user_id}");
    let mut replaced = body;
    replaced["name"] = json!({"givenName": "Erin", "familyName": "Doe"});
    replaced["active"] = json!(true);
    s.hub(
        "PUT /v2/scim/2.0/Users/{id}",
        M::PUT,
        &user_path,
        Some(&scim_token),
        Some(replaced),
        S::OK,
        &[provisioned("org.member.scim.update", PROVISIONED).data(&[("changed", "name.familyName")])],
    )
    .await;
    let promote = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:docker:2.0:User:dockerRole", "value": "editor"}
    ]});
    s.hub(
        "PATCH /v2/scim/2.0/Users/{id}",
        M::PATCH,
        &user_path,
        Some(&scim_token),
        Some(promote),
        S::OK,
        &[provisioned("org.member.role.change", PROVISIONED)
            .data(&[("old_role", "member"), ("role", "editor")])],
    )
    .await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": format!("{ORG}:ops"),
        "members": [{"value": user_id}],
    });
    let group = s
        .hub(
            "POST /v2/scim/2.0/Groups",
            M::POST,
            "/v2/scim/2.0/Groups",
            Some(&scim_token),
            Some(body),
            S::CREATED,
            &[
                provisioned("org.team.create", "ops").data(&[("team", "ops")]),
                provisioned("org.team.member.add", PROVISIONED).data(&[("team", "ops")]),
            ],
        )
        .await;
    let group_id = group["id"].as_str().expect("id").to_string();
    let group_scim_path = format!("/v2/scim/2.0/Groups/{group_id}");
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "operations",
        "members": [{"value": user_id}],
    });
    s.hub(
        "PUT /v2/scim/2.0/Groups/{id}",
        M::PUT,
        &group_scim_path,
        Some(&scim_token),
        Some(body),
        S::OK,
        &[provisioned("org.team.update", "operations").data(&[("team", "operations"), ("old_name", "ops")])],
    )
    .await;
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "remove", "path": format!("members[value eq \"{user_id}\"]")}
    ]});
    s.hub(
        "PATCH /v2/scim/2.0/Groups/{id}",
        M::PATCH,
        &group_scim_path,
        Some(&scim_token),
        Some(remove),
        S::OK,
        &[provisioned("org.team.member.remove", PROVISIONED).data(&[("team", "operations")])],
    )
    .await;

    // Searches are reads sent as POST (RFC 7644 §3.4.3).
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 5});
    for (op, path, status) in [
        (
            "POST /v2/scim/2.0/Users/.search",
            "/v2/scim/2.0/Users/.search",
            S::OK,
        ),
        (
            "POST /v2/scim/2.0/Groups/.search",
            "/v2/scim/2.0/Groups/.search",
            S::OK,
        ),
        ("POST /v2/scim/2.0/.search", "/v2/scim/2.0/.search", S::OK),
    ] {
        s.hub(
            op,
            M::POST,
            path,
            Some(&scim_token),
            Some(search.clone()),
            status,
            &[],
        )
        .await;
    }

    // ---- Every documented read, and the registry's, records nothing -----------------------
    let (doc_writes, doc_reads) = documented_operations(&server).await;
    let values = [
        ("username", OWNER),
        ("org_name", ORG),
        ("namespace", ORG),
        ("account", ORG),
        ("repository", REPO),
        ("tag", TAG),
        ("group_name", TEAM),
        ("group_id", team_id.as_str()),
        ("uuid", pat_id.as_str()),
        ("access_token_id", oat_id.as_str()),
    ];
    for op in &doc_reads {
        let (method, template) = op.split_once(' ').expect("METHOD path");
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let request = match template.strip_prefix("/v2/scim/2.0/") {
            // SCIM reads carry the SCIM token, and their ids are SCIM's.
            Some(rest) => {
                let id = match rest.split('/').next() {
                    Some("Users") => user_id.as_str(),
                    Some("Groups") => group_id.as_str(),
                    Some("ResourceTypes") => "User",
                    _ => "urn:ietf:params:scim:schemas:core:2.0:User",
                };
                let path = fill(template, &[("id", id), ("name", id)]);
                server.request(method, &path).bearer_auth(&scim_token)
            }
            None => server
                .request(method, &fill(template, &values))
                .bearer_auth(&owner),
        };
        s.read(op, request).await;
    }
    s.read(
        "GET /v2/",
        server.request(M::GET, "/v2/").bearer_auth(&registry.token),
    )
    .await;
    let scope = format!("repository:{web}:pull");
    let token = server
        .request(M::GET, "/token")
        .query(&[("service", crate::oci::service(&server)), ("scope", scope)])
        .basic_auth(OWNER, Some(PASSWORD));
    s.read("GET /token", token).await;
    for (op, method, path) in [
        ("registry GET Manifest", M::GET, manifest_path(&web, TAG)),
        ("registry HEAD Manifest", M::HEAD, manifest_path(&web, &digest)),
        ("registry GET Blob", M::GET, blob_path(&web, &layer_digest)),
        ("registry HEAD Blob", M::HEAD, blob_path(&web, &config_digest)),
        ("registry GET Tags", M::GET, tags_path(&web)),
        (
            "registry GET Referrers",
            M::GET,
            format!("/v2/{web}/referrers/{digest}"),
        ),
    ] {
        s.read(op, registry.request(method, &path)).await;
    }
    let started = s
        .registry(
            "registry POST Uploads",
            registry.request(M::POST, &uploads_path(&web)),
            S::ACCEPTED,
            &[],
        )
        .await;
    let location = header(started.headers(), "location").to_string();
    s.read("registry GET Upload", registry.request(M::GET, &location))
        .await;

    // ---- Deletions ---------------------------------------------------------------------------
    s.hub(
        "DELETE /v2/scim/2.0/Groups/{id}",
        M::DELETE,
        &group_scim_path,
        Some(&scim_token),
        None,
        S::NO_CONTENT,
        &[provisioned("org.team.delete", "operations").data(&[("team", "operations")])],
    )
    .await;
    s.hub(
        "DELETE /v2/scim/2.0/Users/{id}",
        M::DELETE,
        &user_path,
        Some(&scim_token),
        None,
        S::NO_CONTENT,
        &[provisioned("org.member.remove", PROVISIONED).data(&[("role", "editor")])],
    )
    .await;
    let op = "DELETE /v2/repositories/{namespace}/{repository}/groups/{group_id}";
    s.hub(
        op,
        M::DELETE,
        &group_path,
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[access("repo.group.remove", "write")],
    )
    .await;
    let removed = |tag: &str| event(ORG, "repo.tag.delete", &web).data(&[("tag", tag), ("digest", &digest)]);
    let op = "DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}";
    let path = format!("{legacy}/tags/v3");
    s.hub(
        op,
        M::DELETE,
        &path,
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[removed("v3")],
    )
    .await;
    let op = "registry DELETE Manifest";
    let by_tag = registry.request(M::DELETE, &manifest_path(&web, "v2"));
    s.registry(op, by_tag, S::ACCEPTED, &[removed("v2")]).await;
    let by_digest = registry.request(M::DELETE, &manifest_path(&web, &digest));
    s.registry(op, by_digest, S::ACCEPTED, &[removed(TAG)]).await;
    let blob = registry.request(M::DELETE, &blob_path(&web, &other_digest));
    s.registry("registry DELETE Blob", blob, S::ACCEPTED, &[]).await;
    let op = "DELETE /v2/repositories/{namespace}/{repository}";
    let path = format!("/v2/repositories/{ORG}/docs");
    s.hub(
        op,
        M::DELETE,
        &path,
        Some(&owner),
        None,
        S::ACCEPTED,
        &[event(ORG, "repo.delete", &format!("{ORG}/docs"))],
    )
    .await;
    let op = "DELETE /v2/orgs/{org_name}/access-tokens/{access_token_id}";
    let deleted =
        event(ORG, "org.access_token.delete", ORG).data(&[("token_id", &oat_id), ("token_label", "deploy")]);
    s.hub(
        op,
        M::DELETE,
        &oat_path,
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[deleted],
    )
    .await;
    let deleted = event(OWNER, "account.access_token.delete", OWNER)
        .data(&[("token_id", &pat_id), ("token_label", "ci-push")]);
    s.hub(
        "DELETE /v2/access-tokens/{uuid}",
        M::DELETE,
        &pat_path,
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[deleted],
    )
    .await;
    let op = "DELETE /v2/orgs/{org_name}/groups/{group_name}";
    let path = format!("{groups}/{TEAM}");
    s.hub(
        op,
        M::DELETE,
        &path,
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[team("org.team.delete")],
    )
    .await;
    let op = "DELETE /v2/orgs/{org_name}/members/{username}";
    let path = format!("/v2/orgs/{ORG}/members/{INVITEE}");
    let removed = event(ORG, "org.member.remove", INVITEE).data(&[("role", "member")]);
    s.hub(
        op,
        M::DELETE,
        &path,
        Some(&owner),
        None,
        S::NO_CONTENT,
        &[removed],
    )
    .await;
    // A member leaving names themselves as the actor.
    let path = format!("/v2/orgs/{ORG}/members/{MEMBER}");
    let left = event(ORG, "org.member.remove", MEMBER)
        .by(MEMBER)
        .data(&[("role", "editor")]);
    s.hub(op, M::DELETE, &path, Some(&member), None, S::NO_CONTENT, &[left])
        .await;

    // ---- Nothing was left out ------------------------------------------------------------------
    let (registry_writes, registry_reads) = registry_operations();
    let mut wharf_has: BTreeSet<String> = doc_writes.union(&doc_reads).cloned().collect();
    wharf_has.extend(registry_writes);
    wharf_has.extend(registry_reads);
    wharf_has.extend(admin_commands());
    wharf_has.extend(["GET /v2/".to_string(), "GET /token".to_string()]);
    let missing: Vec<&String> = wharf_has.difference(&s.driven).collect();
    assert!(
        missing.is_empty(),
        "operations this script does not drive (add a step that says what each records): {missing:#?}"
    );
    let unknown: Vec<&String> = s.driven.difference(&wharf_has).collect();
    assert!(
        unknown.is_empty(),
        "steps for operations Wharf does not have: {unknown:#?}"
    );
}

/// An id as a path takes it: a number's digits, a string's text.
fn id_text(id: &Value) -> String {
    match id {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => panic!("not an id: {other}"),
    }
}

crate::both_backends!(records_every_change_and_nothing_else);
