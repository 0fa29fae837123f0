//! Cosound's gateway: the one Rust service, doing only what PostgreSQL and PostgREST cannot.
//!
//! Module map:
//! - `config`: settings from flags or the environment.
//! - `state`: the shared handles (database pool, S3 client, JWT keys) built once at start.
//! - `error`: the JSON error every refusal is sent as.
//! - `extract`: axum's extractors, refusing a malformed request with that JSON error.
//! - `auth`: verifying bearer JWTs as PostgREST does, and issuing player JWTs.
//! - `player_keys`: issuing, rotating and revoking player keys; trading a key for a JWT.
//! - `rate_limit`: limits of events (forged player keys, sign-ins) per client address.
//! - `sign_in_guard`: attempts per address and at once on every sign-in and sign-up path.
//! - `upload`: `POST /songs`, an admin's audio file into the bucket and the catalogue.
//! - `media`: `GET /media/{song_id}`, a song's audio for its player or an admin.
//! - `scheduler`: refreshing every queue on a clock, and one player's queue on its activity.
//! - `rest`: PostgREST proxied at `/rest/v1`, as on a Supabase project.
//! - `gotrue`: `/auth/v1`, Supabase Auth's password sign-in served from the local sign-in.
//! - `web`: the web app's pages (listener app and staff console) and their settings.
//! - `health`: `GET /healthz`, which proves the database and the S3 bucket answer.
//! - `server`: the router and the server loop with graceful shutdown.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod gotrue;
pub mod health;
pub mod media;
pub mod player_keys;
pub mod rate_limit;
pub mod rest;
pub mod scheduler;
pub mod server;
pub mod sign_in_guard;
pub mod state;
pub mod upload;
pub mod web;
