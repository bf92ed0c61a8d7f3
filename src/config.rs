//! Command line and configuration: `wharf serve` and `wharf admin`.
//!
//! Every flag also reads an environment variable named after it (`--data-dir` ↔
//! `WHARF_DATA_DIR`) and a key in the TOML file given with `--config` (`data_dir`).
//! Precedence: flag > environment > file > default. clap resolves the first two; the file
//! and the defaults are merged in [`Settings::resolve`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    version,
    about = "A self-hosted, Docker Hub-compatible registry and Hub API server"
)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the store is; shared by `serve` and `admin`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// TOML configuration file (keys named like the flags, with underscores).
    #[arg(long, global = true, env = "WHARF_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: the SQLite database and (later) blobs live here. [default: ./wharf-data]
    #[arg(long, global = true, env = "WHARF_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Metadata database: absent for SQLite in the data directory, or postgres://…
    #[arg(
        long,
        global = true,
        env = "WHARF_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Blob storage: absent for the `blobs` directory in the data directory, or
    /// s3://BUCKET/PREFIX?endpoint=…&region=… (credentials from the AWS_* environment), or
    /// file:///PATH.
    #[arg(
        long,
        global = true,
        env = "WHARF_STORAGE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub storage: Option<String>,
}

// Parsed once per process: the size of `serve`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (Hub API and registry on one listener).
    Serve(ServeArgs),
    /// Manage the store from the shell; safe while the server runs.
    Admin(AdminArgs),
    /// Check the store against blob storage: every blob present with its size (and digest),
    /// every reference resolvable, no orphan objects. Exit status 0 consistent, 1 not, 2 the
    /// check failed. Safe while the server runs.
    Fsck(FsckArgs),
    /// Collect garbage once: untagged manifests (with --untagged delete) and blobs that no
    /// manifest references, past the grace window. Safe while the server runs; one collector
    /// runs at a time.
    Gc(GcArgs),
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Report what would be deleted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds a blob must have been unreferenced (and an untagged manifest old) before it
    /// goes, so that a push in flight never loses one. [default: gc_grace from the config file, else 3600]
    #[arg(long, value_name = "SECS")]
    pub grace: Option<u64>,
    /// Untagged manifests that nothing tagged reaches: `keep` them, or `delete` them.
    /// [default: gc_untagged from the config file, else keep]
    #[arg(long, value_name = "POLICY")]
    pub untagged: Option<UntaggedPolicy>,
}

/// What the collector does with manifests that no tag reaches (directly, as an index's
/// child, or as a referrer of such a manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UntaggedPolicy {
    /// Keep them (Docker Hub's behaviour): pullable by digest until deleted.
    Keep,
    /// Delete them once older than the grace window.
    Delete,
}

