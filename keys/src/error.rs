//! The crate's one error type.

use std::path::PathBuf;

/// A key backend's failure. Variants carry what an operator needs to act (paths, labels), never
/// a secret.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `keygen`/`import` refuse to replace an existing key file.
    #[error("{path} already exists: refusing to overwrite a key file")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// The passphrase does not open the key file (the key check value did not match).
    #[error("{path}: wrong passphrase")]
    WrongPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// The key file is malformed or was tampered with (the passphrase was right).
    #[error("{path}: corrupt key file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key file has a format version this build does not know.
    #[error("{path}: unsupported key file version {version} (this build reads version 1)")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// A passphrase or PIN source is missing, empty or unreadable.
    #[error("secret {source_name}: {reason}")]
    Secret {
        /// Where the secret was to come from (an env var name or a file path).
        source_name: String,
        /// What went wrong (never the secret itself).
        reason: String,
    },
    /// KDF parameters out of the accepted range.
    #[error("invalid argon2id parameters: {0}")]
    KdfParams(String),
    /// A seed or key has the wrong shape.
    #[error("invalid key material: {0}")]
    InvalidKey(String),
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {reason}")]
    Module {
        /// The module path.
        module: PathBuf,
        /// What failed.
        reason: String,
    },
    /// No initialised token carries this label.
    #[error("PKCS#11: no token labelled {label:?}")]
    TokenNotFound {
        /// The token label looked for.
        label: String,
    },
    /// The token refused the user PIN.
    #[error("PKCS#11: wrong PIN for token {token:?}")]
    WrongPin {
        /// The token label.
        token: String,
    },
    /// The token's user PIN is locked (too many wrong tries).
    #[error("PKCS#11: the user PIN of token {token:?} is locked")]
    PinLocked {
        /// The token label.
        token: String,
    },
    /// No ed25519 key pair with this label in the token.
    #[error("PKCS#11: no ed25519 {what} labelled {label:?} in token {token:?}")]
    KeyNotFound {
        /// "private key" or "public key".
        what: &'static str,
        /// The key label.
        label: String,
        /// The token label.
        token: String,
    },
    /// More than one object matches a key label: ambiguous, refused.
    #[error(
        "PKCS#11: {count} objects labelled {label:?} in token {token:?}: labels must be unique"
    )]
    DuplicateKey {
        /// The key label.
        label: String,
        /// The token label.
        token: String,
        /// How many matched.
        count: usize,
    },
    /// `generate`/`import` into a token refuse a label that is already used.
    #[error("PKCS#11: a key labelled {label:?} already exists in token {token:?}")]
    KeyExists {
        /// The key label.
        label: String,
        /// The token label.
        token: String,
    },
    /// The private key could leave the token (not sensitive, or extractable): refused.
    #[error(
        "PKCS#11: key {label:?} is not protected (sensitive={sensitive}, extractable={extractable}): refusing to use it"
    )]
    KeyNotProtected {
        /// The key label.
        label: String,
        /// CKA_SENSITIVE.
        sensitive: bool,
        /// CKA_EXTRACTABLE.
        extractable: bool,
    },
    /// The backend's public key does not match what it signs with (or what the file records).
    #[error("public key mismatch: {0}")]
    PublicKeyMismatch(String),
    /// Any other PKCS#11 failure.
    #[error("PKCS#11 {op}: {source}")]
    Pkcs11 {
        /// The operation that failed.
        op: &'static str,
        /// cryptoki's error.
        source: cryptoki::error::Error,
    },
    /// A secret file (key file, passphrase, PIN, token) is open to its group or others.
    #[error(
        "{path} is accessible to its group or others (mode {mode:04o}): refusing to use it; run `chmod 600 {path}`"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The backend configuration is incomplete or contradictory.
    #[error("key backend configuration: {0}")]
    Config(String),
}

/// `Result` with [`KeyError`].
pub type Result<T, E = KeyError> = std::result::Result<T, E>;

impl KeyError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> KeyError {
        KeyError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> KeyError {
        KeyError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn pkcs11(op: &'static str) -> impl FnOnce(cryptoki::error::Error) -> KeyError {
        move |source| KeyError::Pkcs11 { op, source }
    }
}
