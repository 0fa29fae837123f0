//! The web app in a real Chromium against the real stack: a listener signs up from a check-in
//! link, rates, and sees the room's mix change when another listener rates; an admin uploads
//! (one file that is not audio), sees which sounds fit none of the classes, and creates a
//! player; a manager makes a check-in code and
//! rotates the device key and chooses how the room's listeners count; a listener finds no
//! console, and the API refuses its calls.
//! Each main screen is saved as a screenshot (`target/screenshots/`).

use cosound_e2e::browser::{self, Browser, Screen};
use cosound_e2e::gateway::{unique_seed, wav};
use cosound_e2e::player::play_from;
use cosound_e2e::web::{
    account, new_checkin_code, script_text, scroll_to, session_token, sign_in, PASSWORD,
};
use cosound_e2e::{
    check_in_with_taste, column, gateway_url, get, new_player, new_song, new_user, rpc, superuser,
};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::json;
use std::time::{Duration, Instant};

/// A soundscape with this title and embedding (pgvector text).
async fn titled_soundscape(db: &tokio_postgres::Client, title: &str, embedding: &str) -> i64 {
    let song = new_song(db, "soundscape", embedding).await;
    db.execute(
        "update cosound.songs set title = $1 where id = $2",
        &[&title, &song],
    )
    .await
    .unwrap();
    song
}

async fn staff_roles(db: &tokio_postgres::Client, user_id: &str) -> Vec<String> {
    column(
        db,
        "select role::text from cosound.staff where user_id = $1::text::uuid",
        &[&user_id],
    )
    .await
}

/// The queue version the page shows, once it shows one.
async fn shown_version(page: &Client) -> String {
    // Read in one script: the page redraws the list whenever the version moves, so an element
    // found first could be gone by the time its attribute is asked for.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let version = script_text(
            page,
            "return document.querySelector('#playing ul.queue')?.dataset.version ?? null",
        )
        .await;
        if let Some(version) = version {
            return version;
        }
        assert!(Instant::now() < deadline, "the page shows no queue");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn database_version(db: &tokio_postgres::Client, player: i64) -> String {
    column::<String>(
        db,
        "select version::text from cosound.queue_state where player_id = $1",
        &[&player],
    )
    .await
    .pop()
    .unwrap_or_default()
}

