//! The SQL-facing functions: each only converts SQL values, calls the rule it names, and turns
//! the rule's errors into SQLSTATEs that PostgREST maps to 4xx answers.

mod auth;
mod checks;
mod preference;
mod queue;
pub(crate) mod recommend;
mod survey;
mod votes;
