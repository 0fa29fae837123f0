//! The queue refresh: what each player plays next, from the tastes of the people there and
//! its own recent plays.
//!
//! A refresh locks the players' rows (two refreshes of one player take turns; refreshing all
//! skips a player being refreshed elsewhere), reads who is in each room, and leaves alone
//! every player for whom nothing its queue depends on changed (`queue::Inputs`). For the
//! others it first counts how well the mix that played fitted each listener there (what the
//! fair strategy weighs), then ranks their candidates against the points of their strategy
//! (`group::points`) within the library of the schedule block in force, if it has one — one
//! player through `recommend_with_penalty`'s ranking; all of them, over a catalogue small
//! enough, in memory with the same result (`Catalogue`) — moves the playing layers one step
//! towards the proposal (`steady`), and only where the picks or the block's volume cap differ
//! replaces the queue rows, bumps the queue's version (which the devices poll for) and records
//! why (`history`). Each step is one statement for all
//! the players, and all of it runs in the caller's transaction: readers see the old queue or
//! the new one, never a mix.

use crate::api::recommend::{ranked, Candidates, Catalogue, Request};
use crate::schedule::{self, Block};
use cosound_rules::group::{self, GroupStrategy, Present};
use cosound_rules::queue::{self, Inputs, Pick, Role};
use cosound_rules::recommend::{Ranked, SongType};
use cosound_rules::space::{self, DIMENSIONS};
use cosound_rules::steady::{self, Change, Layer, Playing};
use cosound_rules::why::{self, Trigger};
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{self, SpiClient};
use std::collections::{HashMap, HashSet};

mod history;
#[cfg(any(test, feature = "pg_test"))]
mod tests;

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
    strategy: GroupStrategy,
    last: Option<Inputs>,
    refreshed_at: Option<i64>,
    catalogue_generation: i64,
    last_play_at: Option<i64>,
    /// The schedule block in force now, and the volume cap the last refresh gave.
    block: Option<Block>,
    last_cap: Option<f32>,
}

/// A player's ranked soundscapes and its ranked instrumental (at most one).
type Ranking = (Vec<Ranked>, Vec<Ranked>);

/// A listener checked in at a player, with the session they count through.
struct Seat {
    session_id: i64,
    present: Present,
}

/// A player due for a new queue: what it is computed from, who is there, and the points its
/// songs are ranked against.
struct Due {
    player_id: i64,
    inputs: Inputs,
    seats: Vec<Seat>,
    points: Vec<Vec<f32>>,
    /// The room emptied or filled, or its strategy or schedule block changed, since the last
    /// refresh (`steady::turned_over`).
    turned_over: bool,
    trigger: Trigger,
    block: Option<Block>,
    last_cap: Option<f32>,
}

/// A row of a stored queue, with how long it has been there and whether its song may still
/// play at the player.
struct Queued {
    pick: Pick,
    seconds: f64,
    offered: bool,
}

