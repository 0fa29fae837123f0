//! Audio features and the 5-class ambient-sound embedding model of Cosound.
//!
//! The gateway embeds an upload with
//! [`Model::default_model()`]`.`[`embed_bytes`](Model::embed_bytes)`(name, bytes)`
//! (or [`embed_file`](Model::embed_file)), getting an [`Embedding`]: one
//! weight in [0, 1] per class of [`CLASSES`], or an [`Error`] naming the file.
//!
//! # Modules
//! - [`decode`]: any supported file → mono samples (symphonia);
//! - [`resample`]: → 22,050 Hz (rubato); [`clip`] chains the two;
//! - [`features`]: STFT, mel, chroma; the reference 56 features (matching
//!   librosa) and the extended set the model uses;
//! - [`dataset`]: a labelled folder (`labels.csv`), its hash and features;
//! - [`ridge`], [`train`]: standardisation, ridge regression, λ by CV;
//! - [`cv`]: cross-validation grouped by source recording, the report;
//! - [`model`]: the model file and the embedding calls;
//! - [`batch`]: embedding many sounds from a [`batch::Source`];
//! - [`error`]: the error type.
//!
//! # Limits on input
//! - formats: wav (PCM), flac, ogg/vorbis, mp3; anything else is
//!   [`Error::Unrecognized`] or [`Error::Unsupported`];
//! - only the first [`decode::MAX_ANALYSED_SECONDS`] (60 s) are decoded and
//!   analysed, so very long files cost no more than a minute of audio;
//! - at least [`decode::MIN_SECONDS`] (0.25 s) of audio, else
//!   [`Error::TooShort`]; clips shorter than 5 s are zero-padded to 5 s as
//!   in the reference pipeline;
//! - a peak below [`decode::SILENCE_DBFS`] (−80 dBFS) is [`Error::Silent`];
//! - a file shorter than its header says (beyond 1 % + 4096 frames of slack
//!   for lossy codecs' padding) is [`Error::Truncated`]; empty files are
//!   [`Error::Empty`]; sample rates outside 4–384 kHz are refused.

pub mod batch;
pub mod clip;
pub mod cv;
pub mod dataset;
pub mod decode;
pub mod error;
pub mod features;
pub mod model;
mod parallel;
pub mod resample;
pub mod ridge;
pub mod train;

pub use error::{Error, Result};
pub use model::{Embedding, Model, CLASSES};
