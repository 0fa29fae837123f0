//! The whole test suite, in the order that fails fastest: formatting and lints, unit tests,
//! the extension's `#[pg_test]`s, then end-to-end tests against a real stack of its own
//! (own ports, own data directory, torn down afterwards, whatever the outcome).

use crate::cmd::{self, DB_OS_USER};
use crate::paths;
use crate::stack::{self, Profile, Stack};
use crate::toolchain;
use anyhow::{Context, Result};
use std::process::Command;

/// The pgrx package, built and tested only with pgrx's environment.
const EXTENSION: &str = "cosound";
/// The end-to-end tests, which need a running stack.
const END_TO_END: &str = "cosound-e2e";

pub fn run() -> Result<()> {
    toolchain::ensure()?;
    let repo = paths::repo();
    cmd::run(
        Command::new("cargo")
            .current_dir(&repo)
            .args(["fmt", "--all", "--check"]),
    )
    .context("code is not formatted: run `cargo fmt --all`")?;
    cmd::run(
        toolchain::pgrx_env(&mut Command::new("cargo"))
            .current_dir(&repo)
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                "cosound/pg_test",
            ])
            .args(["--", "-D", "warnings"]),
    )
    .context("clippy found problems")?;
    cmd::run(Command::new("cargo").current_dir(&repo).args([
        "test",
        "--workspace",
        "--exclude",
        EXTENSION,
        "--exclude",
        END_TO_END,
    ]))
    .context("unit tests failed")?;
    pg_tests()?;
    end_to_end()
}

/// `cargo pgrx test` runs its own temporary cluster; as root, through the database's OS user.
fn pg_tests() -> Result<()> {
    let mut test = Command::new("cargo");
    toolchain::pgrx_env(&mut test)
        .current_dir(paths::repo().join("pg_extension"))
        .args(["pgrx", "test", "pg18"]);
    if cmd::is_root() {
        let data = paths::state().join("pgrx-test-data");
        std::fs::create_dir_all(&data)?;
        cmd::chown_to_db_user(&data)?;
        test.args(["--runas", DB_OS_USER, "--pgdata"]).arg(data);
    }
    cmd::run(&mut test).context("#[pg_test] tests failed")
}

fn end_to_end() -> Result<()> {
    stack::install_extension(Profile::Debug)?;
    stack::build_gateway()?;
    let stack = Stack::fresh_test()?;
    let outcome = stack.start().and_then(|()| run_end_to_end(&stack));
    let stopped = stack.stop();
    if outcome.is_ok() && stopped.is_ok() {
        std::fs::remove_dir_all(stack.dir())?;
    } else {
        println!(
            "the test stack's logs stay in {}",
            stack.dir().join("logs").display()
        );
    }
    outcome.and(stopped)
}

fn run_end_to_end(stack: &Stack) -> Result<()> {
    let config = stack.config();
    let mut test = Command::new("cargo");
    test.current_dir(paths::repo())
        .args(["test", "-p", END_TO_END])
        .env(
            "COSOUND_TEST_API_URL",
            format!("http://127.0.0.1:{}", stack.port("COSOUND_API_PORT")),
        )
        .env(
            "COSOUND_TEST_GATEWAY_URL",
            format!("http://127.0.0.1:{}", stack.port("COSOUND_GATEWAY_PORT")),
        )
        .env("COSOUND_TEST_JWT_SECRET", config.get("COSOUND_JWT_SECRET"))
        .env("COSOUND_TEST_DATABASE_URL", stack.database_url());
    cmd::run(&mut test).context("end-to-end tests failed")
}
