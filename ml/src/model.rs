//! The embedding model: how a clip is cut into windows, standardisation, the
//! random-Fourier-feature map, ridge weights and their provenance, stored as
//! a small JSON file; and the calls that turn a sound file into its
//! 5-dimensional embedding (the mean over windows of the clamped scores).

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::clip::{load_bytes, load_file};
use crate::dataset::Rows;
use crate::error::{Error, Result};
use crate::features::{Extractor, FeatureSet, Segments};
use crate::kernel::FourierMap;

/// The embedding axes, in the order of DOMAIN.md.
pub const CLASSES: [&str; 5] = [
    "rain",
    "sea_waves",
    "thunderstorm",
    "wind",
    "crackling_fire",
];
/// Version of the model file layout.
pub const FORMAT_VERSION: u32 = 2;

/// A sound's weight on each of [`CLASSES`], each in [0, 1].
pub type Embedding = [f32; 5];

/// The committed default model, trained on esc50-dev by `cosound-ml train`.
const DEFAULT_MODEL: &str = include_str!("../models/default.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format_version: u32,
    pub feature_set: FeatureSet,
    /// Windows a clip is cut into; `None`: the whole clip is one row.
    pub segments: Option<Segments>,
    /// Map applied to the standardised features; `None`: linear model.
    pub kernel: Option<FourierMap>,
    pub classes: Vec<String>,
    /// Ridge penalty the weights were fitted with.
    pub lambda: f64,
    /// SHA-256 of the training data (labels.csv and audio, see `Dataset::sha256`).
    pub training_data_sha256: String,
    pub feature_names: Vec<String>,
    /// Standardisation: each feature becomes (x − mean) / scale.
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub intercept: Vec<f64>,
    /// One row per model input (the features, then the kernel's cosines),
    /// one column per class.
    pub weights: Vec<Vec<f64>>,
}

impl Model {
    /// The committed default model (parsed once).
    pub fn default_model() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| {
            Model::from_json("models/default.json", DEFAULT_MODEL)
                .expect("the committed model is valid")
        })
    }

    pub fn from_json(name: &str, json: &str) -> Result<Model> {
        let invalid = |detail: String| Error::InvalidModel {
            name: name.into(),
            detail,
        };
        let model: Model = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        if model.format_version != FORMAT_VERSION {
            return Err(invalid(format!("format version {}", model.format_version)));
        }
        let n = model.feature_set.count();
        let inputs = model.kernel.as_ref().map_or(n, |k| k.width(n));
        if model.classes != CLASSES
            || model.mean.len() != n
            || model.scale.len() != n
            || model.weights.len() != inputs
            || model.weights.iter().any(|w| w.len() != CLASSES.len())
            || model.intercept.len() != CLASSES.len()
        {
            return Err(invalid(format!(
                "shapes do not match {} features ({} inputs) × {} classes",
                n,
                inputs,
                CLASSES.len()
            )));
        }
        Ok(model)
    }

    pub fn load(path: &Path) -> Result<Model> {
        let name = path.display().to_string();
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(&name, e))?;
        Model::from_json(&name, &json)
    }

    /// The file's exact text: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serialises") + "\n"
    }

    /// Writes the model atomically (temporary file in the same folder, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, self.to_json().as_bytes())
    }

    /// Raw (unclamped) scores for rows of features.
    pub fn scores(&self, features: &Array2<f64>) -> Array2<f64> {
        let mean = Array1::from(self.mean.clone());
        let scale = Array1::from(self.scale.clone());
        let standardised = (features - &mean) / &scale;
        let inputs = match &self.kernel {
            Some(map) => map.apply(&standardised),
            None => standardised,
        };
        let weights = Array2::from_shape_fn((self.weights.len(), CLASSES.len()), |(i, c)| {
            self.weights[i][c]
        });
        inputs.dot(&weights) + &Array1::from(self.intercept.clone())
    }

    /// One embedding per clip of `rows`: the scores averaged over the
    /// clip's rows (windows), then clamped to [0, 1]. Averaging first lets
    /// the windows' small positive and negative errors cancel.
    pub fn clip_embeddings(&self, rows: &Rows) -> Array2<f64> {
        let scores = self.scores(&rows.x);
        let clips = rows.clip.iter().max().map_or(0, |m| m + 1);
        let mut sums = Array2::zeros((clips, CLASSES.len()));
        let mut counts = vec![0usize; clips];
        for (row, &clip) in scores.axis_iter(Axis(0)).zip(&rows.clip) {
            let mut sum = sums.row_mut(clip);
            sum += &row;
            counts[clip] += 1;
        }
        for (mut sum, count) in sums.rows_mut().into_iter().zip(counts) {
            sum /= count.max(1) as f64;
        }
        sums.mapv(|s| s.clamp(0.0, 1.0))
    }

    /// The embedding of mono samples at the analysis rate.
    pub fn embed_samples(&self, samples: Vec<f32>) -> Embedding {
        self.embed_with(&Extractor::default(), samples)
    }

    /// [`embed_samples`](Model::embed_samples) with a shared extractor.
    pub fn embed_with(&self, extractor: &Extractor, samples: Vec<f32>) -> Embedding {
        let windows = extractor.window_features(self.feature_set, self.segments, samples);
        let rows = Rows {
            x: Array2::from_shape_vec((windows.len(), self.mean.len()), windows.concat())
                .expect("rows of the model's feature count"),
            clip: vec![0; windows.len()],
        };
        let embedding = self.clip_embeddings(&rows);
        std::array::from_fn(|c| embedding[[0, c]] as f32)
    }

    /// Decodes, analyses and embeds a sound file.
    pub fn embed_file(&self, path: &Path) -> Result<Embedding> {
        Ok(self.embed_samples(load_file(path)?))
    }

    /// Embeds an in-memory file (an upload). `name` appears in errors and its
    /// extension, if any, hints at the format.
    pub fn embed_bytes<B>(&self, name: &str, bytes: B) -> Result<Embedding>
    where
        B: AsRef<[u8]> + Send + Sync + 'static,
    {
        Ok(self.embed_samples(load_bytes(name, bytes)?))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and
/// a rename, so readers never see a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.display().to_string();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(&name, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&name, e))?;
    // Temporary files are private; the result should be an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        file.as_file()
            .set_permissions(mode)
            .map_err(|e| Error::io(&name, e))?;
    }
    file.persist(path).map_err(|e| Error::io(&name, e.error))?;
    Ok(())
}
