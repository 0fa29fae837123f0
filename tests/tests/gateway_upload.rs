//! Admin uploads: the file lands in the bucket and in the catalogue with its embedding and
//! measurements; every refusal says why and leaves neither a row nor an object behind.

use cosound_e2e::audio::wav_file;
use cosound_e2e::gateway::{
    config, dead_address, object_keys, unique_seed, upload, upload_to, wav, OwnGateway,
};
use cosound_e2e::{new_user, player_token, superuser};
use cosound_ml::Model;

const BELLS: &[u8] = include_bytes!("../../supabase/demo-audio/instrumental/bells_at_dusk.ogg");

/// The database's own SHA-256 of `bytes`, to check the one the gateway recorded.
async fn hex_sha256(db: &tokio_postgres::Client, bytes: &[u8]) -> String {
    db.query_one("select encode(sha256($1), 'hex')", &[&bytes])
        .await
        .unwrap()
        .get(0)
}

async fn songs_titled(db: &tokio_postgres::Client, title: &str) -> i64 {
    db.query_one(
        "select count(*) from cosound.songs where title = $1",
        &[&title],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn an_admins_upload_becomes_a_song_with_its_embedding_and_object() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let audio = wav(3.0, 22_050, unique_seed());
    let title = format!("Upload {}", unique_seed());

    let (status, song) = upload(
        Some(&admin),
        &format!("title={title}&type=soundscape"),
        audio.clone(),
    )
    .await;
    assert_eq!(status, 201, "{song}");
    let id = song["id"].as_i64().unwrap();
    let row = db
        .query_one(
            "select title, type::text, object_key, duration_ms, loudness_gain_db,
                    embedding::text, byte_size, content_sha256, content_type
               from cosound.songs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), title);
    assert_eq!(row.get::<_, String>(1), "soundscape");
    let key: String = row.get(2);
    assert_eq!(row.get::<_, i32>(3), 3000);
    let gain: f32 = row.get(4);
    assert!(gain.is_finite() && gain.abs() <= 24.0, "{gain}");
    let embedding: String = row.get(5);
    assert_eq!(embedding.split(',').count(), 5, "{embedding}");
    assert_eq!(row.get::<_, i64>(6), audio.len() as i64);
    assert_eq!(row.get::<_, String>(7), hex_sha256(&db, &audio).await);
    assert_eq!(row.get::<_, String>(8), "audio/wav");
    assert_eq!(object_keys(&key).await, vec![key.clone()]);

    // The answer and the catalogue name the model and say whether the sound fits no class.
    let weights: Vec<f32> = serde_json::from_value(song["embedding"].clone()).unwrap();
    let fits_none = cosound_ml::fits_no_class(&weights.try_into().unwrap());
    assert_eq!(song["fits_no_class"], fits_none, "{song}");
    assert_eq!(song["embedding_model"], Model::default_id(), "{song}");
    let listed = db
        .query_one(
            "select fits_no_class, embedding_model from api.songs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(listed.get::<_, Option<bool>>(0), Some(fits_none));
    assert_eq!(
        listed.get::<_, Option<String>>(1).as_deref(),
        Some(Model::default_id())
    );

    // The same file again is the same song.
    let (status, again) = upload(Some(&admin), "title=Again&type=soundscape", audio.clone()).await;
    assert_eq!(status, 409, "{again}");
    assert!(again["message"].as_str().unwrap().contains(&id.to_string()));
    assert_eq!(again["song_id"], id, "{again}");

    // So is the same sound in another file: here, with one byte appended.
    let mut padded = audio;
    padded.push(0);
    let (status, again) = upload(Some(&admin), "title=Padded&type=soundscape", padded).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(
        again["message"],
        format!("this sound is already song {id}, in another file")
    );
    assert_eq!(again["song_id"], id, "{again}");
    assert_eq!(songs_titled(&db, "Padded").await, 0);
}

/// Bells are none of rain, waves, thunder, wind or fire: the upload is accepted, and both its
/// answer and the catalogue say the sound fits no class.
#[tokio::test]
async fn a_sound_of_no_class_is_accepted_and_says_so() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let (status, song) = upload(
        Some(&admin),
        "title=Bells&type=instrumental",
        BELLS.to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{song}");
    assert_eq!(song["fits_no_class"], true, "{song}");
    let id = song["id"].as_i64().unwrap();
    let listed = db
        .query_one("select fits_no_class from api.songs where id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(listed.get::<_, Option<bool>>(0), Some(true));
    // The demo's file is for other tests too: this one leaves neither the row nor the object.
    db.execute("delete from cosound.songs where id = $1", &[&id])
        .await
        .unwrap();
    let key = song["object_key"].as_str().unwrap();
    let (s3, bucket) = cosound_e2e::gateway::bucket();
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert!(object_keys(key).await.is_empty());
}

#[tokio::test]
async fn every_refusal_says_why_and_leaves_nothing() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let (_, listener) = new_user(&db, &[]).await;
    let (_, manager) = new_user(&db, &["manager"]).await;
    let device = player_token(1);
    let title = format!("Refused {}", unique_seed());
    let query = format!("title={title}&type=soundscape");
    let audio = || wav(1.0, 22_050, unique_seed());

    let refused = |case: &'static str, token: Option<&str>, query: &str, body: Vec<u8>| {
        let (token, query) = (token.map(str::to_string), query.to_string());
        async move {
            let (status, answer) = upload(token.as_deref(), &query, body).await;
            assert!(!answer["message"].as_str().unwrap().is_empty(), "{case}");
            (status, answer["error"].as_str().unwrap().to_string())
        }
    };
    let expect = |got: (u16, String), status: u16, code: &str, case: &str| {
        assert_eq!(got, (status, code.to_string()), "{case}");
    };
    expect(
        refused("no token", None, &query, audio()).await,
        401,
        "missing_token",
        "no token",
    );
    expect(
        refused("forged", Some("a.b.c"), &query, audio()).await,
        401,
        "invalid_token",
        "forged",
    );
    for (case, token) in [
        ("a listener", &listener),
        ("a manager", &manager),
        ("a device", &device),
    ] {
        expect(
            refused(case, Some(token), &query, audio()).await,
            403,
            "forbidden",
            case,
        );
    }
    let admin = Some(admin.as_str());
    expect(
        refused("no title", admin, "type=soundscape", audio()).await,
        400,
        "invalid_title",
        "no title",
    );
    let jazz = format!("title={title}&type=jazz");
    expect(
        refused("bad type", admin, &jazz, audio()).await,
        400,
        "invalid_type",
        "bad type",
    );
    expect(
        refused("empty", admin, &query, Vec::new()).await,
        400,
        "empty_upload",
        "empty",
    );
    let text = b"hello, this is not audio at all".repeat(100);
    expect(
        refused("text", admin, &query, text).await,
        415,
        "not_audio",
        "text",
    );
    let truncated = audio()[..2000].to_vec();
    expect(
        refused("truncated", admin, &query, truncated).await,
        415,
        "not_audio",
        "truncated",
    );
    expect(
        refused("silence", admin, &query, silent_wav()).await,
        422,
        "unusable_audio",
        "silence",
    );
    assert_eq!(songs_titled(&db, &title).await, 0);
}

