//! Cosound's in-database logic, as a PostgreSQL extension over pgvector's `vector`.
//!
//! The rules themselves are the `cosound-rules` crate (`rules/`), plain Rust tested by plain
//! unit tests; this crate reads and writes the database and translates between SQL and them.
//!
//! Module map:
//! - `api`: the SQL-facing functions and the vote trigger, one file per family.
//! - `ranking`: the recommender's candidates read from the database in increasing distance;
//!   its `catalogue` holds a small catalogue in memory to rank many players' targets at once.
//! - `refresh`: the queue refresh of one player or all, as set-based reads and writes.
//! - `settings`: the PostgreSQL parameters that tune the steady mix.
//! - `vector`: pgvector's `vector` as a Rust argument and return type (all unsafe code is here).
//! - `fixture` (tests only): the real schema, from `sql/`, inside a test's transaction.
//! - `contract` (tests only): row-level security and the API's refusals, role by role.

mod api;
#[cfg(any(test, feature = "pg_test"))]
mod contract;
#[cfg(any(test, feature = "pg_test"))]
mod fixture;
mod ranking;
mod refresh;
mod settings;
mod vector;

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
