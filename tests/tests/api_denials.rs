//! The refusals of the API, through PostgREST: anonymous callers, bad tokens, one listener
//! reaching for another's data, a manager for another manager's player, a device for another
//! device's queue, and non-admins managing songs or roles. Every write is refused with its
//! status and leaves the database exactly as it was; every read shows none of the other
//! party's rows.

use cosound_e2e::{
    column, get, listener_claims, new_player, new_song, new_user, now, player_token, rpc, sign,
    superuser, token,
};
use serde_json::{json, Value};

/// Two listeners, two managers with a player each (with a library, a check-in code, a queue
/// and a play), an admin, and a song.
struct World {
    db: tokio_postgres::Client,
    listener_a: String,
    listener_b: (String, String),
    manager_1: String,
    manager_2: (String, String),
    player_1: i64,
    player_2: i64,
    code_2: String,
    song: i64,
    users: Vec<String>,
}

async fn world() -> World {
    let db = superuser().await;
    let (a, listener_a) = new_user(&db, &[]).await;
    let listener_b = new_user(&db, &[]).await;
    let (m1, manager_1) = new_user(&db, &["manager"]).await;
    let manager_2 = new_user(&db, &["manager"]).await;
    let player_1 = new_player(&db, Some(&m1)).await;
    let player_2 = new_player(&db, Some(&manager_2.0)).await;
    let song = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    new_song(&db, "instrumental", "[0.9,0.1,0,0,0]").await;
    let code_2 = format!("CODE-{player_2}-TWO");
    db.execute(
        "insert into cosound.checkin_codes (code, player_id) values ($1, $2)",
        &[&code_2, &player_2],
    )
    .await
    .unwrap();
    for player in [player_1, player_2] {
        db.execute(
            "insert into cosound.player_library (player_id, song_id) values ($1, $2)",
            &[&player, &song],
        )
        .await
        .unwrap();
        db.execute(
            "insert into cosound.plays (player_id, song_id) values ($1, $2)",
            &[&player, &song],
        )
        .await
        .unwrap();
        db.execute("select extensions.refresh_queue($1)", &[&player])
            .await
            .unwrap();
    }
    // Listener B has a session and a vote at player 2.
    db.execute(
        "select cosound.check_in($1::text::uuid, $2)",
        &[&listener_b.0, &player_2],
    )
    .await
    .unwrap();
    db.execute(
        "insert into cosound.votes (listener_id, song_id, player_id, rating)
         values ($1::text::uuid, $2, $3, 5)",
        &[&listener_b.0, &song, &player_2],
    )
    .await
    .unwrap();
    let users = vec![a, listener_b.0.clone(), m1, manager_2.0.clone()];
    World {
        db,
        listener_a,
        listener_b,
        manager_1,
        manager_2,
        player_1,
        player_2,
        code_2,
        song,
        users,
    }
}

impl World {
    /// Everything the world's users and players own, as one text: equal before and after
    /// means nothing changed.
    async fn state(&self) -> String {
        self.db
            .query_one(
                "select concat_ws(' | ',
                   (select string_agg(p::text, ',' order by id) from cosound.players p where id = any ($1)),
                   (select string_agg(l::text, ',' order by player_id, song_id) from cosound.player_library l where player_id = any ($1)),
                   (select string_agg(c::text, ',' order by code) from cosound.checkin_codes c where player_id = any ($1)),
                   (select string_agg(q::text, ',' order by player_id, slot) from cosound.player_queue q where player_id = any ($1)),
                   (select string_agg(p::text, ',' order by id) from cosound.plays p where player_id = any ($1)),
                   (select string_agg(f::text, ',' order by id) from cosound.play_failures f where player_id = any ($1)),
                   (select string_agg(s::text, ',' order by id) from cosound.sessions s where listener_id = any ($2::text[]::uuid[])),
                   (select string_agg(v::text, ',' order by id) from cosound.votes v where listener_id = any ($2::text[]::uuid[])),
                   (select string_agg(p::text, ',' order by id) from cosound.profiles p where id = any ($2::text[]::uuid[])),
                   (select string_agg(s::text, ',' order by user_id, role) from cosound.staff s where user_id = any ($2::text[]::uuid[])),
                   (select s::text from cosound.songs s where id = $3))",
                &[&vec![self.player_1, self.player_2], &self.users, &self.song],
            )
            .await
            .unwrap()
            .get(0)
    }
}

