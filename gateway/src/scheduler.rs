//! The clock and the ears of the queues.
//!
//! - Every `COSOUND_QUEUE_REFRESH_SECONDS` (30 s) a tokio-cron-scheduler job runs
//!   `extensions.refresh_all_queues()` inside a transaction holding the advisory lock
//!   [`REFRESH_ALL_LOCK`], taken with `pg_try_advisory_xact_lock`: when several gateways run,
//!   the one that gets the lock refreshes and the others skip that tick.
//! - A dedicated connection LISTENs on `cosound_activity` (payload: a player id, sent on
//!   check-in, check-out and rating) and refreshes that player's queue after a short
//!   debounce, so a burst of ratings costs one refresh. The connection is re-opened when it
//!   drops, with back-off, and every queue is refreshed then, since notifications sent while
//!   it was down are lost.

use crate::config::Config;
use crate::state::database_config;
use anyhow::{Context, Result};
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_postgres::AsyncMessage;

/// The advisory lock key (`hashtext` of this text) held while every queue is refreshed.
pub const REFRESH_ALL_LOCK: &str = "cosound.refresh_all_queues";
/// The channel the database's check-in, check-out and rating functions notify.
pub const ACTIVITY_CHANNEL: &str = "cosound_activity";
/// Notifications for one player within this time cost one refresh.
const DEBOUNCE: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub struct Scheduler {
    cron: Option<JobScheduler>,
    listener: JoinHandle<()>,
}

impl Scheduler {
    pub async fn start(config: &Config, pool: Pool) -> Result<Self> {
        let cron = if config.queue_refresh_seconds > 0 {
            let period = Duration::from_secs(config.queue_refresh_seconds.into());
            let cron = JobScheduler::new()
                .await
                .context("cannot create the queue scheduler")?;
            let job_pool = pool.clone();
            let job = Job::new_repeated_async(period, move |_, _| {
                let pool = job_pool.clone();
                Box::pin(async move { refresh_all_logged(&pool).await })
            })
            .context("cannot schedule the queue refresh")?;
            cron.add(job)
                .await
                .context("cannot schedule the queue refresh")?;
            cron.start()
                .await
                .context("cannot start the queue scheduler")?;
            Some(cron)
        } else {
            None
        };
        let mut db = database_config(config)?;
        // A silently dead connection (a dropped network path) is noticed within a minute.
        db.keepalives_idle(Duration::from_secs(30));
        let listener = tokio::spawn(listen_forever(db, pool));
        Ok(Scheduler { cron, listener })
    }

    pub async fn stop(self) {
        if let Some(mut cron) = self.cron {
            if let Err(error) = cron.shutdown().await {
                tracing::warn!(%error, "stopping the queue scheduler failed");
            }
        }
        self.listener.abort();
    }
}

/// Refreshes every queue unless another gateway is doing it; `None` when it was.
pub async fn refresh_all(pool: &Pool) -> Result<Option<i64>> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let locked: bool = transaction
        .query_one(
            "select pg_try_advisory_xact_lock(hashtext($1))",
            &[&REFRESH_ALL_LOCK],
        )
        .await?
        .get(0);
    if !locked {
        return Ok(None);
    }
    let changed: i64 = transaction
        .query_one("select extensions.refresh_all_queues()", &[])
        .await?
        .get(0);
    transaction.commit().await?;
    Ok(Some(changed))
}

async fn refresh_all_logged(pool: &Pool) {
    match refresh_all(pool).await {
        Ok(Some(changed)) => tracing::debug!(changed, "refreshed every queue"),
        Ok(None) => tracing::debug!("another gateway is refreshing the queues"),
        Err(error) => tracing::warn!(
            error = format!("{error:#}"),
            "refreshing every queue failed"
        ),
    }
}

async fn refresh_player(pool: &Pool, player_id: i64) -> Result<bool> {
    let client = pool.get().await?;
    Ok(client
        .query_one("select extensions.refresh_queue($1)", &[&player_id])
        .await?
        .get(0))
}

/// Coalesces notifications per player: the first schedules a refresh after [`DEBOUNCE`];
/// those arriving before it runs add nothing, those after schedule the next.
#[derive(Clone)]
struct Debouncer {
    pending: Arc<Mutex<HashSet<i64>>>,
    pool: Pool,
}

impl Debouncer {
    fn notify(&self, player_id: i64) {
        if !self
            .pending
            .lock()
            .expect("debounce lock")
            .insert(player_id)
        {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DEBOUNCE).await;
            this.pending
                .lock()
                .expect("debounce lock")
                .remove(&player_id);
            match refresh_player(&this.pool, player_id).await {
                Ok(changed) => tracing::debug!(player_id, changed, "refreshed a queue on activity"),
                Err(error) => {
                    tracing::warn!(
                        player_id,
                        error = format!("{error:#}"),
                        "refreshing a queue failed"
                    )
                }
            }
        });
    }
}

async fn listen_forever(db: tokio_postgres::Config, pool: Pool) {
    let debouncer = Debouncer {
        pending: Arc::default(),
        pool: pool.clone(),
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        let error = listen(&db, &pool, &debouncer, &mut backoff).await;
        tracing::warn!(
            error = format!("{error:#}"),
            retry_in_s = backoff.as_secs(),
            "the activity listener lost its connection"
        );
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Listens until the connection fails; returns why. Resets `backoff` once listening.
async fn listen(
    db: &tokio_postgres::Config,
    pool: &Pool,
    debouncer: &Debouncer,
    backoff: &mut Duration,
) -> anyhow::Error {
    let (client, mut connection) = match db.connect(tokio_postgres::NoTls).await {
        Ok(pair) => pair,
        Err(error) => return anyhow::Error::new(error).context("cannot connect"),
    };
    let (sender, mut payloads) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    let _ = sender.send(notification.payload().to_owned());
                }
                Ok(_) => {}
                Err(error) => return anyhow::Error::new(error),
            }
        }
        anyhow::anyhow!("the server closed the connection")
    });
    if let Err(error) = client
        .batch_execute(&format!("listen {ACTIVITY_CHANNEL}"))
        .await
    {
        driver.abort();
        return anyhow::Error::new(error).context("LISTEN failed");
    }
    tracing::info!(channel = ACTIVITY_CHANNEL, "listening for activity");
    *backoff = Duration::from_secs(1);
    refresh_all_logged(pool).await;
    while let Some(payload) = payloads.recv().await {
        match payload.trim().parse::<i64>() {
            Ok(player_id) => debouncer.notify(player_id),
            Err(_) => tracing::warn!(payload, "ignored a notification that names no player"),
        }
    }
    drop(client);
    driver
        .await
        .unwrap_or_else(|error| anyhow::Error::new(error).context("the listener task failed"))
}
