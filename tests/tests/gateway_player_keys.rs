//! Player keys: a manager (or an admin) issues, rotates and revokes a player's key; the
//! player trades it for a JWT that PostgREST accepts; old keys stop working at once; no one
//! else may touch a key; wrong keys are rate-limited.

use cosound_e2e::gateway::{config, OwnGateway};
use cosound_e2e::{gateway_url, get, new_player, new_user, player_token, rpc, superuser};
use serde_json::{json, Value};

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, retry_after)
}

async fn issue(token: Option<&str>, player: i64) -> (u16, Value) {
    let url = format!("{}/players/{player}/key", gateway_url());
    let (status, body, _) = call(reqwest::Method::POST, url, token, None).await;
    (status, body)
}

async fn revoke(token: Option<&str>, player: i64) -> (u16, Value) {
    let url = format!("{}/players/{player}/key", gateway_url());
    let (status, body, _) = call(reqwest::Method::DELETE, url, token, None).await;
    (status, body)
}

async fn exchange_at(gateway: &str, key: &str) -> (u16, Value, Option<String>) {
    let url = format!("{gateway}/player/token");
    call(
        reqwest::Method::POST,
        url,
        None,
        Some(json!({ "key": key })),
    )
    .await
}

async fn exchange(key: &str) -> (u16, Value) {
    let (status, body, _) = exchange_at(&gateway_url(), key).await;
    (status, body)
}

