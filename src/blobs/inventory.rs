//! What blob storage holds, for `wharf fsck`: the size of one blob, its digest as
//! recomputed from its bytes, and the list of every blob object. Only fsck lists the
//! storage; nothing on a request path does.

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

use super::digest::Digest;
use super::{BlobError, BlobStorage};

/// A blob object found in storage.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub digest: Digest,
    pub size: u64,
    /// When it was last written, in microseconds since the epoch.
    pub modified_micros: i64,
}

impl BlobStorage {
    /// The size of the blob `digest`, or `None` when storage has no such object.
    pub async fn size_of(&self, digest: &Digest) -> Result<Option<u64>, BlobError> {
        match self.objects.head(&Self::blob_key(digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(BlobError::Storage(e)),
        }
    }

    /// The digest of the bytes stored as `digest`, computed with the same algorithm.
    pub async fn recompute(&self, digest: &Digest) -> Result<Digest, BlobError> {
        let mut hasher = digest.algorithm().hasher();
        let mut stream = self.read(digest, None).await?;
        while let Some(piece) = stream.next().await {
            hasher.update(&piece?);
        }
        Ok(hasher.finish())
    }

    /// Every blob object in storage. Objects under `blobs/` whose key names no valid
    /// digest are skipped (nothing Wharf writes looks like that).
    pub fn list_blobs(&self) -> BoxStream<'_, Result<StoredBlob, BlobError>> {
        let prefix = object_store::path::Path::from("blobs");
        self.objects
            .list(Some(&prefix))
            .map_err(BlobError::Storage)
            .try_filter_map(|meta| async move {
                let mut parts = meta.location.parts();
                let (_, algorithm, _, hex) = (parts.next(), parts.next(), parts.next(), parts.next());
                let digest = match (algorithm, hex) {
                    (Some(algorithm), Some(hex)) => {
                        Digest::parse(&format!("{}:{}", algorithm.as_ref(), hex.as_ref()))
                    }
                    _ => None,
                };
                Ok(digest.map(|digest| StoredBlob {
                    digest,
                    size: meta.size,
                    modified_micros: meta.last_modified.timestamp_micros(),
                }))
            })
            .boxed()
    }
}
