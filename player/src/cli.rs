//! The command line: one struct, read once at start (flags or environment).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::error::{Error, Result};
use crate::output::Output;

/// Plays a Cosound room's layered ambient mix from its queue.
#[derive(Debug, Parser)]
#[command(name = "cosound-player", version)]
pub struct Cli {
    /// PostgREST base URL the player polls its queue view at.
    #[arg(long, env = "COSOUND_API_URL", required_unless_present = "queue_file")]
    pub api_url: Option<String>,

    /// Gateway URL: trades the player key for a JWT and serves media.
    #[arg(
        long,
        env = "COSOUND_GATEWAY_URL",
        required_unless_present = "queue_file"
    )]
    pub gateway_url: Option<String>,

    /// The player's key (prefer the file or the environment: flags show in `ps`).
    #[arg(
        long,
        env = "COSOUND_PLAYER_KEY",
        hide_env_values = true,
        conflicts_with = "player_key_file"
    )]
    pub player_key: Option<String>,

    /// A file holding the player's key.
    #[arg(long, env = "COSOUND_PLAYER_KEY_FILE")]
    pub player_key_file: Option<PathBuf>,

    /// Play the mix described in this JSON file instead of the API's queue.
    #[arg(long, env = "COSOUND_QUEUE_FILE")]
    pub queue_file: Option<PathBuf>,

    /// Where media files are cached [default: $XDG_CACHE_HOME/cosound-player].
    #[arg(long, env = "COSOUND_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Cache size limit: bytes, or with a K, M or G suffix.
    #[arg(long, env = "COSOUND_CACHE_SIZE", default_value = "2G", value_parser = parse_size)]
    pub cache_size: u64,

    /// Seconds between queue polls (fractions allowed).
    #[arg(long, env = "COSOUND_POLL_INTERVAL", default_value = "5", value_parser = parse_seconds)]
    pub poll_interval: Duration,

    /// Output: `default` (audio device), `wav:PATH` (render to a file) or `null`.
    #[arg(long, env = "COSOUND_OUTPUT", default_value = "default", value_parser = parse_output)]
    pub output: Output,

    /// Sample rate of `wav:` and `null` output (a device uses its own).
    #[arg(long, default_value_t = 44_100, value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
    pub sample_rate: u32,

    /// Stop after this many seconds; `wav:` renders this much audio (default 60).
    #[arg(long, value_parser = parse_seconds)]
    pub duration: Option<Duration>,

    /// The terminal status view.
    #[arg(long, value_enum, default_value_t = StatusView::Live)]
    pub status: StatusView,
}

/// Whether to draw the live status view (only ever on a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusView {
    Live,
    Off,
}

impl Cli {
    /// The player key, from the flag, the environment or the key file.
    pub fn player_key(&self) -> Result<Option<String>> {
        if let Some(key) = &self.player_key {
            return Ok(Some(key.clone()));
        }
        match &self.player_key_file {
            Some(path) => {
                let key = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                Ok(Some(key.trim().to_string()))
            }
            None => Ok(None),
        }
    }

    /// The cache directory, defaulting to the user's cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        if let Some(dir) = &self.cache_dir {
            return dir.clone();
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("cosound-player")
    }
}

fn parse_output(s: &str) -> Result<Output, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let seconds: f64 = s
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (number, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let scale: u64 = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(format!("{s:?}: unknown unit (use K, M or G)")),
    };
    number
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{s:?} is not a positive size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let cli = Cli::parse_from(["cosound-player", "--queue-file", "mix.json"]);
        assert_eq!(cli.poll_interval, Duration::from_secs(5));
        assert_eq!(cli.output, Output::Default);
        assert_eq!(cli.cache_size, 2 << 30);
        assert_eq!(cli.status, StatusView::Live);
    }

    #[test]
    fn without_a_queue_file_the_api_settings_are_required() {
        let err = Cli::try_parse_from(["cosound-player"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--api-url") && err.contains("--gateway-url"),
            "{err}"
        );
        let cli = Cli::try_parse_from([
            "cosound-player",
            "--api-url",
            "http://127.0.0.1:3000",
            "--gateway-url",
            "http://127.0.0.1:8080",
            "--output",
            "wav:out.wav",
            "--poll-interval",
            "0.5",
        ])
        .unwrap();
        assert_eq!(cli.output, Output::Wav("out.wav".into()));
        assert_eq!(cli.poll_interval, Duration::from_millis(500));
    }

    #[test]
    fn the_key_comes_from_its_file_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "s3cret\n").unwrap();
        let cli = Cli::parse_from([
            "cosound-player",
            "--queue-file",
            "m.json",
            "--player-key-file",
            path.to_str().unwrap(),
        ]);
        assert_eq!(cli.player_key().unwrap().as_deref(), Some("s3cret"));
    }

    #[test]
    fn sizes_and_seconds_parse_with_units() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err() && parse_size("5T").is_err());
        assert_eq!(parse_seconds("2.5s"), Ok(Duration::from_millis(2500)));
        assert!(parse_seconds("-1").is_err() && parse_seconds("0").is_err());
    }
}
