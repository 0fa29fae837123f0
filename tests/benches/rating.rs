//! A listener's rating as Cosound takes it — one `POST /rpc/rate`: the checks, the vote and the
//! learning rule in one transaction inside the database — against the earlier system's flow
//! through the same PostgREST: read the song's embedding, read the listener's taste, compute
//! the new taste in the client (the same rule, `cosound_rules::preference`), write it back and
//! insert the vote, four requests on plain tables that let each listener do so (no row-level
//! security, which would only add to their cost).
//!
//! `CLIENTS` clients rate for `SECONDS`, twice, the two ways taking turns so drift on a shared
//! machine hits both; each way has listeners of its own, and every (listener, song) pair is
//! rated once, since a listener rates a song at most once a minute. Printed: ratings per second
//! and the time of one rating (for the earlier flow, its four requests) at p50 and p99.

mod common;

use cosound_e2e::{api_url, column, listener_claims, superuser, token};
use cosound_rules::preference;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENERS: i64 = 400;
const SONGS: i64 = 200;
const CLIENTS: usize = 8;
const SECONDS: u64 = 5;
const ROUNDS: usize = 2;

async fn load(db: &tokio_postgres::Client) {
    common::empty(db).await;
    db.batch_execute(&format!(
        "insert into cosound.songs (type, title, duration_ms, object_key, embedding)
         select 'soundscape', 'song ' || g, 60000, 'bench/rating/' || g,
                array[random(), random(), random(), random(), random()]::real[]::extensions.vector(5)
           from generate_series(1, {SONGS}) g;
         insert into auth.users (id) select gen_random_uuid() from generate_series(1, {LISTENERS});

         create table api.bench_earlier_songs (id bigint primary key, embedding real[] not null);
         insert into api.bench_earlier_songs select id, embedding::real[] from cosound.songs;
         create table api.bench_earlier_tastes (listener_id uuid primary key, preference real[]);
         insert into api.bench_earlier_tastes select id, null from cosound.profiles;
         create table api.bench_earlier_votes (
           id bigint generated always as identity primary key,
           listener_id uuid not null, song_id bigint not null, rating smallint not null,
           created_at timestamptz not null default now());
         grant select on api.bench_earlier_songs to authenticated;
         grant select, update on api.bench_earlier_tastes to authenticated;
         grant insert on api.bench_earlier_votes to authenticated;
         notify pgrst, 'reload schema';"
    ))
    .await
    .expect("the benchmark data loads");
    db.batch_execute("vacuum analyze")
        .await
        .expect("the statistics are current");
}

/// The `n`-th rating of a way: its listener (of that way's own), song and rating. Listeners
/// turn fastest, so a pair comes back only after `listeners × SONGS` ratings.
fn nth(n: usize, listeners: usize, songs: &[i64]) -> (usize, i64, i32) {
    let song = songs[(n / listeners) % songs.len()];
    (n % listeners, song, [1, 2, 4, 5][n % 4])
}

