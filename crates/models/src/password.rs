//! Argon2id password hashes (PHC strings), computed off the async runtime.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::{Error, Result};

/// Hashes `password` with Argon2id and a random salt, on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password_blocking(&password))
        .await
        .map_err(|e| Error::Password(e.to_string()))?
}

/// Hashes `password` with Argon2id and a random salt.
pub(crate) fn hash_password_blocking(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Password(e.to_string()))
}

/// Checks `password` against a PHC string, on the blocking pool. A malformed hash is a mismatch.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password_blocking(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Checks `password` against a PHC string. A malformed hash is a mismatch.
pub(crate) fn verify_password_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A valid hash of a password nobody knows: checked when a username does not exist, so
/// that a failed login costs the same time whether or not the user exists.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password_blocking("duet decoy password, never matches a login").expect("argon2 hashes a constant password")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_salts_differ() {
        let a = hash_password_blocking("hunter2").unwrap();
        let b = hash_password_blocking("hunter2").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password_blocking("hunter2", &a));
        assert!(!verify_password_blocking("hunter3", &a));
        assert!(!verify_password_blocking("hunter2", "not a phc string"));
    }
}
