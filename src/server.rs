//! `wharf serve`: open the store, bind, serve until SIGTERM/SIGINT, then drain.

use std::net::SocketAddr;

use axum::ServiceExt;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use axum_server::tls_rustls::RustlsConfig;

use crate::app::App;
use crate::config::{Settings, TlsFiles};

/// The application as a service that knows each connection's peer address.
type Service = axum::extract::connect_info::IntoMakeServiceWithConnectInfo<
    tower_http::normalize_path::NormalizePath<axum::Router>,
    SocketAddr,
>;
use crate::store::Store;

/// Opens the store named by `settings` (creating the data directory for SQLite).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    if settings.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {}: {e}",
                settings.data_dir.display()
            )
        })?;
    }
    Ok(Store::connect(&settings.database_url).await?)
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    if store.count_users().await? == 0 {
        tracing::info!(
            "the store has no users yet; create the first one with: \
             wharf admin user create NAME --email EMAIL --password-stdin"
        );
    }
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr()?;
    let app = App::new(store.clone(), settings).await?;
    spawn_housekeeping(app.clone());
    spawn_gc(app.clone());
    let (router, _) = crate::http::router(app.clone());
    let public_url = app
        .settings
        .public_url
        .as_deref()
        .unwrap_or("(from the Host header)");
    tracing::info!(%addr, public_url, "wharf listening on {addr}");
    // Real clients call Hub routes with and without a trailing slash; trimming happens
    // before routing, so every route answers to both.
    let service = NormalizePathLayer::trim_trailing_slash().layer(router);
    let service =
        ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(service);
    let header_read_timeout = app.settings.header_read_timeout;
    match &app.settings.tls {
        None => {
            let mut server = axum_server::from_tcp(listener.into_std()?)?;
            // Each request's headers must arrive within the limit, or the connection is
            // closed: a slow-header client holds a connection for no longer (HTTP/1; bodies
            // have their own limits in `http::limits`).
            server
                .http_builder()
                .http1()
                .header_read_timeout(header_read_timeout);
            server.handle(stop_on_signal()).serve(service).await?
        }
        Some(tls) => serve_tls(listener, tls, header_read_timeout, service).await?,
    }
    tracing::info!("shutting down");
    if let Err(e) = app.flush_pulls().await {
        tracing::warn!(error = %e, "writing the last pull counts failed");
    }
    store.close().await;
    Ok(())
}

/// Periodic clean-up of expired rows; pull counts written and latency samples folded into
/// the metrics' histograms about once a second.
fn spawn_housekeeping(app: App) {
    let pulls = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = pulls.flush_pulls().await {
                tracing::warn!(error = %e, "writing pull counts failed; will retry");
            }
            // Samples wait in a queue until the next scrape of /metrics, or this: without it,
            // a server nobody scrapes would keep every request's latency.
            crate::http::metrics::fold_samples();
        }
    });
    let every = std::time::Duration::from_secs(app.settings.housekeeping_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = app.store.prune_challenges(crate::store::now_micros()).await {
                tracing::warn!(error = %e, "pruning expired login challenges failed");
            }
            match app.expire_uploads(app.settings.upload_expiry_secs).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(uploads = n, "idle upload sessions ended and their parts deleted"),
                Err(e) => tracing::warn!(error = %e, "ending idle upload sessions failed"),
            }
            let days = app.settings.audit_retention_days;
            if days > 0 {
                let before = crate::store::now_micros().saturating_sub(
                    i64::try_from(days)
                        .unwrap_or(i64::MAX)
                        .saturating_mul(86_400_000_000),
                );
                match app.store.prune_audit(before).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(events = n, days, "audit events past the retention period deleted")
                    }
                    Err(e) => tracing::warn!(error = %e, "applying the audit retention period failed"),
                }
            }
        }
    });
}

/// Scheduled garbage collection, every `gc_interval_secs` from start-up (not at start-up:
/// several instances restarting together would all try at once).
fn spawn_gc(app: App) {
    if app.settings.gc_interval_secs == 0 {
        return;
    }
    let every = std::time::Duration::from_secs(app.settings.gc_interval_secs);
    let options = crate::domain::gc::GcOptions {
        grace_secs: app.settings.gc_grace_secs,
        untagged: app.settings.gc_untagged,
        dry_run: false,
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = app.gc(&options).await {
                tracing::warn!(error = %e, "gc failed; the next run resumes it");
            }
        }
    });
}

/// Serves HTTPS with rustls until SIGTERM/SIGINT; SIGHUP reloads the certificate and key
/// (a renewed certificate is used by new connections without a restart).
/// A handle that shuts the server down gracefully on SIGINT or SIGTERM: no new
/// connections, the open ones finish their requests.
fn stop_on_signal() -> axum_server::Handle<SocketAddr> {
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopping.graceful_shutdown(None);
    });
    handle
}

async fn serve_tls(
    listener: TcpListener,
    tls: &TlsFiles,
    header_read_timeout: std::time::Duration,
    service: Service,
) -> anyhow::Result<()> {
    // The same crypto provider as the S3 client's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = RustlsConfig::from_pem_file(&tls.cert, &tls.key)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the TLS certificate and key: {e}"))?;
    spawn_tls_reload(config.clone(), tls.clone());
    let mut server = axum_server::from_tcp_rustls(listener.into_std()?, config)?;
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_read_timeout);
    server.handle(stop_on_signal()).serve(service).await?;
    Ok(())
}

/// Reloads the certificate and key on every SIGHUP; a failed reload keeps the old ones.
fn spawn_tls_reload(config: RustlsConfig, tls: TlsFiles) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; the certificate will not be reloaded");
            return;
        };
        while hangups.recv().await.is_some() {
            match config.reload_from_pem_file(&tls.cert, &tls.key).await {
                Ok(()) => tracing::info!(cert = %tls.cert.display(), "TLS certificate reloaded"),
                Err(e) => {
                    tracing::warn!(error = %e, "reloading the TLS certificate failed; the old one stays")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (config, tls);
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
