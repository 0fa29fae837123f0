//! Queue refreshes as other connections see them: a change is announced on the cosound_queue
//! channel after commit, and a reader never sees a half-written queue.

use cosound_e2e::superuser;
use std::time::Duration;
use tokio_postgres::AsyncMessage;

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
async fn a_changed_queue_is_announced_to_listeners() {
    let db = superuser().await;
    let (player, rain, _) = a_player_with_two_moods(&db).await;
    let conninfo = std::env::var("COSOUND_TEST_SUPERUSER_CONNINFO").unwrap();
    let (listener, mut connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message {
                let _ = tx.send((n.channel().to_string(), n.payload().to_string()));
            }
        }
    });
    listener
        .batch_execute("listen cosound_queue")
        .await
        .unwrap();

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
    let (channel, payload) = loop {
        let (channel, payload) =
            tokio::time::timeout(Duration::from_secs(10), notifications.recv())
                .await
                .expect("a notification within 10 s")
                .unwrap();
        if payload.contains(&format!("\"player_id\" : {player},")) {
            break (channel, payload);
        }
    };
    assert_eq!(channel, "cosound_queue");
    assert_eq!(
        payload,
        format!("{{\"player_id\" : {player}, \"version\" : 1}}")
    );

    let unchanged: bool = db
        .query_one("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap()
        .get(0);
    assert!(!unchanged, "nothing changed, so nothing is announced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_never_sees_a_half_written_queue() {
    let db = superuser().await;
    let (player, rain, fire) = a_player_with_two_moods(&db).await;
    let writer = tokio::spawn(async move {
        let db = superuser().await;
        for i in 0..100 {
            // One listener leaves as the other arrives: the room has one mood at a time.
            let (arriving, leaving) = if i % 2 == 0 {
                (&rain, &fire)
            } else {
                (&fire, &rain)
            };
            db.execute("select cosound.check_out($1::text::uuid)", &[leaving])
                .await
                .unwrap();
            db.execute(
                "select cosound.check_in($1::text::uuid, $2)",
                &[arriving, &player],
            )
            .await
            .unwrap();
            db.execute("select extensions.refresh_queue($1)", &[&player])
                .await
                .unwrap();
        }
    });
    let reader = superuser().await;
    let mut moods = std::collections::HashSet::new();
    while !writer.is_finished() {
        let rows = reader
            .query(
                "select s.title from cosound.player_queue q join cosound.songs s on s.id = q.song_id
                  where q.player_id = $1 order by q.slot",
                &[&player],
            )
            .await
            .unwrap();
        let titles: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
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
