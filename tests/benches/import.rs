//! `cosound-admin import` of a large installation (10,000 users with their tastes, 1,000 songs,
//! 1,000,000 votes), phase by phase from its own summary, against the least work that puts the
//! same rows into PostgreSQL: a plain `COPY` of each of the export's CSV files into a bare table
//! of the same columns (typed, no keys, no triggers), in the same database and the same run.
//!
//! The import is the optimised `cosound-admin` binary, uploading its songs to an optimised
//! gateway of this bench's own (as `benches/gateway.rs` does) and writing to the bench stack's
//! database. The COPY baseline runs once before the import and once after, and its mean is
//! shown, so drift on a shared machine hits both sides. Its songs are one-second WAV clips, so
//! the songs phase shows the per-file work (decode, loudness, embedding, S3) more than bytes.

mod common;

use common::{connect, empty, start_gateway};
use cosound_e2e::gateway::{unique_seed, wav};
use cosound_e2e::{built_binary, new_user, superuser_conninfo};
use futures_util::SinkExt;
use serde_json::Value;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const PLAYERS: usize = 20;
const USERS: usize = 10_000;
/// Users exported without a password, who get a first one (a bcrypt hash each).
const WITHOUT_PASSWORD: usize = 100;
const SONGS: usize = 1_000;
const VOTES: usize = 1_000_000;

/// A well-formed bcrypt hash for the users exported with a password.
const HASH: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

/// Each CSV file of the export and the bare table its baseline COPY fills.
const FILES: [(&str, &str); 5] = [
    ("players", "id text, name text"),
    (
        "users",
        "id text, email text, display_name text, password_hash text",
    ),
    ("preferences", "user_id text, vector extensions.vector(5)"),
    ("songs", "id text, title text, type text, path text"),
    (
        "votes",
        "id text, user_id text, song_id text, player_id text, rating smallint, voted_at timestamptz",
    ),
];

/// Writes `lines()` to `DIR/NAME.csv` under `header`.
fn write_csv(dir: &Path, name: &str, header: &str, lines: impl Iterator<Item = String>) {
    let file = std::fs::File::create(dir.join(format!("{name}.csv"))).unwrap();
    let mut out = BufWriter::new(file);
    writeln!(out, "{header}").unwrap();
    for line in lines {
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
}

/// The export, every id and address carrying `tag`. Votes spread over users, songs and
/// players by co-prime strides; a tenth have no player, as votes cast before players existed.
fn write_export(dir: &Path, tag: &str) {
    std::fs::create_dir_all(dir.join("audio")).unwrap();
    write_csv(
        dir,
        "players",
        "id,name",
        (0..PLAYERS).map(|p| format!("{tag}p{p},Room {p}")),
    );
    write_csv(
        dir,
        "users",
        "id,email,display_name,password_hash",
        (0..USERS).map(|u| {
            let hash = if u < WITHOUT_PASSWORD { "" } else { HASH };
            format!("{tag}u{u},{tag}u{u}@import.bench,Listener {u},{hash}")
        }),
    );
    write_csv(
        dir,
        "preferences",
        "user_id,vector",
        (0..USERS).map(|u| {
            let w = |k: usize| ((u * 37 + k * 11) % 17 + 1) as f64 / 17.0;
            format!(
                "{tag}u{u},\"[{:.3},{:.3},{:.3},{:.3},{:.3}]\"",
                w(0),
                w(1),
                w(2),
                w(3),
                w(4)
            )
        }),
    );
    let seed = unique_seed();
    for s in 0..SONGS {
        std::fs::write(
            dir.join(format!("audio/{s}.wav")),
            wav(1.0, 22_050, seed + s as u64),
        )
        .unwrap();
    }
    write_csv(
        dir,
        "songs",
        "id,title,type,path",
        (0..SONGS).map(|s| {
            let kind = if s % 4 == 0 {
                "instrumental"
            } else {
                "soundscape"
            };
            format!("{tag}s{s},Sound {s},{kind},audio/{s}.wav")
        }),
    );
    write_csv(
        dir,
        "votes",
        "id,user_id,song_id,player_id,rating,voted_at",
        (0..VOTES).map(|v| {
            let player = if v % 10 == 0 {
                String::new()
            } else {
                format!("{tag}p{}", v % PLAYERS)
            };
            format!(
                "{tag}v{v},{tag}u{},{tag}s{},{player},{},2025-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                v * 7_919 % USERS,
                v * 31 % SONGS,
                v % 5 + 1,
                v % 12 + 1,
                v / 12 % 28 + 1,
                v / 336 % 24,
                v / 8_064 % 60,
                v % 60
            )
        }),
    );
}

/// Seconds to COPY each file of the export into a fresh bare table.
async fn copy_baseline(db: &tokio_postgres::Client, dir: &Path) -> Vec<(&'static str, f64)> {
    let mut times = Vec::new();
    for (name, columns) in FILES {
        db.batch_execute(&format!(
            "drop table if exists import_baseline.{name};
             create table import_baseline.{name} ({columns});"
        ))
        .await
        .unwrap();
        let mut file = std::fs::File::open(dir.join(format!("{name}.csv"))).unwrap();
        let started = Instant::now();
        let sink = db
            .copy_in(&format!(
                "copy import_baseline.{name} from stdin (format csv, header true)"
            ))
            .await
            .unwrap();
        futures_util::pin_mut!(sink);
        let mut buffer = vec![0; 1 << 20];
        loop {
            let read = file.read(&mut buffer).unwrap();
            if read == 0 {
                break;
            }
            sink.send(bytes::Bytes::copy_from_slice(&buffer[..read]))
                .await
                .unwrap();
        }
        sink.as_mut().finish().await.unwrap();
        times.push((name, started.elapsed().as_secs_f64()));
    }
    times
}

/// The import's summary: each phase with its rows, rows added and seconds.
fn import(dir: &Path, gateway: &str, admin: &str) -> (Vec<(String, u64, u64, f64)>, Duration) {
    let binary = built_binary("cosound-gateway", "cosound-admin");
    let started = Instant::now();
    let output = std::process::Command::new(binary)
        .arg("import")
        .arg(dir)
        .arg("--json")
        .env("COSOUND_GATEWAY_URL", gateway)
        .env("COSOUND_ADMIN_TOKEN", admin)
        .env("COSOUND_IMPORT_DATABASE_URL", superuser_conninfo())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("cosound-admin runs");
    let elapsed = started.elapsed();
    assert!(output.status.success(), "the import fails");
    let phases: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
    let phases = phases
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phase"].as_str().unwrap().to_string(),
                p["rows"].as_u64().unwrap(),
                p["added"].as_u64().unwrap(),
                p["seconds"].as_f64().unwrap(),
            )
        })
        .collect();
    (phases, elapsed)
}

