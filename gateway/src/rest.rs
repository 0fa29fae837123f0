//! `/rest/v1/…`: PostgREST at the gateway's address, as a Supabase project serves it, so the
//! web app, players and Supabase's clients reach the whole API at one origin. PostgREST itself
//! listens on localhost only and reads any body it is sent, so the bound on request bodies is
//! kept here. The proxy is a kept crate's; PostgREST still checks every token itself.

use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use axum_reverse_proxy::ReverseProxy;
use serde_json::json;

/// The largest body an API call may send. The largest real one, a library change of 1000
/// songs, is about 20 kB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn routes(postgrest_url: &str) -> Router<AppState> {
    Router::from(ReverseProxy::new("/rest/v1", postgrest_url))
        .layer(middleware::from_fn(bounded_body))
}

/// Passes the body on when it is within the bound (read whole: it is small), else 413 in
/// PostgREST's error shape.
async fn bounded_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({
                "code": "body_too_large",
                "message": format!("a request body to the API is at most {} KiB", MAX_BODY_BYTES / 1024),
                "details": null,
                "hint": null,
            })),
        )
            .into_response(),
    }
}
