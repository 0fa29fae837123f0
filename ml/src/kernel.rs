//! A fixed random-Fourier-feature map (Rahimi & Recht, 2007): ridge
//! regression on `[s·x, √(2/D)·cos(Ωx + b)]` approximates kernel ridge
//! regression with a Gaussian (RBF) kernel plus a small linear kernel. The
//! Gaussian part lets a class that lies *between* two others on some
//! feature (sea waves between rain and wind in spectral tilt) still win
//! there, which a linear model cannot do. Ω and b are drawn from a seeded
//! generator, so the model file only stores the seed, not the map.

use std::sync::OnceLock;

use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

/// The map's parameters, as stored in the model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FourierMap {
    /// Number of cosine features D.
    pub count: usize,
    /// Kernel width: k(x, y) = exp(−gamma·|x − y|²) on standardised features.
    pub gamma: f64,
    /// Factor s on the standardised features kept alongside the cosines.
    pub linear_scale: f64,
    pub seed: u64,
    /// Ω (inputs × D) and b, derived from the fields above on first use.
    #[serde(skip)]
    drawn: OnceLock<(Array2<f64>, Array1<f64>)>,
}

/// The cache is derived from the other fields, so it takes no part in equality.
impl PartialEq for FourierMap {
    fn eq(&self, other: &Self) -> bool {
        (self.count, self.gamma, self.linear_scale, self.seed)
            == (other.count, other.gamma, other.linear_scale, other.seed)
    }
}

impl FourierMap {
    pub fn new(count: usize, gamma: f64, linear_scale: f64, seed: u64) -> Self {
        FourierMap {
            count,
            gamma,
            linear_scale,
            seed,
            drawn: OnceLock::new(),
        }
    }

    /// Output width for `inputs` features.
    pub fn width(&self, inputs: usize) -> usize {
        inputs + self.count
    }

    fn drawn(&self, inputs: usize) -> &(Array2<f64>, Array1<f64>) {
        let drawn = self.drawn.get_or_init(|| {
            let mut rng = SplitMix(self.seed);
            // Ω's entries are N(0, 2·gamma): then E[cos(ωᵀx + b)·cos(ωᵀy + b)]·2
            // is the Gaussian kernel exp(−gamma·|x − y|²).
            let sd = (2.0 * self.gamma).sqrt();
            let omega = Array2::from_shape_simple_fn((inputs, self.count), || sd * rng.normal());
            let phase = Array1::from_shape_simple_fn(self.count, || {
                2.0 * std::f64::consts::PI * rng.uniform()
            });
            (omega, phase)
        });
        assert_eq!(drawn.0.nrows(), inputs, "one map per input width");
        drawn
    }

    /// Maps standardised rows to `[s·x, √(2/D)·cos(Ωx + b)]`.
    pub fn apply(&self, x: &Array2<f64>) -> Array2<f64> {
        let (omega, phase) = self.drawn(x.ncols());
        let amplitude = (2.0 / self.count as f64).sqrt();
        let cosines = (x.dot(omega) + phase).mapv(|v| amplitude * v.cos());
        ndarray::concatenate![Axis(1), x * self.linear_scale, cosines]
    }
}

/// splitmix64: tiny, seedable and the same on every platform.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller; the second value is dropped for simplicity).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_features_approximate_the_gaussian_kernel() {
        let map = FourierMap::new(4000, 0.1, 0.0, 1);
        let x = ndarray::array![[0.0, 0.0, 0.0], [1.0, -0.5, 0.5], [3.0, 1.0, -2.0]];
        let z = map.apply(&x);
        let z = z.slice(ndarray::s![.., 3..]);
        for i in 0..3 {
            for j in 0..3 {
                let d: f64 = (&x.row(i) - &x.row(j)).mapv(|v| v * v).sum();
                let exact = (-0.1 * d).exp();
                let approx = z.row(i).dot(&z.row(j));
                assert!(
                    (approx - exact).abs() < 0.05,
                    "{i},{j}: {approx} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn the_map_is_a_function_of_its_parameters() {
        let x = ndarray::array![[0.3, -1.0]];
        let a = FourierMap::new(16, 0.5, 0.1, 7).apply(&x);
        let b = FourierMap::new(16, 0.5, 0.1, 7).apply(&x);
        assert_eq!(a, b);
        assert_ne!(a, FourierMap::new(16, 0.5, 0.1, 8).apply(&x));
    }
}
