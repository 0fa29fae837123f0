//! Running programs: each command is printed before it runs, and a failure says what failed.

use anyhow::{bail, Context, Result};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The OS user that owns and runs the database cluster when xtask runs as root
/// (PostgreSQL refuses to run as root).
pub const DB_OS_USER: &str = "cosound";

pub fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd` with inherited output; an error names the command and its exit status.
pub fn run(cmd: &mut Command) -> Result<()> {
    let text = describe(cmd);
    println!("+ {text}");
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start `{text}`"))?;
    if !status.success() {
        bail!("`{text}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its standard output; on failure the error carries stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let text = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{text}`"))?;
    if !out.status.success() {
        bail!(
            "`{text}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `cmd` succeeds, with all output discarded.
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `/proc/self` belongs to the process's effective user: root owns it only when we are root.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// A command that runs `program` as the database's OS user when we are root, else as ourselves.
pub fn as_db_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", DB_OS_USER, "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Gives `path` to the database's OS user (only needed, and only possible, as root).
pub fn chown_to_db_user(path: &Path) -> Result<()> {
    if is_root() {
        run(Command::new("chown")
            .arg("-R")
            .arg(format!("{DB_OS_USER}:{DB_OS_USER}"))
            .arg(path))?;
    }
    Ok(())
}
