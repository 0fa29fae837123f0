//! `cosound-ml`: train, evaluate and apply the embedding model.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use catalogue::{Catalogue, Stored};
use clap::{Parser, Subcommand};
use cosound_ml::batch::{self, FolderSource, Source};
use cosound_ml::clip::load_file;
use cosound_ml::cv::{cross_validate, Report};
use cosound_ml::dataset::{Dataset, Rows};
use cosound_ml::decode::decode_file;
use cosound_ml::features::{extended, reference, Extractor, FeatureSet};
use cosound_ml::resample::{to_analysis_rate, ANALYSIS_RATE};
use cosound_ml::train::{self, Config};
use cosound_ml::{Error, Model, CLASSES};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

mod catalogue;

const BATCH_PREDICT: &str = "\
Embeds many sounds, keeping going past bad ones.

Without FOLDER (the database mode), it embeds every song of the catalogue \
that has no embedding yet, or every song with --all (after a model change). \
Each song's audio is read from the S3 bucket where the gateway stored it \
(songs.object_key), and its embedding is written to the database in a \
statement of its own as soon as it is computed. It takes the gateway's \
settings: the same flags and COSOUND_* variables. A song whose audio is \
missing, not audio, silent or otherwise bad is reported by id, title and key \
and left as it was; a song the gateway deletes meanwhile is skipped. Exits \
non-zero when any song failed, after a summary.

With FOLDER, it embeds the audio files (wav, flac, ogg, mp3) directly inside \
it into a CSV file (--output): one line per file, one column per class.";

#[derive(Parser)]
#[command(version, about = "Ambient-sound embedding model of Cosound")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a folder with labels.csv and write the model file.
    Train {
        /// Folder with labels.csv (filename, label, src_file) and the audio.
        data: PathBuf,
        #[arg(short, long, default_value = "model.json")]
        output: PathBuf,
    },
    /// Cross-validate the reference and the current pipeline on a labelled folder.
    Evaluate {
        data: PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Repeat with this many different fold assignments and average.
        #[arg(long, default_value_t = 5)]
        repeats: u64,
    },
    /// Print the embedding (5 class weights) of each file.
    Predict {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print one JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// A model file instead of the built-in default model.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Measure feature extraction (decode, resample, reference features)
    /// throughput on the given files, printed first as seconds of audio per
    /// second; then the cost of the default model's window features and
    /// embedding of a 60 s clip made of the files, as `name value` lines.
    Bench {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Passes over the files (the first also warms the caches).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Only the throughput: for runs that take turns with another
        /// implementation's, so that both meet the same machine.
        #[arg(long)]
        throughput_only: bool,
    },
    /// Embed the catalogue's songs that lack an embedding (all with --all),
    /// or the audio files of a folder into a CSV file.
    #[command(long_about = BATCH_PREDICT)]
    BatchPredict {
        /// Embed the audio files directly inside this folder into --output
        /// instead of the database's songs.
        folder: Option<PathBuf>,
        /// The CSV file of the folder mode.
        #[arg(short, long, default_value = "embeddings.csv")]
        output: PathBuf,
        /// Embed every song again, not only those lacking an embedding (after
        /// a model change); each keeps its old embedding until its new one is
        /// written.
        #[arg(long, conflicts_with = "folder")]
        all: bool,
        /// A model file instead of the built-in default model.
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        settings: catalogue::Settings,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train { data, output } => train(&data, &output),
        Command::Evaluate {
            data,
            folds,
            repeats,
        } => evaluate(&data, folds, repeats),
        Command::Predict { files, json, model } => predict(&load_model(model)?, &files, json),
        Command::Bench {
            files,
            rounds,
            throughput_only,
        } => bench(&files, rounds, throughput_only),
        Command::BatchPredict {
            folder: Some(folder),
            output,
            model,
            ..
        } => batch_predict(&load_model(model)?, folder, &output),
        Command::BatchPredict {
            folder: None,
            all,
            model,
            settings,
            ..
        } => batch_predict_songs(&load_model(model)?, &settings, all),
    }
}

