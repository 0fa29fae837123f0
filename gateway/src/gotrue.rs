//! `/auth/v1/…`: what Supabase Auth (GoTrue) answers in a password sign-in's life — sign up,
//! sign in, refresh, who am I, sign out — with GoTrue's request and response shapes and error
//! codes, so that supabase-js runs unchanged against the local stack. The accounts, sessions
//! and refresh tokens are the local sign-in's, in the database (`supabase/local/auth`); this
//! module only translates. On a hosted Supabase project, GoTrue itself serves these paths.

use crate::auth::{self, UserSession};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;
use tower_http::cors::{Any, CorsLayer};

/// Clients name the error format they read; from this version on, GoTrue answers
/// `{ code, message }` with the error code in `code`, and says so in the same header.
const API_VERSION: HeaderName = HeaderName::from_static("x-supabase-api-version");
const DATED_FORMAT: &str = "2024-01-01";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/v1/signup", post(sign_up))
        .route("/auth/v1/token", post(token))
        .route("/auth/v1/user", get(user))
        .route("/auth/v1/logout", post(logout))
        .layer(middleware::from_fn(error_format))
        // Credentials and refresh tokens are small: nothing larger is read.
        .layer(DefaultBodyLimit::max(crate::rest::MAX_BODY_BYTES))
        // Apps served from elsewhere (a dev server, a phone) call these, as they call GoTrue.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers(Any)
                .expose_headers([API_VERSION]),
        )
}

/// A refusal in GoTrue's words: its HTTP status, its error code, a message for people.
#[derive(Debug, Clone)]
pub struct AuthError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// GoTrue's `weak_password.reasons`: `length`, `characters`.
    reasons: Option<Vec<&'static str>>,
}

impl AuthError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AuthError {
            status,
            code,
            message: message.into(),
            reasons: None,
        }
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// GoTrue's original body: `{ code: status, error_code, msg }`.
    fn legacy_body(&self) -> Value {
        let mut body = json!({
            "code": self.status.as_u16(),
            "error_code": self.code,
            "msg": self.message,
        });
        self.add_reasons(&mut body);
        body
    }

    /// The body from API version 2024-01-01 on: `{ code, message }`.
    fn dated_body(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        self.add_reasons(&mut body);
        body
    }

    fn add_reasons(&self, body: &mut Value) {
        if let Some(reasons) = &self.reasons {
            body["weak_password"] = json!({ "reasons": reasons });
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.legacy_body())).into_response();
        // Kept so that `error_format` can answer in the format the client asked for.
        response.extensions_mut().insert(self);
        response
    }
}

/// Answers a client that sent `X-Supabase-Api-Version: 2024-01-01` (or later) in that
/// version's format, as GoTrue does; others get the original one.
async fn error_format(request: Request, next: Next) -> Response {
    let dated = request
        .headers()
        .get(&API_VERSION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|date| date.len() == DATED_FORMAT.len() && date >= DATED_FORMAT);
    let mut response = next.run(request).await;
    if dated {
        if let Some(error) = response.extensions_mut().remove::<AuthError>() {
            response = (error.status, Json(error.dated_body())).into_response();
        }
        response
            .headers_mut()
            .insert(API_VERSION, HeaderValue::from_static(DATED_FORMAT));
    }
    response
}

type AuthResult<T> = Result<T, AuthError>;

/// A request body as GoTrue reads it: JSON, unknown fields ignored.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> AuthResult<T> {
    serde_json::from_slice(bytes).map_err(|error| {
        AuthError::bad_request(
            "bad_json",
            format!("Could not parse request body as JSON: {error}"),
        )
    })
}

/// A database failure: an outage is 503 (supabase-js retries those), anything else a bug.
fn unexpected(error: tokio_postgres::Error) -> AuthError {
    let api_error = crate::error::ApiError::from(error);
    let (status, code) = if api_error.status == StatusCode::SERVICE_UNAVAILABLE {
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure")
    };
    AuthError::new(status, code, api_error.message)
}

fn pool_failure(error: deadpool_postgres::PoolError) -> AuthError {
    let api_error = crate::error::ApiError::from(error);
    AuthError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        api_error.message,
    )
}

#[derive(Deserialize)]
struct Credentials {
    email: Option<String>,
    password: Option<String>,
}