fn silent_wav() -> Vec<u8> {
    wav_file(22_050, 1, std::iter::repeat_n(0.0, 22_050))
}

#[tokio::test]
async fn a_file_over_the_limit_is_413() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let gateway = OwnGateway::start(&config(&[("--max-upload-bytes", "10000")])).await;
    let title = format!("Large {}", unique_seed());
    let (status, body) = upload_to(
        &gateway.url,
        Some(&admin),
        &format!("title={title}&type=soundscape"),
        wav(1.0, 22_050, unique_seed()),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "too_large");
    assert_eq!(songs_titled(&db, &title).await, 0);
}

#[tokio::test]
async fn audio_longer_than_the_limit_is_413_and_no_song() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let gateway = OwnGateway::start(&config(&[("--max-upload-minutes", "1")])).await;
    let title = format!("Endless {}", unique_seed());
    let (status, body) = upload_to(
        &gateway.url,
        Some(&admin),
        &format!("title={title}&type=soundscape"),
        wav(61.0, 8_000, unique_seed()),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "audio_too_long");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("longer than 1 min,"));
    assert_eq!(songs_titled(&db, &title).await, 0);
}

#[tokio::test]
async fn an_unreachable_bucket_is_503_and_no_song() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let dead_s3 = format!("http://{}", dead_address());
    let gateway = OwnGateway::start(&config(&[("--s3-endpoint", &dead_s3)])).await;
    let title = format!("No bucket {}", unique_seed());
    let (status, body) = upload_to(
        &gateway.url,
        Some(&admin),
        &format!("title={title}&type=instrumental"),
        wav(2.0, 22_050, unique_seed()),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "storage_unavailable");
    assert_eq!(songs_titled(&db, &title).await, 0);
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    // 9.5 MiB of 8 kHz audio: two parts of the multipart upload.
    let audio = wav(620.0, 8_000, unique_seed());
    let (status, song) = upload(
        Some(&admin),
        &format!("title=Long {}&type=soundscape", unique_seed()),
        audio.clone(),
    )
    .await;
    assert_eq!(status, 201, "{song}");
    assert_eq!(song["duration_ms"], 620_000);
    let key = song["object_key"].as_str().unwrap();
    let (s3, bucket) = cosound_e2e::gateway::bucket();
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(audio.len() as i64));
}