#[derive(Debug, Args)]
pub struct FsckArgs {
    /// Also read every blob and check that its bytes hash to its digest.
    #[arg(long)]
    pub verify_digests: bool,
    /// Delete orphan objects (blob objects without a row) older than the grace window; the
    /// only repair that is always safe.
    #[arg(long)]
    pub repair: bool,
    /// Seconds an orphan object must be old to count: a younger one may belong to an upload
    /// finishing right now.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub grace: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. [default: 127.0.0.1:5000]
    #[arg(long, env = "WHARF_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// URL clients reach this server at, for absolute links. [default: from each request's Host header]
    #[arg(long, env = "WHARF_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Lifetime of session tokens in seconds. [default: 600]
    #[arg(long, env = "WHARF_TOKEN_TTL", value_name = "SECS")]
    pub token_ttl: Option<u64>,
    /// Requests per minute per client address; 0 disables the limit. [default: 1000]
    #[arg(long, env = "WHARF_RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Failed logins per account and per client address before further attempts get 429. [default: 10]
    #[arg(long, env = "WHARF_LOGIN_FAILURE_LIMIT", value_name = "N")]
    pub login_failure_limit: Option<u32>,
    /// Window in seconds over which failed logins are counted. [default: 300]
    #[arg(long, env = "WHARF_LOGIN_FAILURE_WINDOW", value_name = "SECS")]
    pub login_failure_window: Option<u64>,
    /// Log format. [default: text]
    #[arg(long, env = "WHARF_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Lifetime of registry tokens in seconds (`/token`). [default: 300]
    #[arg(long, env = "WHARF_REGISTRY_TOKEN_TTL", value_name = "SECS")]
    pub registry_token_ttl: Option<u64>,
    /// Visibility of repositories created by a push: `private` or `public`. [default: private]
    #[arg(long, env = "WHARF_NEW_REPOSITORY_VISIBILITY", value_name = "VISIBILITY")]
    pub new_repository_visibility: Option<Visibility>,
    /// Largest manifest accepted, in bytes. [default: 4194304]
    #[arg(long, env = "WHARF_MAX_MANIFEST_SIZE", value_name = "BYTES")]
    pub max_manifest_size: Option<usize>,
    /// Who may create organizations with `POST /v2/orgs`: `anyone` signed in, or only
    /// `admin` (with `wharf admin org create`). [default: anyone]
    #[arg(long, env = "WHARF_ORG_CREATION", value_name = "WHO")]
    pub org_creation: Option<OrgCreation>,
    /// Audit log queries per minute per caller; 0 disables the limit. [default: 60]
    #[arg(long, env = "WHARF_AUDIT_RATE_LIMIT", value_name = "N")]
    pub audit_rate_limit: Option<u32>,
    /// Days audit events are kept; 0 keeps them forever. [default: 0]
    #[arg(long, env = "WHARF_AUDIT_RETENTION_DAYS", value_name = "DAYS")]
    pub audit_retention_days: Option<u64>,
    /// Seconds an upload session may go without a write before it ends and its parts are
    /// deleted. [default: 86400]
    #[arg(long, env = "WHARF_UPLOAD_EXPIRY", value_name = "SECS")]
    pub upload_expiry: Option<u64>,
    /// Reverse proxies whose `X-Forwarded-For`, `-Proto` and `-Host` headers are believed:
    /// comma-separated addresses or CIDR ranges (e.g. `10.0.0.0/8,127.0.0.1`). [default: none]
    #[arg(long, env = "WHARF_TRUSTED_PROXIES", value_name = "CIDRS")]
    pub trusted_proxies: Option<String>,
    /// PEM certificate chain to serve HTTPS with (with --tls-key); reloaded on SIGHUP.
    #[arg(long, env = "WHARF_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "WHARF_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds between runs of the background clean-up (expired login challenges, audit
    /// events past the retention period). [default: 300]
    #[arg(long, env = "WHARF_HOUSEKEEPING_INTERVAL", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub housekeeping_interval: Option<u64>,
    /// Seconds a Hub API or SCIM request may take, body included, before it is answered 503.
    /// [default: 30]
    #[arg(long, env = "WHARF_REQUEST_TIMEOUT", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: Option<u64>,
    /// Seconds a registry request body (a layer being uploaded) may send nothing before the
    /// request ends. [default: 60]
    #[arg(long, env = "WHARF_BODY_STALL_TIMEOUT", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub body_stall_timeout: Option<u64>,
    /// Seconds a client may take to send a request's headers (on each request of a
    /// connection) before the connection is closed: slow-header clients hold no connection
    /// for long. [default: 30]
    #[arg(long, env = "WHARF_HEADER_READ_TIMEOUT", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: Option<u64>,
    /// Seconds between garbage collections (as `wharf gc`); 0 never collects. With several
    /// instances, one collects at a time. [default: 86400]
    #[arg(long, env = "WHARF_GC_INTERVAL", value_name = "SECS")]
    pub gc_interval: Option<u64>,
    /// Grace window of the scheduled collection, in seconds. [default: 3600]
    #[arg(long, env = "WHARF_GC_GRACE", value_name = "SECS")]
    pub gc_grace: Option<u64>,
    /// Untagged manifests in the scheduled collection: `keep` or `delete`. [default: keep]
    #[arg(long, env = "WHARF_GC_UNTAGGED", value_name = "POLICY")]
    pub gc_untagged: Option<UntaggedPolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Private,
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgCreation {
    Anyone,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Write a consistent copy of the SQLite store to FILE (which must not exist), while the
    /// server runs. PostgreSQL is backed up with pg_dump (README, "Backup").
    Backup { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization with USER as its first owner.
    Create {
        name: String,
        #[arg(long, value_name = "USER")]
        owner: String,
    },
    /// Add USER to the organization with a role (or change the role of a member).
    AddMember {
        org: String,
        user: String,
        /// `owner`, `editor` or `member`.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Print a new SCIM token for the organization's identity provider; the previous one
    /// stops working.
    ScimToken { org: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        name: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Replace a user's password, read from standard input; open sessions end.
    SetPassword {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Two-factor authentication (TOTP).
    #[command(name = "2fa", subcommand)]
    TwoFactor(TwoFactorCommand),
}

#[derive(Debug, Subcommand)]
pub enum TwoFactorCommand {
    /// Enable 2FA and print the otpauth:// URI to enrol in an authenticator app.
    Enable { name: String },
    /// Disable 2FA.
    Disable { name: String },
}

/// The configuration file. Every key is optional; unknown keys are an error so that a typo
/// does not silently fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub token_ttl: Option<u64>,
    pub rate_limit: Option<u32>,
    pub login_failure_limit: Option<u32>,
    pub login_failure_window: Option<u64>,
    pub log_format: Option<LogFormat>,
    pub org_creation: Option<OrgCreation>,
    pub storage: Option<String>,
    pub registry_token_ttl: Option<u64>,
    pub audit_rate_limit: Option<u32>,
    pub audit_retention_days: Option<u64>,
    pub housekeeping_interval: Option<u64>,
    pub gc_interval: Option<u64>,
    pub gc_grace: Option<u64>,
    pub gc_untagged: Option<UntaggedPolicy>,
    pub request_timeout: Option<u64>,
    pub body_stall_timeout: Option<u64>,
    pub header_read_timeout: Option<u64>,
    pub trusted_proxies: Option<String>,
    pub upload_expiry: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub max_manifest_size: Option<usize>,
    pub new_repository_visibility: Option<Visibility>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))
    }
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Resolved database URL (SQLite in the data directory when none was given).
    pub database_url: String,
    pub listen: SocketAddr,
    /// The configured public URL, without a trailing slash. `None`: links are built from
    /// each request's `Host` header (see `http::extract::public_base`).
    pub public_url: Option<String>,
    pub token_ttl_secs: u64,
    pub rate_limit_per_minute: u32,
    pub login_failure_limit: u32,
    pub login_failure_window_secs: u64,
    pub log_format: LogFormat,
    pub org_creation: OrgCreation,
    /// Blob storage URL; `None`: the `blobs` directory in the data directory.
    pub storage: Option<String>,
    pub registry_token_ttl_secs: u64,
    pub max_manifest_size: usize,
    pub new_repository_visibility: Visibility,
    pub audit_rate_limit_per_minute: u32,
    /// 0: events are kept forever.
    pub audit_retention_days: u64,
    pub housekeeping_interval_secs: u64,
    /// Certificate chain and key files to serve HTTPS with; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds without a write after which an upload session ends.
    pub upload_expiry_secs: u64,
    /// Seconds between scheduled garbage collections; 0: none.
    pub gc_interval_secs: u64,
    pub gc_grace_secs: u64,
    pub gc_untagged: UntaggedPolicy,
    /// Time limits of requests (see `http::limits`).
    pub request_timeout: std::time::Duration,
    pub body_stall_timeout: std::time::Duration,
    pub header_read_timeout: std::time::Duration,
}

/// `--trusted-proxies`: addresses (a single host) and CIDR ranges, comma-separated.
fn parse_proxies(text: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("trusted proxies: {item:?} is no address or CIDR range"))
        })
        .collect()
}

