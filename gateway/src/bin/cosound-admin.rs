//! `cosound-admin upload FOLDER…`: uploads audio files to the gateway as an admin, with a
//! progress bar. `cosound-admin player-key NAME`: issues (or rotates) the key of the player
//! with that name and prints it, for setting up its device. A file's type is `--type`, or the name of its folder when that is
//! `soundscape` or `instrumental`; its title is its file name, spaced and capitalised. Files
//! already in the catalogue (the gateway answers 409) are skipped, so a re-run only adds
//! what is new.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tokio_util::io::ReaderStream;

#[derive(Parser)]
#[command(
    name = "cosound-admin",
    about = "Cosound admin tasks through the gateway"
)]
struct Cli {
    /// The gateway's URL.
    #[arg(
        long,
        env = "COSOUND_GATEWAY_URL",
        default_value = "http://127.0.0.1:8787"
    )]
    gateway: String,
    /// An admin's JWT; without it, sign in with --email and --password at --api.
    #[arg(long, env = "COSOUND_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The API (PostgREST) URL, for the local stack's sign-in.
    #[arg(long, env = "COSOUND_API_URL", default_value = "http://127.0.0.1:3000")]
    api: String,
    #[arg(long, env = "COSOUND_ADMIN_EMAIL")]
    email: Option<String>,
    #[arg(long, env = "COSOUND_ADMIN_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upload audio files (wav, flac, ogg, mp3), or every one in the folders given.
    Upload {
        /// soundscape or instrumental, for files not in a folder of that name.
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Issue a new key for the player with this name (the old one stops working) and print it.
    PlayerKey { name: String },
}

const AUDIO: [&str; 4] = ["wav", "flac", "ogg", "mp3"];

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let http = reqwest::Client::new();
    let token = match (&cli.token, &cli.email, &cli.password) {
        (Some(token), _, _) => token.clone(),
        (None, Some(email), Some(password)) => sign_in(&http, &cli.api, email, password).await?,
        _ => bail!("give an admin's JWT (--token) or --email and --password to sign in"),
    };
    let (kind, paths) = match &cli.command {
        Command::Upload { kind, paths } => (kind.clone(), paths.clone()),
        Command::PlayerKey { name } => {
            let key = player_key(&http, &cli, &token, name).await?;
            println!("{key}");
            return Ok(());
        }
    };
    let mut files = Vec::new();
    for path in &paths {
        collect(path, &mut files)?;
    }
    files.sort();
    let songs = files
        .iter()
        .map(|file| Ok((file.clone(), song_type(file, kind.as_deref())?, title(file))))
        .collect::<Result<Vec<_>>>()?;
    upload_all(&http, &cli.gateway, &token, &songs).await
}

async fn sign_in(http: &reqwest::Client, api: &str, email: &str, password: &str) -> Result<String> {
    let response = http
        .post(format!("{api}/rpc/sign_in"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .with_context(|| format!("cannot reach the API at {api} to sign in"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_string()),
        _ => bail!("signing in as {email} failed ({status}): {body}"),
    }
}

/// Looks the player up by name in the API, then has the gateway issue its key.
async fn player_key(http: &reqwest::Client, cli: &Cli, token: &str, name: &str) -> Result<String> {
    let players: Value = http
        .get(format!("{}/players", cli.api))
        .query(&[("name", format!("eq.{name}")), ("select", "id".into())])
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach the API at {}", cli.api))?
        .error_for_status()?
        .json()
        .await?;
    let ids: Vec<i64> = players
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|player| player["id"].as_i64())
        .collect();
    let [id] = ids[..] else {
        bail!("expected one player named {name:?}, found {}", ids.len());
    };
    let response = http
        .post(format!("{}/players/{id}/key", cli.gateway))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach the gateway at {}", cli.gateway))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match body["key"].as_str() {
        Some(key) if status.is_success() => Ok(key.to_string()),
        _ => bail!("the gateway issued no key for player {id} ({status}): {body}"),
    }
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
        .filter(|n| ["soundscape", "instrumental"].contains(n));
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

async fn upload_all(
    http: &reqwest::Client,
    gateway: &str,
    token: &str,
    songs: &[(PathBuf, String, String)],
) -> Result<()> {
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
        match upload(http, gateway, token, file, kind, title, &bar).await {
            Ok(Outcome::Added(id)) => {
                added += 1;
                bar.println(format!("added    {} → song {id}", file.display()));
            }
            Ok(Outcome::AlreadyThere) => {
                skipped += 1;
                bar.println(format!(
                    "skipped  {} (already in the catalogue)",
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

enum Outcome {
    Added(i64),
    AlreadyThere,
}

async fn upload(
    http: &reqwest::Client,
    gateway: &str,
    token: &str,
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
    let response = http
        .post(format!("{gateway}/songs"))
        .query(&[("title", title), ("type", kind)])
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .with_context(|| format!("cannot reach the gateway at {gateway}"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    match status.as_u16() {
        201 => Ok(Outcome::Added(answer["id"].as_i64().unwrap_or_default())),
        409 => Ok(Outcome::AlreadyThere),
        _ => bail!(
            "{status}: {}",
            answer["message"].as_str().unwrap_or("no message")
        ),
    }
}
