//! The keys of one endpoint: several during a rotation, any of which may sign.

use std::fmt;

use hmac::Mac;

use crate::WebhookError;
use crate::hmac_sha256::{Tag, keyed};

/// One or more non-empty HMAC keys. `Debug` shows how many, never the keys.
#[derive(Clone)]
pub(crate) struct Secrets(Vec<Vec<u8>>);

impl Secrets {
    /// Keys used exactly as given (the bytes of the secret string).
    pub(crate) fn raw<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Self::new(secrets.into_iter().map(|s| s.as_ref().to_vec()).collect())
    }

    /// Refuses an empty list and empty keys: an empty key would let anyone sign.
    pub(crate) fn new(keys: Vec<Vec<u8>>) -> Result<Self, WebhookError> {
        if keys.is_empty() {
            return Err(WebhookError::InvalidSecret("no secret configured".into()));
        }
        if let Some(index) = keys.iter().position(Vec::is_empty) {
            let message = format!("secret #{index} is empty");
            return Err(WebhookError::InvalidSecret(message));
        }
        Ok(Secrets(keys))
    }

    /// `Ok` when any of `tags` is the MAC of `message` under any key, compared in constant
    /// time; [`WebhookError::InvalidSignature`] otherwise.
    pub(crate) fn check(&self, message: &[&[u8]], tags: &[Tag]) -> Result<(), WebhookError> {
        let matches = self.0.iter().any(|key| {
            let mac = keyed(key, message);
            tags.iter().any(|tag| mac.clone().verify_slice(tag).is_ok())
        });
        if matches {
            Ok(())
        } else {
            Err(WebhookError::InvalidSignature)
        }
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hmac_sha256::sign;

    #[test]
    fn refuses_no_secret_and_empty_secrets() {
        let none: [&str; 0] = [];
        let no_secret = WebhookError::InvalidSecret("no secret configured".into());
        assert_eq!(Secrets::raw(none).unwrap_err(), no_secret);
        let empty = WebhookError::InvalidSecret("secret #1 is empty".into());
        assert_eq!(Secrets::raw(["a", ""]).unwrap_err(), empty);
    }

    #[test]
    fn any_key_and_any_tag_may_match() {
        let secrets = Secrets::raw(["old", "new"]).unwrap();
        let by_new = sign(b"new", &[b"body"]);
        let other = sign(b"other", &[b"body"]);
        assert_eq!(secrets.check(&[b"body"], &[other, by_new]), Ok(()));
        let invalid = Err(WebhookError::InvalidSignature);
        assert_eq!(secrets.check(&[b"body"], &[other]), invalid);
        assert_eq!(secrets.check(&[b"body"], &[]), invalid);
    }

    #[test]
    fn debug_hides_the_keys() {
        let secrets = Secrets::raw(["hunter2"]).unwrap();
        assert_eq!(format!("{secrets:?}"), "Secrets(1 redacted)");
    }
}
