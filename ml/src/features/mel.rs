//! Slaney-style mel filterbank (librosa's default `htk=False, norm="slaney"`),
//! log compression and the orthonormal DCT-II that turns log-mel into MFCCs.

use std::sync::OnceLock;

use ndarray::Array2;

use super::stft::{bin_frequencies, N_BINS};

pub const N_MELS: usize = 128;
pub const N_MFCC: usize = 20;
/// librosa's `power_to_db` floor and dynamic range.
const AMIN: f64 = 1e-10;
const TOP_DB: f64 = 80.0;

// Slaney's mel scale (Auditory Toolbox): linear below 1 kHz, logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// One triangular filter: its first non-zero bin and its weights from there.
struct Filter {
    start: usize,
    weights: Vec<f32>,
}

/// The 128-band mel filterbank, stored sparsely (each band spans few bins).
pub struct MelBank {
    filters: Vec<Filter>,
}

impl MelBank {
    pub fn new(sample_rate: f64) -> Self {
        let fft_freqs = bin_frequencies(sample_rate);
        let max_mel = hz_to_mel(sample_rate / 2.0);
        let mel_f: Vec<f64> = (0..N_MELS + 2)
            .map(|i| mel_to_hz(max_mel * i as f64 / (N_MELS + 1) as f64))
            .collect();
        let filters = (0..N_MELS)
            .map(|m| {
                let (lo, mid, hi) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
                let enorm = 2.0 / (hi - lo);
                let dense: Vec<f64> = fft_freqs
                    .iter()
                    .map(|&f| {
                        let lower = (f - lo) / (mid - lo);
                        let upper = (hi - f) / (hi - mid);
                        lower.min(upper).max(0.0) * enorm
                    })
                    .collect();
                let start = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
                let end = dense
                    .iter()
                    .rposition(|&w| w > 0.0)
                    .map_or(start, |e| e + 1);
                Filter {
                    start,
                    weights: dense[start..end].iter().map(|&w| w as f32).collect(),
                }
            })
            .collect();
        MelBank { filters }
    }

    /// Mel power spectrogram (frames × 128) from a power spectrogram, in
    /// f32 as librosa's (a band sums at most a few dozen bins).
    pub fn apply(&self, power: &Array2<f32>) -> Array2<f32> {
        assert_eq!(power.ncols(), N_BINS);
        let power = power.as_slice().expect("standard layout");
        let mut mel = vec![0.0; power.len() / N_BINS * N_MELS];
        // Four frames at a time: each weight is loaded once for the four,
        // and their sums are independent chains (each frame's sum still
        // runs in bin order, so the result is the same as frame by frame).
        let mut rows = power.chunks_exact(4 * N_BINS);
        let mut outs = mel.chunks_exact_mut(4 * N_MELS);
        for (rows, out) in (&mut rows).zip(&mut outs) {
            for (m, filter) in self.filters.iter().enumerate() {
                let n = filter.weights.len();
                let bins = |f: usize| &rows[f * N_BINS + filter.start..][..n];
                let (b0, b1, b2, b3) = (bins(0), bins(1), bins(2), bins(3));
                let mut acc = [0.0; 4];
                for j in 0..n {
                    let w = filter.weights[j];
                    acc[0] += b0[j] * w;
                    acc[1] += b1[j] * w;
                    acc[2] += b2[j] * w;
                    acc[3] += b3[j] * w;
                }
                for (f, acc) in acc.into_iter().enumerate() {
                    out[f * N_MELS + m] = acc;
                }
            }
        }
        for (row, out) in rows
            .remainder()
            .chunks_exact(N_BINS)
            .zip(outs.into_remainder().chunks_exact_mut(N_MELS))
        {
            for (o, filter) in out.iter_mut().zip(&self.filters) {
                let bins = &row[filter.start..filter.start + filter.weights.len()];
                *o = bins.iter().zip(&filter.weights).map(|(p, w)| p * w).sum();
            }
        }
        Array2::from_shape_vec((power.len() / N_BINS, N_MELS), mel).expect("one row per frame")
    }
}

/// librosa's `power_to_db(S, ref=1.0)`: 10·log10, floored at 80 dB below
/// the loudest cell of the whole spectrogram, in f32 as librosa's.
/// The floor is applied to the power before the logarithm (the same cells
/// end up at it), and the logarithm is the natural one scaled: glibc's
/// `log10f` costs more than `logf`.
pub fn power_to_db(power: &Array2<f32>) -> Array2<f32> {
    let max = f64::from(power.iter().copied().fold(AMIN as f32, f32::max));
    let floor = (max * 10f64.powf(-TOP_DB / 10.0)).max(AMIN) as f32;
    let scale = (10.0 / std::f64::consts::LN_10) as f32;
    power.mapv(|p| scale * p.max(floor).ln())
}

/// The first [`N_MFCC`] rows of the orthonormal DCT-II matrix over 128
/// bands, built once.
pub fn dct_matrix() -> &'static Array2<f32> {
    static DCT: OnceLock<Array2<f32>> = OnceLock::new();
    DCT.get_or_init(|| {
        let n = N_MELS as f64;
        Array2::from_shape_fn((N_MFCC, N_MELS), |(k, i)| {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            let angle = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n);
            (scale * angle.cos()) as f32
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips_and_is_linear_below_1khz() {
        for hz in [0.0, 200.0, 999.0, 1000.0, 4321.0, 11_025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
    }

    #[test]
    fn power_to_db_is_librosas() {
        let power = Array2::from_shape_fn((7, 5), |(t, k)| {
            10f32.powf(t as f32 - 2.0 * k as f32) * if (t + k) % 3 == 0 { 0.0 } else { 1.0 }
        });
        let direct = power.mapv(|p| 10.0 * f64::from(p).max(AMIN).log10());
        let max = direct.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for (d, e) in power_to_db(&power).iter().zip(&direct) {
            // f32, as librosa's: a few units of 1e-7 of 100 dB.
            assert!(
                (f64::from(*d) - e.max(max - TOP_DB)).abs() < 1e-4,
                "{d} {e}"
            );
        }
    }

    #[test]
    fn filtering_four_frames_at_a_time_equals_one_at_a_time() {
        let power = Array2::from_shape_fn((11, N_BINS), |(t, k)| ((t * 31 + k * 7) % 97) as f32);
        let bank = MelBank::new(22_050.0);
        let mel = bank.apply(&power);
        for (row, out) in power.rows().into_iter().zip(mel.rows()) {
            for (o, filter) in out.iter().zip(&bank.filters) {
                let bins = row.slice(ndarray::s![
                    filter.start..filter.start + filter.weights.len()
                ]);
                let expected: f32 = bins.iter().zip(&filter.weights).map(|(p, w)| p * w).sum();
                assert_eq!(*o, expected);
            }
        }
    }

    #[test]
    fn dct_rows_are_orthonormal() {
        let d = dct_matrix();
        let gram = d.dot(&d.t());
        for ((i, j), v) in gram.indexed_iter() {
            let expected = if i == j { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < 1e-6, "{i},{j}: {v}");
        }
    }
}
