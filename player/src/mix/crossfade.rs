//! Gain changes over time: the equal-power curve and the ramp that walks it.
//!
//! Every change of a voice's gain — a layer coming in, going out, or moving
//! to a new level — follows one curve, interpolating *power* rather than
//! amplitude: g(t)² = g₀²·cos²(πt/2) + g₁²·sin²(πt/2). From silence it is
//! g₁·sin, to silence g₀·cos, so two uncorrelated sounds crossing keep the
//! room's loudness steady instead of dipping by 3 dB halfway as a linear
//! fade would.

use std::f32::consts::FRAC_PI_2;

/// The gain `t` of the way (0 ≤ t ≤ 1) from `from` to `to` on the
/// equal-power curve.
pub fn equal_power(from: f32, to: f32, t: f32) -> f32 {
    let theta = FRAC_PI_2 * t.clamp(0.0, 1.0);
    let (sin, cos) = theta.sin_cos();
    ((from * cos).powi(2) + (to * sin).powi(2)).sqrt()
}

/// A gain moving along [`equal_power`] over a fixed number of frames; once
/// there, it stays at its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    from: f32,
    to: f32,
    done: u64,
    len: u64,
}

impl Ramp {
    /// A gain that does not move.
    pub fn steady(gain: f32) -> Self {
        Self {
            from: gain,
            to: gain,
            done: 0,
            len: 0,
        }
    }

    /// A ramp from `from` to `to` over `len` frames.
    pub fn new(from: f32, to: f32, len: u64) -> Self {
        Self {
            from,
            to,
            done: 0,
            len,
        }
    }

    /// The gain now.
    pub fn gain(&self) -> f32 {
        if self.done >= self.len {
            self.to
        } else {
            equal_power(self.from, self.to, self.done as f32 / self.len as f32)
        }
    }

    /// Where the ramp is heading.
    pub fn target(&self) -> f32 {
        self.to
    }

    /// True once the gain has reached its target.
    pub fn is_done(&self) -> bool {
        self.done >= self.len
    }

    /// Moves the ramp `frames` further along.
    pub fn advance(&mut self, frames: u64) {
        self.done = (self.done + frames).min(self.len);
    }

    /// Starts a new ramp to `to` from wherever this one is now, so a change
    /// that arrives mid-fade continues without a jump.
    pub fn retarget(&mut self, to: f32, len: u64) {
        *self = Self::new(self.gain(), to, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fading_in_and_out_follow_sine_and_cosine() {
        for i in 0..=10 {
            let t = i as f32 / 10.0;
            let theta = FRAC_PI_2 * t;
            assert!((equal_power(0.0, 0.8, t) - 0.8 * theta.sin()).abs() < 1e-6);
            assert!((equal_power(0.8, 0.0, t) - 0.8 * theta.cos()).abs() < 1e-6);
        }
    }

    #[test]
    fn two_uncorrelated_voices_crossing_keep_constant_power() {
        for i in 0..=20 {
            let t = i as f32 / 20.0;
            let power = equal_power(1.0, 0.0, t).powi(2) + equal_power(0.0, 1.0, t).powi(2);
            assert!((power - 1.0).abs() < 1e-6, "power {power} at t={t}");
        }
    }

    #[test]
    fn a_level_change_moves_monotonically_between_the_two_gains() {
        let mut last = equal_power(0.3, 0.9, 0.0);
        assert!((last - 0.3).abs() < 1e-6);
        for i in 1..=100 {
            let g = equal_power(0.3, 0.9, i as f32 / 100.0);
            assert!(g >= last, "not monotonic at {i}");
            last = g;
        }
        assert!((last - 0.9).abs() < 1e-6);
    }

    #[test]
    fn a_ramp_reaches_its_target_and_stays() {
        let mut ramp = Ramp::new(0.0, 0.5, 100);
        assert_eq!(ramp.gain(), 0.0);
        ramp.advance(50);
        assert!((ramp.gain() - 0.5 * std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        ramp.advance(80);
        assert!(ramp.is_done());
        assert_eq!(ramp.gain(), 0.5);
    }

    #[test]
    fn retargeting_mid_fade_starts_from_the_current_gain() {
        let mut ramp = Ramp::new(0.0, 1.0, 100);
        ramp.advance(30);
        let now = ramp.gain();
        ramp.retarget(0.0, 100);
        assert_eq!(ramp.gain(), now);
        assert_eq!(ramp.target(), 0.0);
    }
}
