//! The walking skeleton: a signed request goes through PostgREST to an RPC that runs the
//! cosound extension's Rust code on pgvector values; bad tokens are refused; the gateway
//! reaches the database and the S3 bucket.

use cosound_e2e::{gateway_url, listener_claims, now, parse_vector, rpc, sign, token};
use serde_json::{json, Value};
use std::time::Duration;

const RATE_RAIN_LISTENER_LIKES_WAVES: &str =
    r#"{"preference": "[1,0,0,0,0]", "embedding": "[0,0.5,0,0,0]", "rating": 5}"#;

async fn call(token: Option<&str>, body: &str) -> (u16, Value) {
    rpc(token, "preference_after_rating", body).await
}

#[tokio::test]
async fn a_listener_token_runs_the_learning_rule_in_the_database() {
    let (status, body) = call(
        Some(&token(&listener_claims(
            "5b4e1c2a-0000-4000-8000-000000000001",
        ))),
        RATE_RAIN_LISTENER_LIKES_WAVES,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let n = (0.88f32 * 0.88 + 0.12 * 0.12).sqrt();
    let expected = [0.88 / n, 0.12 / n, 0.0, 0.0, 0.0];
    let got = parse_vector(&body);
    assert_eq!(got.len(), 5);
    assert!(
        got.iter().zip(expected).all(|(g, e)| (g - e).abs() < 1e-6),
        "{got:?} != {expected:?}"
    );
}

#[tokio::test]
async fn a_request_without_a_token_is_refused() {
    let (status, body) = call(None, RATE_RAIN_LISTENER_LIKES_WAVES).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "42501", "{body}");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let mut claims = listener_claims("5b4e1c2a-0000-4000-8000-000000000002");
    claims["exp"] = json!(now() - 60);
    let (status, body) = call(Some(&token(&claims)), RATE_RAIN_LISTENER_LIKES_WAVES).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "JWT expired", "{body}");
}

/// PostgREST keeps verified tokens' claims (jwt-cache-max-lifetime), never past their `exp`
/// and its 30 s allowance for clock skew.
#[tokio::test]
async fn a_token_used_while_valid_is_refused_once_it_expires() {
    const CLOCK_SKEW_ALLOWED: u64 = 30;
    let mut claims = listener_claims("5b4e1c2a-0000-4000-8000-000000000005");
    claims["exp"] = json!(now() + 2);
    let bearer = token(&claims);
    let (status, body) = call(Some(&bearer), RATE_RAIN_LISTENER_LIKES_WAVES).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_secs(2 + CLOCK_SKEW_ALLOWED + 2)).await;
    let (status, body) = call(Some(&bearer), RATE_RAIN_LISTENER_LIKES_WAVES).await;
    assert_eq!(status, 401, "the cached token outlived its exp: {body}");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let forged = sign(
        &listener_claims("5b4e1c2a-0000-4000-8000-000000000003"),
        "not-the-stack-secret-but-32-chars-long",
    );
    let (status, body) = call(Some(&forged), RATE_RAIN_LISTENER_LIKES_WAVES).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "PGRST301", "{body}");
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let mut claims = listener_claims("5b4e1c2a-0000-4000-8000-000000000004");
    claims["aud"] = json!("some-other-service");
    let (status, body) = call(Some(&token(&claims)), RATE_RAIN_LISTENER_LIKES_WAVES).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn a_rating_outside_one_to_five_gets_a_clear_400() {
    let bad = r#"{"preference": "[1,0,0,0,0]", "embedding": "[0,1,0,0,0]", "rating": 9}"#;
    let (status, body) = call(
        Some(&token(&listener_claims(
            "5b4e1c2a-0000-4000-8000-000000000005",
        ))),
        bad,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"], "a rating is a whole number from 1 to 5, not 9",
        "{body}"
    );
}

#[tokio::test]
async fn an_embedding_of_the_wrong_size_gets_a_clear_400() {
    let bad = r#"{"preference": "[1,0,0,0,0]", "embedding": "[0,1,0]", "rating": 4}"#;
    let (status, body) = call(
        Some(&token(&listener_claims(
            "5b4e1c2a-0000-4000-8000-000000000006",
        ))),
        bad,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expected a vector of 5 dimensions"),
        "{body}"
    );
}

#[tokio::test]
async fn the_gateway_reaches_the_database_and_the_bucket() {
    let client = reqwest::Client::new();
    let url = format!("{}/healthz", gateway_url());
    // The bucket is created as SeaweedFS starts, possibly just after its port opens.
    let mut last = None;
    for _ in 0..50 {
        let response = client.get(&url).send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("healthz answers JSON");
        if status == 200 {
            assert_eq!(body, json!({"database": {"ok": true}, "s3": {"ok": true}}));
            return;
        }
        last = Some((status, body));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the gateway stayed unhealthy: {last:?}");
}
