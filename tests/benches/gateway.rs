//! The gateway's two hot paths, each against a baseline measured in the same run:
//! - an admin's upload (`POST /songs`: the body hashed, streamed to SeaweedFS and decoded as
//!   it arrives, for its EBU R128 loudness and the `ml` model's embedding, then inserted as a
//!   song) vs a direct aws-sdk-s3 `PutObject` of the same bytes into the same bucket, for the
//!   demo catalogue's eight short Ogg Vorbis clips, for minute-long 44.1 kHz stereo WAVs and for
//!   five-minute tracks, the length of a real ambient recording (made at run time, not kept);
//! - a device trading its key for a token (`POST /player/token`: one pooled database query,
//!   SHA-256, a constant-time compare, an HS256 signature) vs a request the router answers
//!   alone (an unknown path's 404 JSON error): the same HTTP stack with no work behind it.
//!
//! The stack's own gateway is a debug build (`cargo xtask` builds it so), so this bench serves
//! an optimised gateway of its own — the same `cosound_gateway::server::serve`, on its own
//! runtime thread, with the stack's settings, database and SeaweedFS.
//!
//! Uploads run `UPLOADERS` concurrent clients over the whole set, `ROUNDS` times, alternating
//! with the direct puts so drift on a shared machine hits both; the songs are deleted between
//! rounds (the gateway refuses a file it already has). Token exchanges use valid keys only, so
//! the limit on wrong keys never applies.

mod common;

use bytes::Bytes;
use common::requests_per_second;
use cosound_e2e::gateway::{bucket, pcm_wav};
use cosound_e2e::{new_player, new_user, superuser};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One upload client per core.
const UPLOADERS: usize = 2;
const ROUNDS: usize = 3;
const WAVS: usize = 6;
const WAV_SECONDS: f64 = 60.0;
const TRACKS: usize = 2;
const TRACK_SECONDS: f64 = 300.0;
const TOKEN_CLIENTS: usize = 8;
const TOKEN_SECONDS: u64 = 5;
const PLAYERS: usize = 32;

struct AudioFile {
    title: String,
    kind: &'static str,
    content_type: &'static str,
    bytes: Bytes,
}

/// The demo catalogue (`supabase/demo-audio`): the folder is the type, the name the title.
fn demo_clips() -> Vec<AudioFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../supabase/demo-audio");
    let mut clips = Vec::new();
    for kind in ["soundscape", "instrumental"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(kind))
            .expect("the demo catalogue is in the repository")
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "ogg"))
            .collect();
        paths.sort();
        for path in paths {
            clips.push(AudioFile {
                title: path.file_stem().unwrap().to_string_lossy().into_owned(),
                kind,
                content_type: "audio/ogg",
                bytes: std::fs::read(&path).unwrap().into(),
            });
        }
    }
    clips
}

/// Recordings as a studio delivers them: 44.1 kHz, 16-bit, stereo (10.6 MB a minute, so the
/// gateway puts even a minute in two multipart parts).
fn studio_wavs(count: usize, seconds: f64, name: &str) -> Vec<AudioFile> {
    (0..count)
        .map(|n| AudioFile {
            title: format!("{name}_{n}"),
            kind: "soundscape",
            content_type: "audio/wav",
            bytes: pcm_wav(seconds, 44_100, 2, 7_000 + n as u64).into(),
        })
        .collect()
}

/// Where a pass sends the files.
#[derive(Clone)]
enum Sink {
    Direct {
        s3: aws_sdk_s3::Client,
        bucket: String,
    },
    Gateway {
        url: String,
        admin: String,
    },
}

impl Sink {
    /// Sends one file; returns the song id the gateway made, if it was the gateway.
    async fn send(&self, http: &reqwest::Client, file: &AudioFile, pass: usize) -> Option<i64> {
        match self {
            Sink::Direct { s3, bucket } => {
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("bench/direct/{pass}/{}", file.title))
                    .content_type(file.content_type)
                    .body(file.bytes.clone().into())
                    .send()
                    .await
                    .expect("SeaweedFS takes the direct put");
                None
            }
            Sink::Gateway { url, admin } => {
                let response = http
                    .post(format!(
                        "{url}/songs?title={}&type={}",
                        file.title, file.kind
                    ))
                    .bearer_auth(admin)
                    .body(file.bytes.clone())
                    .send()
                    .await
                    .expect("the gateway answers");
                let status = response.status();
                let body: Value = response.json().await.expect("the gateway answers JSON");
                assert_eq!(status, 201, "{}: {body}", file.title);
                body["id"].as_i64()
            }
        }
    }
}

/// Sends every file once, `UPLOADERS` at a time; returns the time taken and the songs made.
async fn pass(files: &Arc<Vec<AudioFile>>, sink: &Sink, number: usize) -> (Duration, Vec<i64>) {
    let next = Arc::new(AtomicUsize::new(0));
    let songs = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..UPLOADERS {
        let (files, sink, next, songs) = (files.clone(), sink.clone(), next.clone(), songs.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                if let Some(id) = sink.send(&http, file, number).await {
                    songs.lock().unwrap().push(id);
                }
            }
        }));
    }
    for client in clients {
        client.await.expect("an upload client finishes");
    }
    let elapsed = started.elapsed();
    let songs = std::mem::take(&mut *songs.lock().unwrap());
    (elapsed, songs)
}

struct Throughput {
    mb_per_s: f64,
    files_per_s: f64,
}

