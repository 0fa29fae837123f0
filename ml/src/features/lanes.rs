//! Sums of f32 values in [`LANES`] independent accumulators: a float sum
//! in one accumulator is one long dependency chain and does not vectorise.
//! Each lane's sum is f32 (as librosa's sums are); the lanes are added up
//! in f64. The loops keep to the plain shape that the compiler turns into
//! SIMD.

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
