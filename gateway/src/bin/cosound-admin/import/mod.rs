//! `cosound-admin import DIR`: brings an earlier installation into Cosound. The export
//! ([`export`]) is checked whole first ([`validate`]); then players, users with their tastes,
//! songs (uploaded through the gateway) and votes are written ([`write`]), each phase with a
//! progress bar, and a summary says what each phase did and how fast.

mod export;
mod validate;
mod write;

use crate::upload::Gateway;
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The export's folder: players.csv, users.csv, songs.csv, votes.csv, and optionally
    /// preferences.csv and check_in_codes.csv.
    dir: PathBuf,
    /// The database, as its owner: the import writes accounts, tastes and votes directly.
    #[arg(long, env = "COSOUND_IMPORT_DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Rows per transaction: an interrupted run loses at most one batch of each table.
    #[arg(long, default_value_t = 10_000)]
    batch_size: usize,
    /// Where the first passwords of users imported without one are written
    /// (default: first-passwords.csv in the export's folder).
    #[arg(long)]
    first_passwords: Option<PathBuf>,
    /// Only check the export; write nothing.
    #[arg(long)]
    check: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// One phase of the run, as the summary reports it.
#[derive(Serialize)]
struct Phase {
    phase: &'static str,
    /// Rows of the export it went through.
    rows: usize,
    /// Rows it added to Cosound (the rest were already there).
    added: u64,
    seconds: f64,
}

pub async fn run(gateway: &Gateway, args: &Args) -> Result<()> {
    let mut phases = Vec::new();
    let started = Instant::now();
    // The audio files are decoded as they are checked, the slow part of the check.
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("checking {spinner} {pos} audio files {msg}")
            .expect("valid template"),
    );
    let checked = validate::validate(&args.dir, |file| {
        bar.set_message(file.display().to_string());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let installation = match checked {
        Ok(installation) => installation,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            bail!(
                "{} problem(s) in {}; nothing was written",
                problems.len(),
                args.dir.display()
            );
        }
    };
    let rows = installation.players.len()
        + installation.users.len()
        + installation.songs.len()
        + installation.votes.len();
    phases.push(Phase {
        phase: "check",
        rows,
        added: 0,
        seconds: started.elapsed().as_secs_f64(),
    });
    if args.check {
        println!(
            "{} is ready to import: {rows} rows, no problems",
            args.dir.display()
        );
        return Ok(());
    }

    let mut db = write::connect(&args.database_url).await?;
    let taken = write::codes_taken(&db, &installation.codes).await?;
    if !taken.is_empty() {
        bail!(
            "check-in codes already held by other players: {}; nothing was written",
            taken.join(", ")
        );
    }

    let started = Instant::now();
    let added = write::players(&mut db, &installation.players, &installation.codes).await?;
    phases.push(phase("players", installation.players.len(), added, started));

    let started = Instant::now();
    let bar = counter("users", installation.users.len() as u64);
    let users = write::users(&mut db, &installation.users, args.batch_size, &bar).await?;
    bar.finish_and_clear();
    phases.push(phase(
        "users",
        installation.users.len(),
        users.accounts,
        started,
    ));

    let started = Instant::now();
    let bytes = installation
        .songs
        .iter()
        .map(|s| std::fs::metadata(&s.path).map_or(0, |m| m.len()))
        .sum();
    let bar = ProgressBar::new(bytes).with_style(
        ProgressStyle::with_template("songs    {bar:30} {bytes}/{total_bytes} {msg}")
            .expect("valid template"),
    );
    let (added, failed) = write::songs(&db, gateway, &installation.songs, &bar).await?;
    bar.finish_and_clear();
    phases.push(phase("songs", installation.songs.len(), added, started));
    if !failed.is_empty() {
        for failure in &failed {
            eprintln!("not uploaded: {failure}");
        }
        bail!(
            "{} song(s) were not uploaded, so no votes were imported; run again to go on",
            failed.len()
        );
    }

    let started = Instant::now();
    let bar = counter("votes", installation.votes.len() as u64);
    let added = write::votes(&mut db, &installation.votes, args.batch_size, &bar).await?;
    bar.finish_and_clear();
    phases.push(phase("votes", installation.votes.len(), added, started));

    let started = Instant::now();
    let file = args
        .first_passwords
        .clone()
        .unwrap_or_else(|| args.dir.join("first-passwords.csv"));
    let bar = counter("passwords", 0);
    let passwords = write::first_passwords(&db, &installation.users, &file, &bar).await?;
    bar.finish_and_clear();
    phases.push(phase(
        "first passwords",
        passwords as usize,
        passwords,
        started,
    ));

    if args.json {
        println!("{}", serde_json::to_string_pretty(&phases)?);
    } else {
        print_summary(&phases);
        if users.linked > 0 {
            println!(
                "{} users' addresses already had an account here and were linked to it",
                users.linked
            );
        }
        println!("{} tastes set as given", users.preferences);
        if passwords > 0 {
            println!("{passwords} first passwords written to {}", file.display());
        }
    }
    Ok(())
}

fn counter(name: &str, length: u64) -> ProgressBar {
    ProgressBar::new(length).with_style(
        ProgressStyle::with_template(&format!("{name:<8} {{bar:30}} {{pos}}/{{len}} {{msg}}"))
            .expect("valid template"),
    )
}

fn phase(name: &'static str, rows: usize, added: u64, started: Instant) -> Phase {
    Phase {
        phase: name,
        rows,
        added,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn print_summary(phases: &[Phase]) {
    println!(
        "{:<16} {:>10} {:>10} {:>9} {:>10}",
        "phase", "rows", "added", "seconds", "rows/s"
    );
    for p in phases {
        println!(
            "{:<16} {:>10} {:>10} {:>9.2} {:>10.0}",
            p.phase,
            p.rows,
            p.added,
            p.seconds,
            p.rows as f64 / p.seconds.max(1e-9)
        );
    }
}
