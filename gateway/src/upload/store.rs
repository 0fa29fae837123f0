//! Puts a spooled upload into the bucket: one PUT for a small file, an S3 multipart upload
//! in parts of [`PART_SIZE`] for a large one (each part read from disk as it is sent), and
//! an aborted multipart upload on failure, so nothing half-written stays in the bucket.

use crate::error::ApiError;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use std::path::Path;

/// S3 parts are at least 5 MiB (but the last); 8 MiB keeps the part count low.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

pub struct Object<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
}

pub fn unavailable(what: &str, error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "{what} failed");
    ApiError::unavailable(
        "storage_unavailable",
        "the audio store (S3) cannot be reached; nothing was saved, try again later",
    )
}

pub async fn put_file(
    s3: &Client,
    object: &Object<'_>,
    path: &Path,
    size: u64,
) -> Result<(), ApiError> {
    if size <= PART_SIZE {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|error| unavailable("reading the spooled upload", error))?;
        s3.put_object()
            .bucket(object.bucket)
            .key(object.key)
            .content_type(object.content_type)
            .body(body)
            .send()
            .await
            .map_err(|error| unavailable("S3 put", DisplayErrorContext(error)))?;
        return Ok(());
    }
    let created = s3
        .create_multipart_upload()
        .bucket(object.bucket)
        .key(object.key)
        .content_type(object.content_type)
        .send()
        .await
        .map_err(|error| unavailable("S3 create multipart upload", DisplayErrorContext(error)))?;
    let upload_id = created.upload_id().unwrap_or_default().to_string();
    let uploaded = upload_parts(s3, object, &upload_id, path, size).await;
    if uploaded.is_err() {
        let aborted = s3
            .abort_multipart_upload()
            .bucket(object.bucket)
            .key(object.key)
            .upload_id(&upload_id)
            .send()
            .await;
        if let Err(error) = aborted {
            tracing::warn!(error = %DisplayErrorContext(error), key = object.key, "aborting a multipart upload failed");
        }
    }
    uploaded
}

async fn upload_parts(
    s3: &Client,
    object: &Object<'_>,
    upload_id: &str,
    path: &Path,
    size: u64,
) -> Result<(), ApiError> {
    let mut parts = Vec::new();
    let mut offset = 0;
    while offset < size {
        let length = PART_SIZE.min(size - offset);
        let number = (parts.len() + 1) as i32;
        let body = ByteStream::read_from()
            .path(path)
            .offset(offset)
            .length(Length::Exact(length))
            .build()
            .await
            .map_err(|error| unavailable("reading the spooled upload", error))?;
        let part = s3
            .upload_part()
            .bucket(object.bucket)
            .key(object.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(body)
            .send()
            .await
            .map_err(|error| unavailable("S3 upload part", DisplayErrorContext(error)))?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_string))
                .build(),
        );
        offset += length;
    }
    s3.complete_multipart_upload()
        .bucket(object.bucket)
        .key(object.key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(|error| unavailable("S3 complete multipart upload", DisplayErrorContext(error)))?;
    Ok(())
}

/// Removes an object whose song row could not be written; a failure is logged with the key
/// so an operator can remove it.
pub async fn delete(s3: &Client, bucket: &str, key: &str) {
    if let Err(error) = s3.delete_object().bucket(bucket).key(key).send().await {
        tracing::error!(error = %DisplayErrorContext(error), key, "could not delete the object of a failed upload");
    }
}
