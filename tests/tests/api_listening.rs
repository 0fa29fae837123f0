//! A listener's visit, an admin's and a manager's work, and a device's loop, as clients do
//! them: through PostgREST with postgrest-rs and the tokens the stack issues.

use cosound_e2e::{api, new_player, new_song, new_user, parse_vector, player_token, superuser};
use serde_json::{json, Value};

async fn call(token: &str, function: &str, body: Value) -> Value {
    let response = api(Some(token))
        .rpc(function, body.to_string())
        .execute()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{function} {body}: {answer}");
    answer
}

async fn select(token: &str, view: &str, filter: Option<(&str, String)>) -> Vec<Value> {
    let mut query = api(Some(token)).from(view).select("*");
    if let Some((column, value)) = filter {
        query = query.eq(column, value);
    }
    let response = query.execute().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{view}");
    response.json().await.unwrap()
}

/// The songs of a player's queue, in channel order.
async fn queue(token: &str, player: i64) -> Vec<i64> {
    let mut rows = select(
        token,
        "player_queue",
        Some(("player_id", player.to_string())),
    )
    .await;
    rows.sort_by_key(|row| row["slot"].as_i64());
    rows.iter()
        .map(|row| row["song_id"].as_i64().unwrap())
        .collect()
}

/// Waits (at most 2 s) for `song` to lead the player's queue, as the listener sees it.
async fn leads_within_two_seconds(token: &str, player: i64, song: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let songs = queue(token, player).await;
        if songs.first() == Some(&song) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "song {song} does not lead the queue 2 s after the change: {songs:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_listener_signs_up_checks_in_by_code_rates_and_the_room_follows() {
    let db = superuser().await;
    let (manager_id, manager) = new_user(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let rain = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    let fire = new_song(&db, "soundscape", "[0,0,0,0,1]").await;
    new_song(&db, "instrumental", "[0.5,0,0,0,0.5]").await;
    let added = call(
        &manager,
        "add_to_library",
        json!({"player_id": player, "song_ids": [rain, fire]}),
    )
    .await;
    assert_eq!(added["added"], 2);
    let code = call(&manager, "new_checkin_code", json!({"player_id": player})).await["code"]
        .as_str()
        .unwrap()
        .to_owned();

    let email = format!("visitor-{player}@example.test");
    let credentials = json!({"email": email, "password": "rainy-day-42"}).to_string();
    let signed_up = api(None)
        .rpc("sign_up", &credentials)
        .execute()
        .await
        .unwrap();
    assert_eq!(signed_up.status().as_u16(), 200);
    let session = api(None)
        .rpc("sign_in", &credentials)
        .execute()
        .await
        .unwrap();
    assert_eq!(session.status().as_u16(), 200);
    let session: Value = session.json().await.unwrap();
    let listener = session["access_token"].as_str().unwrap().to_owned();

    // Codes are typed by hand too: case and spaces do not matter.
    let visit = call(
        &listener,
        "check_in",
        json!({"code": format!(" {} ", code.to_lowercase())}),
    )
    .await;
    assert_eq!(visit["player_id"], player);
    let profile = &select(&listener, "my_profile", None).await[0];
    assert_eq!(profile["checked_in_at"], player);

    call(
        &listener,
        "survey",
        json!({"rain": 0, "sea_waves": 0, "thunderstorm": 0, "wind": 0, "crackling_fire": 1}),
    )
    .await;
    // The gateway hears the survey (cosound_activity) and refreshes the room's queue.
    leads_within_two_seconds(&listener, player, fire).await;

    // Rating what plays (the fire) low, and the rain high, turns the taste and the room.
    let rated = call(&listener, "rate", json!({"rating": 1})).await;
    assert_eq!(rated["song_id"], fire);
    let mut liked = 0;
    let mut taste = vec![0.0, 0.0, 0.0, 0.0, 1.0];
    while taste[0] <= taste[4] {
        let before = taste[0];
        // A song counts once a minute: the earlier ratings move a minute back, as if the
        // listener had waited.
        db.execute(
            "update cosound.votes set created_at = created_at - interval '1 minute'
              where listener_id = (select id from auth.users where email = $1)",
            &[&email],
        )
        .await
        .unwrap();
        let rated = call(&listener, "rate", json!({"rating": 5, "song_id": rain})).await;
        taste = parse_vector(&rated["preference"]);
        assert!(
            taste[0] > before,
            "each 5 for the rain moves the taste towards it"
        );
        liked += 1;
        assert!(
            liked < 50,
            "fifty 5s for the rain still leave fire first: {taste:?}"
        );
    }
    leads_within_two_seconds(&listener, player, rain).await;

    assert_eq!(select(&listener, "my_votes", None).await.len(), liked + 1);
    let stats = &select(&listener, "my_stats", None).await[0];
    assert_eq!(
        (
            stats["ratings"].as_i64(),
            stats["positive"].as_i64(),
            stats["negative"].as_i64()
        ),
        (Some(liked as i64 + 1), Some(liked as i64), Some(1))
    );
    let recommended = call(&listener, "my_recommendations", json!({"k": 2})).await;
    assert_eq!(recommended[0]["song_id"], rain, "{recommended}");

    call(
        &listener,
        "set_display_name",
        json!({"display_name": format!("Visitor {player}")}),
    )
    .await;
    let board = call(&listener, "leaderboard", json!({})).await;
    let rows = board.as_array().unwrap();
    assert!(rows.len() <= 10);
    if let Some(me) = rows.iter().find(|row| row["is_me"] == true) {
        assert_eq!(me["display_name"], format!("Visitor {player}"));
        assert_eq!(
            (me["positive"].as_i64(), me["negative"].as_i64()),
            (Some(liked as i64), Some(1))
        );
    } else {
        let last = rows.last().unwrap()["ratings"].as_i64().unwrap();
        assert!(
            last > liked as i64,
            "left off a board of others with fewer ratings: {board}"
        );
    }

    let out = call(&listener, "check_out", json!({})).await;
    assert_eq!(out["checked_out"], true);
    assert!(
        select(
            &listener,
            "player_queue",
            Some(("player_id", player.to_string()))
        )
        .await
        .is_empty(),
        "after check-out the room's queue is no longer the listener's to see"
    );
}

#[tokio::test]
async fn an_admin_sets_up_a_player_for_a_manager_who_runs_it() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let (manager_id, _) = new_user(&db, &[]).await;
    let manager_email = format!("{manager_id}@example.test");
    call(
        &admin,
        "grant_role",
        json!({"email": manager_email, "role": "manager"}),
    )
    .await;
    let manager = cosound_e2e::token(&cosound_e2e::listener_claims(&manager_id));
    assert_eq!(
        select(&manager, "my_profile", None).await[0]["roles"],
        json!(["manager"])
    );

    let player = call(
        &admin,
        "create_player",
        json!({"name": "Lobby", "manager_email": manager_email}),
    )
    .await;
    let id = player["id"].as_i64().unwrap();
    assert_eq!(player["manager_id"], manager_id);
    call(
        &manager,
        "rename_player",
        json!({"player_id": id, "name": "Lobby, east wing"}),
    )
    .await;
    let mine = select(&manager, "players", Some(("id", id.to_string()))).await;
    assert_eq!(mine[0]["name"], "Lobby, east wing");

    let song = new_song(&db, "soundscape", "[0,1,0,0,0]").await;
    call(
        &admin,
        "update_song",
        json!({"song_id": song, "title": "Harbour waves"}),
    )
    .await;
    let listed = select(&manager, "songs", Some(("id", song.to_string()))).await;
    assert_eq!(listed[0]["title"], "Harbour waves");

    let code = call(&manager, "new_checkin_code", json!({"player_id": id})).await["code"].clone();
    call(&manager, "revoke_checkin_code", json!({"code": code})).await;
    let (_, visitor) = new_user(&db, &[]).await;
    let (status, refusal) = cosound_e2e::rpc(
        Some(&visitor),
        "check_in",
        &json!({"code": code}).to_string(),
    )
    .await;
    assert_eq!(status, 404, "a revoked code no longer works: {refusal}");

    call(
        &admin,
        "revoke_role",
        json!({"email": manager_email, "role": "manager"}),
    )
    .await;
    let (status, _) = cosound_e2e::rpc(
        Some(&manager),
        "rename_player",
        &json!({"player_id": id, "name": "x"}).to_string(),
    )
    .await;
    assert_eq!(
        status, 403,
        "without the role, owning the player is not enough"
    );
}

