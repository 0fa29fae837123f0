//! `cosound-ml train` and `evaluate`: the model fitted on a labelled folder, and its grouped
//! cross-validation against the reference pipeline.

use crate::progress;
use anyhow::{Context, Result};
use cosound_ml::cv::{cross_validate, Report};
use cosound_ml::dataset::{Dataset, Rows};
use cosound_ml::train::{self, Config};
use cosound_ml::CLASSES;
use std::path::Path;

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
    println!(
        "trained on {} clips (λ = {}), wrote {}",
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
    println!(
        "{:<10} {:>8} {:>22}",
        "pipeline", "top-1", "others' mean max weight"
    );
    let mut per_class = Vec::new();
    for (name, config) in [
        ("reference", Config::reference()),
        ("current", Config::improved()),
    ] {
        let rows = features(&dataset, &config)?;
        let reports: Vec<Report> = (0..repeats)
            .map(|seed| cross_validate(&config, &rows, &labels, &groups, folds, seed))
            .collect();
        let mean =
            |f: fn(&Report) -> f64| reports.iter().map(f).sum::<f64>() / reports.len() as f64;
        println!(
            "{name:<10} {:>8.3} {:>22.3}",
            mean(|r| r.top1),
            mean(|r| r.other_mean_max)
        );
        per_class.push((name, reports));
    }
    println!("\nper-class top-1 (all fold assignments pooled)");
    println!(
        "{:<10} {}",
        "pipeline",
        CLASSES.map(|c| format!("{c:>15}")).join("")
    );
    for (name, reports) in &per_class {
        let accuracy = (0..CLASSES.len()).map(|c| {
            let row = |r: &Report| r.confusion[c];
            let total: usize = reports.iter().map(|r| row(r).iter().sum::<usize>()).sum();
            let right: usize = reports.iter().map(|r| row(r)[c]).sum();
            format!("{:>15.3}", right as f64 / total.max(1) as f64)
        });
        println!("{name:<10} {}", accuracy.collect::<String>());
    }
    Ok(())
}