/// Calls each function with its body and asserts the refusal's status, a message, and that
/// nothing changed.
async fn all_refused(world: &World, who: Option<&str>, cases: &[(&str, Value, u16)]) {
    for (function, body, status) in cases {
        let before = world.state().await;
        let (answer, error) = rpc(who, function, &body.to_string()).await;
        assert_eq!(answer, *status, "{function} {body}: {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{function}: a refusal says why: {error}"
        );
        assert_eq!(
            world.state().await,
            before,
            "{function} {body} changed something"
        );
    }
}

/// Reads `path` and returns its rows, asserting a 200.
async fn rows(who: &str, path: &str) -> Vec<Value> {
    let (status, body) = get(Some(who), path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body.as_array().cloned().unwrap()
}

#[tokio::test]
async fn anonymous_callers_get_401_and_change_nothing() {
    let w = world().await;
    for path in [
        "songs",
        "players",
        "my_profile",
        "my_votes",
        "player_queue",
        "checkin_codes",
        "staff",
    ] {
        let (status, body) = get(None, path).await;
        assert_eq!(status, 401, "anonymous GET {path}: {body}");
    }
    let code = w.code_2.clone();
    all_refused(
        &w,
        None,
        &[
            ("check_in", json!({ "code": code }), 401),
            ("rate", json!({"rating": 5, "song_id": w.song}), 401),
            ("create_player", json!({"name": "mine now"}), 401),
            ("heartbeat", json!({}), 401),
        ],
    )
    .await;
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_get_401() {
    let w = world().await;
    let (id, _) = new_user(&w.db, &[]).await;
    let forged = sign(&listener_claims(&id), "not-the-secret-of-this-stack-at-all");
    let mut expired = listener_claims(&id);
    expired["exp"] = json!(now() - 60);
    let mut foreign = listener_claims(&id);
    foreign["aud"] = json!("some-other-service");
    for bad in [forged, token(&expired), token(&foreign)] {
        let (status, body) = get(Some(&bad), "my_profile").await;
        assert_eq!(status, 401, "{body}");
        all_refused(
            &w,
            Some(&bad),
            &[("check_in", json!({ "player_id": w.player_2 }), 401)],
        )
        .await;
    }
}

#[tokio::test]
async fn a_listener_sees_none_of_another_listeners_data() {
    let w = world().await;
    let a = &w.listener_a;
    let b_id = &w.listener_b.0;
    assert!(rows(a, "my_votes").await.is_empty(), "B's vote");
    assert!(rows(a, "my_sessions").await.is_empty(), "B's session");
    let profiles = rows(a, "my_profile").await;
    assert_eq!(profiles.len(), 1);
    assert_ne!(&profiles[0]["id"], b_id);
    let me = rows(&w.listener_b.1, "my_profile").await;
    assert_eq!(&me[0]["id"], b_id, "B sees their own profile");
    assert!(
        rows(a, "checkin_codes").await.is_empty(),
        "codes are for managers"
    );
    assert!(rows(a, "play_history").await.is_empty());
    assert!(rows(a, "staff").await.is_empty());
    let path = format!("player_queue?player_id=eq.{}", w.player_2);
    assert!(rows(a, &path).await.is_empty(), "not checked in there");
    assert!(
        !rows(&w.listener_b.1, &path).await.is_empty(),
        "B is checked in there"
    );
}

#[tokio::test]
async fn listeners_cannot_manage_players_songs_or_roles() {
    let w = world().await;
    let a = Some(w.listener_a.as_str());
    let a_id = w.users[0].clone();
    all_refused(
        &w,
        a,
        &[
            ("create_player", json!({"name": "my own room"}), 403),
            (
                "grant_role",
                json!({"email": format!("{a_id}@example.test"), "role": "admin"}),
                403,
            ),
            (
                "update_song",
                json!({"song_id": w.song, "title": "renamed"}),
                403,
            ),
            (
                "add_to_library",
                json!({"player_id": w.player_2, "song_ids": [w.song]}),
                403,
            ),
            ("new_checkin_code", json!({"player_id": w.player_2}), 403),
            // 404, as for a code that does not exist: the answer tells no one it is real.
            ("revoke_checkin_code", json!({"code": w.code_2}), 404),
            ("delete_player", json!({"player_id": w.player_2}), 403),
            ("heartbeat", json!({}), 403),
            (
                "report_play",
                json!({"song_id": w.song, "event": "start"}),
                403,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_manager_cannot_touch_another_managers_player() {
    let w = world().await;
    let m1 = Some(w.manager_1.as_str());
    let p2 = w.player_2;
    all_refused(
        &w,
        m1,
        &[
            (
                "rename_player",
                json!({"player_id": p2, "name": "taken"}),
                403,
            ),
            (
                "add_to_library",
                json!({"player_id": p2, "song_ids": [w.song]}),
                403,
            ),
            (
                "remove_from_library",
                json!({"player_id": p2, "song_ids": [w.song]}),
                403,
            ),
            ("new_checkin_code", json!({"player_id": p2}), 403),
            // 404, as for a code that does not exist: the answer tells no one it is real.
            ("revoke_checkin_code", json!({"code": w.code_2}), 404),
            ("delete_player", json!({"player_id": w.player_1}), 403),
        ],
    )
    .await;
    let email_2 = format!("{}@example.test", w.manager_2.0);
    all_refused(
        &w,
        m1,
        &[
            (
                "create_player",
                json!({"name": "for you", "manager_email": email_2}),
                403,
            ),
            (
                "grant_role",
                json!({"email": email_2, "role": "admin"}),
                403,
            ),
            (
                "set_player_manager",
                json!({"player_id": p2, "manager_email": email_2}),
                403,
            ),
        ],
    )
    .await;
    let manager_1 = w.manager_1.as_str();
    for view in [
        "checkin_codes",
        "player_queue",
        "player_library",
        "play_history",
    ] {
        let theirs = rows(manager_1, &format!("{view}?player_id=eq.{p2}")).await;
        assert!(
            theirs.is_empty(),
            "{view} of another manager's player: {theirs:?}"
        );
        let mine = rows(manager_1, &format!("{view}?player_id=eq.{}", w.player_1)).await;
        assert!(
            view == "checkin_codes" || !mine.is_empty(),
            "{view} of their own player"
        );
    }
    assert!(
        rows(&w.manager_2.1, &format!("checkin_codes?player_id=eq.{p2}"))
            .await
            .len()
            == 1,
        "the other manager sees their own code"
    );
}

#[tokio::test]
async fn a_device_reads_only_its_own_queue_and_cannot_act_as_a_listener() {
    let w = world().await;
    let device = player_token(w.player_1);
    for view in ["player_queue", "player_library", "play_history"] {
        let all = rows(&device, view).await;
        assert!(!all.is_empty(), "its own {view}");
        assert!(
            all.iter().all(|row| row["player_id"] == w.player_1),
            "{view} shows another player's rows: {all:?}"
        );
    }
    let d = Some(device.as_str());
    all_refused(
        &w,
        d,
        &[
            ("rate", json!({"rating": 1, "song_id": w.song}), 403),
            ("check_in", json!({"player_id": w.player_2}), 403),
            ("create_player", json!({"name": "device-made"}), 403),
        ],
    )
    .await;
    let (status, body) = get(d, "my_profile").await;
    assert_eq!(status, 403, "{body}");
    let gone = player_token(i64::MAX);
    all_refused(&w, Some(&gone), &[("heartbeat", json!({}), 404)]).await;
}

#[tokio::test]
async fn an_admin_cannot_remove_their_own_admin_role() {
    let w = world().await;
    let (id, admin) = new_user(&w.db, &["admin"]).await;
    let before: i64 =
        w.db.query_one(
            "select count(*) from cosound.staff where user_id = $1::text::uuid",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    let (status, body) = rpc(
        Some(&admin),
        "revoke_role",
        &json!({"email": format!("{id}@example.test"), "role": "admin"}).to_string(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let after: i64 =
        w.db.query_one(
            "select count(*) from cosound.staff where user_id = $1::text::uuid",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(before, after);
}

#[tokio::test]
async fn every_table_has_row_level_security_and_every_view_runs_as_its_caller() {
    let db = superuser().await;
    let unguarded: Vec<String> = column(
        &db,
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname in ('cosound', 'api') and c.relkind in ('r', 'p')
                and not c.relrowsecurity order by 1",
        &[],
    )
    .await;
    assert!(
        unguarded.is_empty(),
        "tables without row-level security: {unguarded:?}"
    );
    let owner_views: Vec<String> = column(
        &db,
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'api' and c.relkind = 'v'
                and not coalesce('security_invoker=true' = any (c.reloptions), false)
              order by 1",
        &[],
    )
    .await;
    assert!(
        owner_views.is_empty(),
        "API views that bypass row-level security: {owner_views:?}"
    );
}
