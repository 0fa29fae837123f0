//! What an upload is: checked to be decodable audio, measured (duration, EBU R128 loudness),
//! fingerprinted (the decoded sound's hash) and embedded by the `ml` model, all from one
//! decoding of the body as it arrives. CPU-bound: run it on a blocking thread (it takes a
//! second one for the loudness meter).

use crate::error::ApiError;
use crate::upload::receive::Chunks;
use axum::http::StatusCode;
use cosound_ml::clip::load_stream_observed;
use cosound_ml::error::Error as MlError;
use cosound_ml::model::{Embedding, Model};
use ebur128::{EbuR128, Mode};
use sha2::{Digest, Sha256};
use std::ops::ControlFlow;
use std::sync::mpsc;

/// What the model's errors call the upload (it has no trustworthy name of its own).
const UPLOAD: &str = "the upload";

/// Every sound is brought to EBU R128's programme loudness when played.
pub const TARGET_LUFS: f64 = -23.0;
/// Gains are capped so that a very quiet recording is not raised into noise and clipping.
pub const MAX_GAIN_DB: f64 = 24.0;

#[derive(Debug)]
pub struct Analysis {
    pub duration_ms: i32,
    pub loudness_gain_db: f32,
    pub embedding: Embedding,
    /// SHA-256 (hex) of the decoded sound: its layout and every sample at 16 bits. The same
    /// sound in another container, with other tags or trailing bytes, has the same one.
    pub audio_sha256: String,
}

/// What the upload's first bytes say it is: its media type and the object key's extension.
#[derive(Debug, Clone, Copy)]
pub struct Container {
    pub content_type: &'static str,
    pub extension: &'static str,
}

/// Decoded frames go to the meter's thread in blocks of about this many samples, so the
/// hand-over costs little beside the metering.
const BLOCK_SAMPLES: usize = 1 << 16;
/// Blocks decoded ahead of the meter, at most (1 MiB).
const BLOCKS_AHEAD: usize = 4;

/// Decodes, measures and embeds the body as it arrives, refusing (413) audio that lasts
/// longer than `max_seconds`: decoding stops there, so a small file that decodes to hours
/// costs no more than the longest sound accepted.
pub fn analyse(body: Chunks, max_seconds: u32) -> Result<Analysis, ApiError> {
    // The meter, the costliest step for a long file, runs on a thread of its own while the
    // decoder goes on and the model embeds the analysed part.
    let (blocks, received) = mpsc::sync_channel::<Block>(BLOCKS_AHEAD);
    let (embedding, meter) = std::thread::scope(|scope| {
        let metering = scope.spawn(move || {
            let mut meter = Meter::default();
            for block in received {
                meter.add(&block.samples, block.channels, block.rate);
            }
            meter
        });
        let mut feed = Feed {
            blocks,
            block: Block::default(),
            seconds: 0.0,
        };
        let samples = load_stream_observed(UPLOAD, body, &mut |frames, channels, rate| {
            feed.add(frames, channels, rate);
            if feed.seconds > f64::from(max_seconds) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        feed.flush();
        let too_long = feed.seconds > f64::from(max_seconds);
        drop(feed);
        let embedding = samples.map(|samples| Model::default_model().embed_samples(samples));
        (
            embedding.map(|embedding| (embedding, too_long)),
            metering.join().expect("the meter's thread ends"),
        )
    });
    let (embedding, too_long) = embedding.map_err(refusal)?;
    if too_long {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "audio_too_long",
            format!(
                "the audio lasts longer than {} min, the longest a sound may be (COSOUND_MAX_UPLOAD_MINUTES)",
                max_seconds / 60
            ),
        ));
    }
    let (frames, sample_rate, loudness, audio_sha256) = meter.finish()?;
    let duration_ms = (frames as f64 * 1000.0 / f64::from(sample_rate)).round();
    Ok(Analysis {
        duration_ms: duration_ms.clamp(1.0, f64::from(i32::MAX)) as i32,
        loudness_gain_db: (TARGET_LUFS - loudness).clamp(-MAX_GAIN_DB, MAX_GAIN_DB) as f32,
        embedding,
        audio_sha256,
    })
}

/// Interleaved frames of one layout, on their way to the meter.
#[derive(Default)]
struct Block {
    samples: Vec<f32>,
    channels: usize,
    rate: u32,
}

/// Gathers the decoder's packets into blocks for the meter's thread.
struct Feed {
    blocks: mpsc::SyncSender<Block>,
    block: Block,
    /// How much audio the decoder has shown so far.
    seconds: f64,
}

