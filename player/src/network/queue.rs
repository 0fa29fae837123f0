//! The player's queue from PostgREST: a [`QueueSource`] over [`Api`] and
//! [`Session`].
//!
//! Each poll reads the `player_queue` view and answers a new mix only when
//! its `version` moved. Play reports wait in an outbox and go out, in
//! order, at the next poll that reaches the API, so an outage loses no
//! history. A heartbeat goes out every [`HEARTBEAT_EVERY`]. When the API
//! fails, it is left alone for a growing, jittered while ([`Backoff`]); the
//! controller keeps playing what it has meanwhile.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::mix::Role;
use crate::network::api::{Api, PlayEvent, QueueRow, API};
use crate::network::backoff::Backoff;
use crate::network::session::Session;
use crate::network::{token_refused, RETRY_BASE, RETRY_CAP};
use crate::source::{DesiredMix, LayerSpec, MediaRef, PlayReport, QueueSource, SongId};

/// How often the player says it is alive; well inside the minute after
/// which the API shows a room as offline.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);
/// Reports kept while the API is away; the oldest go first beyond it.
const OUTBOX_LIMIT: usize = 10_000;

/// A report waiting to be sent.
#[derive(Debug, Clone, PartialEq)]
struct Outgoing {
    song: SongId,
    event: PlayEvent,
    detail: Option<String>,
}

/// The queue of the player whose key the session holds.
pub struct NetworkQueue {
    session: Arc<Session>,
    api: Api,
    backoff: Backoff,
    /// The version of the last mix answered (`Some(None)`: an empty queue).
    answered: Option<Option<i64>>,
    last_heartbeat: Option<Instant>,
    outbox: VecDeque<Outgoing>,
}

impl NetworkQueue {
    pub fn new(session: Arc<Session>, api_url: &str) -> Self {
        Self {
            session,
            api: Api::new(api_url),
            backoff: Backoff::new(RETRY_BASE, RETRY_CAP),
            answered: None,
            last_heartbeat: None,
            outbox: VecDeque::new(),
        }
    }

    /// One round with the API: reports out, heartbeat when due, queue in.
    async fn exchange(&mut self) -> Result<Option<DesiredMix>> {
        let token = self.session.token().await?;
        self.flush(&token).await?;
        if self
            .last_heartbeat
            .is_none_or(|at| at.elapsed() >= HEARTBEAT_EVERY)
        {
            self.api.heartbeat(&token).await?;
            self.last_heartbeat = Some(Instant::now());
        }
        let rows = self.api.queue(&token).await?;
        let version = rows.iter().map(|r| r.version).max();
        if self.answered == Some(version) {
            return Ok(None);
        }
        self.answered = Some(version);
        tracing::info!(?version, sounds = rows.len(), "the queue changed");
        Ok(Some(desired_mix(&rows)))
    }

    /// Sends the waiting reports in order. A refused report (e.g. an end
    /// the API never saw start, or a song since deleted) is dropped: it
    /// would be refused again.
    async fn flush(&mut self, token: &str) -> Result<()> {
        while let Some(report) = self.outbox.front() {
            let sent = self
                .api
                .report_play(token, report.song.0, report.event, report.detail.as_deref())
                .await;
            match sent {
                Ok(()) => {}
                Err(e @ Error::Refused { .. }) if !token_refused(&e) => {
                    tracing::warn!(?report, "play report refused, dropped: {e}");
                }
                Err(e) => return Err(e),
            }
            self.outbox.pop_front();
        }
        Ok(())
    }
}

impl QueueSource for NetworkQueue {
    fn poll(&mut self) -> Result<Option<DesiredMix>> {
        let now = Instant::now();
        if !self.backoff.ready(now) {
            return Err(Error::Waiting {
                service: API,
                wait: self.backoff.remaining(now),
            });
        }
        let session = Arc::clone(&self.session);
        let mut result = session.block_on(self.exchange());
        if result.as_ref().is_err_and(token_refused) {
            // Expired or revoked under us: a fresh token, then once more.
            session.invalidate();
            result = session.block_on(self.exchange());
        }
        match &result {
            Ok(_) => self.backoff.succeeded(),
            Err(Error::Unreachable { service: API, .. }) => {
                let wait = self.backoff.failed(now);
                tracing::debug!(
                    "the API failed {} times in a row; next try in {wait:.1?}",
                    self.backoff.failures()
                );
            }
            Err(_) => {}
        }
        result
    }

