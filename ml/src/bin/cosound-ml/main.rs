//! `cosound-ml`: train, evaluate and apply the embedding model.
//! - `train` and `evaluate` ([`train`]): fit the model on a labelled folder, or cross-validate it;
//! - `predict` and `batch-predict` ([`predict`]): embed files, a folder, or the catalogue's songs
//!   ([`catalogue`]: read from the bucket, written to the database);
//! - `bench` ([`bench`]): the feature extraction's and the embedding's speed.

mod bench;
mod catalogue;
mod predict;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

const BATCH_PREDICT: &str = "\
Embeds many sounds, keeping going past bad ones.

Without FOLDER (the database mode), it embeds every song of the catalogue \
that has no embedding yet or whose embedding another model computed (each \
song records its model's id), or every song with --all. \
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
    /// Embed the catalogue's songs that lack an embedding or were placed by
    /// another model (all with --all), or the audio files of a folder into a
    /// CSV file.
    #[command(long_about = BATCH_PREDICT)]
    BatchPredict {
        /// Embed the audio files directly inside this folder into --output
        /// instead of the database's songs.
        folder: Option<PathBuf>,
        /// The CSV file of the folder mode.
        #[arg(short, long, default_value = "embeddings.csv")]
        output: PathBuf,
        /// Embed every song again, those this model placed too; each keeps
        /// its old embedding until its new one is written.
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
        Command::Train { data, output } => train::train(&data, &output),
        Command::Evaluate {
            data,
            folds,
            repeats,
        } => train::evaluate(&data, folds, repeats),
        Command::Predict { files, json, model } => {
            predict::files(&predict::load_model(model)?, &files, json)
        }
        Command::Bench {
            files,
            rounds,
            throughput_only,
        } => bench::run(&files, rounds, throughput_only),
        Command::BatchPredict {
            folder: Some(folder),
            output,
            model,
            ..
        } => predict::folder(&predict::load_model(model)?, folder, &output),
        Command::BatchPredict {
            folder: None,
            all,
            model,
            settings,
            ..
        } => predict::catalogue(&predict::load_model(model)?, &settings, all),
    }
}

/// A progress bar for `len` items of long work.
pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_message(what.to_string());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
