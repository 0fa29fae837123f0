//! Features the current model adds to the reference set.

use super::Analysis;

pub const COUNT: usize = 0;

pub fn names() -> Vec<String> {
    Vec::new()
}

pub fn compute(_a: &Analysis) -> Vec<f64> {
    Vec::new()
}
