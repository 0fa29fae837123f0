//! Puts an upload into the bucket while its body is still arriving: one PUT for a body of at
//! most [`PART_SIZE`], else an S3 multipart upload whose parts go up as the body fills them
//! ([`PARTS_IN_FLIGHT`] at a time). A multipart upload is completed only when the handler
//! keeps it, so a refused upload never becomes a visible object; a single PUT is deleted.
//! The bytes are not signed (SigV4 would hash them once more, after the receiver's SHA-256):
//! the SDK's CRC32 checksum still lets the store refuse a damaged body.

use crate::error::ApiError;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::{mpsc, oneshot};

/// S3 parts are at least 5 MiB (but the last); 8 MiB keeps the part count low.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Two parts on the wire at once hide each request's latency; with the part being filled and
/// the one waiting in the channel, an upload holds at most four parts in memory.
const PARTS_IN_FLIGHT: usize = 2;

/// The next bytes of the body, in order; `last` marks the end of a body that arrived whole.
pub struct Part {
    pub bytes: Bytes,
    pub last: bool,
}

#[derive(Clone)]
pub struct Object {
    pub key: String,
    pub content_type: &'static str,
}

pub fn unavailable(what: &str, error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "{what} failed");
    ApiError::unavailable(
        "storage_unavailable",
        "the audio store (S3) cannot be reached; nothing was saved, try again later",
    )
}

/// A transfer running on its own task; dropping it (a refused or cancelled upload) removes
/// whatever it put.
pub struct Transfer {
    uploaded: oneshot::Receiver<Result<Object, ApiError>>,
    keep: oneshot::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ApiError>>,
}

impl Transfer {
    /// Stores the parts `parts` receives; `name` gives the object's key and type from the
    /// body's first bytes.
    pub fn start(
        s3: &Client,
        bucket: &str,
        parts: mpsc::Receiver<Part>,
        name: impl FnOnce(&[u8]) -> Object + Send + 'static,
    ) -> Self {
        let (uploaded_tx, uploaded) = oneshot::channel();
        let (keep, kept) = oneshot::channel();
        let bucket = Bucket {
            s3: s3.clone(),
            name: bucket.to_string(),
        };
        let task = tokio::spawn(bucket.store(parts, name, uploaded_tx, kept));
        Transfer {
            uploaded,
            keep,
            task,
        }
    }

    /// Waits until every byte is in the bucket (not yet visible, if it went up in parts).
    pub async fn uploaded(&mut self) -> Result<Object, ApiError> {
        (&mut self.uploaded)
            .await
            .unwrap_or_else(|_| Err(unavailable("the transfer", "it stopped")))
    }

    /// Makes the object visible (completes the multipart upload).
    pub async fn keep(self) -> Result<(), ApiError> {
        let _ = self.keep.send(true);
        self.task
            .await
            .unwrap_or_else(|error| Err(unavailable("the transfer", error)))
    }

    /// Removes whatever was put, before the refusal is answered.
    pub async fn discard(self) {
        let _ = self.keep.send(false);
        let _ = self.task.await;
    }
}

struct Bucket {
    s3: Client,
    name: String,
}