impl Credentials {
    fn both(self, status: StatusCode) -> AuthResult<(String, String)> {
        match (self.email, self.password) {
            (Some(email), Some(password)) if !email.trim().is_empty() && !password.is_empty() => {
                Ok((email, password))
            }
            _ => Err(AuthError::new(
                status,
                "validation_failed",
                "an e-mail address and a password are required",
            )),
        }
    }
}

/// `POST /auth/v1/signup {email, password}`: the same answer whether the address is new or
/// taken, as GoTrue gives when addresses are confirmed: a user with no session and a fresh
/// id, so nothing tells who has an account. The caller signs in next.
async fn sign_up(State(state): State<AppState>, bytes: Bytes) -> AuthResult<Json<Value>> {
    let (email, password) = body::<Credentials>(&bytes)?.both(StatusCode::UNPROCESSABLE_ENTITY)?;
    let user = query_value(
        &state,
        "select json_build_object(
           'id', gen_random_uuid(), 'aud', 'authenticated', 'role', '',
           'email', api.sign_up($1, $2) ->> 'email', 'phone', '',
           'app_metadata', json_build_object('provider', 'email', 'providers', json_build_array('email')),
           'user_metadata', '{}'::json, 'identities', '[]'::json, 'is_anonymous', false,
           'created_at', now(), 'updated_at', now())",
        &[&email, &password],
        |error| match error.code() {
            Some(code) if code.code() == "PT400" => Some(AuthError::bad_request(
                "email_address_invalid",
                db_message(error),
            )),
            Some(&SqlState::INVALID_PARAMETER_VALUE) => {
                let message = db_message(error);
                Some(AuthError {
                    reasons: Some(vec![weakness(&message)]),
                    ..AuthError::new(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", message)
                })
            }
            _ => None,
        },
    )
    .await?;
    Ok(Json(user.unwrap_or_default()))
}

fn db_message(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map(|db| db.message().to_string())
        .unwrap_or_default()
}

/// GoTrue's reason for a weak password, from the extension's refusal.
fn weakness(message: &str) -> &'static str {
    if message.contains("mix") {
        "characters"
    } else {
        "length"
    }
}

#[derive(Deserialize)]
struct Grant {
    grant_type: Option<String>,
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: Option<String>,
}

/// `POST /auth/v1/token?grant_type=password {email, password}` signs in;
/// `…?grant_type=refresh_token {refresh_token}` trades a refresh token for the next session.
async fn token(
    State(state): State<AppState>,
    Query(grant): Query<Grant>,
    bytes: Bytes,
) -> AuthResult<Json<Value>> {
    match grant.grant_type.as_deref() {
        Some("password") => {
            let (email, password) = body::<Credentials>(&bytes)?.both(StatusCode::BAD_REQUEST)?;
            let answer = query_value(
                &state,
                "select auth.local_sign_in($1, $2)",
                &[&email, &password],
                |_| None,
            )
            .await?
            .unwrap_or(Value::Null);
            match answer.get("refused").and_then(Value::as_u64) {
                None => Ok(Json(answer)),
                Some(429) => Err(AuthError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "over_request_rate_limit",
                    format!(
                        "Too many failed sign-ins for this e-mail address: try again in {} s",
                        answer["retry_after"]
                    ),
                )),
                Some(_) => Err(AuthError::bad_request(
                    "invalid_credentials",
                    "Invalid login credentials",
                )),
            }
        }
        Some("refresh_token") => {
            let refresh = body::<RefreshRequest>(&bytes)?
                .refresh_token
                .filter(|token| !token.is_empty())
                .ok_or_else(|| {
                    AuthError::bad_request("validation_failed", "refresh_token is required")
                })?;
            let answer = query_value(&state, "select auth.local_refresh($1)", &[&refresh], |_| {
                None
            })
            .await?
            .unwrap_or(Value::Null);
            match answer.get("error_code").and_then(Value::as_str) {
                None => Ok(Json(answer)),
                Some(code) => Err(AuthError::bad_request(
                    refusal_code(code),
                    answer["msg"].as_str().unwrap_or("Invalid Refresh Token"),
                )),
            }
        }
        other => Err(AuthError::bad_request(
            "unsupported_grant_type",
            format!(
                "unsupported grant_type {:?}: use password or refresh_token",
                other.unwrap_or("")
            ),
        )),
    }
}

