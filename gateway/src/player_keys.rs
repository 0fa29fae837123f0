//! Player keys and player tokens.
//!
//! A key is `cpk_<player id>_<32 hex digits of nonce><32 hex digits of tag>`: 128 random bits
//! and a 128-bit HMAC of the rest under a secret only the gateway holds, shown once when
//! issued. The tag lets the gateway refuse a forged key without asking the database, so a
//! guessing client costs no database work and the limit on wrong keys never has to stand in
//! front of a real one. The database keeps only the key's SHA-256 (a fast hash is right for a
//! key this random), one key per player, so rotating replaces it and revoking deletes it, and
//! either refuses the old key, and ends the tokens traded for it, at once. A player trades its
//! key for a 5-minute JWT.

use crate::auth::{Caller, PLAYER_TOKEN_SECONDS};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathParams};
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::time::Instant;
use subtle::ConstantTimeEq;

const PREFIX: &str = "cpk_";
const NONCE_BYTES: usize = 16;
const TAG_BYTES: usize = 16;

/// Signs and checks the tags of player keys.
pub struct KeySigner {
    secret: [u8; 32],
}

impl KeySigner {
    /// The signing secret is derived from the JWT secret, with its own purpose, so there is
    /// no further secret to deploy; changing the JWT secret retires every player key too.
    pub fn new(jwt_secret: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(jwt_secret.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"cosound player key tags v1");
        KeySigner {
            secret: mac.finalize().into_bytes().into(),
        }
    }

    fn tag(&self, player_id: i64, nonce: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        mac.update(format!("{PREFIX}{player_id}_{}", hex::encode(nonce)).as_bytes());
        let full = mac.finalize().into_bytes();
        full[..TAG_BYTES].try_into().expect("SHA-256 is 32 bytes")
    }

    /// A fresh key for `player_id`.
    fn new_key(&self, player_id: i64) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let tag = self.tag(player_id, &nonce);
        format!(
            "{PREFIX}{player_id}_{}{}",
            hex::encode(nonce),
            hex::encode(tag)
        )
    }

    /// The player a key names, when the gateway issued it; `None` for anything else.
    fn issued_for(&self, key: &str) -> Option<i64> {
        let (player, digits) = key.strip_prefix(PREFIX)?.split_once('_')?;
        let player_id: i64 = player.parse().ok()?;
        let bytes = hex::decode(digits).ok()?;
        if bytes.len() != NONCE_BYTES + TAG_BYTES {
            return None;
        }
        let (nonce, tag) = bytes.split_at(NONCE_BYTES);
        bool::from(self.tag(player_id, nonce).ct_eq(tag)).then_some(player_id)
    }
}

/// What the database stores: the hash of the whole key, so a key only ever opens the player
/// it names.
fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Refuses anyone who is neither an admin nor the player's manager.
async fn require_manager(state: &AppState, caller: Caller, player_id: i64) -> ApiResult<()> {
    let uid = caller.user("manage player keys")?;
    let client = state.db.get().await?;
    let row = client
        .query_one("select cosound.manages_player($1, $2)", &[&player_id, &uid])
        .await?;
    if row.get::<_, Option<bool>>(0) == Some(true) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "only an admin or the manager of player {player_id} may manage its key"
        )))
    }
}

/// `POST /players/{id}/key`: issues a key, replacing any earlier one.
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(player_id): PathParams<i64>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_manager(&state, caller, player_id).await?;
    let key = state.key_signer.new_key(player_id);
    let mut client = state.db.get().await?;
    let transaction = client.transaction().await?;
    let inserted = transaction
        .query_one(
            "insert into cosound.player_keys (player_id, key_hash) values ($1, $2)
             on conflict (player_id) do update
               set key_hash = excluded.key_hash, created_at = now()
             returning created_at::text",
            &[&player_id, &key_hash(&key).as_slice()],
        )
        .await;
    let row = match inserted {
        Ok(row) => row,
        Err(error)
            if error.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) =>
        {
            return Err(ApiError::not_found(format!(
                "no player with id {player_id}"
            )));
        }
        Err(error) => return Err(error.into()),
    };
    // The tokens of the key this one replaces end with it.
    end_tokens(&transaction, player_id).await?;
    transaction.commit().await?;
    tracing::info!(player_id, "player key issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "player_id": player_id,
            "key": key,
            "created_at": row.get::<_, String>(0),
        })),
    ))
}

