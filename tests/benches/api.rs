//! The API's two hot paths through PostgREST, each against a plain-table baseline served by the
//! same PostgREST in the same run:
//! - a device polling its queue (player token, row-level security, the view's joins) vs an
//!   anonymous GET by primary key of a plain table with the same rows;
//! - a listener's rating (`/rpc/rate`: checks, the vote, the learning trigger, the new taste)
//!   vs a plain insert of the same row, and vs `api.rate` as it was before the once-a-minute
//!   rule added a lock and a check (`tests/sql/rate_before_the_pause.sql`);
//! - and, inside the database, the pre-request hook per request with the token policy
//!   vs the refusal of writes to views alone, the hook before the token policy.
//!
//! Each case runs `CLIENTS` concurrent HTTP clients for `SECONDS`, twice, alternating with its
//! baseline so drift on a shared machine hits both. Beside the rates it prints the CPU time
//! PostgreSQL and PostgREST spent per request, which shows where a request's cost lies.

mod common;

use common::{requests_per_second, StackCpu};
use cosound_e2e::{api_url, column, listener_claims, player_token, superuser, token};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PLAYERS: i64 = 1_000;
const LISTENERS: i64 = 400;
const CLIENTS: usize = 8;
const SECONDS: u64 = 5;

/// One request to send: a method, a path, a token, a body.
struct Request {
    path: String,
    token: Option<String>,
    body: Option<String>,
}

async fn load(db: &tokio_postgres::Client) {
    db.batch_execute(&format!(
        "insert into cosound.songs (type, title, duration_ms, object_key, embedding)
         select case when g % 5 = 0 then 'instrumental' else 'soundscape' end::cosound.song_type,
                'song ' || g, 60000, 'bench/api/' || g,
                array[random(), random(), random(), random(), random()]::real[]::extensions.vector(5)
           from generate_series(1, 200) g;
         insert into cosound.players (name) select 'bench room ' || g from generate_series(1, {PLAYERS}) g;
         select extensions.refresh_all_queues();
         insert into auth.users (id) select gen_random_uuid() from generate_series(1, {LISTENERS});

         create table api.bench_plain_queue as
           select q.player_id, q.slot, q.song_id, q.role::text as role, q.gain, s.title,
                  s.duration_ms, s.byte_size, s.content_sha256, s.content_type, st.version
             from cosound.player_queue q join cosound.songs s on s.id = q.song_id
             join cosound.queue_state st on st.player_id = q.player_id;
         alter table api.bench_plain_queue add primary key (player_id, slot);
         grant select on api.bench_plain_queue to anon;

         create table api.bench_plain_votes (
           id bigint generated always as identity primary key,
           listener_id uuid not null, song_id bigint not null, rating smallint not null,
           created_at timestamptz not null default now());
         grant insert on api.bench_plain_votes to authenticated;
         notify pgrst, 'reload schema';"
    ))
    .await
    .expect("the benchmark data loads");
    // The rating as it was before the once-a-minute rule, beside today's.
    let before = include_str!("../sql/rate_before_the_pause.sql");
    db.batch_execute(&format!(
        "{before}
         grant execute on function api.bench_rate_before_the_pause to authenticated;
         notify pgrst, 'reload schema';"
    ))
    .await
    .expect("the rating before the once-a-minute rule loads");
    // On its own: VACUUM cannot run in the transaction a multi-statement batch makes.
    db.batch_execute("vacuum analyze")
        .await
        .expect("the statistics are current");
}

/// What one way of making requests achieved: requests per second, and the CPU time
/// PostgreSQL and PostgREST spent per request.
#[derive(Default)]
struct Run {
    per_second: f64,
    postgres: Duration,
    postgrest: Duration,
}

impl Run {
    fn add_half(&mut self, other: Run) {
        self.per_second += other.per_second / 2.0;
        self.postgres += other.postgres / 2;
        self.postgrest += other.postgrest / 2;
    }

    /// A table row: the request, its rate, that rate against the baseline's, its CPU.
    fn row(&self, request: &str, baseline: &Run) -> String {
        format!(
            "| {request} | {:.0} | {:.0} % | {:.0} µs | {:.0} µs |",
            self.per_second,
            100.0 * self.per_second / baseline.per_second,
            self.postgres.as_secs_f64() * 1e6,
            self.postgrest.as_secs_f64() * 1e6,
        )
    }
}

