//! The queue refresh: what each player plays next, from the tastes of the people there and
//! its own recent plays.
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

use crate::api::recommend::{ranked, Candidates, Catalogue, Request};
use crate::group;
use crate::queue::{self, Inputs, Pick, Role};
use crate::recommend::{Ranked, SongType};
use crate::space::DIMENSIONS;
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{self, SpiClient};
use std::collections::{HashMap, HashSet};

/// The channel that announces queue changes.
pub const CHANNEL: &str = "cosound_queue";

#[derive(Clone, Copy)]
pub(crate) enum Scope {
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
pub(crate) fn refresh(scope: Scope) -> Option<usize> {
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
pub(crate) fn group_targets(players: &[i64]) -> HashMap<i64, Vec<f32>> {
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
    let played = Catalogue::recent_plays(&players);
    let requests: Vec<Request<'_>> = due
        .iter()
        .flat_map(|(player, inputs)| {
            let library = libraries.get(player);
            let played = played.get(player);
            [
                (queue::LAYERS, SongType::Soundscape),
                (1, SongType::Instrumental),
            ]
            .map(|(k, song_type)| Request {
                target: &inputs.target,
                k,
                song_type,
                library,
                played,
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
                role: Role::parse(&role).expect("a queue role this build knows"),
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
