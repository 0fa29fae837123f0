//! The `cosound` extension in a stack: built with `cargo pgrx package` and installed into the
//! stack's own directory, again only when its sources changed.

use crate::cmd;
use crate::paths;
use crate::stack::{Profile, Stack};
use crate::toolchain;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

impl Stack {
    /// Builds the `cosound` extension and installs it into this stack's own directory (where
    /// its cluster looks first), unless these sources were installed there with this profile.
    /// Nothing goes into the shared PostgreSQL install, so no other stack's build, and no
    /// `cargo pgrx test`, can replace the library this stack's database loaded.
    pub fn install_extension(&self, profile: Profile) -> Result<()> {
        std::fs::create_dir_all(self.dir())?;
        let stamp = self.dir().join("extension.stamp");
        let fingerprint = format!("{profile:?} {}", extension_fingerprint()?);
        if std::fs::read_to_string(&stamp).is_ok_and(|old| old == fingerprint) {
            return Ok(());
        }
        let package = self.dir().join("extension-package");
        if package.exists() {
            std::fs::remove_dir_all(&package)?;
        }
        let mut build = Command::new("cargo");
        toolchain::pgrx_env(&mut build)
            .current_dir(paths::repo().join("pg_extension"))
            .args(["pgrx", "package", "--pg-config"])
            .arg(paths::pg_bin("pg_config"))
            .arg("--out-dir")
            .arg(&package);
        if profile == Profile::Debug {
            build.arg("--debug");
        }
        cmd::run(&mut build).context("building the cosound extension failed")?;
        let mut files = Vec::new();
        collect_files(&package, &mut files)?;
        let extension = self.cluster().extension_dir();
        for file in files {
            if let Some(target) = extension.place(&file) {
                replace_file(&file, &target)?;
            }
        }
        std::fs::remove_dir_all(&package)?;
        std::fs::write(stamp, fingerprint)?;
        Ok(())
    }
}

/// Copies `from` over `to` by renaming a fresh copy into place: a running server that mapped
/// the old library keeps its file intact instead of seeing it rewritten under it.
fn replace_file(from: &Path, to: &Path) -> Result<()> {
    let dir = to.parent().context("an installed file has a folder")?;
    std::fs::create_dir_all(dir)?;
    let mut fresh = to.as_os_str().to_owned();
    fresh.push(".new");
    let fresh = PathBuf::from(fresh);
    std::fs::copy(from, &fresh).with_context(|| format!("cannot write {}", fresh.display()))?;
    std::fs::rename(&fresh, to).with_context(|| format!("cannot replace {}", to.display()))?;
    Ok(())
}

/// A hash of everything the extension is built from.
fn extension_fingerprint() -> Result<String> {
    let repo = paths::repo();
    let mut files = vec![repo.join("Cargo.lock"), repo.join("Cargo.toml")];
    collect_files(&repo.join("pg_extension"), &mut files)?;
    files.sort();
    Ok(hash_files(&files))
}

/// A hash of the files' names and contents, in the order given.
pub fn hash_files(files: &[PathBuf]) -> String {
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(std::fs::read(file).unwrap_or_default());
    }
    hex::encode(hash.finalize())
}

pub fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                collect_files(&path, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}
