//! Fitting a model: one-hot targets (all zero for `other`), standardised
//! features, optionally cut into windows and mapped through random Fourier
//! features, ridge regression with λ fixed or chosen by an inner grouped
//! cross-validation on the training data only; optionally linear weights
//! with a λ of their own for the class proportions (see [`Mix`]) and a
//! [`Calibration`] of the largest weight, fitted on the same inner
//! cross-validation's out-of-fold scores.

use ndarray::Array2;

use crate::calibration::Calibration;
use crate::cv::{folds, rank_auc, split, Report};
use crate::dataset::{Dataset, Rows};
use crate::error::Result;
use crate::features::{FeatureSet, Segments};
use crate::kernel::FourierMap;
use crate::model::{Mix, Model, CLASSES, FORMAT_VERSION};
use crate::ridge::{self, Standardizer};

/// The λ values the inner cross-validation chooses from (half decades), for
/// the mean squared error (see [`Config::mean_error`]).
pub const LAMBDA_GRID: [f64; 9] = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0];
/// Folds of the inner cross-validation that chooses λ and gives the
/// calibration its scores.
const INNER_FOLDS: usize = 4;
/// Fold assignments the inner cross-validation averages over.
const INNER_REPEATS: u64 = 3;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lambda {
    Fixed(f64),
    /// Chosen from [`LAMBDA_GRID`] by an inner cross-validation (see
    /// [`fit`]).
    CrossValidated,
}

/// The random-Fourier-feature map of a [`Config`], in terms independent of
/// the feature count d: the Gaussian kernel is exp(−`width`·|x − y|²/d), so
/// a typical distance between standardised vectors (√(2d)) gives e^(−2·width).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kernel {
    pub cosines: usize,
    pub width: f64,
    /// Weight of the linear kernel x·y/d next to the Gaussian one.
    pub linear: f64,
    pub seed: u64,
}

/// How to fit a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    pub feature_set: FeatureSet,
    pub segments: Option<Segments>,
    pub kernel: Option<Kernel>,
    pub lambda: Lambda,
    /// λ of the linear weights for the class proportions ([`Mix`]);
    /// `None`: no second set of weights.
    pub mix: Option<Lambda>,
    /// Fit an unpenalised intercept (the reference pipeline has none).
    pub intercept: bool,
    /// How rows are weighted in the squared error: the rows of a class by
    /// (rows of `other` / rows of the class)^`balance`. With 0 every row
    /// weighs alike and the many `other` rows dominate the fit; with 1 each
    /// class weighs as much as all `other` rows together (the usual
    /// "balanced" class weights).
    pub balance: f64,
    /// Weigh λ against the mean weighted squared error rather than the sum
    /// (the reference pipeline's): the scores of a strongly penalised fit
    /// then do not grow with the number of training clips, so those of the
    /// inner cross-validation's models, fitted on fewer clips, are on the
    /// scale of the final model's, and a calibration fitted on the former
    /// holds for the latter.
    pub mean_error: bool,
    /// Fit a [`Calibration`] of the largest weight on out-of-fold scores
    /// of the training data.
    pub calibrate: bool,
}

impl Config {
    /// The earlier system's pipeline, for comparison.
    pub fn reference() -> Self {
        Config {
            feature_set: FeatureSet::Reference,
            segments: None,
            kernel: None,
            lambda: Lambda::Fixed(1.0),
            mix: None,
            intercept: false,
            balance: 0.0,
            mean_error: false,
            calibrate: false,
        }
    }

    /// The current model: 1.5 s windows every 0.5 s (more, shorter views of
    /// few recordings generalise better than fewer long ones), a Gaussian
    /// plus a small linear kernel, no intercept (a sound unlike every training
    /// window scores near zero on every class rather than at the classes'
    /// base rates), balanced class weights (two thirds of the clips are
    /// `other`: unweighted, a class of four clips barely moves the fit), the
    /// class proportions from a linear fit with a λ of its own, and the
    /// largest weight calibrated.
    pub fn improved() -> Self {
        Config {
            feature_set: FeatureSet::Extended,
            segments: Some(Segments {
                seconds: 1.5,
                hop_seconds: 0.5,
            }),
            kernel: Some(Kernel {
                cosines: 128,
                width: 0.5,
                linear: 0.3,
                seed: 1,
            }),
            lambda: Lambda::CrossValidated,
            mix: Some(Lambda::CrossValidated),
            intercept: false,
            balance: 1.0,
            mean_error: true,
            calibrate: true,
        }
    }

