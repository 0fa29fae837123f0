//! The mix: up to 16 voices — looped soundscape layers and at most one
//! instrumental — summed into one stereo stream, every change cross-faded.
//!
//! [`Engine`] is plain, allocation-free-while-rendering code with no audio
//! I/O: the output module drives it from rodio, a WAV writer or a null sink,
//! and tests drive it directly.

mod clip;
pub mod crossfade;
pub mod seam;
mod voice;

use std::sync::Arc;
use std::time::Duration;

pub use clip::Clip;
pub use crossfade::Ramp;
pub use voice::Role;
use voice::Voice;

use crate::source::SongId;

/// Channels the player mixes at most: layers plus the instrumental.
pub const MAX_CHANNELS: usize = 16;
/// How long a change of the mix takes.
pub const CROSSFADE: Duration = Duration::from_secs(6);
/// Frames rendered between looks at the control side; also the span over
/// which a gain ramp is followed linearly.
pub const BLOCK_FRAMES: usize = 64;
/// The engine's output is always stereo.
pub const CHANNELS: u16 = 2;

/// One sound the mix should play.
#[derive(Debug, Clone)]
pub struct Planned {
    pub song: SongId,
    pub clip: Arc<Clip>,
    /// Linear gain, the song's loudness gain already applied.
    pub gain: f32,
}

/// What the mix should become.
#[derive(Debug, Clone, Default)]
pub struct MixPlan {
    pub layers: Vec<Planned>,
    pub instrumental: Option<Planned>,
    /// The most of full volume the whole mix may play at (0 to 1); none: full.
    pub volume_cap: Option<f32>,
}

/// Something the mix did, for the play history and the status view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MixEvent {
    Started { song: SongId, role: Role },
    Ended { song: SongId, role: Role },
}

/// A voice as the status view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceState {
    pub song: SongId,
    pub role: Role,
    pub gain: f32,
    pub target: f32,
    pub leaving: bool,
}

/// The mixer itself.
#[derive(Debug)]
pub struct Engine {
    rate: u32,
    fade: u64,
    voices: Vec<Voice>,
    /// The whole mix's volume: the schedule's cap, reached over the crossfade time like any
    /// other change, so quiet hours fade in rather than cut.
    volume: Ramp,
    events: Vec<MixEvent>,
    /// The instrumental that played to its end, so that a queue still
    /// naming it does not start it again.
    finished_instrumental: Option<SongId>,
}