/// Refreshes the players in `scope`; how many queues changed, `None` when there was no player
/// to lock.
pub(crate) fn refresh(scope: Scope) -> Option<usize> {
    let locked = lock(scope).expect("the queue state reads");
    if locked.is_empty() {
        return None;
    }
    let players: Vec<i64> = locked.iter().map(|player| player.player_id).collect();
    let mut rooms = seats(&players);
    let mut fallbacks = fallback_targets(
        players
            .iter()
            .filter(|player| !rooms.contains_key(player))
            .copied()
            .collect(),
    );
    let clock = i64::from(pgrx::datetime::now());
    let mut due: Vec<Due> = locked
        .into_iter()
        .filter_map(|player| {
            let seats = rooms.remove(&player.player_id).unwrap_or_default();
            let tastes = match fallbacks.remove(&player.player_id) {
                Some(fallback) => fallback,
                None => seats.iter().flat_map(|s| s.present.taste.clone()).collect(),
            };
            let now = Inputs {
                strategy: player.strategy,
                listeners: Some(seats.len() as i32),
                block: player.block.map(|block| block.id),
                tastes,
                catalogue_generation: player.catalogue_generation,
                last_play_at: player.last_play_at,
            };
            let age = player
                .refreshed_at
                .map_or(f64::INFINITY, |at| (clock - at) as f64 / 1e6);
            let turned_over = steady::turned_over(player.last.as_ref(), &now);
            queue::needs_refresh(player.last.as_ref(), &now, age).then_some(Due {
                player_id: player.player_id,
                trigger: why::trigger(player.last.as_ref(), &now),
                inputs: now,
                seats,
                points: Vec::new(),
                turned_over,
                block: player.block,
                last_cap: player.last_cap,
            })
        })
        .collect();
    if due.is_empty() {
        return Some(0);
    }
    Spi::connect_mut(|client| count_served(client, &mut due)).expect("the served time counts");
    set_points(&mut due);
    let rankings = rank(&due, scope);
    let changed = Spi::connect_mut(|client| {
        let current = current_queues(client, &library_keys(&due))?;
        let mentioned: HashSet<i64> = rankings
            .iter()
            .flat_map(|(soundscapes, instrumental)| soundscapes.iter().chain(instrumental))
            .map(|song| song.song_id)
            .chain(current.values().flatten().map(|queued| queued.pick.song_id))
            .collect();
        let songs = songs(client, mentioned.into_iter().collect())?;
        let mut given: HashMap<i64, Vec<Pick>> = HashMap::new();
        let mut changed: Vec<(i64, Vec<Pick>, Change)> = Vec::new();
        for (player, (soundscapes, instrumental)) in due.iter().zip(&rankings) {
            let proposed = queue::mix(soundscapes, instrumental.first(), |id| {
                songs.get(&id).map_or(0.0, |song| song.loudness_db)
            });
            let now = current
                .get(&player.player_id)
                .map_or(&[][..], Vec::as_slice);
            let (picks, change) = steady_picks(player, &proposed, now, &songs);
            let playing: Vec<Pick> = now.iter().map(|queued| queued.pick).collect();
            let cap = schedule::volume_cap(player.block.as_ref());
            if picks != playing || player.last_cap != Some(cap) {
                changed.push((player.player_id, picks.clone(), change));
            }
            given.insert(player.player_id, picks);
        }
        replace_queues(client, &changed)?;
        let changed_players: HashSet<i64> = changed.iter().map(|(player, _, _)| *player).collect();
        let versions = record(client, &due, &changed_players)?;
        history::remember(client, &due, &changed, &versions, &songs)?;
        history::share(client, &due, &given, &songs)?;
        Ok::<_, spi::Error>(changed.len())
    })
    .expect("the queues write");
    Some(changed)
}

/// How well `song` fits the room of `player`: its cosine similarity to the point it is
/// farthest from, as the ranking scores it.
fn room_fit(player: &Due, song: Option<&Song>) -> f64 {
    song.map_or(f64::NEG_INFINITY, |song| {
        let farthest = player
            .points
            .iter()
            .map(|point| cosound_rules::recommend::cosine_distance(&song.embedding, point))
            .fold(f64::NEG_INFINITY, f64::max);
        1.0 - farthest
    })
}

/// The layers of a mix as `group::fit` weighs them: each layer's embedding with its gain
/// less the song's loudness gain (how much of the mix it makes up).
fn layer_weights<'a>(
    picks: impl IntoIterator<Item = &'a Pick>,
    songs: &'a HashMap<i64, Song>,
) -> Vec<(&'a [f32], f64)> {
    picks
        .into_iter()
        .filter(|pick| pick.role == Role::Layer)
        .filter_map(|pick| {
            let song = songs.get(&pick.song_id)?;
            let weight = f64::from(pick.gain) / queue::loudness_factor(song.loudness_db);
            Some((&song.embedding[..], weight))
        })
        .collect()
}

/// The picks a due player plays: its proposed layers reached from those playing by at most
/// one step (`steady::settle`), then the proposed instrumental; and the step taken.
fn steady_picks(
    player: &Due,
    proposed: &[Pick],
    playing: &[Queued],
    songs: &HashMap<i64, Song>,
) -> (Vec<Pick>, Change) {
    let layer = |pick: &Pick| Layer {
        pick: *pick,
        fit: room_fit(player, songs.get(&pick.song_id)),
    };
    let playing: Vec<Playing> = playing
        .iter()
        .filter(|queued| queued.pick.role == Role::Layer)
        .map(|queued| Playing {
            layer: layer(&queued.pick),
            seconds: queued.seconds,
            offered: queued.offered,
        })
        .collect();
    let (layers, instrumental): (Vec<&Pick>, Vec<&Pick>) =
        proposed.iter().partition(|pick| pick.role == Role::Layer);
    let layers: Vec<Layer> = layers.into_iter().map(layer).collect();
    let (mut picks, change) = match crate::settings::steady_rules() {
        Some(rules) => steady::settle(&playing, &layers, player.turned_over, &rules),
        None => steady::settle(&playing, &layers, true, &steady::Rules::default()),
    };
    picks.extend(instrumental);
    (picks, change)
}

