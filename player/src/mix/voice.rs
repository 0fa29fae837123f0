//! One playing sound: a clip, where it is in it, and its gain ramp.

use std::sync::Arc;

use super::{Clip, Ramp};
use crate::source::SongId;

/// What a voice is in the mix, as the queue names it: a soundscape layer, looped until the
/// queue drops it, or the instrumental, played once over the layers.
pub use cosound_rules::queue::Role;

#[derive(Debug)]
pub(super) struct Voice {
    pub song: SongId,
    pub role: Role,
    pub clip: Arc<Clip>,
    pub ramp: Ramp,
    /// Fading out, to be dropped once silent.
    pub leaving: bool,
    pos: usize,
}

impl Voice {
    /// A voice that fades in from silence to `gain` over `fade` frames.
    pub fn entering(song: SongId, role: Role, clip: Arc<Clip>, gain: f32, fade: u64) -> Self {
        Self {
            song,
            role,
            clip,
            ramp: Ramp::new(0.0, gain, fade),
            leaving: false,
            pos: 0,
        }
    }

    /// Adds this voice's next `out.len() / 2` frames into the stereo block
    /// `out`; returns false once the voice has nothing more to play.
    pub fn mix_into(&mut self, out: &mut [f32]) -> bool {
        let frames = out.len() / 2;
        let start = self.ramp.gain();
        self.ramp.advance(frames as u64);
        let end = self.ramp.gain();
        // Within a block the equal-power curve is followed linearly: a
        // block is ~1.5 ms, over which the curve's bend is far below audibility,
        // and it spares a sin/cos per sample.
        let slope = (end - start) / frames as f32;
        let len = self.clip.frames();
        if len == 0 {
            return false;
        }
        let mut done = 0;
        while done < frames {
            let take = (len - self.pos).min(frames - done);
            if start != 0.0 || end != 0.0 {
                let gain = start + slope * done as f32;
                let span = &mut out[done * 2..(done + take) * 2];
                mix_span(&self.clip, self.pos, span, gain, slope);
            }
            done += take;
            self.pos += take;
            if self.pos == len {
                if self.role == Role::Instrumental {
                    return false;
                }
                self.pos = 0;
            }
        }
        !(self.leaving && self.ramp.is_done())
    }
}

/// Adds the clip's frames from `pos` into `out` (stereo), with a gain that
/// starts at `gain` and moves by `slope` per frame.
fn mix_span(clip: &Clip, pos: usize, out: &mut [f32], gain: f32, slope: f32) {
    let frames = out.len() / 2;
    let out = out.chunks_exact_mut(2);
    // A steady gain (most of the time) gets a loop the compiler vectorises.
    match (clip.is_stereo(), slope == 0.0) {
        (true, true) => {
            let src = clip.samples()[pos * 2..(pos + frames) * 2].chunks_exact(2);
            for (o, s) in out.zip(src) {
                o[0] += s[0] * gain;
                o[1] += s[1] * gain;
            }
        }
        (false, true) => {
            for (o, &s) in out.zip(&clip.samples()[pos..pos + frames]) {
                o[0] += s * gain;
                o[1] += s * gain;
            }
        }
        (true, false) => {
            let src = clip.samples()[pos * 2..(pos + frames) * 2].chunks_exact(2);
            for (i, (o, s)) in out.zip(src).enumerate() {
                let g = gain + slope * i as f32;
                o[0] += s[0] * g;
                o[1] += s[1] * g;
            }
        }
        (false, false) => {
            let src = &clip.samples()[pos..pos + frames];
            for (i, (o, &s)) in out.zip(src).enumerate() {
                let v = s * (gain + slope * i as f32);
                o[0] += v;
                o[1] += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_wraps_to_its_start() {
        let clip = Arc::new(Clip::mono(vec![1.0, 2.0, 3.0]));
        let mut voice = Voice::entering(SongId(1), Role::Layer, clip, 1.0, 0);
        let mut out = vec![0.0; 8];
        assert!(voice.mix_into(&mut out));
        assert_eq!(out, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0]);
    }

    #[test]
    fn an_instrumental_ends_after_one_pass() {
        let clip = Arc::new(Clip::stereo(vec![0.5, -0.5, 0.5, -0.5]));
        let mut voice = Voice::entering(SongId(2), Role::Instrumental, clip, 2.0, 0);
        let mut out = vec![0.0; 8];
        assert!(!voice.mix_into(&mut out));
        assert_eq!(out, [1.0, -1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn a_leaving_voice_ends_when_its_fade_is_over() {
        let clip = Arc::new(Clip::mono(vec![1.0; 10]));
        let mut voice = Voice::entering(SongId(3), Role::Layer, clip, 1.0, 0);
        voice.ramp.retarget(0.0, 4);
        voice.leaving = true;
        let mut out = vec![0.0; 4];
        assert!(voice.mix_into(&mut out));
        assert!(!voice.mix_into(&mut out));
    }
}
