//! Uploads through the gateway's `POST /songs`: the file is streamed, and the gateway stores it
//! in S3, measures its loudness and has the model place it. A file already in the catalogue
//! (409) is skipped, so a re-run only adds what is new. A file's type is `--type`, or the name
//! of its folder when that is `soundscape` or `instrumental`; its title is its file name,
//! spaced and capitalised.

use anyhow::{bail, Context, Result};
use cosound_rules::recommend::SongType;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tokio_util::io::ReaderStream;

const AUDIO: [&str; 4] = ["wav", "flac", "ogg", "mp3"];

/// The gateway, and the admin's token for it.
pub struct Gateway {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

pub enum Outcome {
    Added(i64),
    /// The catalogue has this file (or the same sound in another file) as this song.
    AlreadyThere(i64),
}

pub async fn upload_paths(gateway: &Gateway, kind: Option<&str>, paths: &[PathBuf]) -> Result<()> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    files.sort();
    let songs = files
        .iter()
        .map(|file| Ok((file.clone(), song_type(file, kind)?, title(file))))
        .collect::<Result<Vec<_>>>()?;
    upload_all(gateway, &songs).await
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_dir() {
        let entries =
            std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?;
        for entry in entries {
            collect(&entry?.path(), files)?;
        }
    } else if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO.contains(&e.to_ascii_lowercase().as_str()))
    {
        files.push(path.to_path_buf());
    } else if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    Ok(())
}

fn song_type(file: &Path, given: Option<&str>) -> Result<String> {
    let folder = file
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .filter(|n| SongType::parse(n).is_some());
    match given.or(folder) {
        Some(kind) => Ok(kind.to_string()),
        None => bail!(
            "{}: give --type soundscape|instrumental, or put it in a folder of that name",
            file.display()
        ),
    }
}

/// `sea_waves-at-dusk.ogg` → "Sea waves at dusk".
fn title(file: &Path) -> String {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("untitled");
    let spaced = stem.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn upload_all(gateway: &Gateway, songs: &[(PathBuf, String, String)]) -> Result<()> {
    let mut total = 0;
    for (file, _, _) in songs {
        total += std::fs::metadata(file)?.len();
    }
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg}")
            .expect("valid template"),
    );
    let (mut added, mut skipped, mut failed) = (0, 0, Vec::new());
    for (file, kind, title) in songs {
        bar.set_message(title.clone());
        match upload(gateway, file, kind, title, &bar).await {
            Ok(Outcome::Added(id)) => {
                added += 1;
                bar.println(format!("added    {} → song {id}", file.display()));
            }
            Ok(Outcome::AlreadyThere(id)) => {
                skipped += 1;
                bar.println(format!(
                    "skipped  {} (already in the catalogue as song {id})",
                    file.display()
                ));
            }
            Err(error) => {
                bar.println(format!("failed   {}: {error:#}", file.display()));
                failed.push(file.display().to_string());
            }
        }
    }
    bar.finish_and_clear();
    println!(
        "{added} added, {skipped} already there, {} failed",
        failed.len()
    );
    if !failed.is_empty() {
        bail!("these files were not uploaded: {}", failed.join(", "));
    }
    Ok(())
}

/// Streams `file` to the gateway, advancing `bar` by its bytes as they leave.
pub async fn upload(
    gateway: &Gateway,
    file: &Path,
    kind: &str,
    title: &str,
    bar: &ProgressBar,
) -> Result<Outcome> {
    let size = std::fs::metadata(file)?.len();
    let reader = tokio::fs::File::open(file).await?;
    let progress = bar.clone();
    // The file is streamed, advancing the bar as each chunk leaves.
    let body = ReaderStream::new(reader).inspect(move |chunk| {
        if let Ok(chunk) = chunk {
            progress.inc(chunk.len() as u64);
        }
    });
    let response = gateway
        .http
        .post(format!("{}/songs", gateway.url))
        .query(&[("title", title), ("type", kind)])
        .bearer_auth(&gateway.token)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .with_context(|| format!("cannot reach the gateway at {}", gateway.url))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    match (
        status.as_u16(),
        answer["id"].as_i64(),
        answer["song_id"].as_i64(),
    ) {
        (201, Some(id), _) => Ok(Outcome::Added(id)),
        (409, _, Some(id)) => Ok(Outcome::AlreadyThere(id)),
        _ => bail!(
            "{status}: {}",
            answer["message"].as_str().unwrap_or("no message")
        ),
    }
}
