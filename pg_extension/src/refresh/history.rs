//! What a refresh leaves behind besides the queues: each new version with why it was made
//! (`why`), and each listener's share of the mix they were given.

use super::{layer_weights, room_fit, Change, Due, Song};
use crate::ranking::penalty_at;
use cosound_rules::group;
use cosound_rules::queue::Pick;
use cosound_rules::why::VERSIONS_KEPT;
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::spi::{self, SpiClient};
use std::collections::HashMap;

/// Records the new version of each changed queue: its trigger, strategy, listeners and layer
/// step, and each item's fit to the room and recency penalty; keeps `VERSIONS_KEPT` versions
/// of each queue.
pub(super) fn remember(
    client: &mut SpiClient<'_>,
    due: &[Due],
    changed: &[(i64, Vec<Pick>, Change)],
    versions: &HashMap<i64, i64>,
    songs: &HashMap<i64, Song>,
) -> spi::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let due: HashMap<i64, &Due> = due
        .iter()
        .map(|player| (player.player_id, player))
        .collect();
    let items = || {
        changed.iter().flat_map(|(player, picks, _)| {
            picks
                .iter()
                .enumerate()
                .map(move |(slot, pick)| (*player, slot as i16, pick))
        })
    };
    let played = last_played(
        client,
        items().map(|(player, _, _)| player).collect(),
        items().map(|(_, _, pick)| pick.song_id).collect(),
    )?;
    let now = pgrx::datetime::now();
    let version = |player: i64| {
        *versions
            .get(&player)
            .expect("a changed queue has a version")
    };
    let (outs, ins): (Vec<Option<i64>>, Vec<Option<i64>>) =
        changed.iter().map(|(_, _, change)| change.songs()).unzip();
    let (players, numbers): (Vec<i64>, Vec<i64>) =
        changed.iter().map(|(p, _, _)| (*p, version(*p))).unzip();
    // Versions beyond the kept ones go; so does what an earlier count left at the new numbers
    // (a queue state deleted by hand starts its versions again). By the given arrays, which
    // the planner sizes, the delete reads each player's versions through the primary key.
    client.update(
        "delete from cosound.queue_versions v
          using unnest($1::bigint[], $2::bigint[]) as t (player_id, version)
          where v.player_id = t.player_id
            and (v.version >= t.version or v.version <= t.version - $3)",
        None,
        &[
            players.clone().into(),
            numbers.clone().into(),
            VERSIONS_KEPT.into(),
        ],
    )?;
    client.update(
        "with made as (
           insert into cosound.queue_versions
                  (player_id, version, trigger, strategy, listeners, layer_change, layer_out,
                   layer_in)
           select t.player_id, t.version, t.trigger::cosound.queue_trigger,
                  t.strategy::cosound.group_strategy, t.listeners,
                  t.change::cosound.layer_change, t.layer_out, t.layer_in
             from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[],
                         $6::text[], $7::bigint[], $8::bigint[])
                  as t (player_id, version, trigger, strategy, listeners, change, layer_out,
                        layer_in)
           returning player_id, version
         )
         insert into cosound.queue_version_items
                (player_id, version, slot, song_id, role, gain, fit, penalty)
         select i.player_id, made.version, i.slot, i.song_id, i.role::cosound.queue_role,
                i.gain, i.fit, i.penalty
           from unnest($9::bigint[], $10::smallint[], $11::bigint[], $12::text[], $13::real[],
                       $14::real[], $15::real[])
                as i (player_id, slot, song_id, role, gain, fit, penalty)
           join made using (player_id)",
        None,
        &[
            players.into(),
            numbers.into(),
            changed
                .iter()
                .map(|(p, _, _)| due[p].trigger.as_str().to_string())
                .collect::<Vec<_>>()
                .into(),
            changed
                .iter()
                .map(|(p, _, _)| due[p].inputs.strategy.as_str().to_string())
                .collect::<Vec<_>>()
                .into(),
            changed
                .iter()
                .map(|(p, _, _)| due[p].seats.len() as i32)
                .collect::<Vec<_>>()
                .into(),
            changed
                .iter()
                .map(|(_, _, change)| change.as_str().to_string())
                .collect::<Vec<_>>()
                .into(),
            outs.into(),
            ins.into(),
            items().map(|(p, _, _)| p).collect::<Vec<_>>().into(),
            items().map(|(_, slot, _)| slot).collect::<Vec<_>>().into(),
            items()
                .map(|(_, _, pick)| pick.song_id)
                .collect::<Vec<_>>()
                .into(),
            items()
                .map(|(_, _, pick)| pick.role.as_str().to_string())
                .collect::<Vec<_>>()
                .into(),
            items()
                .map(|(_, _, pick)| pick.gain)
                .collect::<Vec<_>>()
                .into(),
            items()
                .map(|(p, _, pick)| room_fit(due[&p], songs.get(&pick.song_id)) as f32)
                .collect::<Vec<_>>()
                .into(),
            items()
                .map(|(p, _, pick)| penalty_at(now, played.get(&(p, pick.song_id)).copied()) as f32)
                .collect::<Vec<_>>()
                .into(),
        ],
    )?;
    Ok(())
}

