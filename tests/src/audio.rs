//! The WAV files the end-to-end tests upload and play: 16-bit PCM, written by hound.

/// A 16-bit PCM WAV at `sample_rate` of `channels` interleaved channels; `samples` are in
/// [−1, 1].
pub fn wav_file(
    sample_rate: u32,
    channels: u16,
    samples: impl IntoIterator<Item = f64>,
) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut file = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut file, spec).expect("a WAV header writes");
    for sample in samples {
        writer
            .write_sample((sample.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .expect("a sample writes to memory");
    }
    writer.finalize().expect("the WAV's sizes are written");
    file.into_inner()
}
