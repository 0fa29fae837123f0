//! The gateway's one error type: every refusal is a status, a stable code for programs and a
//! message for people, sent as `{ "error": code, "message": text }`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
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
    /// The song the refusal is about (a 409 names the one already holding the upload), so a
    /// client can go on with it.
    pub song_id: Option<i64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            song_id: None,
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

    pub fn with_song(mut self, id: i64) -> Self {
        self.song_id = Some(id);
        self
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

/// A request body that is not the JSON asked for: 415 without `Content-Type: application/json`,
/// 400 when it does not parse (an empty body included), 422 when it parses but lacks a field or
/// has one of the wrong type, 413 when it is too large.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let (code, message) = match &rejection {
            JsonRejection::MissingJsonContentType(_) => (
                "unsupported_media_type",
                "send the body as JSON, with `Content-Type: application/json`".to_string(),
            ),
            JsonRejection::JsonSyntaxError(_) => (
                "malformed_json",
                format!("the body is not valid JSON: {}", rejection.body_text()),
            ),
            JsonRejection::JsonDataError(_) => (
                "invalid_body",
                format!(
                    "the JSON body is not what this call takes: {}",
                    rejection.body_text()
                ),
            ),
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => (
                "body_too_large",
                format!("the body is too large: {}", rejection.body_text()),
            ),
            _ => (
                "unreadable_body",
                format!("the body could not be read: {}", rejection.body_text()),
            ),
        };
        Self::new(status, code, message)
    }
}

/// A path segment of the wrong type, such as `/media/abc` for a song id (400).
impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        let code = match rejection.status() {
            status if status.is_client_error() => "invalid_path",
            _ => "internal",
        };
        Self::new(rejection.status(), code, rejection.body_text())
    }
}

/// A query string that does not parse into the call's parameters (400).
impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(rejection.status(), "invalid_query", rejection.body_text())
    }
}

/// The router's fallback: no endpoint at this path (404).
pub async fn no_such_endpoint(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "the gateway has no endpoint {method} {}",
        uri.path()
    ))
}

/// The routes' fallback for a method they do not take (405; axum still sends `Allow`).
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}", uri.path()),
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(id) = self.song_id {
            body["song_id"] = id.into();
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
