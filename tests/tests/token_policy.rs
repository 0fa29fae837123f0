//! One token policy on both doors: PostgREST and the gateway accept and refuse the same JWTs
//! (claims they must carry, roles, the 30 s allowance for clock skew), and revoked tokens stop
//! at both from the next request on.

use cosound_e2e::{
    gateway_url, get, listener_claims, new_player, new_user, now, player_token, rpc, superuser,
    token,
};
use serde_json::{json, Value};

/// What PostgREST answers a listener's read with this token.
async fn at_postgrest(bearer: &str) -> u16 {
    get(Some(bearer), "my_profile?select=id").await.0
}

/// What the gateway answers with this token, before any other check: a song that does not
/// exist is 404 to a caller it accepts.
async fn at_gateway(bearer: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/media/{}", gateway_url(), i64::MAX))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn both(bearer: &str) -> (u16, u16) {
    (at_postgrest(bearer).await, at_gateway(bearer).await)
}

#[tokio::test]
async fn both_doors_refuse_the_same_tokens() {
    let db = superuser().await;
    let (admin_id, _) = new_user(&db, &["admin"]).await;
    let good = listener_claims(&admin_id);
    assert_eq!(both(&token(&good)).await, (200, 404));

    let without = |claim: &str| {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().remove(claim);
        claims
    };
    let with = |claim: &str, value: Value| {
        let mut claims = good.clone();
        claims[claim] = value;
        claims
    };
    let refused = [
        ("no exp", without("exp"), 401),
        ("no iat", without("iat"), 401),
        ("no aud", without("aud"), 401),
        (
            "not valid for another minute",
            with("nbf", json!(now() + 60)),
            401,
        ),
        (
            "an anon token naming an admin",
            with("role", json!("anon")),
            401,
        ),
        ("expired 45 s ago", with("exp", json!(now() - 45)), 401),
        // PostgREST cannot switch to a role it was not granted: 403 before any hook.
        (
            "a role the API does not have",
            with("role", json!("postgres")),
            403,
        ),
    ];
    for (what, claims, at_postgrest) in refused {
        assert_eq!(both(&token(&claims)).await, (at_postgrest, 401), "{what}");
    }
    // Within the 30 s both allow for clock skew, both still accept.
    assert_eq!(
        both(&token(&with("exp", json!(now() - 15)))).await,
        (200, 404),
        "expired 15 s ago"
    );
    assert_eq!(
        both(&token(&with("nbf", json!(now() + 15)))).await,
        (200, 404),
        "valid in 15 s"
    );
}

#[tokio::test]
async fn a_revoked_player_key_ends_its_tokens_at_once() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let player = new_player(&db, None).await;
    let issued = reqwest::Client::new()
        .post(format!("{}/players/{player}/key", gateway_url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status().as_u16(), 201);
    // Cutoffs count whole seconds: the token comes a second after the key, the revocation a
    // second after the token.
    let second = std::time::Duration::from_millis(1100);
    tokio::time::sleep(second).await;
    let mut claims: Value = json!({
        "role": "player", "player_id": player, "aud": "authenticated",
        "iat": now(), "exp": now() + 300,
    });
    let device = token(&claims);
    let queue = format!("player_queue?player_id=eq.{player}");
    assert_eq!(
        (
            get(Some(&device), &queue).await.0,
            at_gateway(&device).await
        ),
        (200, 404)
    );

    tokio::time::sleep(second).await;
    let revoked = reqwest::Client::new()
        .delete(format!("{}/players/{player}/key", gateway_url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    let (status, refusal) = get(Some(&device), &queue).await;
    assert_eq!(status, 401, "{refusal}");
    assert_eq!(refusal["message"], "the JWT was revoked: sign in again");
    assert_eq!(at_gateway(&device).await, 401);

    // A token issued after it (a new key's) works.
    claims["iat"] = json!(now());
    assert_eq!(get(Some(&token(&claims)), &queue).await.0, 200);
    assert_eq!(get(Some(&player_token(player)), &queue).await.0, 200);
}

#[tokio::test]
async fn a_listener_or_an_admin_ends_every_token_of_the_listener() {
    let db = superuser().await;
    let (listener_id, _) = new_user(&db, &[]).await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let earlier = |seconds: u64| {
        let mut claims = listener_claims(&listener_id);
        claims["iat"] = json!(now() - seconds);
        token(&claims)
    };
    let phone = earlier(10);
    let laptop = earlier(5);
    let (status, _) = rpc(Some(&laptop), "sign_out_everywhere", "{}").await;
    assert_eq!(status, 200);
    assert_eq!(both(&phone).await, (401, 401));
    assert_eq!(both(&laptop).await, (401, 401));
    let fresh = token(&listener_claims(&listener_id));
    assert_eq!(at_postgrest(&fresh).await, 200, "signing in again works");

    // An admin does the same for someone else, by e-mail; a listener may not.
    let email: String = db
        .query_one(
            "select email from auth.users where id = $1::text::uuid",
            &[&listener_id],
        )
        .await
        .unwrap()
        .get(0);
    let by_email = json!({ "email": email }).to_string();
    assert_eq!(rpc(Some(&fresh), "revoke_tokens", &by_email).await.0, 403);
    let before = earlier(2);
    assert_eq!(rpc(Some(&admin), "revoke_tokens", &by_email).await.0, 200);
    assert_eq!(both(&before).await, (401, 401));
}