/// Waits until the page shows the version the database has, then returns it.
async fn settled_version(page: &Client, db: &tokio_postgres::Client, player: i64) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (shown, stored) = (
            shown_version(page).await,
            database_version(db, player).await,
        );
        if shown == stored {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "the page shows queue version {shown}, the database has {stored}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_listener_checks_in_by_link_rates_and_sees_the_room_follow_another_rating() {
    let db = superuser().await;
    let player = new_player(&db, None).await;
    let code = new_checkin_code(&db, player).await;
    db.execute(
        "update cosound.players set name = 'Reading room ' || id where id = $1",
        &[&player],
    )
    .await
    .unwrap();
    let mut songs = Vec::new();
    // Sounds near each other, so the mix holds several layers whose gains follow any move of
    // the room's taste.
    for (title, embedding) in [
        ("Soft rain", "[0.6,0.4,0.2,0.2,0.2]"),
        ("Sea breeze", "[0.4,0.6,0.2,0.2,0.2]"),
        ("Rain over the bay", "[0.5,0.5,0.3,0.2,0.2]"),
        ("Far thunder", "[0.2,0.3,0.6,0.4,0.2]"),
    ] {
        songs.push(titled_soundscape(&db, title, embedding).await);
    }
    play_from(&db, player, &songs).await;

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Phone).await;
    page.goto(&format!("{}/?code={code}", gateway_url()))
        .await
        .unwrap();
    browser::wait_for_text(&page, "#pending-code", &code).await;
    browser::screenshot(&page, "listener-sign-up").await;
    let email = format!("web-{}@example.test", unique_seed());
    browser::fill(&page, "#up-email", &email).await;
    browser::fill(&page, "#up-password", PASSWORD).await;
    browser::click(&page, "#sign-up button[type=submit]").await;
    browser::wait_for_text(&page, "main .message", "You are checked in at Reading room").await;
    let url = page.current_url().await.unwrap();
    assert!(
        !url.as_str().contains("code="),
        "the code leaves the address once used: {url}"
    );
    let listener: Vec<String> = column(
        &db,
        "select id::text from auth.users where email = $1",
        &[&email],
    )
    .await;
    let sessions: Vec<i64> = column(
        &db,
        "select player_id from cosound.sessions where listener_id = $1::text::uuid and ended_at is null",
        &[&listener[0]],
    )
    .await;
    assert_eq!(
        sessions,
        [player],
        "the link checked the new listener in at its room"
    );

    let before = settled_version(&page, &db, player).await;
    browser::click(&page, "#rate button[data-rating='5']").await;
    // The page's answer names the sound the tap rated (the API's vote, not the page's label).
    let said = browser::wait_for_text(&page, "main .message", "You rated ")
        .await
        .text()
        .await
        .unwrap();
    let rated = said
        .strip_prefix("You rated ")
        .and_then(|rest| rest.split(" 5 of 5").next())
        .unwrap_or_else(|| panic!("the page says {said:?}"))
        .to_string();
    browser::wait_for(&page, "#taste-move .bars").await;
    // With a taste, the next mix counts them, and the page says how close it is to it.
    browser::wait_for_text_within(
        &page,
        "#my-share",
        "How close this mix is to your taste",
        Duration::from_secs(30),
    )
    .await;
    scroll_to(&page, "#h-rate-it").await;
    browser::screenshot(&page, "listener-rated").await;
    let votes: Vec<String> = column(
        &db,
        "select s.title from cosound.votes v join cosound.songs s on s.id = v.song_id
          where v.listener_id = $1::text::uuid and v.rating = 5",
        &[&listener[0]],
    )
    .await;
    assert_eq!(
        votes,
        [rated],
        "one tap stored one rating of 5, of the sound the page said it rated"
    );
    let taste: Vec<Option<String>> = column(
        &db,
        "select preference::text from cosound.profiles where id = $1::text::uuid",
        &[&listener[0]],
    )
    .await;
    assert!(taste[0].is_some(), "the rating gave the listener a taste");

    // Another listener checks in, and once the page has caught up with that, rates.
    let (_, other) = new_user(&db, &[]).await;
    let (status, answer) = rpc(
        Some(&other),
        "check_in",
        &json!({ "code": code }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let rating = settled_version(&page, &db, player).await;
    assert_ne!(rating, "", "the room has a queue");
    let (status, answer) = rpc(Some(&other), "rate", &json!({ "rating": 1 }).to_string()).await;
    assert_eq!(status, 200, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while shown_version(&page).await == rating {
        assert!(
            Instant::now() < deadline,
            "the page still shows queue version {rating} after the other listener's rating"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let after = settled_version(&page, &db, player).await;
    assert_ne!(
        before, after,
        "the room's mix changed while the page was open"
    );
    browser::screenshot(&page, "listener-now").await;

    browser::click(&page, "#check-out").await;
    browser::wait_for_text(&page, "main .message", "You have checked out").await;
    let active: Vec<i64> = column(
        &db,
        "select player_id from cosound.sessions where listener_id = $1::text::uuid and ended_at is null",
        &[&listener[0]],
    )
    .await;
    assert!(active.is_empty(), "checking out ended the session");

    // The survey's sliders, by keyboard: no rain at all, all the thunder there is.
    browser::click(&page, "#nav a[href='#taste']").await;
    browser::wait_for(&page, "#taste-rain")
        .await
        .send_keys(&Key::Home.to_string())
        .await
        .unwrap();
    browser::wait_for(&page, "#taste-thunderstorm")
        .await
        .send_keys(&Key::End.to_string())
        .await
        .unwrap();
    browser::wait_for_text(&page, "#taste-thunderstorm-value", "1.00").await;
    browser::click(&page, "#survey button[type=submit]").await;
    browser::wait_for_text(&page, "main .message", "Your taste is saved").await;
    browser::screenshot(&page, "listener-taste").await;
    let taste: Vec<Vec<f32>> = column(
        &db,
        "select preference::real[] from cosound.profiles where id = $1::text::uuid",
        &[&listener[0]],
    )
    .await;
    assert!(
        taste[0][0] == 0.0 && taste[0][2] > taste[0][1],
        "the survey set the sliders' taste: {:?}",
        taste[0]
    );

    browser::click(&page, "#nav a[href='#stats']").await;
    browser::wait_for_text(&page, "#my-stats dd[data-stat='ratings']", "1").await;
    let token = session_token(&page).await;
    let (status, board) = rpc(Some(&token), "leaderboard", "{}").await;
    assert_eq!(status, 200, "{board}");
    let leader = board[0]["display_name"]
        .as_str()
        .expect("the month has ratings");
    browser::wait_for_text(&page, "#leaderboard tbody tr:first-child", leader).await;
    let rows = page
        .find_all(Locator::Css("#leaderboard tbody tr"))
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        board.as_array().unwrap().len(),
        "the page shows the month's top listeners"
    );
    // Other tests' listeners share the month: this one is marked only if it made the board.
    let mine = page
        .find_all(Locator::Css("#leaderboard tbody tr.me"))
        .await
        .unwrap();
    let on_board = board
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row["is_me"] == true);
    assert_eq!(
        mine.len(),
        usize::from(on_board),
        "the listener's own row is marked"
    );
    if let Some(row) = mine.first() {
        assert!(row.text().await.unwrap().contains("(you)"));
    }
    browser::screenshot(&page, "listener-stats").await;
}

#[tokio::test]
async fn an_admin_uploads_two_files_and_sees_the_refusal_then_creates_a_player() {
    let db = superuser().await;
    let (admin, _) = account(&db, &["admin"]).await;
    let (manager, manager_id) = account(&db, &["manager"]).await;
    let seed = unique_seed();
    let folder = tempfile::tempdir().unwrap();
    let sound = folder.path().join(format!("rain-{seed}.wav"));
    let notes = folder.path().join(format!("notes-{seed}.txt"));
    std::fs::write(&sound, wav(3.0, 22_050, seed)).unwrap();
    std::fs::write(&notes, b"these are my notes, not a sound".repeat(20)).unwrap();
    // Two sounds the model placed: bells fit none of the five classes, waves do.
    let (bells, waves) = (
        titled_soundscape(&db, &format!("bells-{seed}"), "[0.02,0,0.01,0.05,0.03]").await,
        titled_soundscape(&db, &format!("waves-{seed}"), "[0.2,0.8,0,0.1,0]").await,
    );
    db.execute(
        "update cosound.songs set fits_no_class = (id = $1) where id in ($1, $2)",
        &[&bells, &waves],
    )
    .await
    .unwrap();

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Desktop).await;
    sign_in(&page, &admin).await;
    browser::click(&page, "#nav a[href='#catalogue']").await;
    browser::wait_for_text(
        &page,
        &format!("#catalogue tr[data-song='{bells}'] .no-class"),
        "fits none of the five classes",
    )
    .await;
    let flagged = page
        .find_all(Locator::Css(&format!(
            "#catalogue tr[data-song='{waves}'] .no-class"
        )))
        .await
        .unwrap();
    assert!(flagged.is_empty(), "waves are one of the classes");
    let files = browser::wait_for(&page, "#upload-files").await;
    files
        .send_keys(&format!("{}\n{}", sound.display(), notes.display()))
        .await
        .unwrap();
    browser::click(&page, "#upload button[type=submit]").await;
    // Each upload is measured and embedded before it answers: allow it a while.
    let analysis = Duration::from_secs(60);
    browser::wait_for_text_within(&page, "#upload-results li.ok", "added as song", analysis).await;
    browser::wait_for_text_within(
        &page,
        "#upload-results li.failed",
        "Not a decodable audio file",
        analysis,
    )
    .await;
    browser::wait_for(&page, &format!("#catalogue input[value='rain-{seed}']")).await;
    scroll_to(&page, &format!("#catalogue tr[data-song='{bells}']")).await;
    browser::screenshot(&page, "admin-catalogue").await;
    // The upload's line says what the catalogue records of the new sound.
    let fits_none: Vec<bool> = column(
        &db,
        "select fits_no_class from cosound.songs where title = $1",
        &[&format!("rain-{seed}")],
    )
    .await;
    let said = page
        .find(Locator::Css("#upload-results li.ok .outcome"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        said.contains("fits none of the five classes"),
        fits_none == [true],
        "{said}"
    );
    let uploaded: Vec<String> = column(
        &db,
        "select title from cosound.songs where title in ($1, $2)",
        &[&format!("rain-{seed}"), &format!("notes-{seed}")],
    )
    .await;
    assert_eq!(
        uploaded,
        [format!("rain-{seed}")],
        "the sound is in the catalogue, the notes are not"
    );

    browser::click(&page, "#nav a[href='#players']").await;
    let name = format!("Lobby {seed}");
    browser::fill(&page, "#new-player-name", &name).await;
    browser::fill(&page, "#new-player-manager", &manager).await;
    browser::click(&page, "#create-player button[type=submit]").await;
    browser::wait_for_text(&page, "#player-title", &name).await;
    let owners: Vec<String> = column(
        &db,
        "select owner_id::text from cosound.players where name = $1",
        &[&name],
    )
    .await;
    assert_eq!(
        owners,
        [manager_id],
        "the player is created for the manager named"
    );

    // Roles, granted and revoked by e-mail address.
    let (someone, someone_id) = account(&db, &[]).await;
    browser::click(&page, "#nav a[href='#people']").await;
    browser::fill(&page, "#grant-email", &someone).await;
    browser::click(&page, "#grant-role button[type=submit]").await;
    browser::wait_for_text(&page, "#staff", &someone).await;
    browser::screenshot(&page, "admin-people").await;
    assert_eq!(
        staff_roles(&db, &someone_id).await,
        ["manager"],
        "the role was granted"
    );
    browser::click(&page, &format!("#staff tr[data-email='{someone}'] button")).await;
    browser::wait_for_text(&page, "main .message", "is no longer manager").await;
    assert!(
        staff_roles(&db, &someone_id).await.is_empty(),
        "the role was revoked"
    );
}

#[tokio::test]
async fn a_manager_makes_a_check_in_code_and_rotates_the_device_key() {
    let db = superuser().await;
    let (manager, manager_id) = account(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    db.execute(
        "update cosound.players set name = 'Café terrace ' || id where id = $1",
        &[&player],
    )
    .await
    .unwrap();
    let song = new_song(&db, "soundscape", "[0.2,0.7,0.1,0.4,0.1]").await;
    db.execute(
        "update cosound.songs set title = 'Harbour waves ' || id where id = $1",
        &[&song],
    )
    .await
    .unwrap();
    play_from(&db, player, &[song]).await;
    let (guest, guest_token) = new_user(&db, &[]).await;
    db.execute(
        "update cosound.profiles set display_name = 'Ada' where id = $1::text::uuid",
        &[&guest],
    )
    .await
    .unwrap();
    let (status, answer) = rpc(
        Some(&guest_token),
        "check_in",
        &json!({ "player_id": player }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Desktop).await;
    sign_in(&page, &manager).await;
    browser::click(&page, "#nav a[href='#players']").await;
    browser::wait_for_text(&page, "#player-list", "Café terrace").await;
    browser::click(&page, &format!("button.pick[data-player='{player}']")).await;
    browser::wait_for_text(&page, "#checked-in", "Ada, since").await;
    browser::wait_for_text(
        &page,
        "#player-playing",
        &format!("Layer: Harbour waves {song}"),
    )
    .await;
    browser::click(&page, "#new-code").await;
    let card = browser::wait_for(&page, "#codes .qr-card svg").await;
    assert!(
        card.is_displayed().await.unwrap(),
        "the QR code is drawn in the page"
    );
    let code = browser::wait_for(&page, "#codes .qr-card")
        .await
        .attr("data-code")
        .await
        .unwrap()
        .unwrap();
    let codes: Vec<i64> = column(
        &db,
        "select player_id from cosound.checkin_codes where code = $1",
        &[&code],
    )
    .await;
    assert_eq!(codes, [player], "the code shown is the player's");

    const NEW_KEY: &str = "return document.querySelector('#new-key')?.value ?? null";
    browser::click(&page, "#issue-key").await;
    browser::wait_for(&page, "#new-key").await;
    let first = script_text(&page, NEW_KEY).await.expect("the key is shown");
    browser::wait_for_text(&page, "#issue-key", "Rotate key").await;
    browser::click(&page, "#issue-key").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = loop {
        let shown = script_text(&page, NEW_KEY).await.expect("the key is shown");
        if shown != first {
            break shown;
        }
        assert!(Instant::now() < deadline, "the rotated key is not shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    scroll_to(&page, "#player-title").await;
    browser::screenshot(&page, "manager-player").await;
    let exchange = |key: String| async move {
        reqwest::Client::new()
            .post(format!("{}/player/token", gateway_url()))
            .json(&json!({ "key": key }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(exchange(first).await, 401, "the rotated-out key is refused");
    assert_eq!(
        exchange(second.clone()).await,
        200,
        "the key shown once opens the player"
    );

    // A rename updates the name in place: the panel, its message and the key shown stay.
    let renamed = format!("Café terrace {player} east");
    browser::fill(&page, "#rename-name", &renamed).await;
    browser::click(&page, "#rename-player button[type=submit]").await;
    browser::wait_for_text(&page, "main .message", &format!("Renamed to {renamed}")).await;
    browser::wait_for_text(&page, "#player-list", &renamed).await;
    browser::wait_for_text(&page, "#player-title", &renamed).await;
    assert_eq!(
        script_text(&page, NEW_KEY).await,
        Some(second),
        "the key shown once is still on the page after the rename"
    );
}

#[tokio::test]
async fn a_listener_finds_no_console_and_the_api_refuses_its_calls() {
    let db = superuser().await;
    let (listener, _) = account(&db, &[]).await;
    let player = new_player(&db, None).await;

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Phone).await;
    sign_in(&page, &listener).await;
    assert!(
        page.find(Locator::Css("#nav a[href='#players']"))
            .await
            .is_err(),
        "a listener's menu has no console"
    );
    page.goto(&format!("{}/#players", gateway_url()))
        .await
        .unwrap();
    page.refresh().await.unwrap();
    browser::wait_for_text(&page, "main", "Not for this account").await;
    browser::screenshot(&page, "listener-no-console").await;

    let stored = page
        .execute("return Object.keys(localStorage)", vec![])
        .await
        .unwrap();
    assert_eq!(
        stored,
        json!(["cosound.session"]),
        "the browser keeps the session token, nothing else"
    );
    let token = session_token(&page).await;
    let (status, answer) = get(Some(&token), "rpc/checked_in").await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (
            403,
            Some("only an admin or a manager may see who is checked in")
        )
    );
    let (status, answer) = rpc(
        Some(&token),
        "new_checkin_code",
        &json!({ "player_id": player }).to_string(),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    let key = reqwest::Client::new()
        .post(format!("{}/players/{player}/key", gateway_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        key.status().as_u16(),
        403,
        "the gateway refuses a listener a device key"
    );
    let keys: Vec<i64> = column(
        &db,
        "select player_id from cosound.player_keys where player_id = $1",
        &[&player],
    )
    .await;
    assert!(keys.is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_listener_sees_which_rooms_take_their_code_only() {
    let db = superuser().await;
    let (listener, _) = account(&db, &[]).await;
    let open = new_player(&db, None).await;
    let coded: i64 = db
        .query_one(
            "insert into cosound.players (name) values ('Quiet room ' || gen_random_uuid())
             returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Phone).await;
    sign_in(&page, &listener).await;
    browser::wait_for(&page, &format!("#rooms button[data-player='{open}']")).await;
    assert!(
        page.find(Locator::Css(&format!(
            "#rooms button[data-player='{coded}']"
        )))
        .await
        .is_err(),
        "a room that takes its code only offers no button"
    );
    let rooms = page.find(Locator::Css("#rooms")).await.unwrap();
    assert!(rooms
        .text()
        .await
        .unwrap()
        .contains("check in with the code in the room"));
    browser::screenshot(&page, "listener-rooms").await;
}

#[tokio::test]
async fn a_manager_chooses_how_the_rooms_listeners_count() {
    let db = superuser().await;
    let (manager, manager_id) = account(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let mut library = Vec::new();
    for (title, embedding) in [
        ("Steady rain", "[1,0,0,0,0]"),
        ("Rain by the fire", "[1,0,0,0,1]"),
    ] {
        library.push(titled_soundscape(&db, title, embedding).await);
    }
    db.execute(
        "insert into cosound.player_library (player_id, song_id) select $1, unnest($2::bigint[])",
        &[&player, &library],
    )
    .await
    .unwrap();
    for taste in ["[1,0,0,0,0]", "[1,0,0,0,0]", "[0,0,0,0,1]"] {
        check_in_with_taste(&db, player, taste).await;
    }
    db.execute("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap();
    let strategy = || async {
        db.query_one(
            "select strategy::text from cosound.players where id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .get::<_, String>(0)
    };

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Desktop).await;
    sign_in(&page, &manager).await;
    browser::click(&page, "#nav a[href='#players']").await;
    browser::click(&page, &format!("button.pick[data-player='{player}']")).await;
    let mean = browser::wait_for(&page, "#strategy-mean").await;
    assert!(
        mean.is_selected().await.unwrap(),
        "a room starts at the mean"
    );
    browser::wait_for(&page, "#why-versions li").await;
    browser::click(&page, "#strategy-least_misery").await;
    browser::wait_for_text(&page, "main .message", "Nobody left out: the mix follows").await;
    assert_eq!(strategy().await, "least_misery");
    // The next poll of the panel shows the new version, why it was made, and what it holds.
    let newest = browser::wait_for_text(
        &page,
        "#why-versions li:first-child",
        "The strategy changed: a whole new mix",
    )
    .await;
    assert!(newest
        .text()
        .await
        .unwrap()
        .contains("for 3 listeners, by “Nobody left out”"));
    let rows = page
        .find_all(Locator::Css("#why-items tbody tr"))
        .await
        .unwrap();
    let mut shown = Vec::new();
    for row in rows {
        shown.push(row.text().await.unwrap());
    }
    assert_eq!(
        shown.len(),
        1,
        "rain alone would leave the fire lover out: {shown:?}"
    );
    assert!(shown[0].starts_with("Rain by the fire"), "{shown:?}");
    scroll_to(&page, "#strategy").await;
    browser::screenshot(&page, "manager-mix").await;

    // The choice holds when the page is drawn again.
    page.refresh().await.unwrap();
    browser::click(&page, "#nav a[href='#players']").await;
    browser::click(&page, &format!("button.pick[data-player='{player}']")).await;
    let chosen = browser::wait_for(&page, "#strategy-least_misery").await;
    assert!(chosen.is_selected().await.unwrap());
}

#[tokio::test]
async fn a_manager_sets_quiet_hours_and_reads_the_refusal_of_an_inverted_block() {
    let db = superuser().await;
    let (manager, manager_id) = account(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let blocks = || async {
        column::<String>(
            &db,
            "select format('%s %s-%s cap %s instrumentals %s', days, to_char(starts, 'HH24:MI'),
                           to_char(ends, 'HH24:MI'), volume_cap, instrumentals)
               from cosound.schedule_blocks where player_id = $1 order by id",
            &[&player],
        )
        .await
    };

    let chromium = Browser::start().await;
    let page = chromium.session(Screen::Desktop).await;
    sign_in(&page, &manager).await;
    browser::click(&page, "#nav a[href='#players']").await;
    browser::click(&page, &format!("button.pick[data-player='{player}']")).await;
    browser::wait_for_text(&page, "#schedule-blocks", "No time blocks").await;
    browser::click(&page, "#add-block").await;
    let row = browser::wait_for(&page, "#schedule-blocks .block").await;
    let n = row.attr("data-block").await.unwrap().unwrap();
    // Evenings on weekdays, typed the wrong way round first.
    browser::fill(&page, &format!("#block-{n}-from"), "23:00").await;
    browser::fill(&page, &format!("#block-{n}-to"), "19:00").await;
    browser::fill(&page, &format!("#block-{n}-cap"), "30").await;
    browser::click(&page, &format!("#block-{n}-instrumentals")).await;
    browser::click(&page, "#save-schedule").await;
    browser::wait_for_text(&page, "main .message", "A block ends after it starts").await;
    assert!(blocks().await.is_empty(), "the refusal saved nothing");

    browser::fill(&page, &format!("#block-{n}-from"), "19:00").await;
    browser::fill(&page, &format!("#block-{n}-to"), "24:00").await;
    browser::click(&page, "#save-schedule").await;
    browser::wait_for_text(&page, "main .message", "Saved: 1 time block.").await;
    assert_eq!(
        blocks().await,
        ["{1,2,3,4,5} 19:00-24:00 cap 0.3 instrumentals f"]
    );
    browser::fill(&page, "#time-zone-name", "Europe/Lisbon").await;
    browser::click(&page, "#time-zone button[type=submit]").await;
    browser::wait_for_text(&page, "main .message", "read in Europe/Lisbon time").await;
    let zone: Vec<String> = column(
        &db,
        "select time_zone from cosound.players where id = $1",
        &[&player],
    )
    .await;
    assert_eq!(zone, ["Europe/Lisbon"]);
    // The saved block is drawn again from the API.
    let saved = browser::wait_for(&page, "#schedule-blocks .block").await;
    let n = saved.attr("data-block").await.unwrap().unwrap();
    let to = browser::wait_for(&page, &format!("#block-{n}-to")).await;
    assert_eq!(to.prop("value").await.unwrap().as_deref(), Some("24:00"));
    scroll_to(&page, "#h-schedule").await;
    browser::screenshot(&page, "manager-schedule").await;
}