/// The points each due player's songs are ranked against: its strategy's, else (nobody there
/// with a taste that points anywhere) the group vector's fallback.
fn set_points(due: &mut [Due]) {
    let mut without: Vec<i64> = Vec::new();
    for player in due.iter_mut() {
        let present: Vec<Present> = player.seats.iter().map(|s| s.present.clone()).collect();
        match group::points(player.inputs.strategy, &present) {
            Some(points) => player.points = points,
            None if player.seats.is_empty() => player.points = vec![player.inputs.tastes.clone()],
            None => without.push(player.player_id),
        }
    }
    if without.is_empty() {
        return;
    }
    let mut fallbacks = fallback_targets(without);
    for player in due.iter_mut().filter(|player| player.points.is_empty()) {
        let fallback = fallbacks
            .remove(&player.player_id)
            .expect("a fallback per player");
        player.points = vec![fallback];
    }
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
                    "select p.id, q.tastes, q.catalogue_generation, q.last_play_at,
                            q.refreshed_at, (select generation from cosound.catalogue),
                            (select max(pl.played_at) from cosound.plays pl
                              where pl.player_id = p.id),
                            p.strategy::text, q.strategy::text, q.listeners, q.block_id,
                            q.volume_cap, block.id, block.volume_cap, block.instrumentals,
                            block.own_library
                       from cosound.players p
                       left join cosound.queue_state q on q.player_id = p.id
                       -- The block in force, in the player's time zone.
                       left join lateral (
                         select b.id, b.volume_cap, b.instrumentals,
                                exists (select from cosound.schedule_block_library l
                                         where l.block_id = b.id) as own_library
                           from (select pg_catalog.timezone(p.time_zone, now()) as local) t
                           join cosound.schedule_blocks b
                             on b.player_id = p.id
                            and extract(isodow from t.local)::smallint = any (b.days)
                            and t.local::time >= b.starts and t.local::time < b.ends
                          limit 1) block on true
                      {only}
                      order by p.id
                        for no key update of p{skip}"
                ),
                None,
                &args,
            )?
            .map(|row| {
                let strategy = |column: usize| -> spi::Result<Option<GroupStrategy>> {
                    Ok(row
                        .get::<String>(column)?
                        .map(|name| GroupStrategy::parse(&name).expect("a known strategy")))
                };
                let last = match (row.get::<Vec<f32>>(2)?, strategy(9)?) {
                    (Some(tastes), Some(strategy)) => Some(Inputs {
                        strategy,
                        listeners: row.get::<i32>(10)?,
                        block: row.get::<i64>(11)?,
                        tastes,
                        catalogue_generation: row.get::<i64>(3)?.unwrap_or_default(),
                        last_play_at: micros(row.get(4)?),
                    }),
                    _ => None,
                };
                Ok(Locked {
                    player_id: row.get::<i64>(1)?.expect("players.id is not null"),
                    strategy: strategy(8)?.expect("players.strategy is not null"),
                    last,
                    refreshed_at: micros(row.get(5)?),
                    catalogue_generation: row.get::<i64>(6)?.unwrap_or_default(),
                    last_play_at: micros(row.get(7)?),
                    last_cap: row.get::<f32>(12)?,
                    block: match row.get::<i64>(13)? {
                        Some(id) => Some(Block {
                            id,
                            volume_cap: row.get::<f32>(14)?.expect("a block's cap"),
                            instrumentals: row.get::<bool>(15)?.expect("a block's instrumentals"),
                            own_library: row.get::<bool>(16)?.unwrap_or(false),
                        }),
                        None => None,
                    },
                })
            })
            .collect()
    })
}

