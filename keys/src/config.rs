//! Choosing and opening a backend from flags and env vars.

use std::path::PathBuf;
use std::sync::Arc;

use crate::KeyBackend;
use crate::error::{KeyError, Result};
use crate::file_key::FileKey;
use crate::passphrase::Passphrase;
use crate::pkcs11::{DEFAULT_SESSIONS, DEFAULT_SOFTHSM_MODULE, Pkcs11Config, Pkcs11Key};

/// Env var: which backend (`file` or `pkcs11`).
pub const ENV_KEY_BACKEND: &str = "LABELMINT_SIGNER_KEY_BACKEND";
/// Env var: the encrypted key file.
pub const ENV_KEY_FILE: &str = "LABELMINT_SIGNER_KEY_FILE";
/// Env var: the key file's passphrase itself (read by this crate, never through clap).
pub const ENV_PASSPHRASE: &str = "LABELMINT_SIGNER_PASSPHRASE";
/// Env var: a file holding the passphrase.
pub const ENV_PASSPHRASE_FILE: &str = "LABELMINT_SIGNER_PASSPHRASE_FILE";
/// Env var: the PKCS#11 module.
pub const ENV_PKCS11_MODULE: &str = "LABELMINT_PKCS11_MODULE";
/// Env var: the token label.
pub const ENV_PKCS11_TOKEN: &str = "LABELMINT_PKCS11_TOKEN";
/// Env var: the user PIN itself (read by this crate, never through clap).
pub const ENV_PKCS11_PIN: &str = "LABELMINT_PKCS11_PIN";
/// Env var: a file holding the user PIN.
pub const ENV_PKCS11_PIN_FILE: &str = "LABELMINT_PKCS11_PIN_FILE";
/// Env var: the key pair's label in the token.
pub const ENV_PKCS11_KEY_LABEL: &str = "LABELMINT_PKCS11_KEY_LABEL";
/// Env var: sessions kept open for signing.
pub const ENV_PKCS11_SESSIONS: &str = "LABELMINT_PKCS11_SESSIONS";

/// Which backend signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyBackendKind {
    /// An encrypted key file (argon2id + XChaCha20-Poly1305).
    File,
    /// A PKCS#11 token (an HSM; SoftHSM2 locally).
    Pkcs11,
}

/// The key backend's flags, to `#[command(flatten)]` into a binary's arguments. Secrets are
/// never flags: the passphrase and PIN come from `LABELMINT_SIGNER_PASSPHRASE` /
/// `LABELMINT_PKCS11_PIN` (read directly by [`BackendArgs::resolve`]) or from files.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Which key backend signs.
    #[arg(long, env = ENV_KEY_BACKEND, value_enum, default_value_t = KeyBackendKind::File)]
    pub key_backend: KeyBackendKind,
    /// The encrypted key file (file backend).
    #[arg(long, env = ENV_KEY_FILE)]
    pub key_file: Option<PathBuf>,
    /// A file holding the key file's passphrase (wins over LABELMINT_SIGNER_PASSPHRASE).
    #[arg(long, env = ENV_PASSPHRASE_FILE)]
    pub passphrase_file: Option<PathBuf>,
    /// The PKCS#11 module (shared library).
    #[arg(long, env = ENV_PKCS11_MODULE, default_value = DEFAULT_SOFTHSM_MODULE)]
    pub pkcs11_module: PathBuf,
    /// The PKCS#11 token label.
    #[arg(long, env = ENV_PKCS11_TOKEN)]
    pub pkcs11_token: Option<String>,
    /// A file holding the token's user PIN (wins over LABELMINT_PKCS11_PIN).
    #[arg(long, env = ENV_PKCS11_PIN_FILE)]
    pub pkcs11_pin_file: Option<PathBuf>,
    /// The key pair's label in the token.
    #[arg(long, env = ENV_PKCS11_KEY_LABEL)]
    pub pkcs11_key_label: Option<String>,
    /// Sessions kept open for concurrent signing.
    #[arg(long, env = ENV_PKCS11_SESSIONS, default_value_t = DEFAULT_SESSIONS)]
    pub pkcs11_sessions: usize,
}

