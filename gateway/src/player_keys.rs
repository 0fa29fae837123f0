//! Player keys and player tokens.
//!
//! A key is `cpk_<player id>_<64 hex digits>`: 256 random bits, shown once when issued. The
//! database keeps only its SHA-256 (a fast hash is right for a key this random: nothing can
//! be guessed from it), one key per player, so rotating replaces it and revoking deletes it,
//! and either refuses the old key at once. A player trades its key for a 5-minute JWT.

use crate::auth::{Caller, PLAYER_TOKEN_SECONDS};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathParams};
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::time::Instant;
use subtle::ConstantTimeEq;

const PREFIX: &str = "cpk_";

/// A fresh key for `player_id`.
fn new_key(player_id: i64) -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    format!("{PREFIX}{player_id}_{}", hex(&secret))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The player a key claims to belong to; `None` when it is not shaped like a key.
fn claimed_player(key: &str) -> Option<i64> {
    let (player, secret) = key.strip_prefix(PREFIX)?.split_once('_')?;
    let well_formed = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| player.parse().ok()).flatten()
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
    let key = new_key(player_id);
    let client = state.db.get().await?;
    let inserted = client
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

/// `DELETE /players/{id}/key`: revokes the key; its tokens still run out within 5 minutes.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(player_id): PathParams<i64>,
) -> ApiResult<StatusCode> {
    require_manager(&state, caller, player_id).await?;
    let client = state.db.get().await?;
    let deleted = client
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
    tracing::info!(player_id, "player key revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct TokenRequest {
    key: String,
}

/// `POST /player/token`: a player's key → a player JWT.
pub async fn exchange(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> ApiResult<Json<Value>> {
    let client_ip = peer.ip();
    state
        .failures
        .check(client_ip, Instant::now())
        .map_err(|wait| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many wrong keys from this address; try again in {wait} s"),
            )
            .with_retry_after(wait)
        })?;
    match verify(&state, &request.key).await? {
        Some(player_id) => Ok(Json(json!({
            "access_token": state.keys.player_token(player_id),
            "token_type": "bearer",
            "expires_in": PLAYER_TOKEN_SECONDS,
            "player_id": player_id,
        }))),
        None => {
            state.failures.record_failure(client_ip, Instant::now());
            tracing::warn!(%client_ip, "player key refused");
            Err(ApiError::unauthorized(
                "invalid_key",
                "this player key is not valid (wrong, rotated or revoked)",
            ))
        }
    }
}

/// The player the key opens, if it is its current key.
async fn verify(state: &AppState, key: &str) -> ApiResult<Option<i64>> {
    let Some(player_id) = claimed_player(key) else {
        return Ok(None);
    };
    let client = state.db.get().await?;
    let stored: Option<Vec<u8>> = client
        .query_opt(
            "select key_hash from cosound.player_keys where player_id = $1",
            &[&player_id],
        )
        .await?
        .map(|row| row.get(0));
    // Compare even when there is no key, so a missing key takes as long as a wrong one.
    let stored = stored.unwrap_or_else(|| vec![0; 32]);
    let matches: bool = key_hash(key).as_slice().ct_eq(&stored).into();
    Ok(matches.then_some(player_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_names_its_player_and_carries_256_bits() {
        let key = new_key(17);
        assert_eq!(claimed_player(&key), Some(17));
        assert_eq!(key.len(), "cpk_17_".len() + 64);
        assert_ne!(new_key(17), key);
    }

    #[test]
    fn malformed_keys_name_no_player() {
        for key in [
            "",
            "cpk_",
            "cpk_1_abc",
            "xyz_1_",
            &format!("cpk_x_{}", "0".repeat(64)),
        ] {
            assert_eq!(claimed_player(key), None, "{key}");
        }
        assert_eq!(claimed_player(&format!("cpk_1_{}", "g".repeat(64))), None);
    }
}