/// The group vector of each of `players` (known to exist): the mean taste of those there,
/// else the fallback.
pub(crate) fn group_targets(players: &[i64]) -> HashMap<i64, Vec<f32>> {
    let rooms = seats(players);
    let mean = |player: &i64| {
        rooms.get(player).and_then(|seats| {
            group::mean_direction(seats.iter().map(|seat| &seat.present.taste[..]))
        })
    };
    let mut fallbacks = fallback_targets(
        players
            .iter()
            .filter(|player| mean(player).is_none())
            .copied()
            .collect(),
    );
    players
        .iter()
        .map(|player| {
            let target = mean(player).unwrap_or_else(|| {
                fallbacks
                    .remove(player)
                    .expect("a fallback per player with no mean")
            });
            (*player, target)
        })
        .collect()
}

/// Who is checked in at each of `players` with a taste in the taste space, in the order they
/// checked in; players with nobody there are left out.
fn seats(players: &[i64]) -> HashMap<i64, Vec<Seat>> {
    let mut rooms: HashMap<i64, Vec<Seat>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            "select s.player_id, s.id, pr.preference::real[],
                    s.served_fit_seconds / nullif(s.served_seconds, 0)
               from unnest($1::bigint[]) as wanted (player_id)
               join cosound.sessions s on s.player_id = wanted.player_id
               join cosound.profiles pr on pr.id = s.listener_id
              where s.ended_at is null and s.expires_at > now()
                and pr.preference is not null
              order by s.id",
            None,
            &[players.to_vec().into()],
        )? {
            let taste = row.get::<Vec<f32>>(3)?.unwrap_or_default();
            if space::check(&taste).is_err() {
                continue;
            }
            rooms
                .entry(row.get::<i64>(1)?.expect("a session has a player"))
                .or_default()
                .push(Seat {
                    session_id: row.get::<i64>(2)?.expect("sessions.id is not null"),
                    present: Present {
                        taste,
                        served: row.get::<f64>(4)?,
                    },
                });
        }
        Ok::<_, spi::Error>(())
    })
    .expect("the rooms read");
    rooms
}

/// What each of `players` plays for with nobody there: the mean taste of its listeners of
/// the last `group::RECENT_DAYS` days, else the calm default.
fn fallback_targets(players: Vec<i64>) -> HashMap<i64, Vec<f32>> {
    if players.is_empty() {
        return HashMap::new();
    }
    let mut tastes: HashMap<i64, Vec<Vec<f32>>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            "select recent.player_id, pr.preference::real[]
               from (select distinct s.player_id, s.listener_id
                       from unnest($1::bigint[]) as wanted (player_id)
                       join cosound.sessions s on s.player_id = wanted.player_id
                      where s.started_at > now() - make_interval(days => $2)) recent
               join cosound.profiles pr on pr.id = recent.listener_id
              where pr.preference is not null",
            None,
            &[players.clone().into(), group::RECENT_DAYS.into()],
        )? {
            let player = row.get::<i64>(1)?.expect("a session has a player");
            let taste = row.get::<Vec<f32>>(2)?.unwrap_or_default();
            tastes.entry(player).or_default().push(taste);
        }
        Ok::<_, spi::Error>(())
    })
    .expect("the recent tastes read");
    players
        .into_iter()
        .map(|player| {
            let recent = || {
                tastes
                    .remove(&player)
                    .and_then(|t| group::mean_direction(t.iter().map(Vec::as_slice)))
            };
            (player, group::target(None, recent))
        })
        .collect()
}