/// A resolved backend configuration (secrets read).
#[derive(Debug, Clone)]
pub enum BackendConfig {
    /// An encrypted key file.
    File {
        /// The key file.
        path: PathBuf,
        /// Its passphrase.
        passphrase: Passphrase,
    },
    /// A key in a PKCS#11 token.
    Pkcs11(Pkcs11Config),
}

/// A secret from a file (if one is given: it wins) or else from an env var.
fn secret(file: Option<&PathBuf>, var: &str) -> Result<Passphrase> {
    match file {
        Some(path) => Passphrase::from_file(path),
        None => Passphrase::from_env(var),
    }
}

impl BackendArgs {
    /// The file backend's path, or an error naming the flag.
    pub fn key_file(&self) -> Result<&PathBuf> {
        self.key_file.as_ref().ok_or_else(|| {
            KeyError::Config(format!(
                "the file backend needs --key-file or {ENV_KEY_FILE}"
            ))
        })
    }

    /// The file backend's passphrase.
    pub fn passphrase(&self) -> Result<Passphrase> {
        secret(self.passphrase_file.as_ref(), ENV_PASSPHRASE)
    }

    /// The token label, or an error naming the flag.
    pub fn pkcs11_token(&self) -> Result<&str> {
        self.pkcs11_token.as_deref().ok_or_else(|| {
            KeyError::Config(format!(
                "the pkcs11 backend needs --pkcs11-token or {ENV_PKCS11_TOKEN}"
            ))
        })
    }

    /// The key label, or an error naming the flag.
    pub fn pkcs11_key_label(&self) -> Result<&str> {
        self.pkcs11_key_label.as_deref().ok_or_else(|| {
            KeyError::Config(format!(
                "the pkcs11 backend needs --pkcs11-key-label or {ENV_PKCS11_KEY_LABEL}"
            ))
        })
    }

    /// The user PIN, if one is configured (file or env var).
    pub fn pkcs11_pin_if_set(&self) -> Result<Option<Passphrase>> {
        if self.pkcs11_pin_file.is_none() && std::env::var_os(ENV_PKCS11_PIN).is_none() {
            return Ok(None);
        }
        self.pkcs11_pin().map(Some)
    }

    fn pkcs11_pin(&self) -> Result<Passphrase> {
        secret(self.pkcs11_pin_file.as_ref(), ENV_PKCS11_PIN)
    }

    /// The PKCS#11 configuration (reads the PIN).
    pub fn pkcs11_config(&self) -> Result<Pkcs11Config> {
        Ok(Pkcs11Config {
            module: self.pkcs11_module.clone(),
            token_label: self.pkcs11_token()?.to_owned(),
            pin: self.pkcs11_pin()?,
            key_label: self.pkcs11_key_label()?.to_owned(),
            sessions: self.pkcs11_sessions.max(1),
        })
    }

    /// Reads the secrets and checks the flags needed by the chosen backend are there.
    pub fn resolve(&self) -> Result<BackendConfig> {
        match self.key_backend {
            KeyBackendKind::File => Ok(BackendConfig::File {
                path: self.key_file()?.clone(),
                passphrase: self.passphrase()?,
            }),
            KeyBackendKind::Pkcs11 => Ok(BackendConfig::Pkcs11(self.pkcs11_config()?)),
        }
    }
}

/// Opens the configured backend (decrypts the key file, or logs in to the token and checks
/// the key).
pub fn open_backend(config: &BackendConfig) -> Result<Arc<dyn KeyBackend>> {
    Ok(match config {
        BackendConfig::File { path, passphrase } => Arc::new(FileKey::open(path, passphrase)?),
        BackendConfig::Pkcs11(config) => Arc::new(Pkcs11Key::open(config)?),
    })
}
