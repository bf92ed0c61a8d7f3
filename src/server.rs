//! `wharf serve`: open the store, bind, serve until SIGTERM/SIGINT, then drain.

use std::net::SocketAddr;

use axum::ServiceExt;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use crate::app::App;
use crate::config::Settings;
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
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down");
    if let Err(e) = app.flush_pulls().await {
        tracing::warn!(error = %e, "writing the last pull counts failed");
    }
    store.close().await;
    Ok(())
}

/// Periodic clean-up of expired rows, and pull counts written about once a second.
fn spawn_housekeeping(app: App) {
    let pulls = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = pulls.flush_pulls().await {
                tracing::warn!(error = %e, "writing pull counts failed; will retry");
            }
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
