//! The recommender run against the database: the candidates of a ranking (the catalogue, a
//! player's library or a schedule block's), streamed in increasing pure distance with the
//! early stop of `recommend::TopK`, for `recommend_with_penalty` and the queue refresh.
//!
//! The stream is an exact scan sorted by distance for small candidate sets, and pgvector's HNSW
//! index with strict-order iterative scans above `recommend::EXACT_SCAN_MAX_CANDIDATES`. Should
//! the index run dry before the early stop has proved the ranking complete (its read limit,
//! `hnsw.max_scan_tuples`, a filter few songs pass), the call falls back to the exact scan.
//! Each song's last play at the player comes from `cosound.last_plays`, kept current by the
//! plays table's triggers: no history is read. Plays elsewhere do not count, and with no player
//! none does. `catalogue` ranks many targets at once over a catalogue small enough to hold.

mod catalogue;
#[cfg(any(test, feature = "pg_test"))]
mod tests;

pub(crate) use catalogue::{Catalogue, Request};

use cosound_rules::recommend::{self, Ranked, SongType, Strategy, TopK};
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The songs a ranking may pick from, and how to stream them.
pub(crate) struct Candidates {
    player_id: Option<i64>,
    /// The player has a library, so only its songs count.
    library: bool,
    /// The schedule block in force has a library of its own, which counts instead.
    block: Option<i64>,
    strategy: Strategy,
}

impl Candidates {
    /// Checks the player exists and sizes its candidate set: its library's, else the
    /// catalogue's (estimated as the planner does, counted when never analysed).
    pub(crate) fn of(player_id: Option<i64>) -> Self {
        Self::within(player_id, None)
    }

    /// As `of`, but where `block` (a schedule block of the player's with a library of its own)
    /// is in force: only its songs count.
    pub(crate) fn within(player_id: Option<i64>, block: Option<i64>) -> Self {
        let enough = recommend::EXACT_SCAN_MAX_CANDIDATES as i64 + 1;
        let (player_exists, library, catalogue) = Spi::connect(|client| {
            let row = client
                .select(
                    "select $1::bigint is null or exists (select from cosound.players where id = $1),
                            (select count(*) from (select from cosound.player_library
                                                    where player_id = $1 and $3::bigint is null
                                                   union all
                                                   select from cosound.schedule_block_library
                                                    where block_id = $3
                                                   limit $2) l)::float8,
                            (select case when c.relpages > 0 and c.reltuples > 0
                                    then c.reltuples / c.relpages
                                         * (pg_catalog.pg_relation_size(c.oid)
                                            / current_setting('block_size')::float8)
                                    else (select count(*) from (select from cosound.songs
                                                                 limit $2) s)::float8 end
                               from pg_catalog.pg_class c
                              where c.oid = 'cosound.songs'::regclass)",
                    None,
                    &[player_id.into(), enough.into(), block.into()],
                )?
                .first();
            Ok::<_, pgrx::spi::Error>((
                row.get::<bool>(1)?.unwrap_or(false),
                row.get::<f64>(2)?.unwrap_or(0.0),
                row.get::<f64>(3)?.unwrap_or(0.0),
            ))
        })
        .expect("the candidate count runs");
        if let (Some(id), false) = (player_id, player_exists) {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
                format!("no player with id {id}")
            );
        }
        Candidates {
            player_id,
            library: library > 0.0,
            block,
            strategy: Strategy::for_candidates(if library > 0.0 { library } else { catalogue }),
        }
    }
}

/// The exact top `k` of the candidates by adjusted distance to `points`, a song's distance
/// being its largest to any of them (`group::points`). Rankings against several points (least
/// misery) always scan: the index streams by distance to one.
pub(crate) fn ranked(
    points: &[Vec<f32>],
    k: usize,
    candidates: &Candidates,
    song_type: Option<SongType>,
) -> Vec<Ranked> {
    match candidates.strategy {
        Strategy::Index if points.len() == 1 => {
            scan(points, k, candidates, song_type, Strategy::Index)
        }
        _ => scan(points, k, candidates, song_type, Strategy::ExactScan),
    }
    .or_else(|| scan(points, k, candidates, song_type, Strategy::ExactScan))
    .expect("an exact scan always completes")
}

