//! The preference rule: how one rating moves a listener's unit taste vector (the README's
//! *The rules*).
//!
//! With `u` the listener's vector and `s` the sound's embedding scaled to unit length:
//! a like of strength `w` gives `normalise((1 − αw)·u + αw·s)`, a dislike gives
//! `normalise(u − αwβ·(u·s)·s)`. Ratings 4 and 5 are likes of strength 0.5 and 1, 2 and 1 are
//! dislikes of strength 0.5 and 1, and 3 changes nothing. A listener with no vector yet starts
//! at `s` on a like and at the neutral prior on a dislike. The result is never zero or
//! non-finite: a rating that cannot give a direction (a silent, all-zero embedding) changes
//! nothing. The survey sets the vector directly from one weight per axis.

use crate::space::{self, VectorError};

/// α: how far one full-strength rating moves the vector.
pub const LEARNING_RATE: f64 = 0.12;
/// β: dislikes move the vector less than likes.
pub const DISLIKE_SOFTNESS: f64 = 0.7;
/// Where a listener whose first rating is a dislike starts.
pub const NEUTRAL_PRIOR: [f32; space::DIMENSIONS] = [1.0, 0.0, 0.0, 0.0, 0.0];

#[derive(Debug, Clone, PartialEq)]
pub enum RatingError {
    OutOfRange(i32),
    Preference(VectorError),
    Embedding(VectorError),
}

impl std::fmt::Display for RatingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RatingError::OutOfRange(rating) => {
                write!(f, "a rating is a whole number from 1 to 5, not {rating}")
            }
            RatingError::Preference(error) => write!(f, "invalid preference: {error}"),
            RatingError::Embedding(error) => write!(f, "invalid embedding: {error}"),
        }
    }
}

/// What a rating says, and how strongly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feeling {
    Like(f64),
    Neutral,
    Dislike(f64),
}

impl Feeling {
    pub fn of(rating: i32) -> Result<Self, RatingError> {
        match rating {
            5 => Ok(Feeling::Like(1.0)),
            4 => Ok(Feeling::Like(0.5)),
            3 => Ok(Feeling::Neutral),
            2 => Ok(Feeling::Dislike(0.5)),
            1 => Ok(Feeling::Dislike(1.0)),
            other => Err(RatingError::OutOfRange(other)),
        }
    }
}

/// The listener's vector after rating a sound with `embedding`; `None` while they still have
/// no vector (no rating so far gave one).
pub fn apply_rating(
    current: Option<&[f32]>,
    embedding: &[f32],
    rating: i32,
) -> Result<Option<Vec<f32>>, RatingError> {
    let feeling = Feeling::of(rating)?;
    // The inputs are held to the tables' rules, so that the preview refuses what a stored
    // taste or embedding could never be.
    if let Some(u) = current {
        space::check_taste(u).map_err(RatingError::Preference)?;
    }
    space::check_weights(embedding).map_err(RatingError::Embedding)?;
    let unchanged = Ok(current.map(<[f32]>::to_vec));
    let s = space::normalize(&space::widen(embedding)).expect("checked weights are not all zero");
    let next = match (feeling, current) {
        (Feeling::Neutral, _) => return unchanged,
        (Feeling::Like(_), None) => Some(s),
        (Feeling::Dislike(_), None) => space::normalize(&space::widen(&NEUTRAL_PRIOR)),
        (Feeling::Like(strength), Some(u)) => {
            let u = space::widen(u);
            let a = LEARNING_RATE * strength;
            let mixed: Vec<f64> = u
                .iter()
                .zip(&s)
                .map(|(ui, si)| (1.0 - a) * ui + a * si)
                .collect();
            space::normalize(&mixed)
        }
        (Feeling::Dislike(strength), Some(u)) => {
            let u = space::widen(u);
            let step = LEARNING_RATE * strength * DISLIKE_SOFTNESS * space::dot(&u, &s);
            let pushed: Vec<f64> = u.iter().zip(&s).map(|(ui, si)| ui - step * si).collect();
            space::normalize(&pushed)
        }
    };
    match next {
        Some(v) => Ok(Some(space::narrow(&v))),
        None => unchanged,
    }
}

