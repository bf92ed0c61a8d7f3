//! Uploads in progress: how the chunks of an OCI upload land in storage, and how they become
//! one object to verify and commit. Everything needed to continue an upload is in
//! [`UploadState`], which the upload session row persists, so any instance can take the next
//! chunk.
//!
//! - **Filesystem**: each write (`PATCH`) is an object `uploads/<id>/<n>`; finishing
//!   concatenates them (or, for one, takes it as it is).
//! - **S3**: bytes go into an S3 multipart upload at `uploads/<id>/data` in parts of
//!   [`PART_SIZE`] (S3 wants at least 5 MiB per part but the last); what a write leaves over,
//!   less than a part, is kept as the object `uploads/<id>/<n>` (the *tail*) and read back by
//!   the next write. Finishing sends the tail as the last part and completes the multipart
//!   upload; the bytes never travel through Wharf again. The multipart upload id and the part
//!   ids are in the state; abandoned uploads are aborted by [`BlobStorage::discard_upload`].

use axum::body::Bytes;
use bytes::BytesMut;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::multipart::PartId;
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutPayload, WriteMultipart};

use super::{storage_error, BlobError, BlobStorage, Digest, Hasher, MultipartTarget};

/// Size of the parts of an S3 multipart upload (all but the last).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// The largest object S3 copies server-side (CopyObject).
const MAX_SERVER_SIDE_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// Where an upload in progress stands in storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadState {
    pub id: String,
    /// Bytes received.
    pub size: u64,
    /// Writes so far; write `n` left the object `uploads/<id>/<n>` (on S3, only the last
    /// write's object, the tail, still exists).
    pub writes: i64,
    /// S3: the multipart upload holding the full parts, once there is one.
    pub multipart_id: Option<String>,
    /// S3: the ids of the parts uploaded, in order.
    pub part_ids: Vec<String>,
    /// S3: bytes in the tail object, not yet in a part.
    pub tail_size: u64,
}

/// An upload's bytes as one object, ready to verify and commit.
pub struct Assembled {
    key: Key,
}

impl BlobStorage {
    fn part_key(upload_id: &str, part: i64) -> Key {
        Key::from(format!("uploads/{upload_id}/{part}"))
    }

    fn data_key(upload_id: &str) -> Key {
        Key::from(format!("uploads/{upload_id}/data"))
    }

