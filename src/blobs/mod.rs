//! Blob storage: content-addressed layers and configs, through `object_store`, on the local
//! filesystem under the data directory (the default) or on any S3-compatible store.
//!
//! Keys: `blobs/<algorithm>/<first two hex>/<hex>` for committed blobs, and
//! `uploads/<upload id>/<part>` for the parts of an upload in progress. A blob becomes
//! visible only by being committed: its bytes are first written under an upload key, their
//! digest verified, and then moved to the blob key (and, on the filesystem, synced to disk)
//! before the metadata store records it. Bodies stream through in bounded chunks: memory does
//! not grow with blob size.

pub mod digest;
mod inventory;

pub use inventory::StoredBlob;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, WriteMultipart};

pub use digest::{Algorithm, Digest, Hasher};

/// Parts are uploaded to object storage in chunks of this size (S3 wants at least 5 MiB
/// per part but the last).
const CHUNK_SIZE: usize = 8 * 1024 * 1024;
/// On the local filesystem a chunk is just a write: smaller ones keep a push's memory low.
const LOCAL_CHUNK_SIZE: usize = 1024 * 1024;
/// Local files are read in pieces of this size.
const READ_SIZE: usize = 256 * 1024;
/// The largest object S3 copies server-side (CopyObject).
const MAX_SERVER_SIDE_COPY: u64 = 5 * 1024 * 1024 * 1024;
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

fn storage_error(err: object_store::Error) -> BlobError {
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
                let store = builder.build()?;
                let prefix = parsed.path().trim_matches('/');
                let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
                };
                Ok(BlobStorage {
                    objects,
                    local_root: None,
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

    fn part_key(upload_id: &str, part: i64) -> Key {
        Key::from(format!("uploads/{upload_id}/{part}"))
    }

    /// Streams `body` into part `part` of upload `upload_id`, feeding `hasher` on the way.
    /// Returns the number of bytes written. Fails with [`BlobError::Body`] (and leaves no
    /// part behind) when the body errs or exceeds `max_bytes`.
    pub async fn write_part<S, E>(
        &self,
        upload_id: &str,
        part: i64,
        body: S,
        max_bytes: u64,
        hasher: &mut Option<Hasher>,
    ) -> Result<u64, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let key = Self::part_key(upload_id, part);
        let upload = self.objects.put_multipart(&key).await.map_err(storage_error)?;
        let chunk_size = if self.local_root.is_some() {
            LOCAL_CHUNK_SIZE
        } else {
            CHUNK_SIZE
        };
        let mut writer = WriteMultipart::new_with_chunk_size(upload, chunk_size);
        let mut written: u64 = 0;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(BlobError::Body(e.to_string()));
                }
            };
            written += chunk.len() as u64;
            if written > max_bytes {
                let _ = writer.abort().await;
                return Err(BlobError::Body(format!("more than {max_bytes} bytes")));
            }
            if let Some(hasher) = hasher {
                hasher.update(&chunk);
            }
            if let Err(e) = writer.wait_for_capacity(MAX_CONCURRENT_CHUNKS).await {
                return Err(storage_error(e));
            }
            writer.put(chunk);
        }
        writer.finish().await.map_err(storage_error)?;
        Ok(written)
    }

    /// The bytes of parts `0..parts` of an upload, in order.
    pub fn read_parts(&self, upload_id: &str, parts: i64) -> BoxStream<'static, Result<Bytes, BlobError>> {
        let objects = self.objects.clone();
        let upload_id = upload_id.to_string();
        futures_util::stream::iter(0..parts)
            .then(move |part| {
                let objects = objects.clone();
                let key = Self::part_key(&upload_id, part);
                async move { objects.get(&key).await.map_err(storage_error) }
            })
            .map_ok(|got| got.into_stream().map_err(storage_error))
            .try_flatten()
            .boxed()
    }

    /// Makes the upload's parts the blob `digest`: the one part is moved into place, several
    /// are concatenated. The blob is on durable storage when this returns.
    pub async fn commit_upload(
        &self,
        upload_id: &str,
        parts: i64,
        size: u64,
        digest: &Digest,
    ) -> Result<(), BlobError> {
        let target = Self::blob_key(digest);
        // S3 renames by a server-side copy, which CopyObject limits to 5 GiB; a larger single
        // part is streamed into place like several parts are.
        if parts == 1 && (self.local_root.is_some() || size <= MAX_SERVER_SIDE_COPY) {
            self.objects
                .rename(&Self::part_key(upload_id, 0), &target)
                .await
                .map_err(storage_error)?;
        } else {
            let upload = self.objects.put_multipart(&target).await.map_err(storage_error)?;
            let chunk_size = if self.local_root.is_some() {
                LOCAL_CHUNK_SIZE
            } else {
                CHUNK_SIZE
            };
            let mut writer = WriteMultipart::new_with_chunk_size(upload, chunk_size);
            let mut bytes = self.read_parts(upload_id, parts);
            while let Some(chunk) = bytes.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(e);
                    }
                };
                writer
                    .wait_for_capacity(MAX_CONCURRENT_CHUNKS)
                    .await
                    .map_err(storage_error)?;
                writer.put(chunk);
            }
            writer.finish().await.map_err(storage_error)?;
        }
        self.sync(&target).await?;
        self.discard_upload(upload_id, parts).await;
        Ok(())
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

    /// Deletes what is left of an upload (best effort: leftovers are garbage, never data).
    pub async fn discard_upload(&self, upload_id: &str, parts: i64) {
        for part in 0..parts {
            self.discard_part(upload_id, part).await;
        }
    }

    /// Deletes one part of an upload (best effort).
    pub async fn discard_part(&self, upload_id: &str, part: i64) {
        if let Err(e) = self.objects.delete(&Self::part_key(upload_id, part)).await {
            if !matches!(e, object_store::Error::NotFound { .. }) {
                tracing::warn!(upload_id, part, error = %e, "cannot delete upload part");
            }
        }
    }

    /// Whether the blob exists in storage.
    /// Whether the storage answers: a lookup of a blob, whether or not it is there.
    pub async fn ping(&self) -> Result<(), BlobError> {
        self.exists(&Digest::of(digest::Algorithm::Sha256, b""))
            .await
            .map(|_| ())
    }

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
