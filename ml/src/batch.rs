//! Embedding many sounds at once. A [`Source`] lists sounds and loads each
//! one's samples; [`run`] embeds them all in parallel and keeps going past
//! failures. [`FolderSource`] serves a folder of files, whose embeddings go
//! to CSV; the CLI's database mode is another `Source` (the catalogue's
//! songs) that stores each embedding as soon as it is computed, through
//! [`run_each`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::clip::load_file;
use crate::error::{Error, Result};
use crate::features::Extractor;
use crate::model::{write_atomically, Embedding, Model, CLASSES};
use crate::parallel;

/// Somewhere sounds to embed come from.
pub trait Source: Sync {
    type Item: Sync;
    /// Everything to embed, in a stable order.
    fn items(&self) -> Result<Vec<Self::Item>>;
    /// How an item is named in reports and output.
    fn name(&self, item: &Self::Item) -> String;
    /// The item's mono samples at the analysis rate.
    fn samples(&self, item: &Self::Item) -> Result<Vec<f32>>;
}

/// Audio files (wav, flac, ogg, mp3) directly inside a folder.
pub struct FolderSource {
    pub dir: PathBuf,
}

/// Extensions [`FolderSource`] picks up.
pub const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "wave", "flac", "ogg", "oga", "mp3"];

impl Source for FolderSource {
    type Item = PathBuf;

    fn items(&self) -> Result<Vec<PathBuf>> {
        let name = self.dir.display().to_string();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&name, e))? {
            let path = entry.map_err(|e| Error::io(&name, e))?.path();
            let audio = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if audio && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    fn name(&self, item: &PathBuf) -> String {
        item.strip_prefix(&self.dir)
            .unwrap_or(item)
            .display()
            .to_string()
    }

    fn samples(&self, item: &PathBuf) -> Result<Vec<f32>> {
        load_file(item)
    }
}

/// One item's outcome.
pub struct Outcome {
    pub name: String,
    pub result: Result<Embedding>,
}

/// Embeds every item of `source`; a failing item is recorded, not fatal.
pub fn run<S: Source>(model: &Model, source: &S, done: &(dyn Fn() + Sync)) -> Result<Vec<Outcome>> {
    Ok(run_each(
        model,
        source,
        &source.items()?,
        &|_, outcome| outcome,
        done,
    ))
}

/// Embeds `items` of `source` in parallel and hands each outcome to `keep`
/// on the worker that computed it, as soon as it is computed: a source that
/// stores its results stores each one by itself, and an interrupted batch
/// keeps what it finished. Returns what `keep` returned, in the items' order.
pub fn run_each<S: Source, T: Send>(
    model: &Model,
    source: &S,
    items: &[S::Item],
    keep: &(dyn Fn(&S::Item, Outcome) -> T + Sync),
    done: &(dyn Fn() + Sync),
) -> Vec<T> {
    let extractor = Extractor::default();
    parallel::map(
        items,
        |item| {
            let outcome = Outcome {
                name: source.name(item),
                result: source
                    .samples(item)
                    .map(|s| model.embed_with(&extractor, s)),
            };
            keep(item, outcome)
        },
        done,
    )
}

/// Writes the successful outcomes as CSV (`file` then one column per
/// class), atomically.
pub fn write_csv(path: &Path, outcomes: &[Outcome]) -> Result<()> {
    let mut csv = format!("file,{}\n", CLASSES.join(","));
    for outcome in outcomes {
        if let Ok(embedding) = &outcome.result {
            let _ = write!(csv, "{}", csv_field(&outcome.name));
            for w in embedding {
                let _ = write!(csv, ",{w:.4}");
            }
            csv.push('\n');
        }
    }
    write_atomically(path, csv.as_bytes())
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
