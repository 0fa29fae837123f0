//! The catalogue held in memory, to rank many targets at once (refreshing every queue): each
//! song's embedding and type are read once, not once per target, and each player's recency
//! penalties once per player (`recent_plays`).
//!
//! The rankings are exactly `recommend_with_penalty`'s. Distances computed here in f64 only
//! choose each target's shortlist (`recommend::shortlist`); the shortlisted songs' distances
//! then come from pgvector itself, for every target in one statement, and the exact top k is
//! taken from those.

use super::penalty_at;
use cosound_rules::recommend::{self, Ranked, SongType, TopK, EXACT_SCAN_MAX_CANDIDATES};
use cosound_rules::space::DIMENSIONS;
use pgrx::prelude::*;
use pgrx::spi;
use std::collections::{HashMap, HashSet};

struct Song {
    id: i64,
    embedding: Vec<f32>,
    song_type: SongType,
}

/// Every song with an embedding.
pub(crate) struct Catalogue {
    songs: Vec<Song>,
    by_id: HashMap<i64, usize>,
}

/// One ranking wanted: the best `k` songs of `song_type` for `points` (a song's distance is
/// its largest to any of them), only from `library` when the player has one, with the
/// penalties of the songs the player has played.
pub(crate) struct Request<'a> {
    pub points: &'a [Vec<f32>],
    pub k: usize,
    pub song_type: SongType,
    pub library: Option<&'a HashSet<i64>>,
    pub played: Option<&'a HashMap<i64, f64>>,
}

impl Request<'_> {
    fn penalty(&self, song_id: i64) -> f64 {
        self.played
            .and_then(|played| played.get(&song_id).copied())
            .unwrap_or_else(|| recommend::penalty(None))
    }
}

impl Catalogue {
    /// The catalogue, or `None` when it holds more songs than an exact scan serves
    /// (`EXACT_SCAN_MAX_CANDIDATES`): each ranking is then better served by the index.
    pub(crate) fn load() -> Option<Self> {
        let songs = Spi::connect(|client| {
            client
                .select(
                    "select id, embedding::real[], type::text
                       from cosound.songs
                      where embedding is not null
                      limit $1",
                    None,
                    &[(EXACT_SCAN_MAX_CANDIDATES as i64 + 1).into()],
                )?
                .map(|row| {
                    let song_type = row.get::<String>(3)?.expect("songs.type is not null");
                    Ok(Song {
                        id: row.get::<i64>(1)?.expect("songs.id is not null"),
                        embedding: row.get::<Vec<f32>>(2)?.expect("the embedding is not null"),
                        song_type: SongType::parse(&song_type).expect("a known song type"),
                    })
                })
                .collect::<spi::Result<Vec<_>>>()
        })
        .expect("the catalogue reads");
        if songs.len() as f64 > EXACT_SCAN_MAX_CANDIDATES {
            return None;
        }
        let by_id = songs
            .iter()
            .enumerate()
            .map(|(index, song)| (song.id, index))
            .collect();
        Some(Catalogue { songs, by_id })
    }

    /// The recency penalty of each song each of `players` has played, by player.
    pub(crate) fn recent_plays(players: &[i64]) -> HashMap<i64, HashMap<i64, f64>> {
        let now = pgrx::datetime::now();
        let mut played: HashMap<i64, HashMap<i64, f64>> = HashMap::new();
        Spi::connect(|client| {
            for row in client.select(
                "select lp.player_id, lp.song_id, lp.played_at
                   from unnest($1::bigint[]) as wanted (player_id)
                   join cosound.last_plays lp on lp.player_id = wanted.player_id",
                None,
                &[players.to_vec().into()],
            )? {
                let player = row
                    .get::<i64>(1)?
                    .expect("last_plays.player_id is not null");
                let song = row.get::<i64>(2)?.expect("last_plays.song_id is not null");
                played
                    .entry(player)
                    .or_default()
                    .insert(song, penalty_at(now, row.get(3)?));
            }
            Ok::<_, spi::Error>(())
        })
        .expect("the recent plays read");
        played
    }

    /// The exact ranking of each request, in the requests' order.
    pub(crate) fn rank(&self, requests: &[Request<'_>]) -> Vec<Vec<Ranked>> {
        let shortlists: Vec<Vec<&Song>> = requests
            .iter()
            .map(|request| self.shortlist(request))
            .collect();
        let mut distances = exact_distances(requests, &shortlists).into_iter();
        requests
            .iter()
            .zip(&shortlists)
            .map(|(request, shortlist)| {
                let mut top = TopK::new(request.k);
                for song in shortlist {
                    let distance = distances.next().expect("a distance per shortlisted song");
                    top.offer(Ranked::new(song.id, distance, request.penalty(song.id)));
                }
                top.into_ranking()
            })
            .collect()
    }

    fn shortlist(&self, request: &Request<'_>) -> Vec<&Song> {
        let candidates: Vec<&Song> = match request.library {
            Some(library) => library
                .iter()
                .filter_map(|id| self.by_id.get(id).map(|&index| &self.songs[index]))
                .collect(),
            None => self.songs.iter().collect(),
        };
        let approximate = candidates
            .into_iter()
            .filter(|song| song.song_type == request.song_type)
            .map(|song| {
                // The largest of distances each within ε of pgvector's is within ε of the
                // largest of pgvector's, so the shortlist's bound holds for several points.
                let distance = request
                    .points
                    .iter()
                    .map(|point| recommend::cosine_distance(&song.embedding, point))
                    .fold(f64::NEG_INFINITY, f64::max);
                Ranked::new(song.id, distance, request.penalty(song.id))
            })
            .collect();
        recommend::shortlist(approximate, request.k)
            .into_iter()
            .map(|id| &self.songs[self.by_id[&id]])
            .collect()
    }
}

/// pgvector's distance from each shortlisted song to its request's points (the largest, for
/// several), in order.
fn exact_distances(requests: &[Request<'_>], shortlists: &[Vec<&Song>]) -> Vec<f64> {
    let mut embeddings: Vec<f32> = Vec::new();
    let mut targets: Vec<f32> = Vec::new();
    for (request, shortlist) in requests.iter().zip(shortlists) {
        for point in request.points {
            assert_eq!(point.len(), DIMENSIONS, "a point in the taste space");
        }
        for song in shortlist {
            for point in request.points {
                embeddings.extend_from_slice(&song.embedding);
                targets.extend_from_slice(point);
            }
        }
    }
    let pairs = (embeddings.len() / DIMENSIONS) as i32;
    if pairs == 0 {
        return Vec::new();
    }
    let distances = Spi::get_one_with_args::<Vec<f64>>(
        "select array(
           select extensions.cosine_distance(
                    ($1::real[])[i * 5 - 4 : i * 5]::extensions.vector(5),
                    ($2::real[])[i * 5 - 4 : i * 5]::extensions.vector(5))
             from generate_series(1, $3) i
            order by i)",
        &[embeddings.into(), targets.into(), pairs.into()],
    )
    .expect("the distances compute")
    .expect("an array of distances");
    let mut pairs = distances.into_iter();
    requests
        .iter()
        .zip(shortlists)
        .flat_map(|(request, shortlist)| shortlist.iter().map(|_| request.points.len()))
        .map(|points| {
            pairs
                .by_ref()
                .take(points)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect()
}