/// `CLIENTS` clients each rating (`rate(http, n)`, for n = 0, 1, 2, … from `next` on) for
/// `SECONDS`; the time of each rating and the seconds it all took.
async fn ratings<R, F>(next: Arc<AtomicUsize>, rate: R) -> (Vec<Duration>, f64)
where
    R: Fn(reqwest::Client, usize) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = ()> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (next, rate) = (next.clone(), rate.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let start = Instant::now();
                rate(http.clone(), n).await;
                times.push(start.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for client in clients {
        times.extend(client.await.expect("a client finishes"));
    }
    (times, started.elapsed().as_secs_f64())
}

/// Sends one request of a rating and checks it succeeded; its JSON body (null when empty).
async fn send(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.expect("PostgREST answers");
    let status = response.status();
    let text = response.text().await.expect("the answer reads");
    assert!(status.is_success(), "{status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let db = superuser().await;
    load(&db).await;
    let everyone: Vec<String> = column(
        &db,
        "select id::text from cosound.profiles order by id",
        &[],
    )
    .await;
    let songs: Arc<Vec<i64>> =
        Arc::new(column(&db, "select id from cosound.songs order by id", &[]).await);
    let tokens = |ids: &[String]| -> Arc<Vec<(String, String)>> {
        Arc::new(
            ids.iter()
                .map(|id| (id.clone(), token(&listener_claims(id))))
                .collect(),
        )
    };
    let (ours, theirs) = everyone.split_at(everyone.len() / 2);
    let (ours, theirs) = (tokens(ours), tokens(theirs));
    let api = api_url();
    // PostgREST reloads its schema cache asynchronously after the NOTIFY.
    let http = reqwest::Client::new();
    while !http
        .get(format!("{api}/bench_earlier_songs?limit=1"))
        .bearer_auth(&theirs[0].1)
        .send()
        .await
        .unwrap()
        .status()
        .is_success()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cosound = {
        let (api, songs, listeners) = (api.clone(), songs.clone(), ours.clone());
        move |http: reqwest::Client, n: usize| {
            let (listener, song, rating) = nth(n, listeners.len(), &songs);
            let request = http
                .post(format!("{api}/rpc/rate"))
                .bearer_auth(&listeners[listener].1)
                .json(&json!({ "rating": rating, "song_id": song }));
            async move {
                send(request).await;
            }
        }
    };
    let earlier = {
        let (api, songs, listeners) = (api.clone(), songs.clone(), theirs.clone());
        move |http: reqwest::Client, n: usize| {
            let (listener, song, rating) = nth(n, listeners.len(), &songs);
            let (id, token) = listeners[listener].clone();
            let api = api.clone();
            async move {
                let found = send(
                    http.get(format!(
                        "{api}/bench_earlier_songs?id=eq.{song}&select=embedding"
                    ))
                    .bearer_auth(&token),
                )
                .await;
                let embedding: Vec<f32> =
                    serde_json::from_value(found[0]["embedding"].clone()).expect("an embedding");
                let mine = send(
                    http.get(format!(
                        "{api}/bench_earlier_tastes?listener_id=eq.{id}&select=preference"
                    ))
                    .bearer_auth(&token),
                )
                .await;
                let taste: Option<Vec<f32>> =
                    serde_json::from_value(mine[0]["preference"].clone()).expect("a taste or null");
                let next = preference::apply_rating(taste.as_deref(), &embedding, rating)
                    .expect("the rating applies");
                send(
                    http.patch(format!("{api}/bench_earlier_tastes?listener_id=eq.{id}"))
                        .bearer_auth(&token)
                        .json(&json!({ "preference": next.or(taste) })),
                )
                .await;
                send(
                    http.post(format!("{api}/bench_earlier_votes"))
                        .bearer_auth(&token)
                        .json(&json!({ "listener_id": id, "song_id": song, "rating": rating })),
                )
                .await;
            }
        }
    };

    let (next_ours, next_theirs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (mut ours_times, mut theirs_times) = (Vec::new(), Vec::new());
    let (mut ours_seconds, mut theirs_seconds) = (0.0, 0.0);
    for _ in 0..ROUNDS {
        let (times, seconds) = ratings(next_theirs.clone(), earlier.clone()).await;
        theirs_times.extend(times);
        theirs_seconds += seconds;
        let (times, seconds) = ratings(next_ours.clone(), cosound.clone()).await;
        ours_times.extend(times);
        ours_seconds += seconds;
    }
    // Both ways really rated: every vote is stored, and the tastes moved.
    let stored = |table: &str| {
        let sql = format!("select count(*) from {table}");
        let db = &db;
        async move { db.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0) as usize }
    };
    assert_eq!(stored("cosound.votes").await, ours_times.len());
    assert_eq!(stored("api.bench_earlier_votes").await, theirs_times.len());

    ours_times.sort();
    theirs_times.sort();
    let theirs_rate = theirs_times.len() as f64 / theirs_seconds;
    let ours_rate = ours_times.len() as f64 / ours_seconds;
    println!(
        "\nRatings through PostgREST, {CLIENTS} concurrent clients, {SECONDS} s × {ROUNDS} each way, \
         taking turns; {SONGS} songs, {} listeners each way\n",
        LISTENERS / 2
    );
    println!("| way | ratings/s | vs the earlier flow | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (way, rate, times) in [
        (
            "earlier flow: GET song, GET taste, rule in the client, PATCH taste, POST vote (baseline)",
            theirs_rate,
            &theirs_times,
        ),
        (
            "`POST /rpc/rate` (checks, vote and learning trigger in one transaction)",
            ours_rate,
            &ours_times,
        ),
    ] {
        println!(
            "| {way} | {rate:.0} | {:.2}× | {} | {} |",
            rate / theirs_rate,
            common::ms(percentile(times, 0.5)),
            common::ms(percentile(times, 0.99)),
        );
    }
    println!();
    db.batch_execute(
        "drop table api.bench_earlier_songs, api.bench_earlier_tastes, api.bench_earlier_votes;
         notify pgrst, 'reload schema';",
    )
    .await
    .unwrap();
    common::empty(&db).await;
}
