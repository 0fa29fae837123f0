//! The player as a client of Cosound's servers.
//!
//! - [`session`]: the player key traded at the gateway for a player JWT,
//!   renewed before it expires; the shared runtime and HTTP client.
//! - [`api`]: PostgREST, through postgrest-rs — the queue view, heartbeats
//!   and play reports.
//! - [`queue`]: [`NetworkQueue`](queue::NetworkQueue), the
//!   [`QueueSource`](crate::source::QueueSource) built on them, so the
//!   controller and the mixer do not know the network exists.
//! - [`media`]: [`GatewayFetcher`](media::GatewayFetcher), the cache's
//!   [`Fetcher`](crate::cache::Fetcher) for `GET /media/{song_id}`.
//! - [`backoff`]: when to try a server that failed again.
//!
//! A server that fails costs the room nothing audible: every call is
//! bounded by a timeout, a transient failure puts that server on backoff,
//! and the controller keeps the current mix playing meanwhile.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

pub mod api;
pub mod backoff;
pub mod media;
pub mod queue;
pub mod session;

/// The first wait after a server failed.
pub const RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between tries of a server that stays down.
pub const RETRY_CAP: Duration = Duration::from_secs(30);

/// The message of a JSON error answer: PostgREST's `{code, message}` or
/// the gateway's `{error, message}`.
#[derive(Deserialize)]
struct ErrorAnswer {
    message: String,
}

/// `response` when it succeeded; otherwise the error it stands for: a 5xx
/// is the server's trouble (worth retrying), a 4xx a refusal.
async fn check(service: &'static str, response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<ErrorAnswer>(&body)
        .map(|e| e.message)
        .unwrap_or_else(|_| body.chars().take(200).collect());
    if status.is_server_error() {
        Err(Error::Unreachable {
            service,
            detail: format!("{status}: {detail}"),
        })
    } else {
        Err(Error::Refused {
            service,
            status: status.as_u16(),
            detail,
        })
    }
}

/// Whether `error` is a refusal of the token itself (expired, revoked).
fn token_refused(error: &Error) -> bool {
    matches!(error, Error::Refused { status: 401, .. })
}
