//! The `cosound-player` binary as a user runs it.

mod common;

use std::process::Command;

use common::*;

fn player() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cosound-player"));
    cmd.env_remove("COSOUND_API_URL")
        .env_remove("COSOUND_GATEWAY_URL")
        .env("RUST_LOG", "warn");
    cmd
}

/// Runs the binary on `queue` with `wav:` output for two seconds; the left channel it wrote.
fn render_to_wav(queue: &std::path::Path, out: &std::path::Path) -> Vec<f32> {
    let cache = queue.parent().unwrap().join("cache");
    let status = player()
        .args(["--queue-file", queue.to_str().unwrap()])
        .args(["--cache-dir", cache.to_str().unwrap()])
        .args(["--output", &format!("wav:{}", out.display())])
        .args(["--duration", "2", "--status", "off"])
        .status()
        .unwrap();
    assert!(status.success());
    read_left(out)
}

#[test]
fn renders_a_queue_file_to_wav_without_a_sound_card() {
    let dir = tempfile::tempdir().unwrap();
    write_tone(&dir.path().join("tone.wav"), 220.0, 0.5, 1.0, 1);
    let queue = write_queue(dir.path(), &[layer(1, "tone.wav", 1.0, 1.0)]);
    let left = render_to_wav(&queue, &dir.path().join("rendered.wav"));
    assert_eq!(left.len(), 2 * RATE as usize);
    assert!(tone_amplitude(window_at(&left, 1.5), 220.0) > 0.05);
}

#[test]
fn a_volume_cap_holds_the_rendered_mix_down() {
    let dir = tempfile::tempdir().unwrap();
    write_tone(&dir.path().join("tone.wav"), 220.0, 0.5, 1.0, 1);
    let tone = layer(1, "tone.wav", 1.0, 1.0);
    let rendered = |name: &str, queue: String| {
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, queue).unwrap();
        let left = render_to_wav(&file, &dir.path().join(format!("{name}.wav")));
        tone_amplitude(window_at(&left, 1.5), 220.0)
    };
    let full = rendered("full", format!(r#"{{"layers":[{tone}]}}"#));
    let quiet = rendered(
        "quiet",
        format!(r#"{{"layers":[{tone}],"volume_cap":0.25}}"#),
    );
    assert!(full > 0.05, "{full}");
    assert!((quiet / full - 0.25).abs() < 0.01, "{quiet} of {full}");
}

#[test]
fn a_missing_sound_card_is_reported_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let queue = write_queue(dir.path(), &[]);
    let output = player()
        .env("HOME", dir.path())
        .args(["--queue-file", queue.to_str().unwrap()])
        .args(["--cache-dir", dir.path().join("cache").to_str().unwrap()])
        .args([
            "--output",
            "default",
            "--duration",
            "0.5",
            "--status",
            "off",
        ])
        .output()
        .unwrap();
    // A machine with a sound card plays half a second of silence instead.
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(
            err.contains("default audio device") && err.contains("--output wav:PATH"),
            "{err}"
        );
    }
}

#[test]
fn without_a_queue_file_the_network_settings_are_asked_for() {
    let output = player().output().unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--api-url"), "{err}");
}

/// A player with the network settings but no key.
fn networked(dir: &std::path::Path) -> Command {
    let mut cmd = player();
    cmd.env_remove("COSOUND_PLAYER_KEY")
        .env_remove("COSOUND_PLAYER_KEY_FILE")
        .args(["--cache-dir", dir.join("cache").to_str().unwrap()])
        .args(["--api-url", &format!("http://{}", dead_address())])
        .args(["--gateway-url", &format!("http://{}", dead_address())])
        .args(["--status", "off"]);
    cmd
}

/// An address where nothing listens (bound, then freed).
fn dead_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn without_a_key_the_player_says_where_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = networked(dir.path()).output().unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("no player key") && err.contains("--player-key-file"),
        "{err}"
    );
}

#[test]
fn with_its_servers_unreachable_the_player_runs_on_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rendered.wav");
    let output = networked(dir.path())
        .env("COSOUND_PLAYER_KEY", "cpk_1_not-a-real-key")
        .env("RUST_LOG", "info")
        .args(["--output", &format!("wav:{}", out.display())])
        .args(["--duration", "3", "--poll-interval", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("the gateway is unreachable"), "{err}");
    assert_eq!(read_left(&out).len(), 3 * RATE as usize);
}
