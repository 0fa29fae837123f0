//! The gateway's one error type: every refusal is a status, a stable code for programs and a
//! message for people, sent as `{ "error": code, "message": text }`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds a client should wait before trying again (429, 503).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A dependency (database or S3) failed; the details go to the log, not to the client.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    pub fn database(error: impl std::fmt::Debug) -> Self {
        tracing::error!(error = ?error, "database call failed");
        Self::unavailable(
            "database_unavailable",
            "the database cannot be reached; try again later",
        )
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl From<tokio_postgres::Error> for ApiError {
    /// A lost connection, a server shutting down or out of resources is an outage (503);
    /// any other error the database raised is a bug here (500).
    fn from(error: tokio_postgres::Error) -> Self {
        match error.as_db_error() {
            None => Self::database(error),
            Some(db_error) if matches!(&db_error.code().code()[..2], "08" | "53" | "57") => {
                Self::database(error)
            }
            Some(db_error) => {
                tracing::error!(
                    code = db_error.code().code(),
                    message = db_error.message(),
                    detail = db_error.detail(),
                    "the database refused a gateway query"
                );
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the gateway's database query failed",
                )
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::database(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.code, "message": self.message })),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