#[tokio::test]
async fn a_device_reads_its_queue_beats_and_reports_what_it_plays() {
    let db = superuser().await;
    let (manager_id, manager) = new_user(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let song = new_song(&db, "soundscape", "[0,0,1,0,0]").await;
    db.execute(
        "insert into cosound.player_library values ($1, $2)",
        &[&player, &song],
    )
    .await
    .unwrap();
    db.execute("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap();
    let device = player_token(player);

    let rows = select(&device, "player_queue", None).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["song_id"], song);
    assert_eq!(rows[0]["role"], "layer");
    assert!(rows[0]["version"].as_i64().unwrap() >= 1);

    let beat = call(&device, "heartbeat", json!({})).await;
    assert_eq!(beat["player_id"], player);
    assert_eq!(beat["version"], rows[0]["version"]);
    assert_eq!(
        select(&manager, "players", Some(("id", player.to_string()))).await[0]["online"],
        true
    );

    call(
        &device,
        "report_play",
        json!({"song_id": song, "event": "start"}),
    )
    .await;
    call(
        &device,
        "report_play",
        json!({"song_id": song, "event": "end"}),
    )
    .await;
    call(
        &device,
        "report_play",
        json!({"song_id": song, "event": "failed", "detail": "checksum mismatch"}),
    )
    .await;
    let history = select(
        &manager,
        "play_history",
        Some(("player_id", player.to_string())),
    )
    .await;
    assert_eq!(history.len(), 1);
    assert!(!history[0]["ended_at"].is_null());
    let last_played = select(&manager, "songs", Some(("id", song.to_string()))).await[0]
        ["last_played_at"]
        .clone();
    assert_eq!(last_played, history[0]["played_at"]);
    let penalised: bool = db
        .query_one(
            "select played_at = $3::text::timestamptz from cosound.last_plays
              where player_id = $1 and song_id = $2",
            &[&player, &song, &history[0]["played_at"].as_str().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(penalised, "this player's recency penalty sees the play");
    let failures = select(
        &manager,
        "play_failures",
        Some(("player_id", player.to_string())),
    )
    .await;
    assert_eq!(failures[0]["detail"], "checksum mismatch");
}
