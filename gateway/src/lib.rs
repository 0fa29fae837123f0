//! Cosound's gateway: the one Rust service, doing only what PostgreSQL and PostgREST cannot.
//!
//! Module map:
//! - `config`: settings from flags or the environment.
//! - `state`: the shared handles (database pool, S3 client) built once at start.
//! - `health`: `GET /healthz`, which proves the database and the S3 bucket answer.
//! - `server`: the router and the server loop with graceful shutdown.

pub mod config;
pub mod health;
pub mod server;
pub mod state;
