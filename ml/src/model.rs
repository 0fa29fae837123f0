//! The embedding model: how a clip is cut into windows, standardisation, the
//! random-Fourier-feature map, ridge weights and their provenance, stored as
//! a small JSON file; and the calls that turn a sound file into its
//! 5-dimensional embedding (the mean over windows of the scores, clamped;
//! with a [`Mix`], its proportions between the classes come from a second
//! set of weights; with a [`Calibration`], its largest weight is the
//! probability that the sound is one of the classes).

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use ndarray::{Array1, Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calibration::Calibration;
use crate::clip::{load_bytes, load_file};
use crate::dataset::Rows;
use crate::error::{Error, Result};
use crate::features::{Extractor, FeatureSet, Segments};
use crate::kernel::FourierMap;

/// The embedding axes: the taste space's, in its order.
pub const CLASSES: [&str; 5] = cosound_rules::space::AXES;
/// Version of the model file layout.
pub const FORMAT_VERSION: u32 = 4;

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
    /// Weights that decide the proportions between the classes, while
    /// [`weights`](Model::weights) decide only how strongly the sound is
    /// one of them (its largest weight); `None`: `weights` decide both.
    pub mix: Option<Mix>,
    /// Maps the largest clip score of [`weights`](Model::weights) to the
    /// embedding's largest weight; `None`: the score clamped to [0, 1].
    pub calibration: Option<Calibration>,
}

