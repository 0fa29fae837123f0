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
//!   librosa) and the extended set the model uses, for a whole clip or for
//!   each 1.5 s window of it;
//! - [`dataset`]: a labelled folder (`labels.csv`), its hash and its
//!   feature [`Rows`](dataset::Rows) (one per clip or per window);
//! - [`kernel`]: the random-Fourier-feature map (a Gaussian kernel for
//!   ridge regression, stored as a seed);
//! - [`ridge`], [`train`]: standardisation, ridge regression, λ by CV;
//! - [`calibration`]: the largest weight as a probability, and
//!   [`NO_CLASS_BELOW`], under which a sound fits none of the classes;
//! - [`cv`]: cross-validation grouped by source recording, the report;
//! - [`model`]: the model file and the embedding calls;
//! - [`batch`]: embedding many sounds from a [`batch::Source`];
//! - [`error`]: the error type.
//!
//! # The model
//! A clip is cut into 1.5 s windows every 0.5 s (silent ones skipped); each
//! window's 85 extended features are standardised. How strongly a clip is
//! one of the five classes comes from a kernel model: the features mapped to
//! `[s·x, cos(Ωx + b)]` (128 random Fourier features) and multiplied by
//! ridge weights, fitted with balanced class weights (each class weighs as
//! much as all `other` windows) and λ weighed against the mean squared
//! error; its clip score is the windows' mean per class. Heavily penalised,
//! the scores are small (a plain rain clip scores about 0.15), so the
//! largest is mapped through a [`calibration`] fitted on out-of-fold scores
//! of the training data, and becomes the embedding's largest weight: the
//! probability that the sound is one of the classes. The proportions
//! between the classes come from a linear ridge fit on the standardised
//! features ([`model::Mix`]), which ranks the classes of unfamiliar
//! recordings better. An inner grouped cross-validation chooses the kernel
//! model's λ by how well its scores rank class clips above `other` clips,
//! the mix's by top-1 error plus the mean largest weight of `other` clips.
//! On esc50-dev (5 folds grouped by recording, 5 fold assignments, the
//! calibration fitted inside each fold) this scores 0.904 top-1; the five
//! classes' clips get a mean largest weight of 0.611, `other` clips 0.182,
//! rank AUC 0.897 (uncalibrated: 0.143 and 0.091; reference pipeline:
//! 0.488 top-1, 0.432 and 0.504). A sound whose weights are all under
//! [`NO_CLASS_BELOW`] (0.2) [fits no class](fits_no_class): 3 % of the
//! class clips and 66 % of `other` clips. Sea waves (two recordings in the
//! set) are recognised from the other recording 75 % of the time, wind 77 %.
//!
//! # Limits on input
//! - formats: wav (PCM), flac, ogg/vorbis, mp3; anything else is
//!   [`Error::Unrecognized`] or [`Error::Unsupported`];
//! - only the first [`decode::MAX_ANALYSED_SECONDS`] (60 s) are decoded and
//!   analysed, so very long files cost no more than a minute of audio;
//! - at least [`decode::MIN_SECONDS`] (0.25 s) of audio, else
//!   [`Error::TooShort`]; clips shorter than 5 s are zero-padded to 5 s as
//!   in the reference pipeline (the padding's silent windows are skipped);
//! - embedding costs grow with length: a 60 s file is about 116 windows;
//! - a peak below [`decode::SILENCE_DBFS`] (−80 dBFS) is [`Error::Silent`];
//! - a file shorter than its header says (beyond 1 % + 4096 frames of slack
//!   for lossy codecs' padding) is [`Error::Truncated`]; empty files are
//!   [`Error::Empty`]; sample rates outside 4–384 kHz are refused.

pub mod batch;
pub mod calibration;
pub mod clip;
pub mod cv;
pub mod dataset;
pub mod decode;
pub mod error;
pub mod features;
pub mod kernel;
pub mod model;
mod parallel;
pub mod resample;
pub mod ridge;
pub mod train;

pub use calibration::{fits_no_class, NO_CLASS_BELOW};
pub use error::{Error, Result};
pub use model::{Embedding, Model, CLASSES};