/// Reads candidates in increasing distance until the ranking is proved complete; `None` when
/// the index stream ended first (it may have skipped songs, so only an exact scan can tell).
pub(crate) fn scan(
    points: &[Vec<f32>],
    k: usize,
    candidates: &Candidates,
    song_type: Option<SongType>,
    strategy: Strategy,
) -> Option<Vec<Ranked>> {
    assert!(
        points.len() == 1 || strategy == Strategy::ExactScan,
        "the index streams by distance to one point"
    );
    let distance = match strategy {
        Strategy::Index => "s.embedding operator(extensions.<=>) $1::real[]::extensions.vector(5)",
        // The same function as the operator, but not an operator, so no index can serve it.
        Strategy::ExactScan if points.len() == 1 => {
            "extensions.cosine_distance(s.embedding, $1::real[]::extensions.vector(5))"
        }
        Strategy::ExactScan => {
            "(select max(extensions.cosine_distance(
                           s.embedding, ($1::real[])[i * 5 - 4 : i * 5]::extensions.vector(5)))
                from generate_series(1, $5) i)"
        }
    };
    let mut query = format!(
        "select s.id, {distance} as distance,
                (select lp.played_at from cosound.last_plays lp
                  where lp.player_id = $3 and lp.song_id = s.id)
           from cosound.songs s
          where s.embedding is not null"
    );
    if song_type.is_some() {
        query.push_str(" and s.type = $2::cosound.song_type");
    }
    match (candidates.library, candidates.block) {
        (true, None) => query.push_str(
            " and exists (select from cosound.player_library l
                           where l.player_id = $3 and l.song_id = s.id)",
        ),
        (true, Some(_)) => query.push_str(
            " and exists (select from cosound.schedule_block_library l
                           where l.block_id = $6 and l.song_id = s.id)",
        ),
        (false, _) => {}
    }
    query.push_str(match strategy {
        Strategy::Index => {
            " order by s.embedding operator(extensions.<=>) $1::real[]::extensions.vector(5)
              limit $4"
        }
        Strategy::ExactScan => " order by distance",
    });
    let now = pgrx::datetime::now();
    let mut top = TopK::new(k);
    let mut batch = (k + k / 4 + 16) as i64;
    Spi::connect(|client| -> Result<Option<TopK>, pgrx::spi::Error> {
        let mut cursor = client.open_cursor(
            &query,
            &[
                points.concat().into(),
                song_type.map(SongType::as_str).into(),
                candidates.player_id.into(),
                recommend::index_read_limit(k).into(),
                (points.len() as i32).into(),
                candidates.block.into(),
            ],
        );
        loop {
            let rows = cursor.fetch(batch)?;
            if rows.is_empty() {
                return Ok(match strategy {
                    Strategy::ExactScan => Some(top),
                    Strategy::Index => None,
                });
            }
            for row in rows {
                let song_id = row.get::<i64>(1)?.expect("songs.id is not null");
                let distance = row.get::<f64>(2)?.expect("an embedding has a distance");
                if !top.wants(distance) {
                    return Ok(Some(top));
                }
                let penalty = penalty_at(now, row.get(3)?);
                top.offer(Ranked::new(song_id, distance, penalty));
            }
            batch = batch.saturating_mul(2);
        }
    })
    .expect("the candidate scan runs")
    .map(TopK::into_ranking)
}

/// The recency penalty at `now` of a song last played at `played`.
pub(crate) fn penalty_at(now: TimestampWithTimeZone, played: Option<TimestampWithTimeZone>) -> f64 {
    let seconds = played.map(|played| (i64::from(now) - i64::from(played)) as f64 / 1e6);
    recommend::penalty(seconds)
}

/// The ranking as the rows `recommend_with_penalty` returns.
pub(crate) fn rows(ranking: Vec<Ranked>) -> impl Iterator<Item = (i64, f64, f64)> {
    ranking
        .into_iter()
        .map(|song| (song.song_id, song.distance, song.adjusted_distance))
}
