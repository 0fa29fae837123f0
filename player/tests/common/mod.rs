#![allow(dead_code)] // each test binary uses its own part of these helpers
//! Test audio: sine-tone files written here, a Goertzel filter to measure
//! tones in what the player renders, and a WAV render of a queue file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cosound_player::cache::{LocalFetcher, MediaCache};
use cosound_player::controller::Controller;
use cosound_player::file_source::FileQueue;
use cosound_player::mix::{Engine, CROSSFADE};
use cosound_player::output::{polled_on_render_clock, render_wav};
use cosound_player::stream::mix_stream;

pub const RATE: u32 = 44_100;
/// Analysis window: 0.1 s holds whole cycles of 220 Hz and 330 Hz.
pub const WINDOW: usize = 4_410;

/// Writes a sine tone of `seconds` to a 16-bit WAV file, on `channels`
/// identical channels.
pub fn write_tone(path: &Path, freq: f32, amplitude: f32, seconds: f32, channels: u16) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(seconds * RATE as f32) as usize {
        let v = amplitude * (2.0 * std::f32::consts::PI * freq * i as f32 / RATE as f32).sin();
        for _ in 0..channels {
            writer.write_sample((v * 32_767.0).round() as i16).unwrap();
        }
    }
    writer.finalize().unwrap();
}

/// The left channel of a rendered (stereo, float) WAV file.
pub fn read_left(path: &Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    assert_eq!(reader.spec().channels, 2);
    assert_eq!(reader.spec().sample_rate, RATE);
    reader
        .samples::<f32>()
        .step_by(2)
        .map(Result::unwrap)
        .collect()
}

/// Amplitude of the `freq` Hz tone in `x` (Goertzel; exact when `x` holds
/// whole cycles of it).
pub fn tone_amplitude(x: &[f32], freq: f32) -> f32 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * f64::from(freq) / f64::from(RATE)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    (2.0 * power.max(0.0).sqrt() / x.len() as f64) as f32
}

/// The `WINDOW` samples starting at `seconds`.
pub fn window_at(x: &[f32], seconds: f64) -> &[f32] {
    let start = (seconds * f64::from(RATE)).round() as usize;
    &x[start..start + WINDOW]
}

/// A layer entry for a queue file.
pub fn layer(song: i64, uri: &str, gain: f32, loudness: f32) -> String {
    format!(
        r#"{{"song_id":{song},"media":{{"uri":"{uri}"}},"gain":{gain},"loudness_gain":{loudness}}}"#
    )
}

/// Writes a queue file of `layers` in `dir`.
pub fn write_queue(dir: &Path, layers: &[String]) -> PathBuf {
    let path = dir.join("mix.json");
    std::fs::write(&path, format!(r#"{{"layers":[{}]}}"#, layers.join(","))).unwrap();
    path
}

/// Renders `seconds` of the mix the queue file asks for into `out.wav` in
/// its directory, polling every 5 s of audio as the binary does.
pub fn render_queue(queue_file: &Path, seconds: f32) -> PathBuf {
    let dir = queue_file.parent().unwrap();
    let queue = FileQueue::new(queue_file);
    let cache = MediaCache::open(
        &dir.join("cache"),
        1 << 30,
        Box::new(LocalFetcher::new(queue.media_dir())),
    )
    .unwrap();
    let (source, mix) = mix_stream(Engine::new(RATE, CROSSFADE));
    let controller = Controller::new(Box::new(queue), cache, mix, "test".into());
    let source = polled_on_render_clock(source, controller, Duration::from_secs(5));
    let out = dir.join("out.wav");
    render_wav(source, Duration::from_secs_f32(seconds), &out).unwrap();
    out
}
