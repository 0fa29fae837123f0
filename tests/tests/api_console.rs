//! What the staff console reads beyond the listener's API (`sql/0016_api_management.sql`),
//! through PostgREST: who is checked in, the device keys' dates and the staff by e-mail. Each
//! shows a manager only their own players, an admin everything, a listener nothing, and never
//! more than it names.

use cosound_e2e::player::player_with_key;
use cosound_e2e::{get, new_player, new_user, rpc, superuser};
use serde_json::{json, Value};

fn players_in(rows: &Value) -> Vec<i64> {
    let mut players: Vec<i64> = rows
        .as_array()
        .unwrap_or_else(|| panic!("rows, got {rows}"))
        .iter()
        .map(|row| row["player_id"].as_i64().unwrap())
        .collect();
    players.sort_unstable();
    players.dedup();
    players
}

#[tokio::test]
async fn a_manager_sees_who_is_checked_in_at_their_players_only_and_by_name_only() {
    let db = superuser().await;
    let (m1, manager_1) = new_user(&db, &["manager"]).await;
    let (m2, _) = new_user(&db, &["manager"]).await;
    let mine = new_player(&db, Some(&m1)).await;
    let theirs = new_player(&db, Some(&m2)).await;
    let (named, here) = new_user(&db, &[]).await;
    let (_, there) = new_user(&db, &[]).await;
    db.execute(
        "update cosound.profiles set display_name = 'Nora' where id = $1::text::uuid",
        &[&named],
    )
    .await
    .unwrap();
    for (listener, player) in [(&here, mine), (&there, theirs)] {
        let (status, answer) = rpc(
            Some(listener),
            "check_in",
            &json!({ "player_id": player }).to_string(),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }

    let (status, rows) = get(Some(&manager_1), "rpc/checked_in").await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(
        players_in(&rows),
        [mine],
        "a manager sees their own room only"
    );
    let row = &rows[0];
    assert_eq!(row["display_name"], "Nora");
    let mut columns: Vec<&String> = row.as_object().unwrap().keys().collect();
    columns.sort();
    assert_eq!(
        columns,
        ["display_name", "expires_at", "player_id", "started_at"],
        "no id, e-mail or taste of the listener"
    );

    let (_, admin) = new_user(&db, &["admin"]).await;
    let (status, rows) = get(
        Some(&admin),
        &format!("rpc/checked_in?player_id=in.({mine},{theirs})"),
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(
        players_in(&rows),
        [mine, theirs],
        "an admin sees every room"
    );

    let (status, answer) = get(Some(&here), "rpc/checked_in").await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (
            403,
            Some("only an admin or a manager may see who is checked in")
        )
    );
    let (status, _) = get(None, "rpc/checked_in").await;
    assert_eq!(status, 401, "anonymous callers are refused");
}

#[tokio::test]
async fn device_key_dates_are_for_the_players_managers_and_never_show_the_key() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let (m1, manager_1) = new_user(&db, &["manager"]).await;
    let (keyed, _) = player_with_key(&db, &admin).await;
    db.execute(
        "update cosound.players set owner_id = $1::text::uuid where id = $2",
        &[&m1, &keyed],
    )
    .await
    .unwrap();
    let (other, _) = player_with_key(&db, &admin).await;

    let (status, rows) = get(
        Some(&manager_1),
        &format!("player_keys?player_id=in.({keyed},{other})"),
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(
        players_in(&rows),
        [keyed],
        "a manager sees their own player's key date"
    );
    assert!(rows[0]["issued_at"].is_string(), "{rows}");
    assert!(
        rows[0].get("key_hash").is_none(),
        "the hash is not in the view"
    );

    let (status, rows) = get(
        Some(&admin),
        &format!("player_keys?player_id=in.({keyed},{other})"),
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(players_in(&rows), {
        let mut both = [keyed, other];
        both.sort_unstable();
        both
    });

    let (_, listener) = new_user(&db, &[]).await;
    let (status, rows) = get(Some(&listener), "player_keys").await;
    assert_eq!((status, rows), (200, json!([])), "a listener sees no keys");

    // Not even through the private table: the hash's column is not granted.
    let readable: bool = db
        .query_one(
            "select has_column_privilege('authenticated', 'cosound.player_keys', 'key_hash', 'select')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!readable, "no API role may read a key's hash");
}

#[tokio::test]
async fn only_admins_see_the_staff_by_e_mail() {
    let db = superuser().await;
    let (admin_id, admin) = new_user(&db, &["admin"]).await;
    let (_, manager) = new_user(&db, &["manager"]).await;
    let (status, rows) = get(Some(&admin), "rpc/staff_members").await;
    assert_eq!(status, 200, "{rows}");
    let me = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["user_id"] == admin_id.as_str())
        .unwrap_or_else(|| panic!("the admin is listed: {rows}"));
    assert_eq!(me["email"], format!("{admin_id}@example.test"));
    assert_eq!(me["role"], "admin");

    let (status, answer) = get(Some(&manager), "rpc/staff_members").await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (403, Some("only an admin may do this"))
    );
}
