//! Feature extraction at 22,050 Hz: the shared spectral analysis of a clip
//! and the two feature sets computed from it.
//!
//! - [`reference`](mod@reference): the 56 features of the earlier system, matching librosa;
//! - [`extended`]: what the current model uses instead of the MFCC means
//!   (which carry the recording gain in MFCC 0): gain-free band shape,
//!   dynamics, modulation, impulsiveness, tonality.

pub mod chroma;
pub mod extended;
pub mod mel;
pub mod reference;
pub mod stft;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::resample::ANALYSIS_RATE;
use mel::{power_to_db, MelBank, N_MFCC};
use stft::Stft;

/// Clips are zero-padded at the end to at least this long (reference pipeline).
pub const MIN_ANALYSIS_SECONDS: usize = 5;

/// Which features a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeatureSet {
    /// The earlier system's 56 features.
    #[serde(rename = "reference-56")]
    Reference,
    /// The reference features without the 20 MFCC means, plus [`extended`]'s.
    #[serde(rename = "cosound-v1")]
    Extended,
}

impl FeatureSet {
    pub fn names(self) -> Vec<String> {
        let names = reference::names();
        match self {
            FeatureSet::Reference => names,
            FeatureSet::Extended => names[N_MFCC..]
                .iter()
                .cloned()
                .chain(extended::names())
                .collect(),
        }
    }

    pub fn count(self) -> usize {
        match self {
            FeatureSet::Reference => reference::COUNT,
            FeatureSet::Extended => reference::COUNT - N_MFCC + extended::COUNT,
        }
    }
}

/// The spectral analysis every feature is computed from.
pub struct Analysis {
    /// Mono samples at [`ANALYSIS_RATE`], padded to 5 s.
    pub signal: Vec<f32>,
    pub sample_rate: f64,
    /// Power spectrogram, frames × 1025 bins.
    pub power: Array2<f64>,
    /// Mel power spectrogram, frames × 128 bands.
    pub mel_power: Array2<f64>,
    /// `power_to_db` of the mel power spectrogram.
    pub mel_db: Array2<f64>,
}

/// Reusable analysis plans (FFT plan, window, mel filterbank); cheap to share
/// between threads.
pub struct Extractor {
    stft: Stft,
    mel: MelBank,
}

impl Default for Extractor {
    fn default() -> Self {
        Extractor {
            stft: Stft::default(),
            mel: MelBank::new(f64::from(ANALYSIS_RATE)),
        }
    }
}

impl Extractor {
    /// Analyses mono samples at [`ANALYSIS_RATE`].
    pub fn analyse(&self, mut signal: Vec<f32>) -> Analysis {
        let min_len = MIN_ANALYSIS_SECONDS * ANALYSIS_RATE as usize;
        if signal.len() < min_len {
            signal.resize(min_len, 0.0);
        }
        let power = self.stft.power(&signal);
        let mel_power = self.mel.apply(&power);
        let mel_db = power_to_db(&mel_power);
        Analysis {
            signal,
            sample_rate: f64::from(ANALYSIS_RATE),
            power,
            mel_power,
            mel_db,
        }
    }

    /// The feature vector of mono samples at [`ANALYSIS_RATE`].
    pub fn features(&self, set: FeatureSet, signal: Vec<f32>) -> Vec<f64> {
        let analysis = self.analyse(signal);
        let reference = reference::compute(&analysis);
        match set {
            FeatureSet::Reference => reference,
            FeatureSet::Extended => {
                let mut out = reference[N_MFCC..].to_vec();
                out.extend(extended::compute(&analysis));
                out
            }
        }
    }
}
