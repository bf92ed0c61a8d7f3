//! The running application: the store, settings, signing keys and limiters that every
//! domain operation needs. Cheap to clone (everything is shared).

use std::sync::Arc;
use std::time::Duration;

use crate::blobs::BlobStorage;
use crate::config::Settings;
use crate::domain::pulls::PendingPulls;
use crate::domain::registry::UploadHashes;
use crate::domain::secrets;
use crate::domain::session::SessionKeys;
use crate::ratelimit::RateLimiter;
use crate::store::{now_micros, Store};

#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

pub struct Inner {
    pub store: Store,
    pub blobs: BlobStorage,
    pub settings: Settings,
    pub sessions: SessionKeys,
    /// Failed logins per account and per client address.
    pub login_failures: RateLimiter,
    /// Requests per client address (the `X-RateLimit-*` headers).
    pub requests: RateLimiter,
    /// Audit log queries per caller.
    pub audit_queries: RateLimiter,
    /// Running digests of this instance's uploads in progress.
    pub upload_hashes: UploadHashes,
    /// Pulls counted and not yet written to the store.
    pub pending_pulls: PendingPulls,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// Name of the session signing key in the store.
const SESSION_KEY: &str = "session-hs256";

impl App {
    /// Builds the application on an open store: opens the blob storage, and loads (or on
    /// first start creates) the signing key that every instance shares.
    pub async fn new(store: Store, settings: Settings) -> anyhow::Result<App> {
        let blobs = BlobStorage::open(settings.storage.as_deref(), &settings.data_dir)?;
        let key = store
            .signing_key_or_insert(SESSION_KEY, &secrets::random_key(32), now_micros())
            .await?;
        let login_failures = RateLimiter::new(
            settings.login_failure_limit,
            Duration::from_secs(settings.login_failure_window_secs.max(1)),
        );
        let requests = RateLimiter::new(settings.rate_limit_per_minute, Duration::from_secs(60));
        let audit_queries = RateLimiter::new(settings.audit_rate_limit_per_minute, Duration::from_secs(60));
        Ok(App {
            inner: Arc::new(Inner {
                store,
                blobs,
                sessions: SessionKeys::new(key.as_bytes()),
                settings,
                login_failures,
                requests,
                audit_queries,
                upload_hashes: UploadHashes::default(),
                pending_pulls: PendingPulls::default(),
            }),
        })
    }
}
