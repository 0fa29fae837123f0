//! A sound file made ready for analysis: decoded, mixed to mono and
//! resampled to the analysis rate.

use std::io::Read;
use std::path::Path;

use crate::decode::{
    decode_bytes, decode_file, decode_file_observed, decode_stream_observed, Decoded, Observer,
};
use crate::error::Result;
use crate::resample::to_analysis_rate;

/// Mono samples at [`crate::resample::ANALYSIS_RATE`] of a file's analysed part.
pub fn load_file(path: &Path) -> Result<Vec<f32>> {
    Ok(prepare(decode_file(path)?))
}

/// Like [`load_file`], and shows `observe` every decoded packet of the whole
/// file (see [`decode_file_observed`]): one decoding serves both.
pub fn load_file_observed(path: &Path, observe: Observer) -> Result<Vec<f32>> {
    Ok(prepare(decode_file_observed(path, Some(observe))?))
}

/// Like [`load_file_observed`] for audio read as it arrives (see
/// [`decode_stream_observed`]); `name` appears in errors.
pub fn load_stream_observed<R>(name: &str, reader: R, observe: Observer) -> Result<Vec<f32>>
where
    R: Read + Send + Sync + 'static,
{
    Ok(prepare(decode_stream_observed(
        name,
        reader,
        Some(observe),
    )?))
}

/// Like [`load_file`] for an in-memory file; `name` appears in errors and
/// its extension, if any, hints at the container.
pub fn load_bytes<B>(name: &str, bytes: B) -> Result<Vec<f32>>
where
    B: AsRef<[u8]> + Send + Sync + 'static,
{
    Ok(prepare(decode_bytes(name, bytes)?))
}

fn prepare(decoded: Decoded) -> Vec<f32> {
    to_analysis_rate(&decoded.samples, decoded.sample_rate)
}
