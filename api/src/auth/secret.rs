//! The text forms of API keys and session tokens, their hashes, and constant-time compares.
//!
//! - API key: `lmk_<key_id>_<secret>`: `key_id` 16 hex digits (public, the index), `secret` 43
//!   base64url characters (256 random bits). Stored: SHA-256 of the whole text.
//! - Session token: `lms_<secret>` (256 random bits). Stored: SHA-256 of the whole text (the
//!   hash itself is the index: a token's hash leaks nothing a guesser could use).
//!
//! The prefixes tell the two apart before any lookup, and make a leaked secret easy to find
//! with a scanner. A [`Secret`] never prints its value (`Debug` shows `<secret>`).

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The prefix of every API key.
pub const KEY_PREFIX: &str = "lmk_";
/// The prefix of every session token.
pub const SESSION_PREFIX: &str = "lms_";

/// A key or token in clear: shown once, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret's text (a webhook signing secret opened from its sealed form).
    pub fn from_text(text: String) -> Secret {
        Secret(text)
    }

    /// The text to hand to its owner (once).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the text: what is stored.
    pub fn sha256(&self) -> [u8; 32] {
        sha256(self.0.as_bytes())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `n` random bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new key id (16 hex digits).
pub fn new_key_id() -> String {
    hex::encode(random_bytes::<8>())
}

/// A new API key for `key_id`.
pub fn new_key(key_id: &str) -> Secret {
    Secret(format!(
        "{KEY_PREFIX}{key_id}_{}",
        b64(&random_bytes::<32>())
    ))
}

/// A new session token.
pub fn new_session_token() -> Secret {
    Secret(format!("{SESSION_PREFIX}{}", b64(&random_bytes::<32>())))
}

/// What a bearer credential looks like, before any lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Bearer {
    /// An API key: its public id and the hash of the whole text.
    Key {
        /// The key id (the index).
        key_id: String,
        /// SHA-256 of the whole key.
        sha256: [u8; 32],
    },
    /// A session token: the hash of the whole text.
    Session {
        /// SHA-256 of the token.
        sha256: [u8; 32],
    },
}

/// Reads a bearer credential (`None`: not one of ours; the caller answers 401).
pub fn parse_bearer(text: &str) -> Option<Bearer> {
    if let Some(rest) = text.strip_prefix(KEY_PREFIX) {
        let (key_id, secret) = rest.split_once('_')?;
        let ok_id = key_id.len() == 16
            && key_id
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if !ok_id || secret.len() != 43 {
            return None;
        }
        return Some(Bearer::Key {
            key_id: key_id.to_owned(),
            sha256: sha256(text.as_bytes()),
        });
    }
    if let Some(secret) = text.strip_prefix(SESSION_PREFIX)
        && secret.len() == 43
    {
        return Some(Bearer::Session {
            sha256: sha256(text.as_bytes()),
        });
    }
    None
}

/// Whether two hashes are equal, in time independent of where they differ.
pub fn same_hash(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tokens_parse_and_differ() {
        let id = new_key_id();
        let key = new_key(&id);
        let Some(Bearer::Key { key_id, sha256: h }) = parse_bearer(key.expose()) else {
            panic!("a key parses as a key");
        };
        assert_eq!(key_id, id);
        assert!(same_hash(&h, &key.sha256()));
        let token = new_session_token();
        assert!(matches!(
            parse_bearer(token.expose()),
            Some(Bearer::Session { .. })
        ));
        assert_ne!(new_session_token(), token);
        assert_eq!(format!("{key:?}"), "<secret>");
        for bad in [
            "",
            "lmk_",
            "lmk_zz_x",
            "lms_short",
            "Bearer x",
            "lmk_0123456789abcdef",
        ] {
            assert_eq!(parse_bearer(bad), None, "{bad}");
        }
    }
}
