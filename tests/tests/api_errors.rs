//! Bad input to the API gets a precise 4xx with a message that says what is wrong, and
//! changes nothing.

use cosound_e2e::{new_player, new_song, new_user, player_token, rpc, superuser};
use serde_json::{json, Value};

/// Calls each function with its body and asserts the status and that the message mentions
/// what it should.
async fn all_bad(token: &str, cases: &[(&str, Value, u16, &str)]) {
    for (function, body, status, says) in cases {
        let (answer, error) = rpc(Some(token), function, &body.to_string()).await;
        assert_eq!(answer, *status, "{function} {body}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(says),
            "{function} {body}: the message should mention {says:?}: {error}"
        );
    }
}

#[tokio::test]
async fn a_listeners_mistakes_get_clear_errors() {
    let db = superuser().await;
    let (id, me) = new_user(&db, &[]).await;
    let player = new_player(&db, None).await;
    let song = new_song(&db, "soundscape", "[0,0,0,1,0]").await;
    let votes = || async {
        let row = db
            .query_one(
                "select count(*) from cosound.votes where listener_id = $1::text::uuid",
                &[&id],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };

    all_bad(
        &me,
        &[
            ("check_in", json!({}), 400, "either player_id or code"),
            (
                "check_in",
                json!({"player_id": player, "code": "ABCDEF"}),
                400,
                "not both",
            ),
            (
                "check_in",
                json!({"player_id": i64::MAX}),
                404,
                "no player with id",
            ),
            (
                "check_in",
                json!({"code": "NO-SUCH-CODE"}),
                404,
                "no player has this check-in code",
            ),
            ("rate", json!({"rating": 5}), 409, "not checked in"),
            (
                "rate",
                json!({"rating": 0, "song_id": song}),
                400,
                "from 1 to 5",
            ),
            (
                "rate",
                json!({"rating": 6, "song_id": song}),
                400,
                "from 1 to 5",
            ),
            (
                "rate",
                json!({"rating": "five", "song_id": song}),
                400,
                "integer",
            ),
            (
                "rate",
                json!({"rating": 4.5, "song_id": song}),
                400,
                "integer",
            ),
            (
                "rate",
                json!({"rating": 3, "song_id": i64::MAX}),
                404,
                "no song with id",
            ),
        ],
    )
    .await;
    assert_eq!(votes().await, 0, "no refused rating was stored");

    all_bad(
        &me,
        &[
            ("survey", json!({"rain": 1.5, "sea_waves": 0, "thunderstorm": 0, "wind": 0, "crackling_fire": 0}), 400, "from 0 to 1"),
            ("survey", json!({"rain": "NaN", "sea_waves": 0, "thunderstorm": 0, "wind": 0, "crackling_fire": 0}), 400, "must be finite"),
            ("survey", json!({"rain": 0, "sea_waves": 0, "thunderstorm": 0, "wind": 0, "crackling_fire": 0}), 400, "points nowhere"),
        ],
    )
    .await;
    let (status, error) = rpc(Some(&me), "survey", &json!({"rain": 1}).to_string()).await;
    assert_eq!(
        status, 404,
        "a survey with answers missing names the function it looked for: {error}"
    );

    all_bad(
        &me,
        &[
            (
                "my_recommendations",
                json!({"k": 5}),
                409,
                "rate a few sounds or take the survey",
            ),
            ("my_recommendations", json!({"k": 0}), 400, "from 1 to 100"),
            (
                "set_display_name",
                json!({"display_name": "x".repeat(41)}),
                400,
                "display_name",
            ),
        ],
    )
    .await;
    let taste: Option<String> = db
        .query_one(
            "select preference::text from cosound.profiles where id = $1::text::uuid",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(taste, None, "no refused survey set a taste");
}

#[tokio::test]
async fn a_token_whose_user_is_gone_is_refused() {
    let db = superuser().await;
    let (id, me) = new_user(&db, &[]).await;
    db.execute("delete from auth.users where id = $1::text::uuid", &[&id])
        .await
        .unwrap();
    all_bad(&me, &[("check_out", json!({}), 401, "no account")]).await;
}

#[tokio::test]
async fn management_mistakes_get_clear_errors() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let player = new_player(&db, None).await;
    all_bad(
        &admin,
        &[
            (
                "create_player",
                json!({"name": "   "}),
                400,
                "name is 1 to 100 characters",
            ),
            (
                "create_player",
                json!({"name": "Hall", "manager_email": "nobody@example.test"}),
                404,
                "no user with the e-mail address",
            ),
            (
                "rename_player",
                json!({"player_id": i64::MAX, "name": "Hall"}),
                404,
                "no player with id",
            ),
            (
                "add_to_library",
                json!({"player_id": player, "song_ids": [i64::MAX]}),
                404,
                "no song with id",
            ),
            (
                "add_to_library",
                json!({"player_id": player, "song_ids": []}),
                400,
                "list of song ids",
            ),
            (
                "revoke_checkin_code",
                json!({"code": "NOPE-NOPE"}),
                404,
                "no check-in code",
            ),
            (
                "grant_role",
                json!({"email": "nobody@example.test", "role": "admin"}),
                404,
                "no user",
            ),
            (
                "grant_role",
                json!({"email": "nobody@example.test", "role": "boss"}),
                400,
                "staff_role",
            ),
            (
                "update_song",
                json!({"song_id": i64::MAX, "title": "x"}),
                404,
                "no song with id",
            ),
            (
                "delete_player",
                json!({"player_id": i64::MAX}),
                404,
                "no player with id",
            ),
        ],
    )
    .await;
    let named: i64 = db
        .query_one(
            "select count(*) from cosound.players where btrim(name) in ('Hall', '')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(named, 0, "no refused player was created");
    let library: i64 = db
        .query_one(
            "select count(*) from cosound.player_library where player_id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(library, 0, "a refused library change added nothing");
}

#[tokio::test]
async fn a_devices_mistakes_get_clear_errors() {
    let db = superuser().await;
    let player = new_player(&db, None).await;
    let song = new_song(&db, "soundscape", "[0,0,0,0,1]").await;
    let device = player_token(player);
    all_bad(
        &device,
        &[
            (
                "report_play",
                json!({"song_id": song, "event": "paused"}),
                400,
                "start, end or failed",
            ),
            (
                "report_play",
                json!({"song_id": i64::MAX, "event": "start"}),
                404,
                "no song with id",
            ),
            (
                "report_play",
                json!({"song_id": song, "event": "end"}),
                409,
                "not reported as started",
            ),
        ],
    )
    .await;
    let plays: i64 = db
        .query_one(
            "select count(*) from cosound.plays where player_id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(plays, 0);
}
