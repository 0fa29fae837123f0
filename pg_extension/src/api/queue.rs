//! `group_vector(player)`, `refresh_queue(player)`, `refresh_all_queues()`: what a player plays
//! next, from the tastes of the people there.
//!
//! A refresh locks the player's row (so two refreshes of one player take turns), computes the
//! group vector, and stops there when nothing the queue depends on changed (`queue::Inputs`).
//! Otherwise it ranks the player's candidates, and only when the picks differ replaces the
//! queue rows, bumps the queue's version and notifies `cosound_queue` with
//! `{"player_id": …, "version": …}`. All in the caller's transaction: readers see the old
//! queue or the new one, never a mix.

use super::recommend::{ranked, Candidates};
use crate::group;
use crate::queue::{self, Inputs, Pick, Role};
use crate::recommend::SongType;
use crate::vector::Vector;
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::spi::{self, SpiClient};
use pgrx::PgSqlErrorCode;
use std::collections::HashMap;

/// The channel that announces queue changes.
pub const CHANNEL: &str = "cosound_queue";

extension_sql!(
    r#"ALTER FUNCTION refresh_queue(bigint)
  SET hnsw.iterative_scan = strict_order SET hnsw.ef_search = 200 SET hnsw.max_scan_tuples = 50000;
ALTER FUNCTION refresh_all_queues()
  SET hnsw.iterative_scan = strict_order SET hnsw.ef_search = 200 SET hnsw.max_scan_tuples = 50000;"#,
    name = "refresh_queue_index_settings",
    requires = [refresh_queue, refresh_all_queues]
);

/// The unit vector the player's queue is picked for: the mean taste of the listeners checked
/// in there now, else of those there in the last 30 days, else a calm default.
#[pg_extern(stable)]
fn group_vector(player_id: i64) -> Vector {
    let exists = Spi::get_one_with_args::<bool>(
        "select exists (select from cosound.players where id = $1)",
        &[player_id.into()],
    )
    .expect("the player lookup runs");
    if exists != Some(true) {
        no_player(player_id);
    }
    Vector(group_target(player_id))
}

/// Brings the player's queue up to date; true when it changed (and listeners were notified).
#[pg_extern(volatile)]
fn refresh_queue(player_id: i64) -> bool {
    match refresh(player_id, Wait::ForLock) {
        Outcome::Changed => true,
        Outcome::Unchanged => false,
        Outcome::NoPlayer => no_player(player_id),
    }
}

/// Brings every player's queue up to date; returns how many changed. A player whose queue
/// another transaction is refreshing right now is left to that one.
#[pg_extern(volatile)]
fn refresh_all_queues() -> i64 {
    let players: Vec<i64> = Spi::connect(|client| {
        client
            .select("select id from cosound.players order by id", None, &[])?
            .map(|row| {
                row.get::<i64>(1)
                    .map(|id| id.expect("players.id is not null"))
            })
            .collect::<Result<_, _>>()
    })
    .expect("the player list reads");
    players
        .into_iter()
        .filter(|&id| refresh(id, Wait::SkipLocked) == Outcome::Changed)
        .count() as i64
}

fn no_player(player_id: i64) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
        format!("no player with id {player_id}")
    );
}

#[derive(Clone, Copy, PartialEq)]
enum Wait {
    ForLock,
    SkipLocked,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Changed,
    Unchanged,
    /// No such player, or (when skipping locked ones) one being refreshed elsewhere.
    NoPlayer,
}

/// The player's queue state, read under the player's row lock.
struct Locked {
    last: Option<Inputs>,
    refreshed_at: Option<i64>,
    catalogue_generation: i64,
    last_play_at: Option<i64>,
}

fn refresh(player_id: i64, wait: Wait) -> Outcome {
    let Some(locked) = lock(player_id, wait).expect("the queue state reads") else {
        return Outcome::NoPlayer;
    };
    let now = Inputs {
        target: group_target(player_id),
        catalogue_generation: locked.catalogue_generation,
        last_play_at: locked.last_play_at,
    };
    let clock = i64::from(pgrx::datetime::now());
    let age = locked
        .refreshed_at
        .map_or(f64::INFINITY, |at| (clock - at) as f64 / 1e6);
    if !queue::needs_refresh(locked.last.as_ref(), &now, age) {
        return Outcome::Unchanged;
    }
    let candidates = Candidates::of(Some(player_id));
    let soundscapes = ranked(
        &now.target,
        queue::LAYERS,
        &candidates,
        Some(SongType::Soundscape),
    );
    let instrumental = ranked(&now.target, 1, &candidates, Some(SongType::Instrumental));
    Spi::connect_mut(|client| {
        let picked: Vec<i64> = soundscapes
            .iter()
            .chain(&instrumental)
            .map(|song| song.song_id)
            .collect();
        let (current, loudness) = current_queue(client, player_id, picked)?;
        let picks = queue::mix(&soundscapes, instrumental.first(), |id| {
            loudness.get(&id).copied().unwrap_or(0.0)
        });
        let changed = picks != current;
        if changed {
            replace_queue(client, player_id, &picks)?;
        }
        record(client, player_id, &now, changed)?;
        Ok::<_, spi::Error>(if changed {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        })
    })
    .expect("the queue writes")
}

