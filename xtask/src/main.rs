//! Cosound's dev automation: `cargo xtask up | down | status | test | e2e | bench`.
//!
//! Module map:
//! - `paths`: where the repository and the one git-ignored state directory are.
//! - `config`: ports and per-install secrets (`.cosound/config.env`, overridden by the environment).
//! - `cmd`: running programs, printing what runs and naming the fix when one fails.
//! - `toolchain`: installs what is missing (apt packages, PostgreSQL + pgvector, PostgREST,
//!   SeaweedFS, cargo-pgrx) under the state directory, and the environment pgrx builds need.
//! - `postgres`: the database cluster, applying migrations and the seed; `migrations`: which
//!   files in which order, the released history, and the fresh-vs-upgraded schema check.
//! - `seaweed`: SeaweedFS's keys and certificates, so only its S3 endpoint answers without them.
//! - `services`: starting, checking and stopping each long-running service.
//! - `stack`: a whole stack (dev or test) built from those parts; `extension` builds and
//!   installs the `cosound` extension into one.
//! - `dev`: `up`, `down` and `status` of the dev stack, with the demo catalogue and player.
//! - `suite`: the full test suite.

mod cmd;
mod config;
mod dev;
mod extension;
mod migrations;
mod paths;
mod postgres;
mod seaweed;
mod services;
mod stack;
mod suite;
mod toolchain;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Set up, run and test Cosound locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing, then start PostgreSQL, PostgREST, S3 and the gateway with demo data.
    Up,
    /// Stop the local stack (its data stays under .cosound/dev).
    Down,
    /// Show which services of the local stack run, and where.
    Status,
    /// Install what is missing, then run every test against a throw-away stack of its own.
    Test,
    /// Only the end-to-end tests (optionally filtered, e.g. `e2e --test api_rls`) on a fresh stack.
    E2e {
        /// Arguments for `cargo test -p cosound-e2e`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the benchmarks (all, or the one named) against a throw-away stack; they print tables.
    Bench { name: Option<String> },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Up => dev::up(),
        Command::Down => dev::down(),
        Command::Status => dev::status(),
        Command::Test => suite::run(),
        Command::E2e { args } => suite::end_to_end_only(&args),
        Command::Bench { name } => suite::bench(name.as_deref()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The chain of causes reads as one message; a backtrace would only hide it.
            eprintln!("\nerror: {error:#}");
            ExitCode::FAILURE
        }
    }
}