impl Settings {
    /// Whether `peer` is a trusted reverse proxy.
    pub fn trusts_proxy(&self, peer: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&peer))
    }
}

/// The PEM files of `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Settings {
    /// Merges flags/environment (already in `store` and `serve`), the file, and defaults.
    pub fn resolve(store: &StoreArgs, serve: Option<&ServeArgs>) -> anyhow::Result<Settings> {
        let file = match &store.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let data_dir = store
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./wharf-data"));
        let database_url = store
            .database_url
            .clone()
            .or(file.database_url)
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| crate::store::Store::sqlite_url_in(&data_dir));
        let listen = serve
            .and_then(|s| s.listen)
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5000)));
        let public_url = serve.and_then(|s| s.public_url.clone()).or(file.public_url);
        if let Some(public_url) = &public_url {
            url::Url::parse(public_url)
                .map_err(|e| anyhow::anyhow!("invalid public URL {public_url:?}: {e}"))?;
        }
        Ok(Settings {
            data_dir,
            database_url,
            listen,
            public_url: public_url.map(|url| url.trim_end_matches('/').to_string()),
            token_ttl_secs: serve.and_then(|s| s.token_ttl).or(file.token_ttl).unwrap_or(600),
            rate_limit_per_minute: serve
                .and_then(|s| s.rate_limit)
                .or(file.rate_limit)
                .unwrap_or(1000),
            login_failure_limit: serve
                .and_then(|s| s.login_failure_limit)
                .or(file.login_failure_limit)
                .unwrap_or(10),
            login_failure_window_secs: serve
                .and_then(|s| s.login_failure_window)
                .or(file.login_failure_window)
                .unwrap_or(300),
            log_format: serve
                .and_then(|s| s.log_format)
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            org_creation: serve
                .and_then(|s| s.org_creation)
                .or(file.org_creation)
                .unwrap_or(OrgCreation::Anyone),
            storage: store.storage.clone().or(file.storage).filter(|s| !s.is_empty()),
            audit_rate_limit_per_minute: serve
                .and_then(|s| s.audit_rate_limit)
                .or(file.audit_rate_limit)
                .unwrap_or(60),
            audit_retention_days: serve
                .and_then(|s| s.audit_retention_days)
                .or(file.audit_retention_days)
                .unwrap_or(0),
            upload_expiry_secs: serve
                .and_then(|s| s.upload_expiry)
                .or(file.upload_expiry)
                .unwrap_or(86_400),
            trusted_proxies: parse_proxies(
                serve
                    .and_then(|s| s.trusted_proxies.clone())
                    .or(file.trusted_proxies)
                    .as_deref()
                    .unwrap_or(""),
            )?,
            tls: match (
                serve.and_then(|s| s.tls_cert.clone()).or(file.tls_cert),
                serve.and_then(|s| s.tls_key.clone()).or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => {
                    anyhow::bail!("a TLS certificate and its key go together: set both tls_cert and tls_key")
                }
            },
            housekeeping_interval_secs: serve
                .and_then(|s| s.housekeeping_interval)
                .or(file.housekeeping_interval)
                .unwrap_or(300)
                .max(1),
            gc_interval_secs: serve
                .and_then(|s| s.gc_interval)
                .or(file.gc_interval)
                .unwrap_or(86_400),
            gc_grace_secs: serve.and_then(|s| s.gc_grace).or(file.gc_grace).unwrap_or(3600),
            request_timeout: std::time::Duration::from_secs(
                serve
                    .and_then(|s| s.request_timeout)
                    .or(file.request_timeout)
                    .unwrap_or(30)
                    .max(1),
            ),
            body_stall_timeout: std::time::Duration::from_secs(
                serve
                    .and_then(|s| s.body_stall_timeout)
                    .or(file.body_stall_timeout)
                    .unwrap_or(60)
                    .max(1),
            ),
            header_read_timeout: std::time::Duration::from_secs(
                serve
                    .and_then(|s| s.header_read_timeout)
                    .or(file.header_read_timeout)
                    .unwrap_or(30)
                    .max(1),
            ),
            gc_untagged: serve
                .and_then(|s| s.gc_untagged)
                .or(file.gc_untagged)
                .unwrap_or(UntaggedPolicy::Keep),
            registry_token_ttl_secs: serve
                .and_then(|s| s.registry_token_ttl)
                .or(file.registry_token_ttl)
                .unwrap_or(300),
            max_manifest_size: serve
                .and_then(|s| s.max_manifest_size)
                .or(file.max_manifest_size)
                .unwrap_or(4 * 1024 * 1024),
            new_repository_visibility: serve
                .and_then(|s| s.new_repository_visibility)
                .or(file.new_repository_visibility)
                .unwrap_or(Visibility::Private),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let dir = std::env::temp_dir().join(format!("wharf-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("wharf.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:6000\"\ntoken_ttl = 60\n").unwrap();
        let cli = parse(&[
            "wharf",
            "--config",
            file.to_str().unwrap(),
            "serve",
            "--token-ttl",
            "30",
        ]);
        let Command::Serve(serve) = &cli.command else {
            panic!()
        };
        let settings = Settings::resolve(&cli.store, Some(serve)).unwrap();
        assert_eq!(settings.token_ttl_secs, 30);
        assert_eq!(settings.listen.port(), 6000);
        assert_eq!(settings.public_url, None);
        assert_eq!(settings.rate_limit_per_minute, 1000);
        assert!(settings.database_url.starts_with("sqlite://./wharf-data/"));

        std::fs::write(&file, "no_such_key = 1\n").unwrap();
        assert!(Settings::resolve(&cli.store, Some(serve)).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn global_store_flags_work_after_the_subcommand() {
        let cli = parse(&[
            "wharf",
            "admin",
            "user",
            "2fa",
            "enable",
            "alice",
            "--data-dir",
            "/tmp/x",
        ]);
        assert_eq!(cli.store.data_dir.as_deref(), Some(Path::new("/tmp/x")));
    }
}
