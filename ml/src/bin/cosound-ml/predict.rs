//! `cosound-ml predict` and `batch-predict`: the embeddings of files, of a folder's files into
//! a CSV file, or of the catalogue's songs into the database.

use crate::catalogue::{self, Catalogue, Stored};
use crate::progress;
use anyhow::Result;
use cosound_ml::batch::{self, FolderSource, Source};
use cosound_ml::{Error, Model, CLASSES};
use std::path::{Path, PathBuf};

pub fn load_model(path: Option<PathBuf>) -> Result<Model> {
    Ok(match path {
        Some(path) => Model::load(&path)?,
        None => Model::default_model().clone(),
    })
}

pub fn files(model: &Model, files: &[PathBuf], json: bool) -> Result<()> {
    let mut failed = 0;
    if !json {
        println!(
            "{:<40} {}",
            "file",
            CLASSES.map(|c| format!("{c:>15}")).join("")
        );
    }
    for file in files {
        match model.embed_file(file) {
            Ok(embedding) if json => println!(
                "{}",
                serde_json::json!({
                    "file": file,
                    "embedding": embedding,
                    "classes": CLASSES,
                    "fits_no_class": cosound_ml::fits_no_class(&embedding),
                })
            ),
            Ok(embedding) => println!(
                "{:<40} {}",
                file.display(),
                embedding.map(|w| format!("{w:>15.4}")).join("")
            ),
            Err(error) => {
                eprintln!("error: {error}");
                failed += 1;
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} of {} file(s) failed", files.len());
    Ok(())
}

pub fn folder(model: &Model, folder: PathBuf, output: &Path) -> Result<()> {
    let source = FolderSource { dir: folder };
    let count = source.items()?.len();
    let bar = progress(count, "embedding");
    let outcomes = batch::run(model, &source, &|| bar.inc(1))?;
    bar.finish_and_clear();
    batch::write_csv(output, &outcomes)?;
    let failures: Vec<&Error> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .collect();
    println!(
        "embedded {} of {count} file(s) into {}",
        count - failures.len(),
        output.display()
    );
    for error in &failures {
        eprintln!("failed: {error}");
    }
    anyhow::ensure!(failures.is_empty(), "{} file(s) failed", failures.len());
    Ok(())
}

pub fn catalogue(model: &Model, settings: &catalogue::Settings, all: bool) -> Result<()> {
    let catalogue = Catalogue::open(settings, all, &model.id())?;
    let songs = catalogue.items()?;
    let bar = progress(songs.len(), "embedding");
    let results = batch::run_each(
        model,
        &catalogue,
        &songs,
        &|song, outcome| (outcome.name.clone(), catalogue.keep(song, outcome)),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let (mut written, mut failed) = (0, 0);
    for (name, result) in &results {
        match result {
            Ok(Stored::Written) => written += 1,
            Ok(Stored::Gone) => println!(
                "skipped: {name}: deleted, or its audio replaced, while it was embedded; nothing written"
            ),
            Err(error) => {
                eprintln!("failed: {error}");
                failed += 1;
            }
        }
    }
    let which = if all {
        ""
    } else {
        " lacking an embedding or placed by another model"
    };
    println!("embedded {written} of {} song(s){which}", songs.len());
    anyhow::ensure!(
        failed == 0,
        "{failed} song(s) failed and were left as they were"
    );
    Ok(())
}
