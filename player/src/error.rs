//! The crate's one error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in the player short of a bug.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name}: not playable audio ({detail})")]
    Decode { name: String, detail: String },
    #[error("media {uri}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        uri: String,
        expected: u64,
        actual: u64,
    },
    #[error("media {uri}: SHA-256 is {actual}, expected {expected}")]
    HashMismatch {
        uri: String,
        expected: String,
        actual: String,
    },
    #[error("media {uri}: cannot fetch ({detail})")]
    Fetch { uri: String, detail: String },
    /// No answer, or a failure on the server's side (5xx): worth retrying.
    #[error("{service} is unreachable: {detail}")]
    Unreachable {
        service: &'static str,
        detail: String,
    },
    /// The server said no (4xx): the same request will not do better.
    #[error("{service} refused ({status}): {detail}")]
    Refused {
        service: &'static str,
        status: u16,
        detail: String,
    },
    /// A server that failed is left alone until its backoff runs out.
    #[error("{service} is down; next try in {:.1} s", wait.as_secs_f32())]
    Waiting {
        service: &'static str,
        wait: Duration,
    },
    #[error("queue {origin}: {detail}")]
    Queue { origin: String, detail: String },
    #[error(
        "cannot open the default audio device ({detail}); \
         without a sound card use --output wav:PATH or --output null"
    )]
    NoDevice { detail: String },
    #[error("cannot write WAV {path}: {detail}")]
    Wav { path: PathBuf, detail: String },
    #[error("invalid output {given:?}: use default, null or wav:PATH")]
    BadOutput { given: String },
}

/// An error's text with its causes ("error sending request: … : connection
/// refused"): libraries put the useful part in the causes.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether trying again later may succeed (the server was away), as
    /// opposed to a refusal or bad data.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Waiting { .. })
    }
}