impl Engine {
    /// An empty mix at `rate` Hz whose changes take `crossfade`.
    pub fn new(rate: u32, crossfade: Duration) -> Self {
        Self {
            rate,
            fade: (crossfade.as_secs_f64() * f64::from(rate)).round() as u64,
            voices: Vec::with_capacity(4 * MAX_CHANNELS),
            volume: Ramp::steady(1.0),
            events: Vec::with_capacity(4 * MAX_CHANNELS),
            finished_instrumental: None,
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Moves the mix towards `plan`: new songs fade in, dropped ones fade
    /// out, kept ones move to their new gain, all over the crossfade time.
    /// Beyond [`MAX_CHANNELS`], the plan's last layers are left out.
    pub fn apply(&mut self, mut plan: MixPlan) {
        let volume = plan.volume_cap.map_or(1.0, |cap| cap.clamp(0.0, 1.0));
        if self.voices.is_empty() {
            // Nothing sounds yet, so there is nothing to fade from.
            self.volume = Ramp::steady(volume);
        } else if volume != self.volume.target() {
            self.volume.retarget(volume, self.fade);
        }
        let room = MAX_CHANNELS - usize::from(plan.instrumental.is_some());
        if plan.layers.len() > room {
            tracing::warn!(
                asked = plan.layers.len(),
                room,
                "more layers than channels; playing the first ones"
            );
            plan.layers.truncate(room);
        }
        let mut seen = Vec::with_capacity(plan.layers.len());
        plan.layers.retain(|p| {
            let new = !seen.contains(&p.song);
            seen.push(p.song);
            new
        });
        self.steer(Role::Layer, &plan.layers);

        if plan.instrumental.as_ref().map(|p| p.song) != self.finished_instrumental {
            self.finished_instrumental = None;
        }
        let instrumental = match plan.instrumental {
            Some(p) if self.finished_instrumental != Some(p.song) => vec![p],
            _ => Vec::new(),
        };
        self.steer(Role::Instrumental, &instrumental);
    }

    /// Makes the voices of `role` match `wanted`.
    fn steer(&mut self, role: Role, wanted: &[Planned]) {
        for voice in self.voices.iter_mut().filter(|v| v.role == role) {
            match wanted
                .iter()
                .find(|p| p.song == voice.song && Arc::ptr_eq(&p.clip, &voice.clip))
            {
                Some(p) => {
                    if voice.leaving || voice.ramp.target() != p.gain {
                        voice.ramp.retarget(p.gain, self.fade);
                    }
                    voice.leaving = false;
                }
                None if !voice.leaving => {
                    voice.ramp.retarget(0.0, self.fade);
                    voice.leaving = true;
                }
                None => {}
            }
        }
        for p in wanted {
            let playing = self
                .voices
                .iter()
                .any(|v| v.role == role && v.song == p.song && Arc::ptr_eq(&p.clip, &v.clip));
            if !playing {
                self.voices.push(Voice::entering(
                    p.song,
                    role,
                    Arc::clone(&p.clip),
                    p.gain,
                    self.fade,
                ));
                self.events.push(MixEvent::Started { song: p.song, role });
            }
        }
    }

    /// Renders the next `out.len() / 2` stereo frames into `out`.
    pub fn render(&mut self, out: &mut [f32]) {
        for block in out.chunks_mut(BLOCK_FRAMES * usize::from(CHANNELS)) {
            block.fill(0.0);
            let mut i = 0;
            while i < self.voices.len() {
                if self.voices[i].mix_into(block) {
                    i += 1;
                    continue;
                }
                let voice = self.voices.remove(i);
                if voice.role == Role::Instrumental && !voice.leaving {
                    self.finished_instrumental = Some(voice.song);
                }
                self.events.push(MixEvent::Ended {
                    song: voice.song,
                    role: voice.role,
                });
            }
            self.scale_to_volume(block);
        }
    }

    /// Scales a rendered block by the whole mix's volume, followed linearly within it.
    fn scale_to_volume(&mut self, block: &mut [f32]) {
        let frames = block.len() / usize::from(CHANNELS);
        let start = self.volume.gain();
        self.volume.advance(frames as u64);
        let end = self.volume.gain();
        if start == 1.0 && end == 1.0 {
            return;
        }
        let slope = (end - start) / frames as f32;
        for (i, frame) in block.chunks_exact_mut(usize::from(CHANNELS)).enumerate() {
            let gain = start + slope * i as f32;
            for sample in frame {
                *sample *= gain;
            }
        }
    }

    /// Takes the events since the last call.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MixEvent> {
        self.events.drain(..)
    }

    /// Writes the voices' current state into `into` (reusing its memory).
    pub fn snapshot(&self, into: &mut Vec<VoiceState>) {
        into.clear();
        into.extend(self.voices.iter().map(|v| VoiceState {
            song: v.song,
            role: v.role,
            gain: v.ramp.gain(),
            target: v.ramp.target(),
            leaving: v.leaving,
        }));
    }

    /// Voices playing now, fading ones included.
    pub fn voice_count(&self) -> usize {
        self.voices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 1_000;

    fn constant(level: f32, frames: usize) -> Arc<Clip> {
        Arc::new(Clip::mono(vec![level; frames]))
    }

    fn planned(song: i64, clip: &Arc<Clip>, gain: f32) -> Planned {
        Planned {
            song: SongId(song),
            clip: Arc::clone(clip),
            gain,
        }
    }

    fn render(engine: &mut Engine, frames: usize) -> Vec<f32> {
        let mut out = vec![0.0; frames * 2];
        engine.render(&mut out);
        out
    }

    #[test]
    fn layers_sum_at_their_gains_once_faded_in() {
        let mut engine = Engine::new(RATE, Duration::from_millis(100));
        let (a, b) = (constant(1.0, 50), constant(0.5, 70));
        engine.apply(MixPlan {
            layers: vec![planned(1, &a, 0.3), planned(2, &b, 0.4)],
            instrumental: None,
            volume_cap: None,
        });
        let out = render(&mut engine, 300);
        assert!(out[0].abs() < 1e-6, "starts silent");
        assert!((out[598] - 0.5).abs() < 1e-5, "{}", out[598]);
    }

    #[test]
    fn a_dropped_layer_fades_out_and_ends() {
        let mut engine = Engine::new(RATE, Duration::from_millis(100));
        let a = constant(1.0, 50);
        engine.apply(MixPlan {
            layers: vec![planned(1, &a, 1.0)],
            instrumental: None,
            volume_cap: None,
        });
        render(&mut engine, 200);
        engine.apply(MixPlan::default());
        let out = render(&mut engine, 200);
        assert!((out[0] - 1.0).abs() < 1e-3);
        assert_eq!(out[398], 0.0);
        assert_eq!(engine.voice_count(), 0);
        let events: Vec<_> = engine.drain_events().collect();
        assert_eq!(
            events,
            [
                MixEvent::Started {
                    song: SongId(1),
                    role: Role::Layer
                },
                MixEvent::Ended {
                    song: SongId(1),
                    role: Role::Layer
                }
            ]
        );
    }

    #[test]
    fn an_instrumental_that_ended_is_not_restarted_by_the_same_queue() {
        let mut engine = Engine::new(RATE, Duration::ZERO);
        let song = constant(1.0, 100);
        let plan = MixPlan {
            layers: Vec::new(),
            instrumental: Some(planned(9, &song, 1.0)),
            volume_cap: None,
        };
        engine.apply(plan.clone());
        render(&mut engine, 200);
        assert_eq!(engine.voice_count(), 0);
        engine.apply(plan.clone());
        assert_eq!(engine.voice_count(), 0);
        engine.apply(MixPlan::default());
        engine.apply(plan);
        assert_eq!(engine.voice_count(), 1);
    }

    #[test]
    fn no_more_than_sixteen_channels_play_from_one_plan() {
        let mut engine = Engine::new(RATE, Duration::ZERO);
        let clip = constant(0.1, 10);
        engine.apply(MixPlan {
            layers: (0..20).map(|i| planned(i, &clip, 1.0)).collect(),
            instrumental: Some(planned(99, &clip, 1.0)),
            volume_cap: None,
        });
        assert_eq!(engine.voice_count(), MAX_CHANNELS);
    }

    #[test]
    fn a_gain_change_mid_fade_continues_from_where_it_was() {
        let mut engine = Engine::new(RATE, Duration::from_millis(100));
        let a = constant(1.0, 10);
        engine.apply(MixPlan {
            layers: vec![planned(1, &a, 1.0)],
            instrumental: None,
            volume_cap: None,
        });
        let before = render(&mut engine, 64);
        engine.apply(MixPlan {
            layers: vec![planned(1, &a, 0.2)],
            instrumental: None,
            volume_cap: None,
        });
        let after = render(&mut engine, 64);
        let (last, next) = (before[126], after[0]);
        assert!((next - last).abs() < 0.05, "jump {last} -> {next}");
        assert_eq!(engine.voice_count(), 1);
    }

    #[test]
    fn the_volume_cap_holds_the_whole_mix_down_after_a_fade() {
        let mut engine = Engine::new(RATE, Duration::from_millis(100));
        let a = constant(1.0, 10);
        let plan = |volume_cap| MixPlan {
            layers: vec![planned(1, &a, 0.8)],
            instrumental: None,
            volume_cap,
        };
        engine.apply(plan(None));
        let full = render(&mut engine, 200);
        assert!((full[398] - 0.8).abs() < 1e-5);
        engine.apply(plan(Some(0.25)));
        let capped = render(&mut engine, 200);
        assert!(
            capped[20] < 0.8 && capped[20] > 0.2,
            "fading: {}",
            capped[20]
        );
        assert!((capped[398] - 0.2).abs() < 1e-5, "{}", capped[398]);
        engine.apply(plan(Some(1.5)));
        let lifted = render(&mut engine, 200);
        assert!(
            (lifted[398] - 0.8).abs() < 1e-5,
            "a cap is at most full volume"
        );
    }
}
