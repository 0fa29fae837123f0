//! `cosound-admin`: admin tasks through the gateway.
//! - `upload FOLDER…` uploads audio files with a progress bar ([`upload`]);
//! - `player-key NAME` issues (or rotates) a player's key and prints it, for setting up its
//!   device;
//! - `import DIR` brings an earlier installation's export into Cosound ([`import`]).

mod import;
mod upload;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;

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
    /// Import an earlier installation's export (see the README's "Importing an installation").
    Import(import::Args),
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let http = reqwest::Client::new();
    let token = match (&cli.token, &cli.email, &cli.password) {
        (Some(token), _, _) => token.clone(),
        (None, Some(email), Some(password)) => sign_in(&http, &cli.api, email, password).await?,
        _ => bail!("give an admin's JWT (--token) or --email and --password to sign in"),
    };
    let gateway = upload::Gateway {
        http,
        url: cli.gateway.clone(),
        token,
    };
    match &cli.command {
        Command::Upload { kind, paths } => {
            upload::upload_paths(&gateway, kind.as_deref(), paths).await
        }
        Command::PlayerKey { name } => {
            let key = player_key(&gateway, &cli.api, name).await?;
            println!("{key}");
            Ok(())
        }
        Command::Import(args) => import::run(&gateway, args).await,
    }
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
async fn player_key(gateway: &upload::Gateway, api: &str, name: &str) -> Result<String> {
    let players: Value = gateway
        .http
        .get(format!("{api}/players"))
        .query(&[("name", format!("eq.{name}")), ("select", "id".into())])
        .bearer_auth(&gateway.token)
        .send()
        .await
        .with_context(|| format!("cannot reach the API at {api}"))?
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
    let response = gateway
        .http
        .post(format!("{}/players/{id}/key", gateway.url))
        .bearer_auth(&gateway.token)
        .send()
        .await
        .with_context(|| format!("cannot reach the gateway at {}", gateway.url))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match body["key"].as_str() {
        Some(key) if status.is_success() => Ok(key.to_string()),
        _ => bail!("the gateway issued no key for player {id} ({status}): {body}"),
    }
}
