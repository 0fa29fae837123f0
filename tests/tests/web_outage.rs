//! The listener's page while PostgREST is away: it says so in words, keeps the room it shows,
//! and recovers by itself when the API is back. Alone in its test binary: it stops the
//! stack's PostgREST.

use cosound_e2e::browser::{self, Browser, Screen};
use cosound_e2e::player::{play_from, PostgrestService};
use cosound_e2e::web::{account, new_checkin_code, sign_in};
use cosound_e2e::{gateway_url, new_player, new_song, superuser};
use std::time::{Duration, Instant};

/// Whether the connection banner shows, and its text.
async fn banner(page: &fantoccini::Client) -> Option<String> {
    let shown = page
        .execute(
            "const b = document.getElementById('connection'); return b.hidden ? null : b.textContent",
            vec![],
        )
        .await
        .unwrap();
    shown.as_str().map(str::to_string)
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
    play_from(&db, player, &[song]).await;
    let (listener, _) = account(&db, &[]).await;

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Phone).await;
    sign_in(&page, &listener).await;
    page.goto(&format!("{}/?code={code}", gateway_url()))
        .await
        .unwrap();
    browser::wait_for(&page, "#playing ul.queue").await;
    assert_eq!(banner(&page).await, None, "no banner while the API answers");

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

    tokio::task::block_in_place(|| api.start());
    until(
        &page,
        "the page recovers once the API is back",
        Option::is_none,
    )
    .await;
    browser::wait_for(&page, "#playing ul.queue").await;
    browser::wait_for_text(&page, "#room-name", "room").await;
}
