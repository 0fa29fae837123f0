//! The 56 features of the earlier system's pipeline, matching librosa:
//! 20 MFCC means and 20 standard deviations, mean spectral centroid,
//! roll-off (85 %), flatness, zero-crossing rate and 12 chroma means.

use ndarray::{Array2, Axis};

use super::chroma::chroma_means;
use super::mel::dct_matrix;
use super::stft::{bin_frequencies, HOP, N_FFT};
use super::Analysis;

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
pub fn mfcc(mel_db: &Array2<f64>) -> Array2<f64> {
    mel_db.dot(&dct_matrix().t())
}

pub fn compute(a: &Analysis) -> Vec<f64> {
    let mut out = Vec::with_capacity(COUNT);
    let mfcc = mfcc(&a.mel_db);
    out.extend(mfcc.mean_axis(Axis(0)).expect("frames"));
    out.extend(mfcc.std_axis(Axis(0), 0.0));

    let freqs = bin_frequencies(a.sample_rate);
    let (mut centroid, mut rolloff, mut flatness) = (0.0, 0.0, 0.0);
    for row in a.power.rows() {
        let power = row.as_slice().expect("standard layout");
        let magnitude: Vec<f64> = power.iter().map(|p| p.sqrt()).collect();
        let total: f64 = magnitude.iter().sum();
        if total > f64::MIN_POSITIVE {
            centroid += freqs
                .iter()
                .zip(&magnitude)
                .map(|(f, m)| f * m)
                .sum::<f64>()
                / total;
        }
        let threshold = 0.85 * total;
        let mut cumulative = 0.0;
        for (f, m) in freqs.iter().zip(&magnitude) {
            cumulative += m;
            if cumulative >= threshold {
                rolloff += f;
                break;
            }
        }
        // Flatness on power floored at 1e-10, as librosa does.
        let floored = power.iter().map(|p| p.max(1e-10));
        let log_mean = floored.clone().map(f64::ln).sum::<f64>() / power.len() as f64;
        let mean = floored.sum::<f64>() / power.len() as f64;
        flatness += log_mean.exp() / mean;
    }
    let frames = a.power.nrows() as f64;
    out.extend([centroid / frames, rolloff / frames, flatness / frames]);
    out.push(zero_crossing_rate(&a.signal));
    out.extend(chroma_means(&a.power, a.sample_rate));
    debug_assert_eq!(out.len(), COUNT);
    out
}

/// librosa's `zero_crossing_rate`: edge-padded centred frames of 2048,
/// |x| ≤ 1e-10 counted as zero and zero counted as positive; the mean over
/// frames of the fraction of sign changes.
fn zero_crossing_rate(signal: &[f32]) -> f64 {
    let n = signal.len() as isize;
    let sign = |i: isize| {
        let x = signal[i.clamp(0, n - 1) as usize];
        x < 0.0 && x.abs() > 1e-10
    };
    let frames = 1 + signal.len() / HOP;
    let half = (N_FFT / 2) as isize;
    let mut total = 0.0;
    for t in 0..frames {
        let start = (t * HOP) as isize - half;
        let crossings = (1..N_FFT as isize)
            .filter(|&i| sign(start + i) != sign(start + i - 1))
            .count();
        total += crossings as f64 / N_FFT as f64;
    }
    total / frames as f64
}
