//! The ranking against the reference formula, through `recommend_with_penalty` and the streams
//! themselves: random catalogues and histories with ties, libraries, types, the index and the
//! exact scan, and many targets ranked at once.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use crate::fixture;
    use crate::ranking::{ranked, rows, scan, Candidates};
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
        TableIterator::new(rows(index.unwrap_or_else(|| {
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
            let played = crate::ranking::Catalogue::recent_plays(&players);
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
            let request = crate::ranking::Request {
                points: &points,
                k: k as usize,
                song_type,
                library: library.as_ref().filter(|songs| !songs.is_empty()),
                played: player_id.and_then(|player| played.get(&player)),
            };
            crate::ranking::Catalogue::load()
                .unwrap()
                .rank(&[request])
                .remove(0)
        } else {
            ranked(
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
