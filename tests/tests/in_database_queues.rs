//! Queue refreshes as other connections see them: a change bumps the queue's version and no
//! other refresh does, a reader never sees a half-written queue, and refreshing all queues
//! leaves a player being refreshed elsewhere to that refresh.

use cosound_e2e::{column, superuser};
use tokio::sync::Mutex;

/// The tests that count what one refresh changed take turns with those refreshing every queue.
static REFRESHES: Mutex<()> = Mutex::const_new(());

/// The version of the player's queue, as its device reads it with the queue (0: none yet).
async fn version(db: &tokio_postgres::Client, player: i64) -> i64 {
    db.query_one(
        "select coalesce((select version from cosound.queue_state where player_id = $1), 0)",
        &[&player],
    )
    .await
    .unwrap()
    .get(0)
}

/// The titles in the player's queue, in slot order.
async fn titles(db: &tokio_postgres::Client, player: i64) -> Vec<String> {
    column(
        db,
        "select s.title from cosound.player_queue q join cosound.songs s on s.id = q.song_id
          where q.player_id = $1 order by q.slot",
        &[&player],
    )
    .await
}

/// A player whose catalogue has two soundscapes and two instrumentals far apart, and two
/// listeners whose tastes pick different ones.
async fn a_player_with_two_moods(db: &tokio_postgres::Client) -> (i64, String, String) {
    let player: i64 = db
        .query_one(
            "insert into cosound.players (name) values ('queue test') returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    db.batch_execute(&format!(
        "with songs as (
           insert into cosound.songs (type, title, duration_ms, object_key, embedding)
           values ('soundscape', 'rain', 1000, 'q/' || gen_random_uuid(), '[1,0,0,0,0]'),
                  ('soundscape', 'fire', 1000, 'q/' || gen_random_uuid(), '[0,0,0,0,1]'),
                  ('instrumental', 'rainy piano', 1000, 'q/' || gen_random_uuid(), '[0.9,0.1,0,0,0]'),
                  ('instrumental', 'fireside guitar', 1000, 'q/' || gen_random_uuid(), '[0,0,0,0.1,0.9]')
           returning id)
         insert into cosound.player_library select {player}, id from songs"
    ))
    .await
    .unwrap();
    let mut listeners = Vec::new();
    for taste in ["[1,0,0,0,0]", "[0,0,0,0,1]"] {
        let id: String = db
            .query_one(
                "with u as (insert into auth.users default values returning id) select id::text from u",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        db.execute(
            "update cosound.profiles set preference = $2::text::extensions.vector where id = $1::text::uuid",
            &[&id, &taste],
        )
        .await
        .unwrap();
        listeners.push(id);
    }
    let fire = listeners.pop().unwrap();
    let rain = listeners.pop().unwrap();
    (player, rain, fire)
}

#[tokio::test]
async fn a_changed_queue_bumps_its_version_and_an_unchanged_one_does_not() {
    let _turn = REFRESHES.lock().await;
    let db = superuser().await;
    let (player, rain, _) = a_player_with_two_moods(&db).await;

    db.execute(
        "select cosound.check_in($1::text::uuid, $2)",
        &[&rain, &player],
    )
    .await
    .unwrap();
    let changed: bool = db
        .query_one("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap()
        .get(0);
    assert!(changed);
    assert_eq!(version(&db, player).await, 1);

    let unchanged: bool = db
        .query_one("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap()
        .get(0);
    assert!(!unchanged);
    assert_eq!(
        version(&db, player).await,
        1,
        "nothing changed, so no new version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_never_sees_a_half_written_queue() {
    let db = superuser().await;
    let (player, rain, fire) = a_player_with_two_moods(&db).await;
    let writer = tokio::spawn(async move {
        let mut db = superuser().await;
        for i in 0..100 {
            // One listener leaves as the other arrives, in one transaction: the room has one
            // mood at a time, also for the gateway, which refreshes on every check-in and out.
            let (arriving, leaving) = if i % 2 == 0 {
                (&rain, &fire)
            } else {
                (&fire, &rain)
            };
            let swap = db.transaction().await.unwrap();
            swap.execute("select cosound.check_out($1::text::uuid)", &[leaving])
                .await
                .unwrap();
            swap.execute(
                "select cosound.check_in($1::text::uuid, $2)",
                &[arriving, &player],
            )
            .await
            .unwrap();
            swap.commit().await.unwrap();
            db.execute("select extensions.refresh_queue($1)", &[&player])
                .await
                .unwrap();
        }
    });
    let reader = superuser().await;
    let mut moods = std::collections::HashSet::new();
    while !writer.is_finished() {
        let titles = titles(&reader, player).await;
        assert!(
            titles.is_empty()
                || titles == ["rain", "rainy piano"]
                || titles == ["fire", "fireside guitar"],
            "a queue mixing two refreshes: {titles:?}"
        );
        moods.insert(titles);
    }
    writer.await.unwrap();
    assert!(moods.len() >= 2, "the reader saw the queue change");
}

#[tokio::test]
async fn refreshing_all_queues_gives_each_changed_queue_one_version() {
    let _turn = REFRESHES.lock().await;
    let db = superuser().await;
    let (rainy_room, rain, _) = a_player_with_two_moods(&db).await;
    let (fiery_room, _, fire) = a_player_with_two_moods(&db).await;
    for (listener, player) in [(&rain, rainy_room), (&fire, fiery_room)] {
        db.execute(
            "select cosound.check_in($1::text::uuid, $2)",
            &[listener, &player],
        )
        .await
        .unwrap();
    }
    // The gateway may refresh a room on its check-in first: either way, one change each.
    db.query_one("select extensions.refresh_all_queues()", &[])
        .await
        .unwrap();
    for player in [rainy_room, fiery_room] {
        assert_eq!(version(&db, player).await, 1, "player {player}");
    }
    db.query_one("select extensions.refresh_all_queues()", &[])
        .await
        .unwrap();
    for player in [rainy_room, fiery_room] {
        assert_eq!(version(&db, player).await, 1, "unchanged, player {player}");
    }
    assert_eq!(titles(&db, rainy_room).await, ["rain", "rainy piano"]);
    assert_eq!(titles(&db, fiery_room).await, ["fire", "fireside guitar"]);
}

#[tokio::test]
async fn refreshing_all_queues_skips_a_player_being_refreshed_elsewhere() {
    let _turn = REFRESHES.lock().await;
    let db = superuser().await;
    let (player, rain, _) = a_player_with_two_moods(&db).await;
    let mut elsewhere = superuser().await;
    let refreshing = elsewhere.transaction().await.unwrap();
    refreshing
        .execute(
            "select from cosound.players where id = $1 for no key update",
            &[&player],
        )
        .await
        .unwrap();
    db.execute(
        "select cosound.check_in($1::text::uuid, $2)",
        &[&rain, &player],
    )
    .await
    .unwrap();

    db.batch_execute("set statement_timeout = '20s'")
        .await
        .unwrap();
    db.query_one("select extensions.refresh_all_queues()", &[])
        .await
        .expect("refreshing all waits for no other refresh");
    let state: i64 = db
        .query_one(
            "select count(*) from cosound.queue_state where player_id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, 0, "the locked player was left alone");
    assert!(titles(&db, player).await.is_empty());

    refreshing.rollback().await.unwrap();
    db.query_one("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap();
    assert_eq!(titles(&db, player).await, ["rain", "rainy piano"]);
}
