//! The 56 features of the earlier system's pipeline, matching librosa:
//! 20 MFCC means and 20 standard deviations, mean spectral centroid,
//! roll-off (85 %), flatness, zero-crossing rate and 12 chroma means.

use std::ops::Range;

use ndarray::{s, Array2, ArrayView2, Axis};

use super::chroma::chroma_frames;
use super::mel::dct_matrix;
use super::stft::{bin_frequencies, frame_count, HOP, N_FFT};
use super::Window;

pub const COUNT: usize = 56;

/// Names of the 56 reference features, in order.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = (0..20).map(|i| format!("mfcc{i}_mean")).collect();
    names.extend((0..20).map(|i| format!("mfcc{i}_std")));
    names.extend(
        ["centroid", "rolloff85", "flatness", "zcr"]
            .iter()
            .map(|s| format!("{s}_mean")),
    );
    names.extend(
        [
            "C", "Cs", "D", "Ds", "E", "F", "Fs", "G", "Gs", "A", "As", "B",
        ]
        .iter()
        .map(|s| format!("chroma_{s}_mean")),
    );
    names
}

/// MFCCs (frames × 20) from the log-mel spectrogram.
pub fn mfcc(mel_db: &ArrayView2<f64>) -> Array2<f64> {
    mel_db.dot(&dct_matrix().t())
}

/// What the reference features summarise, per frame of a clip: computed
/// once, then averaged over the whole clip or over each window.
pub struct FrameValues {
    /// frames × 20.
    mfcc: Array2<f64>,
    /// frames × (centroid, roll-off, flatness, zero-crossing rate).
    spectral: Array2<f64>,
    /// frames × 12, each frame max-normalised; the tuning is estimated once.
    chroma: Array2<f64>,
}

impl FrameValues {
    pub fn new(a: &Window) -> Self {
        let freqs = bin_frequencies(a.sample_rate);
        let zcr = zero_crossing_rates(a.signal);
        let mut spectral = Array2::zeros((a.power.nrows(), 4));
        let mut magnitude = vec![0.0; freqs.len()];
        for ((row, mut out), zcr) in a.power.rows().into_iter().zip(spectral.rows_mut()).zip(zcr) {
            let power = row.as_slice().expect("standard layout");
            let (total, weighted) = magnitude_sums(power, &freqs, &mut magnitude);
            if total > f64::MIN_POSITIVE {
                out[0] = weighted / total;
            }
            out[1] = freqs[rolloff_bin(&magnitude, 0.85 * total)];
            out[2] = spectral_flatness(power);
            out[3] = zcr;
        }
        FrameValues {
            mfcc: mfcc(&a.mel_db),
            spectral,
            chroma: chroma_frames(&a.power, a.sample_rate),
        }
    }

    pub fn frames(&self) -> usize {
        self.mfcc.nrows()
    }

    /// The 56 features over `frames`.
    pub fn summarise(&self, frames: Range<usize>) -> Vec<f64> {
        let rows = |m: &Array2<f64>| m.slice(s![frames.clone(), ..]).to_owned();
        let mfcc = rows(&self.mfcc);
        let mut out = Vec::with_capacity(COUNT);
        out.extend(mfcc.mean_axis(Axis(0)).expect("frames"));
        out.extend(mfcc.std_axis(Axis(0), 0.0));
        out.extend(rows(&self.spectral).mean_axis(Axis(0)).expect("frames"));
        out.extend(rows(&self.chroma).mean_axis(Axis(0)).expect("frames"));
        debug_assert_eq!(out.len(), COUNT);
        out
    }
}

/// Lanes of the sums below: with independent accumulators a float sum is
/// not one long dependency chain, and it vectorises.
const LANES: usize = 8;

