//! `apply_rating(preference, embedding, rating)`: the preference rule as a SQL function.

use crate::vector::Vector;
use cosound_rules::preference::{self, RatingError};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The listener's vector after one rating; NULL while they have none (see `preference`).
#[pg_extern(immutable, parallel_safe)]
fn apply_rating(preference: Option<Vector>, embedding: Vector, rating: i32) -> Option<Vector> {
    match preference::apply_rating(
        preference.as_ref().map(|v| v.0.as_slice()),
        &embedding.0,
        rating,
    ) {
        Ok(next) => next.map(Vector),
        Err(error) => raise(&error),
    }
}

fn raise(error: &RatingError) -> ! {
    let code = match error {
        RatingError::OutOfRange(_) => PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
        RatingError::Preference(_) | RatingError::Embedding(_) => {
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        }
    };
    ereport!(ERROR, code, error.to_string());
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn a_full_like_from_rain_towards_waves() {
        let got = Spi::get_one::<Vec<f32>>(
            "select extensions.apply_rating('[1,0,0,0,0]', '[0,1,0,0,0]', 5)::real[]",
        )
        .unwrap()
        .unwrap();
        let n = (0.88f32 * 0.88 + 0.12 * 0.12).sqrt();
        let expected = [0.88 / n, 0.12 / n, 0.0, 0.0, 0.0];
        assert!(
            got.iter().zip(expected).all(|(g, e)| (g - e).abs() < 1e-6),
            "{got:?}"
        );
    }

    #[pg_test]
    fn a_neutral_first_rating_leaves_no_vector() {
        let result =
            Spi::get_one::<String>("select extensions.apply_rating(null, '[0,1,0,0,0]', 3)::text")
                .unwrap();
        assert_eq!(result, None);
    }

    #[pg_test(error = "a rating is a whole number from 1 to 5, not 7")]
    fn a_rating_of_seven_is_refused() {
        Spi::run("select extensions.apply_rating(null, '[0,1,0,0,0]', 7)").unwrap();
    }

    #[pg_test(
        error = "invalid embedding: expected a vector of 5 dimensions (rain, sea_waves, thunderstorm, wind, crackling_fire), got 3"
    )]
    fn a_three_dimensional_embedding_is_refused() {
        Spi::run("select extensions.apply_rating(null, '[0,1,0]', 5)").unwrap();
    }
}
