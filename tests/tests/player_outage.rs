//! The player keeps the room's mix playing while PostgREST is down, and follows its queue
//! again once it is back. Alone in its test binary: it stops the stack's PostgREST.

use cosound_e2e::player::{
    play_from, player_with_key, queued, upload_tone, Player, PostgrestService,
};
use cosound_e2e::{new_user, superuser};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_secs(1);
/// Audio rendered per step, and the wall-clock pause after it: the player's backoff runs
/// on the wall clock, its polls on the render clock.
const STEP: f64 = 0.5;
const PAUSE: Duration = Duration::from_millis(250);

#[test]
fn with_postgrest_stopped_the_mix_plays_on_and_the_player_resumes_when_it_returns() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, player, key, high) = rt.block_on(async {
        let db = superuser().await;
        let (_, admin) = new_user(&db, &["admin"]).await;
        let low = upload_tone(&admin, 220.0).await;
        let high = upload_tone(&admin, 330.0).await;
        let (player, key) = player_with_key(&db, &admin).await;
        play_from(&db, player, &[low]).await;
        (db, player, key, high)
    });
    let api = PostgrestService::of_the_stack();

    // Past the first mix's fade-in, the tone's level varies only a little around its loop.
    let mut device = Player::start(&key, POLL);
    device.render(9.0);
    let steady: Vec<f64> = (65..89)
        .map(|t| device.tone_at(f64::from(t) / 10.0, 220.0))
        .collect();
    let (low_level, level) = steady
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert!(
        low_level > 0.01,
        "the queued tone plays (amplitude {low_level})"
    );

    api.stop();
    let stopped_at = device.elapsed();
    // The queue changes while the player cannot see it.
    rt.block_on(play_from(&db, player, &[high]));
    assert_eq!(rt.block_on(queued(&db, player)), [high]);
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(6) {
        device.render(STEP);
        std::thread::sleep(PAUSE);
    }
    let mut at = stopped_at;
    while at + 0.1 < device.elapsed() {
        let now = device.tone_at(at, 220.0);
        assert!(
            (low_level * 0.98..=level * 1.02).contains(&now),
            "at {at:.1} s, with the API down, the tone plays on at its level ({now}, was \
             {low_level} to {level})"
        );
        assert!(device.tone_at(at, 330.0) < level / 100.0);
        at += 0.1;
    }

    api.start();
    let back_at = device.elapsed();
    let back = Instant::now();
    let resumed = loop {
        device.render(STEP);
        std::thread::sleep(PAUSE);
        let end = device.elapsed() - 0.1;
        if device.tone_at(end, 330.0) > level / 10.0 {
            break end;
        }
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "the player did not follow its queue within 60 s of the API's return"
        );
    };
    // Until the new mix came in, the old one played without a gap.
    let mut at = back_at;
    while at < resumed {
        assert!(
            device.tone_at(at, 220.0) > level / 3.0,
            "at {at:.1} s the mix still plays"
        );
        at += 0.1;
    }
    println!(
        "API down for {:.1} s of audio; the new queue was heard {:.1} s of audio after its return",
        back_at - stopped_at,
        resumed - back_at
    );
}
