//! The encrypted key file backend.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use labelmint_keys::{FileKey, KdfParams, KeyBackend, KeyError};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::support::secret;

const FAST: KdfParams = KdfParams::insecure_for_tests();

/// RFC 8032 section 7.1, test 1.
const RFC_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn verify(public: &[u8; 32], hash: &[u8; 32], signature: &[u8; 64]) {
    VerifyingKey::from_bytes(public)
        .expect("valid public key")
        .verify_strict(hash, &Signature::from_bytes(signature))
        .expect("signature verifies");
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn owner_only(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec(v).expect("json")).expect("write");
    owner_only(path);
}

#[test]
fn generate_open_sign_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("signer.key");
    let pass = secret("THROWAWAY correct horse");
    let key = FileKey::generate(&path, &pass, FAST).expect("generate");
    assert_eq!(key.kind(), "file");
    let hash = [0x42u8; 32];
    let sig = key.sign(&hash).expect("sign");
    verify(&key.public_key(), &hash, &sig);

    let opened = FileKey::open(&path, &pass).expect("open");
    assert_eq!(opened.public_key(), key.public_key());
    assert_eq!(
        opened.sign(&hash).expect("sign"),
        sig,
        "ed25519 is deterministic"
    );
    assert_eq!(
        FileKey::public_key_of(&path).expect("pubkey"),
        key.public_key()
    );

    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("signer.key")],
        "no temp file left"
    );

    let v = json(&path);
    assert_eq!(v["format"], "labelmint-signer-key");
    assert_eq!(v["version"], 1);
    assert_eq!(v["kdf"]["alg"], "argon2id");
    assert_eq!(v["aead"]["alg"], "xchacha20poly1305");
    assert_eq!(v["public_key"], hex::encode(key.public_key()));
    assert_eq!(v["kdf"]["m_kib"], FAST.m_kib);
}

#[test]
fn default_kdf_params_are_strong_and_recorded() {
    let defaults = KdfParams::default();
    assert!(defaults.m_kib >= 64 * 1024 && defaults.t >= 3 && defaults.p >= 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("default.key");
    let pass = secret("THROWAWAY default-cost passphrase");
    let key = FileKey::generate(&path, &pass, defaults).expect("generate");
    let v = json(&path);
    assert_eq!(v["kdf"]["m_kib"], 65536);
    assert_eq!(v["kdf"]["t"], 3);
    assert_eq!(v["kdf"]["p"], 1);
    let opened = FileKey::open(&path, &pass).expect("open with default params");
    assert_eq!(opened.public_key(), key.public_key());
}

#[test]
fn import_rfc8032_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("imported.key");
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(RFC_SEED, seed.as_mut()).expect("hex");
    let reference = SigningKey::from_bytes(&seed);
    let pass = secret("THROWAWAY import");
    let key = FileKey::import(&path, seed, &pass, FAST).expect("import");
    assert_eq!(hex::encode(key.public_key()), RFC_PUBLIC);
    let hash = [9u8; 32];
    let expected = ed25519_dalek::Signer::sign(&reference, &hash).to_bytes();
    assert_eq!(
        FileKey::open(&path, &pass)
            .expect("open")
            .sign(&hash)
            .expect("sign"),
        expected
    );
}

#[test]
fn wrong_passphrase_is_its_own_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.key");
    FileKey::generate(&path, &secret("THROWAWAY right"), FAST).expect("generate");
    let err = FileKey::open(&path, &secret("THROWAWAY wrong")).expect_err("wrong passphrase");
    assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err:?}");
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
}

/// Each tampering of a file made with the right passphrase, and the error it must give.
#[test]
fn corrupt_files_are_told_apart_from_wrong_passphrases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pass = secret("THROWAWAY tamper");
    let base = dir.path().join("base.key");
    let key = FileKey::generate(&base, &pass, FAST).expect("generate");
    let original = json(&base);
    let other_public = hex::encode(
        SigningKey::from_bytes(&[1u8; 32])
            .verifying_key()
            .to_bytes(),
    );

    type Edit = Box<dyn Fn(&mut Value)>;
    let flip = |s: &str| {
        let mut b = hex::decode(s).expect("hex");
        b[0] ^= 1;
        hex::encode(b)
    };
    let ct = original["aead"]["ciphertext"]
        .as_str()
        .expect("str")
        .to_owned();
    let nonce = original["aead"]["nonce"].as_str().expect("str").to_owned();
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "ciphertext",
            Box::new(move |v| v["aead"]["ciphertext"] = flip(&ct).into()),
            "corrupt",
        ),
        (
            "nonce",
            Box::new(move |v| v["aead"]["nonce"] = flip(&nonce).into()),
            "corrupt",
        ),
        (
            "public key",
            Box::new(move |v| v["public_key"] = other_public.clone().into()),
            "corrupt",
        ),
        (
            "short ciphertext",
            Box::new(|v| v["aead"]["ciphertext"] = "abcd".into()),
            "corrupt",
        ),
        (
            "unknown field",
            Box::new(|v| v["extra"] = 1.into()),
            "corrupt",
        ),
        (
            "other aead",
            Box::new(|v| v["aead"]["alg"] = "aes-256-gcm".into()),
            "corrupt",
        ),
        (
            "other format",
            Box::new(|v| v["format"] = "something-else".into()),
            "corrupt",
        ),
        (
            "huge memory cost",
            Box::new(|v| v["kdf"]["m_kib"] = (8u64 << 20).into()),
            "corrupt",
        ),
        (
            "version 2",
            Box::new(|v| v["version"] = 2.into()),
            "version",
        ),
        // The KDF inputs change the derived key, so the check value cannot match.
        (
            "salt",
            Box::new(|v| v["kdf"]["salt"] = hex::encode([7u8; 32]).into()),
            "passphrase",
        ),
    ];
    for (i, (what, edit, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("case{i}.key"));
        let mut v = original.clone();
        edit(&mut v);
        write_json(&path, &v);
        let err = FileKey::open(&path, &pass).expect_err(what);
        let ok = match expected {
            "corrupt" => matches!(err, KeyError::Corrupt { .. }),
            "version" => matches!(err, KeyError::UnsupportedVersion { version: 2, .. }),
            "passphrase" => matches!(err, KeyError::WrongPassphrase { .. }),
            _ => false,
        };
        assert!(ok, "{what}: expected {expected}, got {err:?}");
    }
    for (i, garbage) in [
        &b""[..],
        b"{",
        b"not json",
        &std::fs::read(&base).expect("read")[..40],
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(format!("garbage{i}.key"));
        std::fs::write(&path, garbage).expect("write");
        owner_only(&path);
        let err = FileKey::open(&path, &pass).expect_err("garbage");
        assert!(matches!(err, KeyError::Corrupt { .. }), "{err:?}");
    }
    // The untouched file still opens.
    assert_eq!(
        FileKey::open(&base, &pass).expect("open").public_key(),
        key.public_key()
    );
}