/// Direct puts and gateway uploads of `files`, alternating for `ROUNDS` rounds.
async fn uploads(
    db: &tokio_postgres::Client,
    files: Vec<AudioFile>,
    direct: &Sink,
    gateway: &Sink,
    first_pass: usize,
) -> (Throughput, Throughput) {
    let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    let count = files.len();
    let files = Arc::new(files);
    let (mut direct_time, mut gateway_time) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        direct_time += pass(&files, direct, first_pass + round).await.0;
        let (time, songs) = pass(&files, gateway, first_pass + round).await;
        gateway_time += time;
        db.execute("delete from cosound.songs where id = any($1)", &[&songs])
            .await
            .expect("the uploaded songs are deleted");
    }
    let rate = |time: Duration| Throughput {
        mb_per_s: (bytes * ROUNDS) as f64 / 1e6 / time.as_secs_f64(),
        files_per_s: (count * ROUNDS) as f64 / time.as_secs_f64(),
    };
    (rate(direct_time), rate(gateway_time))
}

/// Requests per second from `TOKEN_CLIENTS` clients, each answered with `expected`.
async fn rate<R>(request: R, expected: fn(reqwest::StatusCode) -> bool) -> f64
where
    R: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    requests_per_second(TOKEN_CLIENTS, TOKEN_SECONDS, request, expected).await
}

fn percent(case: f64, baseline: f64) -> String {
    format!("{:.0} %", 100.0 * case / baseline)
}

#[tokio::main]
async fn main() {
    let db = superuser().await;
    let (url, stop) = common::start_gateway();
    let (_, admin) = new_user(&db, &["admin"]).await;
    let (s3, bucket) = bucket();
    let direct = Sink::Direct { s3, bucket };
    let gateway = Sink::Gateway {
        url: url.clone(),
        admin: admin.clone(),
    };

    // A first upload warms the model, the pools and SeaweedFS's volumes for both ways.
    let warm_up = Arc::new(studio_wavs(1, WAV_SECONDS, "warm_up"));
    pass(&warm_up, &direct, 1_000).await;
    let (_, songs) = pass(&warm_up, &gateway, 1_000).await;
    db.execute("delete from cosound.songs where id = any($1)", &[&songs])
        .await
        .unwrap();

    let clips = demo_clips();
    let clips_mb = clips.iter().map(|f| f.bytes.len()).sum::<usize>() as f64 / 1e6;
    let clip_count = clips.len();
    let (clips_direct, clips_gateway) = uploads(&db, clips, &direct, &gateway, 0).await;
    let wavs = studio_wavs(WAVS, WAV_SECONDS, "studio_loop");
    let wav_mb = wavs[0].bytes.len() as f64 / 1e6;
    let (wavs_direct, wavs_gateway) = uploads(&db, wavs, &direct, &gateway, 100).await;
    let tracks = studio_wavs(TRACKS, TRACK_SECONDS, "ambient_track");
    let track_mb = tracks[0].bytes.len() as f64 / 1e6;
    let (tracks_direct, tracks_gateway) = uploads(&db, tracks, &direct, &gateway, 200).await;

    let mut keys = Vec::new();
    let http = reqwest::Client::new();
    for _ in 0..PLAYERS {
        let player = new_player(&db, None).await;
        let issued: Value = http
            .post(format!("{url}/players/{player}/key"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        keys.push(issued["key"].as_str().expect("a key is issued").to_string());
    }
    let keys = Arc::new(keys);
    let (mut baseline, mut tokens) = (0.0, 0.0);
    for _ in 0..2 {
        let nowhere = format!("{url}/bench/nothing");
        baseline += rate(move |http, _| http.get(&nowhere), |s| s == 404).await / 2.0;
        let (exchange, keys) = (format!("{url}/player/token"), keys.clone());
        tokens += rate(
            move |http, n| {
                http.post(&exchange)
                    .json(&json!({ "key": keys[n % keys.len()] }))
            },
            |s| s == 200,
        )
        .await
            / 2.0;
    }
    let _ = stop.send(());

    println!(
        "\nUploads, {UPLOADERS} concurrent clients, each set {ROUNDS} times (MB = 10^6 bytes)\n"
    );
    println!("| files | way | MB/s | files/s | vs the direct put |");
    println!("|---|---|---|---|---|");
    let sets = [
        (
            format!("{clip_count} demo clips (Ogg Vorbis, 22 kHz mono, 5–20 s; {clips_mb:.2} MB in all)"),
            clips_direct,
            clips_gateway,
        ),
        (
            format!("{WAVS} WAVs (44.1 kHz 16-bit stereo, {WAV_SECONDS:.0} s; {wav_mb:.1} MB each)"),
            wavs_direct,
            wavs_gateway,
        ),
        (
            format!("{TRACKS} tracks (WAV as above, {:.0} min; {track_mb:.1} MB each)", TRACK_SECONDS / 60.0),
            tracks_direct,
            tracks_gateway,
        ),
    ];
    for (files, direct, gateway) in sets {
        println!(
            "| {files} | direct aws-sdk-s3 PutObject to SeaweedFS (baseline) | {:.2} | {:.1} | 100 % |",
            direct.mb_per_s, direct.files_per_s
        );
        println!(
            "| {files} | POST /songs through the gateway (decode, loudness, embedding, S3, row) | {:.2} | {:.1} | {} |",
            gateway.mb_per_s,
            gateway.files_per_s,
            percent(gateway.mb_per_s, direct.mb_per_s)
        );
    }
    println!(
        "\nToken exchanges, {TOKEN_CLIENTS} concurrent clients, {TOKEN_SECONDS} s × 2 each, valid keys of {PLAYERS} players\n"
    );
    println!("| request | requests/s | vs its baseline |");
    println!("|---|---|---|");
    println!(
        "| GET an unknown path → 404 JSON error (baseline: HTTP and router, no work) | {baseline:.0} | 100 % |"
    );
    println!(
        "| POST /player/token (key lookup, SHA-256, HS256 JWT) | {tokens:.0} | {} |",
        percent(tokens, baseline)
    );
}
