//! Feature extraction at 22,050 Hz: the shared spectral analysis of a clip
//! and the two feature sets computed from it, for the whole clip or for
//! each window of it ([`Segments`]). Per-frame values (MFCCs, spectral
//! shape, chroma with the clip's tuning; band levels, onsets, tonality) are
//! computed once per clip and summarised per window.
//!
//! - [`reference`](mod@reference): the 56 features of the earlier system, matching librosa;
//! - [`extended`]: what the current model uses instead of the MFCC means
//!   (which carry the recording gain in MFCC 0): gain-free band shape,
//!   dynamics, modulation, impulsiveness, tonality.

pub mod chroma;
pub mod extended;
mod lanes;
pub mod mel;
pub mod reference;
pub mod stft;

use ndarray::{Array2, ArrayView2};
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

/// How a clip is cut into overlapping windows, each described by its own
/// feature vector: a 5 s clip gives several views instead of one, so the
/// model sees how a sound varies, and an embedding averages the windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segments {
    pub seconds: f64,
    pub hop_seconds: f64,
}

/// Windows more than this far below the loudest window are skipped (the
/// silence that pads short recordings).
const SILENT_WINDOW_DB: f64 = 40.0;

/// The spectral analysis every feature is computed from.
pub struct Analysis {
    /// Mono samples at [`ANALYSIS_RATE`], padded to 5 s.
    pub signal: Vec<f32>,
    pub sample_rate: f64,
    /// Power spectrogram, frames × 1025 bins (f32, as librosa's).
    pub power: Array2<f32>,
    /// Mel power spectrogram, frames × 128 bands.
    pub mel_power: Array2<f32>,
    /// `power_to_db` of the mel power spectrogram.
    pub mel_db: Array2<f32>,
}

impl Analysis {
    /// The whole clip as one window.
    pub fn whole(&self) -> Window<'_> {
        self.window(0..self.power.nrows())
    }

    /// The part of the analysis covering `frames` (and the samples they
    /// are centred on): views, not copies.
    pub fn window(&self, frames: std::ops::Range<usize>) -> Window<'_> {
        let samples = (frames.start * stft::HOP).min(self.signal.len())
            ..(frames.end * stft::HOP).min(self.signal.len());
        Window {
            signal: &self.signal[samples],
            sample_rate: self.sample_rate,
            power: self.power.slice(ndarray::s![frames.clone(), ..]),
            mel_power: self.mel_power.slice(ndarray::s![frames.clone(), ..]),
            mel_db: self.mel_db.slice(ndarray::s![frames, ..]),
        }
    }

    /// Frame ranges of the non-silent windows (the whole clip if it is no
    /// longer than one window, and always at least one window).
    pub fn windows(&self, segments: Segments) -> Vec<std::ops::Range<usize>> {
        let frames = self.power.nrows();
        let per_second = self.sample_rate / stft::HOP as f64;
        let length = ((segments.seconds * per_second).round() as usize).max(1);
        let hop = ((segments.hop_seconds * per_second).round() as usize).max(1);
        if length >= frames {
            return std::iter::once(0..frames).collect();
        }
        let ranges: Vec<_> = (0..=(frames - length) / hop)
            .map(|k| k * hop..k * hop + length)
            .collect();
        let energy: Vec<f64> = ranges
            .iter()
            .map(|r| {
                lanes::wide_sum(
                    self.mel_power
                        .slice(ndarray::s![r.clone(), ..])
                        .iter()
                        .copied(),
                )
            })
            .collect();
        let loudest = energy.iter().copied().fold(0.0, f64::max);
        let floor = loudest * 10f64.powf(-SILENT_WINDOW_DB / 10.0);
        ranges
            .into_iter()
            .zip(energy)
            .filter(|(_, e)| *e >= floor)
            .map(|(r, _)| r)
            .collect()
    }
}

/// Frames of an [`Analysis`] (all, or one window's) that features are
/// computed from.
pub struct Window<'a> {
    pub signal: &'a [f32],
    pub sample_rate: f64,
    pub power: ArrayView2<'a, f32>,
    pub mel_power: ArrayView2<'a, f32>,
    pub mel_db: ArrayView2<'a, f32>,
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
        let mut windows = self.window_features(set, None, signal);
        windows.pop().expect("one window")
    }

    /// One feature vector per window of `segments`, or one for the whole
    /// clip when `segments` is `None`.
    pub fn window_features(
        &self,
        set: FeatureSet,
        segments: Option<Segments>,
        signal: Vec<f32>,
    ) -> Vec<Vec<f64>> {
        let analysis = self.analyse(signal);
        let whole = analysis.whole();
        let reference = reference::FrameValues::new(&whole);
        let extended = (set == FeatureSet::Extended).then(|| extended::FrameValues::new(&whole));
        let windows = match segments {
            None => std::iter::once(0..analysis.power.nrows()).collect(),
            Some(segments) => analysis.windows(segments),
        };
        windows
            .into_iter()
            .map(|frames| {
                let reference = reference.summarise(frames.clone());
                match &extended {
                    None => reference,
                    Some(extended) => {
                        let mut out = reference[N_MFCC..].to_vec();
                        out.extend(extended.summarise(frames));
                        out
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8 s of noise whose loudness swells, with 0.3 s of digital silence in
    /// the middle (so windows have inactive frames between active ones).
    fn swelling_noise_with_a_gap() -> Vec<f32> {
        let rate = ANALYSIS_RATE as usize;
        let mut state = 12_345u32;
        (0..8 * rate)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1 << 24) as f32 - 0.5;
                let swell = 1.2 + (i as f32 / rate as f32).sin();
                if (4 * rate..4 * rate + rate * 3 / 10).contains(&i) {
                    0.0
                } else {
                    noise * swell
                }
            })
            .collect()
    }

    #[test]
    fn windows_summarising_the_clips_frame_values_equal_windows_analysed_alone() {
        let analysis = Extractor::default().analyse(swelling_noise_with_a_gap());
        let segments = Segments {
            seconds: 2.5,
            hop_seconds: 0.5,
        };
        let shared = extended::FrameValues::new(&analysis.whole());
        let windows = analysis.windows(segments);
        assert!(windows.len() > 5, "{} windows", windows.len());
        for frames in windows {
            let alone = extended::FrameValues::new(&analysis.window(frames.clone()));
            assert_eq!(
                shared.summarise(frames.clone()),
                alone.summarise(0..frames.len())
            );
        }
    }
}
