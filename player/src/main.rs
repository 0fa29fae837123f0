//! `cosound-player`: parses the command line, wires the queue, the cache
//! and the output together, and runs.

use anyhow::{bail, Context};
use clap::Parser;
use tracing_subscriber::EnvFilter;

use cosound_player::cache::{LocalFetcher, MediaCache};
use cosound_player::cli::{Cli, StatusView};
use cosound_player::controller::Controller;
use cosound_player::file_source::FileQueue;
use cosound_player::output::{self, RunOptions};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();

    let key = cli.player_key().context("reading the player key")?;
    let Some(queue_file) = &cli.queue_file else {
        bail!(
            "the network queue (API {}, gateway {}, key {}) is not in this build yet; \
             play a local mix with --queue-file MIX.json",
            cli.api_url.as_deref().unwrap_or("-"),
            cli.gateway_url.as_deref().unwrap_or("-"),
            if key.is_some() { "given" } else { "missing" },
        );
    };
    let queue = FileQueue::new(queue_file);
    let fetcher = LocalFetcher::new(queue.media_dir());
    let cache_dir = cli.cache_dir();
    let cache = MediaCache::open(&cache_dir, cli.cache_size, Box::new(fetcher))
        .with_context(|| format!("opening the media cache in {}", cache_dir.display()))?;

    let options = RunOptions {
        poll_interval: cli.poll_interval,
        duration: cli.duration,
        sample_rate: cli.sample_rate,
        live_status: cli.status == StatusView::Live,
    };
    let label = cli.output.to_string();
    output::run(&cli.output, &options, |mix| {
        Controller::new(Box::new(queue), cache, mix, label)
    })
    .with_context(|| format!("playing to {}", cli.output))?;
    Ok(())
}
