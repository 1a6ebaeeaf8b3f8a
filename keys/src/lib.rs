//! `labelmint-keys`: the payout signer's key backends, behind one trait.
//!
//! The signer (payout-signer/) decides *whether* to sign (policy, journal); this crate only
//! *signs*: an ed25519 signature over a 32-byte cell hash (see `labelmint_abi::signing`).
//!
//! ```text
//!   payout-signer ── policy ── journal ── Arc<dyn KeyBackend>::sign(hash) ──> [u8; 64]
//!                                              │
//!                  ┌───────────────────────────┴──────────────────────────┐
//!                  FileKey: seed decrypted once at start        Pkcs11Key: the key lives in
//!                  from an argon2id + XChaCha20-Poly1305         the token (SoftHSM2 in tests,
//!                  key file, held in zeroizing memory            an HSM in production); only
//!                                                                signatures come out
//! ```
//!
//! It must NEVER: return, log, print or `Debug`-format secret material (seeds, passphrases,
//! PINs); write a key file over an existing one; use a token key that is extractable or not
//! sensitive; decide what may be signed (that is the signer's policy, which never sees keys).
//!
//! Errors: [`KeyError`] (one enum, typed variants tests match on). No feature flags.
//!
//! ```
//! use labelmint_keys::{FileKey, KdfParams, KeyBackend, Passphrase};
//! use zeroize::Zeroizing;
//! # fn main() -> Result<(), labelmint_keys::KeyError> {
//! let dir = tempfile::tempdir().map_err(|e| labelmint_keys::KeyError::Config(e.to_string()))?;
//! let path = dir.path().join("signer.key");
//! let pass = Passphrase::new(Zeroizing::new("THROWAWAY passphrase".into()), "example")?;
//! let key = FileKey::generate(&path, &pass, KdfParams::insecure_for_tests())?;
//! let signature = key.sign(&[7u8; 32])?;
//! let reopened = FileKey::open(&path, &pass)?;
//! assert_eq!(reopened.public_key(), key.public_key());
//! assert_eq!(reopened.sign(&[7u8; 32])?, signature); // ed25519 is deterministic
//! assert_eq!(FileKey::public_key_of(&path)?, key.public_key());
//! # Ok(())
//! # }
//! ```

mod atomic;
mod command;
mod config;
mod error;
mod file_format;
mod file_key;
mod kdf;
mod passphrase;
mod perms;
mod pkcs11;
mod pkcs11_point;

pub use command::{KdfArgs, KeyCommand};
pub use config::{
    BackendArgs, BackendConfig, ENV_KEY_BACKEND, ENV_KEY_FILE, ENV_PASSPHRASE, ENV_PASSPHRASE_FILE,
    ENV_PKCS11_KEY_LABEL, ENV_PKCS11_MODULE, ENV_PKCS11_PIN, ENV_PKCS11_PIN_FILE,
    ENV_PKCS11_SESSIONS, ENV_PKCS11_TOKEN, KeyBackendKind, open_backend,
};
pub use error::{KeyError, Result};
pub use file_format::{AEAD_ALG, ARGON2_VERSION, FORMAT, KDF_ALG, VERSION};
pub use file_key::FileKey;
pub use kdf::{KdfParams, MAX_M_KIB, MAX_P, MAX_T};
pub use passphrase::Passphrase;
pub use perms::check_owner_only;
pub use pkcs11::{
    DEFAULT_SESSIONS, DEFAULT_SOFTHSM_MODULE, KeyProtection, Pkcs11Config, Pkcs11Key,
};

/// What signs. Sync: callers run it in `spawn_blocking` if they need to (argon2id is only run
/// at open; a PKCS#11 sign is a round trip to the token).
pub trait KeyBackend: Send + Sync + std::fmt::Debug {
    /// The ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// The ed25519 signature (RFC 8032, pure Ed25519) of the 32 bytes.
    fn sign(&self, hash: &[u8; 32]) -> Result<[u8; 64]>;
    /// `"file"` or `"pkcs11"`.
    fn kind(&self) -> &'static str;
}