/// Counts, for each listener at a due player, the time since last counted (or since they
/// checked in) as served by the mix that played meanwhile, at its fit to their taste; and
/// updates their seats with the result, so the fair strategy weighs it in this refresh.
///
/// The times are the transaction's (`now()`); a session that another transaction began or
/// counted after this one started lies in its future, so its interval is clamped at zero and
/// `served_until` never moves back: no time is counted twice nor negatively.
fn count_served(client: &mut SpiClient<'_>, due: &mut [Due]) -> spi::Result<()> {
    let players = library_keys(due.iter().filter(|player| !player.seats.is_empty()));
    if players.is_empty() {
        return Ok(());
    }
    let playing = current_queues(client, &players)?;
    let songs = songs(
        client,
        playing
            .values()
            .flatten()
            .map(|queued| queued.pick.song_id)
            .collect(),
    )?;
    let (mut sessions, mut fits) = (Vec::new(), Vec::new());
    for player in due.iter() {
        let layers = layer_weights(
            playing
                .get(&player.player_id)
                .into_iter()
                .flatten()
                .map(|queued| &queued.pick),
            &songs,
        );
        for seat in &player.seats {
            sessions.push(seat.session_id);
            fits.push(group::fit(&seat.present.taste, layers.iter().copied()));
        }
    }
    let served: HashMap<i64, Option<f64>> = client
        .update(
            "update cosound.sessions s
                set served_seconds = s.served_seconds + case when t.fit is null then 0 else t.seconds end,
                    served_fit_seconds = s.served_fit_seconds + coalesce(t.fit * t.seconds, 0),
                    served_until = greatest(coalesce(s.served_until, s.started_at), now())
               from (select u.id, u.fit,
                            greatest(0, extract(epoch from
                                now() - greatest(x.served_until, x.started_at)))::float8 as seconds
                       from unnest($1::bigint[], $2::float8[]) as u (id, fit)
                       join cosound.sessions x on x.id = u.id) t
              where s.id = t.id
          returning s.id, s.served_fit_seconds / nullif(s.served_seconds, 0)",
            None,
            &[sessions.into(), fits.into()],
        )?
        .map(|row| Ok((row.get::<i64>(1)?.expect("sessions.id is not null"), row.get(2)?)))
        .collect::<spi::Result<_>>()?;
    for seat in due.iter_mut().flat_map(|player| player.seats.iter_mut()) {
        if let Some(now) = served.get(&seat.session_id) {
            seat.present.served = *now;
        }
    }
    Ok(())
}

/// Each due player's ranked candidates, in `due`'s order.
fn rank(due: &[Due], scope: Scope) -> Vec<Ranking> {
    let catalogue = match scope {
        Scope::One(_) => None,
        Scope::All => Catalogue::load(),
    };
    let Some(catalogue) = catalogue else {
        return due
            .iter()
            .map(|player| {
                let block = player.block.as_ref();
                let candidates =
                    Candidates::within(Some(player.player_id), schedule::library(block));
                let points = &player.points;
                let soundscapes = ranked(
                    points,
                    queue::LAYERS,
                    &candidates,
                    Some(SongType::Soundscape),
                );
                let instrumental = if schedule::instrumentals(block) {
                    ranked(points, 1, &candidates, Some(SongType::Instrumental))
                } else {
                    Vec::new()
                };
                (soundscapes, instrumental)
            })
            .collect();
    };
    let players: Vec<i64> = due.iter().map(|player| player.player_id).collect();
    let libraries = libraries(due);
    let played = Catalogue::recent_plays(&players);
    let requests: Vec<Request<'_>> = due
        .iter()
        .flat_map(|player| {
            let library = libraries.get(&player.player_id);
            let played = played.get(&player.player_id);
            [
                (queue::LAYERS, SongType::Soundscape),
                (1, SongType::Instrumental),
            ]
            .map(|(k, song_type)| Request {
                points: &player.points,
                k,
                song_type,
                library,
                played,
            })
        })
        .collect();
    let mut rankings = catalogue.rank(&requests).into_iter();
    due.iter()
        .map(|player| {
            let soundscapes = rankings.next().expect("a soundscape ranking per player");
            let instrumental = rankings.next().expect("an instrumental ranking per player");
            if schedule::instrumentals(player.block.as_ref()) {
                (soundscapes, instrumental)
            } else {
                (soundscapes, Vec::new())
            }
        })
        .collect()
}

/// Each due player with the schedule block whose own library it plays, if one is in force.
fn library_keys<'a>(due: impl IntoIterator<Item = &'a Due>) -> Vec<(i64, Option<i64>)> {
    due.into_iter()
        .map(|player| (player.player_id, schedule::library(player.block.as_ref())))
        .collect()
}

