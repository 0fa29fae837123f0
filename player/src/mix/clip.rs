//! A decoded sound held in memory at the output rate, ready to be mixed.

/// Interleaved `f32` samples, mono or stereo, at the mix's sample rate.
///
/// Mono stays mono (half the memory of stereo; the mixer sends it to both
/// sides), which matters with 16 layers held in memory at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    samples: Vec<f32>,
    stereo: bool,
}

impl Clip {
    /// A mono clip.
    pub fn mono(samples: Vec<f32>) -> Self {
        Self {
            samples,
            stereo: false,
        }
    }

    /// A stereo clip from interleaved left/right samples (a trailing odd
    /// sample is dropped).
    pub fn stereo(mut samples: Vec<f32>) -> Self {
        samples.truncate(samples.len() / 2 * 2);
        Self {
            samples,
            stereo: true,
        }
    }

    pub fn is_stereo(&self) -> bool {
        self.stereo
    }

    pub fn channels(&self) -> usize {
        if self.stereo {
            2
        } else {
            1
        }
    }

    /// Length in frames (one sample per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels()
    }

    pub fn samples(&self) -> &[f32] {
        &self.samples
    }

    pub fn samples_mut(&mut self) -> &mut [f32] {
        &mut self.samples
    }

    /// Bytes of sample memory, for the benchmark and the status view.
    pub fn bytes(&self) -> usize {
        self.samples.len() * std::mem::size_of::<f32>()
    }

    /// Keeps the first `frames` frames.
    pub fn truncate(&mut self, frames: usize) {
        self.samples.truncate(frames * self.channels());
        self.samples.shrink_to_fit();
    }
}
