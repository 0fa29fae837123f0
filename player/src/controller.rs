//! The control loop's one step: ask the queue, bring what it wants into
//! the cache and memory, hand the mixer a plan, and report what played.
//!
//! It runs off the audio thread (on the main thread, or inside offline
//! rendering between blocks), so it may block on files and decoding.
//! Failures never silence the room: a poll that fails keeps the current
//! mix; a sound that cannot be fetched or decoded is skipped, reported to
//! the queue as failed, and retried on a backoff while the rest plays (one
//! whose server is away, at the server's own pace, unreported); a new mix
//! none of whose sounds loads leaves the current one playing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::cache::MediaCache;
use crate::decode::decode_file;
use crate::error::{Error, Result};
use crate::mix::seam::{declick, make_loopable, DECLICK_SECONDS};
use crate::mix::{Clip, MixEvent, MixPlan, Planned, Role, VoiceState};
use crate::network::backoff::Backoff;
use crate::source::{DesiredMix, LayerSpec, MediaRef, PlayReport, QueueSource, SongId};
use crate::status::{Connection, Status};
use crate::stream::MixHandle;

/// The first wait before a file that failed (corrupt, refused, not audio)
/// is fetched again; it doubles up to [`BROKEN_RETRY_CAP`].
const BROKEN_RETRY_BASE: Duration = Duration::from_secs(10);
const BROKEN_RETRY_CAP: Duration = Duration::from_secs(15 * 60);

/// Drives the mix from a queue.
pub struct Controller {
    source: Box<dyn QueueSource>,
    cache: MediaCache,
    mix: MixHandle,
    status: Status,
    /// Clips in memory for the current mix, by song and role.
    loaded: HashMap<(SongId, Role), (MediaRef, Arc<Clip>)>,
    wanted: Option<DesiredMix>,
    /// Some sound of `wanted` failed to load: try again next tick.
    incomplete: bool,
    /// Failures already reported, so a retry does not repeat the warning.
    reported: HashSet<(SongId, String)>,
    /// Files that failed for themselves, and when to try each again.
    broken: HashMap<MediaRef, Backoff>,
}

impl Controller {
    pub fn new(
        source: Box<dyn QueueSource>,
        cache: MediaCache,
        mix: MixHandle,
        output: String,
    ) -> Self {
        let status = Status::new(output, source.describe());
        Self {
            source,
            cache,
            mix,
            status,
            loaded: HashMap::new(),
            wanted: None,
            incomplete: false,
            reported: HashSet::new(),
            broken: HashMap::new(),
        }
    }

