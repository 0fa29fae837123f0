//! What the database benchmarks share: a connection to the throw-away stack `cargo xtask bench`
//! starts, timing, and the markdown table each prints.

// Each benchmark uses only some of these.
#![allow(dead_code)]

use std::time::{Duration, Instant};

pub async fn connect() -> tokio_postgres::Client {
    let conninfo = std::env::var("COSOUND_TEST_SUPERUSER_CONNINFO")
        .expect("COSOUND_TEST_SUPERUSER_CONNINFO is set: run through `cargo xtask bench`");
    let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("the bench stack's database accepts the superuser");
    tokio::spawn(connection);
    client
}

/// The seed's recommendation formula, as `pg_temp.seed_recommend(target, k, player, kind)`.
pub async fn create_seed_formula(db: &tokio_postgres::Client) {
    db.batch_execute(include_str!("../../sql/seed_recommend.sql"))
        .await
        .expect("the seed formula is created");
}

/// Empties the catalogue, players, listeners and history, and whatever refers to them (check-in
/// codes, player keys…); a bench stack is thrown away after.
pub async fn empty(db: &tokio_postgres::Client) {
    db.batch_execute(
        "set session_replication_role = replica;
         truncate cosound.plays, cosound.votes, cosound.player_queue, cosound.queue_state,
                  cosound.player_library, cosound.sessions, cosound.players, cosound.songs,
                  cosound.profiles, cosound.imported_users cascade;
         delete from auth.users;
         set session_replication_role = origin;",
    )
    .await
    .expect("the tables empty");
}

/// Fresh statistics and visibility maps after a load (VACUUM needs a statement of its own).
pub async fn vacuum(db: &tokio_postgres::Client) {
    db.batch_execute("vacuum analyze")
        .await
        .expect("vacuum runs");
}

pub async fn timed<T>(work: impl std::future::Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = work.await;
    (out, start.elapsed())
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

pub fn table(header: &[&str], rows: &[Vec<String>]) {
    println!();
    println!("| {} |", header.join(" | "));
    println!(
        "|{}|",
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
    println!();
}

/// Requests per second from `clients` concurrent HTTP clients for `seconds`, each sending
/// `request(http, n)` for n = its number, then + `clients` after each answer (so together
/// they go through n = 0, 1, 2, …), every answer checked with `ok`.
pub async fn requests_per_second<R>(
    clients: usize,
    seconds: u64,
    request: R,
    ok: fn(reqwest::StatusCode) -> bool,
) -> f64
where
    R: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let request = Arc::new(request);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (request, done) = (request.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut n = c;
            while Instant::now() < deadline {
                let call = request(&http, n);
                let response = call.send().await.expect("the server answers");
                let (status, url) = (response.status(), response.url().clone());
                let text = response.text().await.expect("the answer reads");
                assert!(ok(status), "{url}: {status} {text}");
                n += clients;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("a client finishes");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// CPU time used so far by the bench stack's PostgreSQL (the postmaster and its children,
/// running or exited) and by its PostgREST, read from /proc. Per request, it shows where a
/// request's work is done, and a busy machine distorts it less than requests per second.
#[derive(Debug, Clone, Copy)]
pub struct StackCpu {
    pub postgres: Duration,
    pub postgrest: Duration,
}

impl StackCpu {
    pub fn now() -> StackCpu {
        let dir = std::path::PathBuf::from(
            std::env::var("COSOUND_TEST_STACK_DIR")
                .expect("COSOUND_TEST_STACK_DIR is set: run through `cargo xtask bench`"),
        );
        let pid_in = |file: &str| -> u32 {
            let text = std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("{file} of the bench stack reads: {e}"));
            text.lines()
                .next()
                .and_then(|line| line.trim().parse().ok())
                .unwrap_or_else(|| panic!("{file} starts with a process id"))
        };
        let postmaster = pid_in("pgdata/postmaster.pid");
        let postgrest = pid_in("run/postgrest.pid");
        let mut postgres = ticks(postmaster, true);
        for entry in std::fs::read_dir("/proc").expect("/proc lists processes") {
            let Some(pid) = entry
                .ok()
                .and_then(|e| e.file_name().to_str()?.parse().ok())
            else {
                continue;
            };
            if parent(pid) == Some(postmaster) {
                postgres += ticks(pid, false);
            }
        }
        StackCpu {
            postgres: from_ticks(postgres),
            postgrest: from_ticks(ticks(postgrest, true)),
        }
    }

    /// CPU per request between `earlier` and now, for `requests` requests.
    pub fn per_request(self, earlier: StackCpu, requests: f64) -> StackCpu {
        StackCpu {
            postgres: (self.postgres - earlier.postgres).div_f64(requests),
            postgrest: (self.postgrest - earlier.postgrest).div_f64(requests),
        }
    }
}

/// The fields of /proc/PID/stat after the command name (which may contain spaces).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    Some(rest.split(' ').map(|f| f.parse().unwrap_or(0)).collect())
}

fn parent(pid: u32) -> Option<u32> {
    stat_fields(pid).map(|f| f[1] as u32)
}

/// User + system clock ticks of `pid`, with those of its exited children when `reaped`.
fn ticks(pid: u32, reaped: bool) -> u64 {
    // Fields 14–17 of stat: utime, stime, cutime, cstime.
    stat_fields(pid).map_or(0, |f| {
        f[11] + f[12] + if reaped { f[13] + f[14] } else { 0 }
    })
}

/// Linux reports process times in USER_HZ = 100 ticks per second on every architecture.
fn from_ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

/// Serves an optimised gateway with the stack's settings on a runtime of its own; returns its
/// URL and what stops it.
pub fn start_gateway() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = cosound_e2e::gateway::config(&[]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("the gateway's runtime starts");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let state =
                cosound_gateway::state::AppState::new(&config).expect("the gateway's state builds");
            cosound_gateway::server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("the gateway serves");
        });
    });
    (url, stop)
}
