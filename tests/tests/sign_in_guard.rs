//! The gateway's guard on sign-ins: attempts per client address are limited on every sign-in
//! and sign-up path alike, other requests pass, and only a few hash at once.

use cosound_e2e::gateway::{config, OwnGateway};
use cosound_e2e::{gateway_url, superuser};
use serde_json::{json, Value};

async fn post(base: &str, path: &str, body: &Value) -> (u16, Option<String>) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_string());
    (response.status().as_u16(), retry_after)
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

// One test, so that no other sign-in runs while the crowd's are counted.
#[tokio::test]
async fn the_guard_limits_sign_ins_per_address_and_at_once() {
    no_more_than_two_sign_ins_hash_at_once().await;
    attempts_are_limited_per_address_on_every_path().await;
}

async fn attempts_are_limited_per_address_on_every_path() {
    let gateway = OwnGateway::start(&config(&[("--sign-ins-per-minute", "3")])).await;
    let base = &gateway.url;
    // A new address each time, so that the database's limit per e-mail address stays out of it.
    let wrong = || {
        json!({
            "email": format!("guard-{}@example.test", uuid_like()),
            "password": "not-it-at-all-1",
        })
    };
    assert_eq!(post(base, "/rest/v1/rpc/sign_in", &wrong()).await.0, 400);
    assert_eq!(
        post(base, "/auth/v1/token?grant_type=password", &wrong())
            .await
            .0,
        400
    );
    assert_eq!(
        post(base, "/rest/v1/rpc/sign_up", &json!({"email": "x"}))
            .await
            .0,
        404
    );
    for path in [
        "/rest/v1/rpc/sign_in",
        "/rest/v1/rpc/sign_up",
        "/auth/v1/token?grant_type=password",
        "/auth/v1/signup",
    ] {
        let (status, retry_after) = post(base, path, &wrong()).await;
        assert_eq!(status, 429, "{path}");
        let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    // The rest of the API is not limited by it.
    let songs = reqwest::get(format!("{base}/rest/v1/songs")).await.unwrap();
    assert_eq!(
        songs.status().as_u16(),
        401,
        "anon may not read songs, but was not limited"
    );
}

async fn no_more_than_two_sign_ins_hash_at_once() {
    let db = superuser().await;
    let attempts: Vec<_> = (0..24)
        .map(|n| {
            tokio::spawn(async move {
                let body = json!({
                    "email": format!("crowd-{n}-{}@example.test", std::process::id()),
                    "password": "not-it-at-all-1",
                });
                post(&gateway_url(), "/rest/v1/rpc/sign_in", &body).await.0
            })
        })
        .collect();
    let mut most = 0;
    while !attempts.iter().all(|attempt| attempt.is_finished()) {
        let hashing: i64 = db
            .query_one(
                "select count(*) from pg_stat_activity
                  where state = 'active' and query like '%sign_in%' and query not like '%pg_stat_activity%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        most = most.max(hashing);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap(), 400);
    }
    // Polling may miss the short ones; it never sees more than two.
    assert!(most <= 2, "{most} sign-ins hashed at once");
}
