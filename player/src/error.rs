//! The crate's one error type.

use std::path::PathBuf;

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

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
