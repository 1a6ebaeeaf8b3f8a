//! Signing secrets: made (`whsec_` + 256 random bits), sealed at rest, and used to sign.
//!
//! - Header: `LabelMint-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!   (Stripe's scheme: the HMAC key is the whole secret text). A receiver recomputes it over
//!   the raw body, compares in constant time, and refuses a `t` too far from its clock
//!   (replays). `LabelMint-Event-Id` carries the event id for de-duplication.
//! - At rest: the secret must be recoverable to sign, so it is not hashed but sealed with
//!   XChaCha20-Poly1305 under the server's webhook key (32 bytes from a file, never from the
//!   database or a flag), a random 24-byte nonce, and the endpoint id as associated data (a
//!   sealed secret copied to another endpoint's row does not open). Stored: nonce || sealed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::secret::{Secret, random_bytes};

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "labelmint-signature";
/// The header with the event id.
pub const EVENT_ID_HEADER: &str = "labelmint-event-id";

/// The server's key that seals signing secrets (never printed).
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl SealKey {
    /// From 32 bytes.
    pub fn new(bytes: [u8; 32]) -> SealKey {
        SealKey(bytes)
    }

    /// From a file's text: 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Option<SealKey> {
        let mut k = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut k).ok()?;
        Some(SealKey(k))
    }

    /// A random key (tests).
    pub fn random() -> SealKey {
        SealKey(random_bytes::<32>())
    }

    fn aad(endpoint_id: &str) -> Vec<u8> {
        format!("labelmint-webhook-secret/v1/{endpoint_id}").into_bytes()
    }

    /// Seals `secret` for `endpoint_id`: nonce || ciphertext.
    pub fn seal(&self, endpoint_id: &str, secret: &Secret) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let nonce = random_bytes::<24>();
        let aad = Self::aad(endpoint_id);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: &aad,
                },
            )
            // XChaCha20-Poly1305 fails only for messages over 256 GiB.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`SealKey::seal`] made for `endpoint_id` (`None`: another key or endpoint,
    /// or altered bytes).
    pub fn open(&self, endpoint_id: &str, sealed: &[u8]) -> Option<Secret> {
        if sealed.len() < 24 + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let aad = Self::aad(endpoint_id);
        let plain = cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad: &aad })
            .ok()?;
        String::from_utf8(plain).ok().map(Secret::from_text)
    }
}

/// A new signing secret: `whsec_` + 43 base64url characters.
pub fn new_secret() -> Secret {
    use base64::Engine as _;
    Secret::from_text(format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    ))
}

/// The `LabelMint-Signature` value for `body` sent at unix second `t`.
pub fn signature(secret: &Secret, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(hmac(secret, t, body)))
}

fn hmac(secret: &Secret, t: i64, body: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Checks a `LabelMint-Signature` value against `body` (what a receiver does; the tests use
/// it). `Some(t)`: valid, signed at `t`.
pub fn verify(secret: &Secret, header: &str, body: &[u8]) -> Option<i64> {
    use subtle::ConstantTimeEq as _;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (t, v1) = (t?, v1?);
    bool::from(hmac(secret, t, body).ct_eq(&v1[..])).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_break_on_any_change() {
        let s = new_secret();
        assert!(s.expose().starts_with(SECRET_PREFIX) && s.expose().len() == 49);
        let h = signature(&s, 1_700_000_000, b"{\"a\":1}");
        assert_eq!(verify(&s, &h, b"{\"a\":1}"), Some(1_700_000_000));
        assert_eq!(verify(&s, &h, b"{\"a\":2}"), None);
        assert_eq!(verify(&new_secret(), &h, b"{\"a\":1}"), None);
        let shifted = h.replacen("t=1700000000", "t=1700000001", 1);
        assert_eq!(verify(&s, &shifted, b"{\"a\":1}"), None);
        // A known vector: HMAC-SHA256("whsec_test", "1.{}") (openssl dgst -sha256 -hmac).
        let known = Secret::from_text("whsec_test".to_owned());
        assert_eq!(
            signature(&known, 1, b"{}"),
            "t=1,v1=7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094"
        );
    }

    #[test]
    fn sealed_secrets_open_only_for_their_endpoint_and_key() {
        let k = SealKey::random();
        let s = new_secret();
        let sealed = k.seal("we_0123456789abcdef", &s);
        assert!(
            !sealed
                .windows(10)
                .any(|w| s.expose().as_bytes().windows(10).any(|x| x == w))
        );
        assert_eq!(k.open("we_0123456789abcdef", &sealed), Some(s));
        assert_eq!(k.open("we_fedcba9876543210", &sealed), None);
        assert_eq!(SealKey::random().open("we_0123456789abcdef", &sealed), None);
        assert_eq!(
            SealKey::from_hex(&"ab".repeat(32)).map(|k| k.0),
            Some([0xab; 32])
        );
        assert!(SealKey::from_hex("abc").is_none());
    }
}
