//! TonConnect `ton_proof` verification, exactly as the TonConnect spec writes it:
//!
//! ```text
//! message   = "ton-proof-item-v2/" ++ workchain (i32 BE) ++ address hash (32)
//!             ++ domain length (u32 LE) ++ domain ++ timestamp (u64 LE) ++ payload
//! signature = ed25519(sha256(0xffff ++ "ton-connect" ++ sha256(message)))
//! ```
//!
//! The public key comes from the StateInit the wallet sent ([`wallets`]: v3r2, v4r2, v5r1 by
//! code hash; the StateInit's hash must be the claimed address) or, without one, from the
//! deployed wallet's `get_public_key` through the liteserver ([`chain`]). The checks of
//! domain, time and payload, and their order, are in `routes::auth`; this module holds the
//! pure parts, each refusal a [`ProofFault`] with its own problem `type`.

pub mod chain;
pub mod wallets;

use ed25519_dalek::{Signature, VerifyingKey};

use crate::auth::secret::sha256;

/// The message's prefix.
pub const ITEM_PREFIX: &[u8] = b"ton-proof-item-v2/";
/// What the wallet prefixes to the message's hash before it signs.
pub const CONNECT_PREFIX: &[u8] = b"ton-connect";

/// Why a ton_proof was refused: each one is a problem `type` of its own (401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofFault {
    /// The domain is not one this API serves.
    Domain,
    /// The proof was signed longer ago than the window allows.
    TimestampExpired,
    /// The proof claims a time in the future (beyond the allowed skew).
    TimestampFuture,
    /// The payload was never issued here.
    PayloadUnknown,
    /// The payload was issued but its TTL passed.
    PayloadExpired,
    /// The payload was already used by a login.
    PayloadReused,
    /// The signature does not verify with the wallet's key.
    Signature,
    /// The StateInit's hash is not the claimed address.
    StateInitMismatch,
    /// The StateInit's code is not a wallet this API knows (v3r2, v4r2, v5r1).
    UnknownWallet,
    /// The address is not on the basechain.
    Workchain,
    /// The proof names another network.
    Network,
    /// The public key sent beside the proof is not the wallet's.
    PublicKeyMismatch,
    /// No StateInit was sent and the wallet is not deployed (no `get_public_key` answer).
    NotDeployed,
}

impl ProofFault {
    /// The problem `type` slug.
    pub fn slug(self) -> &'static str {
        match self {
            ProofFault::Domain => "ton-proof-domain",
            ProofFault::TimestampExpired => "ton-proof-expired",
            ProofFault::TimestampFuture => "ton-proof-future",
            ProofFault::PayloadUnknown => "ton-proof-payload-unknown",
            ProofFault::PayloadExpired => "ton-proof-payload-expired",
            ProofFault::PayloadReused => "ton-proof-payload-reused",
            ProofFault::Signature => "ton-proof-signature",
            ProofFault::StateInitMismatch => "ton-proof-state-init-mismatch",
            ProofFault::UnknownWallet => "ton-proof-unknown-wallet",
            ProofFault::Workchain => "ton-proof-workchain",
            ProofFault::Network => "ton-proof-network",
            ProofFault::PublicKeyMismatch => "ton-proof-public-key-mismatch",
            ProofFault::NotDeployed => "ton-proof-not-deployed",
        }
    }

    /// The problem title.
    pub fn title(self) -> &'static str {
        match self {
            ProofFault::Domain => "ton_proof: domain not allowed",
            ProofFault::TimestampExpired => "ton_proof: too old",
            ProofFault::TimestampFuture => "ton_proof: timestamp in the future",
            ProofFault::PayloadUnknown => "ton_proof: unknown payload",
            ProofFault::PayloadExpired => "ton_proof: payload expired",
            ProofFault::PayloadReused => "ton_proof: payload already used",
            ProofFault::Signature => "ton_proof: bad signature",
            ProofFault::StateInitMismatch => "ton_proof: StateInit is not the address",
            ProofFault::UnknownWallet => "ton_proof: unknown wallet code",
            ProofFault::Workchain => "ton_proof: workchain not allowed",
            ProofFault::Network => "ton_proof: another network",
            ProofFault::PublicKeyMismatch => "ton_proof: public key mismatch",
            ProofFault::NotDeployed => "ton_proof: wallet key unknown",
        }
    }
}

