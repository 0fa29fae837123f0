//! `require_embedding(v)`, `require_taste(v)`: the tables' vector constraints, so a bad vector
//! is refused where it is stored, with a message naming what is wrong (check_violation).

use crate::vector::Vector;
use cosound_rules::space::{self, VectorError};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// True for a sound's embedding: five weights in [0, 1], not all zero. Raises otherwise.
#[pg_extern(immutable, parallel_safe, strict)]
fn require_embedding(embedding: Vector) -> bool {
    verdict("embedding", space::check_weights(&embedding.0))
}

/// True for a listener's taste: five finite numbers of length 1. Raises otherwise.
#[pg_extern(immutable, parallel_safe, strict)]
fn require_taste(preference: Vector) -> bool {
    verdict("taste vector", space::check_taste(&preference.0))
}

fn verdict(what: &str, check: Result<(), VectorError>) -> bool {
    if let Err(error) = check {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            format!("invalid {what}: {error}")
        );
    }
    true
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use crate::fixture;
    use pgrx::prelude::*;

    #[pg_test]
    fn a_valid_embedding_and_taste_pass() {
        let passed = Spi::get_one::<bool>(
            "select extensions.require_embedding('[0,0.5,1,0,0]') and extensions.require_taste('[0,0.6,0,0.8,0]')",
        )
        .unwrap();
        assert_eq!(passed, Some(true));
    }

    #[pg_test(error = "invalid embedding: each weight is a number from 0 to 1, but wind is 1.5")]
    fn an_embedding_weight_above_1_is_refused() {
        Spi::run("select extensions.require_embedding('[0,0,0,1.5,0]')").unwrap();
    }

    #[pg_test(error = "invalid taste vector: a taste vector has length 1, not 2")]
    fn a_taste_of_length_2_is_refused() {
        Spi::run("select extensions.require_taste('[2,0,0,0,0]')").unwrap();
    }

    #[pg_test(error = "invalid embedding: each weight is a number from 0 to 1, but rain is -0.5")]
    fn the_catalogue_refuses_an_embedding_outside_0_to_1() {
        fixture::schema();
        fixture::song("soundscape", "[-0.5,0,0,1,0]");
    }

    #[pg_test(
        error = "invalid embedding: all weights are 0, so it points nowhere; at least one must be above 0"
    )]
    fn the_catalogue_refuses_a_silent_embedding() {
        fixture::schema();
        fixture::song("soundscape", "[0,0,0,0,0]");
    }

    #[pg_test(error = "expected 5 dimensions, not 3")]
    fn the_catalogue_refuses_an_embedding_of_the_wrong_size() {
        fixture::schema();
        fixture::song("soundscape", "[0,1,0]");
    }

    #[pg_test(error = "NaN not allowed in vector")]
    fn the_catalogue_refuses_a_non_finite_embedding() {
        fixture::schema();
        fixture::song("soundscape", "[0,NaN,0,0,0]");
    }

    #[pg_test(error = "invalid taste vector: a taste vector has length 1, not 0.5")]
    fn a_profile_refuses_a_taste_that_is_not_unit_length() {
        fixture::schema();
        fixture::listener(Some("[0.5,0,0,0,0]"));
    }
}