fn lock(player_id: i64, wait: Wait) -> spi::Result<Option<Locked>> {
    let skip = match wait {
        Wait::ForLock => "",
        Wait::SkipLocked => " skip locked",
    };
    Spi::connect_mut(|client| {
        let rows = client.update(
            &format!(
                "select q.target::real[], q.catalogue_generation, q.last_play_at, q.refreshed_at,
                        (select generation from cosound.catalogue),
                        (select max(pl.played_at) from cosound.plays pl where pl.player_id = p.id)
                   from cosound.players p
                   left join cosound.queue_state q on q.player_id = p.id
                  where p.id = $1
                    for no key update of p{skip}"
            ),
            None,
            &[player_id.into()],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        let micros = |at: Option<TimestampWithTimeZone>| at.map(i64::from);
        let last = match row.get::<Vec<f32>>(1)? {
            Some(target) => Some(Inputs {
                target,
                catalogue_generation: row.get::<i64>(2)?.unwrap_or_default(),
                last_play_at: micros(row.get(3)?),
            }),
            None => None,
        };
        Ok(Some(Locked {
            last,
            refreshed_at: micros(row.get(4)?),
            catalogue_generation: row.get::<i64>(5)?.unwrap_or_default(),
            last_play_at: micros(row.get(6)?),
        }))
    })
}

/// The group vector of `group_vector`, for a player known to exist.
pub(crate) fn group_target(player_id: i64) -> Vec<f32> {
    let present = mean_taste(
        "select pr.preference::real[]
           from cosound.sessions s
           join cosound.profiles pr on pr.id = s.listener_id
          where s.player_id = $1 and s.ended_at is null and s.expires_at > now()
            and pr.preference is not null",
        player_id,
    );
    group::target(present, || {
        mean_taste(
            "select pr.preference::real[]
               from cosound.profiles pr
              where pr.preference is not null
                and pr.id in (select s.listener_id from cosound.sessions s
                               where s.player_id = $1
                                 and s.started_at > now() - make_interval(days => $2))",
            player_id,
        )
    })
}

fn mean_taste(query: &str, player_id: i64) -> Option<Vec<f32>> {
    let tastes: Vec<Vec<f32>> = Spi::connect(|client| {
        client
            .select(query, None, &[player_id.into(), group::RECENT_DAYS.into()])?
            .map(|row| row.get::<Vec<f32>>(1).map(Option::unwrap_or_default))
            .collect::<spi::Result<_>>()
    })
    .expect("the tastes read");
    group::mean_direction(tastes.iter().map(Vec::as_slice))
}

/// The player's queue as stored, and the loudness gain of each picked song.
fn current_queue(
    client: &SpiClient<'_>,
    player_id: i64,
    picked: Vec<i64>,
) -> spi::Result<(Vec<Pick>, HashMap<i64, f32>)> {
    let row = client
        .select(
            "select array(select song_id from cosound.player_queue where player_id = $1 order by slot),
                    array(select role::text from cosound.player_queue where player_id = $1 order by slot),
                    array(select gain from cosound.player_queue where player_id = $1 order by slot),
                    array(select id from cosound.songs where id = any ($2) order by id),
                    array(select loudness_gain_db from cosound.songs where id = any ($2) order by id)",
            None,
            &[player_id.into(), picked.into()],
        )?
        .first();
    let songs: Vec<i64> = row.get(1)?.unwrap_or_default();
    let roles: Vec<String> = row.get(2)?.unwrap_or_default();
    let gains: Vec<f32> = row.get(3)?.unwrap_or_default();
    let current = songs
        .into_iter()
        .zip(roles)
        .zip(gains)
        .map(|((song_id, role), gain)| Pick {
            song_id,
            role: if role == Role::Instrumental.as_str() {
                Role::Instrumental
            } else {
                Role::Layer
            },
            gain,
        })
        .collect();
    let ids: Vec<i64> = row.get(4)?.unwrap_or_default();
    let loudness: Vec<f32> = row.get(5)?.unwrap_or_default();
    Ok((current, ids.into_iter().zip(loudness).collect()))
}

fn replace_queue(client: &mut SpiClient<'_>, player_id: i64, picks: &[Pick]) -> spi::Result<()> {
    client.update(
        "delete from cosound.player_queue where player_id = $1",
        None,
        &[player_id.into()],
    )?;
    client.update(
        "insert into cosound.player_queue (player_id, slot, song_id, role, gain)
         select $1, t.slot - 1, t.song_id, t.role::cosound.queue_role, t.gain
           from unnest($2::bigint[], $3::text[], $4::real[]) with ordinality
                as t (song_id, role, gain, slot)",
        None,
        &[
            player_id.into(),
            picks.iter().map(|p| p.song_id).collect::<Vec<_>>().into(),
            picks
                .iter()
                .map(|p| p.role.as_str().to_string())
                .collect::<Vec<_>>()
                .into(),
            picks.iter().map(|p| p.gain).collect::<Vec<_>>().into(),
        ],
    )?;
    Ok(())
}

/// Stores what the queue was computed from; on a change, bumps its version and notifies.
fn record(
    client: &mut SpiClient<'_>,
    player_id: i64,
    inputs: &Inputs,
    changed: bool,
) -> spi::Result<()> {
    let last_play_at = inputs
        .last_play_at
        .map(|at| TimestampWithTimeZone::try_from(at).expect("a stored time converts back"));
    client.update(
        "with state as (
           insert into cosound.queue_state as q
                  (player_id, version, target, catalogue_generation, last_play_at, refreshed_at)
           values ($1, $2, $3::real[]::extensions.vector(5), $4, $5, now())
           on conflict (player_id) do update
              set version = q.version + $2, target = excluded.target,
                  catalogue_generation = excluded.catalogue_generation,
                  last_play_at = excluded.last_play_at, refreshed_at = excluded.refreshed_at
           returning version
         )
         select pg_catalog.pg_notify($6, json_build_object('player_id', $1, 'version', version)::text)
           from state
          where $2 > 0",
        None,
        &[
            player_id.into(),
            i64::from(changed).into(),
            inputs.target.clone().into(),
            inputs.catalogue_generation.into(),
            last_play_at.into(),
            CHANNEL.into(),
        ],
    )?;
    Ok(())
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use crate::fixture;
    use crate::group::CALM_DEFAULT;
    use pgrx::prelude::*;

    fn group(player: i64) -> Vec<f32> {
        Spi::get_one_with_args::<Vec<f32>>(
            "select extensions.group_vector($1)::real[]",
            &[player.into()],
        )
        .unwrap()
        .unwrap()
    }

    fn check_in(listener: pgrx::Uuid, player: i64) {
        Spi::run_with_args(
            "select cosound.check_in($1, $2)",
            &[listener.into(), player.into()],
        )
        .unwrap();
    }

    fn refresh(player: i64) -> bool {
        Spi::get_one_with_args::<bool>("select extensions.refresh_queue($1)", &[player.into()])
            .unwrap()
            .unwrap()
    }

    /// The queue as (song, role, gain) rows in slot order.
    fn queue(player: i64) -> Vec<(i64, String, f32)> {
        Spi::connect(|client| {
            client
                .select(
                    "select song_id, role::text, gain from cosound.player_queue
                      where player_id = $1 order by slot",
                    None,
                    &[player.into()],
                )?
                .map(|row| {
                    Ok((
                        row.get(1)?.unwrap(),
                        row.get(2)?.unwrap(),
                        row.get(3)?.unwrap(),
                    ))
                })
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
        .unwrap()
    }

    #[pg_test]
    fn the_group_is_the_mean_of_the_listeners_checked_in() {
        fixture::schema();
        let player = fixture::player();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        check_in(fixture::listener(Some("[0,0,0,0,1]")), player);
        check_in(fixture::listener(None), player);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(group(player), [h, 0.0, 0.0, 0.0, h]);
    }

    #[pg_test]
    fn an_expired_or_ended_session_no_longer_counts() {
        fixture::schema();
        let player = fixture::player();
        let here = fixture::listener(Some("[0,1,0,0,0]"));
        check_in(here, player);
        let expired = fixture::listener(Some("[0,0,1,0,0]"));
        Spi::run_with_args(
            "insert into cosound.sessions (listener_id, player_id, started_at, expires_at)
             values ($1, $2, now() - interval '2 hours', now() - interval '1 hour')",
            &[expired.into(), player.into()],
        )
        .unwrap();
        let left = fixture::listener(Some("[0,0,0,1,0]"));
        check_in(left, player);
        Spi::run_with_args("select cosound.check_out($1)", &[left.into()]).unwrap();
        assert_eq!(group(player), [0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[pg_test]
    fn an_empty_room_uses_its_recent_listeners_then_a_calm_default() {
        fixture::schema();
        let player = fixture::player();
        assert_eq!(group(player), CALM_DEFAULT);
        let earlier = fixture::listener(Some("[0,0,0,1,0]"));
        check_in(earlier, player);
        Spi::run_with_args("select cosound.check_out($1)", &[earlier.into()]).unwrap();
        assert_eq!(group(player), [0.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[pg_test]
    fn a_new_check_in_ends_the_previous_session() {
        fixture::schema();
        let (first, second) = (fixture::player(), fixture::player());
        let listener = fixture::listener(Some("[0,0,0,1,0]"));
        check_in(listener, first);
        check_in(listener, second);
        assert_eq!(
            group(first),
            [0.0, 0.0, 0.0, 1.0, 0.0],
            "recent, not present"
        );
        let open = Spi::get_one_with_args::<i64>(
            "select count(*) from cosound.sessions where listener_id = $1 and ended_at is null",
            &[listener.into()],
        )
        .unwrap();
        assert_eq!(open, Some(1));
    }

    #[pg_test]
    fn a_refresh_picks_layers_and_an_instrumental_from_the_library() {
        fixture::schema();
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let rainy_wind = fixture::song("soundscape", "[1,0,0,0.5,0]");
        let fire = fixture::song("soundscape", "[0,0,0,0,1]");
        let outside = fixture::song("soundscape", "[1,0,0,0.1,0]");
        let piano = fixture::song("instrumental", "[0.8,0.2,0,0,0]");
        let player = fixture::player();
        Spi::run_with_args(
            "insert into cosound.player_library select $1, unnest($2::bigint[])",
            &[player.into(), vec![rain, rainy_wind, fire, piano].into()],
        )
        .unwrap();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        assert!(refresh(player));
        let picked = queue(player);
        let songs: Vec<(i64, &str)> = picked.iter().map(|(s, r, _)| (*s, r.as_str())).collect();
        assert_eq!(
            songs,
            [
                (rain, "layer"),
                (rainy_wind, "layer"),
                (piano, "instrumental")
            ],
            "fire fits too poorly to layer, and the song outside the library never plays"
        );
        assert!(picked.iter().all(|(song, _, _)| *song != outside));
        assert_eq!(picked[0].2, 1.0);
        assert!(picked[1].2 > 0.5 && picked[1].2 < 1.0);
    }

    #[pg_test]
    fn a_second_refresh_with_nothing_changed_writes_nothing() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        let player = fixture::player();
        assert!(refresh(player));
        assert!(!refresh(player));
        let version = Spi::get_one_with_args::<i64>(
            "select version from cosound.queue_state where player_id = $1",
            &[player.into()],
        )
        .unwrap();
        assert_eq!(version, Some(1));
    }

    #[pg_test]
    fn a_reported_play_moves_the_queue_on() {
        fixture::schema();
        fixture::song("soundscape", "[0,1,0,0,0]");
        let first = fixture::song("instrumental", "[0.7,0.7,0,0,0]");
        let second = fixture::song("instrumental", "[0.6,0.8,0,0,0]");
        let player = fixture::player();
        assert!(refresh(player));
        assert_eq!(queue(player)[1].0, first);
        Spi::run_with_args(
            "insert into cosound.plays (player_id, song_id) values ($1, $2)",
            &[player.into(), first.into()],
        )
        .unwrap();
        assert!(refresh(player));
        assert_eq!(queue(player)[1].0, second);
    }

    #[pg_test]
    fn refreshing_all_players_counts_the_queues_that_changed() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        fixture::player();
        fixture::player();
        let all = || {
            Spi::get_one::<i64>("select extensions.refresh_all_queues()")
                .unwrap()
                .unwrap()
        };
        assert_eq!(all(), 2);
        assert_eq!(all(), 0);
    }

    #[pg_test(error = "no player with id -7")]
    fn refreshing_an_unknown_player_is_refused() {
        fixture::schema();
        refresh(-7);
    }

    #[pg_test(error = "no player with id -7")]
    fn the_group_of_an_unknown_player_is_refused() {
        fixture::schema();
        group(-7);
    }
}
