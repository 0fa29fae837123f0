//! A room's group strategy, set by its manager through the API: the mix follows it at once,
//! bad strategies are refused with the rule, and nobody else may change it.

use cosound_e2e::{
    check_in_with_taste, get, new_player, new_song, new_user, player_token, rpc, superuser,
};
use serde_json::json;

/// The song the player's queue leads with, as its manager reads it.
async fn lead_layer(manager: &str, player: i64) -> i64 {
    let (status, queue) = get(
        Some(manager),
        &format!("player_queue?player_id=eq.{player}&role=eq.layer&order=slot&limit=1"),
    )
    .await;
    assert_eq!(status, 200, "{queue}");
    queue[0]["song_id"].as_i64().expect("a layer")
}

#[tokio::test]
async fn the_manager_sets_the_strategy_and_the_mix_follows() {
    let db = superuser().await;
    let (manager_id, manager) = new_user(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let mostly_rain = new_song(&db, "soundscape", "[1,0,0,0,0.3]").await;
    let rain_and_fire = new_song(&db, "soundscape", "[1,0,0,0,1]").await;
    let rain = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    db.execute(
        "insert into cosound.player_library (player_id, song_id)
         select $1, unnest($2::bigint[])",
        &[&player, &vec![mostly_rain, rain_and_fire, rain]],
    )
    .await
    .unwrap();
    for taste in ["[1,0,0,0,0]", "[1,0,0,0,0]", "[0,0,0,0,1]"] {
        check_in_with_taste(&db, player, taste).await;
    }
    let (status, rooms) = get(Some(&manager), &format!("players?id=eq.{player}")).await;
    assert_eq!(status, 200);
    assert_eq!(rooms[0]["strategy"], "mean", "the default");
    let set = |strategy: &str| json!({"player_id": player, "strategy": strategy}).to_string();
    let (status, answer) = rpc(Some(&manager), "set_player_strategy", &set("mean")).await;
    assert_eq!((status, &answer["strategy"]), (200, &json!("mean")));
    assert_eq!(
        lead_layer(&manager, player).await,
        mostly_rain,
        "the mean leans to the two who like rain"
    );

    let (status, answer) = rpc(Some(&manager), "set_player_strategy", &set("least_misery")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        lead_layer(&manager, player).await,
        rain_and_fire,
        "the fire lover is not left out"
    );
    let (_, rooms) = get(Some(&manager), &format!("players?id=eq.{player}")).await;
    assert_eq!(rooms[0]["strategy"], "least_misery");
}

#[tokio::test]
async fn only_the_rooms_manager_may_set_a_strategy_and_only_a_known_one() {
    let db = superuser().await;
    let (manager_id, manager) = new_user(&db, &["manager"]).await;
    let (_, other_manager) = new_user(&db, &["manager"]).await;
    let (_, listener) = new_user(&db, &[]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let set = |strategy: &str| json!({"player_id": player, "strategy": strategy}).to_string();
    let strategy = || async {
        db.query_one(
            "select strategy::text from cosound.players where id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .get::<_, String>(0)
    };

    let (status, refusal) = rpc(Some(&manager), "set_player_strategy", &set("median")).await;
    assert_eq!(status, 400, "{refusal}");
    assert_eq!(
        refusal["message"],
        "a group strategy is mean, least_misery or fair"
    );
    assert_eq!(refusal["details"], "strategy: 'median'");
    let (status, _) = rpc(
        Some(&manager),
        "set_player_strategy",
        &json!({"player_id": player, "strategy": null}).to_string(),
    )
    .await;
    assert_eq!(status, 400);

    for (who, token, expected) in [
        ("a listener", Some(listener.as_str()), 403),
        ("another room's manager", Some(other_manager.as_str()), 403),
        (
            "the room's own device",
            Some(player_token(player).as_str()),
            403,
        ),
        ("anyone without a token", None, 401),
    ] {
        let (status, refusal) = rpc(token, "set_player_strategy", &set("fair")).await;
        assert_eq!(status, expected, "{who}: {refusal}");
    }
    assert_eq!(strategy().await, "mean", "no refusal changed it");

    let (status, refusal) = rpc(
        Some(&manager),
        "set_player_strategy",
        &json!({"player_id": -5, "strategy": "fair"}).to_string(),
    )
    .await;
    assert_eq!(status, 404, "{refusal}");
    let (status, _) = rpc(Some(&manager), "set_player_strategy", &set("fair")).await;
    assert_eq!(status, 200);
    assert_eq!(strategy().await, "fair");
}
