//! Decoding any supported container (wav, flac, ogg/vorbis, mp3) to mono
//! `f32` samples at the file's own rate, with the limits of the crate docs.

use std::fs::File;
use std::io::{Cursor, ErrorKind, Read};
use std::ops::ControlFlow;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_PCM_S16LE};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::error::{Error, Result};

/// Only the first this many seconds of a file are decoded and analysed: the
/// features are averages over time, and a long soundscape's opening minute
/// says what it sounds like, while decoding an hour would cost seconds.
pub const MAX_ANALYSED_SECONDS: f64 = 60.0;
/// Shorter audio is refused: a blip padded with 5 s of silence would be
/// embedded as "silence", not as the sound.
pub const MIN_SECONDS: f64 = 0.25;
/// Audio whose peak stays below this level is refused as silent.
pub const SILENCE_DBFS: f64 = -80.0;
/// Sample rates outside this range are refused rather than resampled.
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 4_000..=384_000;

/// Mono audio as it came out of the file.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// True when the file was longer than [`MAX_ANALYSED_SECONDS`] and only
    /// its beginning was decoded.
    pub cut: bool,
}

/// Sees every decoded packet as interleaved frames: the samples, the
/// channel count and the sample rate. `Break` stops the decoding there (the
/// observer has seen enough, e.g. a file longer than it accepts).
pub type Observer<'a> = &'a mut dyn FnMut(&[f32], usize, u32) -> ControlFlow<()>;

/// Decodes a file; its extension, if any, is a hint for the container.
pub fn decode_file(path: &Path) -> Result<Decoded> {
    decode_file_observed(path, None)
}

/// Like [`decode_file`], and shows `observe` the whole file, not only its
/// analysed part, so a caller can measure it without decoding it again.
pub fn decode_file_observed(path: &Path, observe: Option<Observer>) -> Result<Decoded> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(&name, e))?;
    let hint = path.extension().and_then(|e| e.to_str());
    decode_source(&name, Box::new(file), hint, observe)
}

/// Decodes an in-memory file (e.g. an upload); `name` appears in errors.
pub fn decode_bytes<B>(name: &str, bytes: B) -> Result<Decoded>
where
    B: AsRef<[u8]> + Send + Sync + 'static,
{
    let hint = Path::new(name).extension().and_then(|e| e.to_str());
    decode_source(name, Box::new(Cursor::new(bytes)), hint, None)
}

/// Decodes audio as `reader` yields it (an upload while it arrives: the
/// reader need not seek), showing `observe` every packet as
/// [`decode_file_observed`] does; `name` appears in errors, and its
/// extension, if any, hints at the container.
pub fn decode_stream_observed<R>(
    name: &str,
    reader: R,
    observe: Option<Observer>,
) -> Result<Decoded>
where
    R: Read + Send + Sync + 'static,
{
    let hint = Path::new(name).extension().and_then(|e| e.to_str());
    decode_source(name, Box::new(ReadOnlySource::new(reader)), hint, observe)
}

