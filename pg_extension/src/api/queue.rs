//! `group_vector(player)`, `refresh_queue(player)`, `refresh_all_queues()`: what a player plays
//! next, from the tastes of the people there.
//!
//! A refresh locks the players' rows (two refreshes of one player take turns; refreshing all
//! skips a player being refreshed elsewhere), computes their group vectors, and leaves alone
//! every player for whom nothing its queue depends on changed (`queue::Inputs`). It ranks the
//! others' candidates — one player through `recommend_with_penalty`'s ranking; all of them, over
//! a catalogue small enough, in memory with the same result (`Catalogue`) — and only where the
//! picks differ replaces the queue rows, bumps the queue's version and notifies `cosound_queue`
//! with `{"player_id": …, "version": …}`. Each step is one statement for all the players, and
//! all of it runs in the caller's transaction: readers see the old queue or the new one, never
//! a mix.

use super::recommend::{ranked, Candidates, Catalogue, Request};
use crate::group;
use crate::queue::{self, Inputs, Pick, Role};
use crate::recommend::{Ranked, SongType};
use crate::space::DIMENSIONS;
use crate::vector::Vector;
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{self, SpiClient};
use pgrx::PgSqlErrorCode;
use std::collections::{HashMap, HashSet};

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
    let mut targets = group_targets(&[player_id]);
    Vector(targets.remove(&player_id).expect("a target per player"))
}

/// Brings the player's queue up to date; true when it changed (and listeners were notified).
#[pg_extern(volatile)]
fn refresh_queue(player_id: i64) -> bool {
    match refresh(Scope::One(player_id)) {
        Some(changed) => changed > 0,
        None => no_player(player_id),
    }
}

/// Brings every player's queue up to date; returns how many changed. A player whose queue
/// another transaction is refreshing right now is left to that one.
#[pg_extern(volatile)]
fn refresh_all_queues() -> i64 {
    refresh(Scope::All).map_or(0, |changed| changed as i64)
}

fn no_player(player_id: i64) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
        format!("no player with id {player_id}")
    );
}

#[derive(Clone, Copy)]
enum Scope {
    /// One player, waiting for its lock.
    One(i64),
    /// Every player not locked by another transaction.
    All,
}

/// A player's queue state, read under the player's row lock.
struct Locked {
    player_id: i64,
    last: Option<Inputs>,
    refreshed_at: Option<i64>,
    catalogue_generation: i64,
    last_play_at: Option<i64>,
}

/// A player's ranked soundscapes and its ranked instrumental (at most one).
type Ranking = (Vec<Ranked>, Vec<Ranked>);

/// Refreshes the players in `scope`; how many queues changed, `None` when there was no player
/// to lock.
fn refresh(scope: Scope) -> Option<usize> {
    let locked = lock(scope).expect("the queue state reads");
    if locked.is_empty() {
        return None;
    }
    let players: Vec<i64> = locked.iter().map(|player| player.player_id).collect();
    let mut targets = group_targets(&players);
    let clock = i64::from(pgrx::datetime::now());
    let due: Vec<(i64, Inputs)> = locked
        .into_iter()
        .filter_map(|player| {
            let now = Inputs {
                target: targets
                    .remove(&player.player_id)
                    .expect("a target per player"),
                catalogue_generation: player.catalogue_generation,
                last_play_at: player.last_play_at,
            };
            let age = player
                .refreshed_at
                .map_or(f64::INFINITY, |at| (clock - at) as f64 / 1e6);
            queue::needs_refresh(player.last.as_ref(), &now, age).then_some((player.player_id, now))
        })
        .collect();
    if due.is_empty() {
        return Some(0);
    }
    let rankings = rank(&due, scope);
    let changed = Spi::connect_mut(|client| {
        let due_players: Vec<i64> = due.iter().map(|(player, _)| *player).collect();
        let picked: HashSet<i64> = rankings
            .iter()
            .flat_map(|(soundscapes, instrumental)| soundscapes.iter().chain(instrumental))
            .map(|song| song.song_id)
            .collect();
        let current = current_queues(client, &due_players)?;
        let loudness = loudness(client, picked.into_iter().collect())?;
        let changed: Vec<(i64, Vec<Pick>)> = due_players
            .iter()
            .zip(&rankings)
            .filter_map(|(player, (soundscapes, instrumental))| {
                let picks = queue::mix(soundscapes, instrumental.first(), |id| {
                    loudness.get(&id).copied().unwrap_or(0.0)
                });
                let now = current.get(player).map_or(&[][..], Vec::as_slice);
                (picks != now).then_some((*player, picks))
            })
            .collect();
        replace_queues(client, &changed)?;
        let changed: HashSet<i64> = changed.into_iter().map(|(player, _)| player).collect();
        record(client, &due, &changed)?;
        Ok::<_, spi::Error>(changed.len())
    })
    .expect("the queues write");
    Some(changed)
}

