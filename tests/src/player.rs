//! Helpers for the player's end-to-end tests: sine-tone songs uploaded through the gateway, a
//! player with a key, the player itself (the `cosound-player` library, wired as its binary
//! wires it) rendering headlessly on its render clock, tones measured in what it renders,
//! and PostgREST stopped and started under it.
//!
//! A test renders the mix a piece at a time and acts on the stack in between, so it knows to
//! the poll what the player could have seen.

use crate::{gateway_url, new_player, setting};
use cosound_player::cache::MediaCache;
use cosound_player::controller::Controller;
use cosound_player::mix::{Engine, CROSSFADE};
use cosound_player::network::media::GatewayFetcher;
use cosound_player::network::queue::NetworkQueue;
use cosound_player::network::session::Session;
use cosound_player::output::polled_on_render_clock;
use cosound_player::stream::{mix_stream, MixSource};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The rate the player renders at in these tests.
pub const RATE: u32 = 44_100;

/// A mono 16-bit WAV file of a `freq` Hz sine tone; `seed` nudges its level so that no two
/// uploads are the same file.
pub fn tone(freq: f64, seconds: f64, seed: u64) -> Vec<u8> {
    let amplitude = 0.4 + (seed % 1000) as f64 * 1e-5;
    let frames = (seconds * f64::from(RATE)) as u32;
    let samples = (0..frames)
        .map(|i| amplitude * (std::f64::consts::TAU * freq * f64::from(i) / f64::from(RATE)).sin());
    crate::audio::wav_file(RATE, 1, samples)
}

/// Uploads a soundscape of a `freq` Hz tone through the gateway as `admin`; its song id.
pub async fn upload_tone(admin: &str, freq: f64) -> i64 {
    let seed = crate::gateway::unique_seed();
    let (status, song) = crate::gateway::upload(
        Some(admin),
        &format!("title=Tone {freq} Hz {seed}&type=soundscape"),
        tone(freq, 2.0, seed),
    )
    .await;
    assert_eq!(status, 201, "the tone uploads: {song}");
    song["id"].as_i64().unwrap()
}

/// A new player and the key its manager (here `admin`) issued for it at the gateway.
pub async fn player_with_key(db: &tokio_postgres::Client, admin: &str) -> (i64, String) {
    let player = new_player(db, None).await;
    let response = reqwest::Client::new()
        .post(format!("{}/players/{player}/key", gateway_url()))
        .bearer_auth(admin)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    (player, body["key"].as_str().unwrap().to_string())
}

/// Makes `songs` the player's whole library and lets the database pick its queue from it.
pub async fn play_from(db: &tokio_postgres::Client, player: i64, songs: &[i64]) {
    db.execute(
        "delete from cosound.player_library where player_id = $1",
        &[&player],
    )
    .await
    .unwrap();
    for song in songs {
        db.execute(
            "insert into cosound.player_library (player_id, song_id) values ($1, $2)",
            &[&player, song],
        )
        .await
        .unwrap();
    }
    db.execute("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap();
}

/// The songs in the player's queue, by slot.
pub async fn queued(db: &tokio_postgres::Client, player: i64) -> Vec<i64> {
    crate::column(
        db,
        "select song_id from cosound.player_queue where player_id = $1 order by slot",
        &[&player],
    )
    .await
}

/// A `cosound-player` wired to the stack as its binary is, rendering on its render clock.
pub struct Player {
    source: MixSource,
    /// The left channel of everything rendered so far.
    pub rendered: Vec<f32>,
    _cache: tempfile::TempDir,
}

impl Player {
    /// Must not be called inside an async runtime: the player runs its own.
    pub fn start(key: &str, poll_interval: Duration) -> Self {
        let cache_dir = tempfile::tempdir().unwrap();
        let session = Arc::new(Session::new(&gateway_url(), key.to_string()).unwrap());
        let queue = NetworkQueue::new(Arc::clone(&session), &crate::api_url());
        let cache = MediaCache::open(
            cache_dir.path(),
            1 << 30,
            Box::new(GatewayFetcher::new(session)),
        )
        .unwrap();
        let (source, mix) = mix_stream(Engine::new(RATE, CROSSFADE));
        let controller = Controller::new(Box::new(queue), cache, mix, "test".into());
        Player {
            source: polled_on_render_clock(source, controller, poll_interval),
            rendered: Vec::new(),
            _cache: cache_dir,
        }
    }

    /// Renders `seconds` more of the mix.
    pub fn render(&mut self, seconds: f64) {
        let frames = (seconds * f64::from(RATE)).round() as usize;
        for _ in 0..frames {
            let left = self.source.next().expect("the mix never ends");
            self.source.next();
            self.rendered.push(left);
        }
    }

    /// Seconds of audio rendered so far.
    pub fn elapsed(&self) -> f64 {
        self.rendered.len() as f64 / f64::from(RATE)
    }

    /// The amplitude of the `freq` Hz tone in the 0.1 s of audio from `at` seconds.
    pub fn tone_at(&self, at: f64, freq: f64) -> f64 {
        let start = (at * f64::from(RATE)).round() as usize;
        tone_amplitude(&self.rendered[start..start + RATE as usize / 10], freq)
    }
}

/// Amplitude of the `freq` Hz tone in `x` (Goertzel; exact over whole cycles, and 0.1 s holds
/// whole cycles of every tone these tests use).
pub fn tone_amplitude(x: &[f32], freq: f64) -> f64 {
    let coeff = 2.0 * (std::f64::consts::TAU * freq / f64::from(RATE)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

/// The stack's PostgREST, which a test may stop and start again. A test that does must be
/// alone in its test binary: other tests would lose the API meanwhile.
pub struct PostgrestService {
    binary: PathBuf,
    dir: PathBuf,
}

impl PostgrestService {
    pub fn of_the_stack() -> Self {
        Self {
            binary: setting("COSOUND_TEST_POSTGREST").into(),
            dir: setting("COSOUND_TEST_STACK_DIR").into(),
        }
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("run/postgrest.pid")
    }

    /// Stops it as `cargo xtask down` would (SIGTERM to its process group) and waits until
    /// its port refuses connections.
    pub fn stop(&self) {
        let pid = std::fs::read_to_string(self.pid_file()).expect("PostgREST runs");
        let status = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", pid.trim())])
            .status()
            .unwrap();
        assert!(status.success(), "PostgREST (pid {pid}) is stopped");
        wait_for(|| !answers(&crate::api_url()), "PostgREST to stop");
    }

    /// Starts it again as the stack did, recording its PID where the stack's teardown finds
    /// it, and waits until it serves (its schema cache loaded).
    pub fn start(&self) {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("logs/postgrest.log"))
            .unwrap();
        // It outlives the test, as the first one did: the stack's teardown stops it by the PID
        // file, and when the test ends first, init reaps it.
        #[allow(clippy::zombie_processes)]
        let child = Command::new(&self.binary)
            .arg(self.dir.join("postgrest.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("PostgREST starts");
        std::fs::write(self.pid_file(), child.id().to_string()).unwrap();
        wait_for(|| answers(&crate::api_url()), "PostgREST to serve");
    }
}

/// Whether `url` answers below 500.
fn answers(url: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() < 500)
    })
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
