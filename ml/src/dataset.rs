//! A labelled folder of clips (`labels.csv` + audio, as esc50-dev): reading
//! the labels, hashing the data, extracting every clip's features.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis};
use sha2::{Digest, Sha256};

use crate::clip::load_file;
use crate::error::{Error, Result};
use crate::features::{Extractor, FeatureSet, Segments};
use crate::model::CLASSES;
use crate::parallel;

/// One labelled clip.
#[derive(Debug, Clone)]
pub struct Example {
    pub file: PathBuf,
    /// Index into [`CLASSES`], or `None` for `other`.
    pub label: Option<usize>,
    /// Source recording: clips of one group never straddle train and test.
    pub group: String,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub labels_csv: PathBuf,
    pub examples: Vec<Example>,
}

impl Dataset {
    /// Reads `DIR/labels.csv` (columns `filename`, `label`, `src_file`);
    /// audio files are looked up in `DIR/audio/`, else in `DIR`.
    pub fn open(dir: &Path) -> Result<Self> {
        let labels_csv = dir.join("labels.csv");
        let invalid = |detail: String| Error::Dataset {
            path: labels_csv.clone(),
            detail,
        };
        let text = std::fs::read_to_string(&labels_csv)
            .map_err(|e| Error::io(labels_csv.display().to_string(), e))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines
            .next()
            .ok_or_else(|| invalid("empty file".into()))?
            .split(',')
            .map(str::trim)
            .collect();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .ok_or_else(|| invalid(format!("no `{name}` column")))
        };
        let (file_col, label_col, group_col) =
            (column("filename")?, column("label")?, column("src_file")?);
        let audio_dir = if dir.join("audio").is_dir() {
            dir.join("audio")
        } else {
            dir.to_path_buf()
        };
        let mut examples = Vec::new();
        for (n, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let field = |i: usize| {
                fields
                    .get(i)
                    .copied()
                    .ok_or_else(|| invalid(format!("row {} has too few columns", n + 2)))
            };
            let label =
                match field(label_col)? {
                    "other" => None,
                    name => Some(CLASSES.iter().position(|c| *c == name).ok_or_else(|| {
                        invalid(format!("unknown label `{name}` in row {}", n + 2))
                    })?),
                };
            examples.push(Example {
                file: audio_dir.join(field(file_col)?),
                label,
                group: field(group_col)?.to_string(),
            });
        }
        if examples.is_empty() {
            return Err(invalid("no clips listed".into()));
        }
        Ok(Dataset {
            labels_csv,
            examples,
        })
    }

    /// SHA-256 over `labels.csv` and every listed audio file, in order: the
    /// model records it so one can tell which data it was trained on.
    pub fn sha256(&self) -> Result<String> {
        let mut hasher = Sha256::new();
        let mut add = |path: &Path| -> Result<()> {
            let bytes =
                std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
            Ok(())
        };
        add(&self.labels_csv)?;
        for example in &self.examples {
            add(&example.file)?;
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Every clip's feature vectors: one per clip, or one per window with
    /// `segments` (rows in the order of `examples`).
    pub fn features(
        &self,
        set: FeatureSet,
        segments: Option<Segments>,
        done: &(dyn Fn() + Sync),
    ) -> Result<Rows> {
        let extractor = Extractor::default();
        let per_clip = parallel::map(
            &self.examples,
            |e| Ok(extractor.window_features(set, segments, load_file(&e.file)?)),
            done,
        );
        let per_clip: Vec<Vec<Vec<f64>>> = per_clip.into_iter().collect::<Result<_>>()?;
        let clip: Vec<usize> = per_clip
            .iter()
            .enumerate()
            .flat_map(|(i, rows)| std::iter::repeat_n(i, rows.len()))
            .collect();
        let flat: Vec<f64> = per_clip.concat().concat();
        let x =
            Array2::from_shape_vec((clip.len(), set.count()), flat).expect("rows of equal length");
        Ok(Rows { x, clip })
    }

    pub fn labels(&self) -> Vec<Option<usize>> {
        self.examples.iter().map(|e| e.label).collect()
    }

    pub fn groups(&self) -> Vec<String> {
        self.examples.iter().map(|e| e.group.clone()).collect()
    }
}

/// Feature rows of clips: one per clip, or one per window of a clip.
#[derive(Debug, Clone)]
pub struct Rows {
    pub x: Array2<f64>,
    /// The clip (index into the data set) each row belongs to.
    pub clip: Vec<usize>,
}

impl Rows {
    /// One row per clip.
    pub fn per_clip(x: Array2<f64>) -> Rows {
        let clip = (0..x.nrows()).collect();
        Rows { x, clip }
    }

    /// The rows of `clips`, renumbered so that `clips[i]` becomes clip `i`.
    pub fn of_clips(&self, clips: &[usize]) -> Rows {
        let mut new_index = vec![None; self.clip.iter().max().map_or(0, |m| m + 1)];
        for (i, &c) in clips.iter().enumerate() {
            new_index[c] = Some(i);
        }
        let (rows, clip): (Vec<usize>, Vec<usize>) = self
            .clip
            .iter()
            .enumerate()
            .filter_map(|(r, &c)| new_index.get(c).copied().flatten().map(|i| (r, i)))
            .unzip();
        Rows {
            x: self.x.select(Axis(0), &rows),
            clip,
        }
    }
}