/// The libraries of the due players that have one: the block's in force, else their own.
fn libraries(due: &[Due]) -> HashMap<i64, HashSet<i64>> {
    let (players, blocks): (Vec<i64>, Vec<Option<i64>>) = library_keys(due).into_iter().unzip();
    let mut libraries: HashMap<i64, HashSet<i64>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            "select w.player_id, l.song_id
               from unnest($1::bigint[], $2::bigint[]) as w (player_id, block_id)
               join cosound.player_library l on l.player_id = w.player_id
              where w.block_id is null
             union all
             select w.player_id, l.song_id
               from unnest($1::bigint[], $2::bigint[]) as w (player_id, block_id)
               join cosound.schedule_block_library l on l.block_id = w.block_id",
            None,
            &[players.into(), blocks.into()],
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

/// The players' queues as stored, by player, each player given with the block whose own
/// library it plays now, if any. A song may still play when the ranking could offer it: it has
/// an embedding and is in that library, else in the player's, if the player has one.
fn current_queues(
    client: &SpiClient<'_>,
    players: &[(i64, Option<i64>)],
) -> spi::Result<HashMap<i64, Vec<Queued>>> {
    let (players, blocks): (Vec<i64>, Vec<Option<i64>>) = players.iter().copied().unzip();
    let mut queues: HashMap<i64, Vec<Queued>> = HashMap::new();
    for row in client.select(
        "select q.player_id, q.song_id, q.role::text, q.gain,
                greatest(0, extract(epoch from now() - q.since))::float8,
                s.embedding is not null
                and case when w.block_id is not null
                    then exists (select from cosound.schedule_block_library l
                                  where l.block_id = w.block_id and l.song_id = q.song_id)
                    else exists (select from cosound.player_library l
                                  where l.player_id = q.player_id and l.song_id = q.song_id)
                         or not exists (select from cosound.player_library l
                                         where l.player_id = q.player_id) end
           from unnest($1::bigint[], $2::bigint[]) as w (player_id, block_id)
           join cosound.player_queue q on q.player_id = w.player_id
           join cosound.songs s on s.id = q.song_id
          order by q.player_id, q.slot",
        None,
        &[players.into(), blocks.into()],
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
            .push(Queued {
                pick: Pick {
                    song_id: row
                        .get::<i64>(2)?
                        .expect("player_queue.song_id is not null"),
                    role: Role::parse(&role).expect("a queue role this build knows"),
                    gain: row.get::<f32>(4)?.expect("player_queue.gain is not null"),
                },
                seconds: row.get::<f64>(5)?.unwrap_or_default(),
                offered: row.get::<bool>(6)?.unwrap_or(false),
            });
    }
    Ok(queues)
}

/// What the refresh needs of a song in a mix.
struct Song {
    loudness_db: f32,
    embedding: Vec<f32>,
}

/// The loudness gain and embedding of each of `songs`.
fn songs(client: &SpiClient<'_>, songs: Vec<i64>) -> spi::Result<HashMap<i64, Song>> {
    client
        .select(
            "select id, loudness_gain_db, embedding::real[] from cosound.songs where id = any ($1)",
            None,
            &[songs.into()],
        )?
        .map(|row| {
            Ok((
                row.get::<i64>(1)?.expect("songs.id is not null"),
                Song {
                    loudness_db: row
                        .get::<f32>(2)?
                        .expect("songs.loudness_gain_db is not null"),
                    embedding: row.get::<Vec<f32>>(3)?.unwrap_or_default(),
                },
            ))
        })
        .collect()
}

/// Replaces the queues of the players in `changed` with their new picks; a song that stays
/// in its role keeps the time it joined.
fn replace_queues(
    client: &mut SpiClient<'_>,
    changed: &[(i64, Vec<Pick>, Change)],
) -> spi::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let players: Vec<i64> = changed.iter().map(|(player, _, _)| *player).collect();
    // Read before the delete: one statement deleting and inserting the same keys could insert a
    // row before its old one is gone.
    let since: HashMap<(i64, i64, String), TimestampWithTimeZone> = client
        .select(
            "select player_id, song_id, role::text, since from cosound.player_queue
              where player_id = any ($1)",
            None,
            &[players.clone().into()],
        )?
        .map(|row| {
            Ok((
                (
                    row.get::<i64>(1)?
                        .expect("player_queue.player_id is not null"),
                    row.get::<i64>(2)?
                        .expect("player_queue.song_id is not null"),
                    row.get::<String>(3)?
                        .expect("player_queue.role is not null"),
                ),
                row.get::<TimestampWithTimeZone>(4)?
                    .expect("player_queue.since is not null"),
            ))
        })
        .collect::<spi::Result<_>>()?;
    client.update(
        "delete from cosound.player_queue where player_id = any ($1)",
        None,
        &[players.into()],
    )?;
    let rows = || {
        changed.iter().flat_map(|(player, picks, _)| {
            picks
                .iter()
                .enumerate()
                .map(move |(slot, pick)| (*player, slot as i16, pick))
        })
    };
    client.update(
        "insert into cosound.player_queue (player_id, slot, song_id, role, gain, since)
         select t.player_id, t.slot, t.song_id, t.role::cosound.queue_role, t.gain,
                coalesce(t.since, now())
           from unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::text[], $5::real[],
                       $6::timestamptz[])
                as t (player_id, slot, song_id, role, gain, since)",
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
            rows()
                .map(|(player, _, pick)| {
                    since
                        .get(&(player, pick.song_id, pick.role.as_str().to_string()))
                        .copied()
                })
                .collect::<Vec<_>>()
                .into(),
        ],
    )?;
    Ok(())
}

