//! The web app's side of the end-to-end tests: accounts that sign in with a password,
//! signing in through the page, and reading what a page shows in one script.

use crate::browser;
use crate::gateway::unique_seed;
use crate::{gateway_url, grant_roles};
use fantoccini::Client;
use serde_json::json;

pub const PASSWORD: &str = "quiet-rain-42";

/// An account that signs in with [`PASSWORD`], with these staff roles; its e-mail and id.
pub async fn account(db: &tokio_postgres::Client, roles: &[&str]) -> (String, String) {
    let email = format!("web-{}@example.test", unique_seed());
    let id: String = db
        .query_one(
            "insert into auth.users (email, encrypted_password)
             values ($1, extensions.hash_password($2)) returning id::text",
            &[&email, &PASSWORD],
        )
        .await
        .expect("the account is created")
        .get(0);
    grant_roles(db, &id, roles).await;
    (email, id)
}

/// A fresh check-in code for `player`, as a room's QR code would carry it.
pub async fn new_checkin_code(db: &tokio_postgres::Client, player: i64) -> String {
    let code = format!("WEB-{:08X}", unique_seed() as u32);
    db.execute(
        "insert into cosound.checkin_codes (code, player_id) values ($1, $2)",
        &[&code, &player],
    )
    .await
    .expect("the check-in code is created");
    code
}

pub async fn sign_in(page: &Client, email: &str) {
    page.goto(&gateway_url()).await.unwrap();
    browser::fill(page, "#in-email", email).await;
    browser::fill(page, "#in-password", PASSWORD).await;
    browser::click(page, "#sign-in button[type=submit]").await;
    browser::wait_for(page, "#nav a[href='#now']").await;
}

/// What `script` returns, when it is a string; read in one call, so an element the page
/// redraws meanwhile cannot go stale between finding and reading it.
pub async fn script_text(page: &Client, script: &str) -> Option<String> {
    let value = page.execute(script, vec![]).await.unwrap();
    value.as_str().map(str::to_string)
}

pub async fn session_token(page: &Client) -> String {
    script_text(page, "return localStorage.getItem('cosound.session')")
        .await
        .expect("the page keeps its session token")
}

pub async fn scroll_to(page: &Client, css: &str) {
    page.execute(
        "document.querySelector(arguments[0]).scrollIntoView()",
        vec![json!(css)],
    )
    .await
    .unwrap();
}
