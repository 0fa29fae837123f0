//! The front door's guard on sign-ins and sign-ups (`/auth/v1/token`, `/auth/v1/signup`,
//! `/rest/v1/rpc/sign_in`, `/rest/v1/rpc/sign_up`): a limit on attempts per client address,
//! and at most a few at once. Each attempt costs a bcrypt hash on the database's cores, so a
//! crowd of them slowed every listener's reads; the rest wait their turn here. The limit per
//! e-mail address is the database's (`auth.local_sign_in`), which does not see addresses.

use crate::error::ApiError;
use crate::rate_limit::AddressLimiter;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Sign-ins hashing at once: one core's worth, leaving the others to the API.
const AT_ONCE: usize = 2;
/// How long an attempt waits for its turn before it is told to come back.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

const GUARDED: &[&str] = &[
    "/auth/v1/token",
    "/auth/v1/signup",
    "/rest/v1/rpc/sign_in",
    "/rest/v1/rpc/sign_up",
];

pub struct SignInGuard {
    attempts: AddressLimiter,
    turns: Semaphore,
}

impl SignInGuard {
    pub fn new(per_minute: usize) -> Self {
        SignInGuard {
            attempts: AddressLimiter::new(per_minute, Duration::from_secs(60)),
            turns: Semaphore::new(AT_ONCE),
        }
    }
}

/// Middleware: passes every other request through untouched.
pub async fn guard(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !GUARDED.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let guard = &state.sign_ins;
    if let Err(wait) = guard.attempts.count(peer.ip(), Instant::now()) {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_sign_ins",
            format!("too many sign-in attempts from this address; try again in {wait} s"),
        )
        .with_retry_after(wait)
        .into_response();
    }
    let Ok(Ok(_turn)) = tokio::time::timeout(LONGEST_WAIT, guard.turns.acquire()).await else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "sign_in_busy",
            "too many sign-ins at once; try again in a few seconds",
        )
        .with_retry_after(5)
        .into_response();
    };
    next.run(request).await
}