/// `CLIENTS` clients cycling through `requests` for `SECONDS`, from where the last run of the
/// same list stopped (`next`), so that a second run does not repeat the first one's requests.
async fn throughput(requests: Arc<Vec<Request>>, next: Arc<AtomicUsize>) -> Run {
    let send = move |http: &reqwest::Client, _: usize| {
        let request = &requests[next.fetch_add(1, Ordering::Relaxed) % requests.len()];
        let url = format!("{}/{}", api_url(), request.path);
        let mut call = match &request.body {
            Some(body) => http
                .post(url)
                .header("Content-Type", "application/json")
                .header("Prefer", "return=minimal")
                .body(body.clone()),
            None => http.get(url),
        };
        if let Some(token) = &request.token {
            call = call.bearer_auth(token);
        }
        call
    };
    let (cpu, started) = (StackCpu::now(), Instant::now());
    let per_second =
        requests_per_second(CLIENTS, SECONDS, send, |status| status.is_success()).await;
    let cpu = StackCpu::now().per_request(cpu, per_second * started.elapsed().as_secs_f64());
    Run {
        per_second,
        postgres: cpu.postgres,
        postgrest: cpu.postgrest,
    }
}

/// Runs the baseline and the case alternately, twice each; returns their means.
async fn compare(baseline: Vec<Request>, case: Vec<Request>) -> (Run, Run) {
    let (baseline, case) = (Arc::new(baseline), Arc::new(case));
    let (next_baseline, next_case) = (Arc::default(), Arc::default());
    let (mut b, mut c) = (Run::default(), Run::default());
    for _ in 0..2 {
        b.add_half(throughput(baseline.clone(), Arc::clone(&next_baseline)).await);
        c.add_half(throughput(case.clone(), Arc::clone(&next_case)).await);
    }
    (b, c)
}