/// Ends every token the player holds now (`cosound.token_cutoffs`): PostgREST and the gateway
/// refuse them from the next request on.
async fn end_tokens(
    transaction: &deadpool_postgres::Transaction<'_>,
    player_id: i64,
) -> ApiResult<()> {
    transaction
        .execute(
            "select cosound.revoke_tokens('player:' || $1::bigint)",
            &[&player_id],
        )
        .await?;
    Ok(())
}

/// `DELETE /players/{id}/key`: revokes the key and ends its tokens at once.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(player_id): PathParams<i64>,
) -> ApiResult<StatusCode> {
    require_manager(&state, caller, player_id).await?;
    let mut client = state.db.get().await?;
    let transaction = client.transaction().await?;
    let deleted = transaction
        .execute(
            "delete from cosound.player_keys where player_id = $1",
            &[&player_id],
        )
        .await?;
    if deleted == 0 {
        return Err(ApiError::not_found(format!(
            "player {player_id} has no key to revoke"
        )));
    }
    end_tokens(&transaction, player_id).await?;
    transaction.commit().await?;
    tracing::info!(player_id, "player key revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct TokenRequest {
    key: String,
}

/// `POST /player/token`: a player's key → a player JWT. Only a key the gateway issued
/// reaches the database; a forged one is refused at once and counts against its address,
/// which past the limit is answered 429 — never a key with a good tag.
pub async fn exchange(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> ApiResult<Json<Value>> {
    let client_ip = peer.ip();
    let Some(player_id) = state.key_signer.issued_for(&request.key) else {
        state
            .forged_keys
            .count(client_ip, Instant::now())
            .map_err(|wait| {
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!("too many wrong keys from this address; try again in {wait} s"),
                )
                .with_retry_after(wait)
            })?;
        tracing::warn!(%client_ip, "forged player key refused");
        return Err(invalid_key());
    };
    if !is_current(&state, player_id, &request.key).await? {
        tracing::warn!(%client_ip, player_id, "rotated or revoked player key refused");
        return Err(invalid_key());
    }
    Ok(Json(json!({
        "access_token": state.keys.player_token(player_id),
        "token_type": "bearer",
        "expires_in": PLAYER_TOKEN_SECONDS,
        "player_id": player_id,
    })))
}

fn invalid_key() -> ApiError {
    ApiError::unauthorized(
        "invalid_key",
        "this player key is not valid (wrong, rotated or revoked)",
    )
}

/// Whether this issued key is still its player's key (not rotated, not revoked).
async fn is_current(state: &AppState, player_id: i64, key: &str) -> ApiResult<bool> {
    let client = state.db.get().await?;
    let stored: Option<Vec<u8>> = client
        .query_opt(
            "select key_hash from cosound.player_keys where player_id = $1",
            &[&player_id],
        )
        .await?
        .map(|row| row.get(0));
    Ok(stored.is_some_and(|stored| bool::from(key_hash(key).as_slice().ct_eq(&stored))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> KeySigner {
        KeySigner::new("a-jwt-secret-of-at-least-32-characters")
    }

    #[test]
    fn a_new_key_names_its_player_and_carries_128_random_bits() {
        let signer = signer();
        let key = signer.new_key(17);
        assert_eq!(signer.issued_for(&key), Some(17));
        assert_eq!(key.len(), "cpk_17_".len() + 64);
        assert_ne!(signer.new_key(17), key);
    }

    #[test]
    fn a_key_with_a_wrong_tag_is_not_ours() {
        let signer = signer();
        let key = signer.new_key(17);
        let last = key.chars().last().unwrap();
        let flipped = format!(
            "{}{}",
            &key[..key.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        assert_eq!(signer.issued_for(&flipped), None);
        let moved = key.replacen("cpk_17_", "cpk_18_", 1);
        assert_eq!(
            signer.issued_for(&moved),
            None,
            "a tag covers its player id"
        );
        let other = KeySigner::new("another-jwt-secret-of-32-characters!!");
        assert_eq!(other.issued_for(&key), None);
    }

    #[test]
    fn malformed_keys_name_no_player() {
        let signer = signer();
        for key in [
            "",
            "cpk_",
            "cpk_1_abc",
            "xyz_1_",
            "cpk_1_é",
            &format!("cpk_x_{}", "0".repeat(64)),
            &format!("cpk_1_{}", "g".repeat(64)),
            &format!("cpk_1_{}", "0".repeat(66)),
        ] {
            assert_eq!(signer.issued_for(key), None, "{key}");
        }
    }
}