/// The listener's vector from the survey: one weight in [0, 1] per axis, scaled to length 1.
pub fn from_survey(answers: &[f32]) -> Result<Vec<f32>, VectorError> {
    space::check_weights(answers)?;
    let unit = space::normalize(&space::widen(answers)).ok_or(VectorError::Zero)?;
    Ok(space::narrow(&unit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::assert_close;

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    const RAIN: [f32; 5] = [1.0, 0.0, 0.0, 0.0, 0.0];
    const WAVES: [f32; 5] = [0.0, 1.0, 0.0, 0.0, 0.0];

    #[test]
    fn a_full_like_moves_twelve_percent_towards_the_sound() {
        let next = apply_rating(Some(&RAIN), &[0.0, 0.5, 0.0, 0.0, 0.0], 5)
            .unwrap()
            .unwrap();
        let expected = 0.88f32 / (0.88f32 * 0.88 + 0.12 * 0.12).sqrt();
        assert_close(
            &next,
            &[
                expected,
                0.12 / (0.88f32 * 0.88 + 0.12 * 0.12).sqrt(),
                0.0,
                0.0,
                0.0,
            ],
        );
    }

    #[test]
    fn a_four_is_half_a_like() {
        let next = apply_rating(Some(&RAIN), &WAVES, 4).unwrap().unwrap();
        let n = (0.94f32 * 0.94 + 0.06 * 0.06).sqrt();
        assert_close(&next, &[0.94 / n, 0.06 / n, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn a_dislike_pushes_away_in_proportion_to_similarity() {
        let u = [0.6f32, 0.8, 0.0, 0.0, 0.0];
        let next = apply_rating(Some(&u), &RAIN, 1).unwrap().unwrap();
        let step: f32 = 0.12 * 0.7 * 0.6;
        let raw: [f32; 2] = [0.6 - step, 0.8];
        let n = (raw[0] * raw[0] + raw[1] * raw[1]).sqrt();
        assert_close(&next, &[raw[0] / n, raw[1] / n, 0.0, 0.0, 0.0]);
        let orthogonal = apply_rating(Some(&WAVES), &RAIN, 1).unwrap().unwrap();
        assert_close(&orthogonal, &WAVES);
    }

    #[test]
    fn a_three_changes_nothing() {
        assert_eq!(
            apply_rating(Some(&WAVES), &RAIN, 3).unwrap(),
            Some(WAVES.to_vec())
        );
        assert_eq!(apply_rating(None, &RAIN, 3).unwrap(), None);
    }

    #[test]
    fn cold_start_likes_take_the_sound_and_dislikes_the_prior() {
        let liked = apply_rating(None, &[0.0, 0.0, 0.3, 0.4, 0.0], 4)
            .unwrap()
            .unwrap();
        assert_close(&liked, &[0.0, 0.0, 0.6, 0.8, 0.0]);
        assert_eq!(apply_rating(None, &WAVES, 2).unwrap(), Some(RAIN.to_vec()));
    }

    #[test]
    fn vectors_no_table_would_store_are_refused() {
        for embedding in [[0.0; 5], [5.0; 5], [-1.0, 0.0, 0.0, 0.0, 1.0], [1e38; 5]] {
            assert!(
                matches!(
                    apply_rating(Some(&WAVES), &embedding, 5),
                    Err(RatingError::Embedding(_))
                ),
                "embedding {embedding:?}"
            );
        }
        for taste in [[0.0; 5], [5.0; 5], [1e38, 0.0, 0.0, 0.0, 0.0]] {
            assert!(
                matches!(
                    apply_rating(Some(&taste), &RAIN, 5),
                    Err(RatingError::Preference(_))
                ),
                "taste {taste:?}"
            );
        }
    }

    #[test]
    fn results_stay_unit_length_over_many_ratings() {
        let mut u = apply_rating(None, &[0.2, 0.9, 0.1, 0.0, 0.3], 5).unwrap();
        for i in 0..1000 {
            let embedding = [
                (i % 5) as f32 / 4.0,
                0.3,
                ((i * 7) % 11) as f32 / 10.0,
                0.1,
                0.0,
            ];
            u = apply_rating(u.as_deref(), &embedding, (i % 5) + 1).unwrap();
            let v = u.as_deref().unwrap();
            assert!((norm(v) - 1.0).abs() < 1e-5 && v.iter().all(|x| x.is_finite()));
        }
    }

    #[test]
    fn a_survey_sets_the_direction_of_its_answers() {
        let taste = from_survey(&[0.0, 0.0, 0.3, 0.4, 0.0]).unwrap();
        assert_close(&taste, &[0.0, 0.0, 0.6, 0.8, 0.0]);
        assert_eq!(from_survey(&[0.0; 5]), Err(VectorError::Zero));
        assert_eq!(
            from_survey(&[2.0, 0.0, 0.0, 0.0, 0.0]),
            Err(VectorError::OutsideUnitInterval {
                axis: 0,
                value: 2.0
            })
        );
        assert_eq!(from_survey(&[1.0]), Err(VectorError::WrongDimensions(1)));
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        assert_eq!(
            apply_rating(None, &RAIN, 6),
            Err(RatingError::OutOfRange(6))
        );
        assert_eq!(
            apply_rating(None, &RAIN, 0),
            Err(RatingError::OutOfRange(0))
        );
        assert_eq!(
            apply_rating(None, &[1.0, 0.0], 5),
            Err(RatingError::Embedding(VectorError::WrongDimensions(2)))
        );
        assert_eq!(
            apply_rating(Some(&[f32::NAN, 0.0, 0.0, 0.0, 0.0]), &RAIN, 5),
            Err(RatingError::Preference(VectorError::NotFinite))
        );
    }
}
