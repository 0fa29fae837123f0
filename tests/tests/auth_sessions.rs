//! `/auth/v1` on the gateway: GoTrue's password sign-in, served from the local accounts.
//! Sessions work with the API, refresh tokens rotate, and every refresh token that is not the
//! session's live one — forged, already used, expired, or of an ended session — is refused in
//! GoTrue's words, a reused one ending its whole session.

use cosound_e2e::{gateway_url, listener_claims, now, sign, superuser, token};
use serde_json::{json, Value};

fn unique_email(name: &str) -> String {
    format!("{name}-{}-{}@example.test", std::process::id(), now())
}

async fn call(
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", gateway_url()));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post(path: &str, body: Value) -> (u16, Value) {
    call(reqwest::Method::POST, path, None, Some(body)).await
}

async fn refresh(refresh_token: &str) -> (u16, Value) {
    post(
        "/auth/v1/token?grant_type=refresh_token",
        json!({ "refresh_token": refresh_token }),
    )
    .await
}

async fn user(access_token: &str) -> (u16, Value) {
    call(
        reqwest::Method::GET,
        "/auth/v1/user",
        Some(access_token),
        None,
    )
    .await
}

/// A new account's first session: sign up (which answers with a user and no session, as for
/// a taken address), then sign in.
async fn signed_up(name: &str) -> (String, Value) {
    let email = unique_email(name);
    let (status, user) = post(
        "/auth/v1/signup",
        json!({ "email": email, "password": "soft-rain-at-night-4" }),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (&user["email"], user.get("access_token")),
        (&json!(email), None)
    );
    let (status, session) = post(
        "/auth/v1/token?grant_type=password",
        json!({ "email": email, "password": "soft-rain-at-night-4" }),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    (email, session)
}

fn error_code(body: &Value) -> &str {
    body["error_code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_session_signs_in_reads_the_api_refreshes_and_signs_out() {
    let (email, first) = signed_up("ines").await;
    assert_eq!(first["token_type"], "bearer");
    assert_eq!(first["user"]["email"], email);
    assert_eq!(first["user"]["aud"], "authenticated");

    let (status, session) = post(
        "/auth/v1/token?grant_type=password",
        json!({ "email": email, "password": "soft-rain-at-night-4" }),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let access = session["access_token"].as_str().unwrap();
    let (status, me) = user(access).await;
    assert_eq!((status, &me["email"]), (200, &json!(email)));

    // The token is good for the API, through the gateway's /rest/v1 as on Supabase.
    let response = reqwest::Client::new()
        .get(format!("{}/rest/v1/my_profile?select=id", gateway_url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let rows: Value = response.json().await.unwrap();
    assert_eq!(rows[0]["id"], me["id"]);

    let (status, next) = refresh(session["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{next}");
    assert_ne!(next["refresh_token"], session["refresh_token"]);
    assert_eq!(user(next["access_token"].as_str().unwrap()).await.0, 200);

    let (status, _) = call(
        reqwest::Method::POST,
        "/auth/v1/logout?scope=local",
        Some(next["access_token"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = refresh(next["refresh_token"].as_str().unwrap()).await;
    assert_eq!((status, error_code(&body)), (400, "session_not_found"));
    let (status, body) = user(next["access_token"].as_str().unwrap()).await;
    assert_eq!((status, error_code(&body)), (403, "session_not_found"));
    // Signing out of one session leaves the first one alone.
    assert_eq!(user(first["access_token"].as_str().unwrap()).await.0, 200);
}

#[tokio::test]
async fn a_reused_refresh_token_ends_its_session() {
    let (_, session) = signed_up("omar").await;
    let stolen = session["refresh_token"].as_str().unwrap();
    let (status, next) = refresh(stolen).await;
    assert_eq!(status, 200);

    let (status, body) = refresh(stolen).await;
    assert_eq!(
        (status, error_code(&body), body["msg"].as_str()),
        (
            400,
            "refresh_token_already_used",
            Some("Invalid Refresh Token: Already Used")
        )
    );
    // The thief's replay cost the owner the session too: its live token is refused now.
    let (status, body) = refresh(next["refresh_token"].as_str().unwrap()).await;
    assert_eq!((status, error_code(&body)), (400, "session_not_found"));
}

#[tokio::test]
async fn forged_and_expired_refresh_tokens_are_refused() {
    let (_, session) = signed_up("wen").await;
    let live = session["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&live.chars().rev().collect::<String>()).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "refresh_token_not_found")
    );
    let (status, body) = post("/auth/v1/token?grant_type=refresh_token", json!({})).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"));

    // Only the hash is stored: the token itself is nowhere in the database.
    let db = superuser().await;
    let stored: i64 = db
        .query_one(
            "select count(*) from auth.local_refresh_tokens
              where token_hash = sha256(convert_to($1, 'UTF8'))",
            &[&live],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);

    db.execute(
        "update auth.local_refresh_tokens set created_at = now() - interval '8 days'
          where token_hash = sha256(convert_to($1, 'UTF8'))",
        &[&live],
    )
    .await
    .unwrap();
    let (status, body) = refresh(live).await;
    assert_eq!((status, error_code(&body)), (400, "session_expired"));
}

#[tokio::test]
async fn bad_sign_ups_and_sign_ins_get_gotrues_errors() {
    let (email, _) = signed_up("yara").await;
    let (status, taken) = post(
        "/auth/v1/signup",
        json!({ "email": email, "password": "another-pass-5" }),
    )
    .await;
    assert_eq!(
        status, 200,
        "a taken address is answered as a new one: {taken}"
    );
    assert_eq!(taken["identities"], json!([]));
    let cases = [
        (
            "/auth/v1/signup",
            json!({ "email": unique_email("zed"), "password": "short1" }),
            422,
            "weak_password",
        ),
        (
            "/auth/v1/signup",
            json!({ "email": "not-an-address", "password": "soft-rain-at-night-4" }),
            400,
            "email_address_invalid",
        ),
        (
            "/auth/v1/token?grant_type=password",
            json!({ "email": email, "password": "soft-rain-at-night-5" }),
            400,
            "invalid_credentials",
        ),
        (
            "/auth/v1/token?grant_type=password",
            json!({ "email": email }),
            400,
            "validation_failed",
        ),
        (
            "/auth/v1/token?grant_type=magic_link",
            json!({}),
            400,
            "unsupported_grant_type",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = post(path, body.clone()).await;
        assert_eq!((got, error_code(&answer)), (status, code), "{path} {body}");
        assert!(answer["msg"].as_str().is_some_and(|msg| !msg.is_empty()));
    }

    // Clients that name API version 2024-01-01 get that version's shape, and the header back.
    let response = reqwest::Client::new()
        .post(format!(
            "{}/auth/v1/token?grant_type=password",
            gateway_url()
        ))
        .header("X-Supabase-Api-Version", "2024-01-01")
        .json(&json!({ "email": email, "password": "soft-rain-at-night-5" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-supabase-api-version"], "2024-01-01");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "code": "invalid_credentials", "message": "Invalid login credentials" })
    );
}

#[tokio::test]
async fn five_wrong_passwords_pause_the_address_in_gotrues_words() {
    let (email, _) = signed_up("lin").await;
    let wrong = json!({ "email": email, "password": "not-the-password-0" });
    for _ in 0..5 {
        let (status, answer) = post("/auth/v1/token?grant_type=password", wrong.clone()).await;
        assert_eq!((status, error_code(&answer)), (400, "invalid_credentials"));
    }
    let (status, answer) = post(
        "/auth/v1/token?grant_type=password",
        json!({ "email": email, "password": "soft-rain-at-night-4" }),
    )
    .await;
    assert_eq!(
        (status, error_code(&answer)),
        (429, "over_request_rate_limit"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_user_endpoint_refuses_missing_forged_and_expired_tokens() {
    let (status, body) = call(reqwest::Method::GET, "/auth/v1/user", None, None).await;
    assert_eq!((status, error_code(&body)), (401, "no_authorization"));

    let (_, session) = signed_up("kofi").await;
    let id = session["user"]["id"].as_str().unwrap();
    let forged = sign(
        &listener_claims(id),
        "not-the-stack-secret-but-32-chars-long",
    );
    let mut expired = listener_claims(id);
    expired["exp"] = json!(now() - 60);
    for bad in [forged, token(&expired), "not.a.jwt".to_string()] {
        let (status, body) = user(&bad).await;
        assert_eq!((status, error_code(&body)), (403, "bad_jwt"), "{bad}");
    }
}
