//! Calibration of the embedding's largest weight, and the threshold under
//! which a sound fits none of the classes.
//!
//! The kernel model's clip score is heavily shrunk (its λ is large): on
//! clips it never saw, a plain rain recording scores about 0.15 and many
//! `other` sounds 0.10–0.15, so the raw number says little by itself. The
//! calibration maps a clip's largest raw score s to the probability that
//! the clip is one of the five classes, fitted on out-of-fold scores of the
//! training data (see `train::fit`), so that the embedding's largest weight
//! reads as "how likely this sound is that class".
//!
//! The map is Platt scaling on ln s: p = 1 / (1 + (t/s)^a), and 0 for
//! s ≤ 0. Why this form:
//! - it is monotone, so it keeps the order of sounds (and, applied to the
//!   largest weight only, the order of classes within a sound, which the
//!   [`Mix`](crate::model::Mix) sets);
//! - it has two parameters, fitted well by some twenty target clips, where
//!   isotonic regression would overfit into a few steps;
//! - on ln s rather than s because the scores of `other` clips crowd near
//!   zero: logistic in s gives them a floor well above zero (and a worse
//!   likelihood on the out-of-fold scores), while in ln s a score of 0
//!   stays a weight of 0;
//! - one map for the five classes: each has four to six clips, too few
//!   for a map of its own.

use serde::{Deserialize, Serialize};

use crate::model::Embedding;

/// Below this largest weight a sound fits none of the five classes.
///
/// Calibrated weights are probabilities that the sound is the class, so
/// under 0.2 it is less than one chance in five that the sound is any of
/// them. On the grouped cross-validation of esc50-dev (`cosound-ml
/// evaluate` prints the shares) 0.2 leaves 97 % of the five classes'
/// clips above and two thirds of `other` clips below; 0.3 would flag 10 %
/// of the classes' clips for 72 % of the others, 0.5 a third of them. A
/// flag on a plain rain recording is the costlier mistake, so the
/// threshold keeps almost every class clip above it.
pub const NO_CLASS_BELOW: f32 = 0.2;

/// Whether a sound fits none of the classes: all its weights are under
/// [`NO_CLASS_BELOW`].
pub fn fits_no_class(embedding: &Embedding) -> bool {
    embedding.iter().all(|&w| w < NO_CLASS_BELOW)
}

/// Scores at or below this are taken as this when fitting, so that
/// ln s stays finite.
const FLOOR: f64 = 1e-3;

/// The map from a clip's largest raw score to its largest weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// a: how fast the weight rises around the midpoint, in ln s.
    pub slope: f64,
    /// t: the raw score whose weight is 0.5.
    pub midpoint: f64,
}

impl Calibration {
    pub fn apply(&self, score: f64) -> f64 {
        if score <= 0.0 {
            return 0.0;
        }
        1.0 / (1.0 + (self.midpoint / score).powf(self.slope))
    }

