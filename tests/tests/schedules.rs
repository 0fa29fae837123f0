//! Schedules through the API: a manager sets a room's time blocks and time zone, the device
//! plays under the block's volume cap, bad schedules are refused with the rule and change
//! nothing, and nobody else may read or set them.

use cosound_e2e::player::{play_from, player_with_key, upload_tone, Player};
use cosound_e2e::{get, new_player, new_song, new_user, player_token, rpc, superuser};
use serde_json::{json, Value};
use std::time::Duration;

const POLL: Duration = Duration::from_secs(1);

async fn set_schedule(token: &str, player: i64, blocks: Value) -> (u16, Value) {
    rpc(
        Some(token),
        "set_player_schedule",
        &json!({"player_id": player, "blocks": blocks}).to_string(),
    )
    .await
}

#[test]
fn the_device_plays_under_the_volume_cap_of_the_block_in_force() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (player, key, admin) = rt.block_on(async {
        let db = superuser().await;
        let (_, admin) = new_user(&db, &["admin"]).await;
        let tone = upload_tone(&admin, 220.0).await;
        let (player, key) = player_with_key(&db, &admin).await;
        play_from(&db, player, &[tone]).await;
        (player, key, admin)
    });
    let mut device = Player::start(&key, POLL);
    device.render(8.0);
    let full = device.tone_at(7.5, 220.0);
    assert!(full > 0.01, "the tone plays ({full})");

    // Quiet hours all week, all day: whatever the day and time the test runs at.
    rt.block_on(async {
        let (status, answer) = set_schedule(
            &admin,
            player,
            json!([{"days": [1, 2, 3, 4, 5, 6, 7], "from": "00:00", "to": "24:00",
                    "volume_cap": 0.25, "instrumentals": false}]),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let (status, queue) = get(Some(&player_token(player)), "player_queue").await;
        assert_eq!(status, 200, "{queue}");
        assert_eq!(queue[0]["volume_cap"], 0.25, "the device reads its cap");
    });
    let capped_at = device.elapsed();
    device.render(10.0);
    let quiet = device.tone_at(capped_at + 9.0, 220.0);
    assert!(
        (quiet / full - 0.25).abs() < 0.02,
        "under the cap the tone plays at a quarter: {quiet} of {full}"
    );
    // The cap fades in over the cross-fade rather than cutting.
    let midway = device.tone_at(capped_at + POLL.as_secs_f64() + 2.0, 220.0);
    assert!(midway < full * 0.99 && midway > quiet * 1.05, "{midway}");
}

