//! The one error type of the library: every variant names the file (or the
//! caller-given name of a byte buffer) it is about, so batch reports and
//! HTTP responses can say which upload failed and why.

use std::path::PathBuf;

/// Everything that can go wrong while reading audio, training or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{name}: cannot read: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: the file is empty")]
    Empty { name: String },
    #[error("{name}: not a supported audio file (expected wav, flac, ogg/vorbis or mp3)")]
    Unrecognized { name: String },
    #[error("{name}: unsupported audio codec or format: {detail}")]
    Unsupported { name: String, detail: String },
    #[error("{name}: the audio stream is corrupt: {detail}")]
    Corrupt { name: String, detail: String },
    #[error("{name}: truncated: {decoded} of {expected} frames present")]
    Truncated {
        name: String,
        decoded: u64,
        expected: u64,
    },
    #[error("{name}: contains no audio samples")]
    NoAudio { name: String },
    #[error("{name}: too short ({seconds:.3} s; at least {min_seconds} s of audio is needed)")]
    TooShort {
        name: String,
        seconds: f64,
        min_seconds: f64,
    },
    #[error("{name}: silent (peak level below {threshold_db} dBFS)")]
    Silent { name: String, threshold_db: f64 },
    #[error("{name}: the model file is invalid: {detail}")]
    InvalidModel { name: String, detail: String },
    #[error("{path}: invalid dataset: {detail}")]
    Dataset { path: PathBuf, detail: String },
}

impl Error {
    pub(crate) fn io(name: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            name: name.into(),
            source,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
