//! `recommend_with_penalty` against the seed's formula (a lateral max(played_at) per song over
//! the whole history, with the seed's index on plays(song_id, played_at desc)), at 1k to 1M
//! songs with 10 plays per song over the last 30 days; the top 10 and the top 200 for random
//! tastes. Each seed
//! ranking is compared row by row with the extension's, in one transaction (so one `now()`).
//! Also the two streams the extension chooses between (an exact sorted scan, the HNSW index),
//! which set the exact-scan threshold.

#[path = "common/mod.rs"]
mod common;

use common::{connect, create_seed_formula, empty, median, ms, table, timed, vacuum};

/// How many songs each ranking asks for: a short list, and a long one.
const KS: [i32; 2] = [10, 200];
/// How many the stream comparison asks for.
const K: i32 = 200;

const SEED_FORMULA: &str = "select song_id, adjusted_distance
      from pg_temp.seed_recommend($1::real[]::extensions.vector(5), $2)";

const OURS: &str = "select song_id, adjusted_distance
      from extensions.recommend_with_penalty($1::real[]::extensions.vector(5), $2)";

fn target(i: u64) -> Vec<f32> {
    // A fixed pseudo-random taste per i, so runs compare like with like.
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..5)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

async fn load(db: &tokio_postgres::Client, songs: i64) {
    empty(db).await;
    db.batch_execute(&format!(
        "select setseed(0.5);
         set maintenance_work_mem = '1GB';
         set session_replication_role = replica;
         drop index if exists cosound.songs_embedding_by_cosine;
         drop index if exists cosound.plays_by_song_latest_first;
         drop index if exists cosound.plays_by_player_latest_first;
         insert into cosound.players (name) values ('bench');
         insert into cosound.songs (type, title, duration_ms, object_key, embedding)
         select 'soundscape', 'song ' || g, 60000, 'bench/' || g,
                array[random(), random(), random(), random(), random()]::real[]::extensions.vector(5)
           from generate_series(1, {songs}) g;
         insert into cosound.plays (player_id, song_id, played_at)
         select (select min(id) from cosound.players), s.id, now() - random() * interval '30 days'
           from cosound.songs s, generate_series(1, 10);
         update cosound.songs s set last_played_at = p.latest
           from (select song_id, max(played_at) latest from cosound.plays group by song_id) p
          where p.song_id = s.id;
         set session_replication_role = origin;
         create index plays_by_song_latest_first on cosound.plays (song_id, played_at desc);
         create index plays_by_player_latest_first on cosound.plays (player_id, played_at desc);
         create index songs_embedding_by_cosine on cosound.songs
           using hnsw (embedding extensions.vector_cosine_ops);
"
    ))
    .await
    .expect("the catalogue loads");
    vacuum(db).await;
}

/// The ranking's rows: song id and adjusted distance.
async fn rows(db: &tokio_postgres::Client, query: &str, t: &[f32], k: i32) -> Vec<(i64, f64)> {
    db.query(query, &[&t, &k])
        .await
        .expect("the ranking runs")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// The same songs in the same order, at the same adjusted distances (up to rounding).
fn identical(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() < 1e-6)
}

/// The nearest K by pure distance through one stream, as SQL: the index's or an exact sort's.
async fn stream_time(db: &tokio_postgres::Client, index: bool, runs: u64) -> std::time::Duration {
    let order = if index {
        "embedding operator(extensions.<=>) $1::real[]::extensions.vector(5)"
    } else {
        "extensions.cosine_distance(embedding, $1::real[]::extensions.vector(5))"
    };
    db.batch_execute("set hnsw.iterative_scan = strict_order; set hnsw.ef_search = 200;")
        .await
        .unwrap();
    let query = format!("select id from cosound.songs order by {order} limit $2::integer");
    let mut times = Vec::new();
    for i in 0..runs {
        let t = target(1000 + i);
        let (_, d) = timed(db.query(&query, &[&t, &K])).await;
        times.push(d);
    }
    db.batch_execute("reset hnsw.iterative_scan; reset hnsw.ef_search;")
        .await
        .unwrap();
    median(times)
}

#[tokio::main]
async fn main() {
    let db = connect().await;
    create_seed_formula(&db).await;
    let sizes: Vec<i64> = std::env::var("COSOUND_BENCH_SONGS")
        .map(|s| s.split(',').map(|n| n.parse().unwrap()).collect())
        .unwrap_or_else(|_| vec![1_000, 10_000, 100_000, 1_000_000]);
    let mut table_rows = Vec::new();
    let mut streams = Vec::new();
    for songs in sizes {
        let (_, load_time) = timed(load(&db, songs)).await;
        eprintln!("loaded {songs} songs in {load_time:?}");
        // The seed's formula is slow at scale: fewer runs there.
        let seed_runs = match songs {
            s if s <= 10_000 => 20,
            s if s <= 100_000 => 5,
            _ => 2,
        };
        let ours_runs = 50;
        for k in KS {
            // Warm both.
            rows(&db, OURS, &target(0), k).await;
            rows(&db, SEED_FORMULA, &target(0), k).await;
            let mut ours_times = Vec::new();
            for i in 0..ours_runs {
                let (_, d) = timed(rows(&db, OURS, &target(i), k)).await;
                ours_times.push(d);
            }
            let (mut seed_times, mut same) = (Vec::new(), 0);
            for i in 0..seed_runs {
                db.batch_execute("begin").await.unwrap();
                let (reference, d) = timed(rows(&db, SEED_FORMULA, &target(i), k)).await;
                seed_times.push(d);
                let ours = rows(&db, OURS, &target(i), k).await;
                same += usize::from(identical(&ours, &reference));
                db.batch_execute("commit").await.unwrap();
            }
            let ours = median(ours_times);
            let seed = median(seed_times);
            let row = vec![
                format!("{songs}"),
                format!("{k}"),
                ms(seed),
                ms(ours),
                format!("{:.0}×", seed.as_secs_f64() / ours.as_secs_f64()),
                format!("{same}/{seed_runs}"),
            ];
            eprintln!("{}", row.join(" | "));
            table_rows.push(row);
        }
        streams.push(vec![
            format!("{songs}"),
            ms(stream_time(&db, false, 20).await),
            ms(stream_time(&db, true, 20).await),
        ]);
    }
    println!("recommend_with_penalty, 10 plays per song (median of runs; same run's seed formula as baseline)");
    table(
        &[
            "songs",
            "top k",
            "seed formula (baseline)",
            "recommend_with_penalty",
            "speed-up",
            "identical rows",
        ],
        &table_rows,
    );
    println!("the two streams, nearest {K} by pure distance (median of 20)");
    table(
        &["songs", "exact sorted scan", "HNSW strict-order scan"],
        &streams,
    );
}