impl Bucket {
    async fn store(
        self,
        mut parts: mpsc::Receiver<Part>,
        name: impl FnOnce(&[u8]) -> Object,
        uploaded: oneshot::Sender<Result<Object, ApiError>>,
        kept: oneshot::Receiver<bool>,
    ) -> Result<(), ApiError> {
        // No part at all: the body was empty or failed before its first part; nothing to undo.
        let Some(first) = parts.recv().await else {
            let _ = uploaded.send(Err(incomplete()));
            return Ok(());
        };
        let object = name(&first.bytes);
        if first.last {
            if let Err(error) = self.put(&object, first.bytes).await {
                let _ = uploaded.send(Err(error));
                return Ok(());
            }
            let _ = uploaded.send(Ok(object.clone()));
            if kept.await != Ok(true) {
                self.delete(&object.key).await;
            }
            return Ok(());
        }
        let created = self
            .s3
            .create_multipart_upload()
            .bucket(&self.name)
            .key(&object.key)
            .content_type(object.content_type)
            .send()
            .await
            .map_err(|error| unavailable("S3 create multipart upload", DisplayErrorContext(error)));
        let upload_id = match created {
            Ok(created) => created.upload_id().unwrap_or_default().to_string(),
            Err(error) => {
                let _ = uploaded.send(Err(error));
                return Ok(());
            }
        };
        match self.upload_parts(&object, &upload_id, first, parts).await {
            Ok(completed) => {
                let _ = uploaded.send(Ok(object.clone()));
                if kept.await == Ok(true) {
                    let done = self.complete(&object, &upload_id, completed).await;
                    if done.is_err() {
                        self.abort(&object, &upload_id).await;
                    }
                    return done;
                }
            }
            Err(error) => {
                let _ = uploaded.send(Err(error));
            }
        }
        self.abort(&object, &upload_id).await;
        Ok(())
    }

    async fn put(&self, object: &Object, bytes: Bytes) -> Result<(), ApiError> {
        self.s3
            .put_object()
            .bucket(&self.name)
            .key(&object.key)
            .content_type(object.content_type)
            .body(bytes.into())
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|error| unavailable("S3 put", DisplayErrorContext(error)))?;
        Ok(())
    }

    /// Uploads `first` and the parts after it; refuses a body that ended without its last part.
    async fn upload_parts(
        &self,
        object: &Object,
        upload_id: &str,
        first: Part,
        rest: mpsc::Receiver<Part>,
    ) -> Result<Vec<CompletedPart>, ApiError> {
        let parts =
            futures_util::stream::once(async { first })
                .chain(futures_util::stream::unfold(rest, |mut rest| async move {
                    Some((rest.recv().await?, rest))
                }));
        let uploaded: Vec<(CompletedPart, bool)> = parts
            .enumerate()
            .map(|(index, part)| async move {
                let number = index as i32 + 1;
                let sent = self
                    .s3
                    .upload_part()
                    .bucket(&self.name)
                    .key(&object.key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .body(part.bytes.into())
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
                    .map_err(|error| unavailable("S3 upload part", DisplayErrorContext(error)))?;
                let completed = CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(sent.e_tag().map(str::to_string))
                    .build();
                Ok::<_, ApiError>((completed, part.last))
            })
            .buffered(PARTS_IN_FLIGHT)
            .try_collect()
            .await?;
        if uploaded.last().is_some_and(|(_, last)| *last) {
            Ok(uploaded.into_iter().map(|(part, _)| part).collect())
        } else {
            Err(incomplete())
        }
    }

    async fn complete(
        &self,
        object: &Object,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> Result<(), ApiError> {
        self.s3
            .complete_multipart_upload()
            .bucket(&self.name)
            .key(&object.key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| {
                unavailable("S3 complete multipart upload", DisplayErrorContext(error))
            })?;
        Ok(())
    }

    async fn abort(&self, object: &Object, upload_id: &str) {
        let aborted = self
            .s3
            .abort_multipart_upload()
            .bucket(&self.name)
            .key(&object.key)
            .upload_id(upload_id)
            .send()
            .await;
        if let Err(error) = aborted {
            tracing::warn!(error = %DisplayErrorContext(error), key = object.key, "aborting a multipart upload failed");
        }
    }

    async fn delete(&self, key: &str) {
        delete(&self.s3, &self.name, key).await;
    }
}

/// The body ended early: the receiver refused it and says why; the transfer stores nothing.
fn incomplete() -> ApiError {
    ApiError::bad_request(
        "upload_interrupted",
        "the upload ended before its last byte",
    )
}

/// Removes an object whose song row could not be written; a failure is logged with the key
/// so an operator can remove it.
pub async fn delete(s3: &Client, bucket: &str, key: &str) {
    if let Err(error) = s3.delete_object().bucket(bucket).key(key).send().await {
        tracing::error!(error = %DisplayErrorContext(error), key, "could not delete the object of a failed upload");
    }
}
