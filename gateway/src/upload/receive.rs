//! Receives a request body: hashes and counts it, and hands it on while it arrives, to the
//! bucket's transfer in parts of [`PART_SIZE`] as they fill and to the audio analysis chunk
//! by chunk ([`Chunks`]), so that both overlap the arrival and are done soon after its last
//! byte. An upload of any size costs a few parts of memory, touches no disk, and is refused as
//! soon as it passes the size limit.

use crate::error::{ApiError, ApiResult};
use crate::upload::store::{Part, PART_SIZE};
use axum::body::Body;
use axum::http::StatusCode;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Read;
use tokio::sync::mpsc;

/// Chunks received ahead of the analysis, at most: then the body waits for it.
const CHUNKS_AHEAD: usize = 64;

pub struct Received {
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

/// The body as the analysis reads it, on a blocking thread: each chunk as it arrives, and the
/// end once the body ended (or was refused, which the analysis need not tell apart: its answer
/// is then not asked for).
pub struct Chunks {
    received: mpsc::Receiver<Bytes>,
    current: Bytes,
}

/// The analysis's side of the body, and the sender [`receive`] feeds it through.
pub fn chunks() -> (mpsc::Sender<Bytes>, Chunks) {
    let (send, received) = mpsc::channel(CHUNKS_AHEAD);
    (
        send,
        Chunks {
            received,
            current: Bytes::new(),
        },
    )
}

impl Read for Chunks {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.received.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buffer.len().min(self.current.len());
        buffer[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Receives `body`, sending its parts to `parts` and its chunks to `analysis`; only a body
/// that arrived whole and within `limit` ends with a `last` part. Either may stop early (the
/// bucket failed, the analysis saw enough): the body is still received whole, since whether
/// it is audio decides the answer.
pub async fn receive(
    body: Body,
    limit: u64,
    parts: mpsc::Sender<Part>,
    analysis: mpsc::Sender<Bytes>,
) -> ApiResult<Received> {
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
        // The analysis gone (it has seen enough) is no reason to stop receiving.
        let _ = analysis.send(chunk).await;
        // A part is sent only once more bytes follow it, so the last part is never empty.
        while filling.len() > PART_SIZE {
            hand_over(&parts, filling.split_to(PART_SIZE).freeze(), false).await;
            filling.reserve(PART_SIZE);
        }
    }
    if size == 0 {
        return Err(ApiError::bad_request(
            "empty_upload",
            "the request body is empty: send the audio file as the body",
        ));
    }
    hand_over(&parts, filling.freeze(), true).await;
    Ok(Received {
        size,
        sha256: hex::encode(hash.finalize()),
    })
}

/// Sends a part to the transfer, which may have stopped.
async fn hand_over(parts: &mpsc::Sender<Part>, part: Bytes, last: bool) {
    let _ = parts.send(Part { bytes: part, last }).await;
}
