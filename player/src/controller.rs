//! The control loop's one step: ask the queue, bring what it wants into
//! the cache and memory, hand the mixer a plan, and report what played.
//!
//! It runs off the audio thread (on the main thread, or inside offline
//! rendering between blocks), so it may block on files and decoding.
//! Failures never silence the room: a poll that fails keeps the current
//! mix; a sound that cannot be fetched or decoded is skipped, reported,
//! and retried at the next poll while the rest plays; a new mix none of
//! whose sounds loads leaves the current one playing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use crate::cache::MediaCache;
use crate::decode::decode_file;
use crate::error::Result;
use crate::mix::seam::{declick, make_loopable, DECLICK_SECONDS};
use crate::mix::{Clip, MixEvent, MixPlan, Planned, Role, VoiceState};
use crate::source::{DesiredMix, LayerSpec, MediaRef, PlayReport, QueueSource, SongId};
use crate::status::{Connection, Status};
use crate::stream::MixHandle;

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
        }
    }

    /// One poll: events out, queue in, plan to the mixer.
    pub fn tick(&mut self) {
        for event in self.mix.events() {
            self.report(event);
        }
        let polled = self.source.poll();
        self.status.last_poll = Some(SystemTime::now());
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
            Err(e) => {
                tracing::warn!("queue poll failed, the current mix plays on: {e}");
                self.status.problem(format!("poll failed: {e}"));
                self.status.connection = Connection::Failing(e.to_string());
            }
        }
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
        let mut plan = MixPlan::default();
        let mut loaded = HashMap::new();
        let mut failed = false;
        for (role, spec) in mix.sounds() {
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
                    if self.reported.insert((spec.song_id, e.to_string())) {
                        tracing::warn!(song = %spec.song_id, "skipped: {e}");
                        self.status
                            .problem(format!("skipped {}: {e}", spec.song_id));
                    }
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
        tracing::debug!(song = %spec.song_id, frames = clip.frames(), "loaded");
        Ok(Arc::new(clip))
    }
}
