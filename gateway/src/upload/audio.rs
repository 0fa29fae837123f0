//! What an upload is: checked to be decodable audio, measured (duration, EBU R128 loudness)
//! and embedded by the `ml` model. CPU-bound: run it on a blocking thread.

use crate::error::ApiError;
use axum::http::StatusCode;
use cosound_ml::error::Error as MlError;
use cosound_ml::model::{Embedding, Model};
use ebur128::{EbuR128, Mode};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Every sound is brought to EBU R128's programme loudness when played.
pub const TARGET_LUFS: f64 = -23.0;
/// Gains are capped so that a very quiet recording is not raised into noise and clipping.
pub const MAX_GAIN_DB: f64 = 24.0;

#[derive(Debug)]
pub struct Analysis {
    pub duration_ms: i32,
    pub loudness_gain_db: f32,
    pub embedding: Embedding,
}

/// What the upload's first bytes say it is: its media type and the object key's extension.
#[derive(Debug, Clone, Copy)]
pub struct Container {
    pub content_type: &'static str,
    pub extension: &'static str,
}

pub fn analyse(path: &Path) -> Result<Analysis, ApiError> {
    let embedding = Model::default_model()
        .embed_file(path)
        .map_err(|error| refusal(error, path))?;
    let (frames, sample_rate, loudness) = measure(path)?;
    let duration_ms = (frames as f64 * 1000.0 / f64::from(sample_rate)).round();
    Ok(Analysis {
        duration_ms: duration_ms.clamp(1.0, f64::from(i32::MAX)) as i32,
        loudness_gain_db: (TARGET_LUFS - loudness).clamp(-MAX_GAIN_DB, MAX_GAIN_DB) as f32,
        embedding,
    })
}

fn not_audio(message: String) -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_audio", message)
}

/// The model's reasons, in HTTP: not audio at all → 415; audio that cannot be a song
/// (too short, silent) → 422.
fn refusal(error: MlError, path: &Path) -> ApiError {
    // The model names the file; the temporary path means nothing to the client.
    let message = error.to_string();
    let message = message
        .strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(&message)
        .to_string();
    match error {
        MlError::TooShort { .. } | MlError::Silent { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unusable_audio", message)
        }
        MlError::Io { .. } => {
            tracing::error!(%error, "cannot read the spooled upload");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "analysis_failed",
                "the gateway cannot read the upload back",
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
pub fn container(path: &Path) -> Result<Container, ApiError> {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut head))
        .map_err(|error| not_audio(format!("cannot read the file's header: {error}")))?;
    let (content_type, extension) = match &head {
        b"RIFF" => ("audio/wav", "wav"),
        b"fLaC" => ("audio/flac", "flac"),
        b"OggS" => ("audio/ogg", "ogg"),
        _ => ("audio/mpeg", "mp3"),
    };
    Ok(Container {
        content_type,
        extension,
    })
}

/// Decodes the whole file (the model looks at its first minute only): frames, sample rate
/// and integrated loudness in LUFS.
fn measure(path: &Path) -> Result<(u64, u32, f64), ApiError> {
    let bad = |error: DecodeError| not_audio(format!("the audio cannot be decoded: {error}"));
    let file = File::open(path).map_err(|error| not_audio(error.to_string()))?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            &Hint::new(),
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(bad)?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| not_audio("the file has no audio track".into()))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(bad)?;
    let mut frames = 0u64;
    let mut meter: Option<(EbuR128, u32)> = None;
    let mut samples: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(DecodeError::IoError(error))
                if error.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break
            }
            Err(error) => return Err(bad(error)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            // A damaged frame in a lossy stream is skipped, as players do.
            Err(DecodeError::DecodeError(_)) => continue,
            Err(error) => return Err(bad(error)),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count() as u32;
        if meter.is_none() {
            let ebu = EbuR128::new(channels, spec.rate, Mode::I).map_err(|error| {
                not_audio(format!(
                    "cannot measure the loudness of this audio: {error}"
                ))
            })?;
            meter = Some((ebu, spec.rate));
        }
        let buffer = match &mut samples {
            Some(buffer) if buffer.capacity() >= decoded.capacity() * channels as usize => buffer,
            _ => samples.insert(SampleBuffer::new(decoded.capacity() as u64, spec)),
        };
        buffer.copy_interleaved_ref(decoded);
        frames += (buffer.len() / channels as usize) as u64;
        let (ebu, _) = meter.as_mut().expect("created above");
        ebu.add_frames_f32(buffer.samples())
            .map_err(|error| not_audio(format!("cannot measure the loudness: {error}")))?;
    }
    let (ebu, rate) = meter.ok_or_else(|| not_audio("the file holds no audio frames".into()))?;
    let loudness = ebu
        .loudness_global()
        .map_err(|error| not_audio(format!("cannot measure the loudness: {error}")))?;
    if !loudness.is_finite() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unusable_audio",
            "the audio is too quiet to measure its loudness",
        ));
    }
    Ok((frames, rate, loudness))
}
