//! The listener's pages while PostgREST is away: they say so in words, keep what they show,
//! and recover by themselves when the API is back, a page that could not load included.
//! Alone in its test binary: it stops the stack's PostgREST.

use cosound_e2e::browser::{self, Browser, Screen};
use cosound_e2e::player::{play_from, PostgrestService};
use cosound_e2e::web::{account, new_checkin_code, script_text, sign_in};
use cosound_e2e::{gateway_url, new_player, new_song, superuser};
use std::time::{Duration, Instant};

/// The connection banner's text, when it shows one.
async fn banner(page: &fantoccini::Client) -> Option<String> {
    script_text(
        page,
        "return document.getElementById('connection').textContent || null",
    )
    .await
}

/// The queue version the listener's page shows.
async fn shown_version(page: &fantoccini::Client) -> Option<String> {
    script_text(
        page,
        "return document.querySelector('#playing ul.queue')?.dataset.version ?? null",
    )
    .await
}

async fn until(page: &fantoccini::Client, what: &str, wanted: impl Fn(&Option<String>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = banner(page).await;
        if wanted(&now) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the banner shows {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_api_away_the_page_says_so_and_recovers_by_itself() {
    let db = superuser().await;
    let player = new_player(&db, None).await;
    let code = new_checkin_code(&db, player).await;
    let song = new_song(&db, "soundscape", "[0.5,0.5,0.3,0.2,0.2]").await;
    let other_song = new_song(&db, "soundscape", "[0.2,0.3,0.5,0.5,0.2]").await;
    play_from(&db, player, &[song]).await;
    let (listener, _) = account(&db, &[]).await;

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Phone).await;
    sign_in(&page, &listener).await;
    page.goto(&format!("{}/?code={code}", gateway_url()))
        .await
        .unwrap();
    browser::wait_for(&page, "#playing ul.queue").await;
    let before = shown_version(&page).await;
    assert_eq!(banner(&page).await, None, "no banner while the API answers");
    // A second window, on another page, to open during the outage.
    let other = chromium.session(Screen::Desktop).await;
    sign_in(&other, &listener).await;

    let api = PostgrestService::of_the_stack();
    tokio::task::block_in_place(|| api.stop());
    until(&page, "the page notices the API is gone", |shown| {
        shown
            .as_deref()
            .is_some_and(|text| text.contains("cannot be reached"))
    })
    .await;
    browser::wait_for(&page, "#playing ul.queue").await;
    browser::screenshot(&page, "listener-api-down").await;

    // A page opened during the outage cannot load: it says why, in words.
    browser::click(&other, "#nav a[href='#stats']").await;
    browser::wait_for_text(&other, "main .message.error", "cannot be reached").await;

    // While the API is away the room's mix moves on.
    play_from(&db, player, &[other_song]).await;
    tokio::task::block_in_place(|| api.start());
    until(
        &page,
        "the page recovers once the API is back",
        Option::is_none,
    )
    .await;

    // The room's page shows the mix the outage hid, without a reload.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = shown_version(&page).await;
        if now.is_some() && now != before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page still shows queue version {now:?} after the outage"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    browser::wait_for_text(&page, "#playing", "song [0.2,0.3,0.5,0.5,0.2]").await;

    // The page that could not load loads by itself, and its error goes.
    browser::wait_for(&other, "#my-stats dd[data-stat='ratings']").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let error = script_text(
            &other,
            "return document.querySelector('main .message.error')?.textContent || null",
        )
        .await;
        if error.is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stats page still shows {error:?} after the outage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser::wait_for(&other, "#leaderboard").await;
}
