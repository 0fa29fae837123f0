//! The router and the server loop. `serve` takes its listener and shutdown signal as
//! arguments so tests can bind port 0 and stop it at will.

use crate::error;
use crate::state::AppState;
use crate::{gotrue, health, media, player_keys, rest, sign_in_guard, upload, web};
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route(
            "/players/{id}/key",
            post(player_keys::issue).delete(player_keys::revoke),
        )
        .route("/player/token", post(player_keys::exchange))
        // The upload enforces its own limit (COSOUND_MAX_UPLOAD_BYTES) while streaming.
        .route(
            "/songs",
            post(upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/media/{song_id}", get(media::get))
        .merge(web::routes(&state.site))
        .merge(rest::routes(&state.postgrest_url))
        .merge(gotrue::routes())
        .fallback(error::no_such_endpoint)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            sign_in_guard::guard,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address keys the rate limit on wrong player keys.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