fn per_second(rows: u64, seconds: f64) -> String {
    format!("{:.0}", rows as f64 / seconds)
}

#[tokio::main]
async fn main() {
    let db = connect().await;
    empty(&db).await;
    db.batch_execute("create schema import_baseline")
        .await
        .unwrap();
    let (_, admin) = new_user(&db, &["admin"]).await;
    let (gateway, stop) = start_gateway();
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("B{:X}", unique_seed() & 0xFFFF_FFFF);
    write_export(dir.path(), &tag);

    let before = copy_baseline(&db, dir.path()).await;
    let (phases, wall) = import(dir.path(), &gateway, &admin);
    let after = copy_baseline(&db, dir.path()).await;
    let _ = stop.send(());
    let copy = |names: &[&str]| -> f64 {
        before
            .iter()
            .chain(&after)
            .filter(|(name, _)| names.contains(name))
            .map(|(_, seconds)| seconds)
            .sum::<f64>()
            / 2.0
    };

    let added = |phase: &str| phases.iter().find(|p| p.0 == phase).map(|p| p.2);
    assert_eq!(added("players"), Some(PLAYERS as u64));
    assert_eq!(added("users"), Some(USERS as u64));
    assert_eq!(added("songs"), Some(SONGS as u64));
    assert_eq!(added("votes"), Some(VOTES as u64));
    assert_eq!(added("first passwords"), Some(WITHOUT_PASSWORD as u64));

    println!(
        "\nImport of {PLAYERS} players, {USERS} users with their tastes ({WITHOUT_PASSWORD} without a \
         password), {SONGS} one-second WAV songs and {VOTES} votes (default batch of 10,000 rows);\n\
         baseline: COPY of the same CSV files into bare tables, the mean of one run before and one \
         after the import\n"
    );
    println!("| phase | rows | import, s | import, rows/s | plain COPY of its files, s | COPY, rows/s | import / COPY time |");
    println!("|---|---|---|---|---|---|---|");
    let mut import_total = 0.0;
    for (phase, rows, _, seconds) in &phases {
        import_total += seconds;
        let files: &[&str] = match phase.as_str() {
            "check" => &["players", "users", "preferences", "songs", "votes"],
            "users" => &["users", "preferences"],
            "players" => &["players"],
            "songs" => &["songs"],
            "votes" => &["votes"],
            _ => &[],
        };
        let (copy_s, copy_rate, ratio) = if files.is_empty() {
            ("—".into(), "—".into(), "—".into())
        } else {
            let s = copy(files);
            (
                format!("{s:.2}"),
                per_second(*rows, s),
                format!("{:.0}×", seconds / s),
            )
        };
        println!(
            "| {phase} | {rows} | {seconds:.2} | {} | {copy_s} | {copy_rate} | {ratio} |",
            per_second(*rows, *seconds)
        );
    }
    let all = copy(&["players", "users", "preferences", "songs", "votes"]);
    let rows = (PLAYERS + 2 * USERS + SONGS + VOTES) as u64;
    println!(
        "| whole run (process start to exit: {:.1} s) | {rows} | {import_total:.2} | {} | {all:.2} | {} | {:.0}× |",
        wall.as_secs_f64(),
        per_second(rows, import_total),
        per_second(rows, all),
        import_total / all
    );
    println!();
    db.batch_execute("drop schema import_baseline cascade")
        .await
        .unwrap();
    empty(&db).await;
}