impl Feed {
    fn add(&mut self, frames: &[f32], channels: usize, rate: u32) {
        self.seconds += (frames.len() / channels) as f64 / f64::from(rate);
        if (channels, rate) != (self.block.channels, self.block.rate)
            || self.block.samples.len() >= BLOCK_SAMPLES
        {
            self.flush();
            self.block.channels = channels;
            self.block.rate = rate;
        }
        self.block.samples.extend_from_slice(frames);
    }

    fn flush(&mut self) {
        if !self.block.samples.is_empty() {
            let block = Block {
                samples: Vec::with_capacity(self.block.samples.capacity()),
                ..self.block
            };
            let _ = self.blocks.send(std::mem::replace(&mut self.block, block));
        }
    }
}

fn not_audio(message: String) -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_audio", message)
}

/// The model's reasons, in HTTP: not audio at all → 415; audio that cannot be a song
/// (too short, silent) → 422.
fn refusal(error: MlError) -> ApiError {
    // The model names its input; the client knows which upload it sent.
    let message = error.to_string();
    let message = message
        .strip_prefix(&format!("{UPLOAD}: "))
        .unwrap_or(&message)
        .to_string();
    match error {
        MlError::TooShort { .. } | MlError::Silent { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unusable_audio", message)
        }
        MlError::Io { .. } => {
            tracing::error!(%error, "cannot read the upload's body");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "analysis_failed",
                "the gateway cannot read the upload",
            )
        }
        _ => not_audio(format!(
            "not a decodable audio file (wav, flac, ogg/vorbis or mp3): {message}"
        )),
    }
}

/// The container, from its first bytes (the upload has no trustworthy name). Anything that
/// is not one of the three tagged containers can only be MP3; [`analyse`] decides whether it
/// is audio at all.
pub fn container(head: &[u8]) -> Container {
    let (content_type, extension) = match head.get(..4) {
        Some(b"RIFF") => ("audio/wav", "wav"),
        Some(b"fLaC") => ("audio/flac", "flac"),
        Some(b"OggS") => ("audio/ogg", "ogg"),
        _ => ("audio/mpeg", "mp3"),
    };
    Container {
        content_type,
        extension,
    }
}

/// Length, integrated loudness and fingerprint of every frame the decoder shows it. Its
/// errors wait for [`Meter::finish`]: the decoder's own refusals come first.
#[derive(Default)]
struct Meter {
    ebu: Option<(EbuR128, u32)>,
    frames: u64,
    fingerprint: Sha256,
    layout: (usize, u32),
    error: Option<ebur128::Error>,
}

impl Meter {
    fn add(&mut self, interleaved: &[f32], channels: usize, rate: u32) {
        if self.error.is_some() {
            return;
        }
        if self.layout != (channels, rate) {
            self.layout = (channels, rate);
            self.fingerprint.update((channels as u32).to_le_bytes());
            self.fingerprint.update(rate.to_le_bytes());
        }
        let pcm16: Vec<u8> = interleaved
            .iter()
            .flat_map(|sample| ((sample.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
            .collect();
        self.fingerprint.update(&pcm16);
        let ebu = match &mut self.ebu {
            Some((ebu, _)) => ebu,
            slot => match EbuR128::new(channels as u32, rate, Mode::I) {
                Ok(ebu) => &mut slot.insert((ebu, rate)).0,
                Err(error) => {
                    self.error = Some(error);
                    return;
                }
            },
        };
        self.frames += (interleaved.len() / channels) as u64;
        if let Err(error) = ebu.add_frames_f32(interleaved) {
            self.error = Some(error);
        }
    }

    /// Frames, sample rate, integrated loudness in LUFS and the fingerprint (hex).
    fn finish(self) -> Result<(u64, u32, f64, String), ApiError> {
        let failed =
            |error: ebur128::Error| not_audio(format!("cannot measure the loudness: {error}"));
        if let Some(error) = self.error {
            return Err(failed(error));
        }
        let (ebu, rate) = self
            .ebu
            .ok_or_else(|| not_audio("the file holds no audio frames".into()))?;
        let loudness = ebu.loudness_global().map_err(failed)?;
        if !loudness.is_finite() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unusable_audio",
                "the audio is too quiet to measure its loudness",
            ));
        }
        Ok((
            self.frames,
            rate,
            loudness,
            hex::encode(self.fingerprint.finalize()),
        ))
    }
}
