//! Features the current model adds to the reference set. Every one is
//! independent of the recording's gain (levels are relative to the clip's
//! own level) and is computed over the clip's active frames only, so the
//! digital silence that pads many recordings does not dilute it.
//!
//! - band shape: 16 log-mel band levels relative to the clip level, and how
//!   much each varies over time (rain and waves are broad, wind is low);
//! - dynamics in 4 coarse bands: frame-to-frame change (crackle, drops),
//!   slow swell (waves, gusts: 1 s moving average), peaks above the median
//!   (thunder claps, clicks);
//! - onset strength (mean, spread), tonality (engines, birds, crickets),
//!   periodicity of the loudness envelope (machines) and dynamic range.

use std::ops::Range;

use ndarray::{Array2, ArrayView2};

use super::lanes::wide_sum;
use super::mel::N_MELS;
use super::stft::HOP;
use super::Window;

const BANDS: usize = 16;
const COARSE: usize = 4;
/// Frames more than this far below the loudest frame count as silence.
const ACTIVE_RANGE_DB: f64 = 60.0;
pub const COUNT: usize = 2 * BANDS + 3 * COARSE + 5;

pub fn names() -> Vec<String> {
    let mut names: Vec<String> = (0..BANDS).map(|b| format!("band{b}_rel_db")).collect();
    names.extend((0..BANDS).map(|b| format!("band{b}_std_db")));
    for stat in ["flux", "swell", "peaks"] {
        names.extend((0..COARSE).map(|c| format!("coarse{c}_{stat}_db")));
    }
    names.extend(
        [
            "onset_mean",
            "onset_std",
            "tonality_db",
            "periodicity",
            "dynamic_range_db",
        ]
        .map(String::from),
    );
    names
}

fn db(power: f64) -> f64 {
    10.0 * power.max(1e-10).log10()
}

/// Level in dB of the sum of `group` adjacent mel bands, per frame.
fn grouped_db(mel_power: &ArrayView2<f32>, groups: usize) -> Array2<f64> {
    let width = N_MELS / groups;
    Array2::from_shape_fn((mel_power.nrows(), groups), |(t, g)| {
        db(wide_sum(
            mel_power.row(t).iter().skip(g * width).take(width).copied(),
        ))
    })
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn std(values: &[f64]) -> f64 {
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len().max(1) as f64).sqrt()
}

/// The `q`-quantile (nearest rank) of `values`.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// What the extended features summarise, per frame of a clip: computed once
/// and then summarised over the whole clip or over each window. Windows
/// overlap five-fold, so computing these per window did every frame's
/// work five times.
pub struct FrameValues<'a> {
    /// Log-mel spectrogram, for onsets between frames that are not adjacent
    /// (a silent frame between two active ones).
    mel_db: ArrayView2<'a, f32>,
    /// Frames per second.
    second: usize,
    /// Level of each frame in dB.
    level: Vec<f64>,
    /// Levels in dB of [`BANDS`] and of [`COARSE`] groups of mel bands.
    bands: Array2<f64>,
    coarse: Array2<f64>,
    tonality: Vec<f64>,
    /// `onset[t]`: onset strength from frame t − 1 to t (0 for frame 0).
    onset: Vec<f64>,
}

impl<'a> FrameValues<'a> {
    pub fn new(a: &Window<'a>) -> Self {
        let level = a
            .mel_power
            .rows()
            .into_iter()
            .map(|r| db(wide_sum(r.iter().copied())))
            .collect();
        let frames = a.mel_power.nrows();
        let onset = (0..frames)
            .map(|t| {
                if t == 0 {
                    0.0
                } else {
                    onset(&a.mel_db, t - 1, t)
                }
            })
            .collect();
        FrameValues {
            mel_db: a.mel_db,
            second: (a.sample_rate / HOP as f64).round() as usize,
            level,
            bands: grouped_db(&a.mel_power, BANDS),
            coarse: grouped_db(&a.mel_power, COARSE),
            tonality: (0..frames).map(|t| tonality(a, t)).collect(),
            onset,
        }
    }