/// Fills `magnitude` with the square roots of `power` and returns their
/// sum and their sum weighted by `freqs`, in one pass.
fn magnitude_sums(power: &[f64], freqs: &[f64], magnitude: &mut [f64]) -> (f64, f64) {
    let (mut sums, mut dots) = ([0.0; LANES], [0.0; LANES]);
    let mut m_chunks = magnitude.chunks_exact_mut(LANES);
    let (p_chunks, f_chunks) = (power.chunks_exact(LANES), freqs.chunks_exact(LANES));
    let (p_tail, f_tail) = (p_chunks.remainder(), f_chunks.remainder());
    for ((m, p), f) in (&mut m_chunks).zip(p_chunks).zip(f_chunks) {
        for i in 0..LANES {
            m[i] = p[i].sqrt();
            sums[i] += m[i];
            dots[i] += f[i] * m[i];
        }
    }
    let (mut sum_tail, mut dot_tail) = (0.0, 0.0);
    for ((m, p), f) in m_chunks.into_remainder().iter_mut().zip(p_tail).zip(f_tail) {
        *m = p.sqrt();
        sum_tail += *m;
        dot_tail += f * *m;
    }
    (
        sums.iter().sum::<f64>() + sum_tail,
        dots.iter().sum::<f64>() + dot_tail,
    )
}

/// The first bin at which the cumulative magnitude reaches `threshold`
/// (librosa's roll-off): whole blocks are skipped by their sums, then the
/// block that crosses is scanned.
fn rolloff_bin(magnitude: &[f64], threshold: f64) -> usize {
    let mut cumulative = 0.0;
    for (b, block) in magnitude.chunks(LANES).enumerate() {
        let block_sum: f64 = block.iter().sum();
        if cumulative + block_sum >= threshold {
            for (i, m) in block.iter().enumerate() {
                cumulative += m;
                if cumulative >= threshold {
                    return b * LANES + i;
                }
            }
        }
        cumulative += block_sum;
    }
    magnitude.len() - 1
}

/// Geometric over arithmetic mean of the power floored at 1e-10, as
/// librosa's `spectral_flatness`. Logarithms are taken of products of 16
/// values (within f64's range for any power from 1e-10 to 1e16), in
/// [`LANES`] independent products: a sixteenth of the logarithms.
fn spectral_flatness(power: &[f64]) -> f64 {
    let mut log_sum = 0.0;
    let mut floored = [0.0f64; LANES];
    for block in power.chunks(16 * LANES) {
        let mut products = [1.0f64; LANES];
        let lanes = block.chunks_exact(LANES);
        let tail: f64 = lanes.remainder().iter().map(|p| p.max(1e-10)).product();
        let tail_sum: f64 = lanes.remainder().iter().map(|p| p.max(1e-10)).sum();
        for x in lanes {
            for i in 0..LANES {
                products[i] *= x[i].max(1e-10);
                floored[i] += x[i].max(1e-10);
            }
        }
        log_sum += products.iter().map(|p| p.ln()).sum::<f64>() + tail.ln();
        floored[0] += tail_sum;
    }
    let mean = floored.iter().sum::<f64>() / power.len() as f64;
    (log_sum / power.len() as f64).exp() / mean
}

/// librosa's `zero_crossing_rate` of every frame: edge-padded centred
/// frames of 2048, |x| ≤ 1e-10 counted as zero and zero counted as
/// positive; the fraction of sign changes. Counted with a running sum of
/// sign changes, so each frame costs two lookups instead of 2048; the edge
/// padding repeats a sample, which adds no change, so a frame's changes are
/// those between the samples it covers.
fn zero_crossing_rates(signal: &[f32]) -> Vec<f64> {
    // changes[i] = sign changes between samples 0 … i.
    let mut previous = signal.first().is_some_and(|&x| x < -1e-10);
    let mut count = 0u32;
    let changes: Vec<u32> = signal
        .iter()
        .map(|&x| {
            let negative = x < -1e-10;
            count += u32::from(negative != previous);
            previous = negative;
            count
        })
        .collect();
    let last = signal.len() as isize - 1;
    let at = |i: isize| changes[i.clamp(0, last) as usize];
    let half = (N_FFT / 2) as isize;
    (0..frame_count(signal.len()))
        .map(|t| {
            let centre = (t * HOP) as isize;
            f64::from(at(centre + half - 1) - at(centre - half)) / N_FFT as f64
        })
        .collect()
}
