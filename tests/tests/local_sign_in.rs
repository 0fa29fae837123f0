//! Local sign-up and sign-in through PostgREST: Supabase-shaped sessions whose tokens the API
//! accepts, passwords stored only as bcrypt hashes, a clear 4xx for every bad attempt, the
//! same answer to a sign-up whether or not the address has an account, and a limit on failed
//! sign-ins per address.

use cosound_e2e::{api, superuser};
use jsonwebtoken::{decode, DecodingKey, Validation};
use serde_json::{json, Value};

async fn rpc(function: &str, body: Value) -> (u16, Value) {
    cosound_e2e::rpc(None, function, &body.to_string()).await
}

fn unique_email(name: &str) -> String {
    format!("{name}-{}@example.test", std::process::id())
}

#[tokio::test]
async fn a_new_listener_gets_a_supabase_style_session_the_api_accepts() {
    let email = unique_email("ada");
    let (status, answer) = rpc(
        "sign_up",
        json!({"email": email, "password": "quiet-rain-7"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["email"], email);
    assert!(answer.get("access_token").is_none(), "{answer}");
    let (status, session) = rpc(
        "sign_in",
        json!({"email": email, "password": "quiet-rain-7"}),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["expires_in"], 3600);
    assert_eq!(session["user"]["email"], email);

    let token = session["access_token"].as_str().unwrap();
    let mut validation = Validation::default();
    validation.set_audience(&["authenticated"]);
    let secret = std::env::var("COSOUND_TEST_JWT_SECRET").unwrap();
    let claims = decode::<Value>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["email"], email);
    assert_eq!(claims["sub"], session["user"]["id"]);

    let response = api(Some(token))
        .rpc(
            "preference_after_rating",
            r#"{"preference": null, "embedding": "[0,1,0,0,0]", "rating": 5}"#,
        )
        .execute()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn the_password_is_stored_only_as_a_bcrypt_hash() {
    let email = unique_email("grace");
    let (status, _) = rpc(
        "sign_up",
        json!({"email": email, "password": "thunder-far-3"}),
    )
    .await;
    assert_eq!(status, 200);
    let row = superuser()
        .await
        .query_one(
            "select encrypted_password from auth.users where email = $1",
            &[&email],
        )
        .await
        .unwrap();
    let stored: String = row.get(0);
    assert!(stored.starts_with("$2b$10$"), "{stored}");
    assert!(!stored.contains("thunder-far-3"));
}

#[tokio::test]
async fn signing_in_checks_the_password() {
    let email = unique_email("alan");
    assert_eq!(
        rpc(
            "sign_up",
            json!({"email": email, "password": "waves-at-dusk-5"})
        )
        .await
        .0,
        200
    );

    let (status, session) = rpc(
        "sign_in",
        json!({"email": email.to_uppercase(), "password": "waves-at-dusk-5"}),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    assert!(session["access_token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));

    let (status, body) = rpc(
        "sign_in",
        json!({"email": email, "password": "waves-at-dusk-6"}),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("invalid e-mail or password"))
    );
    let (status, body) = rpc(
        "sign_in",
        json!({"email": unique_email("nobody"), "password": "waves-at-dusk-5"}),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("invalid e-mail or password"))
    );
}

#[tokio::test]
async fn a_taken_address_gets_the_same_answer_and_keeps_its_password() {
    let email = unique_email("edsger");
    let first = rpc(
        "sign_up",
        json!({"email": email, "password": "fire-crackle-1"}),
    )
    .await;
    let second = rpc(
        "sign_up",
        json!({"email": email, "password": "fire-crackle-2"}),
    )
    .await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(
        first, second,
        "a sign-up does not tell a taken address from a new one"
    );
    let count = superuser()
        .await
        .query_one(
            "select count(*) from auth.users where email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(count, 1);
    assert_eq!(
        rpc(
            "sign_in",
            json!({"email": email, "password": "fire-crackle-2"})
        )
        .await
        .0,
        400,
        "the second sign-up did not change the password"
    );
    assert_eq!(
        rpc(
            "sign_in",
            json!({"email": email, "password": "fire-crackle-1"})
        )
        .await
        .0,
        200
    );
}

/// Five failures, then refused: the right password too, an unknown address alike.
async fn five_failures_then_refused(email: &str, right_password: &str) {
    for attempt in 1..=5 {
        let (status, body) = rpc(
            "sign_in",
            json!({"email": email, "password": "not-the-password-0"}),
        )
        .await;
        assert_eq!(status, 400, "failure {attempt} of {email}: {body}");
    }
    let response = api(None)
        .rpc(
            "sign_in",
            json!({"email": email, "password": right_password}).to_string(),
        )
        .execute()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&wait), "Retry-After {wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "too many failed sign-ins for this e-mail address: wait, then try again"
    );
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address_known_or_not() {
    let email = unique_email("kathleen");
    rpc(
        "sign_up",
        json!({"email": email, "password": "gale-warning-4"}),
    )
    .await;
    five_failures_then_refused(&email, "gale-warning-4").await;
    five_failures_then_refused(&unique_email("nobody-at-all"), "gale-warning-4").await;

    // The limit ends when the oldest failure leaves the 15-minute window.
    superuser()
        .await
        .execute(
            "update auth.local_failed_sign_ins set failed_at = failed_at - interval '15 minutes'
              where address_hash = sha256(convert_to($1, 'UTF8'))",
            &[&email],
        )
        .await
        .unwrap();
    assert_eq!(
        rpc(
            "sign_in",
            json!({"email": email, "password": "gale-warning-4"})
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn weak_passwords_and_bad_addresses_are_refused_and_create_nothing() {
    let email = unique_email("barbara");
    let (status, body) = rpc("sign_up", json!({"email": email, "password": "short1"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "the password must have at least 8 characters"
    );
    let (status, body) = rpc(
        "sign_up",
        json!({"email": "not-an-address", "password": "long-enough-1"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        (body["message"].as_str(), body["details"].as_str()),
        (Some("not a valid e-mail address"), Some("'not-an-address'"))
    );
    let left = superuser()
        .await
        .query_one(
            "select count(*) from auth.users where email = $1",
            &[&email],
        )
        .await
        .unwrap();
    assert_eq!(left.get::<_, i64>(0), 0);
}

#[tokio::test]
async fn the_seeded_demo_listener_can_sign_in() {
    let (status, session) = rpc(
        "sign_in",
        json!({"email": "listener@demo.cosound.local", "password": "listen-to-rain-1"}),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["email"], "listener@demo.cosound.local");
}
