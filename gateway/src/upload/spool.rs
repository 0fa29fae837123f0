//! Streams a request body to a temporary file (which the analysis decodes), hashing and
//! counting it on the way, and hands it to the bucket's transfer in parts of
//! [`PART_SIZE`] as they fill, so the transfer overlaps the arrival. An upload of any size
//! costs a few parts of memory, and is refused as soon as it passes the size limit.

use crate::error::{ApiError, ApiResult};
use crate::upload::store::{Part, PART_SIZE};
use axum::body::Body;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::Arc;
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

pub struct Spooled {
    /// Deleted when dropped, whatever happened to the upload.
    pub file: Arc<NamedTempFile>,
    pub size: u64,
    pub sha256: String,
}

pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("an upload may have at most {limit} bytes (COSOUND_MAX_UPLOAD_BYTES)"),
    )
}

/// Spools `body`, sending its parts to `parts`; only a body that arrived whole and within
/// `limit` ends with a `last` part. Should the transfer stop early (the bucket failed), the
/// body is still spooled: whether it is audio decides the answer.
pub async fn spool(body: Body, limit: u64, parts: mpsc::Sender<Part>) -> ApiResult<Spooled> {
    let file = Arc::new(NamedTempFile::new().map_err(internal)?);
    let mut hash = Sha256::new();
    let mut size = 0u64;
    // One allocation per part: the part sent keeps its buffer, the next fills a new one.
    let mut filling = BytesMut::with_capacity(PART_SIZE);
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request(
                "upload_interrupted",
                format!("the upload was interrupted: {error}"),
            )
        })?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large(limit));
        }
        hash.update(&chunk);
        filling.extend_from_slice(&chunk);
        // A part is sent only once more bytes follow it, so the last part is never empty.
        while filling.len() > PART_SIZE {
            hand_over(&file, &parts, filling.split_to(PART_SIZE).freeze(), false).await?;
            filling.reserve(PART_SIZE);
        }
    }
    if size == 0 {
        return Err(ApiError::bad_request(
            "empty_upload",
            "the request body is empty: send the audio file as the body",
        ));
    }
    hand_over(&file, &parts, filling.freeze(), true).await?;
    let sha256 = hex::encode(hash.finalize());
    Ok(Spooled { file, size, sha256 })
}

/// Sends a part to the transfer (which may have stopped), then appends it to the file on a
/// blocking thread: one write per part, not per chunk.
async fn hand_over(
    file: &Arc<NamedTempFile>,
    parts: &mpsc::Sender<Part>,
    part: Bytes,
    last: bool,
) -> ApiResult<()> {
    let _ = parts
        .send(Part {
            bytes: part.clone(),
            last,
        })
        .await;
    let file = file.clone();
    tokio::task::spawn_blocking(move || file.as_file().write_all(&part))
        .await
        .map_err(std::io::Error::other)
        .and_then(|written| written)
        .map_err(internal)
}

fn internal(error: std::io::Error) -> ApiError {
    tracing::error!(%error, "cannot write the upload to a temporary file");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "spool_failed",
        "the gateway cannot store the upload temporarily",
    )
}
