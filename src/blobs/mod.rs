//! Blob storage: content-addressed layers and configs, through `object_store`, on the local
//! filesystem under the data directory (the default) or on any S3-compatible store.
//!
//! Keys: `blobs/<algorithm>/<first two hex>/<hex>` for committed blobs, and under
//! `uploads/<upload id>/` what an upload in progress has received (see [`uploads`]). A blob becomes
//! visible only by being committed: its bytes are first written under an upload key, their
//! digest verified, and then moved to the blob key (and, on the filesystem, synced to disk)
//! before the metadata store records it. Bodies stream through in bounded chunks: memory does
//! not grow with blob size.

pub mod digest;
mod inventory;
mod uploads;

pub use inventory::StoredBlob;
pub use uploads::{Assembled, UploadState};

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::multipart::MultipartStore;
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore};

pub use digest::{Algorithm, Digest, Hasher};

/// On the local filesystem a chunk is just a write: smaller ones keep a push's memory low.
const LOCAL_CHUNK_SIZE: usize = 1024 * 1024;
/// Local files are read in pieces of this size.
const READ_SIZE: usize = 256 * 1024;
/// Chunks of one upload in flight at once (bounds memory per upload to about this many
/// chunks).
const MAX_CONCURRENT_CHUNKS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object not found")]
    NotFound,
    /// The request body ended in an error (the client went away, or sent too much).
    #[error("request body: {0}")]
    Body(String),
    #[error("storage: {0}")]
    Storage(#[from] object_store::Error),
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) fn storage_error(err: object_store::Error) -> BlobError {
    match err {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        other => BlobError::Storage(other),
    }
}

/// Where blobs live.
#[derive(Clone)]
pub struct BlobStorage {
    objects: Arc<dyn ObjectStore>,
    /// The root directory when the objects are local files, for syncing them to disk.
    local_root: Option<PathBuf>,
    /// On S3: the store's multipart API, for uploads that any instance can continue.
    multipart: Option<MultipartTarget>,
}

/// S3's multipart API, under the storage URL's prefix (which `objects` adds by itself).
#[derive(Clone)]
struct MultipartTarget {
    store: Arc<dyn MultipartStore>,
    prefix: String,
}

impl MultipartTarget {
    fn key(&self, key: &Key) -> Key {
        if self.prefix.is_empty() {
            key.clone()
        } else {
            Key::from(format!("{}/{}", self.prefix, key.as_ref()))
        }
    }
}

impl BlobStorage {
    /// Opens the storage named by `url` (`s3://bucket/prefix?endpoint=…&region=…`, or
    /// `file:///path`), or the `blobs` directory under `data_dir` when there is none.
    pub fn open(url: Option<&str>, data_dir: &Path) -> anyhow::Result<BlobStorage> {
        let local = |root: PathBuf| -> anyhow::Result<BlobStorage> {
            std::fs::create_dir_all(&root)?;
            let root = root.canonicalize()?;
            Ok(BlobStorage {
                objects: Arc::new(LocalFileSystem::new_with_prefix(&root)?),
                local_root: Some(root),
                multipart: None,
            })
        };
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            return local(data_dir.join("blobs"));
        };
        let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("invalid storage URL {url:?}: {e}"))?;
        match parsed.scheme() {
            "file" => local(PathBuf::from(parsed.path())),
            "s3" => {
                let options: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| (format!("aws_{k}"), v.into_owned()))
                    .collect();
                let bucket = parsed
                    .host_str()
                    .ok_or_else(|| anyhow::anyhow!("storage URL {url:?} names no bucket"))?;
                // Bounded retries: when the store is down, a request fails (503, retry later)
                // within seconds rather than hanging for object_store's default 3 minutes.
                let retry = object_store::RetryConfig {
                    max_retries: 3,
                    retry_timeout: std::time::Duration::from_secs(15),
                    backoff: object_store::BackoffConfig::default(),
                };
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .with_client_options(
                        object_store::ClientOptions::new()
                            .with_connect_timeout(std::time::Duration::from_secs(5)),
                    );
                for (key, value) in options {
                    let key = key
                        .parse()
                        .map_err(|e| anyhow::anyhow!("storage URL option {key:?}: {e}"))?;
                    builder = builder.with_config(key, value);
                }
                let store = Arc::new(builder.build()?);
                let prefix = parsed.path().trim_matches('/');
                let whole: Arc<dyn ObjectStore> = store.clone();
                let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    whole
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(whole, prefix))
                };
                Ok(BlobStorage {
                    objects,
                    local_root: None,
                    multipart: Some(MultipartTarget {
                        store,
                        prefix: prefix.to_string(),
                    }),
                })
            }
            other => anyhow::bail!("unsupported storage URL scheme {other:?}; use s3:// or file://"),
        }
    }

    fn blob_key(digest: &Digest) -> Key {
        let hex = digest.hex();
        Key::from(format!(
            "blobs/{}/{}/{}",
            digest.algorithm().name(),
            &hex[..2],
            hex
        ))
    }

    /// On the local filesystem, flushes the object and its directory to disk: object_store
    /// renames into place but does not fsync, and an acknowledged blob must survive a crash.
    async fn sync(&self, key: &Key) -> Result<(), BlobError> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let path = root.join(key.as_ref());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&path)?.sync_all()?;
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
        Ok(())
    }

    /// Whether the storage answers: a lookup of a blob, whether or not it is there.
    pub async fn ping(&self) -> Result<(), BlobError> {
        self.exists(&Digest::of(digest::Algorithm::Sha256, b""))
            .await
            .map(|_| ())
    }

    /// Whether the blob exists in storage.
    pub async fn exists(&self, digest: &Digest) -> Result<bool, BlobError> {
        match self.objects.head(&Self::blob_key(digest)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(BlobError::Storage(e)),
        }
    }

    /// Streams a blob, or the byte range `range` of it.
    pub async fn read(
        &self,
        digest: &Digest,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self
            .objects
            .get_opts(&Self::blob_key(digest), options)
            .await
            .map_err(storage_error)?;
        let range = got.range.clone();
        match got.payload {
            // `object_store` would read a local file in 8 KiB pieces; larger reads make
            // pulls several times cheaper.
            GetResultPayload::File(file, _) => Ok(read_file(file, range)),
            GetResultPayload::Stream(stream) => Ok(stream.map_err(storage_error).boxed()),
        }
    }

    pub async fn delete(&self, digest: &Digest) -> Result<(), BlobError> {
        match self.objects.delete(&Self::blob_key(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError::Storage(e)),
        }
    }
}

/// Streams the byte range `range` of a local file in [`READ_SIZE`] pieces.
fn read_file(file: std::fs::File, range: Range<u64>) -> BoxStream<'static, Result<Bytes, BlobError>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let state = (tokio::fs::File::from_std(file), range.start, range.end, false);
    futures_util::stream::try_unfold(state, |(mut file, at, end, seeked)| async move {
        if at >= end {
            return Ok(None);
        }
        if !seeked {
            file.seek(std::io::SeekFrom::Start(at)).await?;
        }
        let want = READ_SIZE.min((end - at) as usize);
        let mut buf = vec![0; want];
        let mut filled = 0;
        while filled < want {
            let n = file.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Err(BlobError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "blob file is shorter than its size",
                )));
            }
            filled += n;
        }
        let next = at + want as u64;
        Ok(Some((Bytes::from(buf), (file, next, end, true))))
    })
    .boxed()
}
