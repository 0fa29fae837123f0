//! Passwords of locally signed-up users: bcrypt, as Supabase Auth (GoTrue) stores them in
//! `auth.users.encrypted_password`, so local accounts carry over to a Supabase project.

/// GoTrue's cost: about 0.1 s a hash, slow enough to make guessing expensive.
const COST: u32 = 10;
pub const MIN_LENGTH: usize = 8;
/// bcrypt reads only the first 72 bytes; a longer password would be silently truncated.
pub const MAX_BYTES: usize = 72;

#[derive(Debug, Clone, PartialEq)]
pub enum PasswordError {
    TooShort,
    TooLong,
    TooSimple,
}

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordError::TooShort => {
                write!(f, "the password must have at least {MIN_LENGTH} characters")
            }
            PasswordError::TooLong => write!(f, "the password must have at most {MAX_BYTES} bytes"),
            PasswordError::TooSimple => {
                write!(
                    f,
                    "the password must mix at least two of: letters, digits, other characters"
                )
            }
        }
    }
}

/// Refuses passwords that are short, over bcrypt's limit, or of one kind of character only.
pub fn check_strength(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_BYTES {
        return Err(PasswordError::TooLong);
    }
    let letters = password.chars().any(char::is_alphabetic);
    let digits = password.chars().any(|c| c.is_ascii_digit());
    let others = password.chars().any(|c| !c.is_alphanumeric());
    if [letters, digits, others]
        .iter()
        .filter(|&&kind| kind)
        .count()
        < 2
    {
        return Err(PasswordError::TooSimple);
    }
    Ok(())
}

/// A salted bcrypt hash of a password that passed `check_strength`.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_strength(password)?;
    Ok(bcrypt::hash(password, COST).expect("bcrypt hashes any password within its byte limit"))
}

/// Whether `password` matches `hash`; a malformed hash matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hashed = hash("rain-on-glass-42").unwrap();
        assert!(hashed.starts_with("$2b$10$"), "{hashed}");
        assert!(verify("rain-on-glass-42", &hashed));
        assert!(!verify("rain-on-glass-43", &hashed));
        assert_ne!(
            hashed,
            hash("rain-on-glass-42").unwrap(),
            "each hash has its own salt"
        );
    }

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        assert_eq!(check_strength("short1"), Err(PasswordError::TooShort));
        assert_eq!(check_strength("onlyletters"), Err(PasswordError::TooSimple));
        assert_eq!(check_strength("12345678901"), Err(PasswordError::TooSimple));
        assert_eq!(
            check_strength(&"a1".repeat(37)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(check_strength("letters and spaces"), Ok(()));
    }

    #[test]
    fn a_malformed_hash_matches_nothing() {
        assert!(!verify("anything-1", "not a bcrypt hash"));
    }
}
