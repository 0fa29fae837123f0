//! The engine as a rodio [`Source`] on the audio side, and the
//! [`MixHandle`] that steers it from the controller's side.
//!
//! The audio side never blocks: it takes new plans with `try_recv`, sends
//! events down an unbounded channel, and publishes the voices' state with
//! `try_lock`, skipping a turn when the status view holds the lock.

use std::num::NonZero;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rodio::source::Source;

use crate::mix::{Engine, MixEvent, MixPlan, VoiceState, BLOCK_FRAMES, CHANNELS};

/// How often the voices' state is published for the status view.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(100);

/// Called before each block with the time rendered so far; offline
/// rendering runs the controller from it, on the render clock.
pub type BlockHook = Box<dyn FnMut(Duration) + Send>;

/// The controller's side of the mix.
#[derive(Debug)]
pub struct MixHandle {
    plans: Sender<MixPlan>,
    events: Receiver<MixEvent>,
    voices: Arc<Mutex<Vec<VoiceState>>>,
    rate: u32,
}

impl MixHandle {
    /// Asks the mix to move to `plan` (from its next block on).
    pub fn send(&self, plan: MixPlan) {
        // The audio side only goes away at shutdown; nothing to do then.
        let _ = self.plans.send(plan);
    }

    /// The events since the last call.
    pub fn events(&self) -> Vec<MixEvent> {
        self.events.try_iter().collect()
    }

    /// The voices as of the last snapshot (at most ~100 ms old).
    pub fn voices(&self) -> Vec<VoiceState> {
        self.voices.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }
}

/// The mix as an endless stereo stream.
pub struct MixSource {
    engine: Engine,
    plans: Receiver<MixPlan>,
    events: Sender<MixEvent>,
    voices: Arc<Mutex<Vec<VoiceState>>>,
    block: Vec<f32>,
    next: usize,
    rendered: u64,
    snapshot_frames: u64,
    since_snapshot: u64,
    hook: Option<BlockHook>,
    /// Samples left before the stream ends, when it has an end.
    left: Option<u64>,
}

/// Wraps `engine` as a source and returns the handle that steers it.
pub fn mix_stream(engine: Engine) -> (MixSource, MixHandle) {
    let (plan_tx, plan_rx) = mpsc::channel();
    let (event_tx, event_rx) = mpsc::channel();
    let voices = Arc::new(Mutex::new(Vec::new()));
    let rate = engine.sample_rate();
    let source = MixSource {
        engine,
        plans: plan_rx,
        events: event_tx,
        voices: Arc::clone(&voices),
        block: vec![0.0; BLOCK_FRAMES * usize::from(CHANNELS)],
        next: usize::MAX,
        rendered: 0,
        snapshot_frames: (SNAPSHOT_EVERY.as_secs_f64() * f64::from(rate)) as u64,
        since_snapshot: u64::MAX,
        hook: None,
        left: None,
    };
    let handle = MixHandle {
        plans: plan_tx,
        events: event_rx,
        voices,
        rate,
    };
    (source, handle)
}

impl MixSource {
    /// Runs `hook` before every block.
    pub fn with_hook(mut self, hook: BlockHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Ends the stream after `duration` (to the frame; rodio's
    /// `take_duration` may overshoot by part of a block).
    pub fn with_duration(mut self, duration: Duration) -> Self {
        let frames = (duration.as_secs_f64() * f64::from(self.engine.sample_rate())).round();
        self.left = Some(frames as u64 * u64::from(CHANNELS));
        self
    }

    /// Time rendered so far.
    pub fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(self.rendered as f64 / f64::from(self.engine.sample_rate()))
    }

    fn refill(&mut self) {
        let elapsed = self.elapsed();
        if let Some(hook) = &mut self.hook {
            hook(elapsed);
        }
        while let Ok(plan) = self.plans.try_recv() {
            self.engine.apply(plan);
        }
        self.engine.render(&mut self.block);
        for event in self.engine.drain_events() {
            let _ = self.events.send(event);
        }
        let frames = (self.block.len() / usize::from(CHANNELS)) as u64;
        self.rendered += frames;
        self.since_snapshot = self.since_snapshot.saturating_add(frames);
        if self.since_snapshot >= self.snapshot_frames {
            if let Ok(mut voices) = self.voices.try_lock() {
                self.engine.snapshot(&mut voices);
                self.since_snapshot = 0;
            }
        }
        self.next = 0;
    }
}

impl Iterator for MixSource {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if let Some(left) = &mut self.left {
            *left = left.checked_sub(1)?;
        }
        if self.next >= self.block.len() {
            self.refill();
        }
        let sample = self.block[self.next];
        self.next += 1;
        Some(sample)
    }
}

impl Source for MixSource {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        NonZero::new(CHANNELS).expect("stereo")
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        NonZero::new(self.engine.sample_rate()).expect("rates are validated at start")
    }

    fn total_duration(&self) -> Option<Duration> {
        self.left.map(|samples| {
            let frames = samples / u64::from(CHANNELS);
            Duration::from_secs_f64(frames as f64 / f64::from(self.engine.sample_rate()))
        })
    }
}
