//! `recommend_with_penalty(target, k, player_id, song_type)`: the exact top k of the catalogue
//! (or of a player's library) by adjusted distance, read in increasing pure distance with the
//! early stop of `recommend::TopK`.
//!
//! The stream is an exact scan sorted by distance for small candidate sets, and pgvector's HNSW
//! index with strict-order iterative scans above `recommend::EXACT_SCAN_MAX_CANDIDATES`. Should
//! the index run dry before the early stop has proved the ranking complete (its read limit,
//! `hnsw.max_scan_tuples`, a filter few songs pass), the call falls back to the exact scan.
//! Each song's last play at the player comes from `cosound.last_plays`, kept current by the
//! plays table's triggers: no history is read. Plays elsewhere do not count, and with no player
//! none does.

mod catalogue;

pub(crate) use catalogue::{Catalogue, Request};

use crate::vector::Vector;
use cosound_rules::recommend::{self, Ranked, SongType, Strategy, TopK};
use cosound_rules::space;
use pgrx::datetime::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

// The index settings the ranking functions run with, set on each function so they do not leak
// into the caller's transaction: strict-order iterative scans make the HNSW stream one of
// increasing distance, as the early stop requires.
extension_sql!(
    r#"ALTER FUNCTION recommend_with_penalty(vector, integer, bigint, text)
  SET hnsw.iterative_scan = strict_order SET hnsw.ef_search = 200 SET hnsw.max_scan_tuples = 50000;"#,
    name = "recommend_with_penalty_index_settings",
    requires = [recommend_with_penalty]
);

/// The `k` songs nearest to `target` by adjusted distance, best first (ties by song id);
/// within the player's library when it has one; of one type when `song_type` is given.
#[pg_extern(stable)]
fn recommend_with_penalty(
    target: Option<Vector>,
    k: Option<i32>,
    player_id: default!(Option<i64>, "NULL"),
    song_type: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(song_id, i64),
        name!(distance, f64),
        name!(adjusted_distance, f64),
    ),
> {
    let Some(target) = target else {
        invalid("a target vector is required".into())
    };
    if let Err(error) = space::check(&target.0) {
        invalid(format!("invalid target: {error}"));
    }
    if target.0.iter().all(|&x| x == 0.0) {
        invalid("invalid target: all zeros, so it points nowhere".into());
    }
    let k = match k {
        Some(k) if k >= 0 => k as usize,
        _ => invalid(format!(
            "k is the number of songs wanted, 0 or more, not {}",
            k.map_or("null".into(), |k| k.to_string())
        )),
    };
    let song_type = song_type.map(|name| {
        SongType::parse(name).unwrap_or_else(|| {
            invalid(format!(
                "a song type is soundscape or instrumental, not {name}"
            ))
        })
    });
    let candidates = Candidates::of(player_id);
    TableIterator::new(rows(ranked(&[target.0], k, &candidates, song_type)))
}

/// The ranking as the rows `recommend_with_penalty` returns.
fn rows(ranking: Vec<Ranked>) -> impl Iterator<Item = (i64, f64, f64)> {
    ranking
        .into_iter()
        .map(|song| (song.song_id, song.distance, song.adjusted_distance))
}

