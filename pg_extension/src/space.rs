//! The taste space: every sound and every listener is a point in the same five dimensions,
//! one per ambient sound class, in this fixed order.

pub const AXES: [&str; 5] = [
    "rain",
    "sea_waves",
    "thunderstorm",
    "wind",
    "crackling_fire",
];
pub const DIMENSIONS: usize = AXES.len();

/// Errors in a vector handed to the taste space.
#[derive(Debug, Clone, PartialEq)]
pub enum VectorError {
    WrongDimensions(usize),
    NotFinite,
}

impl std::fmt::Display for VectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VectorError::WrongDimensions(got) => {
                write!(
                    f,
                    "expected a vector of {DIMENSIONS} dimensions ({}), got {got}",
                    AXES.join(", ")
                )
            }
            VectorError::NotFinite => write!(
                f,
                "vector components must be finite numbers (no NaN or infinity)"
            ),
        }
    }
}

/// Checks that `v` has the taste space's dimensions and only finite components.
pub fn check(v: &[f32]) -> Result<(), VectorError> {
    if v.len() != DIMENSIONS {
        return Err(VectorError::WrongDimensions(v.len()));
    }
    if !v.iter().all(|x| x.is_finite()) {
        return Err(VectorError::NotFinite);
    }
    Ok(())
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `v` scaled to length 1, or `None` when it has no direction (zero) or no finite length.
pub fn normalize(v: &[f64]) -> Option<Vec<f64>> {
    let norm = dot(v, v).sqrt();
    (norm.is_finite() && norm > 0.0).then(|| v.iter().map(|x| x / norm).collect())
}

pub fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

pub fn narrow(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_gives_unit_length_and_refuses_zero() {
        let unit = normalize(&[3.0, 4.0, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!(unit, vec![0.6, 0.8, 0.0, 0.0, 0.0]);
        assert_eq!(normalize(&[0.0; 5]), None);
        assert_eq!(normalize(&[f64::INFINITY, 0.0, 0.0, 0.0, 0.0]), None);
    }

    #[test]
    fn check_names_the_problem() {
        assert_eq!(check(&[0.0; 4]), Err(VectorError::WrongDimensions(4)));
        assert_eq!(
            check(&[0.0, 0.0, f32::NAN, 0.0, 0.0]),
            Err(VectorError::NotFinite)
        );
        assert_eq!(check(&[0.5; 5]), Ok(()));
        assert!(VectorError::WrongDimensions(3)
            .to_string()
            .contains("rain, sea_waves"));
    }
}
