//! The committed default model: it loads, embeds audio into [0, 1]⁵, and is
//! exactly what training on esc50-dev produces.

mod common;

use cosound_ml::dataset::Dataset;
use cosound_ml::train::{train, Config};
use cosound_ml::{Model, CLASSES};

#[test]
fn default_model_embeds_every_supported_format_into_the_unit_cube() {
    let model = Model::default_model();
    assert_eq!(model.classes, CLASSES);
    for name in [
        "tone_noise_22k.wav",
        "chirp_stereo.flac",
        "chirp_stereo.ogg",
        "chirp_stereo.mp3",
    ] {
        let embedding = model.embed_file(&common::fixture(name)).unwrap();
        assert!(
            embedding.iter().all(|w| (0.0..=1.0).contains(w)),
            "{name}: {embedding:?}"
        );
    }
}

#[test]
fn the_same_file_embeds_the_same_from_bytes_and_from_disk() {
    let model = Model::default_model();
    let path = common::fixture("chirp_stereo.ogg");
    let from_disk = model.embed_file(&path).unwrap();
    let from_bytes = model
        .embed_bytes("upload.ogg", std::fs::read(&path).unwrap())
        .unwrap();
    assert_eq!(from_disk, from_bytes);
}

#[test]
fn retraining_on_esc50_dev_reproduces_the_committed_model_byte_for_byte() {
    let dataset = Dataset::open(&common::esc50_dev()).unwrap();
    let model = train(&dataset, &Config::improved(), &|| ()).unwrap();
    let committed = include_str!("../models/default.json");
    assert!(
        model.to_json() == committed,
        "retraining differs from models/default.json; regenerate it with \
         `cosound-ml train ../shared/data/esc50-dev -o ml/models/default.json`"
    );
    assert!(
        std::fs::metadata(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default.json"))
            .unwrap()
            .len()
            < 1 << 20
    );
}

#[test]
fn a_saved_model_loads_back_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    Model::default_model().save(&path).unwrap();
    assert_eq!(&Model::load(&path).unwrap(), Model::default_model());
}
