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
pub fn estimate_tuning(power: &ArrayView2<f32>, sample_rate: f64) -> f64 {
    let freqs = bin_frequencies(sample_rate);
    let first = |hz: f64| freqs.iter().position(|&f| f >= hz).unwrap_or(N_BINS);
    let band = first(150.0).max(1)..first(4000.0).min(N_BINS - 1);
    let mut pitches = Vec::new();
    let mut mags = Vec::new();
    let mut is_peak = vec![0u8; band.len()];
    for row in power.rows() {
        let s = row.as_slice().expect("standard layout");
        let ref_value = 0.1 * largest(s);
        // piptrack's peak: above the gate, above its left neighbour and at
        // least its right one once bins at or below the gate count as zero.
        // A neighbour at or below the gate is below a bin above it anyway,
        // so plain comparisons decide, in one vectorised pass; the peaks
        // (a minority of bins) are then found eight flags at a time.
        let (left, centre, right) = (
            &s[band.start - 1..band.end - 1],
            &s[band.clone()],
            &s[band.start + 1..band.end + 1],
        );
        for (flag, ((&l, &c), &r)) in is_peak.iter_mut().zip(left.iter().zip(centre).zip(right)) {
            *flag = u8::from((c > ref_value) & (c > l) & (c >= r));
        }
        for (word_index, flags) in is_peak.chunks(8).enumerate() {
            let mut bytes = [0u8; 8];
            bytes[..flags.len()].copy_from_slice(flags);
            let mut word = u64::from_le_bytes(bytes);
            while word != 0 {
                let byte = word.trailing_zeros() / 8;
                word &= !(0xff << (8 * byte));
                let k = band.start + 8 * word_index + byte as usize;
                // The interpolation of the few peaks is done in f64.
                let (left, centre, right) =
                    (f64::from(s[k - 1]), f64::from(s[k]), f64::from(s[k + 1]));
                let a = right + left - 2.0 * centre;
                let b = (right - left) / 2.0;
                let shift = if b.abs() >= a.abs() { 0.0 } else { -b / a };
                let pitch = (k as f64 + shift) * sample_rate / N_FFT as f64;
                if pitch > 0.0 {
                    pitches.push(pitch);
                    mags.push(centre + 0.5 * b * shift);
                }
            }
        }
    }
    if pitches.is_empty() {
        return 0.0;
    }
    let threshold = median(&mags);
    let a440_octaves = (440.0f64 / 16.0).log2();
    let mut counts = [0usize; 100];
    for (&p, &m) in pitches.iter().zip(&mags) {
        if m < threshold {
            continue;
        }
        // N_CHROMA · hz_to_octs(p, 0) modulo 1 (x − ⌊x⌋ is exact).
        let semitones = N_CHROMA as f64 * (p.log2() - a440_octaves);
        let mut residual = semitones - semitones.floor();
        if residual >= 0.5 {
            residual -= 1.0;
        }
        let bin = (((residual + 0.5) * 100.0).floor() as usize).min(99);
        counts[bin] += 1;
    }
    let best = (0..100).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    -0.5 + best as f64 / 100.0
}

/// The largest value, in eight lanes (a plain fold over `f32::max` is one
/// long dependency chain).
fn largest(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            if v > *lane {
                *lane = v;
            }
        }
    }
    lanes.iter().copied().fold(tail, f32::max)
}

/// The median by selection (the values below the middle one are left
/// before it, unsorted: the largest of them is the other middle value).
fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    let n = values.len();
    let (below, &mut middle, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        middle
    } else {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + middle) / 2.0
    }
}

/// librosa's `filters.chroma` (12 × bins), base C, `ctroct=5, octwidth=2`:
/// built in f64, applied in f32 as librosa's.
pub fn filterbank(sample_rate: f64, tuning: f64) -> Array2<f32> {
    let n = N_CHROMA as f64;
    // librosa builds all N_FFT columns and keeps the first N_BINS; each
    // column depends only on its bin and the next, so only those are built.
    let mut frqbins: Vec<f64> = (1..=N_BINS)
        .map(|k| n * hz_to_octs(k as f64 * sample_rate / N_FFT as f64, tuning))
        .collect();
    frqbins.insert(0, frqbins[0] - 1.5 * n);
    let widths: Vec<f64> = frqbins.windows(2).map(|w| (w[1] - w[0]).max(1.0)).collect();
    let half = (n / 2.0).round();
    let mut wts = Array2::from_shape_fn((N_CHROMA, N_BINS), |(c, k)| {
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
    Array2::from_shape_fn((N_CHROMA, N_BINS), |(c, k)| {
        wts[[(c + 3) % N_CHROMA, k]] as f32
    })
}

/// [`filterbank`], remembered: the tuning estimate takes one of 100 values
/// and building a filterbank costs more than applying it.
fn cached_filterbank(sample_rate: f64, tuning: f64) -> Arc<Array2<f32>> {
    type Cache = Mutex<HashMap<(u64, u64), Arc<Array2<f32>>>>;
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
pub fn chroma_frames(power: &ArrayView2<f32>, sample_rate: f64) -> Array2<f32> {
    let fb = cached_filterbank(sample_rate, estimate_tuning(power, sample_rate));
    let mut chroma = power.dot(&fb.t());
    for mut row in chroma.rows_mut() {
        let max = row.iter().copied().fold(0.0, f32::max);
        if max > f32::MIN_POSITIVE {
            row /= max;
        }
    }
    chroma
}