    /// The extended features over `frames`.
    pub fn summarise(&self, frames: Range<usize>) -> Vec<f64> {
        let loudest = self.level[frames.clone()]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let active: Vec<usize> = frames
            .filter(|&t| self.level[t] > loudest - ACTIVE_RANGE_DB)
            .collect();
        let active_db: Vec<f64> = active.iter().map(|&t| self.level[t]).collect();
        let level = mean(&active_db);
        let column =
            |m: &Array2<f64>, c: usize| -> Vec<f64> { active.iter().map(|&t| m[[t, c]]).collect() };

        let mut out = Vec::with_capacity(COUNT);
        out.extend((0..BANDS).map(|b| mean(&column(&self.bands, b)) - level));
        out.extend((0..BANDS).map(|b| std(&column(&self.bands, b))));

        let envelopes: Vec<Vec<f64>> = (0..COARSE).map(|c| column(&self.coarse, c)).collect();
        out.extend(envelopes.iter().map(|e| {
            mean(
                &e.windows(2)
                    .map(|w| (w[1] - w[0]).abs())
                    .collect::<Vec<_>>(),
            )
        }));
        let second = self.second;
        out.extend(envelopes.iter().map(|e| {
            let smooth: Vec<f64> = e.windows(second.min(e.len())).map(mean).collect();
            std(&smooth)
        }));
        out.extend(
            envelopes
                .iter()
                .map(|e| quantile(e, 0.95) - quantile(e, 0.5)),
        );

        let onsets: Vec<f64> = active
            .windows(2)
            .map(|w| {
                if w[1] == w[0] + 1 {
                    self.onset[w[1]]
                } else {
                    onset(&self.mel_db, w[0], w[1])
                }
            })
            .collect();
        out.push(mean(&onsets));
        out.push(std(&onsets));
        out.push(mean(
            &active.iter().map(|&t| self.tonality[t]).collect::<Vec<_>>(),
        ));
        out.push(periodicity(&active_db, second));
        out.push(quantile(&active_db, 0.9) - quantile(&active_db, 0.1));
        debug_assert_eq!(out.len(), COUNT);
        out
    }
}

/// Mean rise of the log-mel bands from frame `prev` to frame `next`.
fn onset(mel_db: &ArrayView2<f32>, prev: usize, next: usize) -> f64 {
    let (prev, next) = (mel_db.row(prev), mel_db.row(next));
    next.iter()
        .zip(prev.iter())
        .map(|(n, p)| f64::from((n - p).max(0.0)))
        .sum::<f64>()
        / N_MELS as f64
}

/// How far the strongest bin between 150 Hz and 5 kHz stands above the mean
/// of that range in frame `t`, in dB: high for engines, birds and crickets,
/// low for noise-like rain, wind and waves (averaged over active frames).
fn tonality(a: &Window, t: usize) -> f64 {
    let bin = |hz: f64| (hz * super::stft::N_FFT as f64 / a.sample_rate) as usize;
    let (lo, hi) = (bin(150.0), bin(5000.0));
    let row = a.power.row(t);
    let range = row.slice(ndarray::s![lo..hi]);
    let max = range.iter().copied().fold(0.0, f32::max);
    db(f64::from(max)) - db(wide_sum(range.iter().copied()) / range.len().max(1) as f64)
}

/// Largest normalised autocorrelation of the loudness envelope at lags of
/// 0.12 s to 1.5 s: repeating machines and chirps score high.
fn periodicity(envelope: &[f64], second: usize) -> f64 {
    let m = mean(envelope);
    let centred: Vec<f64> = envelope.iter().map(|v| v - m).collect();
    let energy: f64 = centred.iter().map(|v| v * v).sum();
    if energy <= f64::EPSILON {
        return 0.0;
    }
    let (min_lag, max_lag) = (second / 8, (second * 3 / 2).min(centred.len() / 2));
    (min_lag..max_lag.max(min_lag))
        .map(|lag| {
            centred
                .iter()
                .zip(&centred[lag..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / energy
        })
        .fold(0.0, f64::max)
}
