//! Short-time Fourier transform with librosa's defaults: 2048-point periodic
//! Hann window, hop 512, frames centred on the hop grid (zero-padded ends).
//! The FFT and the power spectrogram are f32 as librosa's are (twice the
//! SIMD width of f64, half the memory); sums over them are taken in f64
//! where their length calls for it. Two real frames share one complex FFT (see
//! [`Stft::power`]): a real FFT (realfft) does the same number of
//! butterflies but then untangles the halves in a scalar loop with twiddle
//! factors that costs more than the butterflies it saves.

use std::sync::Arc;

use ndarray::Array2;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

pub const N_FFT: usize = 2048;
pub const HOP: usize = 512;
pub const N_BINS: usize = N_FFT / 2 + 1;

/// A reusable STFT plan (window and FFT plan are built once).
pub struct Stft {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
}

impl Default for Stft {
    fn default() -> Self {
        let window = (0..N_FFT)
            .map(|n| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32
            })
            .collect();
        Stft {
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
            window,
        }
    }
}

/// Number of centred frames librosa produces for `len` samples.
pub fn frame_count(len: usize) -> usize {
    1 + len / HOP
}

impl Stft {
    /// The power spectrogram |X|², one row per frame, one column per bin.
    ///
    /// Frames are transformed two at a time, one as the real and one as the
    /// imaginary part of a complex FFT, and told apart by symmetry (the
    /// transform of a real frame is Hermitian): half the FFTs, and unlike
    /// a real FFT's untangling, no twiddle factors. A frame of digital
    /// silence is not paired, so the other's rounding cannot leak into it.
    pub fn power(&self, signal: &[f32]) -> Array2<f32> {
        let frames = frame_count(signal.len());
        // Filled frame by frame rather than zeroed first: zeroing 0.9 MB per
        // 5 s clip costs a sixth of the FFTs.
        let mut power = Vec::with_capacity(frames * N_BINS);
        let mut buffer = vec![Complex32::default(); N_FFT];
        let mut scratch = vec![Complex32::default(); self.fft.get_inplace_scratch_len()];
        let mut t = 0;
        while t < frames {
            let second = (t + 1 < frames).then_some(t + 1);
            let (first_silent, second_silent) = self.frames_into(signal, t, second, &mut buffer);
            if second.is_some() && !first_silent && !second_silent {
                self.fft.process_with_scratch(&mut buffer, &mut scratch);
                untangle(&buffer, &mut power);
                t += 2;
            } else {
                buffer.iter_mut().for_each(|z| z.im = 0.0);
                self.fft.process_with_scratch(&mut buffer, &mut scratch);
                power.extend(buffer[..N_BINS].iter().map(|c| c.norm_sqr()));
                t += 1;
            }
        }
        Array2::from_shape_vec((frames, N_BINS), power).expect("one row of bins per frame")
    }

    /// Writes frame `t` windowed as the real part of `buffer` and frame
    /// `second` (if any) as the imaginary part; returns whether each is all
    /// zero. Frames wholly inside the signal, nearly all of them, take one
    /// pass; those that reach past an end are zero-padded.
    fn frames_into(
        &self,
        signal: &[f32],
        t: usize,
        second: Option<usize>,
        buffer: &mut [Complex32],
    ) -> (bool, bool) {
        let inside = |t: usize| {
            let start = (t * HOP).checked_sub(N_FFT / 2)?;
            signal.get(start..start + N_FFT)
        };
        let buffer: &mut [Complex32; N_FFT] = buffer.try_into().expect("one transform");
        let window: &[f32; N_FFT] = self.window.as_slice().try_into().expect("one window");
        if let (Some(a), Some(b)) = (inside(t), second.and_then(inside)) {
            let (a, b): (&[f32; N_FFT], &[f32; N_FFT]) = (
                a.try_into().expect("a frame"),
                b.try_into().expect("a frame"),
            );
            let (mut any_a, mut any_b) = (false, false);
            for i in 0..N_FFT {
                let (x, y) = (a[i] * window[i], b[i] * window[i]);
                any_a |= x != 0.0;
                any_b |= y != 0.0;
                buffer[i] = Complex32::new(x, y);
            }
            return (!any_a, !any_b);
        }
        let mut frame = [0.0f32; N_FFT];
        self.window_into(signal, t, &mut frame);
        buffer
            .iter_mut()
            .zip(&frame)
            .for_each(|(z, &x)| *z = Complex32::new(x, 0.0));
        let first_silent = frame.iter().all(|&x| x == 0.0);
        let second_silent = match second {
            Some(u) => {
                self.window_into(signal, u, &mut frame);
                buffer.iter_mut().zip(&frame).for_each(|(z, &y)| z.im = y);
                frame.iter().all(|&y| y == 0.0)
            }
            None => true,
        };
        (first_silent, second_silent)
    }