/// The database's refresh refusals, as the static codes GoTrue uses.
fn refusal_code(code: &str) -> &'static str {
    match code {
        "refresh_token_already_used" => "refresh_token_already_used",
        "session_not_found" => "session_not_found",
        "session_expired" => "session_expired",
        _ => "refresh_token_not_found",
    }
}

type Params<'a> = &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)];

/// The one value `sql` returns; `refusal` turns the errors the call expects into GoTrue's,
/// any other is unexpected.
async fn query_value(
    state: &AppState,
    sql: &str,
    params: Params<'_>,
    refusal: impl Fn(&tokio_postgres::Error) -> Option<AuthError>,
) -> AuthResult<Option<Value>> {
    let client = state.db.get().await.map_err(pool_failure)?;
    match client.query_one(sql, params).await {
        Ok(row) => Ok(row.get(0)),
        Err(error) => Err(refusal(&error).unwrap_or_else(|| unexpected(error))),
    }
}

/// The signed-in user of a request, as GoTrue checks it: no token is 401, a bad one 403.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> AuthResult<UserSession> {
    let token = auth::bearer_token(headers).map_err(|error| {
        if error.code == "missing_token" {
            AuthError::new(
                StatusCode::UNAUTHORIZED,
                "no_authorization",
                "This endpoint requires a Bearer token",
            )
        } else {
            AuthError::new(StatusCode::FORBIDDEN, "bad_jwt", error.message)
        }
    })?;
    state
        .keys
        .user_session(state, token)
        .await
        .map_err(|error| {
            if error.status == StatusCode::SERVICE_UNAVAILABLE {
                AuthError::new(error.status, "service_unavailable", error.message)
            } else {
                AuthError::new(StatusCode::FORBIDDEN, "bad_jwt", error.message)
            }
        })
}

/// `GET /auth/v1/user`: the user of a live session.
async fn user(State(state): State<AppState>, headers: HeaderMap) -> AuthResult<Json<Value>> {
    let caller = signed_in(&state, &headers).await?;
    query_value(
        &state,
        "select auth.local_user($1, $2)",
        &[&caller.user_id, &caller.session_id],
        |_| None,
    )
    .await?
    .map(Json)
    .ok_or_else(|| {
        AuthError::new(
            StatusCode::FORBIDDEN,
            "session_not_found",
            "Session from session_id claim in JWT does not exist",
        )
    })
}

#[derive(Deserialize)]
struct Scope {
    scope: Option<String>,
}

/// `POST /auth/v1/logout?scope=global|local|others`: ends sessions; their refresh tokens stop
/// working at once, their access tokens run out within the hour.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(scope): Query<Scope>,
) -> AuthResult<StatusCode> {
    let caller = signed_in(&state, &headers).await?;
    let scope = scope.scope.unwrap_or_else(|| "global".to_string());
    if !matches!(scope.as_str(), "global" | "local" | "others") {
        return Err(AuthError::bad_request(
            "validation_failed",
            "scope must be global, local or others",
        ));
    }
    let client = state.db.get().await.map_err(pool_failure)?;
    client
        .execute(
            "select auth.local_sign_out($1, $2, $3)",
            &[&caller.user_id, &caller.session_id, &scope],
        )
        .await
        .map_err(unexpected)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_has_both_of_gotrues_formats() {
        let error = AuthError {
            reasons: Some(vec!["length"]),
            ..AuthError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "weak_password",
                "too short",
            )
        };
        assert_eq!(
            error.legacy_body(),
            json!({"code": 422, "error_code": "weak_password", "msg": "too short",
                   "weak_password": {"reasons": ["length"]}})
        );
        assert_eq!(
            error.dated_body(),
            json!({"code": "weak_password", "message": "too short",
                   "weak_password": {"reasons": ["length"]}})
        );
    }

    #[test]
    fn a_weak_password_is_named_by_its_reason() {
        assert_eq!(
            weakness("the password must have at least 8 characters"),
            "length"
        );
        assert_eq!(
            weakness("the password must mix at least two of: letters, digits, other characters"),
            "characters"
        );
    }
}
