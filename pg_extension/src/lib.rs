//! Cosound's in-database logic, as a PostgreSQL extension over pgvector's `vector`.
//!
//! The rules are plain Rust over `&[f32]`, tested with plain unit tests; `api` only translates
//! between SQL and them.
//!
//! Module map:
//! - `space`: the 5-dimensional taste space (axes, unit vectors).
//! - `preference`: how one rating moves a listener's taste (the learning rule of the README's *The rules*), and
//!   the survey that sets it.
//! - `recommend`: the recency penalty and the exact top k read from a distance-ordered stream.
//! - `group`: how the listeners at a player count (the strategies and their points).
//! - `queue`: which layers, gains and instrumental a player plays; when to recompute them.
//! - `schedule`: what the time block in force at a player changes (volume cap, instrumentals,
//!   library).
//! - `settings`: the PostgreSQL parameters that tune the steady mix.
//! - `steady`: how far one refresh may move the playing layers towards the proposed ones.
//! - `why`: what set a refresh off, recorded with each new queue version.
//! - `refresh`: the queue refresh of one player or all, as set-based reads and writes.
//! - `password`, `token`: local sign-in's password hashes and the JWTs it issues.
//! - `vector`: pgvector's `vector` as a Rust argument and return type (all unsafe code is here).
//! - `api`: the SQL-facing functions and the vote trigger, one file per family; `api::recommend`'s
//!   `catalogue` holds a small catalogue in memory to rank many players' targets at once.
//! - `fixture` (tests only): the real schema, from `sql/`, inside a test's transaction.
//! - `contract` (tests only): row-level security and the API's refusals, role by role.

mod api;
#[cfg(any(test, feature = "pg_test"))]
mod contract;
#[cfg(any(test, feature = "pg_test"))]
mod fixture;
pub mod group;
pub mod password;
pub mod preference;
pub mod queue;
pub mod recommend;
mod refresh;
pub mod schedule;
mod settings;
pub mod space;
pub mod steady;
pub mod token;
mod vector;
pub mod why;

::pgrx::pg_module_magic!(name, version);

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
