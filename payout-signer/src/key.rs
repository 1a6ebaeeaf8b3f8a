//! The key backend seam: `labelmint_keys::KeyBackend` (file key: argon2id + AEAD; PKCS#11).
//! The signer's policy and journal never touch key material; backends never touch the journal.

pub use labelmint_keys::{KeyBackend, KeyError};
