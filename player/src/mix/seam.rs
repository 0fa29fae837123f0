//! Making a clip loop without an audible seam, and a one-shot start and end
//! without a click.
//!
//! A loop jumps from the clip's last frame back to its first; unless the
//! recording happens to line up, that is a step in the waveform, heard as a
//! click once per loop. Instead the clip's tail is cross-faded into its head
//! and the loop is shortened by the tail's length: playing the shortened
//! clip's last frame is followed, at the wrap, by the frame that originally
//! came next, and the blend then hands over to the head smoothly.
//!
//! The blend keeps the loudness constant whatever the material: with the
//! tail's and head's normalised correlation r (clamped to 0..1), the weights
//! cos θ and sin θ are scaled by 1/√(1 + 2r·cos θ·sin θ). For uncorrelated
//! sound (rain, wind) that is the equal-power crossfade; for a steady tone
//! (r ≈ 1) it becomes an amplitude-preserving one, where equal power would
//! swell by 3 dB mid-seam.

use std::f32::consts::FRAC_PI_2;

use super::Clip;

/// How much of a loop's end is blended into its start.
pub const SEAM_SECONDS: f32 = 0.5;
/// The seam takes at most this fraction of a (short) clip.
const MAX_SEAM_FRACTION: usize = 4;
/// How far back the loop's end may move to line its tail up with its head:
/// one period of anything down to 40 Hz.
const ALIGN_SECONDS: f32 = 0.025;
/// The stretch compared when lining up.
const PROBE_SECONDS: f32 = 0.01;
/// Fade at a one-shot's start and end, long enough to hide a step, short
/// enough not to be heard as a fade.
pub const DECLICK_SECONDS: f32 = 0.005;

/// The seam length for a clip of `frames` frames at `rate` Hz.
pub fn seam_frames(frames: usize, rate: u32) -> usize {
    ((SEAM_SECONDS * rate as f32) as usize).min(frames / MAX_SEAM_FRACTION)
}

/// Folds the clip's tail into its head and cuts it there, so that it can
/// be repeated end to start without a seam.
///
/// The cut is moved back by up to [`ALIGN_SECONDS`] to where the tail best
/// matches the head: for tonal material that puts the two in phase, where
/// blending them neither cancels nor swells; noise is unaffected.
pub fn make_loopable(clip: &mut Clip, rate: u32) {
    let frames = clip.frames();
    let seam = seam_frames(frames, rate);
    if seam == 0 {
        return;
    }
    let channels = clip.channels();
    let latest = frames - seam;
    let earliest = latest
        .saturating_sub((ALIGN_SECONDS * rate as f32) as usize)
        .max(seam);
    let probe = seam.min((PROBE_SECONDS * rate as f32) as usize) * channels;
    let samples = clip.samples_mut();
    // `max_by` keeps the last of equals: with nothing to align (silence),
    // the loop stays as long as it can.
    let body = (earliest..=latest)
        .max_by(|&a, &b| {
            let at =
                |cut: usize| correlation(&samples[..probe], &samples[cut * channels..][..probe]);
            at(a).total_cmp(&at(b))
        })
        .unwrap_or(latest);
    let (head, rest) = samples.split_at_mut(body * channels);
    let (head, tail) = (&mut head[..seam * channels], &rest[..seam * channels]);
    let r = correlation(head, tail).max(0.0);
    for frame in 0..seam {
        let (fade_in, fade_out) = (FRAC_PI_2 * frame as f32 / seam as f32).sin_cos();
        let scale = 1.0 / (1.0 + 2.0 * r * fade_in * fade_out).sqrt();
        for ch in 0..channels {
            let i = frame * channels + ch;
            head[i] = (head[i] * fade_in + tail[i] * fade_out) * scale;
        }
    }
    clip.truncate(body);
}

/// Normalised correlation of two equally long signals (0 when either is
/// silent). An anti-correlated seam is blended as an uncorrelated one.
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x) * f64::from(x);
        bb += f64::from(y) * f64::from(y);
    }
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    (ab / (aa * bb).sqrt()) as f32
}

/// Fades a one-shot in and out over `frames` frames at each end.
pub fn declick(clip: &mut Clip, frames: usize) {
    let len = clip.frames();
    let frames = frames.min(len / 2);
    let channels = clip.channels();
    let samples = clip.samples_mut();
    for frame in 0..frames {
        let gain = (FRAC_PI_2 * frame as f32 / frames as f32).sin();
        for ch in 0..channels {
            samples[frame * channels + ch] *= gain;
            samples[(len - 1 - frame) * channels + ch] *= gain;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, frames: usize) -> Vec<f32> {
        (0..frames)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// The largest step between neighbouring samples when the clip is
    /// played twice in a row.
    fn largest_step_across_loop(samples: &[f32]) -> f32 {
        samples
            .iter()
            .chain(samples)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn a_looped_tone_has_no_step_at_the_wrap() {
        let rate = 8_000;
        // 2,411 frames of 220 Hz at 8 kHz end mid-cycle (66.3 cycles), so
        // the naive loop jumps.
        let raw = sine(220.0, rate, 2_411);
        let natural_step = 2.0 * std::f32::consts::PI * 220.0 / rate as f32;
        assert!(largest_step_across_loop(&raw) > 3.0 * natural_step);

        let mut clip = Clip::mono(raw);
        make_loopable(&mut clip, rate);
        let step = largest_step_across_loop(clip.samples());
        assert!(step <= 1.05 * natural_step, "step {step} vs {natural_step}");
    }

    #[test]
    fn a_seamed_tone_keeps_its_amplitude_through_the_seam() {
        let rate = 8_000;
        let mut clip = Clip::mono(sine(200.0, rate, 4_020));
        make_loopable(&mut clip, rate);
        let peak = clip.samples().iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let min_peak = clip
            .samples()
            .chunks(40)
            .map(|c| c.iter().fold(0.0f32, |m, s| m.max(s.abs())))
            .fold(1.0f32, f32::min);
        assert!(
            peak < 1.02 && min_peak > 0.97,
            "peak {peak}, min {min_peak}"
        );
    }

    #[test]
    fn correlation_is_normalised() {
        assert_eq!(correlation(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(correlation(&[1.0, -1.0], &[-1.0, 1.0]), -1.0);
        assert_eq!(correlation(&[0.0, 0.0], &[-1.0, 1.0]), 0.0);
        assert!((correlation(&[0.5, -0.2], &[1.0, -0.4]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_one_shot_starts_and_ends_at_silence() {
        let mut clip = Clip::stereo(vec![1.0; 2_000]);
        declick(&mut clip, 100);
        let s = clip.samples();
        assert_eq!((s[0], s[1], s[1_998], s[1_999]), (0.0, 0.0, 0.0, 0.0));
        assert_eq!(s[1_000], 1.0);
    }
}