/// The `ton-proof-item-v2` message.
pub fn message(
    workchain: i32,
    hash: &[u8; 32],
    domain: &str,
    timestamp: u64,
    payload: &str,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(18 + 4 + 32 + 4 + domain.len() + 8 + payload.len());
    m.extend_from_slice(ITEM_PREFIX);
    m.extend_from_slice(&workchain.to_be_bytes());
    m.extend_from_slice(hash);
    // The domain is at most a few hundred bytes (checked by the caller): fits a u32.
    m.extend_from_slice(
        &u32::try_from(domain.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    m.extend_from_slice(domain.as_bytes());
    m.extend_from_slice(&timestamp.to_le_bytes());
    m.extend_from_slice(payload.as_bytes());
    m
}

/// What the wallet signs: `sha256(0xffff ++ "ton-connect" ++ sha256(message))`.
pub fn signed_digest(message: &[u8]) -> [u8; 32] {
    let mut full = Vec::with_capacity(2 + CONNECT_PREFIX.len() + 32);
    full.extend_from_slice(&[0xff, 0xff]);
    full.extend_from_slice(CONNECT_PREFIX);
    full.extend_from_slice(&sha256(message));
    sha256(&full)
}

/// Whether `signature` (64 bytes) is `public_key`'s ed25519 signature of the proof's digest
/// (strict verification: no malleable or small-order forms).
pub fn signature_ok(public_key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify_strict(&signed_digest(message), &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    /// The example proof of TonConnect's demo backend README (ton-connect/demo-dapp-backend,
    /// "checkProof" request: a real wallet's proof for ton-connect.github.io, 2022-11-10),
    /// with the wallet's public key as the demo's tests give it: it verifies, and any change
    /// of a signed field breaks it.
    #[test]
    fn the_published_example_verifies() {
        use base64::Engine as _;
        let hash: [u8; 32] =
            hex::decode("f63660ff947e5fe6ed4a8f729f1b24ef859497d0483aaa9d9ae48414297c4e1b")
                .expect("hex")
                .try_into()
                .expect("32");
        let key: [u8; 32] =
            hex::decode("db642e022c80911fe61f19eb4f22d7fb95c1ea0b589c0f74ecf0cbf6db746c13")
                .expect("hex")
                .try_into()
                .expect("32");
        let sig = base64::engine::general_purpose::STANDARD
            .decode("28tWSg8RDB3P/iIYupySINq1o3F5xLodndzNFHOtdi16Z+MuII8LAPnHLT3E6WTB27//qY4psU5Rf5/aJaIIAA==")
            .expect("base64");
        let payload = "E5B4ARS6CdOI2b5e1jz0jnS-x-a3DgfNXprrg_3pec0=";
        let domain = "ton-connect.github.io";
        let ts = 1_668_094_767;
        assert!(signature_ok(
            &key,
            &message(0, &hash, domain, ts, payload),
            &sig
        ));
        assert!(!signature_ok(
            &key,
            &message(-1, &hash, domain, ts, payload),
            &sig
        ));
        assert!(!signature_ok(
            &key,
            &message(0, &hash, "ton-connect.github.i0", ts, payload),
            &sig
        ));
        assert!(!signature_ok(
            &key,
            &message(0, &hash, domain, ts + 1, payload),
            &sig
        ));
        assert!(!signature_ok(
            &key,
            &message(0, &hash, domain, ts, "E5B4"),
            &sig
        ));
    }

    #[test]
    fn message_layout_and_signature() {
        let hash = [7u8; 32];
        let m = message(-1, &hash, "ab.c", 0x0102, "xyz");
        let mut want = b"ton-proof-item-v2/".to_vec();
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        want.extend_from_slice(&hash);
        want.extend_from_slice(&[4, 0, 0, 0]);
        want.extend_from_slice(b"ab.c");
        want.extend_from_slice(&[2, 1, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(b"xyz");
        assert_eq!(m, want);
        let key = SigningKey::from_bytes(&[9; 32]);
        let sig = key.sign(&signed_digest(&m)).to_bytes();
        let pk = key.verifying_key().to_bytes();
        assert!(signature_ok(&pk, &m, &sig));
        assert!(!signature_ok(
            &pk,
            &message(0, &hash, "ab.c", 0x0102, "xyz"),
            &sig
        ));
        assert!(!signature_ok(&pk, &m, &sig[..63]));
    }
}
