//! Mixing benchmark: 16 looped layers, in multiples of real time on one
//! core, against decoding the same files as the baseline, with memory.
//!
//! `cargo bench -p cosound-player --bench mix` (LAYER_SECONDS=N sets the
//! clips' length, default 5). Prints one table.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cosound_player::decode::decode_file;
use cosound_player::mix::seam::make_loopable;
use cosound_player::mix::{Clip, Engine, MixPlan, Planned, CROSSFADE, MAX_CHANNELS};
use cosound_player::source::SongId;
use cosound_player::stream::mix_stream;

const RATE: u32 = 44_100;

fn main() {
    let seconds: f32 = std::env::var("LAYER_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let dir = tempfile::tempdir().expect("temp dir");
    let paths: Vec<_> = (0..MAX_CHANNELS)
        .map(|i| {
            let path = dir.path().join(format!("layer{i}.wav"));
            write_layer(&path, i, seconds);
            path
        })
        .collect();
    let rss_start = memory("VmRSS");
    let audio = f64::from(seconds) * MAX_CHANNELS as f64;

    // Baseline: decoding alone.
    let started = Instant::now();
    let decoded: Vec<Clip> = paths
        .iter()
        .map(|p| decode_file(p, RATE).expect("decodes"))
        .collect();
    let decode_time = started.elapsed();
    let clips: Vec<Arc<Clip>> = decoded
        .into_iter()
        .map(|mut clip| {
            make_loopable(&mut clip, RATE);
            Arc::new(clip)
        })
        .collect();
    let clip_bytes: usize = clips.iter().map(|c| c.bytes()).sum();
    let rss_loaded = memory("VmRSS");

    let plan = |first_song: i64| MixPlan {
        layers: clips
            .iter()
            .enumerate()
            .map(|(i, clip)| Planned {
                song: SongId(first_song + i as i64),
                clip: Arc::clone(clip),
                gain: 0.05,
            })
            .collect(),
        instrumental: None,
        volume_cap: None,
    };
    let mut engine = Engine::new(RATE, CROSSFADE);
    engine.apply(plan(0));
    let mut block = vec![0.0f32; 1024 * 2];
    render(
        &mut engine,
        &mut block,
        CROSSFADE + Duration::from_millis(100),
    );

    let steady = render(&mut engine, &mut block, Duration::from_secs(60));
    engine.apply(plan(100));
    let fading = render(&mut engine, &mut block, CROSSFADE);
    assert_eq!(engine.voice_count(), MAX_CHANNELS, "the fade has ended");

    let (mut source, mix) = mix_stream(Engine::new(RATE, CROSSFADE));
    mix.send(plan(0));
    let pulled = Duration::from_secs(30);
    let started = Instant::now();
    let mut sum = 0.0f32;
    for _ in 0..(pulled.as_secs() * u64::from(RATE) * 2) {
        sum += source.next().unwrap_or_default();
    }
    black_box(sum);
    let through_source = started.elapsed();

    let x = |audio: f64, wall: Duration| audio / wall.as_secs_f64();
    println!("cosound-player mix benchmark: {MAX_CHANNELS} layers of {seconds} s stereo, {RATE} Hz, one core");
    println!("| step | audio | wall | × real time |");
    println!("|---|---|---|---|");
    for (step, audio, wall) in [
        ("decode 16 files (baseline)", audio, decode_time),
        ("mix 16 layers, steady", 60.0, steady),
        (
            "mix 16 → 16 other layers, crossfading (32 voices)",
            CROSSFADE.as_secs_f64(),
            fading,
        ),
        (
            "mix 16 layers through the rodio Source",
            pulled.as_secs_f64(),
            through_source,
        ),
    ] {
        println!(
            "| {step} | {audio:.0} s | {:.1} ms | {:.0}× |",
            wall.as_secs_f64() * 1e3,
            x(audio, wall)
        );
    }
    println!();
    println!("| memory | MB |");
    println!("|---|---|");
    println!("| RSS before decoding | {:.1} |", rss_start / 1e6);
    println!("| RSS with 16 layers loaded | {:.1} |", rss_loaded / 1e6);
    println!("| of which clip samples | {:.1} |", clip_bytes as f64 / 1e6);
    println!(
        "| peak RSS (VmHWM), whole run | {:.1} |",
        memory("VmHWM") / 1e6
    );
}

/// Renders `duration` of the mix, returning the wall time it took.
fn render(engine: &mut Engine, block: &mut [f32], duration: Duration) -> Duration {
    let frames = (duration.as_secs_f64() * f64::from(RATE)) as usize;
    let started = Instant::now();
    for _ in 0..frames.div_ceil(block.len() / 2) {
        engine.render(block);
        black_box(&block);
    }
    started.elapsed()
}

/// A stereo layer: a chord with a little noise, different for each layer.
fn write_layer(path: &Path, index: usize, seconds: f32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create wav");
    let base = 110.0 * (1.0 + index as f32 / 7.0);
    let mut noise: u32 = 0x9e37_79b9 ^ index as u32;
    for i in 0..(seconds * RATE as f32) as usize {
        let t = i as f32 / RATE as f32;
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let hiss = (noise as f32 / u32::MAX as f32 - 0.5) * 0.1;
        let tone = (std::f32::consts::TAU * base * t).sin() * 0.3
            + (std::f32::consts::TAU * base * 1.5 * t).sin() * 0.2;
        for side in [tone + hiss, tone - hiss] {
            writer
                .write_sample((side * 32_767.0) as i16)
                .expect("write sample");
        }
    }
    writer.finalize().expect("finish wav");
}

/// A memory figure of this process from /proc, in bytes.
fn memory(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb * 1024.0)
}
