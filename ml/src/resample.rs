//! Band-limited resampling to the analysis rate by the method of rubato's
//! synchronous FFT resampler, with its block sizes and anti-aliasing filter
//! (a windowed sinc, squared Blackman-Harris window, rubato's cutoff for
//! that length): each block of input is transformed, filtered, cut (or
//! padded) in frequency to the output rate, transformed back and
//! overlap-added. Two things differ from calling rubato: two blocks share
//! one complex FFT, one as the real and one as the imaginary part (the
//! filter is real, so they stay apart, but for rounding: see the silence
//! below), which halves the transforms and needs no real-FFT untangling;
//! and a rate's plan is built once.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock};

use rubato::{calculate_cutoff, WindowFunction};
use rustfft::num_complex::{Complex, Complex32};
use rustfft::{Fft, FftPlanner};

/// The rate every feature is computed at, as in the reference pipeline.
pub const ANALYSIS_RATE: u32 = 22_050;
/// Input frames per FFT block, at least (rubato's chunk size). It sets the
/// anti-aliasing filter; of the sizes tried, 512 brought the features of
/// esc50-dev clips closest to librosa's (which resamples with soxr): see
/// `tests/librosa_agreement.rs`.
const CHUNK: usize = 512;
const WINDOW: WindowFunction = WindowFunction::BlackmanHarris2;

/// Resamples mono audio from `from_rate` to [`ANALYSIS_RATE`]; the output
/// is aligned with the input (the filter's delay is trimmed).
pub fn to_analysis_rate(samples: &[f32], from_rate: u32) -> Vec<f32> {
    if from_rate == ANALYSIS_RATE || samples.is_empty() {
        return samples.to_vec();
    }
    plan(from_rate).process(samples)
}

/// The plan for `from_rate`, remembered: designing the filter and planning
/// the FFTs costs as much as resampling a few seconds.
fn plan(from_rate: u32) -> Arc<Plan> {
    static PLANS: OnceLock<Mutex<HashMap<u32, Arc<Plan>>>> = OnceLock::new();
    let mut plans = PLANS
        .get_or_init(Default::default)
        .lock()
        .expect("no panic while held");
    let plan = plans
        .entry(from_rate)
        .or_insert_with(|| Arc::new(Plan::new(from_rate as usize, ANALYSIS_RATE as usize)));
    Arc::clone(plan)
}

struct Plan {
    /// Input frames per block.
    block_in: usize,
    /// Output frames per block.
    block_out: usize,
    /// The filter's spectrum at the bins that are kept, 0, 1, … (the bins
    /// at and above the lower of the two Nyquist frequencies are cut; the
    /// filter has long reached its stopband there).
    filter: Vec<Complex32>,
    /// Of a zero-padded input block (2 · `block_in` points).
    forward: Arc<dyn Fft<f32>>,
    /// To an output block and its overlap (2 · `block_out` points).
    inverse: Arc<dyn Fft<f32>>,
}

impl Plan {
    fn new(from_rate: usize, to_rate: usize) -> Self {
        // rubato's `Fft::new_custom(from, to, CHUNK, 1, 1, WINDOW, FixedSync::Both)`.
        let gcd = gcd(from_rate, to_rate);
        let blocks = CHUNK.div_ceil(from_rate / gcd).max(1);
        let block_in = blocks * from_rate / gcd;
        let block_out = blocks * to_rate / gcd;
        let cutoff = if block_in > block_out {
            calculate_cutoff::<f32>(block_out, WINDOW) * block_out as f32 / block_in as f32
        } else {
            calculate_cutoff::<f32>(block_in, WINDOW)
        };
        // The sinc, centred on the block, windowed, with unit gain; scaled by
        // the FFT lengths' normalisation (both transforms are unnormalised).
        let taps: Vec<f64> = (0..block_in)
            .map(|n| {
                let x = (n as f64 - (block_in / 2) as f64) * f64::from(cutoff);
                let sinc = if x == 0.0 {
                    1.0
                } else {
                    (PI * x).sin() / (PI * x)
                };
                blackman_harris(n, block_in).powi(2) * sinc
            })
            .collect();
        let gain: f64 = taps.iter().sum::<f64>() * (2 * block_in) as f64;
        let mut spectrum: Vec<Complex<f64>> = taps
            .iter()
            .map(|t| Complex::new(t / gain, 0.0))
            .chain(std::iter::repeat(Complex::default()))
            .take(2 * block_in)
            .collect();
        FftPlanner::new()
            .plan_fft_forward(2 * block_in)
            .process(&mut spectrum);
        let filter = spectrum[..block_in.min(block_out)]
            .iter()
            .map(|h| Complex32::new(h.re as f32, h.im as f32))
            .collect();
        let mut planner = FftPlanner::new();
        Plan {
            block_in,
            block_out,
            filter,
            forward: planner.plan_fft_forward(2 * block_in),
            inverse: planner.plan_fft_inverse(2 * block_out),
        }
    }