/// Locks the players in `scope` and reads what their queues were last computed from.
fn lock(scope: Scope) -> spi::Result<Vec<Locked>> {
    let (only, skip, args): (&str, &str, Vec<DatumWithOid>) = match scope {
        Scope::One(player_id) => ("where p.id = $1", "", vec![player_id.into()]),
        Scope::All => ("", " skip locked", vec![]),
    };
    Spi::connect_mut(|client| {
        let micros = |at: Option<TimestampWithTimeZone>| at.map(i64::from);
        client
            .update(
                &format!(
                    "select p.id, q.target::real[], q.catalogue_generation, q.last_play_at,
                            q.refreshed_at, (select generation from cosound.catalogue),
                            (select max(pl.played_at) from cosound.plays pl
                              where pl.player_id = p.id)
                       from cosound.players p
                       left join cosound.queue_state q on q.player_id = p.id
                      {only}
                      order by p.id
                        for no key update of p{skip}"
                ),
                None,
                &args,
            )?
            .map(|row| {
                let last = match row.get::<Vec<f32>>(2)? {
                    Some(target) => Some(Inputs {
                        target,
                        catalogue_generation: row.get::<i64>(3)?.unwrap_or_default(),
                        last_play_at: micros(row.get(4)?),
                    }),
                    None => None,
                };
                Ok(Locked {
                    player_id: row.get::<i64>(1)?.expect("players.id is not null"),
                    last,
                    refreshed_at: micros(row.get(5)?),
                    catalogue_generation: row.get::<i64>(6)?.unwrap_or_default(),
                    last_play_at: micros(row.get(7)?),
                })
            })
            .collect()
    })
}

/// The group vector of each of `players` (known to exist).
fn group_targets(players: &[i64]) -> HashMap<i64, Vec<f32>> {
    let mut present = mean_tastes(
        "select s.player_id, pr.preference::real[]
           from unnest($1::bigint[]) as wanted (player_id)
           join cosound.sessions s on s.player_id = wanted.player_id
           join cosound.profiles pr on pr.id = s.listener_id
          where s.ended_at is null and s.expires_at > now()
            and pr.preference is not null",
        players,
    );
    let alone: Vec<i64> = players
        .iter()
        .filter(|player| !present.contains_key(player))
        .copied()
        .collect();
    let mut recent = if alone.is_empty() {
        HashMap::new()
    } else {
        mean_tastes(
            "select recent.player_id, pr.preference::real[]
               from (select distinct s.player_id, s.listener_id
                       from unnest($1::bigint[]) as wanted (player_id)
                       join cosound.sessions s on s.player_id = wanted.player_id
                      where s.started_at > now() - make_interval(days => $2)) recent
               join cosound.profiles pr on pr.id = recent.listener_id
              where pr.preference is not null",
            &alone,
        )
    };
    players
        .iter()
        .map(|&player| {
            let target = group::target(present.remove(&player), || recent.remove(&player));
            (player, target)
        })
        .collect()
}

/// The mean direction of each player's tastes, from rows of (player, taste); players whose
/// tastes have none are left out.
fn mean_tastes(query: &str, players: &[i64]) -> HashMap<i64, Vec<f32>> {
    let mut tastes: HashMap<i64, Vec<Vec<f32>>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            query,
            None,
            &[players.to_vec().into(), group::RECENT_DAYS.into()],
        )? {
            let player = row.get::<i64>(1)?.expect("a session has a player");
            let taste = row.get::<Vec<f32>>(2)?.unwrap_or_default();
            tastes.entry(player).or_default().push(taste);
        }
        Ok::<_, spi::Error>(())
    })
    .expect("the tastes read");
    tastes
        .into_iter()
        .filter_map(|(player, tastes)| {
            group::mean_direction(tastes.iter().map(Vec::as_slice)).map(|mean| (player, mean))
        })
        .collect()
}