/// Stores what each due player's queue was computed from; for those whose queue changed,
/// bumps its version and notifies; the new versions, by player.
fn record(
    client: &mut SpiClient<'_>,
    due: &[Due],
    changed: &HashSet<i64>,
) -> spi::Result<HashMap<i64, i64>> {
    // The direction the mix was ranked towards: its one point, or the mean of several.
    let targets: Vec<f32> = due
        .iter()
        .flat_map(|player| {
            let target = match &player.points[..] {
                [point] => point.clone(),
                points => group::mean_direction(points.iter().map(Vec::as_slice))
                    .unwrap_or_else(|| points[0].clone()),
            };
            assert_eq!(target.len(), DIMENSIONS, "a target in the taste space");
            target
        })
        .collect();
    let mut tastes: Vec<f32> = Vec::new();
    let mut starts: Vec<i32> = Vec::new();
    for player in due {
        starts.push(tastes.len() as i32 + 1);
        tastes.extend_from_slice(&player.inputs.tastes);
    }
    let ends: Vec<i32> = starts
        .iter()
        .skip(1)
        .map(|next| next - 1)
        .chain([tastes.len() as i32])
        .collect();
    let last_plays: Vec<Option<TimestampWithTimeZone>> =
        due.iter()
            .map(|player| {
                player.inputs.last_play_at.map(|at| {
                    TimestampWithTimeZone::try_from(at).expect("a stored time converts back")
                })
            })
            .collect();
    client
        .update(
            "with due as (
           select * from unnest($1::bigint[], $2::boolean[], $4::bigint[], $5::timestamptz[],
                                $7::int[], $8::int[], $9::text[], $10::int[], $11::bigint[],
                                $12::real[])
                         with ordinality
                         as t (player_id, changed, generation, last_play_at, first, last, strategy,
                               listeners, block_id, volume_cap, n)
         ), state as (
           insert into cosound.queue_state as q
                  (player_id, version, target, catalogue_generation, last_play_at, refreshed_at,
                   strategy, tastes, listeners, block_id, volume_cap)
           select player_id, changed::int, ($3::real[])[n * 5 - 4 : n * 5]::extensions.vector(5),
                  generation, last_play_at, now(), strategy::cosound.group_strategy,
                  ($6::real[])[first : last], listeners, block_id, volume_cap
             from due
           on conflict (player_id) do update
              set version = q.version + excluded.version, target = excluded.target,
                  catalogue_generation = excluded.catalogue_generation,
                  last_play_at = excluded.last_play_at, refreshed_at = excluded.refreshed_at,
                  strategy = excluded.strategy, tastes = excluded.tastes,
                  listeners = excluded.listeners, block_id = excluded.block_id,
                  volume_cap = excluded.volume_cap
           returning player_id, version
         )
         select state.player_id, state.version
           from state join due using (player_id)
          where due.changed",
            None,
            &[
                due.iter()
                    .map(|player| player.player_id)
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| changed.contains(&player.player_id))
                    .collect::<Vec<_>>()
                    .into(),
                targets.into(),
                due.iter()
                    .map(|player| player.inputs.catalogue_generation)
                    .collect::<Vec<_>>()
                    .into(),
                last_plays.into(),
                tastes.into(),
                starts.into(),
                ends.into(),
                due.iter()
                    .map(|player| player.inputs.strategy.as_str().to_string())
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| player.inputs.listeners)
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| player.inputs.block)
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| schedule::volume_cap(player.block.as_ref()))
                    .collect::<Vec<_>>()
                    .into(),
            ],
        )?
        .map(|row| {
            Ok((
                row.get::<i64>(1)?.expect("a player"),
                row.get::<i64>(2)?.expect("a version"),
            ))
        })
        .collect()
}