    fn process(&self, samples: &[f32]) -> Vec<f32> {
        let (n_in, n_out) = (self.block_in, self.block_out);
        let len = (n_out as f64 / n_in as f64 * samples.len() as f64).ceil() as usize;
        let delay = n_out / 2;
        let pairs = (delay + len).div_ceil(2 * n_out);
        let mut out = Vec::with_capacity(pairs * 2 * n_out);
        let zero = Complex32::default();
        let mut wide = vec![zero; 2 * n_in];
        let mut narrow = vec![zero; 2 * n_out];
        let scratch_len = self
            .forward
            .get_inplace_scratch_len()
            .max(self.inverse.get_inplace_scratch_len());
        let mut scratch = vec![zero; scratch_len];
        let mut overlap = vec![0.0f32; n_out];
        let block = |b: usize| {
            let start = (b * n_in).min(samples.len());
            &samples[start..(start + n_in).min(samples.len())]
        };
        let kept = self.filter.len();
        for pair in 0..pairs {
            let (re, im) = (block(2 * pair), block(2 * pair + 1));
            let (head, padding) = wide.split_at_mut(n_in);
            if re.len() == n_in && im.len() == n_in {
                for ((z, &r), &i) in head.iter_mut().zip(re).zip(im) {
                    *z = Complex32::new(r, i);
                }
            } else {
                head.fill(zero);
                head.iter_mut().zip(re).for_each(|(z, &r)| z.re = r);
                head.iter_mut().zip(im).for_each(|(z, &i)| z.im = i);
            }
            padding.fill(zero);
            self.forward.process_with_scratch(&mut wide, &mut scratch);
            // Positive frequencies k and negative ones −k (at the end) are
            // kept; the filter's spectrum is Hermitian: H(−k) = H(k)*.
            let (positive, rest) = narrow.split_at_mut(kept);
            let (cut, negative) = rest.split_at_mut(rest.len() - (kept - 1));
            for ((n, w), h) in positive.iter_mut().zip(&wide[..kept]).zip(&self.filter) {
                *n = w * h;
            }
            cut.fill(zero);
            let wide_negative = &wide[2 * n_in - (kept - 1)..];
            for ((n, w), h) in negative
                .iter_mut()
                .rev()
                .zip(wide_negative.iter().rev())
                .zip(&self.filter[1..])
            {
                *n = w * h.conj();
            }
            self.inverse.process_with_scratch(&mut narrow, &mut scratch);
            // A block of digital silence gives exactly nothing, as on its
            // own: not its partner's rounding errors.
            let silent = |block: &[f32]| block.iter().all(|&x| x == 0.0);
            if silent(re) {
                narrow.iter_mut().for_each(|z| z.re = 0.0);
            }
            if silent(im) {
                narrow.iter_mut().for_each(|z| z.im = 0.0);
            }
            // The real part continues the first block's output, the
            // imaginary part the second's.
            let (head, tail) = narrow.split_at(n_out);
            let start = out.len();
            out.resize(start + 2 * n_out, 0.0);
            let (first, second) = out[start..].split_at_mut(n_out);
            for ((y, z), o) in first.iter_mut().zip(head).zip(&overlap) {
                *y = z.re + o;
            }
            for ((y, z), t) in second.iter_mut().zip(head).zip(tail) {
                *y = z.im + t.re;
            }
            for (o, t) in overlap.iter_mut().zip(tail) {
                *o = t.im;
            }
        }
        out.copy_within(delay..delay + len, 0);
        out.truncate(len);
        out
    }
}

/// The periodic 4-term Blackman-Harris window's value at `n` of `len`.
fn blackman_harris(n: usize, len: usize) -> f64 {
    let x = 2.0 * PI * n as f64 / len as f64;
    0.35875 - 0.48829 * x.cos() + 0.14128 * (2.0 * x).cos() - 0.01168 * (3.0 * x).cos()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use rubato::audioadapter_buffers::direct::InterleavedSlice;
    use rubato::{FixedSync, Resampler};

    use super::*;

    fn sine(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    fn noise(len: usize) -> Vec<f32> {
        let mut state = 987_654_321u32;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn keeps_duration_and_a_passband_tone() {
        let out = to_analysis_rate(&sine(1000.0, 44_100, 1.0), 44_100);
        assert!((out.len() as i64 - 22_050).abs() <= 1, "{}", out.len());
        let expected = sine(1000.0, ANALYSIS_RATE, 1.0);
        // Away from the edges the resampled tone matches the ideal one.
        let err = out[2000..20_000]
            .iter()
            .zip(&expected[2000..20_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-2, "max error {err}");
    }

    #[test]
    fn removes_tones_above_the_new_nyquist() {
        let out = to_analysis_rate(&sine(15_000.0, 44_100, 1.0), 44_100);
        let rms = (out[2000..20_000].iter().map(|s| s * s).sum::<f32>() / 18_000.0).sqrt();
        assert!(rms < 1e-2, "aliased energy {rms}");
    }

    /// Each FFT carries two blocks; one of digital silence must come out
    /// as silence once the filter has rung out, as it does on its own.
    #[test]
    fn silence_after_sound_stays_digital_silence() {
        let mut input = noise(1024);
        input.resize(20_000, 0.0);
        let out = to_analysis_rate(&input, 44_100);
        assert!(out[..512].iter().any(|&x| x != 0.0));
        assert!(out[1500..].iter().all(|&x| x == 0.0));
    }

    /// Down- and upsampling, odd lengths included: the same output as
    /// rubato's resampler with the same settings, to float rounding.
    #[test]
    fn equals_rubatos_fft_resampler() {
        for (rate, len) in [(44_100, 54_321), (48_000, 48_000), (16_000, 9_999)] {
            let input = noise(len);
            let mut rubato = rubato::Fft::<f32>::new_custom(
                rate as usize,
                ANALYSIS_RATE as usize,
                CHUNK,
                1,
                1,
                WINDOW,
                FixedSync::Both,
            )
            .unwrap();
            let adapter = InterleavedSlice::new(&input, 1, len).unwrap();
            let expected = rubato.process_all(&adapter, len, None).unwrap().take_data();
            let out = to_analysis_rate(&input, rate);
            assert_eq!(out.len(), expected.len(), "{rate} Hz");
            let err = out
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-5, "{rate} Hz: max difference {err}");
        }
    }
}
