//! Reading an audio file (wav, flac, ogg/vorbis, mp3) into a [`Clip`] at
//! the mix's sample rate.
//!
//! Each sound is decoded once, whole (up to [`MAX_SECONDS`]), into memory: looping and crossfades
//! are then sample-exact and cost only additions on the audio thread.
//! rodio's decoder (symphonia inside) reads the containers; rates are
//! converted with rubato's band-limited resampler, since rodio's own
//! converter drops samples when it downsamples (aliasing).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use rodio::{Decoder, Source};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::error::{Error, Result};
use crate::mix::Clip;

/// Resampler block length in frames (sets the anti-aliasing filter).
const RESAMPLE_CHUNK: usize = 1024;

/// The longest sound decoded, as the gateway's default upload limit: a file that decodes to
/// more (a damaged or planted one) is refused before it fills memory.
pub const MAX_SECONDS: u64 = 30 * 60;

/// Decodes `path` to mono or stereo (the first two channels of anything
/// wider) at `rate` Hz.
pub fn decode_file(path: &Path, rate: u32) -> Result<Clip> {
    decode_within(path, rate, MAX_SECONDS)
}

fn decode_within(path: &Path, rate: u32, max_seconds: u64) -> Result<Clip> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let byte_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut builder = Decoder::builder()
        .with_data(BufReader::new(file))
        .with_byte_len(byte_len)
        .with_seekable(true);
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        builder = builder.with_hint(ext);
    }
    let bad = |detail: String| Error::Decode {
        name: name.clone(),
        detail,
    };
    let decoder = builder.build().map_err(|e| bad(e.to_string()))?;
    let channels = usize::from(decoder.channels().get());
    let from_rate = decoder.sample_rate().get();
    let limit = max_seconds as usize * from_rate as usize * channels;
    let samples: Vec<f32> = decoder.take(limit + 1).collect();
    if samples.len() > limit {
        return Err(bad(format!(
            "longer than {max_seconds} s, the longest sound played"
        )));
    }
    if samples.len() < channels {
        return Err(bad("no audio in the file".into()));
    }
    if samples.iter().any(|s| !s.is_finite()) {
        return Err(bad("non-finite samples".into()));
    }
    let kept = channels.min(2);
    let samples = if channels > 2 {
        samples
            .chunks_exact(channels)
            .flat_map(|frame| [frame[0], frame[1]])
            .collect()
    } else {
        samples
    };
    let samples = resample(samples, kept, from_rate, rate).map_err(bad)?;
    Ok(if kept == 2 {
        Clip::stereo(samples)
    } else {
        Clip::mono(samples)
    })
}

/// Converts interleaved `samples` of `channels` channels from `from` Hz to
/// `to` Hz, aligned with the input (the resampler's delay trimmed).
fn resample(samples: Vec<f32>, channels: usize, from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to {
        return Ok(samples);
    }
    let frames = samples.len() / channels;
    let mut resampler = Fft::<f32>::new(
        from as usize,
        to as usize,
        RESAMPLE_CHUNK,
        channels,
        FixedSync::Input,
    )
    .map_err(|e| format!("cannot resample {from} Hz to {to} Hz: {e}"))?;
    let input = InterleavedSlice::new(&samples, channels, frames).map_err(|e| e.to_string())?;
    let output = resampler
        .process_all(&input, frames, None)
        .map_err(|e| e.to_string())?;
    Ok(output.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sound_longer_than_the_limit_is_refused_without_decoding_it_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..3 * 8_000 {
            writer.write_sample(((i % 50) * 300) as i16).unwrap();
        }
        writer.finalize().unwrap();
        assert!(decode_within(&path, 8_000, 3).is_ok());
        let error = decode_within(&path, 8_000, 2).unwrap_err().to_string();
        assert!(error.contains("longer than 2 s"), "{error}");
    }

    #[test]
    fn resampling_keeps_duration_and_pitch() {
        let tone: Vec<f32> = (0..22_050)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22_050.0).sin())
            .collect();
        let out = resample(tone, 1, 22_050, 44_100).unwrap();
        assert!((out.len() as i64 - 44_100).abs() <= 2, "{}", out.len());
        // Away from the edges the tone is the ideal one at the new rate.
        let err = (4_000..40_000)
            .map(|i| {
                let ideal = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 44_100.0).sin();
                (out[i] - ideal).abs()
            })
            .fold(0.0f32, f32::max);
        assert!(err < 1e-2, "max error {err}");
    }
}
