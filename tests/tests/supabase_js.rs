//! supabase-js, pinned in `tests/supabase-js`, unchanged against the stack: this sets up a
//! room (a player with a library, a queue and a check-in code) and runs `visit.mjs`, a
//! listener's whole visit through the gateway's `/auth/v1` and `/rest/v1`. The script asserts
//! each step; its output is shown here when it fails.

use cosound_e2e::player::play_from;
use cosound_e2e::{gateway_url, new_player, new_song, superuser};
use std::path::Path;
use std::process::Command;

#[tokio::test]
async fn supabase_js_runs_a_listeners_visit_unchanged() {
    let db = superuser().await;
    let player = new_player(&db, None).await;
    let layer = new_song(&db, "soundscape", "[0.9,0.1,0,0,0]").await;
    let tune = new_song(&db, "instrumental", "[0.8,0.2,0,0,0]").await;
    play_from(&db, player, &[layer, tune]).await;
    let code = format!("JS-VISIT-{player}");
    db.execute(
        "insert into cosound.checkin_codes (code, player_id) values ($1, $2)",
        &[&code, &player],
    )
    .await
    .unwrap();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("supabase-js");
    let output = Command::new("node")
        // supabase-js's realtime client wants the WebSocket that Node 22 has built in; Node 20
        // has it behind this flag.
        .arg("--experimental-websocket")
        .arg(dir.join("visit.mjs"))
        .current_dir(&dir)
        .env("SUPABASE_URL", gateway_url())
        .env(
            "SUPABASE_ANON_KEY",
            std::env::var("COSOUND_TEST_ANON_KEY").expect("the stack's anon key"),
        )
        .env("COSOUND_CHECKIN_CODE", &code)
        .env("COSOUND_PLAYER_ID", player.to_string())
        .env("COSOUND_SONG_ID", layer.to_string())
        .output()
        .expect("node runs (it is a prerequisite; `cargo xtask test` installs supabase-js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("ok - ").count(), 11, "{stdout}");
}