    fn map(&self) -> Option<FourierMap> {
        let d = self.feature_set.count() as f64;
        self.kernel.map(|k| {
            FourierMap::new(
                k.cosines,
                k.width / d,
                (k.linear * k.width / d).sqrt(),
                k.seed,
            )
        })
    }
}

/// One-hot targets over [`CLASSES`]; `other` is all zeros.
pub fn targets(labels: &[Option<usize>]) -> Array2<f64> {
    Array2::from_shape_fn((labels.len(), CLASSES.len()), |(i, c)| {
        if labels[i] == Some(c) {
            1.0
        } else {
            0.0
        }
    })
}

/// Targets of each row: its clip's.
fn row_targets(rows: &Rows, labels: &[Option<usize>]) -> Array2<f64> {
    targets(&rows.clip.iter().map(|&c| labels[c]).collect::<Vec<_>>())
}

/// Each row's weight in the squared error (see [`Config::balance`]).
fn row_weights(rows: &Rows, labels: &[Option<usize>], balance: f64) -> Vec<f64> {
    let mut counts = [0usize; CLASSES.len() + 1];
    let slot = |label: Option<usize>| label.unwrap_or(CLASSES.len());
    for &c in &rows.clip {
        counts[slot(labels[c])] += 1;
    }
    let others = counts[CLASSES.len()].max(1) as f64;
    rows.clip
        .iter()
        .map(|&c| (others / counts[slot(labels[c])] as f64).powf(balance))
        .collect()
}

/// The standardisation, map and normal equations of some training rows
/// (of the map's inputs, and of the standardised features for the [`Mix`]):
/// fitting for several λ then costs one Cholesky factorisation each.
struct Prepared {
    standardizer: Standardizer,
    map: Option<FourierMap>,
    normal: ridge::Normal,
    linear: Option<ridge::Normal>,
}

impl Prepared {
    fn new(config: &Config, rows: &Rows, labels: &[Option<usize>]) -> Self {
        let standardizer = Standardizer::fit(&rows.x);
        let map = config.map();
        let standardised = standardizer.apply(&rows.x);
        let targets = row_targets(rows, labels);
        let mut weights = row_weights(rows, labels, config.balance);
        if config.mean_error {
            let total: f64 = weights.iter().sum();
            weights.iter_mut().for_each(|w| *w /= total);
        }
        let normal = |inputs| weighted_normal(inputs, &targets, &weights, config.intercept);
        let linear = config.mix.map(|_| normal(standardised.clone()));
        let inputs = match &map {
            Some(map) => map.apply(&standardised),
            None => standardised,
        };
        Prepared {
            standardizer,
            normal: normal(inputs),
            map,
            linear,
        }
    }

    /// The linear weights (of a [`Mix`]) alone as a model.
    fn linear_model(&self, config: &Config, lambda: f64) -> Model {
        let mix = self.model(config, lambda, Some(lambda)).mix;
        Model {
            kernel: None,
            weights: mix.expect("prepared for a mix").weights,
            ..self.model(config, lambda, None)
        }
    }

    fn model(&self, config: &Config, lambda: f64, mix: Option<f64>) -> Model {
        let rows = |weights: Array2<f64>| weights.rows().into_iter().map(|r| r.to_vec()).collect();
        let (weights, intercept) = self.normal.solve(lambda);
        let mix = mix.map(|lambda| Mix {
            lambda,
            weights: rows(
                self.linear
                    .as_ref()
                    .expect("prepared for a mix")
                    .solve(lambda)
                    .0,
            ),
        });
        Model {
            format_version: FORMAT_VERSION,
            feature_set: config.feature_set,
            segments: config.segments,
            kernel: self.map.clone(),
            classes: CLASSES.map(String::from).to_vec(),
            lambda,
            training_data_sha256: String::new(),
            feature_names: config.feature_set.names(),
            mean: self.standardizer.mean.to_vec(),
            scale: self.standardizer.scale.to_vec(),
            intercept: intercept.to_vec(),
            weights: rows(weights),
            mix,
            calibration: None,
        }
    }
}

