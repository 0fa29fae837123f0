//! The player against the real stack: it trades its key at the gateway, plays its queue with
//! media from the gateway, follows a change within one poll, reports what it plays, and skips
//! a corrupt file, reporting it, while the rest plays.

use cosound_e2e::gateway::bucket;
use cosound_e2e::player::{play_from, player_with_key, queued, upload_tone, Player};
use cosound_e2e::{new_user, superuser};
use std::time::Duration;

const POLL: Duration = Duration::from_secs(1);

#[test]
fn the_player_follows_its_queue_within_one_poll_and_reports_what_it_plays() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, player, key, low, high) = rt.block_on(async {
        let db = superuser().await;
        let (_, admin) = new_user(&db, &["admin"]).await;
        let low = upload_tone(&admin, 220.0).await;
        let high = upload_tone(&admin, 330.0).await;
        let (player, key) = player_with_key(&db, &admin).await;
        play_from(&db, player, &[low]).await;
        assert_eq!(queued(&db, player).await, [low]);
        (db, player, key, low, high)
    });

    let mut device = Player::start(&key, POLL);
    device.render(7.0);
    let level = device.tone_at(6.5, 220.0);
    assert!(level > 0.01, "the queued tone plays (amplitude {level})");
    assert!(device.tone_at(6.5, 330.0) < level / 100.0);

    rt.block_on(play_from(&db, player, &[high]));
    assert_eq!(rt.block_on(queued(&db, player)), [high]);
    let changed_at = device.elapsed();
    device.render(10.0);

    let settled = device.tone_at(changed_at + 9.0, 330.0);
    assert!(settled > 0.01, "the new tone plays (amplitude {settled})");
    assert!(device.tone_at(changed_at + 9.0, 220.0) < settled / 100.0);
    // The next poll saw the change: by then the cross-fade is under way, both tones sound.
    let after_one_poll = changed_at + POLL.as_secs_f64() + 0.3;
    let rising = device.tone_at(after_one_poll, 330.0);
    let falling = device.tone_at(after_one_poll, 220.0);
    assert!(
        rising > settled / 20.0 && falling > level / 2.0,
        "one poll after the change the new tone rises ({rising} of {settled}) as the old \
         one fades ({falling} of {level})"
    );

    rt.block_on(async {
        let plays: Vec<(i64, bool)> = db
            .query(
                "select song_id, ended_at is not null from cosound.plays
                  where player_id = $1 order by id",
                &[&player],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        assert_eq!(
            plays,
            [(low, true), (high, false)],
            "the first tone started and ended, the second started"
        );
        let seen: bool = db
            .query_one(
                "select last_seen_at > now() - interval '1 minute' from cosound.players
                  where id = $1",
                &[&player],
            )
            .await
            .unwrap()
            .get(0);
        assert!(seen, "the player's heartbeat arrived");
    });
}

#[test]
fn a_corrupt_file_is_skipped_and_reported_while_the_rest_plays() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, player, key, corrupt) = rt.block_on(async {
        let db = superuser().await;
        let (_, admin) = new_user(&db, &["admin"]).await;
        let good = upload_tone(&admin, 220.0).await;
        let corrupt = upload_tone(&admin, 440.0).await;
        // Damage the stored file: same size, different bytes, as a bad disk would.
        let object_key: String = db
            .query_one(
                "select object_key from cosound.songs where id = $1",
                &[&corrupt],
            )
            .await
            .unwrap()
            .get(0);
        let (s3, bucket) = bucket();
        let object = s3
            .get_object()
            .bucket(&bucket)
            .key(&object_key)
            .send()
            .await
            .unwrap();
        let mut bytes = object.body.collect().await.unwrap().to_vec();
        let middle = bytes.len() / 2;
        for byte in &mut bytes[middle..middle + 64] {
            *byte ^= 0x5a;
        }
        s3.put_object()
            .bucket(&bucket)
            .key(&object_key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
        // Alike to the recommender, so the queue takes both.
        db.execute(
            "update cosound.songs set embedding = '[0.5,0.5,0.5,0.5,0.5]' where id in ($1, $2)",
            &[&good, &corrupt],
        )
        .await
        .unwrap();
        let (player, key) = player_with_key(&db, &admin).await;
        play_from(&db, player, &[good, corrupt]).await;
        let mut both = queued(&db, player).await;
        both.sort();
        assert_eq!(both, [good, corrupt]);
        (db, player, key, corrupt)
    });

    let mut device = Player::start(&key, POLL);
    device.render(7.0);
    let level = device.tone_at(6.5, 220.0);
    assert!(level > 0.01, "the sound file plays (amplitude {level})");
    assert!(device.tone_at(6.5, 440.0) < level / 100.0);

    rt.block_on(async {
        let failures = db
            .query(
                "select song_id, detail from cosound.play_failures where player_id = $1",
                &[&player],
            )
            .await
            .unwrap();
        assert_eq!(failures.len(), 1, "one failure reported");
        assert_eq!(failures[0].get::<_, i64>(0), corrupt);
        let detail: String = failures[0].get(1);
        assert!(detail.contains("SHA-256"), "the report says why: {detail}");
        let started: i64 = db
            .query_one(
                "select count(*) from cosound.plays where player_id = $1 and song_id = $2",
                &[&player, &corrupt],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(started, 0, "the corrupt file never started");
    });
}