#[tokio::main]
async fn main() {
    let db = superuser().await;
    load(&db).await;
    let players: Vec<i64> = column(
        &db,
        "select id from cosound.players where name like 'bench room %' order by id",
        &[],
    )
    .await;
    let listeners: Vec<String> = column(
        &db,
        "select id::text from cosound.profiles order by id limit $1",
        &[&LISTENERS],
    )
    .await;
    let songs: Vec<i64> = column(
        &db,
        "select id from cosound.songs where object_key like 'bench/api/%' order by id",
        &[],
    )
    .await;
    // PostgREST reloads its schema cache asynchronously after the NOTIFY.
    let http = reqwest::Client::new();
    let probe = format!("{}/bench_plain_queue?limit=1", api_url());
    while !http.get(&probe).send().await.unwrap().status().is_success() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let plain_polls = players
        .iter()
        .map(|id| Request {
            path: format!("bench_plain_queue?player_id=eq.{id}"),
            token: None,
            body: None,
        })
        .collect();
    let device_polls = players
        .iter()
        .map(|&id| Request {
            path: "player_queue".into(),
            token: Some(player_token(id)),
            body: None,
        })
        .collect();
    let (plain, polls) = compare(plain_polls, device_polls).await;

    // Every (listener, song) pair once: a listener rates a song at most once a minute, so a
    // repeated pair would be refused (429) and time the refusal instead of the rating. The
    // rating before that rule has listeners of its own, so its votes do not pause today's.
    let (listeners, earlier_listeners) = listeners.split_at(listeners.len() / 2);
    let vote_of = |listeners: &[String], n: usize| {
        let listener = &listeners[n % listeners.len()];
        (
            listener.clone(),
            token(&listener_claims(listener)),
            songs[n / listeners.len() % songs.len()],
            [1, 2, 4, 5][n % 4],
        )
    };
    let vote = |n: usize| vote_of(listeners, n);
    let pairs = listeners.len() * songs.len();
    let plain_inserts = (0..pairs)
        .map(|n| {
            let (listener, token, song, rating) = vote(n);
            Request {
                path: "bench_plain_votes".into(),
                token: Some(token),
                body: Some(
                    json!({"listener_id": listener, "song_id": song, "rating": rating}).to_string(),
                ),
            }
        })
        .collect();
    let ratings = (0..pairs)
        .map(|n| {
            let (_, token, song, rating) = vote(n);
            Request {
                path: "rpc/rate".into(),
                token: Some(token),
                body: Some(json!({"song_id": song, "rating": rating}).to_string()),
            }
        })
        .collect();
    let earlier_ratings = (0..pairs)
        .map(|n| {
            let (_, token, song, rating) = vote_of(earlier_listeners, n);
            Request {
                path: "rpc/bench_rate_before_the_pause".into(),
                token: Some(token),
                body: Some(json!({"song_id": song, "rating": rating}).to_string()),
            }
        })
        .collect();
    let (inserts, rates) = compare(plain_inserts, ratings).await;
    let ratings_again = (0..pairs)
        .map(|n| {
            let (_, token, song, rating) = vote(n + pairs / 2);
            Request {
                path: "rpc/rate".into(),
                token: Some(token),
                body: Some(json!({"song_id": song, "rating": rating}).to_string()),
            }
        })
        .collect();
    let (earlier, rates_again) = compare(earlier_ratings, ratings_again).await;
    let hook = hook_costs(&db, players[0]).await;

    println!("\nAPI through PostgREST, {CLIENTS} concurrent clients, {SECONDS} s × 2 each\n");
    println!("| request | requests/s | vs its baseline | PostgreSQL CPU / request | PostgREST CPU / request |");
    println!("|---|---|---|---|---|");
    println!(
        "{}",
        plain.row("GET plain table by key, anonymous (baseline)", &plain)
    );
    println!(
        "{}",
        polls.row(
            "GET /player_queue, device token, row-level security",
            &plain
        )
    );
    println!(
        "{}",
        inserts.row("POST plain insert of a vote row (baseline)", &inserts)
    );
    println!(
        "{}",
        rates.row("POST /rpc/rate (checks, vote, learning trigger)", &inserts)
    );
    println!(
        "{}",
        earlier.row(
            "POST /rpc/rate before the once-a-minute rule (baseline)",
            &earlier
        )
    );
    println!(
        "{}",
        rates_again.row("POST /rpc/rate with the once-a-minute rule", &earlier)
    );
    println!(
        "\nThe pre-request hook inside PostgreSQL, per GET /player_queue with a device token\n"
    );
    println!("| hook | µs per request |");
    println!("|---|---|");
    println!("| view-write check only (baseline) | {:.1} |", hook.0);
    println!("| token policy and view-write check | {:.1} |", hook.1);
}

/// Microseconds per call of the hook before the token policy and of today's, for a device's
/// GET of its queue: each run 20,000 times in a loop, less the same loop's time with no hook.
async fn hook_costs(db: &tokio_postgres::Client, player: i64) -> (f64, f64) {
    let claims = json!({
        "role": "player", "player_id": player, "aud": "authenticated",
        "iat": cosound_e2e::now(), "exp": cosound_e2e::now() + 300,
    })
    .to_string();
    db.execute(
        "select set_config('request.jwt.claims', $1, false),
                set_config('request.method', 'GET', false),
                set_config('request.path', '/player_queue', false)",
        &[&claims],
    )
    .await
    .expect("the request settings are set");
    db.batch_execute(
        "create function pg_temp.per_call(statement text) returns float8
         language plpgsql as $$
         declare
           started timestamptz := clock_timestamp();
         begin
           for i in 1..20000 loop
             execute statement;
           end loop;
           return extract(epoch from clock_timestamp() - started) * 1e6 / 20000;
         end $$;",
    )
    .await
    .expect("the timing function is created");
    let per_call = |statement: &'static str| async move {
        db.query_one("select pg_temp.per_call($1)", &[&statement])
            .await
            .expect("the loop runs")
            .get::<_, f64>(0)
    };
    let empty = per_call("select 1").await;
    let before = per_call("select postgrest_hooks.refuse_writes_to_views()").await - empty;
    let now = per_call("select postgrest_hooks.before_request()").await - empty;
    (before, now)
}