/// The normal equations of rows of `inputs` and `targets`, each row's
/// squared error weighted by `weights`.
fn weighted_normal(
    mut inputs: Array2<f64>,
    targets: &Array2<f64>,
    weights: &[f64],
    intercept: bool,
) -> ridge::Normal {
    let mut targets = targets.clone();
    for ((mut x, mut y), w) in inputs
        .rows_mut()
        .into_iter()
        .zip(targets.rows_mut())
        .zip(weights)
    {
        x *= w.sqrt();
        y *= w.sqrt();
    }
    ridge::Normal::new(&inputs, &targets, intercept)
}

/// Fits `config` to feature `rows` of clips with `labels` and `groups`
/// (per clip); groups keep source recordings together in the inner
/// cross-validation. The training-data hash is left empty for the caller.
pub fn fit(config: &Config, rows: &Rows, labels: &[Option<usize>], groups: &[String]) -> Model {
    let candidates = |lambda: Lambda| match lambda {
        Lambda::Fixed(lambda) => vec![lambda],
        Lambda::CrossValidated => LAMBDA_GRID.to_vec(),
    };
    // The inner cross-validation runs only for what needs it: a λ to
    // choose, or the calibration's scores.
    let inner = Inner {
        strength: if config.lambda == Lambda::CrossValidated || config.calibrate {
            candidates(config.lambda)
        } else {
            Vec::new()
        },
        mix: match config.mix {
            Some(Lambda::CrossValidated) => LAMBDA_GRID.to_vec(),
            _ => Vec::new(),
        },
    };
    let runs = (!inner.strength.is_empty() || !inner.mix.is_empty())
        .then(|| inner.run(config, rows, labels, groups));
    let lambda = match config.lambda {
        Lambda::Fixed(lambda) => lambda,
        Lambda::CrossValidated => best(
            &inner.strength,
            &scores(&runs.as_ref().expect("run").strength, |e| {
                rank_auc(e, labels)
            }),
        ),
    };
    let mix = config.mix.map(|m| match m {
        Lambda::Fixed(lambda) => lambda,
        Lambda::CrossValidated => best(
            &inner.mix,
            &scores(&runs.as_ref().expect("run").mix, |e| {
                let report = Report::score(e, labels);
                report.top1 - report.other_mean_max
            }),
        ),
    });
    let mut model = Prepared::new(config, rows, labels).model(config, lambda, mix);
    if config.calibrate {
        let at = inner.strength.iter().position(|&l| l == lambda);
        let repeats = &runs.expect("run").strength[at.expect("λ among the candidates")];
        model.calibration = calibrate(repeats, labels);
    }
    model
}

/// Extracts the features of a labelled folder and fits `config` to all of
/// it, recording the data's hash. `done` is called after each clip.
pub fn train(dataset: &Dataset, config: &Config, done: &(dyn Fn() + Sync)) -> Result<Model> {
    let rows = dataset.features(config.feature_set, config.segments, done)?;
    train_on(dataset, config, &rows)
}

/// [`train`] with the data set's feature rows already extracted (as
/// [`Dataset::features`] gives them for `config`).
pub fn train_on(dataset: &Dataset, config: &Config, rows: &Rows) -> Result<Model> {
    let mut model = fit(config, rows, &dataset.labels(), &dataset.groups());
    model.training_data_sha256 = dataset.sha256()?;
    Ok(model)
}

/// The inner cross-validation of [`fit`]: grouped cross-validations of the
/// training data under [`INNER_REPEATS`] fold assignments, for some λ of
/// the weights and some of the [`Mix`]'s linear weights.
///
/// The weights' λ is the one whose out-of-fold raw clip scores rank the
/// five classes' clips above `other` clips best (the highest rank AUC,
/// see [`rank_auc`]): once calibrated, the weights only decide how
/// strongly a sound is one of the classes (the mix decides which), their
/// scale is the calibration's business, and how well they order sounds is
/// what is left. The mix's λ is the one whose out-of-fold clip embeddings
/// (of the linear weights alone) score best on top-1 accuracy on the five
/// classes minus the mean largest weight of `other` clips (see
/// [`Report`]): only top-1 counts in the end, but on some twenty target
/// clips it moves in steps of 5 %; the `other` term adds the many `other`
/// clips and favours the stronger penalty that keeps to what the classes
/// share rather than what their few recordings happen to have. Ties go to
/// the larger λ.
struct Inner {
    strength: Vec<f64>,
    mix: Vec<f64>,
}

