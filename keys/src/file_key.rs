//! The encrypted key file backend.

use std::fmt;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer as _, SigningKey};
use zeroize::Zeroizing;

use crate::KeyBackend;
use crate::atomic::write_new_file;
use crate::error::{KeyError, Result};
use crate::file_format::{
    AEAD_ALG, ARGON2_VERSION, AeadSection, FORMAT, Header, KDF_ALG, KdfSection, KeyFileV1, VERSION,
    associated_data, check_value,
};
use crate::kdf::KdfParams;
use crate::passphrase::Passphrase;

/// An ed25519 key decrypted from a key file, held in memory (zeroized on drop) for signing.
pub struct FileKey {
    path: PathBuf,
    signing: SigningKey,
    public: [u8; 32],
}

impl FileKey {
    /// Generates a fresh key (from the OS RNG) and writes it to `path`, which must not exist.
    pub fn generate(path: &Path, passphrase: &Passphrase, kdf: KdfParams) -> Result<FileKey> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut())
            .map_err(|e| KeyError::InvalidKey(format!("OS random generator: {e}")))?;
        FileKey::import(path, seed, passphrase, kdf)
    }

    /// Writes the given 32-byte ed25519 seed (RFC 8032 secret key) to `path`, which must not
    /// exist, encrypted under `passphrase`.
    pub fn import(
        path: &Path,
        seed: Zeroizing<[u8; 32]>,
        passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> Result<FileKey> {
        kdf.validate()?;
        if path.symlink_metadata().is_ok() {
            return Err(KeyError::AlreadyExists { path: path.into() });
        }
        let signing = SigningKey::from_bytes(&seed);
        let public = signing.verifying_key().to_bytes();
        let mut salt = [0u8; 32];
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut salt)
            .and_then(|()| getrandom::fill(&mut nonce))
            .map_err(|e| KeyError::InvalidKey(format!("OS random generator: {e}")))?;
        let kdf_section = KdfSection {
            alg: KDF_ALG.into(),
            argon2_version: ARGON2_VERSION,
            m_kib: kdf.m_kib,
            t: kdf.t,
            p: kdf.p,
            salt,
        };
        let derived = kdf.derive::<64>(passphrase, &salt)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&derived[..32])
            .map_err(|_| KeyError::InvalidKey("AEAD key length".into()))?;
        let aad = associated_data(&public, &kdf_section);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: seed.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| KeyError::InvalidKey("encryption failed".into()))?;
        let ciphertext: [u8; 48] = sealed
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::InvalidKey("unexpected ciphertext length".into()))?;
        let file = KeyFileV1 {
            format: FORMAT.into(),
            version: VERSION,
            public_key: public,
            kdf: kdf_section,
            check: check_value(&derived),
            aead: AeadSection {
                alg: AEAD_ALG.into(),
                nonce,
                ciphertext,
            },
        };
        let mut json = serde_json::to_vec_pretty(&file)
            .map_err(|e| KeyError::InvalidKey(format!("serialize key file: {e}")))?;
        json.push(b'\n');
        write_new_file(path, &json)?;
        tracing::info!(path = %path.display(), public_key = %hex::encode(public), "wrote key file");
        Ok(FileKey {
            path: path.into(),
            signing,
            public,
        })
    }

    /// Decrypts the key file at `path`. A file its group or others may access is refused
    /// first ([`KeyError::Permissions`]: `chmod 600` it). A wrong passphrase gives
    /// [`KeyError::WrongPassphrase`]; a malformed or altered file [`KeyError::Corrupt`] (or
    /// [`KeyError::UnsupportedVersion`]).
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<FileKey> {
        // A key file its group or others can read is refused before it is read.
        crate::perms::check_owner_only(path)?;
        let file = read(path)?;
        let kdf = KdfParams {
            m_kib: file.kdf.m_kib,
            t: file.kdf.t,
            p: file.kdf.p,
        };
        kdf.validate()
            .map_err(|e| KeyError::corrupt(path, e.to_string()))?;
        let derived = kdf.derive::<64>(passphrase, &file.kdf.salt)?;
        if check_value(&derived) != file.check {
            return Err(KeyError::WrongPassphrase { path: path.into() });
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&derived[..32])
            .map_err(|_| KeyError::InvalidKey("AEAD key length".into()))?;
        let aad = associated_data(&file.public_key, &file.kdf);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &XNonce::from(file.aead.nonce),
                    Payload {
                        msg: &file.aead.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| {
                    KeyError::corrupt(
                        path,
                        "authentication failed: the ciphertext, public key or KDF settings were altered",
                    )
                })?,
        );
        let mut seed = Zeroizing::new([0u8; 32]);
        if plain.len() != 32 {
            return Err(KeyError::corrupt(path, "decrypted seed is not 32 bytes"));
        }
        seed.copy_from_slice(&plain);
        let signing = SigningKey::from_bytes(&seed);
        let public = signing.verifying_key().to_bytes();
        if public != file.public_key {
            return Err(KeyError::PublicKeyMismatch(format!(
                "{}: the decrypted key's public key is {}, the file records {}",
                path.display(),
                hex::encode(public),
                hex::encode(file.public_key)
            )));
        }
        Ok(FileKey {
            path: path.into(),
            signing,
            public,
        })
    }

    /// The public key recorded in the key file, read without the passphrase.
    pub fn public_key_of(path: &Path) -> Result<[u8; 32]> {
        Ok(read(path)?.public_key)
    }

    /// The key file this key was read from or written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads and parses a key file (no decryption).
fn read(path: &Path) -> Result<KeyFileV1> {
    let bytes = std::fs::read(path).map_err(|e| KeyError::io(path, e))?;
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|e| KeyError::corrupt(path, format!("not a key file: {e}")))?;
    if header.format != FORMAT {
        return Err(KeyError::corrupt(
            path,
            format!("format is {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    if header.version != VERSION {
        return Err(KeyError::UnsupportedVersion {
            path: path.into(),
            version: header.version,
        });
    }
    let file: KeyFileV1 =
        serde_json::from_slice(&bytes).map_err(|e| KeyError::corrupt(path, e.to_string()))?;
    if file.kdf.alg != KDF_ALG || file.kdf.argon2_version != ARGON2_VERSION {
        return Err(KeyError::corrupt(
            path,
            format!(
                "kdf {} version {} (expected {KDF_ALG} version {ARGON2_VERSION})",
                file.kdf.alg, file.kdf.argon2_version
            ),
        ));
    }
    if file.aead.alg != AEAD_ALG {
        return Err(KeyError::corrupt(
            path,
            format!("aead {} (expected {AEAD_ALG})", file.aead.alg),
        ));
    }
    Ok(file)
}

impl KeyBackend for FileKey {
    fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn sign(&self, hash: &[u8; 32]) -> Result<[u8; 64]> {
        Ok(self.signing.sign(hash).to_bytes())
    }

    fn kind(&self) -> &'static str {
        "file"
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKey")
            .field("path", &self.path)
            .field("public_key", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}
