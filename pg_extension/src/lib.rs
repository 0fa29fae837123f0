//! Cosound's in-database logic, as a PostgreSQL extension over pgvector's `vector`.
//!
//! The rules are plain Rust over `&[f32]`, tested with plain unit tests; `api` only translates
//! between SQL and them.
//!
//! Module map:
//! - `space`: the 5-dimensional taste space (axes, unit vectors).
//! - `preference`: how one rating moves a listener's taste (DOMAIN.md's learning rule).
//! - `password`, `token`: local sign-in's password hashes and the JWTs it issues.
//! - `vector`: pgvector's `vector` as a Rust argument and return type (all unsafe code is here).
//! - `api`: the SQL-facing functions, one file per family.

mod api;
pub mod password;
pub mod preference;
pub mod space;
pub mod token;
mod vector;

::pgrx::pg_module_magic!(name, version);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
