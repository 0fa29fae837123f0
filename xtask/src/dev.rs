//! `cargo xtask up | down | status`: the dev stack in `.cosound/dev`, with the demo catalogue
//! and a demo player.

use crate::cmd;
use crate::extension::{collect_files, hash_files};
use crate::paths;
use crate::postgres::DATABASE;
use crate::services;
use crate::stack::{Profile, Stack};
use crate::toolchain;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

pub fn build_gateway() -> Result<()> {
    cmd::run(Command::new("cargo").current_dir(paths::repo()).args([
        "build",
        "--quiet",
        "-p",
        "cosound-gateway",
    ]))
}

/// The demo player's program, and `cosound-ml`, which embeds the catalogue again after a new model.
fn build_player_and_model() -> Result<()> {
    cmd::run(Command::new("cargo").current_dir(paths::repo()).args([
        "build",
        "--quiet",
        "-p",
        "cosound-player",
        "-p",
        "cosound-ml",
    ]))
}

pub fn up() -> Result<()> {
    toolchain::ensure()?;
    let stack = Stack::dev()?;
    stack.install_extension(Profile::Release)?;
    build_gateway()?;
    build_player_and_model()?;
    stack.start()?;
    load_demo_catalogue(&stack)?;
    embed_again_what_another_model_placed(&stack)?;
    start_demo_player(&stack)?;
    let gateway = stack.port("COSOUND_GATEWAY_PORT");
    let health = services::http_get(gateway, "/healthz")
        .map(|(status, body)| format!("{status} {body}"))
        .unwrap_or_else(|error| format!("no answer: {error}"));
    println!(
        "\nCosound runs (all on 127.0.0.1):\n\
         \x20 web app          http://127.0.0.1:{gateway}/  (listeners, admins and managers sign in here)\n\
         \x20 API (PostgREST)  http://127.0.0.1:{api}/\n\
         \x20 gateway          http://127.0.0.1:{gateway}/healthz  → {health}\n\
         \x20 S3 (SeaweedFS)   {s3}/{bucket}\n\
         \x20 PostgreSQL       127.0.0.1:{pg}, database {DATABASE}\n\
         As a Supabase project (supabase-js: createClient(url, anon key, {{ db: {{ schema: 'api' }} }})):\n\
         \x20 URL              http://127.0.0.1:{gateway}  (/rest/v1, /auth/v1)\n\
         \x20 anon key         {anon}\n\
         \x20 service_role key {service}\n\
         Demo listener: listener@demo.cosound.local / listen-to-rain-1, e.g.\n\
         \x20 curl -s http://127.0.0.1:{api}/rpc/sign_in -H 'Content-Type: application/json' \\\n\
         \x20      -d '{{\"email\": \"listener@demo.cosound.local\", \"password\": \"listen-to-rain-1\"}}'\n\
         Secrets (JWT secret, API keys, S3 keys, database passwords): {config}\n\
         Logs: {logs}\n\
         See what runs: cargo xtask status · stop it: cargo xtask down",
        api = stack.port("COSOUND_API_PORT"),
        s3 = stack.s3_endpoint(),
        bucket = stack.config().get("COSOUND_S3_BUCKET"),
        pg = stack.port("COSOUND_PG_PORT"),
        anon = stack.config().get("COSOUND_ANON_KEY"),
        service = stack.config().get("COSOUND_SERVICE_ROLE_KEY"),
        config = paths::state().join("config.env").display(),
        logs = stack.dir().join("logs").display(),
    );
    Ok(())
}

/// The demo sounds in the repository, uploaded through the gateway as the seed's demo admin.
/// A stamp of the folder's contents makes later `up`s skip it; the gateway would skip each
/// file anyway (409: already in the catalogue), but not without reading it.
fn load_demo_catalogue(stack: &Stack) -> Result<()> {
    let demo = paths::repo().join("supabase/demo-audio");
    let mut files = Vec::new();
    collect_files(&demo, &mut files)?;
    files.sort();
    let fingerprint = hash_files(&files);
    let stamp = stack.dir().join("demo-catalogue.sha256");
    if std::fs::read_to_string(&stamp).is_ok_and(|old| old == fingerprint) {
        return Ok(());
    }
    println!("loading the demo catalogue from {}", demo.display());
    cmd::run(admin_command(stack).args(["upload"]).arg(&demo))
        .context("loading the demo catalogue failed")?;
    std::fs::write(stamp, fingerprint)?;
    Ok(())
}

/// After a new model: the songs an earlier one placed (each song records its model) get this
/// model's embeddings, with `cosound-ml batch-predict` and the gateway's settings.
fn embed_again_what_another_model_placed(stack: &Stack) -> Result<()> {
    cmd::run(
        Command::new(paths::target().join("debug/cosound-ml"))
            .arg("batch-predict")
            .envs(stack.gateway_env()),
    )
    .context("embedding the catalogue with the current model failed")
}

/// Starts the demo player, with a fresh key for it (the gateway keeps only its hash, so a
/// key cannot be recovered: a restarted player gets a new one, which retires the old).
fn start_demo_player(stack: &Stack) -> Result<()> {
    let player = stack.demo_player();
    if player.running_pid().is_none() {
        let key = cmd::output(admin_command(stack).args(["player-key", "Reading room"]))
            .context("cannot issue the demo player's key")?;
        write_secret(&stack.demo_player_key(), key.trim())?;
    }
    player.start()
}

/// `cosound-admin` against this stack, signed in as the seed's demo admin.
fn admin_command(stack: &Stack) -> Command {
    let mut admin = Command::new(paths::target().join("debug/cosound-admin"));
    admin
        .env(
            "COSOUND_GATEWAY_URL",
            format!("http://127.0.0.1:{}", stack.port("COSOUND_GATEWAY_PORT")),
        )
        .env(
            "COSOUND_API_URL",
            format!("http://127.0.0.1:{}", stack.port("COSOUND_API_PORT")),
        )
        // The demo admin of supabase/seed.sql.
        .env("COSOUND_ADMIN_EMAIL", "admin@demo.cosound.local")
        .env("COSOUND_ADMIN_PASSWORD", "admin-of-sound-4");
    admin
}

/// Writes `value` to a file only its owner can read.
fn write_secret(path: &Path, value: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    Ok(())
}

pub fn down() -> Result<()> {
    if !paths::state().join("config.env").exists() {
        println!("nothing to stop: the local stack was never started");
        return Ok(());
    }
    Stack::dev()?.stop()?;
    println!(
        "stopped; the data stays in {}",
        paths::state().join("dev").display()
    );
    Ok(())
}

pub fn status() -> Result<()> {
    if !paths::state().join("config.env").exists() {
        println!("the local stack was never started: cargo xtask up");
        return Ok(());
    }
    Stack::dev()?.print_status();
    Ok(())
}
