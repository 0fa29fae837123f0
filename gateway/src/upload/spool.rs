//! Streams a request body to a temporary file, hashing and counting it on the way, so an
//! upload of any size costs one chunk of memory, and refusing it as soon as it passes the
//! size limit.

use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::http::StatusCode;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

pub struct Spooled {
    /// Deleted when dropped, whatever happened to the upload.
    pub file: NamedTempFile,
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

pub async fn spool(body: Body, limit: u64) -> ApiResult<Spooled> {
    let file = NamedTempFile::new().map_err(internal)?;
    let mut writer = tokio::fs::File::from_std(file.reopen().map_err(internal)?);
    let mut hash = Sha256::new();
    let mut size = 0u64;
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
        writer.write_all(&chunk).await.map_err(internal)?;
    }
    writer.flush().await.map_err(internal)?;
    if size == 0 {
        return Err(ApiError::bad_request(
            "empty_upload",
            "the request body is empty: send the audio file as the body",
        ));
    }
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Spooled { file, size, sha256 })
}

fn internal(error: std::io::Error) -> ApiError {
    tracing::error!(%error, "cannot write the upload to a temporary file");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "spool_failed",
        "the gateway cannot store the upload temporarily",
    )
}
