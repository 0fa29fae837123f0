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
//! why (`history`). Each step is one statement for all the players, and all of it runs in the
//! caller's transaction: readers see the old queue or the new one, never a mix.
//!
//! This file holds the orchestration and the choices; the statements that read are in `read`,
//! those that write in `write`, and the refresh's `#[pg_test]`s in `tests` and
//! `schedule_tests`.

use crate::ranking::{ranked, Candidates, Catalogue, Request};
use cosound_rules::group::{self, GroupStrategy, Present};
use cosound_rules::queue::{self, Inputs, Pick, Role};
use cosound_rules::recommend::{Ranked, SongType};
use cosound_rules::schedule::{self, Block};
use cosound_rules::space::{self, DIMENSIONS};
use cosound_rules::steady::{self, Change, Layer, Playing};
use cosound_rules::why::{self, Trigger};
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{self, SpiClient};
use std::collections::{HashMap, HashSet};

mod history;
mod read;
#[cfg(any(test, feature = "pg_test"))]
mod schedule_tests;
#[cfg(any(test, feature = "pg_test"))]
mod tests;
mod write;

use read::{current_queues, fallback_targets, libraries, lock, seats, songs};
use write::{count_served, record, replace_queues};

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

/// What the refresh needs of a song in a mix.
struct Song {
    loudness_db: f32,
    embedding: Vec<f32>,
}
