//! Local sign-in's building blocks: `hash_password`, `verify_password` and `sign_jwt`.
//! The sign-up and sign-in RPCs themselves are SQL (supabase/local), as on Supabase they are
//! GoTrue's job.

use cosound_rules::password;
use cosound_rules::token;
use pgrx::datum::JsonB;
use pgrx::prelude::*;

/// A salted bcrypt hash; a weak password is refused (22023) with the reason.
#[pg_extern(volatile, parallel_safe)]
fn hash_password(password: &str) -> String {
    password::hash(password).unwrap_or_else(|error| {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            error.to_string()
        );
    })
}

#[pg_extern(immutable, parallel_safe)]
fn verify_password(password: &str, hash: &str) -> bool {
    password::verify(password, hash)
}

/// `claims` signed with HS256 under `secret`.
#[pg_extern(immutable, parallel_safe)]
fn sign_jwt(claims: JsonB, secret: &str) -> String {
    token::sign(&claims.0, secret).unwrap_or_else(|error| {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            error.to_string()
        );
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn a_hashed_password_verifies() {
        let ok = Spi::get_one::<bool>(
            "select extensions.verify_password('sea-waves-9', extensions.hash_password('sea-waves-9'))
               and not extensions.verify_password('sea-waves-8', extensions.hash_password('sea-waves-9'))",
        )
        .unwrap();
        assert_eq!(ok, Some(true));
    }

    #[pg_test(error = "the password must have at least 8 characters")]
    fn a_short_password_is_refused() {
        Spi::run("select extensions.hash_password('abc1')").unwrap();
    }

    #[pg_test]
    fn a_jwt_has_three_parts() {
        let token = Spi::get_one::<String>(
            r#"select extensions.sign_jwt('{"sub":"u","role":"authenticated","exp":1}', repeat('s', 32))"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(token.split('.').count(), 3);
    }

    #[pg_test(error = "the JWT secret must have at least 32 characters")]
    fn a_short_secret_is_refused() {
        Spi::run(
            r#"select extensions.sign_jwt('{"sub":"u","role":"authenticated","exp":1}', 'short')"#,
        )
        .unwrap();
    }
}
