use anyhow::{Context, Result};
use clap::Parser;
use cosound_gateway::config::Config;
use cosound_gateway::scheduler::Scheduler;
use cosound_gateway::server;
use cosound_gateway::state::AppState;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    let state = AppState::new(&config)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is the port taken? (COSOUND_GATEWAY_PORT)",
                config.addr
            )
        })?;
    let scheduler = Scheduler::start(&config, state.db.clone()).await?;
    tracing::info!(addr = %config.addr, "gateway listening");
    server::serve(listener, state, shutdown_signal()).await?;
    scheduler.stop().await;
    tracing::info!("gateway stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, letting requests in flight finish.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
}
