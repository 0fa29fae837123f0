//! Cross-validation grouped by source recording, and what the model is
//! judged by: top-1 accuracy on the five classes, the mean largest weight
//! of the five classes' clips and of `other` clips, how well the largest
//! weight separates the two (rank AUC), and whether the weights mean what
//! they say (a reliability table).

use std::collections::BTreeMap;

use ndarray::{Array2, Axis};

use crate::calibration::fits_no_class;
use crate::dataset::Rows;
use crate::model::{Model, CLASSES};
use crate::train::{fit, Config};

/// Fold of each example. Groups (source recordings) are dealt round-robin
/// in order of label, then of a seeded hash of the group name, so every
/// fold gets a share of every class and no group is split.
pub fn folds(labels: &[Option<usize>], groups: &[String], k: usize, seed: u64) -> Vec<usize> {
    let mut by_group: BTreeMap<&str, Option<usize>> = BTreeMap::new();
    for (label, group) in labels.iter().zip(groups) {
        by_group.entry(group).or_insert(*label);
    }
    let mut order: Vec<(&str, Option<usize>)> = by_group.into_iter().collect();
    // `other` (None) sorts last; within a label the seed shuffles.
    order.sort_by_key(|(group, label)| (label.map_or(usize::MAX, |l| l), mix(seed, group)));
    let fold_of: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, (group, _))| (*group, i % k))
        .collect();
    groups.iter().map(|g| fold_of[g.as_str()]).collect()
}

/// The clips outside and inside fold `f`: training and test sets.
pub fn split(fold: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    (0..fold.len()).partition(|&c| fold[c] != f)
}

/// FNV-1a of the name, finished with splitmix64's mixer under the seed.
fn mix(seed: u64, name: &str) -> u64 {
    let mut h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    h ^= seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Out-of-fold results of one cross-validation run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Share of target-class clips whose largest weight is their own class.
    pub top1: f64,
    pub targets: usize,
    /// Mean over target-class clips of their largest weight.
    pub target_mean_max: f64,
    /// Mean over `other` clips of their largest weight.
    pub other_mean_max: f64,
    pub others: usize,
    /// Shares of target-class clips and of `other` clips that
    /// [fit no class](crate::calibration::fits_no_class).
    pub targets_no_class: f64,
    pub others_no_class: f64,
    /// [`rank_auc`] of the largest weight.
    pub auc: f64,
    /// `confusion[true][predicted]` over target-class clips.
    pub confusion: [[usize; 5]; 5],
}

impl Report {
    /// Scores out-of-fold embeddings (rows) against their labels.
    pub fn score(embeddings: &Array2<f64>, labels: &[Option<usize>]) -> Report {
        let mut confusion = [[0usize; 5]; 5];
        let mut sums = [0.0; 2];
        let mut no_class = [0usize; 2];
        for (row, label) in embeddings.axis_iter(Axis(0)).zip(labels) {
            let side = usize::from(label.is_none());
            sums[side] += largest(row.iter());
            let embedding: [f32; 5] = std::array::from_fn(|c| row[c] as f32);
            no_class[side] += usize::from(fits_no_class(&embedding));
            if let Some(l) = label {
                let best = (0..CLASSES.len()).fold(0, |b, c| if row[c] > row[b] { c } else { b });
                confusion[*l][best] += 1;
            }
        }
        let targets: usize = confusion.iter().flatten().sum();
        let others = labels.len() - targets;
        let correct: usize = (0..CLASSES.len()).map(|c| confusion[c][c]).sum();
        let share = |n: f64, of: usize| n / of.max(1) as f64;
        Report {
            top1: share(correct as f64, targets),
            targets,
            target_mean_max: share(sums[0], targets),
            other_mean_max: share(sums[1], others),
            others,
            targets_no_class: share(no_class[0] as f64, targets),
            others_no_class: share(no_class[1] as f64, others),
            auc: rank_auc(embeddings, labels),
            confusion,
        }
    }
}

fn largest<'a>(weights: impl Iterator<Item = &'a f64>) -> f64 {
    weights.copied().fold(f64::NEG_INFINITY, f64::max)
}

/// How well the largest weight separates the five classes' clips from
/// `other` clips: the ROC AUC, i.e. the chance that a random target clip's
/// largest weight is above a random `other` clip's (ties count half); 0.5
/// when either side is empty.
pub fn rank_auc(embeddings: &Array2<f64>, labels: &[Option<usize>]) -> f64 {
    let (mut targets, mut others) = (Vec::new(), Vec::new());
    for (row, label) in embeddings.rows().into_iter().zip(labels) {
        let side = if label.is_some() {
            &mut targets
        } else {
            &mut others
        };
        side.push(largest(row.iter()));
    }
    if targets.is_empty() || others.is_empty() {
        return 0.5;
    }
    let wins: f64 = targets
        .iter()
        .map(|t| {
            others
                .iter()
                .map(|o| match t.partial_cmp(o) {
                    Some(std::cmp::Ordering::Greater) => 1.0,
                    Some(std::cmp::Ordering::Equal) => 0.5,
                    _ => 0.0,
                })
                .sum::<f64>()
        })
        .sum();
    wins / (targets.len() * others.len()) as f64
}

/// One bin of a reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bin {
    /// (clip, class) pairs whose weight falls in the bin.
    pub count: usize,
    pub mean_weight: f64,
    /// Share of those pairs whose clip truly is that class.
    pub share_true: f64,
}