/// A linear ridge fit on the standardised features with a λ of its own,
/// chosen by the same inner cross-validation as the kernel model's. The kernel model keeps the weights of
/// sounds that are none of the classes low (far from every training window,
/// it scores near zero), but which class it ranks first for a recording
/// unlike the training ones depends on the draw of its random features; a
/// linear fit ranks the classes of such recordings better and does not
/// depend on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mix {
    pub lambda: f64,
    /// One row per feature, one column per class.
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

    /// A short name for exactly these weights: the first 16 hex digits of the SHA-256 of the
    /// model as [`to_json`](Model::to_json) writes it. Each song records the model that
    /// placed it, so a new model re-embeds exactly the songs an older one placed.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.to_json().as_bytes())[..8])
    }

    /// [`id`](Model::id) of the committed default model (computed once).
    pub fn default_id() -> &'static str {
        static ID: OnceLock<String> = OnceLock::new();
        ID.get_or_init(|| Model::default_model().id())
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
        let shaped = |weights: &[Vec<f64>], rows: usize| {
            weights.len() == rows && weights.iter().all(|w| w.len() == CLASSES.len())
        };
        if model.classes != CLASSES
            || model.mean.len() != n
            || model.scale.len() != n
            || !shaped(&model.weights, inputs)
            || model.mix.as_ref().is_some_and(|m| !shaped(&m.weights, n))
            || model.intercept.len() != CLASSES.len()
            || model.calibration.is_some_and(|c| !c.is_valid())
        {
            return Err(invalid(format!(
                "shapes do not match {} features ({} inputs) × {} classes, \
                 or the calibration does not rise",
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

    /// Raw (unclamped) scores for rows of features: of
    /// [`weights`](Model::weights), and of the [`Mix`]'s if there is one.
    pub fn scores(&self, features: &Array2<f64>) -> (Array2<f64>, Option<Array2<f64>>) {
        let mean = Array1::from(self.mean.clone());
        let scale = Array1::from(self.scale.clone());
        let standardised = (features - &mean) / &scale;
        let intercept = Array1::from(self.intercept.clone());
        let apply = |inputs: &Array2<f64>, weights: &[Vec<f64>]| {
            let weights =
                Array2::from_shape_fn((weights.len(), CLASSES.len()), |(i, c)| weights[i][c]);
            inputs.dot(&weights) + &intercept
        };
        let mix = self.mix.as_ref().map(|m| apply(&standardised, &m.weights));
        let scores = match &self.kernel {
            Some(map) => apply(&map.apply(&standardised), &self.weights),
            None => apply(&standardised, &self.weights),
        };
        (scores, mix)
    }

    /// The raw clip scores of [`weights`](Model::weights): their mean over
    /// each clip's rows (windows), one row per clip. Averaging first lets
    /// the windows' small positive and negative errors cancel.
    pub fn clip_strengths(&self, rows: &Rows) -> Array2<f64> {
        clip_means(&self.scores(&rows.x).0, &rows.clip)
    }

    /// One embedding per clip of `rows`. Its largest weight is the largest
    /// [clip score](Model::clip_strengths) through the [`Calibration`], or
    /// clamped to [0, 1] without one. The proportions between the classes
    /// are the [`Mix`]'s clamped clip scores (rescaled to that largest
    /// weight), or without a mix, or where the mix sees none of the
    /// classes, the clamped clip scores themselves.
    pub fn clip_embeddings(&self, rows: &Rows) -> Array2<f64> {
        let (scores, mix) = self.scores(&rows.x);
        let strength = clip_means(&scores, &rows.clip);
        let mix = mix.map(|m| clip_means(&m, &rows.clip).mapv(|s| s.clamp(0.0, 1.0)));
        let largest = |row: ArrayView1<f64>| row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let mut out = strength.mapv(|s| s.clamp(0.0, 1.0));
        for (i, mut row) in out.rows_mut().into_iter().enumerate() {
            let raw = largest(strength.row(i));
            let wanted = match &self.calibration {
                Some(calibration) => calibration.apply(raw),
                None => raw.clamp(0.0, 1.0),
            };
            if let Some(m) = mix.as_ref().map(|m| m.row(i)) {
                if largest(m) > 0.0 {
                    row.assign(&m);
                }
            }
            let top = largest(row.view());
            if top > 0.0 {
                row *= wanted / top;
            }
        }
        out
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

/// The mean of the rows of each clip.
fn clip_means(scores: &Array2<f64>, clip: &[usize]) -> Array2<f64> {
    let clips = clip.iter().max().map_or(0, |m| m + 1);
    let mut sums = Array2::zeros((clips, scores.ncols()));
    let mut counts = vec![0usize; clips];
    for (row, &c) in scores.axis_iter(Axis(0)).zip(clip) {
        let mut sum = sums.row_mut(c);
        sum += &row;
        counts[c] += 1;
    }
    for (mut sum, count) in sums.rows_mut().into_iter().zip(counts) {
        sum /= count.max(1) as f64;
    }
    sums
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear model on one feature with the given strength and mix weights.
    fn one_feature_model(weights: [f64; 5], mix: [f64; 5]) -> Model {
        Model {
            format_version: FORMAT_VERSION,
            feature_set: FeatureSet::Extended,
            segments: None,
            kernel: None,
            classes: CLASSES.map(String::from).to_vec(),
            lambda: 1.0,
            training_data_sha256: String::new(),
            feature_names: vec!["x".into()],
            mean: vec![0.0],
            scale: vec![1.0],
            intercept: vec![0.0; 5],
            weights: vec![weights.to_vec()],
            mix: Some(Mix {
                lambda: 1.0,
                weights: vec![mix.to_vec()],
            }),
            calibration: None,
        }
    }

    #[test]
    fn a_model_is_named_by_its_weights() {
        let written = Model::default_model().to_json();
        let again = Model::from_json("again", &written).unwrap();
        assert_eq!(again.id(), Model::default_id());
        assert_eq!(Model::default_id().len(), 16);
        let mut retrained = Model::default_model().clone();
        retrained.lambda *= 2.0;
        assert_ne!(retrained.id(), Model::default_id());
    }

    #[test]
    fn the_mix_sets_the_proportions_and_the_weights_the_largest() {
        let model = one_feature_model([-0.3, 0.0, 0.4, 0.0, 0.0], [0.8, 0.4, 0.0, 0.0, 0.2]);
        let rows = Rows::per_clip(ndarray::array![[1.0], [-1.0]]);
        let embeddings = model.clip_embeddings(&rows);
        let expected = [0.4, 0.2, 0.0, 0.0, 0.1];
        for (got, want) in embeddings.row(0).iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{}", embeddings.row(0));
        }
        // The mix sees no class in the second clip: the weights stand.
        assert_eq!(embeddings.row(1).to_vec(), vec![0.3, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_calibration_sets_the_largest_weight_and_keeps_the_proportions() {
        let calibration = Calibration {
            slope: 2.0,
            midpoint: 0.2,
        };
        let model = Model {
            calibration: Some(calibration),
            ..one_feature_model([-0.3, 0.0, 0.4, 0.0, 0.0], [0.8, 0.4, 0.0, 0.0, 0.2])
        };
        let rows = Rows::per_clip(ndarray::array![[1.0], [-1.0], [0.0]]);
        let embeddings = model.clip_embeddings(&rows);
        let top = calibration.apply(0.4);
        let expected = [top, top / 2.0, 0.0, 0.0, top / 4.0];
        for (got, want) in embeddings.row(0).iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{}", embeddings.row(0));
        }
        let top = calibration.apply(0.3);
        assert_eq!(embeddings.row(1).to_vec(), vec![top, 0.0, 0.0, 0.0, 0.0]);
        // Scores of zero everywhere: no class at all.
        assert_eq!(embeddings.row(2).to_vec(), vec![0.0; 5]);
    }
}