    /// Fits the map to clips' largest raw scores and whether each clip is
    /// one of the classes, by logistic regression on ln s (Newton's method).
    /// As in Platt's method the 0/1 targets are softened to
    /// 1/(n₀ + 2) and (n₁ + 1)/(n₁ + 2): with few clips the two sides may
    /// separate completely, and the slope then stays finite. `None` when
    /// one side is empty or the fit does not rise with the score.
    pub fn fit(scores: &[f64], is_class: &[bool]) -> Option<Calibration> {
        let positives = is_class.iter().filter(|&&p| p).count() as f64;
        let negatives = is_class.len() as f64 - positives;
        if positives == 0.0 || negatives == 0.0 {
            return None;
        }
        let (high, low) = (
            (positives + 1.0) / (positives + 2.0),
            1.0 / (negatives + 2.0),
        );
        let points: Vec<(f64, f64)> = scores
            .iter()
            .zip(is_class)
            .map(|(&s, &p)| (s.max(FLOOR).ln(), if p { high } else { low }))
            .collect();
        let loss = |a: f64, b: f64| -> f64 {
            points
                .iter()
                .map(|&(x, y)| {
                    let z = a * x + b;
                    // −y·ln σ(z) − (1−y)·ln(1−σ(z)), without overflow.
                    z.max(0.0) - y * z + (-z.abs()).exp().ln_1p()
                })
                .sum()
        };
        let (mut a, mut b) = (0.0, (positives / negatives).ln());
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for &(x, y) in &points {
                let p = 1.0 / (1.0 + (-(a * x + b)).exp());
                let (r, w) = (p - y, p * (1.0 - p));
                ga += r * x;
                gb += r;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det <= 0.0 {
                break;
            }
            let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
            // Halve the Newton step until the loss does not grow.
            let before = loss(a, b);
            let mut step = 1.0;
            while step > 1e-6 && loss(a - step * da, b - step * db) > before {
                step /= 2.0;
            }
            a -= step * da;
            b -= step * db;
            if (step * da).abs() < 1e-10 && (step * db).abs() < 1e-10 {
                break;
            }
        }
        // p = σ(a·ln s + b) = 1 / (1 + (t/s)^a) with t = e^(−b/a).
        (a > 0.0 && a.is_finite() && b.is_finite()).then(|| Calibration {
            slope: a,
            midpoint: (-b / a).exp(),
        })
    }

    /// Whether the parameters describe a rising map.
    pub fn is_valid(&self) -> bool {
        self.slope.is_finite()
            && self.slope > 0.0
            && self.midpoint.is_finite()
            && self.midpoint > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_rises_from_zero_through_its_midpoint() {
        let calibration = Calibration {
            slope: 4.0,
            midpoint: 0.2,
        };
        assert_eq!(calibration.apply(-0.1), 0.0);
        assert_eq!(calibration.apply(0.0), 0.0);
        assert!((calibration.apply(0.2) - 0.5).abs() < 1e-12);
        let values: Vec<f64> = [0.05, 0.1, 0.2, 0.4, 0.8]
            .map(|s| calibration.apply(s))
            .to_vec();
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    }

    #[test]
    fn the_fit_recovers_a_logistic_in_the_log_score() {
        let truth = Calibration {
            slope: 3.0,
            midpoint: 0.12,
        };
        // Many scores on a grid, each labelled in proportion to its true
        // probability: the fit should find the map back.
        let (mut scores, mut labels) = (Vec::new(), Vec::new());
        for i in 1..=200 {
            let s = f64::from(i) / 400.0;
            let positives = (truth.apply(s) * 100.0).round() as usize;
            for k in 0..100 {
                scores.push(s);
                labels.push(k < positives);
            }
        }
        let fitted = Calibration::fit(&scores, &labels).unwrap();
        assert!((fitted.slope - 3.0).abs() < 0.1, "{fitted:?}");
        assert!((fitted.midpoint - 0.12).abs() < 0.005, "{fitted:?}");
    }

    #[test]
    fn separated_classes_give_a_finite_steep_map() {
        let scores = [0.01, 0.02, 0.03, 0.2, 0.3, 0.4];
        let labels = [false, false, false, true, true, true];
        let fitted = Calibration::fit(&scores, &labels).unwrap();
        assert!(fitted.is_valid(), "{fitted:?}");
        assert!(
            fitted.apply(0.03) < 0.3 && fitted.apply(0.2) > 0.7,
            "{fitted:?}"
        );
        assert_eq!(Calibration::fit(&scores, &[true; 6]), None);
    }

    #[test]
    fn a_sound_fits_no_class_when_every_weight_is_under_the_threshold() {
        assert!(fits_no_class(&[0.0; 5]));
        assert!(fits_no_class(&[0.19, 0.1, 0.0, 0.05, 0.0]));
        assert!(!fits_no_class(&[0.1, 0.0, NO_CLASS_BELOW, 0.0, 0.0]));
    }
}
