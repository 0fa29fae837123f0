//! `cosound-player`: parses the command line, wires the queue (the API's,
//! or a file's), the cache and the output together, and runs.

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

use cosound_player::cache::{Fetcher, LocalFetcher, MediaCache};
use cosound_player::cli::{Cli, StatusView};
use cosound_player::controller::Controller;
use cosound_player::file_source::FileQueue;
use cosound_player::network::media::GatewayFetcher;
use cosound_player::network::queue::NetworkQueue;
use cosound_player::network::session::Session;
use cosound_player::output::{self, RunOptions};
use cosound_player::source::QueueSource;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The decoders announce every stream they open at info; a device log wants warnings only.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,symphonia=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let cache_dir = cli.cache_dir();
    let (queue, fetcher): (Box<dyn QueueSource>, Box<dyn Fetcher>) = match &cli.queue_file {
        Some(queue_file) => {
            let queue = FileQueue::new(queue_file);
            let fetcher = LocalFetcher::new(queue.media_dir());
            (Box::new(queue), Box::new(fetcher))
        }
        None => {
            let (Some(api_url), Some(gateway_url)) = (&cli.api_url, &cli.gateway_url) else {
                bail!("give --api-url and --gateway-url (or --queue-file MIX.json)");
            };
            let Some(key) = cli.player_key().context("reading the player key")? else {
                bail!(
                    "no player key: give --player-key-file FILE or set COSOUND_PLAYER_KEY \
                     (a manager issues it at the gateway: POST /players/{{id}}/key)"
                );
            };
            let session = Arc::new(Session::new(gateway_url, key)?);
            (
                Box::new(NetworkQueue::new(Arc::clone(&session), api_url)),
                Box::new(GatewayFetcher::new(session)),
            )
        }
    };
    let cache = MediaCache::open(&cache_dir, cli.cache_size, fetcher)
        .with_context(|| format!("opening the media cache in {}", cache_dir.display()))?;

    let options = RunOptions {
        poll_interval: cli.poll_interval,
        duration: cli.duration,
        sample_rate: cli.sample_rate,
        live_status: cli.status == StatusView::Live,
    };
    let label = cli.output.to_string();
    output::run(&cli.output, &options, |mix| {
        Controller::new(queue, cache, mix, label)
    })
    .with_context(|| format!("playing to {}", cli.output))?;
    Ok(())
}
