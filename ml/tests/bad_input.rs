//! Bad input gets a clear error naming the file; batch work goes on.

mod common;

use std::path::Path;

use cosound_ml::batch::{self, FolderSource};
use cosound_ml::decode::{decode_file, MAX_ANALYSED_SECONDS};
use cosound_ml::{Error, Model};

/// A mono 16-bit PCM WAV file (`format` 1), or the same file claiming another codec.
fn wav(rate: u32, samples: &[i16], format: u16) -> Vec<u8> {
    let mut file = common::wav(rate, 1, samples);
    // The format tag follows "RIFF", the size, "WAVE", "fmt " and the chunk's size.
    file[20..22].copy_from_slice(&format.to_le_bytes());
    file
}

fn noise(n: usize) -> Vec<i16> {
    let mut state = 12345u32;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((state >> 16) as i16) / 4
        })
        .collect()
}

fn embed(dir: &Path, name: &str, bytes: &[u8]) -> Result<[f32; 5], Error> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    Model::default_model().embed_file(&path)
}

fn assert_names_file<T: std::fmt::Debug>(result: &Result<T, Error>, name: &str) {
    let message = result.as_ref().unwrap_err().to_string();
    assert!(message.contains(name), "`{message}` does not name {name}");
}

#[test]
fn text_is_not_audio() {
    let dir = tempfile::tempdir().unwrap();
    let result = embed(
        dir.path(),
        "notes.wav",
        b"these are not the samples you are looking for\n",
    );
    assert!(
        matches!(result, Err(Error::Unrecognized { .. })),
        "{result:?}"
    );
    assert_names_file(&result, "notes.wav");
}

#[test]
fn an_empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let result = embed(dir.path(), "empty.mp3", b"");
    assert!(matches!(result, Err(Error::Empty { .. })), "{result:?}");
    assert_names_file(&result, "empty.mp3");
}

#[test]
fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let full = wav(22_050, &noise(44_100), 1);
    let result = embed(dir.path(), "cut.wav", &full[..full.len() / 2]);
    assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
    assert_names_file(&result, "cut.wav");
}

#[test]
fn silence_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let result = embed(dir.path(), "quiet.wav", &wav(22_050, &[0; 44_100], 1));
    assert!(matches!(result, Err(Error::Silent { .. })), "{result:?}");
    assert_names_file(&result, "quiet.wav");
}

#[test]
fn a_blip_is_too_short() {
    let dir = tempfile::tempdir().unwrap();
    let result = embed(dir.path(), "blip.wav", &wav(22_050, &noise(1000), 1));
    assert!(matches!(result, Err(Error::TooShort { .. })), "{result:?}");
}

#[test]
fn an_unsupported_codec_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // Format tag 0x0055: MPEG audio inside WAV, which is not supported.
    let result = embed(dir.path(), "odd.wav", &wav(22_050, &noise(22_050), 0x55));
    assert!(
        matches!(
            result,
            Err(Error::Unsupported { .. } | Error::Unrecognized { .. })
        ),
        "{result:?}"
    );
    assert_names_file(&result, "odd.wav");
}

#[test]
fn only_the_beginning_of_a_very_long_file_is_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 8_000;
    let seconds = 2 * MAX_ANALYSED_SECONDS as usize;
    let path = dir.path().join("long.wav");
    std::fs::write(&path, wav(rate, &noise(rate as usize * seconds), 1)).unwrap();
    let decoded = decode_file(&path).unwrap();
    assert!(decoded.cut);
    assert_eq!(
        decoded.samples.len(),
        rate as usize * MAX_ANALYSED_SECONDS as usize
    );
    assert!(Model::default_model().embed_file(&path).is_ok());
}

#[test]
fn uploads_are_named_in_errors_too() {
    let result = Model::default_model().embed_bytes("upload-42.ogg", b"nope".to_vec());
    assert_names_file(&result, "upload-42.ogg");
}

#[test]
fn a_batch_reports_failures_and_embeds_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::fixture("chirp_stereo.ogg"),
        dir.path().join("good.ogg"),
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.wav"), b"junk").unwrap();
    std::fs::write(dir.path().join("readme.txt"), b"not listed").unwrap();
    let source = FolderSource {
        dir: dir.path().to_path_buf(),
    };
    let outcomes = batch::run(Model::default_model(), &source, &|| ()).unwrap();
    let names: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["bad.wav", "good.ogg"]);
    assert!(outcomes[0].result.is_err() && outcomes[1].result.is_ok());

    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("embeddings.csv");
    batch::write_csv(&csv, &outcomes).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "file,rain,sea_waves,thunderstorm,wind,crackling_fire"
    );
    assert!(
        lines[1].starts_with("good.ogg,") && lines.len() == 2,
        "{text}"
    );
    // Written through a rename: nothing but the result is left behind.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
}