fn bench(files: &[PathBuf], rounds: usize, throughput_only: bool) -> Result<()> {
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

fn load_model(path: Option<PathBuf>) -> Result<Model> {
    Ok(match path {
        Some(path) => Model::load(&path)?,
        None => Model::default_model().clone(),
    })
}

fn predict(model: &Model, files: &[PathBuf], json: bool) -> Result<()> {
    let mut failed = 0;
    if !json {
        println!(
            "{:<40} {}",
            "file",
            CLASSES.map(|c| format!("{c:>15}")).join("")
        );
    }
    for file in files {
        match model.embed_file(file) {
            Ok(embedding) if json => println!(
                "{}",
                serde_json::json!({ "file": file, "embedding": embedding, "classes": CLASSES })
            ),
            Ok(embedding) => println!(
                "{:<40} {}",
                file.display(),
                embedding.map(|w| format!("{w:>15.4}")).join("")
            ),
            Err(error) => {
                eprintln!("error: {error}");
                failed += 1;
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} of {} file(s) failed", files.len());
    Ok(())
}

fn batch_predict(model: &Model, folder: PathBuf, output: &Path) -> Result<()> {
    let source = FolderSource { dir: folder };
    let count = source.items()?.len();
    let bar = progress(count, "embedding");
    let outcomes = batch::run(model, &source, &|| bar.inc(1))?;
    bar.finish_and_clear();
    batch::write_csv(output, &outcomes)?;
    let failures: Vec<&Error> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .collect();
    println!(
        "embedded {} of {count} file(s) into {}",
        count - failures.len(),
        output.display()
    );
    for error in &failures {
        eprintln!("failed: {error}");
    }
    anyhow::ensure!(failures.is_empty(), "{} file(s) failed", failures.len());
    Ok(())
}

fn batch_predict_songs(model: &Model, settings: &catalogue::Settings, all: bool) -> Result<()> {
    let catalogue = Catalogue::open(settings, all)?;
    let songs = catalogue.items()?;
    let bar = progress(songs.len(), "embedding");
    let results = batch::run_each(
        model,
        &catalogue,
        &songs,
        &|song, outcome| (outcome.name.clone(), catalogue.keep(song, outcome)),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let (mut written, mut failed) = (0, 0);
    for (name, result) in &results {
        match result {
            Ok(Stored::Written) => written += 1,
            Ok(Stored::Gone) => println!(
                "skipped: {name}: deleted, or its audio replaced, while it was embedded; nothing written"
            ),
            Err(error) => {
                eprintln!("failed: {error}");
                failed += 1;
            }
        }
    }
    let which = if all { "" } else { " lacking an embedding" };
    println!("embedded {written} of {} song(s){which}", songs.len());
    anyhow::ensure!(
        failed == 0,
        "{failed} song(s) failed and were left as they were"
    );
    Ok(())
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_message(what.to_string());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

fn features(dataset: &Dataset, config: &Config) -> Result<Rows> {
    let bar = progress(dataset.examples.len(), "features");
    let rows = dataset.features(config.feature_set, config.segments, &|| bar.inc(1))?;
    bar.finish_and_clear();
    Ok(rows)
}

fn train(data: &Path, output: &Path) -> Result<()> {
    let dataset = Dataset::open(data)?;
    let bar = progress(dataset.examples.len(), "features");
    let model = train::train(&dataset, &Config::improved(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    model
        .save(output)
        .with_context(|| format!("writing {}", output.display()))?;
    println!(
        "trained on {} clips (λ = {}), wrote {}",
        dataset.examples.len(),
        model.lambda,
        output.display()
    );
    Ok(())
}

fn evaluate(data: &Path, folds: usize, repeats: u64) -> Result<()> {
    anyhow::ensure!(
        folds >= 2 && repeats >= 1,
        "need at least 2 folds and 1 repeat"
    );
    let dataset = Dataset::open(data)?;
    let (labels, groups) = (dataset.labels(), dataset.groups());
    println!(
        "{folds}-fold cross-validation grouped by source recording, {repeats} fold assignment(s)"
    );
    println!(
        "{:<10} {:>8} {:>22}",
        "pipeline", "top-1", "others' mean max weight"
    );
    let mut per_class = Vec::new();
    for (name, config) in [
        ("reference", Config::reference()),
        ("current", Config::improved()),
    ] {
        let rows = features(&dataset, &config)?;
        let reports: Vec<Report> = (0..repeats)
            .map(|seed| cross_validate(&config, &rows, &labels, &groups, folds, seed))
            .collect();
        let mean =
            |f: fn(&Report) -> f64| reports.iter().map(f).sum::<f64>() / reports.len() as f64;
        println!(
            "{name:<10} {:>8.3} {:>22.3}",
            mean(|r| r.top1),
            mean(|r| r.other_mean_max)
        );
        per_class.push((name, reports));
    }
    println!("\nper-class top-1 (all fold assignments pooled)");
    println!(
        "{:<10} {}",
        "pipeline",
        CLASSES.map(|c| format!("{c:>15}")).join("")
    );
    for (name, reports) in &per_class {
        let accuracy = (0..CLASSES.len()).map(|c| {
            let row = |r: &Report| r.confusion[c];
            let total: usize = reports.iter().map(|r| row(r).iter().sum::<usize>()).sum();
            let right: usize = reports.iter().map(|r| row(r)[c]).sum();
            format!("{:>15.3}", right as f64 / total.max(1) as f64)
        });
        println!("{name:<10} {}", accuracy.collect::<String>());
    }
    Ok(())
}
