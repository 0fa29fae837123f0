//! Media: a player gets the audio of the songs in its queue or its library, whole or by
//! range; an admin gets any; nobody else, and no other player, gets anything.

use cosound_e2e::gateway::{unique_seed, upload, wav};
use cosound_e2e::{gateway_url, new_player, new_user, player_token, superuser};

async fn fetch(
    token: Option<&str>,
    song: i64,
    range: Option<&str>,
) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().get(format!("{}/media/{song}", gateway_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.bytes().await.unwrap().to_vec(), headers)
}

/// Uploads a fresh song as an admin; its id and bytes.
async fn uploaded_song(admin: &str) -> (i64, Vec<u8>) {
    let audio = wav(1.0, 22_050, unique_seed());
    let (status, song) = upload(
        Some(admin),
        &format!("title=Media {}&type=soundscape", unique_seed()),
        audio.clone(),
    )
    .await;
    assert_eq!(status, 201, "{song}");
    (song["id"].as_i64().unwrap(), audio)
}

#[tokio::test]
async fn players_get_their_queue_and_library_and_nothing_else() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let (_, listener) = new_user(&db, &[]).await;
    let (queued, queued_audio) = uploaded_song(&admin).await;
    let (in_library, library_audio) = uploaded_song(&admin).await;
    let (elsewhere, _) = uploaded_song(&admin).await;
    let player = new_player(&db, None).await;
    let other = new_player(&db, None).await;
    db.execute(
        "insert into cosound.player_queue (player_id, slot, song_id, role, gain)
         values ($1, 0, $2, 'layer', 0.5), ($3, 0, $4, 'layer', 0.5)",
        &[&player, &queued, &other, &elsewhere],
    )
    .await
    .unwrap();
    db.execute(
        "insert into cosound.player_library (player_id, song_id) values ($1, $2)",
        &[&player, &in_library],
    )
    .await
    .unwrap();
    let device = player_token(player);

    let (status, body, headers) = fetch(Some(&device), queued, None).await;
    assert_eq!(status, 200);
    assert_eq!(body, queued_audio);
    assert_eq!(headers["content-type"], "audio/wav");
    assert_eq!(headers["accept-ranges"], "bytes");
    let (status, body, _) = fetch(Some(&device), in_library, None).await;
    assert_eq!(status, 200);
    assert_eq!(body, library_audio);

    let (status, body, headers) = fetch(Some(&device), queued, Some("bytes=100-199")).await;
    assert_eq!(status, 206);
    assert_eq!(body, queued_audio[100..200]);
    assert_eq!(
        headers["content-range"],
        format!("bytes 100-199/{}", queued_audio.len()).as_str()
    );

    let (status, body, _) = fetch(Some(&device), elsewhere, None).await;
    assert_eq!(
        status,
        403,
        "another player's song: {}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, _) = fetch(Some(&player_token(other)), queued, None).await;
    assert_eq!(status, 403, "another player reads this player's song");
    let (status, _, _) = fetch(Some(&listener), queued, None).await;
    assert_eq!(status, 403, "a listener");
    let (status, _, _) = fetch(None, queued, None).await;
    assert_eq!(status, 401, "no token");
    let (status, _, _) = fetch(Some(&device), i64::MAX, None).await;
    assert_eq!(status, 404, "an unknown song");

    let (status, body, _) = fetch(Some(&admin), elsewhere, None).await;
    assert_eq!(status, 200, "an admin gets any song");
    assert!(!body.is_empty());
}
