//! Shared helpers of the end-to-end tests: where the stack under test is, tokens for it,
//! fixtures in its database, and (in the modules) its gateway, players, a real browser and
//! the web app.
//!
//! `cargo xtask test` starts a stack of its own and passes its addresses and JWT secret in
//! `COSOUND_TEST_*` variables; these tests never touch the dev stack.

use jsonwebtoken::{encode, EncodingKey, Header};
use postgrest::Postgrest;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

pub mod audio;
pub mod browser;
pub mod gateway;
pub mod player;
pub mod web;

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the end-to-end tests through `cargo xtask test`, which starts the stack they test")
    })
}

pub fn api_url() -> String {
    setting("COSOUND_TEST_API_URL")
}

pub fn gateway_url() -> String {
    setting("COSOUND_TEST_GATEWAY_URL")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A token signed with `secret` carrying `claims`.
pub fn sign(claims: &Value, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing")
}

/// A token as the stack's sign-in would issue it for a listener, valid for an hour.
pub fn listener_claims(sub: &str) -> Value {
    json!({
        "sub": sub,
        "role": "authenticated",
        "aud": "authenticated",
        "email": format!("{sub}@example.test"),
        "iat": now(),
        "exp": now() + 3600,
    })
}

/// Signs `claims` with the stack's real secret.
pub fn token(claims: &Value) -> String {
    sign(claims, &setting("COSOUND_TEST_JWT_SECRET"))
}

/// A PostgREST client, with the token as bearer when one is given.
pub fn api(token: Option<&str>) -> Postgrest {
    let client = Postgrest::new(api_url());
    match token {
        Some(token) => client.insert_header("Authorization", format!("Bearer {token}")),
        None => client,
    }
}

/// Calls the RPC `function` with a JSON `body`; returns the HTTP status and the JSON answer.
pub async fn rpc(token: Option<&str>, function: &str, body: &str) -> (u16, Value) {
    let response = api(token)
        .rpc(function, body)
        .execute()
        .await
        .expect("PostgREST answers");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.expect("PostgREST answers JSON"),
    )
}

/// Parses pgvector's text form (`[1,0.5,…]`), as PostgREST returns a `vector`.
pub fn parse_vector(value: &Value) -> Vec<f32> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a vector is returned as text, got {value}"));
    text.trim_matches(['[', ']'])
        .split(',')
        .map(|x| x.parse().unwrap_or_else(|_| panic!("not a vector: {text}")))
        .collect()
}

/// The directory of the stack under test: its data, logs and configuration.
pub fn stack_dir() -> std::path::PathBuf {
    setting("COSOUND_TEST_STACK_DIR").into()
}

/// The URL of the gateway's database role in the stack under test.
pub fn database_url() -> String {
    setting("COSOUND_TEST_DATABASE_URL")
}

/// A superuser connection to the stack's database (over its private socket), for setting up
/// fixtures and checking what a refused request left behind.
pub async fn superuser() -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&superuser_conninfo(), tokio_postgres::NoTls)
            .await
            .expect("the test stack's database accepts the superuser");
    tokio::spawn(connection);
    client
}

/// A user with a profile, created directly in the database (staff roles too, when given),
/// and a listener token for them. Their e-mail address is `<id>@example.test`.
pub async fn new_user(db: &tokio_postgres::Client, roles: &[&str]) -> (String, String) {
    let id: String = db
        .query_one(
            "with u as (insert into auth.users (id, email)
                        select id, id || '@example.test' from (select gen_random_uuid() as id) n
                        returning id)
             select id::text from u",
            &[],
        )
        .await
        .expect("the user is created")
        .get(0);
    grant_roles(db, &id, roles).await;
    let token = token(&listener_claims(&id));
    (id, token)
}

/// A new listener with this taste (pgvector text) checked in at `player` through the API;
/// their id and token.
pub async fn check_in_with_taste(
    db: &tokio_postgres::Client,
    player: i64,
    taste: &str,
) -> (String, String) {
    let (id, token) = new_user(db, &[]).await;
    db.execute(
        "update cosound.profiles set preference = $2::text::extensions.vector(5)
          where id = $1::text::uuid",
        &[&id, &taste],
    )
    .await
    .expect("the taste is set");
    let (status, answer) = rpc(
        Some(&token),
        "check_in",
        &json!({"player_id": player}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    (id, token)
}

/// Gives the user these staff roles, directly in the database.
pub async fn grant_roles(db: &tokio_postgres::Client, user_id: &str, roles: &[&str]) {
    for role in roles {
        db.execute(
            "insert into cosound.staff (user_id, role) values ($1::text::uuid, $2::text::cosound.staff_role)",
            &[&user_id, role],
        )
        .await
        .expect("the staff role is granted");
    }
}

/// A token as the gateway issues it to a player device, valid for five minutes.
pub fn player_token(player_id: i64) -> String {
    token(&json!({
        "role": "player",
        "player_id": player_id,
        "aud": "authenticated",
        "iat": now(),
        "exp": now() + 300,
    }))
}

/// A player managed by `manager` (none when `None`), created directly in the database, where
/// listeners may also check in by choosing the room (rooms made by the API take codes only).
pub async fn new_player(db: &tokio_postgres::Client, manager: Option<&str>) -> i64 {
    db.query_one(
        "insert into cosound.players (name, owner_id, check_in_by_choice)
         values ('room ' || gen_random_uuid(), $1::text::uuid, true) returning id",
        &[&manager],
    )
    .await
    .expect("the player is created")
    .get(0)
}

/// A song with this type and embedding (pgvector text), created directly in the database.
pub async fn new_song(db: &tokio_postgres::Client, kind: &str, embedding: &str) -> i64 {
    db.query_one(
        "insert into cosound.songs (type, title, duration_ms, object_key, embedding)
         values ($1::text::cosound.song_type, 'song ' || $2, 60000, 'test/' || gen_random_uuid(),
                 $2::text::extensions.vector)
         returning id",
        &[&kind, &embedding],
    )
    .await
    .expect("the song is created")
    .get(0)
}

/// GETs `path` (a view with PostgREST's query string, e.g. `songs?id=eq.1`); returns the
/// HTTP status and the JSON answer.
pub async fn get(token: Option<&str>, path: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{}/{path}", api_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("PostgREST answers");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.expect("PostgREST answers JSON"),
    )
}

/// The first column of every row `sql` returns.
pub async fn column<T: tokio_postgres::types::FromSqlOwned>(
    db: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Vec<T> {
    db.query(sql, params)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A binary of the workspace, built now so a test never runs a stale one, with the features
/// this package's build chose (so it reuses what that build compiled) and its profile (so a
/// benchmark times an optimised binary); Cargo names the file.
pub fn built_binary(package: &str, bin: &str) -> std::path::PathBuf {
    let mut build =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--message-format=json"])
        .args(["-p", "cosound-e2e", "-p", package, "--bin", bin]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let output = build.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|message| message["executable"].as_str().map(std::path::PathBuf::from))
        .expect("cargo reports the binary it built")
}

/// How to reach the stack's database as its superuser, in libpq's form.
pub fn superuser_conninfo() -> String {
    setting("COSOUND_TEST_SUPERUSER_CONNINFO")
}
