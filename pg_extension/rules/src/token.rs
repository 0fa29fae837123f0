//! The JWTs Cosound issues: HS256, signed with the secret PostgREST verifies, with the claims
//! Supabase Auth puts in its access tokens, so supabase-js and PostgREST clients work
//! unchanged against a local stack.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::Value;

/// PostgREST refuses shorter HS256 secrets, and so does this.
pub const MIN_SECRET_LENGTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum TokenError {
    WeakSecret,
    NotAnObject,
    MissingClaim(&'static str),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::WeakSecret => write!(
                f,
                "the JWT secret must have at least {MIN_SECRET_LENGTH} characters"
            ),
            TokenError::NotAnObject => write!(f, "JWT claims must be a JSON object"),
            TokenError::MissingClaim(claim) => write!(f, "JWT claims need \"{claim}\""),
        }
    }
}

/// Signs `claims` (which must carry `sub`, `role` and `exp`) with HS256.
pub fn sign(claims: &Value, secret: &str) -> Result<String, TokenError> {
    if secret.len() < MIN_SECRET_LENGTH {
        return Err(TokenError::WeakSecret);
    }
    let object = claims.as_object().ok_or(TokenError::NotAnObject)?;
    for claim in ["sub", "role", "exp"] {
        if !object.contains_key(claim) {
            return Err(TokenError::MissingClaim(claim));
        }
    }
    Ok(encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signs any JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};
    use serde_json::json;

    const SECRET: &str = "a-test-secret-that-is-long-enough-to-use";

    #[test]
    fn a_signed_token_verifies_with_the_secret_and_keeps_its_claims() {
        let claims = json!({"sub": "u1", "role": "authenticated", "aud": "authenticated", "exp": 4_000_000_000u64});
        let token = sign(&claims, SECRET).unwrap();
        let mut validation = Validation::default();
        validation.set_audience(&["authenticated"]);
        let decoded = decode::<Value>(
            &token,
            &DecodingKey::from_secret(SECRET.as_bytes()),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims, claims);
        let forged = decode::<Value>(
            &token,
            &DecodingKey::from_secret(b"another-secret-of-enough-length-123"),
            &validation,
        );
        assert!(forged.is_err());
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(
            sign(&json!({"sub": "u"}), "short"),
            Err(TokenError::WeakSecret)
        );
        assert_eq!(sign(&json!([1]), SECRET), Err(TokenError::NotAnObject));
        assert_eq!(
            sign(&json!({"sub": "u", "role": "anon"}), SECRET),
            Err(TokenError::MissingClaim("exp"))
        );
    }
}
