//! Fitting a model: one-hot targets (all zero for `other`), standardised
//! features, ridge regression with λ fixed or chosen by an inner grouped
//! cross-validation on the training data only.

use ndarray::Array2;

use crate::cv::out_of_fold;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::features::FeatureSet;
use crate::model::{Model, CLASSES, FORMAT_VERSION};
use crate::ridge::{self, Standardizer};

/// The λ values the inner cross-validation chooses from (half decades).
pub const LAMBDA_GRID: [f64; 11] = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4, 1e5];
/// Folds of the inner cross-validation that chooses λ.
const INNER_FOLDS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lambda {
    Fixed(f64),
    /// Chosen from [`LAMBDA_GRID`] by the lowest out-of-fold squared error.
    CrossValidated,
}

/// How to fit a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    pub feature_set: FeatureSet,
    pub lambda: Lambda,
    /// Fit an unpenalised intercept (the reference pipeline has none).
    pub intercept: bool,
}

impl Config {
    /// The earlier system's pipeline, for comparison.
    pub fn reference() -> Self {
        Config {
            feature_set: FeatureSet::Reference,
            lambda: Lambda::Fixed(1.0),
            intercept: false,
        }
    }

    /// The current model.
    pub fn improved() -> Self {
        Config {
            feature_set: FeatureSet::Extended,
            lambda: Lambda::CrossValidated,
            intercept: true,
        }
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

/// Fits `config` to feature rows `x`; `groups` keep source recordings
/// together in the inner cross-validation. The training-data hash is left
/// empty for the caller to fill in.
pub fn fit(config: &Config, x: &Array2<f64>, labels: &[Option<usize>], groups: &[String]) -> Model {
    let lambda = match config.lambda {
        Lambda::Fixed(lambda) => lambda,
        Lambda::CrossValidated => choose_lambda(config, x, labels, groups),
    };
    let standardizer = Standardizer::fit(x);
    let (weights, intercept) = ridge::fit(
        &standardizer.apply(x),
        &targets(labels),
        lambda,
        config.intercept,
    );
    Model {
        format_version: FORMAT_VERSION,
        feature_set: config.feature_set,
        classes: CLASSES.map(String::from).to_vec(),
        lambda,
        training_data_sha256: String::new(),
        feature_names: config.feature_set.names(),
        mean: standardizer.mean.to_vec(),
        scale: standardizer.scale.to_vec(),
        intercept: intercept.to_vec(),
        weights: weights.rows().into_iter().map(|r| r.to_vec()).collect(),
    }
}

/// Extracts the features of a labelled folder and fits `config` to all of
/// it, recording the data's hash. `done` is called after each clip.
pub fn train(dataset: &Dataset, config: &Config, done: &(dyn Fn() + Sync)) -> Result<Model> {
    let x = dataset.features(config.feature_set, done)?;
    let mut model = fit(config, &x, &dataset.labels(), &dataset.groups());
    model.training_data_sha256 = dataset.sha256()?;
    Ok(model)
}

fn choose_lambda(
    config: &Config,
    x: &Array2<f64>,
    labels: &[Option<usize>],
    groups: &[String],
) -> f64 {
    let y = targets(labels);
    let error = |lambda: f64| {
        let fixed = Config {
            lambda: Lambda::Fixed(lambda),
            ..*config
        };
        let predicted = out_of_fold(&fixed, x, labels, groups, INNER_FOLDS, 0);
        (&predicted - &y).mapv(|d| d * d).sum()
    };
    let errors: Vec<f64> = LAMBDA_GRID.iter().map(|&l| error(l)).collect();
    let best = (0..errors.len()).fold(0, |b, i| if errors[i] < errors[b] { i } else { b });
    LAMBDA_GRID[best]
}
