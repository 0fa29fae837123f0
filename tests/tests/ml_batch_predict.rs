//! `cosound-ml batch-predict` in its database mode, run as the built binary with the stack's
//! gateway settings: songs lacking an embedding get the one the model gives their object in
//! the bucket, with the model's id and whether the sound fits no class; a song whose object is
//! missing or bad is reported by id, title and key and left as it was, the rest embedded, and
//! the run fails; a song another model placed is embedded again, one this model placed is
//! not; `--all` embeds every song again and removes no embedding. One test, since each run
//! embeds the whole catalogue.

use cosound_e2e::gateway::{bucket, config, unique_seed, wav};
use cosound_e2e::{built_binary, superuser};
use cosound_ml::{Embedding, Model};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const RAIN: &[u8] = include_bytes!("../../supabase/demo-audio/soundscape/rain_on_a_window.ogg");
const FIRE: &[u8] = include_bytes!("../../supabase/demo-audio/soundscape/crackling_fire.ogg");
const BELLS: &[u8] = include_bytes!("../../supabase/demo-audio/instrumental/bells_at_dusk.ogg");

struct Song {
    id: i64,
    title: String,
    key: String,
}

/// A soundscape row without an embedding and, unless `audio` is `None`, its object.
async fn song(db: &tokio_postgres::Client, name: &str, audio: Option<&[u8]>) -> Song {
    let run = unique_seed();
    let (title, key) = (
        format!("Batch {name} {run}"),
        format!("batch-predict/{run}/{name}"),
    );
    if let Some(audio) = audio {
        let (s3, bucket) = bucket();
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(audio.to_vec().into())
            .send()
            .await
            .expect("the bucket takes the object");
    }
    let id = db
        .query_one(
            "insert into cosound.songs (type, title, duration_ms, object_key)
             values ('soundscape', $1, 5000, $2) returning id",
            &[&title, &key],
        )
        .await
        .expect("the song is created")
        .get(0);
    Song { id, title, key }
}

async fn embedding(db: &tokio_postgres::Client, song: &Song) -> Option<Vec<f32>> {
    let text: Option<String> = db
        .query_one(
            "select embedding::text from cosound.songs where id = $1",
            &[&song.id],
        )
        .await
        .unwrap()
        .get(0);
    text.map(|t| {
        t.trim_matches(['[', ']'])
            .split(',')
            .map(|w| w.parse().unwrap())
            .collect()
    })
}