/// Out-of-fold results of [`Inner`], `[λ][fold assignment]`, one row per
/// clip: the weights' raw [clip scores](Model::clip_strengths), and the
/// linear weights' clip embeddings.
struct Runs {
    strength: Vec<Vec<Array2<f64>>>,
    mix: Vec<Vec<Array2<f64>>>,
}

impl Inner {
    fn run(
        &self,
        config: &Config,
        rows: &Rows,
        labels: &[Option<usize>],
        groups: &[String],
    ) -> Runs {
        let empty = |lambdas: &[f64]| vec![Vec::new(); lambdas.len()];
        let mut runs = Runs {
            strength: empty(&self.strength),
            mix: empty(&self.mix),
        };
        for seed in 0..INNER_REPEATS {
            let fold = folds(labels, groups, INNER_FOLDS, seed);
            let zeros =
                |lambdas: &[f64]| vec![Array2::zeros((labels.len(), CLASSES.len())); lambdas.len()];
            let (mut strength, mut mix) = (zeros(&self.strength), zeros(&self.mix));
            for f in 0..INNER_FOLDS {
                let (train, test) = split(&fold, f);
                if test.is_empty() || train.is_empty() {
                    continue;
                }
                let train_labels: Vec<Option<usize>> = train.iter().map(|&c| labels[c]).collect();
                let prepared = Prepared::new(config, &rows.of_clips(&train), &train_labels);
                let test_rows = rows.of_clips(&test);
                let keep = |out: &mut Array2<f64>, predicted: Array2<f64>| {
                    for (row, &c) in predicted.rows().into_iter().zip(&test) {
                        out.row_mut(c).assign(&row);
                    }
                };
                for (out, &lambda) in strength.iter_mut().zip(&self.strength) {
                    let model = prepared.model(config, lambda, None);
                    keep(out, model.clip_strengths(&test_rows));
                }
                for (out, &lambda) in mix.iter_mut().zip(&self.mix) {
                    let model = prepared.linear_model(config, lambda);
                    keep(out, model.clip_embeddings(&test_rows));
                }
            }
            for (all, out) in runs.strength.iter_mut().zip(strength) {
                all.push(out);
            }
            for (all, out) in runs.mix.iter_mut().zip(mix) {
                all.push(out);
            }
        }
        runs
    }
}

/// Each λ's `score` summed over the fold assignments.
fn scores(per_lambda: &[Vec<Array2<f64>>], score: impl Fn(&Array2<f64>) -> f64) -> Vec<f64> {
    per_lambda
        .iter()
        .map(|repeats| repeats.iter().map(&score).sum())
        .collect()
}

/// The λ with the highest score, the last of equals (the grid rises).
fn best(lambdas: &[f64], scores: &[f64]) -> f64 {
    let best = (0..scores.len()).fold(0, |b, i| if scores[i] >= scores[b] { i } else { b });
    lambdas[best]
}

/// The [`Calibration`] of the clips' largest out-of-fold scores, pooled
/// over the fold assignments, against whether each clip is one of the
/// classes.
fn calibrate(repeats: &[Array2<f64>], labels: &[Option<usize>]) -> Option<Calibration> {
    let (scores, is_class): (Vec<f64>, Vec<bool>) = repeats
        .iter()
        .flat_map(|e| {
            e.rows()
                .into_iter()
                .zip(labels)
                .map(|(row, label)| {
                    (
                        row.fold(f64::NEG_INFINITY, |a, &b| a.max(b)),
                        label.is_some(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .unzip();
    Calibration::fit(&scores, &is_class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_take_their_clips_targets() {
        let rows = Rows {
            x: Array2::zeros((3, 1)),
            clip: vec![0, 0, 1],
        };
        let t = row_targets(&rows, &[Some(2), None]);
        assert_eq!(t.sum_axis(ndarray::Axis(1)).to_vec(), vec![1.0, 1.0, 0.0]);
        assert_eq!(t[[1, 2]], 1.0);
    }
}