#[tokio::test]
async fn a_manager_issues_rotates_and_revokes_and_old_keys_stop_at_once() {
    let db = superuser().await;
    let (manager, manager_token) = new_user(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager)).await;

    let (status, issued) = issue(Some(&manager_token), player).await;
    assert_eq!(status, 201, "{issued}");
    let first = issued["key"].as_str().unwrap().to_string();
    assert!(first.len() >= 64, "a key carries 256 bits: {first}");

    let (status, token) = exchange(&first).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["player_id"], player);
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 300);
    let jwt = token["access_token"].as_str().unwrap();

    // PostgREST accepts the token for the device's own queue and heartbeat.
    let (status, queue) = get(Some(jwt), &format!("player_queue?player_id=eq.{player}")).await;
    assert_eq!(status, 200, "{queue}");
    let (status, beat) = rpc(Some(jwt), "heartbeat", "{}").await;
    assert_eq!(status, 200, "{beat}");
    assert_eq!(beat["player_id"], player);

    // Only a hash is stored.
    let stored: Vec<u8> = db
        .query_one(
            "select key_hash from cosound.player_keys where player_id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored.len(), 32);
    assert!(!first.as_bytes().windows(32).any(|w| w == stored.as_slice()));

    let (status, rotated) = issue(Some(&manager_token), player).await;
    assert_eq!(status, 201, "{rotated}");
    let second = rotated["key"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let (status, refused) = exchange(&first).await;
    assert_eq!(status, 401, "a rotated key is refused: {refused}");
    assert_eq!(refused["error"], "invalid_key");
    assert_eq!(exchange(&second).await.0, 200);

    assert_eq!(revoke(Some(&manager_token), player).await.0, 204);
    assert_eq!(exchange(&second).await.0, 401, "a revoked key is refused");
    let (status, again) = revoke(Some(&manager_token), player).await;
    assert_eq!(status, 404, "{again}");
}

#[tokio::test]
async fn an_admin_manages_any_players_key_and_unknown_players_are_404() {
    let db = superuser().await;
    let (_, admin_token) = new_user(&db, &["admin"]).await;
    let player = new_player(&db, None).await;
    let (status, issued) = issue(Some(&admin_token), player).await;
    assert_eq!(status, 201, "{issued}");
    let (status, body) = issue(Some(&admin_token), i64::MAX).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn only_the_players_manager_or_an_admin_may_touch_its_key() {
    let db = superuser().await;
    let (manager, manager_token) = new_user(&db, &["manager"]).await;
    let (_, other_manager) = new_user(&db, &["manager"]).await;
    let (_, listener) = new_user(&db, &[]).await;
    let player = new_player(&db, Some(&manager)).await;
    let (_, issued) = issue(Some(&manager_token), player).await;
    let key = issued["key"].as_str().unwrap().to_string();

    let device = player_token(player);
    for (who, token) in [
        ("nobody", None),
        ("another manager", Some(other_manager.as_str())),
        ("a listener", Some(listener.as_str())),
        ("the device itself", Some(device.as_str())),
    ] {
        let expected = if token.is_none() { 401 } else { 403 };
        let (status, body) = issue(token, player).await;
        assert_eq!(status, expected, "{who} issues: {body}");
        assert!(body["message"].is_string(), "{body}");
        let (status, body) = revoke(token, player).await;
        assert_eq!(status, expected, "{who} revokes: {body}");
    }
    assert_eq!(
        exchange(&key).await.0,
        200,
        "the key survived every refusal"
    );

    // The API roles cannot read keys, even their hashes.
    for role in ["anon", "authenticated", "player"] {
        let error = db
            .batch_execute(&format!(
                "begin; set local role {role}; select * from cosound.player_keys; rollback"
            ))
            .await
            .expect_err("API roles cannot read player keys");
        db.batch_execute("rollback").await.unwrap();
        assert!(
            error.to_string().contains("permission denied")
                || format!("{error:?}").contains("42501"),
            "{role}: {error:?}"
        );
    }
}

#[tokio::test]
async fn malformed_and_forged_keys_are_401() {
    for key in ["", "not-a-key", &format!("cpk_1_{}", "0".repeat(64))] {
        let (status, body) = exchange(key).await;
        assert_eq!(status, 401, "{key}: {body}");
    }
}

#[tokio::test]
async fn forged_keys_past_the_limit_get_429_but_a_real_key_always_gets_through() {
    let db = superuser().await;
    let (_, admin_token) = new_user(&db, &["admin"]).await;
    let player = new_player(&db, None).await;
    let (_, issued) = issue(Some(&admin_token), player).await;
    let key = issued["key"].as_str().unwrap().to_string();
    // A gateway of its own, so this test's failures do not limit the others'.
    let gateway = OwnGateway::start(&config(&[("--key-failures-per-minute", "3")])).await;

    // Forty forged keys at once: exactly the limit of them are told 401, the rest wait.
    let forged = format!("cpk_{player}_{}", "f".repeat(64));
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let (url, forged) = (gateway.url.clone(), forged.clone());
            tokio::spawn(async move { exchange_at(&url, &forged).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        let (status, body, retry_after) = attempt.await.unwrap();
        if status == 429 {
            assert_eq!(body["error"], "too_many_attempts");
            let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
        statuses.push(status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [[401; 3].as_slice(), &[429; 37]].concat());

    // The device behind the same address is not locked out by them.
    let (status, body, _) = exchange_at(&gateway.url, &key).await;
    assert_eq!(
        status, 200,
        "a real key gets through a limited address: {body}"
    );
    assert_eq!(body["player_id"], player);
    // A real key that was revoked is refused as invalid, never as "wait".
    revoke(Some(&admin_token), player).await;
    assert_eq!(exchange_at(&gateway.url, &key).await.0, 401);
}

/// POSTs `body` (raw bytes, with `content_type` when given) to `/player/token`.
async fn raw_exchange(content_type: Option<&str>, body: &str) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new().post(format!("{}/player/token", gateway_url()));
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    let response = request
        .body(body.to_string())
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: the refusal is not JSON: {text}"));
    (status, content_type, body)
}

#[tokio::test]
async fn a_malformed_or_missing_body_is_refused_with_a_json_error() {
    let json = Some("application/json");
    for (what, content_type, body, status, code) in [
        ("no body, no type", None, "", 415, "unsupported_media_type"),
        (
            "a key as text",
            Some("text/plain"),
            "cpk_1_x",
            415,
            "unsupported_media_type",
        ),
        ("an empty JSON body", json, "", 400, "malformed_json"),
        ("broken JSON", json, "{\"key\": ", 400, "malformed_json"),
        ("no key", json, "{}", 422, "invalid_body"),
        (
            "a key of the wrong type",
            json,
            "{\"key\": 7}",
            422,
            "invalid_body",
        ),
    ] {
        let (got, content, answer) = raw_exchange(content_type, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(content.as_deref(), Some("application/json"), "{what}");
        assert_eq!(answer["error"], code, "{what}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {answer}"
        );
    }
    let (_, _, answer) = raw_exchange(json, "{}").await;
    assert!(
        answer["message"].as_str().unwrap().contains("key"),
        "the message names the missing field: {answer}"
    );
}

#[tokio::test]
async fn a_malformed_path_or_query_an_unknown_endpoint_and_a_wrong_method_are_json_errors() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let http = reqwest::Client::new();
    let gateway = gateway_url();
    for (what, request, status, code) in [
        (
            "a query string that names the title twice",
            http.post(format!("{gateway}/songs?title=a&title=b&type=soundscape"))
                .bearer_auth(&admin),
            400,
            "invalid_query",
        ),
        (
            "a player id that is not a number",
            http.post(format!("{gateway}/players/abc/key"))
                .bearer_auth(&admin),
            400,
            "invalid_path",
        ),
        (
            "a song id that is not a number",
            http.get(format!("{gateway}/media/abc"))
                .bearer_auth(player_token(1)),
            400,
            "invalid_path",
        ),
        (
            "an unknown endpoint",
            http.get(format!("{gateway}/no/such/thing")),
            404,
            "not_found",
        ),
        (
            "GET on a POST endpoint",
            http.get(format!("{gateway}/player/token")),
            405,
            "method_not_allowed",
        ),
    ] {
        let response = request.send().await.expect("the gateway answers");
        assert_eq!(response.status().as_u16(), status, "{what}");
        let text = response.text().await.unwrap();
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{what}: the refusal is not JSON: {text}"));
        assert_eq!(answer["error"], code, "{what}: {answer}");
        assert!(answer["message"].is_string(), "{what}: {answer}");
    }
    let response = http
        .get(format!("{gateway}/player/token"))
        .send()
        .await
        .unwrap();
    let allow = response.headers().get("allow").map(|v| v.to_str().unwrap());
    assert_eq!(allow, Some("POST"), "a 405 says what the endpoint takes");
}
