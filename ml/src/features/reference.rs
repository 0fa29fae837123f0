//! The 56 features of the earlier system's pipeline, matching librosa:
//! 20 MFCC means and 20 standard deviations, mean spectral centroid,
//! roll-off (85 %), flatness, zero-crossing rate and 12 chroma means.

use std::ops::Range;

use ndarray::{s, Array2, ArrayView2, Axis};

use super::chroma::chroma_frames;
use super::lanes::{lanes_dot, lanes_sum, LANES};
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
pub fn mfcc(mel_db: &ArrayView2<f32>) -> Array2<f32> {
    mel_db.dot(&dct_matrix().t())
}

/// What the reference features summarise, per frame of a clip: computed
/// once, then averaged over the whole clip or over each window.
pub struct FrameValues {
    /// frames × 20.
    mfcc: Array2<f32>,
    /// frames × (centroid, roll-off, flatness, zero-crossing rate).
    spectral: Array2<f64>,
    /// frames × 12, each frame max-normalised; the tuning is estimated once.
    chroma: Array2<f32>,
}

impl FrameValues {
    pub fn new(a: &Window) -> Self {
        let freqs: Vec<f32> = bin_frequencies(a.sample_rate)
            .into_iter()
            .map(|f| f as f32)
            .collect();
        let zcr = zero_crossing_rates(a.signal);
        let mut spectral = Array2::zeros((a.power.nrows(), 4));
        let (mut magnitude, mut floored) = (vec![0.0; freqs.len()], vec![0.0; freqs.len()]);
        for ((row, mut out), zcr) in a.power.rows().into_iter().zip(spectral.rows_mut()).zip(zcr) {
            let power = row.as_slice().expect("standard layout");
            let (total, weighted) = magnitude_sums(power, &freqs, &mut magnitude);
            if total > f64::MIN_POSITIVE {
                out[0] = weighted / total;
            }
            out[1] = f64::from(freqs[rolloff_bin(&magnitude, 0.85 * total)]);
            out[2] = spectral_flatness(power, &mut floored);
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
        // Per-frame values are f32; their statistics are taken in f64.
        let wide = |m: &Array2<f32>| m.slice(s![frames.clone(), ..]).mapv(f64::from);
        let mfcc = wide(&self.mfcc);
        let mut out = Vec::with_capacity(COUNT);
        out.extend(mfcc.mean_axis(Axis(0)).expect("frames"));
        out.extend(mfcc.std_axis(Axis(0), 0.0));
        out.extend(rows(&self.spectral).mean_axis(Axis(0)).expect("frames"));
        out.extend(wide(&self.chroma).mean_axis(Axis(0)).expect("frames"));
        debug_assert_eq!(out.len(), COUNT);
        out
    }
}

/// Fills `magnitude` with the square roots of `power` and returns their
/// sum and their sum weighted by `freqs`.
fn magnitude_sums(power: &[f32], freqs: &[f32], magnitude: &mut [f32]) -> (f64, f64) {
    for (m, p) in magnitude.iter_mut().zip(power) {
        *m = p.sqrt();
    }
    (lanes_sum(magnitude), lanes_dot(magnitude, freqs))
}

/// The first bin at which the cumulative magnitude reaches `threshold`
/// (librosa's roll-off): whole blocks are skipped by their sums, then the
/// block that crosses is scanned.
fn rolloff_bin(magnitude: &[f32], threshold: f64) -> usize {
    let mut cumulative = 0.0;
    for (b, block) in magnitude.chunks(LANES).enumerate() {
        let block_sum: f64 = block.iter().map(|&m| f64::from(m)).sum();
        if cumulative + block_sum >= threshold {
            for (i, &m) in block.iter().enumerate() {
                cumulative += f64::from(m);
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
/// librosa's `spectral_flatness`, in f32 lanes (`floored` is scratch space
/// of the power's length). With x = m·2^e (m in [1, 2)), the logarithm of
/// a product of values is the sum of their exponents times ln 2 plus the
/// logarithm of the product of their mantissas; 64 mantissas multiply to
/// less than 2^64, well within f32: one logarithm per lane per 64 bins.
fn spectral_flatness(power: &[f32], floored: &mut [f32]) -> f64 {
    const MANTISSAS: usize = 64;
    const MANTISSA_BITS: u32 = 23;
    const MANTISSA_MASK: u32 = (1 << MANTISSA_BITS) - 1;
    const BIAS: u32 = 127;
    // The floor is a normal f32, so every value has the implicit leading 1.
    for (f, &p) in floored.iter_mut().zip(power) {
        *f = p.max(1e-10);
    }
    let mantissa = |x: f32| f32::from_bits((x.to_bits() & MANTISSA_MASK) | (BIAS << MANTISSA_BITS));
    let chunks = floored.chunks_exact(LANES);
    let mut exponents = [0u32; LANES];
    let mut exponent_sum: f64 = chunks
        .remainder()
        .iter()
        .map(|x| f64::from(x.to_bits() >> MANTISSA_BITS))
        .sum();
    for x in chunks {
        for i in 0..LANES {
            exponents[i] += x[i].to_bits() >> MANTISSA_BITS;
        }
    }
    let mut log_mantissas = 0.0f64;
    for block in floored.chunks(MANTISSAS * LANES) {
        let mut products = [1.0f32; LANES];
        let chunks = block.chunks_exact(LANES);
        for (product, &x) in products.iter_mut().zip(chunks.remainder()) {
            *product *= mantissa(x);
        }
        for x in chunks {
            for i in 0..LANES {
                products[i] *= mantissa(x[i]);
            }
        }
        log_mantissas += products.iter().map(|&p| f64::from(p).ln()).sum::<f64>();
    }
    let n = power.len() as f64;
    exponent_sum += exponents.iter().map(|&e| f64::from(e)).sum::<f64>() - f64::from(BIAS) * n;
    let mean_log = (exponent_sum * std::f64::consts::LN_2 + log_mantissas) / n;
    (mean_log.exp()) / (lanes_sum(floored) / n)
}

/// librosa's `zero_crossing_rate` of every frame: edge-padded centred
/// frames of 2048, |x| ≤ 1e-10 counted as zero and zero counted as
/// positive; the fraction of sign changes. The edge padding repeats a
/// sample, which adds no change, so a frame's changes are those between
/// the samples it covers: a difference of running counts. The running count
/// is kept per hop-long block (the changes are flagged in one vectorised
/// pass), so each frame adds up at most one block instead of 2048 samples.
fn zero_crossing_rates(signal: &[f32]) -> Vec<f64> {
    let negative = |x: f32| x < -1e-10;
    // change[i]: whether the sign changes from sample i − 1 to sample i.
    let mut change = vec![0u8; signal.len()];
    for (flag, pair) in change.iter_mut().skip(1).zip(signal.windows(2)) {
        *flag = u8::from(negative(pair[0]) != negative(pair[1]));
    }
    let count = |flags: &[u8]| flags.iter().map(|&f| u32::from(f)).sum::<u32>();
    // before[b]: changes in the blocks before block b.
    let before: Vec<u32> = std::iter::once(0)
        .chain(change.chunks(HOP).scan(0, |total, block| {
            *total += count(block);
            Some(*total)
        }))
        .collect();
    // Changes between samples 0 … i.
    let last = signal.len() as isize - 1;
    let at = |i: isize| {
        let i = i.clamp(0, last) as usize;
        let block = i / HOP;
        before[block] + count(&change[block * HOP..=i])
    };
    let half = (N_FFT / 2) as isize;
    (0..frame_count(signal.len()))
        .map(|t| {
            let centre = (t * HOP) as isize;
            f64::from(at(centre + half - 1) - at(centre - half)) / N_FFT as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flatness of powers over the whole range a spectrogram holds
    /// (below the floor, silent bins, up to 1e9), as the plain formula in f64.
    #[test]
    fn flatness_by_exponents_and_mantissas_is_the_plain_formula() {
        let mut state = 7u32;
        let power: Vec<f32> = (0..super::super::stft::N_BINS)
            .map(|k| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let decades = (state >> 8) as f32 / (1 << 24) as f32 * 21.0 - 12.0;
                if k % 97 == 0 {
                    0.0
                } else {
                    10f32.powf(decades)
                }
            })
            .collect();
        let floored: Vec<f64> = power.iter().map(|&p| f64::from(p).max(1e-10)).collect();
        let n = floored.len() as f64;
        let geometric = (floored.iter().map(|p| p.ln()).sum::<f64>() / n).exp();
        let expected = geometric / (floored.iter().sum::<f64>() / n);
        let flatness = spectral_flatness(&power, &mut vec![0.0; power.len()]);
        assert!(
            (flatness / expected - 1.0).abs() < 1e-5,
            "{flatness} vs {expected}"
        );
    }

    /// The rate of every frame counted over its padded samples one by one.
    #[test]
    fn zero_crossing_rates_by_blocks_count_each_frames_samples() {
        let signal: Vec<f32> = (0..9_000)
            .map(|i| match i % 7 {
                0 => 0.0,
                3 => -1e-11,
                _ => ((i * i) as f32 * 0.37).sin(),
            })
            .collect();
        let half = (N_FFT / 2) as isize;
        let last = signal.len() as isize - 1;
        let expected: Vec<f64> = (0..frame_count(signal.len()))
            .map(|t| {
                let centre = (t * HOP) as isize;
                let sample = |i: isize| signal[i.clamp(0, last) as usize] < -1e-10;
                let changes = (centre - half + 1..centre + half)
                    .filter(|&i| sample(i) != sample(i - 1))
                    .count();
                changes as f64 / N_FFT as f64
            })
            .collect();
        assert_eq!(zero_crossing_rates(&signal), expected);
    }
}