/// What the song's row says placed it, and whether it fits no class.
async fn placed_by(db: &tokio_postgres::Client, song: &Song) -> (Option<String>, Option<bool>) {
    let row = db
        .query_one(
            "select embedding_model, fits_no_class from cosound.songs where id = $1",
            &[&song.id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn set_embedding(
    db: &tokio_postgres::Client,
    song: &Song,
    vector: &str,
    model: Option<&str>,
) {
    db.execute(
        "update cosound.songs set embedding = $2::text::extensions.vector, embedding_model = $3
          where id = $1",
        &[&song.id, &vector, &model],
    )
    .await
    .unwrap();
}

fn assert_embedded(got: Option<Vec<f32>>, want: &Embedding, song: &Song) {
    let got = got.unwrap_or_else(|| panic!("{} has an embedding", song.title));
    assert!(got.iter().all(|w| (0.0..=1.0).contains(w)), "{got:?}");
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() < 1e-5,
            "{}: {got:?} vs the model's {want:?}",
            song.title
        );
    }
}

/// `batch-predict` with `args` and the gateway's settings of the stack, in the environment
/// as `cargo xtask` gives them to the gateway.
fn batch_predict(binary: &PathBuf, args: &[&str]) -> Child {
    let gateway = config(&[]);
    Command::new(binary)
        .arg("batch-predict")
        .args(args)
        .env("COSOUND_DATABASE_URL", &gateway.database_url)
        .env("COSOUND_S3_ENDPOINT", gateway.s3_endpoint.unwrap())
        .env("COSOUND_S3_BUCKET", &gateway.s3_bucket)
        .env("COSOUND_S3_ACCESS_KEY", &gateway.s3_access_key)
        .env("COSOUND_S3_SECRET_KEY", &gateway.s3_secret_key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cosound-ml runs")
}

/// Waits until `batch-predict` is about to write an embedding but held at the lock.
async fn writing_held(db: &tokio_postgres::Client) {
    for _ in 0..600 {
        let held: i64 = db
            .query_one(
                "select count(*) from pg_stat_activity
                  where usename = 'cosound_gateway' and wait_event_type = 'Lock'
                    and query like 'update cosound.songs%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if held > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("batch-predict never tried to write an embedding");
}

/// Each bad song is named in the report with the reason, and the run failed.
fn assert_reported(output: &Output, bad: &[(&Song, &str)]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    for (song, reason) in bad {
        let name = format!("song {} “{}”, {}", song.id, song.title, song.key);
        assert!(
            stderr.lines().any(|line| line.starts_with("failed: ")
                && line.contains(&name)
                && line.contains(reason)),
            "{name} is reported ({reason}):\n{stderr}"
        );
    }
    assert!(
        stderr.contains("song(s) failed and were left as they were"),
        "{stderr}"
    );
}

#[tokio::test]
async fn batch_predict_embeds_the_songs_lacking_an_embedding_and_reports_the_bad_ones() {
    let binary = built_binary("cosound-ml", "cosound-ml");
    let db = superuser().await;
    let model = Model::default_model();
    let noise = wav(3.0, 22_050, unique_seed());
    let mut silent = wav(2.0, 22_050, unique_seed());
    silent[44..].fill(0);

    let good = [
        (song(&db, "rain.ogg", Some(RAIN)).await, RAIN.to_vec()),
        (song(&db, "fire.ogg", Some(FIRE)).await, FIRE.to_vec()),
        (song(&db, "noise.wav", Some(&noise)).await, noise.clone()),
        (song(&db, "bells.ogg", Some(BELLS)).await, BELLS.to_vec()),
    ];
    let not_audio = song(&db, "notes.ogg", Some(b"these are not sounds".as_slice())).await;
    let quiet = song(&db, "quiet.wav", Some(&silent)).await;
    let missing = song(&db, "missing.ogg", None).await;
    let bad = [
        (&not_audio, "not a supported audio file"),
        (&quiet, "silent"),
        (&missing, "no such object in the bucket"),
    ];
    let want: Vec<Embedding> = good
        .iter()
        .map(|(song, audio)| model.embed_bytes(&song.key, audio.clone()).unwrap())
        .collect();

    // The gateway deletes a song while it is embedded: it is skipped, nothing written.
    let deleted = song(&db, "deleted.ogg", Some(RAIN)).await;
    let locker = superuser().await;
    locker
        .batch_execute("begin; lock table cosound.songs in exclusive mode")
        .await
        .unwrap();
    let run = batch_predict(&binary, &[]);
    writing_held(&db).await;
    locker
        .execute("delete from cosound.songs where id = $1", &[&deleted.id])
        .await
        .unwrap();
    locker.batch_execute("commit").await.unwrap();
    let output = run.wait_with_output().unwrap();
    assert_reported(&output, &bad);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "skipped: song {} “{}”, {}: deleted",
            deleted.id, deleted.title, deleted.key
        )),
        "{stdout}"
    );
    assert!(stdout.contains("song(s) lacking an embedding"), "{stdout}");
    for ((song, _), want) in good.iter().zip(&want) {
        assert_embedded(embedding(&db, song).await, want, song);
    }
    for (song, _) in &bad {
        assert_eq!(
            embedding(&db, song).await,
            None,
            "{} is left as it was",
            song.title
        );
    }

    // Each embedding names its model, and says whether the sound fits none of the classes:
    // rain does, the bells of an instrumental do not.
    for ((song, _), want) in good.iter().zip(&want) {
        let expected = (
            Some(Model::default_id().to_string()),
            Some(cosound_ml::fits_no_class(want)),
        );
        assert_eq!(placed_by(&db, song).await, expected, "{}", song.title);
    }
    assert_eq!(placed_by(&db, &good[0].0).await.1, Some(false));
    assert_eq!(placed_by(&db, &good[3].0).await.1, Some(true));

    // A song another model placed is embedded again; one this model placed is left alone.
    set_embedding(
        &db,
        &good[0].0,
        "[0.5,0.5,0.5,0.5,0.5]",
        Some("0123456789abcdef"),
    )
    .await;
    set_embedding(
        &db,
        &good[1].0,
        "[0.5,0.5,0.5,0.5,0.5]",
        Some(Model::default_id()),
    )
    .await;
    let output = batch_predict(&binary, &[]).wait_with_output().unwrap();
    assert_reported(&output, &bad);
    assert_embedded(embedding(&db, &good[0].0).await, &want[0], &good[0].0);
    assert_eq!(
        placed_by(&db, &good[0].0).await.0.as_deref(),
        Some(Model::default_id())
    );
    assert_eq!(embedding(&db, &good[1].0).await, Some(vec![0.5; 5]));

    // With --all: every song again, and a bad song keeps the embedding it had.
    set_embedding(
        &db,
        &good[0].0,
        "[0.5,0.5,0.5,0.5,0.5]",
        Some(Model::default_id()),
    )
    .await;
    set_embedding(&db, &not_audio, "[0.1,0.2,0.3,0.4,0.5]", None).await;
    let output = batch_predict(&binary, &["--all"])
        .wait_with_output()
        .unwrap();
    assert_reported(&output, &bad);
    for ((song, _), want) in good.iter().zip(&want) {
        assert_embedded(embedding(&db, song).await, want, song);
    }
    assert_eq!(
        embedding(&db, &not_audio).await,
        Some(vec![0.1, 0.2, 0.3, 0.4, 0.5])
    );
    assert_eq!(embedding(&db, &missing).await, None);

    // Nothing of this test stays for the others: neither rows nor objects.
    let (s3, bucket) = bucket();
    let songs = good.iter().map(|(song, _)| song);
    for song in songs
        .chain(bad.iter().map(|(song, _)| *song))
        .chain([&deleted])
    {
        db.execute("delete from cosound.songs where id = $1", &[&song.id])
            .await
            .unwrap();
        s3.delete_object()
            .bucket(&bucket)
            .key(&song.key)
            .send()
            .await
            .unwrap();
    }
}
