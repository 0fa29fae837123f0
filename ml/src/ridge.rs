//! Standardisation and closed-form ridge regression, solved with a Cholesky
//! factorisation (the normal equations are small and symmetric positive
//! definite: one row and column per feature).

use ndarray::{Array1, Array2, Axis};

/// Per-feature mean and standard deviation of the training data.
#[derive(Debug, Clone)]
pub struct Standardizer {
    pub mean: Array1<f64>,
    pub scale: Array1<f64>,
}

impl Standardizer {
    pub fn fit(x: &Array2<f64>) -> Self {
        let mean = x.mean_axis(Axis(0)).expect("at least one row");
        // A constant feature gets scale 1 so it maps to 0 instead of NaN.
        let scale = x
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 1e-12 { s } else { 1.0 });
        Standardizer { mean, scale }
    }

    pub fn apply(&self, x: &Array2<f64>) -> Array2<f64> {
        (x - &self.mean) / &self.scale
    }
}

/// Ridge weights for standardised `x`: with `intercept`, targets are
/// centred first and their mean returned as the (unpenalised) intercept;
/// without, W = (XᵀX + λI)⁻¹XᵀY exactly as the reference pipeline.
pub fn fit(
    x: &Array2<f64>,
    y: &Array2<f64>,
    lambda: f64,
    intercept: bool,
) -> (Array2<f64>, Array1<f64>) {
    Normal::new(x, y, intercept).solve(lambda)
}

/// The normal equations XᵀX, XᵀY of a ridge problem, kept so that several
/// λ cost one factorisation each.
pub struct Normal {
    gram: Array2<f64>,
    xty: Array2<f64>,
    bias: Array1<f64>,
}

impl Normal {
    pub fn new(x: &Array2<f64>, y: &Array2<f64>, intercept: bool) -> Self {
        let bias = if intercept {
            y.mean_axis(Axis(0)).expect("at least one row")
        } else {
            Array1::zeros(y.ncols())
        };
        let y = y - &bias;
        Normal {
            gram: x.t().dot(x),
            xty: x.t().dot(&y),
            bias,
        }
    }

    /// Weights and intercept for penalty `lambda`.
    pub fn solve(&self, lambda: f64) -> (Array2<f64>, Array1<f64>) {
        let mut gram = self.gram.clone();
        gram.diag_mut().mapv_inplace(|d| d + lambda);
        (cholesky_solve(gram, self.xty.clone()), self.bias.clone())
    }
}

/// Solves A·X = B for symmetric positive definite A.
fn cholesky_solve(a: Array2<f64>, b: Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    // Lower factor, row-major, so every inner product runs over contiguous
    // slices.
    let mut l = vec![0.0; n * n];
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    for j in 0..n {
        let row_j = &l[j * n..j * n + j];
        let diag = a[[j, j]] - dot(row_j, row_j);
        // λ > 0 makes the matrix positive definite; the floor only guards
        // against rounding.
        let pivot = diag.max(1e-12).sqrt();
        l[j * n + j] = pivot;
        for i in j + 1..n {
            let s = a[[i, j]] - dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
            l[i * n + j] = s / pivot;
        }
    }
    let mut x = b;
    let mut column = vec![0.0; n];
    for mut out in x.columns_mut() {
        for i in 0..n {
            column[i] = (out[i] - dot(&l[i * n..i * n + i], &column[..i])) / l[i * n + i];
        }
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| l[k * n + i] * column[k]).sum();
            column[i] = (column[i] - s) / l[i * n + i];
        }
        out.assign(&Array1::from(column.clone()));
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_solves_an_spd_system() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let b = array![[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]];
        let x = cholesky_solve(a.clone(), b.clone());
        let residual = a.dot(&x) - b;
        assert!(residual.iter().all(|r| r.abs() < 1e-12), "{residual}");
    }

    #[test]
    fn ridge_recovers_a_linear_map_when_lambda_is_small() {
        let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]];
        let y = x.dot(&array![[2.0], [-3.0]]) + 0.5;
        let (w, b) = fit(&(&x - &x.mean_axis(Axis(0)).unwrap()), &y, 1e-9, true);
        assert!(
            (w[[0, 0]] - 2.0).abs() < 1e-6 && (w[[1, 0]] + 3.0).abs() < 1e-6,
            "{w}"
        );
        assert!((b[0] - y.mean().unwrap()).abs() < 1e-12);
    }
}
