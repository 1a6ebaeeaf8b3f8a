//! `keygen`, `import`, `pubkey`: the key subcommands the signer binary embeds.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::KeyBackend;
use crate::config::{BackendArgs, KeyBackendKind};
use crate::error::{KeyError, Result};
use crate::file_key::FileKey;
use crate::kdf::KdfParams;
use crate::pkcs11::Pkcs11Key;

/// argon2id cost flags for a new key file (defaults: [`KdfParams::default`]).
#[derive(Debug, Clone, clap::Args)]
pub struct KdfArgs {
    /// argon2id memory in KiB.
    #[arg(long, default_value_t = KdfParams::default().m_kib)]
    pub kdf_m_kib: u32,
    /// argon2id passes.
    #[arg(long, default_value_t = KdfParams::default().t)]
    pub kdf_t: u32,
    /// argon2id lanes.
    #[arg(long, default_value_t = KdfParams::default().p)]
    pub kdf_p: u32,
}

impl From<&KdfArgs> for KdfParams {
    fn from(a: &KdfArgs) -> KdfParams {
        KdfParams {
            m_kib: a.kdf_m_kib,
            t: a.kdf_t,
            p: a.kdf_p,
        }
    }
}

/// Key management commands. [`KeyCommand::run`] returns what to print: `key=value` lines,
/// `public_key=<64 hex>` among them, never a secret.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeyCommand {
    /// Create a new key: a new encrypted key file (never overwrites one), or a key pair
    /// generated inside the PKCS#11 token (never exported).
    Keygen {
        /// Where the key goes.
        #[command(flatten)]
        backend: BackendArgs,
        /// KDF costs (file backend).
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Import an existing 32-byte ed25519 seed into a new key file or into the token (as a
    /// sensitive, non-extractable key). The seed is read from a file, never from a flag.
    Import {
        /// Where the key goes.
        #[command(flatten)]
        backend: BackendArgs,
        /// A file holding the seed: 64 hex characters (one trailing newline allowed) or 32 raw
        /// bytes.
        #[arg(long)]
        seed_file: PathBuf,
        /// KDF costs (file backend).
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Print the public key (no passphrase needed for a key file).
    Pubkey {
        /// Where the key is.
        #[command(flatten)]
        backend: BackendArgs,
    },
}

/// Reads a seed file: 32 raw bytes, or 64 hex characters with optional trailing whitespace.
pub(crate) fn read_seed(path: &Path) -> Result<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| KeyError::io(path, e))?);
    let mut seed = Zeroizing::new([0u8; 32]);
    if bytes.len() == 32 {
        seed.copy_from_slice(&bytes);
        return Ok(seed);
    }
    let text = bytes.trim_ascii_end();
    hex::decode_to_slice(text, seed.as_mut()).map_err(|_| {
        KeyError::InvalidKey(format!(
            "{}: a seed file holds 32 raw bytes or 64 hex characters",
            path.display()
        ))
    })?;
    Ok(seed)
}

fn report(backend: &dyn KeyBackend, location: String) -> String {
    format!(
        "backend={}\n{location}\npublic_key={}\n",
        backend.kind(),
        hex::encode(backend.public_key())
    )
}

impl KeyCommand {
    /// Runs the command; returns the text to print.
    pub fn run(self) -> Result<String> {
        match self {
            KeyCommand::Keygen { backend, kdf } => match backend.key_backend {
                KeyBackendKind::File => {
                    let path = backend.key_file()?;
                    let key = FileKey::generate(path, &backend.passphrase()?, (&kdf).into())?;
                    Ok(report(&key, format!("key_file={}", path.display())))
                }
                KeyBackendKind::Pkcs11 => {
                    let key = Pkcs11Key::generate_in_token(&backend.pkcs11_config()?)?;
                    Ok(report(&key, pkcs11_location(&key)))
                }
            },
            KeyCommand::Import {
                backend,
                seed_file,
                kdf,
            } => {
                let seed = read_seed(&seed_file)?;
                match backend.key_backend {
                    KeyBackendKind::File => {
                        let path = backend.key_file()?;
                        let key =
                            FileKey::import(path, seed, &backend.passphrase()?, (&kdf).into())?;
                        Ok(report(&key, format!("key_file={}", path.display())))
                    }
                    KeyBackendKind::Pkcs11 => {
                        let key = Pkcs11Key::import_into_token(&backend.pkcs11_config()?, seed)?;
                        Ok(report(&key, pkcs11_location(&key)))
                    }
                }
            }
            KeyCommand::Pubkey { backend } => match backend.key_backend {
                KeyBackendKind::File => {
                    let path = backend.key_file()?;
                    let public = FileKey::public_key_of(path)?;
                    Ok(format!(
                        "backend=file\nkey_file={}\npublic_key={}\n",
                        path.display(),
                        hex::encode(public)
                    ))
                }
                KeyBackendKind::Pkcs11 => {
                    let token = backend.pkcs11_token()?;
                    let label = backend.pkcs11_key_label()?;
                    let pin = backend.pkcs11_pin_if_set()?;
                    let public = Pkcs11Key::public_key_in_token(
                        &backend.pkcs11_module,
                        token,
                        label,
                        pin.as_ref(),
                    )?;
                    Ok(format!(
                        "backend=pkcs11\ntoken={token}\nkey_label={label}\npublic_key={}\n",
                        hex::encode(public)
                    ))
                }
            },
        }
    }
}

fn pkcs11_location(key: &Pkcs11Key) -> String {
    format!("token={}\nkey_label={}", key.token_label(), key.key_label())
}
