//! Chroma from a power spectrogram as librosa's `chroma_stft` computes it:
//! tuning estimated with `piptrack`, a Gaussian chroma filterbank centred on
//! octave 5, each frame normalised by its largest chroma value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::{Array2, ArrayView2};

use super::stft::{bin_frequencies, N_BINS, N_FFT};

pub const N_CHROMA: usize = 12;

fn hz_to_octs(hz: f64, tuning: f64) -> f64 {
    let a440 = 440.0 * 2f64.powf(tuning / N_CHROMA as f64);
    (hz / (a440 / 16.0)).log2()
}

/// librosa's `estimate_tuning`: parabolic-interpolated spectral peaks
/// between 150 Hz and 4 kHz, the stronger half of them, and the histogram
/// peak (0.01-semitone bins) of their deviation from equal temperament.
pub fn estimate_tuning(power: &ArrayView2<f64>, sample_rate: f64) -> f64 {
    let freqs = bin_frequencies(sample_rate);
    let first = |hz: f64| freqs.iter().position(|&f| f >= hz).unwrap_or(N_BINS);
    let band = first(150.0).max(1)..first(4000.0).min(N_BINS - 1);
    let mut pitches = Vec::new();
    let mut mags = Vec::new();
    for row in power.rows() {
        let s = row.as_slice().expect("standard layout");
        let ref_value = 0.1 * largest(s);
        let gated = |k: usize| if s[k] > ref_value { s[k] } else { 0.0 };
        for k in band.clone() {
            // A bin gated to zero is no peak (its neighbours are ≥ 0): most
            // bins of a noisy frame are rejected by this one comparison.
            if s[k] <= ref_value {
                continue;
            }
            let (prev, here, next) = (gated(k - 1), s[k], gated(k + 1));
            if !(here > prev && here >= next) {
                continue;
            }
            let a = s[k + 1] + s[k - 1] - 2.0 * s[k];
            let b = (s[k + 1] - s[k - 1]) / 2.0;
            let shift = if b.abs() >= a.abs() { 0.0 } else { -b / a };
            let pitch = (k as f64 + shift) * sample_rate / N_FFT as f64;
            if pitch > 0.0 {
                pitches.push(pitch);
                mags.push(s[k] + 0.5 * b * shift);
            }
        }
    }
    if pitches.is_empty() {
        return 0.0;
    }
    let threshold = median(&mags);
    let mut counts = [0usize; 100];
    for (&p, &m) in pitches.iter().zip(&mags) {
        if m < threshold {
            continue;
        }
        let mut residual = (N_CHROMA as f64 * hz_to_octs(p, 0.0)).rem_euclid(1.0);
        if residual >= 0.5 {
            residual -= 1.0;
        }
        let bin = (((residual + 0.5) * 100.0).floor() as usize).min(99);
        counts[bin] += 1;
    }
    let best = (0..100).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    -0.5 + best as f64 / 100.0
}

/// The largest value, in eight lanes (a plain fold over `f64::max` is one
/// long dependency chain).
fn largest(values: &[f64]) -> f64 {
    let mut lanes = [f64::NEG_INFINITY; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            if v > *lane {
                *lane = v;
            }
        }
    }
    lanes.iter().copied().fold(tail, f64::max)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// librosa's `filters.chroma` (12 × bins), base C, `ctroct=5, octwidth=2`.
pub fn filterbank(sample_rate: f64, tuning: f64) -> Array2<f64> {
    let n = N_CHROMA as f64;
    let mut frqbins: Vec<f64> = (1..N_FFT)
        .map(|k| n * hz_to_octs(k as f64 * sample_rate / N_FFT as f64, tuning))
        .collect();
    frqbins.insert(0, frqbins[0] - 1.5 * n);
    let mut widths: Vec<f64> = frqbins.windows(2).map(|w| (w[1] - w[0]).max(1.0)).collect();
    widths.push(1.0);
    let half = (n / 2.0).round();
    let mut wts = Array2::from_shape_fn((N_CHROMA, N_FFT), |(c, k)| {
        let d = (frqbins[k] - c as f64 + half + 10.0 * n).rem_euclid(n) - half;
        (-0.5 * (2.0 * d / widths[k]).powi(2)).exp()
    });
    for mut column in wts.columns_mut() {
        let norm = column.dot(&column).sqrt();
        if norm > f64::MIN_POSITIVE {
            column /= norm;
        }
    }
    for (k, mut column) in wts.columns_mut().into_iter().enumerate() {
        column *= (-0.5 * ((frqbins[k] / n - 5.0) / 2.0).powi(2)).exp();
    }
    // Rotate so that row 0 is C rather than A.
    Array2::from_shape_fn((N_CHROMA, N_BINS), |(c, k)| wts[[(c + 3) % N_CHROMA, k]])
}

/// [`filterbank`], remembered: the tuning estimate takes one of 100 values
/// and building a filterbank costs more than applying it.
fn cached_filterbank(sample_rate: f64, tuning: f64) -> Arc<Array2<f64>> {
    type Cache = Mutex<HashMap<(u64, u64), Arc<Array2<f64>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (sample_rate.to_bits(), tuning.to_bits());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(fb) = cache.lock().expect("no panic while held").get(&key) {
        return Arc::clone(fb);
    }
    let fb = Arc::new(filterbank(sample_rate, tuning));
    cache
        .lock()
        .expect("no panic while held")
        .insert(key, Arc::clone(&fb));
    fb
}

/// The max-normalised chroma vector of every frame (frames × 12).
pub fn chroma_frames(power: &ArrayView2<f64>, sample_rate: f64) -> Array2<f64> {
    let fb = cached_filterbank(sample_rate, estimate_tuning(power, sample_rate));
    let mut chroma = power.dot(&fb.t());
    for mut row in chroma.rows_mut() {
        let max = row.iter().copied().fold(0.0, f64::max);
        if max > f64::MIN_POSITIVE {
            row /= max;
        }
    }
    chroma
}
