//! Sums of f32 values. Over a frame's bins: in [`LANES`] independent f32
//! accumulators (a float sum in one accumulator is one long dependency
//! chain and does not vectorise; f32 as librosa's sums), the lanes added up
//! in f64; the loops keep to the plain shape the compiler turns into SIMD.
//! Over a window's cells: one by one in f64 ([`wide_sum`]).

pub const LANES: usize = 8;

/// Σ a.
pub fn lanes_sum(a: &[f32]) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let chunks = a.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for x in chunks {
        for i in 0..LANES {
            lanes[i] += x[i];
        }
    }
    lanes.iter().map(|&v| f64::from(v)).sum::<f64>() + f64::from(tail)
}

/// Σ a·b, as [`lanes_sum`].
pub fn lanes_dot(a: &[f32], b: &[f32]) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let (a, b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a
        .remainder()
        .iter()
        .zip(b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a.zip(b) {
        for i in 0..LANES {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().map(|&v| f64::from(v)).sum::<f64>() + f64::from(tail)
}

/// Σ of f32 values added one by one in f64: for sums over a few hundred
/// cells where f32 rounding would show.
pub fn wide_sum(values: impl IntoIterator<Item = f32>) -> f64 {
    values.into_iter().map(f64::from).sum()
}
