//! Multinomial logistic regression over the five classes plus `other`,
//! fitted by Nesterov-accelerated gradient descent on standardised features
//! with an L2 penalty (deterministic: fixed start, step and iterations).

use ndarray::{Array1, Array2, Axis};

/// Classes of the softmax: the five of the embedding, then `other`.
const OUTPUTS: usize = 6;
const ITERATIONS: usize = 400;

/// Returns weights (features × 6) and biases (6) for standardised `x`.
pub fn fit(x: &Array2<f64>, labels: &[Option<usize>], lambda: f64) -> (Array2<f64>, Array1<f64>) {
    let (n, f) = x.dim();
    let y = Array2::from_shape_fn((n, OUTPUTS), |(i, c)| {
        if labels[i].unwrap_or(OUTPUTS - 1) == c {
            1.0
        } else {
            0.0
        }
    });
    // Lipschitz bound of the gradient: ‖X‖²/(2n)-ish plus the penalty.
    let norm2 = x.mapv(|v| v * v).sum() / n as f64;
    let step = 1.0 / (0.5 * (norm2 + 1.0) + lambda);
    let mut w = Array2::<f64>::zeros((f, OUTPUTS));
    let mut b = Array1::<f64>::zeros(OUTPUTS);
    let (mut w_prev, mut b_prev) = (w.clone(), b.clone());
    for k in 0..ITERATIONS {
        let momentum = k as f64 / (k as f64 + 3.0);
        let wl = &w + &((&w - &w_prev) * momentum);
        let bl = &b + &((&b - &b_prev) * momentum);
        let p = softmax(&(x.dot(&wl) + &bl));
        let residual = (p - &y) / n as f64;
        let grad_w = x.t().dot(&residual) + &wl * lambda;
        let grad_b = residual.sum_axis(Axis(0));
        w_prev = std::mem::replace(&mut w, &wl - &(grad_w * step));
        b_prev = std::mem::replace(&mut b, &bl - &(grad_b * step));
    }
    (w, b)
}

/// Row-wise softmax.
pub fn softmax(logits: &Array2<f64>) -> Array2<f64> {
    let mut p = logits.clone();
    for mut row in p.rows_mut() {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    p
}