    fn report(&mut self, report: &PlayReport) -> Result<()> {
        let (song, event, detail) = match report {
            PlayReport::Started { song, .. } => (*song, PlayEvent::Start, None),
            PlayReport::Ended { song, .. } => (*song, PlayEvent::End, None),
            PlayReport::Failed { song, detail } => (*song, PlayEvent::Failed, Some(detail.clone())),
        };
        if self.outbox.len() == OUTBOX_LIMIT {
            let dropped = self.outbox.pop_front();
            tracing::warn!(
                ?dropped,
                "too many unsent play reports; dropping the oldest"
            );
        }
        self.outbox.push_back(Outgoing {
            song,
            event,
            detail,
        });
        Ok(())
    }

    fn describe(&self) -> String {
        match self.session.player_id() {
            Some(id) => format!("player {id} at {}", self.api.url()),
            None => format!("{} (not signed in yet)", self.api.url()),
        }
    }
}

/// The mix the queue's rows ask for: layers in slot order, the
/// instrumental and the volume cap, each sound fetched through the gateway's `media/{song_id}` and
/// checked against the size and hash the catalogue holds.
pub fn desired_mix(rows: &[QueueRow]) -> DesiredMix {
    let mut mix = DesiredMix::default();
    let mut rows: Vec<&QueueRow> = rows.iter().collect();
    rows.sort_by_key(|r| r.slot);
    // The cap is the queue's, the same on every row.
    mix.volume_cap = rows.first().and_then(|row| row.volume_cap);
    for row in rows {
        let spec = LayerSpec {
            song_id: SongId(row.song_id),
            media: MediaRef {
                uri: format!("media/{}", row.song_id),
                bytes: row.byte_size.and_then(|b| u64::try_from(b).ok()),
                sha256: row.content_sha256.clone(),
            },
            gain: row.gain,
            // The queue's gain already includes the song's loudness gain.
            loudness_gain: 1.0,
        };
        match row.role {
            Role::Layer => mix.layers.push(spec),
            Role::Instrumental => mix.instrumental = Some(spec),
        }
    }
    mix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(slot: i16, song_id: i64, role: Role, gain: f32) -> QueueRow {
        QueueRow {
            slot,
            song_id,
            role,
            gain,
            byte_size: Some(1000 + song_id),
            content_sha256: Some(format!("{song_id:064x}")),
            version: 3,
            volume_cap: Some(0.5),
        }
    }

    #[test]
    fn rows_become_layers_in_slot_order_and_the_instrumental() {
        let rows = [
            row(3, 9, Role::Instrumental, 0.4),
            row(1, 5, Role::Layer, 0.2),
            row(0, 4, Role::Layer, 0.6),
        ];
        let mix = desired_mix(&rows);
        let layers: Vec<(i64, f32)> = mix
            .layers
            .iter()
            .map(|l| (l.song_id.0, l.mix_gain()))
            .collect();
        assert_eq!(layers, [(4, 0.6), (5, 0.2)]);
        let instrumental = mix.instrumental.unwrap();
        assert_eq!(instrumental.song_id, SongId(9));
        assert_eq!(instrumental.media.uri, "media/9");
        assert_eq!(instrumental.media.bytes, Some(1009));
        assert_eq!(
            instrumental.media.sha256.as_deref(),
            Some(format!("{:064x}", 9).as_str())
        );
        assert_eq!(mix.volume_cap, Some(0.5), "the schedule's cap comes along");
        assert_eq!(desired_mix(&[]), DesiredMix::default());
    }

    #[test]
    fn a_row_with_an_unknown_role_is_refused() {
        let row = |role: &str| {
            serde_json::from_value::<QueueRow>(serde_json::json!({
                "slot": 0, "song_id": 4, "role": role, "gain": 0.5,
                "byte_size": null, "content_sha256": null, "version": 1
            }))
        };
        assert_eq!(row("layer").unwrap().role, Role::Layer);
        assert_eq!(row("instrumental").unwrap().role, Role::Instrumental);
        let error = row("chorus").unwrap_err().to_string();
        assert!(error.contains("unknown role \"chorus\""), "{error}");
    }
}
