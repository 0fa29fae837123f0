//! `set_preference_from_survey(listener, answers)`: the survey sets a listener's taste.

use crate::vector::Vector;
use cosound_rules::preference;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// Stores the direction of the five answers (one weight in [0, 1] per axis: rain, sea_waves,
/// thunderstorm, wind, crackling_fire) as the listener's taste, and returns it.
#[pg_extern(volatile)]
fn set_preference_from_survey(listener_id: pgrx::Uuid, answers: Vec<Option<f32>>) -> Vector {
    let Some(answers) = answers.into_iter().collect::<Option<Vec<f32>>>() else {
        invalid("every answer needs a value")
    };
    let taste = preference::from_survey(&answers).unwrap_or_else(|error| invalid(error));
    let updated = Spi::connect_mut(|client| {
        client
            .update(
                "update cosound.profiles
                    set preference = $2::real[]::extensions.vector(5), preference_updated_at = now()
                  where id = $1",
                None,
                &[listener_id.into(), taste.clone().into()],
            )
            .map(|done| done.len())
    })
    .expect("the survey update runs");
    if updated == 0 {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
            format!("no listener with id {listener_id}")
        );
    }
    Vector(taste)
}

fn invalid(reason: impl std::fmt::Display) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("invalid survey answers: {reason}")
    );
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use crate::fixture;
    use pgrx::prelude::*;

    #[pg_test]
    fn the_survey_stores_the_direction_of_the_answers() {
        fixture::schema();
        let listener = fixture::listener(None);
        let returned = Spi::get_one_with_args::<Vec<f32>>(
            "select extensions.set_preference_from_survey($1, '{0, 0.3, 0, 0, 0.4}')::real[]",
            &[listener.into()],
        )
        .unwrap();
        let stored = Spi::get_one_with_args::<Vec<f32>>(
            "select preference::real[] from cosound.profiles where id = $1",
            &[listener.into()],
        )
        .unwrap();
        assert_eq!(returned, Some(vec![0.0, 0.6, 0.0, 0.0, 0.8]));
        assert_eq!(stored, returned);
    }

    #[pg_test(
        error = "invalid survey answers: each weight is a number from 0 to 1, but thunderstorm is 7"
    )]
    fn an_answer_above_1_is_refused() {
        fixture::schema();
        let listener = fixture::listener(None);
        Spi::run_with_args(
            "select extensions.set_preference_from_survey($1, '{0, 0, 7, 0, 0}')",
            &[listener.into()],
        )
        .unwrap();
    }

    #[pg_test(error = "invalid survey answers: every answer needs a value")]
    fn a_missing_answer_is_refused() {
        fixture::schema();
        let listener = fixture::listener(None);
        Spi::run_with_args(
            "select extensions.set_preference_from_survey($1, '{0, null, 1, 0, 0}')",
            &[listener.into()],
        )
        .unwrap();
    }

    #[pg_test(error = "no listener with id 00000000-0000-4000-8000-000000000000")]
    fn an_unknown_listener_is_refused() {
        fixture::schema();
        Spi::run(
            "select extensions.set_preference_from_survey('00000000-0000-4000-8000-000000000000', '{1,0,0,0,0}')",
        )
        .unwrap();
    }
}
