//! `cosound-ml bench`: the feature extraction's throughput in seconds of audio per second, then
//! what the default model's window features and embedding of a 60 s clip cost.

use anyhow::{Context, Result};
use cosound_ml::clip::load_file;
use cosound_ml::decode::decode_file;
use cosound_ml::features::{extended, reference, Extractor, FeatureSet};
use cosound_ml::resample::{to_analysis_rate, ANALYSIS_RATE};
use cosound_ml::Model;
use std::path::PathBuf;
use std::time::Instant;

pub fn run(files: &[PathBuf], rounds: usize, throughput_only: bool) -> Result<()> {
    let extractor = Extractor::default();
    let mut best = f64::INFINITY;
    let mut audio_seconds = 0.0;
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        audio_seconds = 0.0;
        for file in files {
            let decoded = decode_file(file)?;
            audio_seconds += decoded.samples.len() as f64 / f64::from(decoded.sample_rate);
            let samples = to_analysis_rate(&decoded.samples, decoded.sample_rate);
            std::hint::black_box(extractor.features(FeatureSet::Reference, samples));
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!("{:.1}", audio_seconds / best);
    if throughput_only {
        return Ok(());
    }
    bench_embedding(&extractor, files, rounds)
}

/// Milliseconds of the fastest of `rounds` runs of each step; the steps
/// take turns, so that load from other processes falls on all of them alike.
fn best_ms<const N: usize>(rounds: usize, steps: [&dyn Fn(); N]) -> [f64; N] {
    let mut best = [f64::INFINITY; N];
    for _ in 0..rounds.max(1) {
        for (best, step) in best.iter_mut().zip(&steps) {
            let start = Instant::now();
            step();
            *best = best.min(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    best
}

const EMBEDDING_ROUNDS_PER_ROUND: usize = 5;

/// The default model's window features of a 60 s clip (the files joined)
/// with each window's frame values computed on its own (the baseline: how
/// they were computed before) and shared by the windows (how the model
/// computes them), and the whole embedding from samples.
fn bench_embedding(extractor: &Extractor, files: &[PathBuf], rounds: usize) -> Result<()> {
    let length = 60 * ANALYSIS_RATE as usize;
    let mut clip = Vec::with_capacity(length);
    for file in files {
        clip.extend(load_file(file)?);
        if clip.len() >= length {
            break;
        }
    }
    clip.truncate(length);
    let model = Model::default_model();
    let segments = model
        .segments
        .context("the default model cuts clips into windows")?;
    let alone = || {
        let analysis = extractor.analyse(clip.clone());
        let reference = reference::FrameValues::new(&analysis.whole());
        for frames in analysis.windows(segments) {
            std::hint::black_box(reference.summarise(frames.clone()));
            let window = extended::FrameValues::new(&analysis.window(frames.clone()));
            std::hint::black_box(window.summarise(0..frames.len()));
        }
    };
    let shared = || {
        std::hint::black_box(extractor.window_features(
            model.feature_set,
            Some(segments),
            clip.clone(),
        ));
    };
    let embed = || {
        std::hint::black_box(model.embed_with(extractor, clip.clone()));
    };
    // A run takes a tenth of a second: more rounds than the throughput's.
    let [alone, shared, embed] = best_ms(
        EMBEDDING_ROUNDS_PER_ROUND * rounds,
        [&alone, &shared, &embed],
    );
    let windows = extractor.analyse(clip.clone()).windows(segments).len();
    println!(
        "clip_seconds {:.1}",
        clip.len() as f64 / f64::from(ANALYSIS_RATE)
    );
    println!("windows {windows}");
    println!("window_seconds {}", segments.seconds);
    println!("window_hop_seconds {}", segments.hop_seconds);
    println!("features_windows_alone_ms {alone:.1}");
    println!("features_windows_shared_ms {shared:.1}");
    println!("embedding_ms {embed:.1}");
    Ok(())
}
