//! The whole test suite, in the order that fails fastest: formatting and lints, unit tests,
//! the extension's `#[pg_test]`s, then, against a real stack of its own (own ports, own data
//! directory, torn down afterwards, whatever the outcome), the check that an upgraded install
//! has a fresh one's schema and the end-to-end tests. The test
//! commands also install the browser the end-to-end tests drive; the benchmarks need none.

use crate::cmd::{self, DB_OS_USER};
use crate::dev;
use crate::migrations;
use crate::paths;
use crate::stack::{Profile, Stack};
use crate::toolchain;
use anyhow::{Context, Result};
use std::process::Command;

/// The pgrx package, built and tested only with pgrx's environment.
const EXTENSION: &str = "cosound";
/// The end-to-end tests, which need a running stack.
const END_TO_END: &str = "cosound-e2e";

pub fn run() -> Result<()> {
    toolchain::ensure()?;
    toolchain::ensure_browser()?;
    toolchain::ensure_supabase_js()?;
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
    with_test_stack(Profile::Debug, |stack| {
        migrations::check_upgrade(&stack.cluster(), &stack.dir().join("logs"))?;
        end_to_end_tests(stack, &[])
    })
}

/// The end-to-end tests alone, for iterating on them; `args` go to `cargo test`.
pub fn end_to_end_only(args: &[String]) -> Result<()> {
    toolchain::ensure()?;
    toolchain::ensure_browser()?;
    toolchain::ensure_supabase_js()?;
    with_test_stack(Profile::Debug, |stack| end_to_end_tests(stack, args))
}

/// `cargo pgrx test` runs its own temporary cluster; as root, through the database's OS user.
fn pg_tests() -> Result<()> {
    let mut test = Command::new("cargo");
    toolchain::pgrx_env(&mut test)
        .current_dir(paths::repo().join("pg_extension"))
        .args(["pgrx", "test", "pg18"]);
    if cmd::is_root() {
        let data = paths::test_dir("pgrx-test-data");
        std::fs::create_dir_all(&data)?;
        cmd::chown_to_db_user(&data)?;
        test.args(["--runas", DB_OS_USER, "--pgdata"]).arg(data);
    }
    cmd::run(&mut test).context("#[pg_test] tests failed")
}

fn end_to_end_tests(stack: &Stack, args: &[String]) -> Result<()> {
    cmd::run(
        Command::new("cargo")
            .current_dir(paths::repo())
            // Every failing test file is reported in one run, not only the first.
            .args(["test", "--no-fail-fast", "-p", END_TO_END])
            .args(args)
            .envs(stack.client_env()),
    )
    .context("end-to-end tests failed")
}

/// Runs the benchmarks (`tests/benches`) against a throw-away stack with an optimised build.
pub fn bench(name: Option<&str>) -> Result<()> {
    toolchain::ensure()?;
    with_test_stack(Profile::Release, |stack| {
        let mut bench = Command::new("cargo");
        bench
            .current_dir(paths::repo())
            .args(["bench", "-p", END_TO_END]);
        if let Some(name) = name {
            bench.args(["--bench", name]);
        }
        cmd::run(bench.envs(stack.client_env())).context("a benchmark failed")
    })
}

/// Starts a fresh test stack, runs `work` against it, and tears it down whatever happens;
/// its logs are kept when anything failed.
fn with_test_stack(profile: Profile, work: impl FnOnce(&Stack) -> Result<()>) -> Result<()> {
    dev::build_gateway()?;
    let stack = Stack::fresh_test()?;
    let outcome = stack
        .install_extension(profile)
        .and_then(|()| stack.start())
        .and_then(|()| work(&stack));
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
