//! The queue follows activity: a notification on `cosound_activity` (as check-in, check-out
//! and ratings send) refreshes that player's queue within 2 s, with the 30-s clock held off.

use cosound_e2e::{new_player, new_song, superuser};
use std::time::{Duration, Instant};

#[tokio::test]
async fn activity_refreshes_the_players_queue_within_two_seconds_without_the_clock() {
    let db = superuser().await;
    new_song(&db, "soundscape", "[0.9,0.1,0,0,0]").await;
    let player = new_player(&db, None).await;
    let bystander = new_player(&db, None).await;

    // Holding the advisory lock of the refresh of all queues keeps every gateway's clock off.
    let clock = superuser().await;
    clock
        .batch_execute(
            "begin; select pg_advisory_xact_lock(hashtext('cosound.refresh_all_queues'))",
        )
        .await
        .unwrap();

    let queued = |id: i64| {
        let db = &db;
        async move {
            let count: i64 = db
                .query_one(
                    "select count(*) from cosound.player_queue where player_id = $1",
                    &[&id],
                )
                .await
                .unwrap()
                .get(0);
            count
        }
    };
    assert_eq!(queued(player).await, 0, "a new player has no queue yet");

    let sent = Instant::now();
    db.execute(
        "select pg_notify('cosound_activity', $1)",
        &[&player.to_string()],
    )
    .await
    .unwrap();
    while queued(player).await == 0 {
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "the queue was not refreshed within 2 s of the notification"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        queued(bystander).await,
        0,
        "only the notified player was refreshed"
    );
    clock.batch_execute("rollback").await.unwrap();
}