    /// One poll: events out, queue in, plan to the mixer.
    pub fn tick(&mut self) {
        for event in self.mix.events() {
            self.report(event);
        }
        let polled = self.source.poll();
        if polled.is_ok() {
            self.status.last_poll = Some(SystemTime::now());
        }
        match polled {
            Ok(Some(mix)) => {
                self.status.connection = Connection::Ok;
                tracing::info!(
                    layers = mix.layers.len(),
                    instrumental = mix.instrumental.is_some(),
                    "new mix"
                );
                self.wanted = Some(mix);
                self.load();
            }
            Ok(None) => {
                self.status.connection = Connection::Ok;
                if self.incomplete {
                    self.load();
                }
            }
            Err(e @ Error::Waiting { .. }) => {
                tracing::debug!("{e}");
                self.status.connection = Connection::Failing(e.to_string());
            }
            Err(e) => {
                tracing::warn!("queue poll failed, the current mix plays on: {e}");
                self.status.problem(format!("poll failed: {e}"));
                self.status.connection = Connection::Failing(e.to_string());
            }
        }
        self.status.source = self.source.describe();
        self.status.cache_bytes = self.cache.used_bytes();
        self.status.cache_files = self.cache.len();
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The voices as the mixer last published them.
    pub fn voices(&self) -> Vec<VoiceState> {
        self.mix.voices()
    }

    fn report(&mut self, event: MixEvent) {
        let report = match event {
            MixEvent::Started { song, role } => {
                tracing::info!(%song, ?role, "started");
                PlayReport::Started { song, role }
            }
            MixEvent::Ended { song, role } => {
                tracing::info!(%song, ?role, "ended");
                PlayReport::Ended { song, role }
            }
        };
        if let Err(e) = self.source.report(&report) {
            tracing::warn!("cannot report {report:?}: {e}");
        }
    }

    fn load(&mut self) {
        let Some(mix) = self.wanted.clone() else {
            return;
        };
        let mut plan = MixPlan {
            volume_cap: mix.volume_cap,
            ..MixPlan::default()
        };
        let mut loaded = HashMap::new();
        let mut failed = false;
        for (role, spec) in mix.sounds() {
            let now = Instant::now();
            if self.broken.get(&spec.media).is_some_and(|b| !b.ready(now)) {
                failed = true;
                continue;
            }
            match self.clip(role, spec) {
                Ok(clip) => {
                    loaded.insert(
                        (spec.song_id, role),
                        (spec.media.clone(), Arc::clone(&clip)),
                    );
                    let planned = Planned {
                        song: spec.song_id,
                        clip,
                        gain: spec.mix_gain(),
                    };
                    match role {
                        Role::Layer => plan.layers.push(planned),
                        Role::Instrumental => plan.instrumental = Some(planned),
                    }
                }
                Err(e) => {
                    failed = true;
                    self.skipped(spec, e);
                }
            }
        }
        self.incomplete = failed;
        let nothing_loaded = plan.layers.is_empty() && plan.instrumental.is_none();
        if failed && nothing_loaded {
            tracing::warn!("no sound of the new mix could be loaded; the current mix plays on");
        } else {
            self.loaded = loaded;
            self.mix.send(plan);
        }
        for media in &mix.upcoming {
            if let Err(e) = self.cache.get(media) {
                tracing::debug!(uri = %media.uri, "prefetch failed: {e}");
            }
        }
    }

    /// Logs a sound that could not be loaded and, when the file itself is
    /// at fault rather than a server that is away, reports it once and
    /// puts it on a backoff of its own.
    fn skipped(&mut self, spec: &LayerSpec, error: Error) {
        if matches!(error, Error::Waiting { .. }) {
            return;
        }
        let first_time = self.reported.insert((spec.song_id, error.to_string()));
        if error.is_transient() {
            if first_time {
                tracing::warn!(song = %spec.song_id, "not fetched yet: {error}");
            }
            return;
        }
        let wait = self
            .broken
            .entry(spec.media.clone())
            .or_insert_with(|| Backoff::new(BROKEN_RETRY_BASE, BROKEN_RETRY_CAP))
            .failed(Instant::now());
        if first_time {
            tracing::warn!(song = %spec.song_id, "skipped (next try in {wait:.0?}): {error}");
            self.status
                .problem(format!("skipped {}: {error}", spec.song_id));
            let report = PlayReport::Failed {
                song: spec.song_id,
                detail: error.to_string(),
            };
            if let Err(e) = self.source.report(&report) {
                tracing::warn!("cannot report {report:?}: {e}");
            }
        }
    }

    /// The clip for `spec`, from memory when already loaded, else fetched,
    /// decoded and prepared for its role.
    fn clip(&mut self, role: Role, spec: &LayerSpec) -> Result<Arc<Clip>> {
        if let Some((media, clip)) = self.loaded.get(&(spec.song_id, role)) {
            if *media == spec.media {
                return Ok(Arc::clone(clip));
            }
        }
        let path = self.cache.get(&spec.media)?;
        let rate = self.mix.sample_rate();
        let mut clip = decode_file(&path, rate).inspect_err(|_| {
            // A file that will not decode is not kept: the next try
            // fetches it afresh.
            self.cache.forget(&spec.media);
        })?;
        match role {
            Role::Layer => make_loopable(&mut clip, rate),
            Role::Instrumental => {
                declick(&mut clip, (DECLICK_SECONDS * rate as f32) as usize);
            }
        }
        self.broken.remove(&spec.media);
        tracing::debug!(song = %spec.song_id, frames = clip.frames(), "loaded");
        Ok(Arc::new(clip))
    }
}
