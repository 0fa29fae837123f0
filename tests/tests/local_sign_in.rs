//! Local sign-up and sign-in through PostgREST: Supabase-shaped sessions whose tokens the API
//! accepts, passwords stored only as bcrypt hashes, and a clear 4xx for every bad attempt.

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
    let (status, session) = rpc(
        "sign_up",
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
async fn a_second_account_for_one_address_is_refused_with_409() {
    let email = unique_email("edsger");
    assert_eq!(
        rpc(
            "sign_up",
            json!({"email": email, "password": "fire-crackle-1"})
        )
        .await
        .0,
        200
    );
    let (status, body) = rpc(
        "sign_up",
        json!({"email": email, "password": "fire-crackle-2"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["message"],
        "an account with this e-mail address already exists"
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
        body["message"],
        "not a valid e-mail address: not-an-address"
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
