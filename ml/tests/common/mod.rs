//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The fixture folder committed with the crate.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

/// The esc50-dev data set: `$COSOUND_SHARED_DATA/esc50-dev` when that is
/// set, else `../shared/data/esc50-dev` beside the repository. Panics with
/// the path it looked at when the data is missing (a plain clone has none).
#[allow(dead_code)] // not every test binary needs the shared data
pub fn esc50_dev() -> PathBuf {
    let dir = match std::env::var_os("COSOUND_SHARED_DATA") {
        Some(root) => PathBuf::from(root).join("esc50-dev"),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/esc50-dev"
        )),
    };
    assert!(
        dir.join("labels.csv").is_file(),
        "this test needs the esc50-dev data set at {} (set COSOUND_SHARED_DATA \
         to the folder that holds esc50-dev)",
        dir.display()
    );
    dir
}

/// A 16-bit PCM WAV at `rate` of `channels` interleaved channels, written by hound.
#[allow(dead_code)] // not every test binary writes audio
pub fn wav(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut file = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut file, spec).unwrap();
    for &sample in samples {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
    file.into_inner()
}