    /// Streams `body` onto the upload, feeding `hasher` on the way; returns the new state
    /// (the same one when the body was empty). Fails with [`BlobError::Body`] when the body
    /// errs or exceeds `max_bytes`; what the failed write stored is removed, and the upload
    /// stands where it stood.
    pub async fn append<S, E>(
        &self,
        state: &UploadState,
        body: S,
        max_bytes: u64,
        hasher: &mut Option<Hasher>,
    ) -> Result<UploadState, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        match &self.multipart {
            Some(target) => self.append_s3(target, state, body, max_bytes, hasher).await,
            None => self.append_file(state, body, max_bytes, hasher).await,
        }
    }

    async fn append_file<S, E>(
        &self,
        state: &UploadState,
        body: S,
        max_bytes: u64,
        hasher: &mut Option<Hasher>,
    ) -> Result<UploadState, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let key = Self::part_key(&state.id, state.writes);
        let upload = self.objects.put_multipart(&key).await.map_err(storage_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, super::LOCAL_CHUNK_SIZE);
        let mut written: u64 = 0;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = match take_chunk(chunk, &mut written, max_bytes) {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e);
                }
            };
            if let Some(hasher) = hasher {
                hasher.update(&chunk);
            }
            writer
                .wait_for_capacity(super::MAX_CONCURRENT_CHUNKS)
                .await
                .map_err(storage_error)?;
            writer.put(chunk);
        }
        writer.finish().await.map_err(storage_error)?;
        if written == 0 {
            self.delete_quietly(&key).await;
            return Ok(state.clone());
        }
        Ok(UploadState {
            size: state.size + written,
            writes: state.writes + 1,
            ..state.clone()
        })
    }

    async fn append_s3<S, E>(
        &self,
        target: &MultipartTarget,
        state: &UploadState,
        body: S,
        max_bytes: u64,
        hasher: &mut Option<Hasher>,
    ) -> Result<UploadState, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let mut next = state.clone();
        // The previous write's tail comes first (already hashed, already counted).
        let mut buffer = BytesMut::with_capacity(PART_SIZE);
        if state.tail_size > 0 {
            let tail = self
                .objects
                .get(&Self::part_key(&state.id, state.writes - 1))
                .await
                .map_err(storage_error)?
                .bytes()
                .await
                .map_err(storage_error)?;
            buffer.extend_from_slice(&tail);
        }
        let mut written: u64 = 0;
        let mut body = std::pin::pin!(body);
        let outcome: Result<(), BlobError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = take_chunk(chunk, &mut written, max_bytes)?;
                if let Some(hasher) = hasher {
                    hasher.update(&chunk);
                }
                buffer.extend_from_slice(&chunk);
                while buffer.len() >= PART_SIZE {
                    let part = buffer.split_to(PART_SIZE).freeze();
                    self.put_part(target, &mut next, part).await?;
                }
            }
            Ok(())
        }
        .await;
        let tail_key = Self::part_key(&state.id, state.writes);
        let outcome = match outcome {
            Ok(()) if written == 0 => return Ok(state.clone()),
            // Ended on a part boundary: no tail.
            Ok(()) if buffer.is_empty() => Ok(()),
            Ok(()) => self
                .objects
                .put(&tail_key, PutPayload::from(buffer.freeze()))
                .await
                .map(|_| ())
                .map_err(storage_error),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            // A multipart upload this write started goes; parts it added to an older one
            // are past the recorded part ids, and the next write replaces them.
            if state.multipart_id.is_none() {
                if let Some(id) = &next.multipart_id {
                    let _ = target
                        .store
                        .abort_multipart(&target.key(&Self::data_key(&state.id)), id)
                        .await;
                }
            }
            self.delete_quietly(&tail_key).await;
            return Err(e);
        }
        next.size = state.size + written;
        next.writes = state.writes + 1;
        next.tail_size = next.size - next.part_ids.len() as u64 * PART_SIZE as u64;
        Ok(next)
    }

    /// Uploads one part of the upload's multipart upload (starting it if need be).
    async fn put_part(
        &self,
        target: &MultipartTarget,
        state: &mut UploadState,
        part: Bytes,
    ) -> Result<(), BlobError> {
        let key = target.key(&Self::data_key(&state.id));
        let id = match &state.multipart_id {
            Some(id) => id.clone(),
            None => {
                let id = target.store.create_multipart(&key).await.map_err(storage_error)?;
                state.multipart_id = Some(id.clone());
                id
            }
        };
        let part_id = target
            .store
            .put_part(&key, &id, state.part_ids.len(), PutPayload::from(part))
            .await
            .map_err(storage_error)?;
        state.part_ids.push(part_id.content_id);
        Ok(())
    }

    /// Undoes a write whose state could not be recorded (another write got there first):
    /// its object goes, and a multipart upload it started is aborted.
    pub async fn abandon_write(&self, before: &UploadState, after: &UploadState) {
        if let (Some(target), None, Some(id)) = (&self.multipart, &before.multipart_id, &after.multipart_id) {
            let _ = target
                .store
                .abort_multipart(&target.key(&Self::data_key(&after.id)), id)
                .await;
        }
        if after.writes > before.writes {
            self.delete_quietly(&Self::part_key(&after.id, after.writes - 1))
                .await;
        }
    }

    /// Deletes what a superseded write left: after a write on S3, the previous tail.
    pub async fn drop_previous_tail(&self, before: &UploadState) {
        if self.multipart.is_some() && before.tail_size > 0 {
            self.delete_quietly(&Self::part_key(&before.id, before.writes - 1))
                .await;
        }
    }

    /// Puts all of an upload's bytes into one object.
    pub async fn assemble(&self, state: &UploadState) -> Result<Assembled, BlobError> {
        let data = Self::data_key(&state.id);
        if let (Some(target), Some(id)) = (&self.multipart, &state.multipart_id) {
            let mut state = state.clone();
            if state.tail_size > 0 {
                let tail = self
                    .objects
                    .get(&Self::part_key(&state.id, state.writes - 1))
                    .await
                    .map_err(storage_error)?
                    .bytes()
                    .await
                    .map_err(storage_error)?;
                self.put_part(target, &mut state, tail).await?;
            }
            let parts = state
                .part_ids
                .iter()
                .map(|content_id| PartId {
                    content_id: content_id.clone(),
                })
                .collect();
            target
                .store
                .complete_multipart(&target.key(&data), id, parts)
                .await
                .map_err(storage_error)?;
            return Ok(Assembled { key: data });
        }
        match state.writes {
            0 => {
                self.objects
                    .put(&data, PutPayload::default())
                    .await
                    .map_err(storage_error)?;
                Ok(Assembled { key: data })
            }
            // On S3 without a multipart upload, the last tail holds every byte.
            n if n == 1 || self.multipart.is_some() => Ok(Assembled {
                key: Self::part_key(&state.id, n - 1),
            }),
            n => {
                self.write_stream(&data, self.read_parts(&state.id, n)).await?;
                Ok(Assembled { key: data })
            }
        }
    }

    /// Removes an assembled object that will not be committed, when it is a copy: the
    /// upload's own writes stay, so that the client can go on.
    pub async fn drop_assembled(&self, state: &UploadState, assembled: &Assembled) {
        if assembled.key == Self::data_key(&state.id) && state.multipart_id.is_none() {
            self.delete_quietly(&assembled.key).await;
        }
    }

    /// The bytes of parts `0..parts` of an upload, in order.
    fn read_parts(&self, upload_id: &str, parts: i64) -> BoxStream<'static, Result<Bytes, BlobError>> {
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

    /// The bytes of an assembled upload.
    pub async fn read_assembled(
        &self,
        assembled: &Assembled,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let got = self.objects.get(&assembled.key).await.map_err(storage_error)?;
        Ok(got.into_stream().map_err(storage_error).boxed())
    }

    /// Makes an assembled upload the blob `digest`, on durable storage when this returns.
    pub async fn commit_assembled(
        &self,
        assembled: &Assembled,
        size: u64,
        digest: &Digest,
    ) -> Result<(), BlobError> {
        let target = Self::blob_key(digest);
        // S3 renames by a server-side copy, which CopyObject limits to 5 GiB; a larger
        // object is streamed into place instead.
        if self.local_root.is_some() || size <= MAX_SERVER_SIDE_COPY {
            self.objects
                .rename(&assembled.key, &target)
                .await
                .map_err(storage_error)?;
        } else {
            let got = self.objects.get(&assembled.key).await.map_err(storage_error)?;
            self.write_stream(&target, got.into_stream().map_err(storage_error).boxed())
                .await?;
        }
        self.sync(&target).await
    }

    /// Writes `bytes` as the object `key`.
    async fn write_stream(
        &self,
        key: &Key,
        mut bytes: BoxStream<'static, Result<Bytes, BlobError>>,
    ) -> Result<(), BlobError> {
        let upload = self.objects.put_multipart(key).await.map_err(storage_error)?;
        let chunk_size = if self.local_root.is_some() {
            super::LOCAL_CHUNK_SIZE
        } else {
            PART_SIZE
        };
        let mut writer = WriteMultipart::new_with_chunk_size(upload, chunk_size);
        while let Some(chunk) = bytes.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e);
                }
            };
            writer
                .wait_for_capacity(super::MAX_CONCURRENT_CHUNKS)
                .await
                .map_err(storage_error)?;
            writer.put(chunk);
        }
        writer.finish().await.map_err(storage_error)?;
        Ok(())
    }

    /// Deletes everything an upload left in storage, and aborts its multipart upload (best
    /// effort: leftovers are garbage, never data).
    pub async fn discard_upload(&self, state: &UploadState) {
        if let (Some(target), Some(id)) = (&self.multipart, &state.multipart_id) {
            let key = target.key(&Self::data_key(&state.id));
            if let Err(e) = target.store.abort_multipart(&key, id).await {
                tracing::debug!(upload_id = %state.id, error = %e, "multipart upload not aborted (completed or gone)");
            }
        }
        let first = if self.multipart.is_some() {
            (state.writes - 1).max(0)
        } else {
            0
        };
        for part in first..state.writes {
            self.delete_quietly(&Self::part_key(&state.id, part)).await;
        }
        self.delete_quietly(&Self::data_key(&state.id)).await;
    }

    async fn delete_quietly(&self, key: &Key) {
        if let Err(e) = self.objects.delete(key).await {
            if !matches!(e, object_store::Error::NotFound { .. }) {
                tracing::warn!(%key, error = %e, "cannot delete an upload's leftover");
            }
        }
    }
}

/// One chunk of a request body, counted against `max_bytes`.
fn take_chunk<E: std::fmt::Display>(
    chunk: Result<Bytes, E>,
    written: &mut u64,
    max_bytes: u64,
) -> Result<Bytes, BlobError> {
    let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
    *written += chunk.len() as u64;
    if *written > max_bytes {
        return Err(BlobError::Body(format!("more than {max_bytes} bytes")));
    }
    Ok(chunk)
}
