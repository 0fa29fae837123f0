//! `learn_from_vote()`: the trigger that moves a listener's taste as their vote arrives.

use cosound_rules::preference::Feeling;
use pgrx::prelude::*;
use pgrx::spi::OwnedPreparedStatement;
use pgrx::PgOid;
use std::cell::OnceCell;

/// Reads and writes the voter's profile in one statement (see `learn_from_vote`).
const LEARN_QUERY: &str = "update cosound.profiles p
    set preference = extensions.apply_rating(p.preference, s.embedding, $3),
        preference_updated_at = now()
   from cosound.songs s
  where p.id = $1 and s.id = $2 and s.embedding is not null";

thread_local! {
    /// The update's plan, prepared once per connection: planning it for every vote would cost
    /// more than the update itself. PostgreSQL re-plans it when the tables change.
    static LEARN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
}

/// After a vote is inserted, applies the learning rule to the voter's taste.
///
/// One UPDATE reads and writes the profile row: under concurrent votes by the same listener
/// it waits for the row lock and then re-reads the latest committed taste, so the votes apply
/// one after another in commit order. A neutral 3, or a song not yet placed in the taste space
/// (no embedding), changes nothing and writes nothing.
#[pg_trigger]
fn learn_from_vote<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgHeapTupleError> {
    let vote = trigger
        .new()
        .expect("learn_from_vote runs for each row after insert on cosound.votes");
    let listener = vote.get_by_name::<pgrx::Uuid>("listener_id");
    let song = vote.get_by_name::<i64>("song_id");
    let rating = vote.get_by_name::<i16>("rating");
    let (Ok(Some(listener)), Ok(Some(song)), Ok(Some(rating))) = (listener, song, rating) else {
        panic!("learn_from_vote runs on cosound.votes, whose listener, song and rating are set");
    };
    let rating = i32::from(rating);
    if matches!(Feeling::of(rating), Ok(Feeling::Neutral)) {
        return Ok(None);
    }
    Spi::connect_mut(|client| {
        LEARN.with(|plan| {
            let plan = match plan.get() {
                Some(plan) => plan,
                None => {
                    let prepared = client
                        .prepare_mut(
                            LEARN_QUERY,
                            &[
                                PgOid::from(pg_sys::UUIDOID),
                                PgOid::from(pg_sys::INT8OID),
                                PgOid::from(pg_sys::INT4OID),
                            ],
                        )?
                        .keep();
                    plan.get_or_init(|| prepared)
                }
            };
            client
                .update(plan, None, &[listener.into(), song.into(), rating.into()])
                .map(|_| ())
        })
    })
    .expect("the taste update runs");
    Ok(None)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use crate::fixture;
    use cosound_rules::space::assert_close;
    use pgrx::prelude::*;

    fn vote(listener: pgrx::Uuid, song: i64, rating: i32) {
        Spi::run_with_args(
            "insert into cosound.votes (listener_id, song_id, rating) values ($1, $2, $3)",
            &[listener.into(), song.into(), rating.into()],
        )
        .unwrap();
    }

    fn taste(listener: pgrx::Uuid) -> Option<Vec<f32>> {
        Spi::get_one_with_args::<Vec<f32>>(
            "select preference::real[] from cosound.profiles where id = $1",
            &[listener.into()],
        )
        .unwrap()
    }

    #[pg_test]
    fn a_five_moves_the_taste_twelve_percent_towards_the_song() {
        fixture::schema();
        let listener = fixture::listener(Some("[1,0,0,0,0]"));
        let waves = fixture::song("soundscape", "[0,1,0,0,0]");
        vote(listener, waves, 5);
        let n = (0.88f32 * 0.88 + 0.12 * 0.12).sqrt();
        assert_close(
            &taste(listener).unwrap(),
            &[0.88 / n, 0.12 / n, 0.0, 0.0, 0.0],
        );
    }

    #[pg_test]
    fn a_first_like_takes_the_song_and_a_first_dislike_the_neutral_prior() {
        fixture::schema();
        let fire = fixture::song("soundscape", "[0,0,0,0,0.5]");
        let liker = fixture::listener(None);
        vote(liker, fire, 4);
        assert_eq!(taste(liker), Some(vec![0.0, 0.0, 0.0, 0.0, 1.0]));
        let hater = fixture::listener(None);
        vote(hater, fire, 1);
        assert_eq!(taste(hater), Some(vec![1.0, 0.0, 0.0, 0.0, 0.0]));
    }

    #[pg_test]
    fn a_three_or_a_song_not_yet_placed_changes_nothing() {
        fixture::schema();
        let listener = fixture::listener(None);
        let song = fixture::song("instrumental", "[0,1,0,0,0]");
        vote(listener, song, 3);
        assert_eq!(taste(listener), None);
        Spi::run("update cosound.songs set embedding = null").unwrap();
        vote(listener, song, 5);
        assert_eq!(taste(listener), None);
    }

    #[pg_test]
    fn votes_in_one_statement_apply_one_after_another() {
        fixture::schema();
        let listener = fixture::listener(Some("[0,0,1,0,0]"));
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let wind = fixture::song("soundscape", "[0,0,0.2,1,0]");
        Spi::run_with_args(
            "insert into cosound.votes (listener_id, song_id, rating)
             values ($1, $2, 5), ($1, $3, 1), ($1, $2, 4), ($1, $3, 2)",
            &[listener.into(), rain.into(), wind.into()],
        )
        .unwrap();
        let expected = Spi::get_one::<Vec<f32>>(
            "select extensions.apply_rating(extensions.apply_rating(extensions.apply_rating(
                      extensions.apply_rating('[0,0,1,0,0]', '[1,0,0,0,0]', 5),
                      '[0,0,0.2,1,0]', 1), '[1,0,0,0,0]', 4), '[0,0,0.2,1,0]', 2)::real[]",
        )
        .unwrap()
        .unwrap();
        assert_eq!(taste(listener).unwrap(), expected);
    }

    #[pg_test(
        error = "new row for relation \"votes\" violates check constraint \"rating_is_a_whole_number_from_1_to_5\""
    )]
    fn a_rating_of_six_is_refused() {
        fixture::schema();
        let listener = fixture::listener(None);
        let song = fixture::song("soundscape", "[1,0,0,0,0]");
        vote(listener, song, 6);
    }
}
