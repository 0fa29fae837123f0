//! Cross-validation grouped by source recording, and the two numbers the
//! model is judged by: top-1 accuracy on the five classes and the mean
//! largest weight given to `other` clips.

use std::collections::BTreeMap;

use ndarray::{Array2, Axis};

use crate::dataset::Rows;
use crate::model::CLASSES;
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
    /// Mean over `other` clips of their largest weight.
    pub other_mean_max: f64,
    pub others: usize,
    /// `confusion[true][predicted]` over target-class clips.
    pub confusion: [[usize; 5]; 5],
}

impl Report {
    /// Scores out-of-fold embeddings (rows) against their labels.
    pub fn score(embeddings: &Array2<f64>, labels: &[Option<usize>]) -> Report {
        let mut confusion = [[0usize; 5]; 5];
        let (mut other_sum, mut others) = (0.0, 0);
        for (row, label) in embeddings.axis_iter(Axis(0)).zip(labels) {
            let best = (0..CLASSES.len()).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            match label {
                Some(l) => confusion[*l][best] += 1,
                None => {
                    other_sum += row.iter().copied().fold(0.0, f64::max);
                    others += 1;
                }
            }
        }
        let targets: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..CLASSES.len()).map(|c| confusion[c][c]).sum();
        Report {
            top1: correct as f64 / targets.max(1) as f64,
            targets,
            other_mean_max: other_sum / others.max(1) as f64,
            others,
            confusion,
        }
    }
}

/// Out-of-fold embeddings (one row per clip) of a k-fold grouped
/// cross-validation over the clips of `rows`; everything (standardisation,
/// λ choice) is fitted on the training folds only.
pub fn out_of_fold(
    config: &Config,
    rows: &Rows,
    labels: &[Option<usize>],
    groups: &[String],
    k: usize,
    seed: u64,
) -> Array2<f64> {
    let fold = folds(labels, groups, k, seed);
    let mut out = Array2::zeros((labels.len(), CLASSES.len()));
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
        let embeddings = model.clip_embeddings(&rows.of_clips(&test));
        for (row, &c) in embeddings.axis_iter(Axis(0)).zip(&test) {
            out.row_mut(c).assign(&row);
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
    Report::score(&out_of_fold(config, rows, labels, groups, k, seed), labels)
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
            [0.0, 0.3, 0.1, 0.0, 0.0],
        ];
        let report = Report::score(&embeddings, &[Some(0), Some(1), None]);
        assert_eq!((report.targets, report.others), (2, 1));
        assert!((report.top1 - 0.5).abs() < 1e-12);
        assert!((report.other_mean_max - 0.3).abs() < 1e-12);
        assert_eq!(report.confusion[1][3], 1);
    }
}