fn invalid(message: String) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message
    );
}

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
fn scan(
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

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::{scan, Candidates};
    use crate::fixture;
    use cosound_rules::recommend::{SongType, Strategy};
    use pgrx::prelude::*;

    /// The seed's formula, shared with the benchmarks.
    const REFERENCE: &str = include_str!("../../../tests/sql/seed_recommend.sql");

    /// A random catalogue with coarse embeddings and play times, so exact ties abound: many
    /// songs share an embedding, and many share a last play.
    fn random_catalogue(songs: i32) {
        fixture::schema();
        Spi::run(REFERENCE).unwrap();
        Spi::run_with_args(
            "select setseed(0.42);
             insert into cosound.songs (type, title, duration_ms, object_key, embedding)
             select case when random() < 0.7 then 'soundscape' else 'instrumental' end::cosound.song_type,
                    'song ' || g, 60000, 'songs/' || g, e::extensions.vector(5)
               from (select g, array[round(random() * 2) / 2, round(random() * 2) / 2,
                                     round(random() * 2) / 2, round(random() * 4) / 4,
                                     round(random() * 2) / 2]::real[] as e
                       from generate_series(1, $1) g) c
              where e <> '{0,0,0,0,0}';
             insert into cosound.players (name) values ('library'), ('whole catalogue');
             insert into cosound.player_library (player_id, song_id)
             select (select min(id) from cosound.players), id from cosound.songs where random() < 0.3;
             insert into cosound.plays (player_id, song_id, played_at)
             select case when random() < 0.7 then (select max(id) from cosound.players)
                         else (select min(id) from cosound.players) end, s.id,
                    now() - make_interval(hours => floor(random() * 30)::int)
               from cosound.songs s, generate_series(1, 3)
              where random() < 0.4",
            &[songs.into()],
        )
        .unwrap();
    }

    /// Compares `ranking` (a function like the reference) with the reference on random
    /// targets, sizes, types and players; returns the cases compared.
    fn compare_with_reference(ranking: &str, cases: i32) -> i64 {
        Spi::get_one_with_args::<i64>(
            &format!(
                "do $$
                 declare
                   target extensions.vector; k integer; player bigint; kind text;
                   got text; want text;
                 begin
                   for i in 1..{cases} loop
                     target := case when i % 2 = 0
                       then array[round(random() * 2) / 2, round(random() * 2) / 2, 1,
                                  round(random() * 2) / 2, round(random() * 2) / 2]::real[]
                       else array[random() - 0.3, random(), random(), random(), random()]::real[]
                     end::extensions.vector;
                     k := (array[0, 1, 3, 10, 50, 1000])[1 + i % 6];
                     player := case i % 3 when 0 then null
                       else (select min(id) + i % 3 - 1 from cosound.players) end;
                     kind := (array[null, 'soundscape', 'instrumental'])[1 + (i / 3) % 3];
                     select string_agg(r.song_id || ':' || r.adjusted_distance, ' ' order by n)
                       into got from {ranking}(target, k, player, kind)
                                     with ordinality as r(song_id, distance, adjusted_distance, n);
                     select string_agg(r.song_id || ':' || r.adjusted_distance, ' ' order by n)
                       into want from pg_temp.seed_recommend(target, k, player, kind)
                                     with ordinality as r(song_id, adjusted_distance, n);
                     if got is distinct from want then
                       raise exception 'case %: target % k % player % type %: got % but the reference gives %',
                         i, target, k, player, kind, got, want;
                     end if;
                   end loop;
                 end $$;
                 select $1::bigint"
            ),
            &[i64::from(cases).into()],
        )
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn it_returns_what_the_reference_formula_returns_ties_included() {
        random_catalogue(400);
        assert_eq!(
            compare_with_reference("extensions.recommend_with_penalty", 300),
            300
        );
    }

    /// The index stream, forced: what large catalogues use.
    #[pg_extern]
    fn cosound_test_recommend_by_index(
        target: crate::vector::Vector,
        k: i32,
        player_id: Option<i64>,
        song_type: Option<&str>,
    ) -> TableIterator<
        'static,
        (
            name!(song_id, i64),
            name!(distance, f64),
            name!(adjusted_distance, f64),
        ),
    > {
        let candidates = Candidates::of(player_id);
        let song_type = song_type.and_then(SongType::parse);
        let index = scan(
            std::slice::from_ref(&target.0),
            k as usize,
            &candidates,
            song_type,
            Strategy::Index,
        );
        TableIterator::new(super::rows(index.unwrap_or_else(|| {
            scan(
                &[target.0],
                k as usize,
                &candidates,
                song_type,
                Strategy::ExactScan,
            )
            .unwrap()
        })))
    }

    #[pg_test]
    fn the_index_stream_returns_what_the_reference_returns() {
        // Fewer songs than hnsw.ef_search: the graph search reaches every song.
        random_catalogue(150);
        Spi::run(
            "set local hnsw.iterative_scan = strict_order; set local hnsw.ef_search = 200;
             set local enable_seqscan = off; set local enable_sort = off",
        )
        .unwrap();
        assert_eq!(
            compare_with_reference("tests.cosound_test_recommend_by_index", 120),
            120
        );
    }

    /// The ranking against several points (a room under least misery), by the scan or, with
    /// `in_memory`, by the catalogue in memory as refreshing all queues ranks.
    #[pg_extern]
    fn cosound_test_rank_for_points(
        points: Vec<f32>,
        k: i32,
        player_id: Option<i64>,
        song_type: &str,
        in_memory: bool,
    ) -> TableIterator<'static, (name!(song_id, i64), name!(adjusted_distance, f64))> {
        let points: Vec<Vec<f32>> = points.chunks(5).map(<[f32]>::to_vec).collect();
        let song_type = SongType::parse(song_type).unwrap();
        let ranking = if in_memory {
            let players: Vec<i64> = player_id.into_iter().collect();
            let played = super::Catalogue::recent_plays(&players);
            let library: Option<std::collections::HashSet<i64>> = player_id.map(|player| {
                Spi::get_one_with_args::<Vec<i64>>(
                    "select coalesce(array_agg(song_id), '{}') from cosound.player_library
                      where player_id = $1",
                    &[player.into()],
                )
                .unwrap()
                .unwrap()
                .into_iter()
                .collect()
            });
            let request = super::Request {
                points: &points,
                k: k as usize,
                song_type,
                library: library.as_ref().filter(|songs| !songs.is_empty()),
                played: player_id.and_then(|player| played.get(&player)),
            };
            super::Catalogue::load().unwrap().rank(&[request]).remove(0)
        } else {
            super::ranked(
                &points,
                k as usize,
                &Candidates::of(player_id),
                Some(song_type),
            )
        };
        TableIterator::new(
            ranking
                .into_iter()
                .map(|song| (song.song_id, song.adjusted_distance)),
        )
    }

    #[pg_test]
    fn rooms_ranked_by_their_least_served_listener_match_brute_force() {
        random_catalogue(300);
        let compared = Spi::get_one::<i64>(
            "do $$
             declare
               points real[]; k integer; player bigint; kind text; got text; memory text; want text;
             begin
               for i in 1..120 loop
                 select array_agg(x) into points
                   from (select case when random() < 0.3 then 0 else round(random() * 4) / 4 end + 0.01 as x
                           from generate_series(1, 5 * (1 + i % 5))) t;
                 k := (array[0, 1, 3, 10])[1 + i % 4];
                 player := case i % 3 when 0 then null
                   else (select min(id) + i % 3 - 1 from cosound.players) end;
                 kind := (array['soundscape', 'instrumental'])[1 + (i / 3) % 2];
                 select string_agg(r.song_id || ':' || r.adjusted_distance, ' ' order by n) into got
                   from tests.cosound_test_rank_for_points(points, k, player, kind, false)
                        with ordinality as r (song_id, adjusted_distance, n);
                 select string_agg(r.song_id || ':' || r.adjusted_distance, ' ' order by n) into memory
                   from tests.cosound_test_rank_for_points(points, k, player, kind, true)
                        with ordinality as r (song_id, adjusted_distance, n);
                 with worst as (
                   select s.id,
                          (select max(extensions.cosine_distance(
                                      s.embedding, points[j * 5 - 4 : j * 5]::extensions.vector(5)))
                             from generate_series(1, array_length(points, 1) / 5) j)
                          + 0.05 * exp(-(coalesce(extract(epoch from now() - (
                                 select max(pl.played_at) from cosound.plays pl
                                  where pl.player_id = player and pl.song_id = s.id))::float8,
                               86400::float8) / 3600.0) / 6.0) as adjusted
                     from cosound.songs s
                    where s.embedding is not null and s.type = kind::cosound.song_type
                      and (player is null
                           or not exists (select from cosound.player_library l where l.player_id = player)
                           or exists (select from cosound.player_library l
                                       where l.player_id = player and l.song_id = s.id))
                    order by adjusted, s.id
                    limit k
                 )
                 select string_agg(id || ':' || adjusted, ' ' order by adjusted, id) into want from worst;
                 if got is distinct from want or memory is distinct from want then
                   raise exception 'case %: points % k % player % type %: scan % memory % but brute force %',
                     i, points, k, player, kind, got, memory, want;
                 end if;
               end loop;
             end $$;
             select 120::bigint",
        )
        .unwrap();
        assert_eq!(compared, Some(120));
    }

    #[pg_test]
    fn a_library_limits_the_picks_to_its_songs() {
        fixture::schema();
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let waves = fixture::song("soundscape", "[0,1,0,0,0]");
        let player = fixture::player();
        Spi::run_with_args(
            "insert into cosound.player_library values ($1, $2)",
            &[player.into(), waves.into()],
        )
        .unwrap();
        let picks = |player: Option<i64>| {
            Spi::get_one_with_args::<Vec<i64>>(
                "select array_agg(song_id) from extensions.recommend_with_penalty('[1,0,0,0,0]', 5, $1)",
                &[player.into()],
            )
            .unwrap()
            .unwrap()
        };
        assert_eq!(picks(Some(player)), [waves]);
        assert_eq!(picks(None), [rain, waves]);
    }

    #[pg_test]
    fn a_song_just_played_gives_way_to_an_almost_as_close_one_where_it_played() {
        fixture::schema();
        let closest = fixture::song("soundscape", "[1,0,0,0,0]");
        let close = fixture::song("soundscape", "[1,0.1,0,0,0]");
        let (here, elsewhere) = (fixture::player(), fixture::player());
        let first = |player: Option<i64>| {
            Spi::get_one_with_args::<i64>(
                "select song_id from extensions.recommend_with_penalty('[1,0,0,0,0]', 1, $1)",
                &[player.into()],
            )
            .unwrap()
            .unwrap()
        };
        assert_eq!(first(Some(here)), closest);
        Spi::run_with_args(
            "insert into cosound.plays (player_id, song_id) values ($1, $2)",
            &[here.into(), closest.into()],
        )
        .unwrap();
        assert_eq!(first(Some(here)), close);
        assert_eq!(
            first(Some(elsewhere)),
            closest,
            "plays elsewhere do not count"
        );
        assert_eq!(first(None), closest, "with no player, no play counts");
    }

    #[pg_test(error = "no player with id -1")]
    fn an_unknown_player_is_refused() {
        fixture::schema();
        Spi::run("select * from extensions.recommend_with_penalty('[1,0,0,0,0]', 3, -1)").unwrap();
    }

    #[pg_test(error = "k is the number of songs wanted, 0 or more, not -2")]
    fn a_negative_k_is_refused() {
        fixture::schema();
        Spi::run("select * from extensions.recommend_with_penalty('[1,0,0,0,0]', -2)").unwrap();
    }

    #[pg_test(error = "a song type is soundscape or instrumental, not jazz")]
    fn an_unknown_song_type_is_refused() {
        fixture::schema();
        Spi::run("select * from extensions.recommend_with_penalty('[1,0,0,0,0]', 2, null, 'jazz')")
            .unwrap();
    }

    #[pg_test(error = "invalid target: all zeros, so it points nowhere")]
    fn a_zero_target_is_refused() {
        fixture::schema();
        Spi::run("select * from extensions.recommend_with_penalty('[0,0,0,0,0]', 2)").unwrap();
    }
}
