//! `cosound-ml train` and `evaluate`: the model fitted on a labelled folder, and its grouped
//! cross-validation against the reference pipeline.

use crate::progress;
use anyhow::{Context, Result};
use cosound_ml::cv::{out_of_fold, reliability, OutOfFold, Report};
use cosound_ml::dataset::{Dataset, Rows};
use cosound_ml::train::{self, Config};
use cosound_ml::{CLASSES, NO_CLASS_BELOW};
use ndarray::{Array2, Axis};
use std::path::Path;

/// Bins of the reliability table: 0–0.1, …, 0.9–1.0.
const RELIABILITY_BINS: usize = 10;

fn features(dataset: &Dataset, config: &Config) -> Result<Rows> {
    let bar = progress(dataset.examples.len(), "features");
    let rows = dataset.features(config.feature_set, config.segments, &|| bar.inc(1))?;
    bar.finish_and_clear();
    Ok(rows)
}

pub fn train(data: &Path, output: &Path) -> Result<()> {
    let dataset = Dataset::open(data)?;
    let bar = progress(dataset.examples.len(), "features");
    let model = train::train(&dataset, &Config::improved(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    model
        .save(output)
        .with_context(|| format!("writing {}", output.display()))?;
    let calibration = model.calibration.map_or("none".into(), |c| {
        format!(
            "weight 0.5 at score {:.3}, slope {:.2}",
            c.midpoint, c.slope
        )
    });
    println!(
        "trained on {} clips (λ = {}, calibration: {calibration}), wrote {}",
        dataset.examples.len(),
        model.lambda,
        output.display()
    );
    Ok(())
}

pub fn evaluate(data: &Path, folds: usize, repeats: u64) -> Result<()> {
    anyhow::ensure!(
        folds >= 2 && repeats >= 1,
        "need at least 2 folds and 1 repeat"
    );
    let dataset = Dataset::open(data)?;
    let (labels, groups) = (dataset.labels(), dataset.groups());
    println!(
        "{folds}-fold cross-validation grouped by source recording, {repeats} fold assignment(s)"
    );
    // Each pipeline's out-of-fold embeddings under every fold assignment;
    // the current pipeline's models also without their calibration.
    let mut pipelines: Vec<(&str, Vec<Array2<f64>>)> = Vec::new();
    for (name, config) in [
        ("reference", Config::reference()),
        ("current", Config::improved()),
    ] {
        let rows = features(&dataset, &config)?;
        let runs: Vec<OutOfFold> = (0..repeats)
            .map(|seed| out_of_fold(&config, &rows, &labels, &groups, folds, seed))
            .collect();
        if config.calibrate {
            pipelines.push((
                "uncalibrated",
                runs.iter().map(|r| r.uncalibrated.clone()).collect(),
            ));
        }
        pipelines.push((name, runs.into_iter().map(|r| r.embeddings).collect()));
    }
    let reports: Vec<(&str, Vec<Report>)> = pipelines
        .iter()
        .map(|(name, runs)| {
            (
                *name,
                runs.iter().map(|e| Report::score(e, &labels)).collect(),
            )
        })
        .collect();

    println!("\nlargest weight: mean over the five classes' clips and over `other` clips,");
    println!("rank AUC between the two, shares under the no-class threshold {NO_CLASS_BELOW}");
    println!(
        "{:<13} {:>6} {:>8} {:>8} {:>6} {:>13} {:>13}",
        "pipeline", "top-1", "classes", "others", "AUC", "classes under", "others under"
    );
    for (name, reports) in &reports {
        let mean =
            |f: fn(&Report) -> f64| reports.iter().map(f).sum::<f64>() / reports.len() as f64;
        println!(
            "{name:<13} {:>6.3} {:>8.3} {:>8.3} {:>6.3} {:>13.3} {:>13.3}",
            mean(|r| r.top1),
            mean(|r| r.target_mean_max),
            mean(|r| r.other_mean_max),
            mean(|r| r.auc),
            mean(|r| r.targets_no_class),
            mean(|r| r.others_no_class),
        );
    }

    println!("\nper-class top-1 (all fold assignments pooled)");
    println!(
        "{:<13} {}",
        "pipeline",
        CLASSES.map(|c| format!("{c:>15}")).join("")
    );
    for (name, reports) in &reports {
        let accuracy = (0..CLASSES.len()).map(|c| {
            let row = |r: &Report| r.confusion[c];
            let total: usize = reports.iter().map(|r| row(r).iter().sum::<usize>()).sum();
            let right: usize = reports.iter().map(|r| row(r)[c]).sum();
            format!("{:>15.3}", right as f64 / total.max(1) as f64)
        });
        println!("{name:<13} {}", accuracy.collect::<String>());
    }

    println!("\nreliability: every (clip, class) pair's weight, all fold assignments pooled;");
    println!("share: of the pairs in the bin, those whose clip is that class");
    for (name, runs) in pipelines.iter().filter(|(name, _)| *name != "reference") {
        let pooled =
            ndarray::concatenate(Axis(0), &runs.iter().map(|e| e.view()).collect::<Vec<_>>())?;
        let pooled_labels: Vec<Option<usize>> =
            runs.iter().flat_map(|_| labels.iter().copied()).collect();
        println!("{name}");
        println!(
            "{:>13} {:>7} {:>8} {:>7}",
            "weight", "pairs", "mean", "share"
        );
        for (i, bin) in reliability(&pooled, &pooled_labels, RELIABILITY_BINS)
            .iter()
            .enumerate()
        {
            let width = 1.0 / RELIABILITY_BINS as f64;
            let range = format!("{:.1}–{:.1}", i as f64 * width, (i + 1) as f64 * width);
            if bin.count == 0 {
                println!("{range:>13} {:>7} {:>8} {:>7}", 0, "", "");
            } else {
                println!(
                    "{range:>13} {:>7} {:>8.3} {:>7.3}",
                    bin.count, bin.mean_weight, bin.share_true
                );
            }
        }
    }
    Ok(())
}
