//! `GET /healthz`: whether the gateway can reach the database and use the S3 bucket.
//!
//! The S3 check writes a small object, reads it back and deletes it, because a bucket that
//! lists but refuses writes would still break every upload.

use crate::state::AppState;
use aws_sdk_s3::primitives::ByteStream;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

#[derive(Serialize)]
pub struct Health {
    pub database: Check,
    pub s3: Check,
}

#[derive(Serialize)]
pub struct Check {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl<E: std::fmt::Display> From<Result<(), E>> for Check {
    fn from(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => Check {
                ok: true,
                error: None,
            },
            Err(error) => Check {
                ok: false,
                error: Some(error.to_string()),
            },
        }
    }
}

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (database, s3) = tokio::join!(database(&state), s3_round_trip(&state));
    let health = Health {
        database: database.into(),
        s3: s3.into(),
    };
    let status = if health.database.ok && health.s3.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !health.database.ok || !health.s3.ok {
        tracing::warn!(database = ?health.database.error, s3 = ?health.s3.error, "health check failed");
    }
    (status, Json(health))
}

async fn database(state: &AppState) -> Result<(), String> {
    let client = state
        .db
        .get()
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    client
        .query_one("select 1", &[])
        .await
        .map_err(|e| format!("query failed: {e}"))?;
    Ok(())
}

async fn s3_round_trip(state: &AppState) -> Result<(), String> {
    let key = format!("healthz/{}", uuid::Uuid::new_v4());
    let body = key.clone().into_bytes();
    let s3 = &state.s3;
    s3.put_object()
        .bucket(&state.bucket)
        .key(&key)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .map_err(|e| format!("put failed: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let read = s3.get_object().bucket(&state.bucket).key(&key).send().await;
    let deleted = s3
        .delete_object()
        .bucket(&state.bucket)
        .key(&key)
        .send()
        .await;
    let read = read
        .map_err(|e| format!("get failed: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?
        .body
        .collect()
        .await
        .map_err(|e| format!("reading the object failed: {e}"))?
        .into_bytes();
    if read.as_ref() != body.as_slice() {
        return Err("the object read back differs from the one written".into());
    }
    deleted.map_err(|e| {
        format!(
            "delete failed: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        )
    })?;
    Ok(())
}