#[test]
fn never_overwrites_a_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.key");
    let pass = secret("THROWAWAY keep");
    FileKey::generate(&path, &pass, FAST).expect("generate");
    let before = std::fs::read(&path).expect("read");
    let err = FileKey::generate(&path, &pass, FAST).expect_err("exists");
    assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err:?}");
    let err = FileKey::import(&path, Zeroizing::new([3u8; 32]), &pass, FAST).expect_err("exists");
    assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), before);

    // Any existing entry counts, even an empty file or a dangling symlink.
    let empty = dir.path().join("empty.key");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(
        FileKey::generate(&empty, &pass, FAST),
        Err(KeyError::AlreadyExists { .. })
    ));
    let link = dir.path().join("link.key");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).expect("symlink");
    assert!(matches!(
        FileKey::generate(&link, &pass, FAST),
        Err(KeyError::AlreadyExists { .. })
    ));
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn missing_file_and_bad_params() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pass = secret("THROWAWAY x");
    let err = FileKey::open(&dir.path().join("none.key"), &pass).expect_err("missing");
    assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
    for bad in [
        KdfParams {
            m_kib: 4,
            t: 1,
            p: 1,
        },
        KdfParams {
            m_kib: 1024,
            t: 0,
            p: 1,
        },
        KdfParams {
            m_kib: 1024,
            t: 1,
            p: 0,
        },
    ] {
        let err = FileKey::generate(&dir.path().join("bad.key"), &pass, bad).expect_err("params");
        assert!(matches!(err, KeyError::KdfParams(_)), "{err:?}");
    }
    assert!(!dir.path().join("bad.key").exists());
}

#[test]
fn debug_never_prints_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.key");
    let pass_text = "THROWAWAY-very-secret-passphrase";
    let pass = secret(pass_text);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(RFC_SEED, seed.as_mut()).expect("hex");
    let key = FileKey::import(&path, seed, &pass, FAST).expect("import");
    let backend: Arc<dyn KeyBackend> = Arc::new(FileKey::open(&path, &pass).expect("open"));
    let config = labelmint_keys::BackendConfig::File {
        path: path.clone(),
        passphrase: pass.clone(),
    };
    for text in [
        format!("{pass:?}"),
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{backend:?}"),
        format!("{config:?}"),
    ] {
        assert!(!text.contains(pass_text), "{text}");
        assert!(!text.to_lowercase().contains(RFC_SEED), "{text}");
        assert!(
            !text.contains("157, 97, 177"),
            "seed bytes as a list: {text}"
        ); // 0x9d,0x61,0xb1
    }
    assert!(
        format!("{key:?}").contains(RFC_PUBLIC),
        "Debug shows the public key"
    );
    assert_eq!(format!("{pass:?}"), "Passphrase(<redacted>)");
}

#[test]
fn concurrent_signing_from_8_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.key");
    let key: Arc<dyn KeyBackend> =
        Arc::new(FileKey::generate(&path, &secret("THROWAWAY threads"), FAST).expect("generate"));
    let public = key.public_key();
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let key = key.clone();
            s.spawn(move || {
                for i in 0..50u8 {
                    let hash = [t ^ i; 32];
                    verify(&public, &hash, &key.sign(&hash).expect("sign"));
                }
            });
        }
    });
}

#[test]
fn a_key_file_open_to_group_or_others_is_refused_naming_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("signer.key");
    let pass = secret("THROWAWAY perms");
    let key = FileKey::generate(&path, &pass, FAST).expect("generate");
    for (mode, refused) in [
        (0o600, false),
        (0o400, false),
        (0o700, false),
        (0o640, true),
        (0o644, true),
        (0o604, true),
        (0o620, true),
        (0o601, true),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        match FileKey::open(&path, &pass) {
            Ok(k) => {
                assert!(!refused, "mode {mode:o} was accepted");
                assert_eq!(k.public_key(), key.public_key());
            }
            Err(err) => {
                assert!(refused, "mode {mode:o}: {err}");
                assert!(
                    matches!(&err, KeyError::Permissions { mode: m, .. } if *m == mode),
                    "{err:?}"
                );
                let text = err.to_string();
                assert!(text.contains(&path.display().to_string()), "{text}");
                assert!(
                    text.contains(&format!("chmod 600 {}", path.display())),
                    "{text}"
                );
            }
        }
    }
    // The same check, for the signer's other secret files.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(labelmint_keys::check_owner_only(&path).is_err());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    labelmint_keys::check_owner_only(&path).expect("0600 passes");
}
