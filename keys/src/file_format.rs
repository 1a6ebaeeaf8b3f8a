//! The encrypted key file, version 1: JSON, so an operator can read what protects the key.
//!
//! ```json
//! {
//!   "format": "labelmint-signer-key",
//!   "version": 1,
//!   "public_key": "<32 bytes hex: ed25519 public key>",
//!   "kdf": { "alg": "argon2id", "argon2_version": 19, "m_kib": 65536, "t": 3, "p": 1,
//!            "salt": "<32 bytes hex>" },
//!   "check": "<16 bytes hex: SHA-256(CHECK_DOMAIN || argon2id output[32..64])[..16]>",
//!   "aead": { "alg": "xchacha20poly1305", "nonce": "<24 bytes hex>",
//!             "ciphertext": "<48 bytes hex: the 32-byte seed + 16-byte tag>" }
//! }
//! ```
//!
//! argon2id(passphrase, salt) gives 64 bytes: the first 32 are the AEAD key, the last 32 only
//! feed `check`, which tells a wrong passphrase apart from a tampered file (it is no weaker an
//! offline oracle than the AEAD tag itself). The associated data binds the public key, the KDF
//! parameters and the salt to the ciphertext ([`associated_data`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `format` of every key file.
pub const FORMAT: &str = "labelmint-signer-key";
/// The one version this build writes and reads.
pub const VERSION: u32 = 1;
/// `kdf.alg`.
pub const KDF_ALG: &str = "argon2id";
/// `kdf.argon2_version` (0x13).
pub const ARGON2_VERSION: u32 = 0x13;
/// `aead.alg`.
pub const AEAD_ALG: &str = "xchacha20poly1305";
/// Domain of the associated data.
pub(crate) const AAD_DOMAIN: &[u8] = b"labelmint-keys/file/v1/aad";
/// Domain of the passphrase check value.
pub(crate) const CHECK_DOMAIN: &[u8] = b"labelmint-keys/file/v1/check";

/// Just enough to route on the version before reading the rest.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub(crate) format: String,
    pub(crate) version: u32,
}

/// The whole file, version 1.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyFileV1 {
    pub(crate) format: String,
    pub(crate) version: u32,
    #[serde(with = "hex::serde")]
    pub(crate) public_key: [u8; 32],
    pub(crate) kdf: KdfSection,
    #[serde(with = "hex::serde")]
    pub(crate) check: [u8; 16],
    pub(crate) aead: AeadSection,
}

/// `kdf`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KdfSection {
    pub(crate) alg: String,
    pub(crate) argon2_version: u32,
    pub(crate) m_kib: u32,
    pub(crate) t: u32,
    pub(crate) p: u32,
    #[serde(with = "hex::serde")]
    pub(crate) salt: [u8; 32],
}

/// `aead`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AeadSection {
    pub(crate) alg: String,
    #[serde(with = "hex::serde")]
    pub(crate) nonce: [u8; 24],
    #[serde(with = "hex::serde")]
    pub(crate) ciphertext: [u8; 48],
}

/// The associated data: domain, public key, KDF parameters and salt.
pub(crate) fn associated_data(public_key: &[u8; 32], kdf: &KdfSection) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + 32 + 16 + 32);
    aad.extend_from_slice(AAD_DOMAIN);
    aad.extend_from_slice(public_key);
    aad.extend_from_slice(&kdf.argon2_version.to_le_bytes());
    aad.extend_from_slice(&kdf.m_kib.to_le_bytes());
    aad.extend_from_slice(&kdf.t.to_le_bytes());
    aad.extend_from_slice(&kdf.p.to_le_bytes());
    aad.extend_from_slice(&kdf.salt);
    aad
}

/// The passphrase check value from the second half of the argon2id output.
pub(crate) fn check_value(derived: &[u8; 64]) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(CHECK_DOMAIN)
        .chain_update(&derived[32..])
        .finalize();
    let mut check = [0u8; 16];
    check.copy_from_slice(&digest[..16]);
    check
}
