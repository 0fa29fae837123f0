//! Long-running services: started in their own process group with a PID file and a log, checked
//! for readiness, and stopped as a group. Every failure names the service, the cause and the fix.

use crate::cmd;
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const SETTLE: Duration = Duration::from_secs(2);

pub struct Service {
    pub name: &'static str,
    /// The port clients use; it is ready once it accepts connections. A service without one
    /// (the demo player) is ready once it has run for `SETTLE` without exiting.
    pub port: Option<u16>,
    /// Every port it opens, checked free before it starts.
    pub ports: Vec<u16>,
    /// The setting that moves it, for the message when its port is taken.
    pub port_setting: &'static str,
    /// A path that answers below 500 only once the service can serve (e.g. a loaded schema).
    pub ready_path: Option<&'static str>,
    pub command: Command,
    /// The stack directory: the PID file goes to `run/`, the log to `logs/`.
    pub dir: PathBuf,
}

impl Service {
    fn pid_file(&self) -> PathBuf {
        self.dir.join("run").join(format!("{}.pid", self.name))
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("logs").join(format!("{}.log", self.name))
    }

    /// The PID of this service if it runs; a PID file left by a process that is gone is removed.
    pub fn running_pid(&self) -> Option<u32> {
        let file = self.pid_file();
        let pid: u32 = std::fs::read_to_string(&file).ok()?.trim().parse().ok()?;
        let program = self.command.get_program().to_string_lossy().into_owned();
        let alive = std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&program));
        if alive {
            return Some(pid);
        }
        println!(
            "{}: removing stale PID file {} (process {pid} is gone)",
            self.name,
            file.display()
        );
        let _ = std::fs::remove_file(file);
        None
    }

    pub fn start(mut self) -> Result<()> {
        if let Some(pid) = self.running_pid() {
            println!("{} already runs (pid {pid}){}", self.name, self.address());
            return Ok(());
        }
        for &port in &self.ports {
            ensure_free(port, self.name, self.port_setting)?;
        }
        std::fs::create_dir_all(self.dir.join("run"))?;
        std::fs::create_dir_all(self.dir.join("logs"))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        println!(
            "starting {}{} (log: {})",
            self.name,
            self.address(),
            self.log_file().display()
        );
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {}: `{}`",
                    self.name,
                    cmd::describe(&self.command)
                )
            })?;
        std::fs::write(self.pid_file(), child.id().to_string())?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                let _ = std::fs::remove_file(self.pid_file());
                bail!(
                    "{} exited ({status}) while starting. Last lines of {}:\n{}",
                    self.name,
                    self.log_file().display(),
                    tail(&self.log_file(), 15)
                );
            }
            if self.is_ready(started) {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                self.stop()?;
                bail!(
                    "{} was not ready{} within {}s. Last lines of {}:\n{}",
                    self.name,
                    self.address(),
                    START_TIMEOUT.as_secs(),
                    self.log_file().display(),
                    tail(&self.log_file(), 15)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn is_ready(&self, started: Instant) -> bool {
        match (self.port, self.ready_path) {
            (Some(port), Some(path)) => http_get(port, path).is_ok_and(|(status, _)| status < 500),
            (Some(port), None) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
            (None, _) => started.elapsed() >= SETTLE,
        }
    }

    /// " on 127.0.0.1:PORT", or nothing for a service without a port.
    fn address(&self) -> String {
        self.port
            .map(|port| format!(" on 127.0.0.1:{port}"))
            .unwrap_or_default()
    }

    /// Sends SIGTERM to the service's process group and waits; SIGKILL if it will not stop.
    pub fn stop(&self) -> Result<()> {
        let Some(pid) = self.running_pid() else {
            return Ok(());
        };
        println!("stopping {} (pid {pid})", self.name);
        let group = format!("-{pid}");
        let _ = cmd::output(Command::new("kill").args(["-TERM", "--", &group]));
        let started = Instant::now();
        while is_alive(pid) && started.elapsed() < STOP_TIMEOUT {
            std::thread::sleep(Duration::from_millis(100));
        }
        if is_alive(pid) {
            println!(
                "{} did not stop within {}s: killing it",
                self.name,
                STOP_TIMEOUT.as_secs()
            );
            let _ = cmd::output(Command::new("kill").args(["-KILL", "--", &group]));
        }
        let _ = std::fs::remove_file(self.pid_file());
        Ok(())
    }

    pub fn status_line(&self) -> String {
        match self.running_pid() {
            Some(pid) => format!("{:<10} running  pid {pid:<8}{}", self.name, self.address()),
            None => format!("{:<10} stopped", self.name),
        }
    }
}

/// Whether the process runs. A child of ours that exited stays a zombie until reaped, which
/// counts as stopped.
fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses and may contain spaces.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Fails with the fix when another program holds `port`.
pub fn ensure_free(port: u16, name: &str, setting: &str) -> Result<()> {
    if TcpListener::bind(("127.0.0.1", port)).is_err() {
        bail!(
            "port {port}, needed by {name}, is taken by another program. Fix: stop that program \
             (`ss -ltnp 'sport = :{port}'` names it) or move {name} with {setting} in \
             .cosound/config.env"
        );
    }
    Ok(())
}

/// The status code of `GET path` on 127.0.0.1:`port`, and the body.
pub fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("not an HTTP response")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    Ok((status, body.to_string()))
}

pub fn tail(file: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