#[tokio::test]
async fn bad_schedules_are_refused_with_the_rule_and_change_nothing() {
    let db = superuser().await;
    let (manager_id, manager) = new_user(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let song = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    let good = json!([
        {"days": [1, 2, 3, 4, 5], "from": "08:00", "to": "12:00", "volume_cap": 0.5},
        {"days": [6, 7], "from": "22:00", "to": "24:00", "volume_cap": 0.1,
         "instrumentals": false, "library": [song]},
    ]);
    let (status, answer) = set_schedule(&manager, player, good).await;
    assert_eq!((status, &answer["blocks"]), (200, &json!(2)), "{answer}");
    let schedule = || async {
        let (status, rows) = get(
            Some(&manager),
            &format!("player_schedule?player_id=eq.{player}&order=id"),
        )
        .await;
        assert_eq!(status, 200, "{rows}");
        rows.as_array()
            .unwrap()
            .iter()
            .map(|b| {
                json!([
                    b["days"],
                    b["from"],
                    b["to"],
                    b["volume_cap"],
                    b["instrumentals"],
                    b["library"]
                ])
            })
            .collect::<Vec<_>>()
    };
    let before = schedule().await;
    assert_eq!(
        before,
        [
            json!([[1, 2, 3, 4, 5], "08:00", "12:00", 0.5, true, []]),
            json!([[6, 7], "22:00", "24:00", 0.1, false, [song]]),
        ]
    );

    let block = |changes: Value| {
        let mut block = json!({"days": [1], "from": "13:00", "to": "14:00"});
        for (k, v) in changes.as_object().unwrap() {
            block[k] = v.clone();
        }
        block
    };
    for (blocks, status, message, details) in [
        (
            json!([block(json!({})), {"days": [3, 1], "from": "11:00", "to": "13:30"}]),
            400,
            "time blocks on the same day may not overlap",
            "11:00-13:30 on days {1,3} overlaps 13:00-14:00 on days {1}",
        ),
        (
            json!([block(json!({"from": "18:00", "to": "09:00"}))]),
            400,
            "a block ends after it starts (a block over midnight is two blocks)",
            "block 1: from 18:00 to 09:00",
        ),
        (
            json!([block(json!({"volume_cap": 1.5}))]),
            400,
            "a volume cap is a number from 0 to 1",
            "block 1: volume_cap 1.5",
        ),
        (
            json!([block(json!({"volume_cap": "loud"}))]),
            400,
            "a volume cap is a number from 0 to 1",
            "block 1: volume_cap \"loud\"",
        ),
        (
            json!([block(json!({"days": [0, 8]}))]),
            400,
            "a block's days are ISO weekdays, 1 (Monday) to 7 (Sunday)",
            "block 1: days [0, 8]",
        ),
        (
            json!([block(json!({"from": "25:00"}))]),
            400,
            "a block has a from and a to, each a time of day as HH:MM",
            "block 1: from \"25:00\"",
        ),
        (
            json!({"days": [1]}),
            400,
            "a schedule is a JSON array of time blocks",
            "blocks: '{\"days\": [1]}'",
        ),
        (
            json!([block(json!({"library": [-3]}))]),
            400,
            "a block's library is an array of song ids",
            "block 1: library '[-3]'",
        ),
        (
            json!([block(json!({"library": [9_000_000_000_i64]}))]),
            404,
            "no song with id 9000000000",
            "",
        ),
    ] {
        let (got, refusal) = set_schedule(&manager, player, blocks.clone()).await;
        assert_eq!(got, status, "{blocks}: {refusal}");
        assert_eq!(refusal["message"], message, "{blocks}");
        if !details.is_empty() {
            assert_eq!(refusal["details"], details, "{blocks}");
        }
        assert_eq!(schedule().await, before, "{blocks} changed nothing");
    }

    let zone = |time_zone: &str| json!({"player_id": player, "time_zone": time_zone}).to_string();
    let (status, refusal) = rpc(
        Some(&manager),
        "set_player_time_zone",
        &zone("Mars/Olympus"),
    )
    .await;
    assert_eq!(status, 400, "{refusal}");
    assert_eq!(
        refusal["message"],
        "a time zone is a name from the IANA database, such as Europe/Paris"
    );
    assert_eq!(refusal["details"], "time_zone: 'Mars/Olympus'");
    let (status, answer) = rpc(
        Some(&manager),
        "set_player_time_zone",
        &zone("Europe/Paris"),
    )
    .await;
    assert_eq!(
        (status, &answer["time_zone"]),
        (200, &json!("Europe/Paris"))
    );
    let (_, rooms) = get(Some(&manager), &format!("players?id=eq.{player}")).await;
    assert_eq!(rooms[0]["time_zone"], "Europe/Paris");

    let (status, _) = set_schedule(&manager, player, json!([])).await;
    assert_eq!(status, 200);
    assert!(schedule().await.is_empty(), "[] clears the schedule");
}

#[tokio::test]
async fn only_the_rooms_manager_reads_or_sets_its_schedule() {
    let db = superuser().await;
    let (manager_id, manager) = new_user(&db, &["manager"]).await;
    let (_, other_manager) = new_user(&db, &["manager"]).await;
    let (_, listener) = new_user(&db, &[]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let quiet = json!([{"days": [1], "from": "09:00", "to": "10:00", "volume_cap": 0.2}]);
    let (status, _) = set_schedule(&manager, player, quiet.clone()).await;
    assert_eq!(status, 200);
    let device = player_token(player);

    for (who, token, expected) in [
        ("a listener", Some(listener.as_str()), 403),
        ("another room's manager", Some(other_manager.as_str()), 403),
        ("the room's own device", Some(device.as_str()), 403),
        ("anyone without a token", None, 401),
    ] {
        let body = json!({"player_id": player, "blocks": []}).to_string();
        let (status, refusal) = rpc(token, "set_player_schedule", &body).await;
        assert_eq!(status, expected, "{who}: {refusal}");
        let body = json!({"player_id": player, "time_zone": "UTC"}).to_string();
        let (status, refusal) = rpc(token, "set_player_time_zone", &body).await;
        assert_eq!(status, expected, "{who}: {refusal}");
    }
    let path = format!("player_schedule?player_id=eq.{player}");
    for (who, token) in [
        ("a listener", &listener),
        ("another manager", &other_manager),
    ] {
        let (status, rows) = get(Some(token), &path).await;
        assert_eq!((status, rows), (200, json!([])), "{who} reads nothing");
    }
    let (status, _) = get(Some(&device), &path).await;
    assert_eq!(status, 403, "the device reads its cap with its queue only");
    let (_, rows) = get(Some(&manager), &path).await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "nothing was cleared");

    let (status, refusal) = set_schedule(&manager, -4, quiet).await;
    assert_eq!(status, 404, "{refusal}");
}