/// When each (player, song) pair last played there, for those that did.
fn last_played(
    client: &SpiClient<'_>,
    players: Vec<i64>,
    songs: Vec<i64>,
) -> spi::Result<HashMap<(i64, i64), TimestampWithTimeZone>> {
    client
        .select(
            "select lp.player_id, lp.song_id, lp.played_at
               from unnest($1::bigint[], $2::bigint[]) as t (player_id, song_id)
               join cosound.last_plays lp using (player_id, song_id)",
            None,
            &[players.into(), songs.into()],
        )?
        .map(|row| {
            Ok((
                (
                    row.get::<i64>(1)?.expect("a player"),
                    row.get::<i64>(2)?.expect("a song"),
                ),
                row.get::<TimestampWithTimeZone>(3)?.expect("a play time"),
            ))
        })
        .collect()
}

/// Stores, for each listener at a due player, how close the mix the player was `given` is to
/// their taste (`group::fit`): what they read as their share of it.
pub(super) fn share(
    client: &mut SpiClient<'_>,
    due: &[Due],
    given: &HashMap<i64, Vec<Pick>>,
    songs: &HashMap<i64, Song>,
) -> spi::Result<()> {
    let (mut sessions, mut fits): (Vec<i64>, Vec<Option<f32>>) = (Vec::new(), Vec::new());
    for player in due {
        let layers = layer_weights(given.get(&player.player_id).into_iter().flatten(), songs);
        for seat in &player.seats {
            sessions.push(seat.session_id);
            let fit = group::fit(&seat.present.taste, layers.iter().copied());
            fits.push(fit.map(|fit| fit as f32));
        }
    }
    if sessions.is_empty() {
        return Ok(());
    }
    client.update(
        "update cosound.sessions s set share = t.fit
           from unnest($1::bigint[], $2::real[]) as t (id, fit)
          where s.id = t.id and s.share is distinct from t.fit",
        None,
        &[sessions.into(), fits.into()],
    )?;
    Ok(())
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use crate::fixture::{self, check_in, refresh};
    use pgrx::prelude::*;

    /// The player's versions as (version, trigger, listeners, layer change), oldest first.
    fn versions(player: i64) -> Vec<(i64, String, i32, String)> {
        Spi::connect(|client| {
            client
                .select(
                    "select version, trigger::text, listeners, layer_change::text
                       from cosound.queue_versions where player_id = $1 order by version",
                    None,
                    &[player.into()],
                )?
                .map(|row| {
                    Ok((
                        row.get(1)?.unwrap(),
                        row.get(2)?.unwrap(),
                        row.get(3)?.unwrap(),
                        row.get(4)?.unwrap(),
                    ))
                })
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
        .unwrap()
    }

    fn latest(player: i64) -> (String, i32, String) {
        let (_, trigger, listeners, change) = versions(player).pop().expect("a version");
        (trigger, listeners, change)
    }

    fn why(trigger: &str, listeners: i32, change: &str) -> (String, i32, String) {
        (trigger.into(), listeners, change.into())
    }

    #[pg_test]
    fn each_new_version_says_what_set_it_off_and_how_the_layers_moved() {
        fixture::schema();
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        fixture::song("soundscape", "[1,0.1,0,0,0]");
        let fire = fixture::song("soundscape", "[0,0,0,0,1]");
        fixture::song("instrumental", "[1,0,0,0,0]");
        let player = fixture::player();
        refresh(player);
        assert_eq!(latest(player), why("first", 0, "whole"));
        let (a, b) = (
            fixture::listener(Some("[1,0,0,0,0]")),
            fixture::listener(Some("[1,0,0,0,0]")),
        );
        check_in(a, player);
        refresh(player);
        check_in(b, player);
        refresh(player);
        let count = versions(player).len();
        Spi::run_with_args(
            "update cosound.profiles set preference = '[0,0,0,0,1]' where id = $1",
            &[b.into()],
        )
        .unwrap();
        refresh(player);
        assert_eq!(
            latest(player),
            why("rating", 2, "added"),
            "fire joins the mix"
        );
        assert_eq!(versions(player).len(), count + 1);
        Spi::run_with_args("select cosound.check_out($1)", &[b.into()]).unwrap();
        refresh(player);
        assert_eq!(latest(player), why("check_out", 1, "dropped"));
        let (out, into) = Spi::get_two_with_args::<i64, i64>(
            "select layer_out, layer_in from cosound.queue_versions
              where player_id = $1 order by version desc limit 1",
            &[player.into()],
        )
        .unwrap();
        assert_eq!((out, into), (Some(fire), None));
        Spi::run_with_args(
            "update cosound.players set strategy = 'least_misery' where id = $1;
             insert into cosound.plays (player_id, song_id) values ($1, $2)",
            &[player.into(), rain.into()],
        )
        .unwrap();
        refresh(player);
        assert_eq!(latest(player).0, "strategy", "before the play");
    }

    #[pg_test]
    fn each_item_carries_its_fit_to_the_room_and_its_recency_penalty() {
        fixture::schema();
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let drizzle = fixture::song("soundscape", "[1,1,0,0,0]");
        let player = fixture::player();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        Spi::run_with_args(
            "insert into cosound.plays (player_id, song_id) values ($1, $2)",
            &[player.into(), rain.into()],
        )
        .unwrap();
        refresh(player);
        let items: Vec<(i64, f32, f32)> = fixture::triples(
            "select i.song_id, i.fit, i.penalty
               from cosound.queue_version_items i
               join cosound.queue_state q using (player_id, version)
              where i.player_id = $1 order by i.slot",
            &[player.into()],
        );
        let penalty = cosound_rules::recommend::PENALTY_WEIGHT as f32;
        assert_eq!(items.len(), 2, "{items:?}");
        let rain_item = items.iter().find(|i| i.0 == rain).unwrap();
        let drizzle_item = items.iter().find(|i| i.0 == drizzle).unwrap();
        assert!((rain_item.1 - 1.0).abs() < 1e-5 && (rain_item.2 - penalty).abs() < 1e-5);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let never = cosound_rules::recommend::penalty(None) as f32;
        assert!((drizzle_item.1 - h).abs() < 1e-5 && (drizzle_item.2 - never).abs() < 1e-7);
    }

    #[pg_test]
    fn a_queue_keeps_its_latest_versions_only() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        fixture::song("soundscape", "[0,0,0,0,1]");
        let player = fixture::player();
        refresh(player);
        let kept = cosound_rules::why::VERSIONS_KEPT;
        Spi::run_with_args(
            "update cosound.queue_state set version = $2 + 9 where player_id = $1;
             insert into cosound.queue_versions
                    (player_id, version, trigger, strategy, listeners, layer_change)
             select $1, v, 'clock', 'mean', 0, 'kept' from generate_series(2, $2 + 9) v",
            &[player.into(), kept.into()],
        )
        .unwrap();
        check_in(fixture::listener(Some("[0,0,0,0,1]")), player);
        refresh(player);
        let (count, oldest, newest) = Spi::get_three_with_args::<i64, i64, i64>(
            "select count(*), min(version), max(version) from cosound.queue_versions
              where player_id = $1",
            &[player.into()],
        )
        .unwrap();
        assert_eq!(
            (count, oldest, newest),
            (Some(kept), Some(11), Some(kept + 10))
        );
    }

    #[pg_test]
    fn a_queue_whose_state_was_deleted_numbers_its_versions_again() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        fixture::song("soundscape", "[0,0,0,0,1]");
        let player = fixture::player();
        refresh(player);
        Spi::run("delete from cosound.player_queue; delete from cosound.queue_state").unwrap();
        check_in(fixture::listener(Some("[0,0,0,0,1]")), player);
        refresh(player);
        assert_eq!(
            versions(player)
                .into_iter()
                .map(|(v, trigger, _, _)| (v, trigger))
                .collect::<Vec<_>>(),
            [(1, "first".to_string())]
        );
    }

    #[pg_test]
    fn each_listener_s_share_is_how_close_the_mix_given_is_to_their_taste() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        let player = fixture::player();
        let (rain_lover, other) = (
            fixture::listener(Some("[1,0,0,0,0]")),
            fixture::listener(Some("[0.6,0.8,0,0,0]")),
        );
        check_in(rain_lover, player);
        check_in(other, player);
        refresh(player);
        let share = |listener: pgrx::Uuid| {
            Spi::get_one_with_args::<f32>(
                "select share from cosound.sessions where listener_id = $1 and ended_at is null",
                &[listener.into()],
            )
            .unwrap()
            .unwrap()
        };
        assert!((share(rain_lover) - 1.0).abs() < 1e-5);
        assert!((share(other) - 0.6).abs() < 1e-5);
    }
}