/// Each due player's ranked candidates, in `due`'s order.
fn rank(due: &[(i64, Inputs)], scope: Scope) -> Vec<Ranking> {
    let catalogue = match scope {
        Scope::One(_) => None,
        Scope::All => Catalogue::load(),
    };
    let Some(catalogue) = catalogue else {
        return due
            .iter()
            .map(|(player, inputs)| {
                let candidates = Candidates::of(Some(*player));
                let target = &inputs.target;
                (
                    ranked(
                        target,
                        queue::LAYERS,
                        &candidates,
                        Some(SongType::Soundscape),
                    ),
                    ranked(target, 1, &candidates, Some(SongType::Instrumental)),
                )
            })
            .collect();
    };
    let players: Vec<i64> = due.iter().map(|(player, _)| *player).collect();
    let libraries = libraries(&players);
    let requests: Vec<Request<'_>> = due
        .iter()
        .flat_map(|(player, inputs)| {
            let library = libraries.get(player);
            [
                (queue::LAYERS, SongType::Soundscape),
                (1, SongType::Instrumental),
            ]
            .map(|(k, song_type)| Request {
                target: &inputs.target,
                k,
                song_type,
                library,
            })
        })
        .collect();
    let mut rankings = catalogue.rank(&requests).into_iter();
    due.iter()
        .map(|_| {
            let soundscapes = rankings.next().expect("a soundscape ranking per player");
            let instrumental = rankings.next().expect("an instrumental ranking per player");
            (soundscapes, instrumental)
        })
        .collect()
}

/// The libraries of those of `players` that have one.
fn libraries(players: &[i64]) -> HashMap<i64, HashSet<i64>> {
    let mut libraries: HashMap<i64, HashSet<i64>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            "select l.player_id, l.song_id
               from unnest($1::bigint[]) as wanted (player_id)
               join cosound.player_library l on l.player_id = wanted.player_id",
            None,
            &[players.to_vec().into()],
        )? {
            let player = row.get::<i64>(1)?.expect("a library row has a player");
            let song = row.get::<i64>(2)?.expect("a library row has a song");
            libraries.entry(player).or_default().insert(song);
        }
        Ok::<_, spi::Error>(())
    })
    .expect("the libraries read");
    libraries
}

/// The players' queues as stored, by player.
fn current_queues(client: &SpiClient<'_>, players: &[i64]) -> spi::Result<HashMap<i64, Vec<Pick>>> {
    let mut queues: HashMap<i64, Vec<Pick>> = HashMap::new();
    for row in client.select(
        "select q.player_id, q.song_id, q.role::text, q.gain
           from unnest($1::bigint[]) as wanted (player_id)
           join cosound.player_queue q on q.player_id = wanted.player_id
          order by q.player_id, q.slot",
        None,
        &[players.to_vec().into()],
    )? {
        let role = row
            .get::<String>(3)?
            .expect("player_queue.role is not null");
        queues
            .entry(
                row.get::<i64>(1)?
                    .expect("player_queue.player_id is not null"),
            )
            .or_default()
            .push(Pick {
                song_id: row
                    .get::<i64>(2)?
                    .expect("player_queue.song_id is not null"),
                role: if role == Role::Instrumental.as_str() {
                    Role::Instrumental
                } else {
                    Role::Layer
                },
                gain: row.get::<f32>(4)?.expect("player_queue.gain is not null"),
            });
    }
    Ok(queues)
}

/// The loudness gain of each of `songs`.
fn loudness(client: &SpiClient<'_>, songs: Vec<i64>) -> spi::Result<HashMap<i64, f32>> {
    client
        .select(
            "select id, loudness_gain_db from cosound.songs where id = any ($1)",
            None,
            &[songs.into()],
        )?
        .map(|row| {
            Ok((
                row.get::<i64>(1)?.expect("songs.id is not null"),
                row.get::<f32>(2)?
                    .expect("songs.loudness_gain_db is not null"),
            ))
        })
        .collect()
}

