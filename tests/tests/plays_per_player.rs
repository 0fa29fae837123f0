//! Plays count where they happened: a song played in one room is pushed down in that room's
//! mix only, and a device reports only what it was given.

use cosound_e2e::{new_player, new_song, new_user, player_token, rpc, superuser};
use serde_json::json;

/// The song leading `player`'s mix.
async fn leader(db: &tokio_postgres::Client, player: i64) -> i64 {
    db.query_one(
        "select song_id from cosound.player_queue where player_id = $1 and slot = 0",
        &[&player],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn a_play_in_one_room_moves_that_rooms_mix_only() {
    let db = superuser().await;
    let rain = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    let drizzle = new_song(&db, "soundscape", "[0.95,0.05,0,0,0]").await;
    let (here, there) = (new_player(&db, None).await, new_player(&db, None).await);
    for player in [here, there] {
        let (listener, _) = new_user(&db, &[]).await;
        db.execute(
            "update cosound.profiles set preference = '[1,0,0,0,0]' where id = $1::text::uuid",
            &[&listener],
        )
        .await
        .unwrap();
        db.execute(
            "select cosound.check_in($1::text::uuid, $2)",
            &[&listener, &player],
        )
        .await
        .unwrap();
        db.execute(
            "insert into cosound.player_library values ($1, $2), ($1, $3)",
            &[&player, &rain, &drizzle],
        )
        .await
        .unwrap();
        db.execute("select extensions.refresh_queue($1)", &[&player])
            .await
            .unwrap();
        assert_eq!(leader(&db, player).await, rain);
    }

    let (status, answer) = rpc(
        Some(&player_token(here)),
        "report_play",
        &json!({"song_id": rain, "event": "start"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // Both ways of refreshing: all queues at once (in memory) and one player (by query).
    db.execute("select extensions.refresh_all_queues()", &[])
        .await
        .unwrap();
    assert_eq!(leader(&db, here).await, drizzle, "rain just played here");
    assert_eq!(
        leader(&db, there).await,
        rain,
        "the other room did not hear it"
    );
    db.execute("select extensions.refresh_queue($1)", &[&there])
        .await
        .unwrap();
    assert_eq!(leader(&db, there).await, rain);
}

#[tokio::test]
async fn a_device_reports_only_what_it_was_given() {
    let db = superuser().await;
    let player = new_player(&db, None).await;
    let given = new_song(&db, "soundscape", "[0,0,1,0,0]").await;
    let elsewhere = new_song(&db, "soundscape", "[0,0,0,1,0]").await;
    db.execute(
        "insert into cosound.player_library values ($1, $2)",
        &[&player, &given],
    )
    .await
    .unwrap();
    let device = player_token(player);
    for event in ["start", "failed"] {
        let (status, refusal) = rpc(
            Some(&device),
            "report_play",
            &json!({"song_id": elsewhere, "event": event}).to_string(),
        )
        .await;
        assert_eq!(status, 409, "{event}: {refusal}");
        assert!(refusal["message"]
            .as_str()
            .unwrap()
            .contains("neither in this player's queue nor in its library"));
    }
    let (status, _) = rpc(
        Some(&device),
        "report_play",
        &json!({"song_id": given, "event": "start"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let plays: Vec<i64> = db
        .query(
            "select song_id from cosound.plays where player_id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(plays, [given]);
}