/// The reliability table of embeddings: every (clip, class) pair's weight
/// in one of `bins` equal bins of [0, 1] (1 in the last), against whether
/// the clip is that class. Weights that mean "the probability that the
/// sound is this class" give a share near each bin's mean weight.
pub fn reliability(embeddings: &Array2<f64>, labels: &[Option<usize>], bins: usize) -> Vec<Bin> {
    let mut table = vec![Bin::default(); bins];
    for (row, label) in embeddings.rows().into_iter().zip(labels) {
        for (c, &w) in row.iter().enumerate() {
            let bin = &mut table[((w * bins as f64) as usize).min(bins - 1)];
            bin.count += 1;
            bin.mean_weight += w;
            bin.share_true += f64::from(u8::from(*label == Some(c)));
        }
    }
    for bin in &mut table {
        bin.mean_weight /= bin.count.max(1) as f64;
        bin.share_true /= bin.count.max(1) as f64;
    }
    table
}

/// Out-of-fold embeddings of a cross-validation, one row per clip.
#[derive(Debug, Clone)]
pub struct OutOfFold {
    pub embeddings: Array2<f64>,
    /// Of the same models without their calibration.
    pub uncalibrated: Array2<f64>,
}

/// Out-of-fold embeddings of a k-fold grouped cross-validation over the
/// clips of `rows`; everything (standardisation, λ choice, calibration) is
/// fitted on the training folds only.
pub fn out_of_fold(
    config: &Config,
    rows: &Rows,
    labels: &[Option<usize>],
    groups: &[String],
    k: usize,
    seed: u64,
) -> OutOfFold {
    let fold = folds(labels, groups, k, seed);
    let zeros = || Array2::zeros((labels.len(), CLASSES.len()));
    let mut out = OutOfFold {
        embeddings: zeros(),
        uncalibrated: zeros(),
    };
    for f in 0..k {
        let (train, test) = split(&fold, f);
        if test.is_empty() {
            continue;
        }
        let model = fit(
            config,
            &rows.of_clips(&train),
            &train.iter().map(|&c| labels[c]).collect::<Vec<_>>(),
            &train.iter().map(|&c| groups[c].clone()).collect::<Vec<_>>(),
        );
        let test_rows = rows.of_clips(&test);
        let uncalibrated = Model {
            calibration: None,
            ..model.clone()
        };
        for (out, model) in [
            (&mut out.embeddings, &model),
            (&mut out.uncalibrated, &uncalibrated),
        ] {
            let embeddings = model.clip_embeddings(&test_rows);
            for (row, &c) in embeddings.axis_iter(Axis(0)).zip(&test) {
                out.row_mut(c).assign(&row);
            }
        }
    }
    out
}

/// Cross-validates `config` and scores the result.
pub fn cross_validate(
    config: &Config,
    rows: &Rows,
    labels: &[Option<usize>],
    groups: &[String],
    k: usize,
    seed: u64,
) -> Report {
    Report::score(
        &out_of_fold(config, rows, labels, groups, k, seed).embeddings,
        labels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_never_split_a_group_and_spread_each_class() {
        let labels: Vec<Option<usize>> = (0..40)
            .map(|i| if i % 4 == 0 { None } else { Some(i % 3) })
            .collect();
        let groups: Vec<String> = (0..40).map(|i| format!("src{}", i / 2)).collect();
        let fold = folds(&labels, &groups, 5, 3);
        for i in (0..40).step_by(2) {
            assert_eq!(fold[i], fold[i + 1], "group src{} split", i / 2);
        }
        for f in 0..5 {
            assert!(fold.contains(&f), "fold {f} empty");
        }
        assert_ne!(fold, folds(&labels, &groups, 5, 4), "the seed reshuffles");
    }

    #[test]
    fn report_counts_top1_and_other_max() {
        let embeddings = ndarray::array![
            [0.9, 0.1, 0.0, 0.0, 0.0],
            [0.2, 0.1, 0.0, 0.6, 0.0],
            [0.0, 0.15, 0.1, 0.0, 0.0],
        ];
        let report = Report::score(&embeddings, &[Some(0), Some(1), None]);
        assert_eq!((report.targets, report.others), (2, 1));
        assert!((report.top1 - 0.5).abs() < 1e-12);
        assert!((report.target_mean_max - 0.75).abs() < 1e-12);
        assert!((report.other_mean_max - 0.15).abs() < 1e-12);
        assert_eq!(
            (report.targets_no_class, report.others_no_class),
            (0.0, 1.0)
        );
        assert_eq!(report.auc, 1.0);
        assert_eq!(report.confusion[1][3], 1);
    }

    #[test]
    fn auc_counts_ordered_pairs_and_half_ties() {
        let embeddings = ndarray::array![[0.8, 0.0], [0.3, 0.1], [0.5, 0.0], [0.3, 0.0]];
        // Targets 0.8 and 0.3 against others 0.5 and 0.3: 2 + 0.5 of 4.
        let auc = rank_auc(&embeddings, &[Some(0), Some(1), None, None]);
        assert!((auc - 0.625).abs() < 1e-12, "{auc}");
    }

    #[test]
    fn the_reliability_table_bins_every_clip_and_class() {
        let embeddings = ndarray::array![[0.95, 0.05, 0.0, 0.0, 0.0], [0.9, 0.0, 0.0, 0.0, 0.15]];
        let table = reliability(&embeddings, &[Some(0), None], 10);
        assert_eq!(table.iter().map(|b| b.count).sum::<usize>(), 10);
        assert_eq!(table[9].count, 2);
        assert!((table[9].mean_weight - 0.925).abs() < 1e-12);
        assert_eq!(table[9].share_true, 0.5);
        assert_eq!((table[0].count, table[0].share_true), (7, 0.0));
        assert_eq!(table[1].count, 1);
    }
}
