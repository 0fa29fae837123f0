//! Cosound's rules, in plain Rust over `&[f32]` and plain values: no PostgreSQL here, so a
//! `cargo test` runs every rule's tests. The extension (`cosound`, the crate above this one)
//! reads and writes the database and calls these; the README's *The rules* states them.
//!
//! - `space`: the 5-dimensional taste space (its axes, unit vectors, the checks on vectors).
//! - `preference`: how one rating moves a listener's taste (the learning rule), and the survey
//!   that sets it.
//! - `recommend`: the recency penalty and the exact top k read from a distance-ordered stream.
//! - `group`: how the listeners at a player count (the strategies and their points).
//! - `queue`: which layers, gains and instrumental a player plays; when to recompute them.
//! - `schedule`: what the time block in force at a player changes (volume cap, instrumentals,
//!   library).
//! - `steady`: how far one refresh may move the playing layers towards the proposed ones.
//! - `why`: what set a refresh off, recorded with each new queue version.
//! - `password`, `token`: local sign-in's password hashes and the JWTs it issues.

pub mod group;
pub mod password;
pub mod preference;
pub mod queue;
pub mod recommend;
pub mod schedule;
pub mod space;
pub mod steady;
pub mod token;
pub mod why;
