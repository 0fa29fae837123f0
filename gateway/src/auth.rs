//! Who is calling: the bearer JWT, verified as PostgREST verifies it (HS256, the stack's
//! secret, audience `authenticated`, `exp` and `nbf` with PostgREST's 30 s allowance for clock
//! skew), then held to the database's token policy (`postgrest_hooks.token_refusal`: the claims a
//! token must carry, and revocation), which PostgREST's pre-request hook applies too; and the
//! player JWTs the gateway issues. Roles beyond the token (admin, manager) are decided in the
//! database, never here.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// The audience PostgREST is configured with (`jwt-aud`), as Supabase Auth issues it.
const AUDIENCE: &str = "authenticated";

/// PostgREST 12 accepts a token this long past its `exp` (and before its `nbf`); so does the
/// gateway, so that both agree on every token.
const CLOCK_SKEW_SECONDS: u64 = 30;

/// How long a player JWT lasts; the player trades its key again before it runs out.
pub const PLAYER_TOKEN_SECONDS: u64 = 300;

pub struct Keys {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl Keys {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = CLOCK_SKEW_SECONDS;
        Keys {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// A player JWT with the contract's claims; PostgREST switches to the role `player`.
    pub fn player_token(&self, player_id: i64) -> String {
        let iat = unix_now();
        let claims = PlayerClaims {
            role: "player",
            player_id,
            aud: AUDIENCE,
            iat,
            exp: iat + PLAYER_TOKEN_SECONDS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The user and session of a signed-in user's JWT; a player's or anon's token is refused.
    pub async fn user_session(&self, state: &AppState, token: &str) -> ApiResult<UserSession> {
        let claims = self.verify(state, token).await?;
        let user_id = claims
            .sub
            .as_deref()
            .and_then(|sub| Uuid::parse_str(sub).ok())
            .filter(|_| claims.role.as_deref() == Some("authenticated"))
            .ok_or_else(|| ApiError::unauthorized("invalid_token", "the JWT names no user"))?;
        Ok(UserSession {
            user_id,
            session_id: claims.session_id,
        })
    }

    /// The claims of a token with a good signature that the token policy accepts.
    async fn verify(&self, state: &AppState, token: &str) -> ApiResult<Claims> {
        let claims = jsonwebtoken::decode::<Value>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| {
                let message = match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the JWT has expired",
                    jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                        "the JWT is not valid yet (nbf)"
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                        "the JWT is for another audience"
                    }
                    _ => "the JWT is invalid",
                };
                ApiError::unauthorized("invalid_token", message)
            })?;
        let client = state.db.get().await?;
        let refusal: Option<String> = client
            .query_one(
                "select postgrest_hooks.token_refusal($1::jsonb)",
                &[&claims],
            )
            .await?
            .get(0);
        if let Some(refusal) = refusal {
            return Err(ApiError::unauthorized("invalid_token", refusal));
        }
        serde_json::from_value(claims)
            .map_err(|_| ApiError::unauthorized("invalid_token", "the JWT's claims are malformed"))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[derive(Serialize)]
struct PlayerClaims {
    role: &'static str,
    player_id: i64,
    aud: &'static str,
    iat: u64,
    exp: u64,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    role: Option<String>,
    player_id: Option<i64>,
    session_id: Option<Uuid>,
}

/// Who a user JWT is for, and the sign-in session it belongs to (tokens of Supabase Auth and
/// of the local sign-in name one; older local tokens do not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserSession {
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
}

/// The JWT of an `Authorization: Bearer …` header: refused with `missing_token` when there is
/// none, `invalid_token` when the header has another shape.
pub fn bearer_token(headers: &HeaderMap) -> ApiResult<&str> {
    let header = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing_token", "sign in: no bearer token"))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "the Authorization header must be `Bearer <JWT>`",
            )
        })
}

/// The verified caller of a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Caller {
    /// A signed-in user (listener, manager or admin: the database knows which).
    User(Uuid),
    /// A player device, by its player JWT.
    Player(i64),
}

impl Caller {
    /// The user behind the request; a player token is refused with `action` in the message.
    pub fn user(self, action: &str) -> ApiResult<Uuid> {
        match self {
            Caller::User(uid) => Ok(uid),
            Caller::Player(_) => Err(ApiError::forbidden(format!(
                "a player token cannot {action}"
            ))),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let claims = state
            .keys
            .verify(state, bearer_token(&parts.headers)?)
            .await?;
        match (claims.role.as_deref(), claims.player_id, claims.sub) {
            (Some("player"), Some(player_id), _) => Ok(Caller::Player(player_id)),
            (Some("player"), None, _) => Err(ApiError::unauthorized(
                "invalid_token",
                "a player JWT needs a player_id claim",
            )),
            (Some("authenticated"), _, Some(sub)) => {
                Uuid::parse_str(&sub).map(Caller::User).map_err(|_| {
                    ApiError::unauthorized("invalid_token", "the JWT's sub is not a user id")
                })
            }
            _ => Err(ApiError::unauthorized(
                "invalid_token",
                "only a signed-in user's (role authenticated) or a player's JWT may call the gateway",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(keys: &Keys, token: &str) -> jsonwebtoken::errors::Result<Value> {
        jsonwebtoken::decode::<Value>(token, &keys.decoding, &keys.validation).map(|d| d.claims)
    }

    #[test]
    fn a_player_token_verifies_with_the_contract_claims() {
        let keys = Keys::new("a-secret-of-at-least-thirty-two-chars!");
        let claims = decode(&keys, &keys.player_token(42)).unwrap();
        assert_eq!(claims["role"], "player");
        assert_eq!(claims["player_id"], 42);
        assert_eq!(claims["aud"], AUDIENCE);
        assert!(claims.get("sub").is_none());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = Keys::new("another-secret-of-thirty-two-characters").player_token(1);
        assert!(decode(&Keys::new("a-secret-of-at-least-thirty-two-chars!"), &token).is_err());
    }
}
