//! Vote inserts with the learning trigger against the same inserts without it: single-vote
//! transactions from 4 connections (how votes arrive), and one bulk INSERT … SELECT.

#[path = "common/mod.rs"]
mod common;

use common::{connect, empty, table, timed, vacuum};
use std::time::Duration;

const LISTENERS: i64 = 1_000;
const SINGLE_VOTES: i64 = 20_000;
const CONNECTIONS: i64 = 4;
const BULK_VOTES: i64 = 200_000;
const ROUNDS: i64 = 2;

async fn load(db: &tokio_postgres::Client) {
    empty(db).await;
    db.batch_execute(&format!(
        "insert into cosound.songs (type, title, duration_ms, object_key, embedding)
         select 'soundscape', 'song ' || g, 60000, 'bench/' || g,
                array[random(), random(), random(), random(), random()]::real[]::extensions.vector(5)
           from generate_series(1, 1000) g;
         insert into auth.users (id) select gen_random_uuid() from generate_series(1, {LISTENERS});
"
    ))
    .await
    .expect("the listeners load");
    vacuum(db).await;
}

/// No votes and no tastes yet; the learning trigger on or off.
async fn start_over(db: &tokio_postgres::Client, trigger: bool) {
    db.batch_execute(&format!(
        "truncate cosound.votes; update cosound.profiles set preference = null;
         alter table cosound.votes {} trigger votes_teach_the_listener_taste;",
        if trigger { "enable" } else { "disable" }
    ))
    .await
    .unwrap();
}

/// Seconds for `CONNECTIONS` clients each sending their share of single-vote transactions.
async fn single(trigger: bool) -> f64 {
    let db = connect().await;
    start_over(&db, trigger).await;
    let listeners: Vec<String> = db
        .query("select id::text from cosound.profiles order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let songs: Vec<i64> = db
        .query("select id from cosound.songs order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let (_, elapsed) = timed(async {
        let mut clients = Vec::new();
        for c in 0..CONNECTIONS {
            let (listeners, songs) = (listeners.clone(), songs.clone());
            clients.push(tokio::spawn(async move {
                let db = connect().await;
                let insert = db
                    .prepare(
                        "insert into cosound.votes (listener_id, song_id, rating)
                         values ($1::text::uuid, $2, $3)",
                    )
                    .await
                    .unwrap();
                for i in 0..SINGLE_VOTES / CONNECTIONS {
                    // Interleaved, so the connections vote for different listeners at any moment.
                    let n = (i * CONNECTIONS + c) as usize;
                    let rating = [1i16, 2, 4, 5][n % 4];
                    let song = songs[n * 7 % songs.len()];
                    db.execute(&insert, &[&listeners[n % listeners.len()], &song, &rating])
                        .await
                        .unwrap();
                }
            }));
        }
        for client in clients {
            client.await.unwrap();
        }
    })
    .await;
    elapsed.as_secs_f64()
}

/// Seconds for one INSERT … SELECT of `BULK_VOTES` votes.
async fn bulk(db: &tokio_postgres::Client, trigger: bool) -> f64 {
    start_over(db, trigger).await;
    let (_, elapsed): (_, Duration) = timed(db.batch_execute(&format!(
        "insert into cosound.votes (listener_id, song_id, rating)
         select l.id, s.id, (array[1, 2, 4, 5])[1 + g % 4]
           from generate_series(0, {BULK_VOTES} - 1) g
           join (select id, row_number() over (order by id) - 1 as n from cosound.profiles) l
             on l.n = g % {LISTENERS}
           join (select id, row_number() over (order by id) - 1 as n from cosound.songs) s
             on s.n = g * 7 % 1000"
    )))
    .await;
    elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let db = connect().await;
    load(&db).await;
    // Alternating rounds, so drift in the shared machine's speed hits both alike; the rates
    // are each mode's total votes over its total time.
    let (mut single_time, mut bulk_time) = ([0.0; 2], [0.0; 2]);
    for _ in 0..ROUNDS {
        for (mode, trigger) in [false, true].into_iter().enumerate() {
            single_time[mode] += single(trigger).await;
            bulk_time[mode] += bulk(&db, trigger).await;
        }
    }
    let row = |workload: String, votes: i64, seconds: [f64; 2]| {
        let [without, with] = seconds.map(|s| (ROUNDS * votes) as f64 / s);
        vec![
            workload,
            format!("{without:.0}/s"),
            format!("{with:.0}/s"),
            format!("{:.0} %", 100.0 * with / without),
        ]
    };
    let rows = [
        row(
            format!("{SINGLE_VOTES} single-vote transactions, {CONNECTIONS} connections"),
            SINGLE_VOTES,
            single_time,
        ),
        row(
            format!("one INSERT of {BULK_VOTES} votes"),
            BULK_VOTES,
            bulk_time,
        ),
    ];
    db.batch_execute("alter table cosound.votes enable trigger votes_teach_the_listener_taste")
        .await
        .unwrap();
    println!(
        "vote inserts with the learning trigger (baseline: the same inserts without it, {ROUNDS} alternating rounds)"
    );
    table(
        &[
            "workload",
            "without trigger (baseline)",
            "with trigger",
            "ratio",
        ],
        &rows,
    );
}