/// Replaces the queues of the players in `changed` with their new picks.
fn replace_queues(client: &mut SpiClient<'_>, changed: &[(i64, Vec<Pick>)]) -> spi::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let players: Vec<i64> = changed.iter().map(|(player, _)| *player).collect();
    client.update(
        "delete from cosound.player_queue where player_id = any ($1)",
        None,
        &[players.into()],
    )?;
    let rows = || {
        changed.iter().flat_map(|(player, picks)| {
            picks
                .iter()
                .enumerate()
                .map(move |(slot, pick)| (*player, slot as i16, pick))
        })
    };
    client.update(
        "insert into cosound.player_queue (player_id, slot, song_id, role, gain)
         select t.player_id, t.slot, t.song_id, t.role::cosound.queue_role, t.gain
           from unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::text[], $5::real[])
                as t (player_id, slot, song_id, role, gain)",
        None,
        &[
            rows()
                .map(|(player, _, _)| player)
                .collect::<Vec<_>>()
                .into(),
            rows().map(|(_, slot, _)| slot).collect::<Vec<_>>().into(),
            rows()
                .map(|(_, _, pick)| pick.song_id)
                .collect::<Vec<_>>()
                .into(),
            rows()
                .map(|(_, _, pick)| pick.role.as_str().to_string())
                .collect::<Vec<_>>()
                .into(),
            rows()
                .map(|(_, _, pick)| pick.gain)
                .collect::<Vec<_>>()
                .into(),
        ],
    )?;
    Ok(())
}

