//! Why this mix, through the API: a room's manager reads why each queue version was made and
//! how each item fits; a listener reads only how close the mix is to their own taste.

use cosound_e2e::{
    check_in_with_taste, get, new_player, new_song, new_user, player_token, superuser,
};
use serde_json::Value;

async fn refresh(db: &tokio_postgres::Client, player: i64) {
    db.execute("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap();
}

/// A managed room with a rain and a fire soundscape in its library: (manager id, manager
/// token, player, rain, fire).
async fn room(db: &tokio_postgres::Client) -> (String, String, i64, i64, i64) {
    let (manager_id, manager) = new_user(db, &["manager"]).await;
    let player = new_player(db, Some(&manager_id)).await;
    let rain = new_song(db, "soundscape", "[1,0,0,0,0]").await;
    let fire = new_song(db, "soundscape", "[0,0,0,0,1]").await;
    db.execute(
        "insert into cosound.player_library (player_id, song_id) values ($1, $2), ($1, $3)",
        &[&player, &rain, &fire],
    )
    .await
    .unwrap();
    (manager_id, manager, player, rain, fire)
}

#[tokio::test]
async fn the_manager_reads_why_each_version_was_made_and_how_each_item_fits() {
    let db = superuser().await;
    let (_, manager, player, rain, fire) = room(&db).await;
    // Nobody there: the calm default (rain and waves) hears rain only.
    refresh(&db, player).await;
    check_in_with_taste(&db, player, "[0,0,0,0,1]").await;
    refresh(&db, player).await;
    check_in_with_taste(&db, player, "[1,0,0,0,0]").await;
    refresh(&db, player).await;

    let (status, versions) = get(
        Some(&manager),
        &format!("queue_versions?player_id=eq.{player}&order=version"),
    )
    .await;
    assert_eq!(status, 200, "{versions}");
    let why: Vec<(&str, i64, &str)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["trigger"].as_str().unwrap(),
                v["listeners"].as_i64().unwrap(),
                v["layer_change"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        why,
        [
            ("first", 0, "whole"),
            ("check_in", 1, "whole"),
            ("check_in", 2, "added")
        ]
    );
    let last = &versions[2];
    assert_eq!(
        (&last["layer_in"], &last["layer_out"]),
        (&rain.into(), &Value::Null)
    );

    let (status, items) = get(
        Some(&manager),
        &format!(
            "queue_version_items?player_id=eq.{player}&version=eq.{}&order=slot",
            last["version"]
        ),
    )
    .await;
    assert_eq!(status, 200, "{items}");
    let songs: Vec<i64> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["song_id"].as_i64().unwrap())
        .collect();
    assert_eq!(songs.len(), 2);
    assert!(songs.contains(&rain) && songs.contains(&fire));
    for item in items.as_array().unwrap() {
        let fit = item["fit"].as_f64().unwrap();
        assert!(
            (fit - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-4,
            "each fits the room of one rain and one fire lover alike: {item}"
        );
        assert!(item["penalty"].as_f64().unwrap() < 0.01, "neither played");
        assert!(item["title"].as_str().unwrap().starts_with("song "));
    }
}

#[tokio::test]
async fn nobody_but_the_rooms_manager_reads_its_versions() {
    let db = superuser().await;
    let (_, _, player, _, _) = room(&db).await;
    let (_, listener) = check_in_with_taste(&db, player, "[1,0,0,0,0]").await;
    refresh(&db, player).await;
    let (_, other_manager) = new_user(&db, &["manager"]).await;
    for view in ["queue_versions", "queue_version_items"] {
        let path = format!("{view}?player_id=eq.{player}");
        for (who, token) in [
            ("a listener in the room", listener.as_str()),
            ("another room's manager", other_manager.as_str()),
        ] {
            let (status, rows) = get(Some(token), &path).await;
            assert_eq!((status, rows.clone()), (200, Value::Array(vec![])), "{who}");
        }
        let (status, refusal) = get(Some(&player_token(player)), &path).await;
        assert_eq!(status, 403, "the room's own device: {refusal}");
        let (status, _) = get(None, &path).await;
        assert_eq!(status, 401, "anyone without a token");
    }
}

#[tokio::test]
async fn a_listener_reads_their_own_share_of_the_mix_and_nothing_of_anyone_else() {
    let db = superuser().await;
    let (_, _, player, _, _) = room(&db).await;
    let (_, rain_lover) = check_in_with_taste(&db, player, "[1,0,0,0,0]").await;
    let (_, leaning) = check_in_with_taste(&db, player, "[0.8,0,0,0,0.6]").await;
    refresh(&db, player).await;
    let share = |token: String| async move {
        let (status, rows) = get(Some(&token), "my_share").await;
        assert_eq!(status, 200, "{rows}");
        rows
    };
    let mine = share(rain_lover.clone()).await;
    let theirs = share(leaning).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let mut keys: Vec<&String> = mine[0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["fit", "listeners", "player_id", "version"]);
    assert_eq!(mine[0]["listeners"], 2);
    // The mix leans to rain, so fire plays too softly to count: rain alone.
    let (a, b) = (
        mine[0]["fit"].as_f64().unwrap(),
        theirs[0]["fit"].as_f64().unwrap(),
    );
    assert!((a - 1.0).abs() < 1e-4 && (b - 0.8).abs() < 1e-4, "{a} {b}");

    let (_, outside) = new_user(&db, &[]).await;
    assert_eq!(share(outside).await, Value::Array(vec![]), "not checked in");
    let (status, _) = get(None, "my_share").await;
    assert_eq!(status, 401);
}