    /// Frame `t`, centred on sample `t · HOP` (zero beyond the signal), windowed.
    fn window_into(&self, signal: &[f32], t: usize, frame: &mut [f32]) {
        // Sample index of the frame's first point in the unpadded signal;
        // the part of the frame inside the signal is [lo, hi).
        let start = (t * HOP) as isize - (N_FFT / 2) as isize;
        let lo = (-start).clamp(0, N_FFT as isize) as usize;
        let hi = (signal.len() as isize - start).clamp(lo as isize, N_FFT as isize) as usize;
        frame[..lo].fill(0.0);
        frame[hi..].fill(0.0);
        let inside = &signal[(start + lo as isize) as usize..(start + hi as isize) as usize];
        for ((x, w), s) in frame[lo..hi]
            .iter_mut()
            .zip(&self.window[lo..hi])
            .zip(inside)
        {
            *x = s * w;
        }
    }
}

/// Appends the power rows of the two frames whose transform, as real and
/// imaginary part, is `z`: with Z(−k) = Z(N − k), the frames' transforms
/// are X₁(k) = (Z(k) + Z(−k)*) / 2 and X₂(k) = (Z(k) − Z(−k)*) / 2i.
fn untangle(z: &[Complex32], power: &mut Vec<f32>) {
    // Fixed lengths, so that the loop has no bounds checks and vectorises.
    let z: &[Complex32; N_FFT] = z.try_into().expect("one transform");
    let start = power.len();
    power.resize(start + 2 * N_BINS, 0.0);
    let (first, second) = power[start..].split_at_mut(N_BINS);
    let first: &mut [f32; N_BINS] = first.try_into().expect("one row");
    let second: &mut [f32; N_BINS] = second.try_into().expect("one row");
    let square = |x: f32| x * x;
    first[0] = square(z[0].re);
    second[0] = square(z[0].im);
    for k in 1..N_BINS {
        let (a, m) = (z[k], z[N_FFT - k]);
        first[k] = 0.25 * (square(a.re + m.re) + square(a.im - m.im));
        second[k] = 0.25 * (square(a.im + m.im) + square(a.re - m.re));
    }
}

/// Centre frequency in Hz of each FFT bin.
pub fn bin_frequencies(sample_rate: f64) -> Vec<f64> {
    (0..N_BINS)
        .map(|k| k as f64 * sample_rate / N_FFT as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames inside the signal are windowed in one pass, those that reach
    /// past an end through zero padding: the two agree, silence included.
    #[test]
    fn frames_windowed_in_one_pass_equal_the_padded_ones() {
        let mut signal: Vec<f32> = (0..20_000).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        signal[6_000..12_000].fill(0.0);
        let stft = Stft::default();
        let mut buffer = vec![Complex32::default(); N_FFT];
        let mut frame = vec![0.0; N_FFT];
        for t in 0..frame_count(signal.len()) - 1 {
            let (first_silent, second_silent) =
                stft.frames_into(&signal, t, Some(t + 1), &mut buffer);
            let real: Vec<f32> = buffer.iter().map(|z| z.re).collect();
            let imaginary: Vec<f32> = buffer.iter().map(|z| z.im).collect();
            for (u, silent, written) in [(t, first_silent, real), (t + 1, second_silent, imaginary)]
            {
                stft.window_into(&signal, u, &mut frame);
                assert_eq!(written, frame, "frame {u}");
                assert_eq!(silent, frame.iter().all(|&x| x == 0.0), "frame {u}");
            }
        }
    }

    #[test]
    fn a_tone_peaks_in_its_bin_and_keeps_parseval_energy() {
        let rate = 22_050.0;
        let bin = 93; // exactly on a bin centre: 93 * 22050 / 2048 Hz
        let freq = bin as f64 * rate / N_FFT as f64;
        let signal: Vec<f32> = (0..22_050)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin() as f32)
            .collect();
        let power = Stft::default().power(&signal);
        assert_eq!(power.nrows(), 1 + 22_050 / HOP);
        let row = power.row(20);
        let peak = (0..N_BINS)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        assert_eq!(peak, bin);
        // A Hann-windowed unit sine on a bin centre: |X| = sum(w) / 2 = N / 4.
        let expected = (N_FFT as f64 / 4.0).powi(2);
        assert!(
            (f64::from(row[bin]) / expected - 1.0).abs() < 1e-3,
            "{}",
            row[bin]
        );
    }
}
