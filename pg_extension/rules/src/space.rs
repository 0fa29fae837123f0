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
    /// A weight (an embedding's or a survey answer) outside [0, 1], on the named axis.
    OutsideUnitInterval {
        axis: usize,
        value: f32,
    },
    /// All zeros: no direction, so no distance to any taste.
    Zero,
    /// A taste vector is stored at length 1.
    NotUnitLength(f64),
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
            VectorError::OutsideUnitInterval { axis, value } => write!(
                f,
                "each weight is a number from 0 to 1, but {} is {value}",
                AXES[*axis]
            ),
            VectorError::Zero => write!(
                f,
                "all weights are 0, so it points nowhere; at least one must be above 0"
            ),
            VectorError::NotUnitLength(length) => {
                write!(f, "a taste vector has length 1, not {length}")
            }
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

/// Checks a vector of weights (an embedding, survey answers): the taste space's dimensions,
/// each weight in [0, 1], not all zero.
pub fn check_weights(v: &[f32]) -> Result<(), VectorError> {
    check(v)?;
    if let Some((axis, &value)) = v
        .iter()
        .enumerate()
        .find(|(_, x)| !(0.0..=1.0).contains(*x))
    {
        return Err(VectorError::OutsideUnitInterval { axis, value });
    }
    if v.iter().all(|&x| x == 0.0) {
        return Err(VectorError::Zero);
    }
    Ok(())
}

/// How far from length 1 a stored taste vector may be: f32 rounding of a normalised vector
/// is far below this, a vector that skipped normalisation far above.
pub const UNIT_LENGTH_TOLERANCE: f64 = 1e-4;

/// Checks a taste vector: the taste space's dimensions, unit length.
pub fn check_taste(v: &[f32]) -> Result<(), VectorError> {
    check(v)?;
    let wide = widen(v);
    let length = dot(&wide, &wide).sqrt();
    if (length - 1.0).abs() > UNIT_LENGTH_TOLERANCE {
        return Err(VectorError::NotUnitLength(length));
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

/// Test helper: `a` and `b` agree to within f32 rounding (also for the extension's tests).
#[cfg(any(test, feature = "test-helpers"))]
pub fn assert_close(a: &[f32], b: &[f32]) {
    assert!(
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6),
        "{a:?} != {b:?}"
    );
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

    #[test]
    fn weights_are_from_0_to_1_and_not_all_zero() {
        assert_eq!(check_weights(&[0.0, 1.0, 0.5, 0.0, 0.25]), Ok(()));
        assert_eq!(
            check_weights(&[0.0, 0.0, 1.5, 0.0, 0.0]),
            Err(VectorError::OutsideUnitInterval {
                axis: 2,
                value: 1.5
            })
        );
        assert_eq!(
            check_weights(&[0.0, -0.1, 0.0, 0.0, 0.0])
                .unwrap_err()
                .to_string(),
            "each weight is a number from 0 to 1, but sea_waves is -0.1"
        );
        assert_eq!(check_weights(&[0.0; 5]), Err(VectorError::Zero));
        assert_eq!(
            check_weights(&[0.5; 4]),
            Err(VectorError::WrongDimensions(4))
        );
    }

    #[test]
    fn a_taste_has_unit_length() {
        assert_eq!(check_taste(&[0.6, 0.8, 0.0, 0.0, 0.0]), Ok(()));
        assert_eq!(check_taste(&[-0.6, 0.0, 0.8, 0.0, 0.0]), Ok(()));
        assert!(matches!(
            check_taste(&[0.5, 0.5, 0.0, 0.0, 0.0]),
            Err(VectorError::NotUnitLength(_))
        ));
        assert!(matches!(
            check_taste(&[0.0; 5]),
            Err(VectorError::NotUnitLength(_))
        ));
    }
}
