//! The mix rendered headless through the WAV output and measured: layer
//! gains, the crossfade envelope, the loop seam, bad files.

mod common;

use std::f64::consts::FRAC_PI_2;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use cosound_player::mix::{Clip, Engine, MixPlan, Planned, CROSSFADE};
use cosound_player::output::render_wav;
use cosound_player::source::SongId;
use cosound_player::stream::mix_stream;

#[test]
fn layers_play_at_the_gains_asked_times_their_loudness_gain() {
    let dir = tempfile::tempdir().unwrap();
    write_tone(&dir.path().join("a220.wav"), 220.0, 0.5, 2.0, 1);
    write_tone(&dir.path().join("b330.wav"), 330.0, 0.5, 2.0, 2);
    let queue = write_queue(
        dir.path(),
        &[
            layer(1, "a220.wav", 0.8, 0.5),
            layer(2, "b330.wav", 0.3, 1.0),
        ],
    );
    let left = read_left(&render_queue(&queue, 8.0));

    // After the 6 s fade-in: 0.5 × 0.8 × 0.5 = 0.2 and 0.5 × 0.3 = 0.15,
    // measured over ten windows spanning several loop seams.
    let (mut err220, mut err330) = (0.0f32, 0.0f32);
    for k in 0..15 {
        let w = window_at(&left, 6.2 + 0.1 * k as f64);
        err220 = err220.max((tone_amplitude(w, 220.0) - 0.2).abs());
        err330 = err330.max((tone_amplitude(w, 330.0) - 0.15).abs());
    }
    println!("gain error: 220 Hz layer {err220:.5}, 330 Hz layer {err330:.5} (of 0.2 / 0.15)");
    assert!(err220 < 0.002 && err330 < 0.002);
    let early = window_at(&left, 3.0);
    assert!(
        tone_amplitude(early, 220.0) < 0.2 * 0.8,
        "still fading in at 3 s"
    );
}

#[test]
fn a_change_crossfades_over_six_seconds_on_the_equal_power_curve() {
    let tone = |freq: f32| {
        Arc::new(Clip::mono(
            (0..RATE as usize)
                .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / RATE as f32).sin())
                .collect(),
        ))
    };
    let plan = |song: i64, clip: &Arc<Clip>| MixPlan {
        layers: vec![Planned {
            song: SongId(song),
            clip: Arc::clone(clip),
            gain: 0.5,
        }],
        instrumental: None,
        volume_cap: None,
    };
    let (a, b) = (tone(220.0), tone(330.0));
    let (source, mix) = mix_stream(Engine::new(RATE, CROSSFADE));
    let switched = Arc::new(Mutex::new(None));
    let switched_at = Arc::clone(&switched);
    let mut step = 0;
    let source = source.with_hook(Box::new(move |elapsed| {
        if step == 0 {
            mix.send(plan(1, &a));
            step = 1;
        } else if step == 1 && elapsed >= Duration::from_secs_f32(6.5) {
            mix.send(plan(2, &b));
            *switched_at.lock().unwrap() = Some(elapsed);
            step = 2;
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fade.wav");
    render_wav(source, Duration::from_secs(13), &out).unwrap();
    let left = read_left(&out);
    let t0 = switched.lock().unwrap().unwrap().as_secs_f64();

    // Windows centred at t0 + 0.05 … t0 + 5.95 s against 0.5·cos and 0.5·sin.
    let mut worst = 0.0f64;
    for k in 0..60 {
        let w = window_at(&left, t0 + 0.1 * k as f64);
        let t = (0.1 * k as f64 + 0.05) / CROSSFADE.as_secs_f64();
        let out_gain = 0.5 * (FRAC_PI_2 * t).cos();
        let in_gain = 0.5 * (FRAC_PI_2 * t).sin();
        worst = worst
            .max((f64::from(tone_amplitude(w, 220.0)) - out_gain).abs())
            .max((f64::from(tone_amplitude(w, 330.0)) - in_gain).abs());
    }
    println!("crossfade envelope: worst error {worst:.5} of gain 0.5 (60 windows of 0.1 s)");
    assert!(worst < 0.002);
    let after = window_at(&left, t0 + 6.2);
    assert!(tone_amplitude(after, 220.0) < 1e-3, "the old layer is gone");
    assert!((tone_amplitude(after, 330.0) - 0.5).abs() < 1e-3);
}

#[test]
fn a_looped_layer_has_no_discontinuity_at_its_seam() {
    let dir = tempfile::tempdir().unwrap();
    // 0.31 s of 220 Hz is 68.2 cycles: looped as is, it would jump.
    write_tone(&dir.path().join("short.wav"), 220.0, 0.5, 0.31, 1);
    let queue = write_queue(dir.path(), &[layer(1, "short.wav", 1.0, 1.0)]);
    let left = read_left(&render_queue(&queue, 7.5));

    let natural = 0.5 * 2.0 * std::f32::consts::PI * 220.0 / RATE as f32;
    let steady = &left[(6.1 * RATE as f32) as usize..];
    let worst = steady
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    let last =
        0.5 * (2.0 * std::f32::consts::PI * 220.0 * (0.31 * RATE as f32 - 1.0) / RATE as f32).sin();
    println!(
        "loop seam: largest step {worst:.5} vs a pure tone's {natural:.5}; \
         a plain loop would step {:.5}",
        last.abs()
    );
    assert!(worst < 1.02 * natural, "step {worst} vs {natural}");
}

#[test]
fn corrupt_and_missing_files_are_skipped_and_the_rest_plays() {
    let dir = tempfile::tempdir().unwrap();
    write_tone(&dir.path().join("good.wav"), 330.0, 0.5, 1.0, 1);
    let junk: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("corrupt.ogg"), junk).unwrap();
    let mut header_only = std::fs::read(dir.path().join("good.wav")).unwrap();
    header_only.truncate(44);
    std::fs::write(dir.path().join("empty.wav"), header_only).unwrap();
    let queue = write_queue(
        dir.path(),
        &[
            layer(1, "corrupt.ogg", 1.0, 1.0),
            layer(2, "missing.flac", 1.0, 1.0),
            layer(3, "empty.wav", 1.0, 1.0),
            layer(4, "good.wav", 0.6, 1.0),
        ],
    );
    let left = read_left(&render_queue(&queue, 7.0));
    assert!(left.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
    let amplitude = tone_amplitude(window_at(&left, 6.5), 330.0);
    println!("with 3 bad files skipped, the good layer plays at {amplitude:.4} (asked 0.3)");
    assert!((amplitude - 0.3).abs() < 0.002);
}