fn decode_source(
    name: &str,
    source: Box<dyn MediaSource>,
    hint: Option<&str>,
    mut observe: Option<Observer>,
) -> Result<Decoded> {
    if source.byte_len() == Some(0) {
        return Err(Error::Empty { name: name.into() });
    }
    let stream = MediaSourceStream::new(source, Default::default());
    let mut probe_hint = Hint::new();
    if let Some(ext) = hint {
        probe_hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &probe_hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymphoniaError::IoError(e) if e.kind() != ErrorKind::UnexpectedEof => {
                Error::io(name, e)
            }
            SymphoniaError::Unsupported(_) | SymphoniaError::IoError(_) => {
                Error::Unrecognized { name: name.into() }
            }
            other => Error::Corrupt {
                name: name.into(),
                detail: other.to_string(),
            },
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| Error::NoAudio { name: name.into() })?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let unsupported = |detail: String| Error::Unsupported {
        name: name.into(),
        detail,
    };
    let sample_rate = params
        .sample_rate
        .ok_or_else(|| unsupported("unknown sample rate".into()))?;
    if !SAMPLE_RATES.contains(&sample_rate) {
        return Err(unsupported(format!("sample rate {sample_rate} Hz")));
    }
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| unsupported(e.to_string()))?;

    let max_frames = (MAX_ANALYSED_SECONDS * f64::from(sample_rate)) as usize;
    // The header's length, when given, sizes the buffer once.
    let mut samples: Vec<f32> = Vec::with_capacity(
        params
            .n_frames
            .map_or(0, |n| (n as usize).min(max_frames) + 4096),
    );
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let mut pcm16: Vec<f32> = Vec::new();
    // 16-bit PCM, the commonest upload, is converted straight from the
    // packet's bytes: the generic decoder renders it sample by sample into
    // planes that are then interleaved again, which costs more than all of
    // the conversion and mixing.
    let pcm16_channels = (params.codec == CODEC_TYPE_PCM_S16LE
        && params.bits_per_coded_sample.or(params.bits_per_sample) == Some(16))
    .then(|| params.channels.map_or(1, |c| c.count().max(1)));
    let mut cut = false;
    let mut stopped = false;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            // Symphonia reports the end of a stream as an unexpected EOF.
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => {
                return Err(Error::Corrupt {
                    name: name.into(),
                    detail: e.to_string(),
                })
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        let (frames, channels) = if let Some(channels) = pcm16_channels {
            pcm16.clear();
            push_pcm16(&packet.data, channels, &mut pcm16);
            (&pcm16[..], channels)
        } else {
            let decoded = match decoder.decode(&packet) {
                Ok(decoded) => decoded,
                // A damaged packet in a lossy stream is skipped, as players do;
                // truncation and all-damaged files are caught below.
                Err(SymphoniaError::DecodeError(_)) => continue,
                Err(e) => {
                    return Err(Error::Corrupt {
                        name: name.into(),
                        detail: e.to_string(),
                    })
                }
            };
            let spec = *decoded.spec();
            let channels = spec.channels.count().max(1);
            let buffer = match &mut interleaved {
                Some(buffer) if buffer.capacity() >= decoded.capacity() * channels => buffer,
                slot => slot.insert(SampleBuffer::new(decoded.capacity() as u64, spec)),
            };
            buffer.copy_interleaved_ref(decoded);
            (buffer.samples(), channels)
        };
        if let Some(observe) = observe.as_mut() {
            if observe(frames, channels, sample_rate).is_break() {
                stopped = true;
                break;
            }
        }
        if !cut {
            push_mono(frames, channels, &mut samples);
            if samples.len() >= max_frames {
                samples.truncate(max_frames);
                cut = true;
            }
        }
        if cut && observe.is_none() {
            break;
        }
    }

    if let Some(expected) = params.n_frames {
        // Lossy codecs may legitimately come out a little shorter than the
        // header says (encoder delay and padding): only a real shortfall counts.
        let slack = expected / 100 + 4096;
        let decoded = samples.len() as u64;
        if !cut && !stopped && decoded + slack < expected {
            return Err(Error::Truncated {
                name: name.into(),
                decoded,
                expected,
            });
        }
    }
    check_content(name, &samples, sample_rate)?;
    Ok(Decoded {
        samples,
        sample_rate,
        cut,
    })
}

/// Appends interleaved frames of `channels` samples, mixed to mono.
fn push_mono(interleaved: &[f32], channels: usize, samples: &mut Vec<f32>) {
    if channels == 1 {
        samples.extend_from_slice(interleaved);
    } else {
        let scale = 1.0 / channels as f32;
        samples.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() * scale),
        );
    }
}

/// Appends the whole frames of little-endian 16-bit PCM, interleaved,
/// converted as symphonia converts them (s / 32768).
fn push_pcm16(bytes: &[u8], channels: usize, samples: &mut Vec<f32>) {
    let whole = bytes.len() / (2 * channels) * (2 * channels);
    let (values, _) = bytes[..whole].as_chunks::<2>();
    // Into a slice of known length: this loop vectorises, an `extend` did not.
    let start = samples.len();
    samples.resize(start + values.len(), 0.0);
    for (s, b) in samples[start..].iter_mut().zip(values) {
        *s = f32::from(i16::from_le_bytes(*b)) / 32_768.0;
    }
}

fn check_content(name: &str, samples: &[f32], sample_rate: u32) -> Result<()> {
    if samples.is_empty() {
        return Err(Error::NoAudio { name: name.into() });
    }
    // One pass for finiteness and the peak, in eight independent lanes
    // (a single running maximum is one long dependency chain). `|s| · 0`
    // is 0 for finite samples and NaN otherwise, so `poison` stays 0 only
    // if all are finite; plain comparisons (not `f32::max`) vectorise.
    let mut lanes = [0.0f32; 8];
    let mut poison = [0.0f32; 8];
    let step = |lane: &mut f32, poison: &mut f32, s: f32| {
        let a = s.abs();
        *poison += a * 0.0;
        if a > *lane {
            *lane = a;
        }
    };
    let chunks = samples.chunks_exact(8);
    for &s in chunks.remainder() {
        step(&mut lanes[0], &mut poison[0], s);
    }
    for chunk in chunks {
        for i in 0..8 {
            step(&mut lanes[i], &mut poison[i], chunk[i]);
        }
    }
    if poison.iter().any(|p| *p != 0.0) {
        return Err(Error::Corrupt {
            name: name.into(),
            detail: "non-finite sample values".into(),
        });
    }
    let seconds = samples.len() as f64 / f64::from(sample_rate);
    if seconds < MIN_SECONDS {
        return Err(Error::TooShort {
            name: name.into(),
            seconds,
            min_seconds: MIN_SECONDS,
        });
    }
    let peak = lanes.iter().copied().fold(0.0f32, f32::max);
    if f64::from(peak) < 10f64.powf(SILENCE_DBFS / 20.0) {
        return Err(Error::Silent {
            name: name.into(),
            threshold_db: SILENCE_DBFS,
        });
    }
    Ok(())
}