/// Stores what each due player's queue was computed from; for those whose queue changed,
/// bumps its version and notifies.
fn record(
    client: &mut SpiClient<'_>,
    due: &[(i64, Inputs)],
    changed: &HashSet<i64>,
) -> spi::Result<()> {
    let targets: Vec<f32> = due
        .iter()
        .flat_map(|(_, inputs)| {
            assert_eq!(
                inputs.target.len(),
                DIMENSIONS,
                "a target in the taste space"
            );
            inputs.target.iter().copied()
        })
        .collect();
    let last_plays: Vec<Option<TimestampWithTimeZone>> = due
        .iter()
        .map(|(_, inputs)| {
            inputs
                .last_play_at
                .map(|at| TimestampWithTimeZone::try_from(at).expect("a stored time converts back"))
        })
        .collect();
    client.update(
        "with due as (
           select * from unnest($1::bigint[], $2::boolean[], $4::bigint[], $5::timestamptz[])
                         with ordinality as t (player_id, changed, generation, last_play_at, n)
         ), state as (
           insert into cosound.queue_state as q
                  (player_id, version, target, catalogue_generation, last_play_at, refreshed_at)
           select player_id, changed::int, ($3::real[])[n * 5 - 4 : n * 5]::extensions.vector(5),
                  generation, last_play_at, now()
             from due
           on conflict (player_id) do update
              set version = q.version + excluded.version, target = excluded.target,
                  catalogue_generation = excluded.catalogue_generation,
                  last_play_at = excluded.last_play_at, refreshed_at = excluded.refreshed_at
           returning player_id, version
         )
         select pg_catalog.pg_notify($6, json_build_object('player_id', state.player_id,
                                                           'version', state.version)::text)
           from state join due using (player_id)
          where due.changed",
        None,
        &[
            due.iter()
                .map(|(player, _)| *player)
                .collect::<Vec<_>>()
                .into(),
            due.iter()
                .map(|(player, _)| changed.contains(player))
                .collect::<Vec<_>>()
                .into(),
            targets.into(),
            due.iter()
                .map(|(_, inputs)| inputs.catalogue_generation)
                .collect::<Vec<_>>()
                .into(),
            last_plays.into(),
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

    /// A queue row: (player, slot, song, role, gain).
    type QueueRow = (i64, i16, i64, String, f32);

    /// Every queue's rows, and each queue's (player, version).
    fn all_queues() -> (Vec<QueueRow>, Vec<(i64, i64)>) {
        Spi::connect(|client| {
            let queues = client
                .select(
                    "select player_id, slot, song_id, role::text, gain from cosound.player_queue
                      order by player_id, slot",
                    None,
                    &[],
                )?
                .map(|row| {
                    Ok((
                        row.get(1)?.unwrap(),
                        row.get(2)?.unwrap(),
                        row.get(3)?.unwrap(),
                        row.get(4)?.unwrap(),
                        row.get(5)?.unwrap(),
                    ))
                })
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()?;
            let versions = client
                .select(
                    "select player_id, version from cosound.queue_state order by player_id",
                    None,
                    &[],
                )?
                .map(|row| Ok((row.get(1)?.unwrap(), row.get(2)?.unwrap())))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()?;
            Ok::<_, pgrx::spi::Error>((queues, versions))
        })
        .unwrap()
    }

    /// Each player's queue computed afresh by `refresh_queue`, one player at a time.
    fn each_refreshed_alone() -> Vec<QueueRow> {
        Spi::run(
            "delete from cosound.player_queue; delete from cosound.queue_state;
             select extensions.refresh_queue(id) from cosound.players order by id",
        )
        .unwrap();
        all_queues().0
    }

    /// Songs with coarse embeddings (exact ties), some players with a library, plays, and
    /// listeners here now, here lately, expired and long gone.
    fn random_rooms() {
        fixture::schema();
        Spi::run(
            "select setseed(0.17);
             insert into cosound.songs
                    (type, title, duration_ms, object_key, embedding, loudness_gain_db)
             select case when random() < 0.6 then 'soundscape' else 'instrumental' end::cosound.song_type,
                    'song ' || g, 60000, 'songs/' || g, e::extensions.vector(5),
                    round(random() * 12 - 6)
               from (select g, array[round(random() * 2) / 2, round(random() * 2) / 2,
                                     round(random() * 2) / 2, round(random() * 4) / 4,
                                     round(random() * 2) / 2]::real[] as e
                       from generate_series(1, 300) g) c
              where e <> '{0,0,0,0,0}';
             insert into cosound.songs (type, title, duration_ms, object_key)
             values ('soundscape', 'not yet embedded', 60000, 'songs/unembedded');
             insert into cosound.players (name) select 'room ' || g from generate_series(1, 30) g;
             insert into cosound.player_library (player_id, song_id)
             select p.id, s.id from cosound.players p, cosound.songs s
              where p.id % 3 = 0 and (random() < 0.15 or s.embedding is null);
             insert into cosound.plays (player_id, song_id, played_at)
             select p.id, s.id, now() - make_interval(hours => floor(random() * 30)::int)
               from cosound.players p, cosound.songs s
              where random() < 0.01;
             insert into auth.users (id) select gen_random_uuid() from generate_series(1, 90);
             update cosound.profiles set preference = extensions.l2_normalize(
                 (case when e = '{0,0,0,0,0}' then '{0,0,1,0,0}' else e end)::extensions.vector(5))
               from (select id, array[round(random() * 2) / 2, round(random()), round(random()),
                                      round(random() * 2) / 2, round(random())]::real[] as e
                       from cosound.profiles) t
              where t.id = profiles.id;
             insert into cosound.sessions (listener_id, player_id, started_at, expires_at, ended_at)
             select l.id, (select min(id) from cosound.players) + floor(random() * 30)::int,
                    now() - s.started, now() - s.started + s.lasts, s.ended
               from (select id, row_number() over (order by id) as n from cosound.profiles) l,
                    lateral (select * from (values
                      (0, interval '5 minutes', interval '1 hour', null::timestamptz),
                      (1, interval '2 hours', interval '1 hour', null),
                      (2, interval '3 days', interval '1 hour', now() - interval '3 days'),
                      (3, interval '40 days', interval '1 hour', now() - interval '40 days'))
                      as v (kind, started, lasts, ended)
                     where v.kind = l.n % 4) s",
        )
        .unwrap();
    }

    #[pg_test]
    fn refreshing_all_picks_what_refreshing_each_alone_picks() {
        random_rooms();
        let all = || {
            Spi::get_one::<i64>("select extensions.refresh_all_queues()")
                .unwrap()
                .unwrap()
        };
        assert_eq!(all(), 30, "every room starts with a queue");
        let (together, _) = all_queues();
        assert_eq!(together, each_refreshed_alone());

        // Some leave and songs play. A play moves every room's penalties, and a room's queue
        // notices other rooms' plays when it grows old: let them all be old.
        Spi::run(
            "update cosound.sessions set ended_at = now()
              where ended_at is null and id % 2 = 0;
             insert into cosound.plays (player_id, song_id)
             select q.player_id, q.song_id from cosound.player_queue q
              where q.role = 'instrumental' and q.player_id % 4 = 1;
             update cosound.queue_state set refreshed_at = now() - interval '1 hour'",
        )
        .unwrap();
        let (_, versions) = all_queues();
        let changed = all();
        assert!(changed > 0);
        let (together, bumped) = all_queues();
        let moved = versions.iter().zip(&bumped).filter(|(a, b)| a != b).count();
        assert_eq!(
            moved as i64, changed,
            "a version moves with each changed queue"
        );
        assert_eq!(together, each_refreshed_alone());
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
