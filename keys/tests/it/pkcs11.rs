//! The PKCS#11 backend against SoftHSM2 (scripts/softhsm.sh).

use std::sync::Arc;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use labelmint_keys::{BackendConfig, KeyBackend, KeyError, Pkcs11Key, open_backend};
use zeroize::Zeroizing;

use crate::support::{TestKey, is_child, run_child, secret, softhsm};

fn verify(public: &[u8; 32], hash: &[u8; 32], signature: &[u8; 64]) {
    VerifyingKey::from_bytes(public)
        .expect("valid public key")
        .verify_strict(hash, &Signature::from_bytes(signature))
        .expect("signature verifies");
}

#[test]
fn generate_in_token_sign_verify() {
    let tk = TestKey::new();
    let key = Pkcs11Key::generate_in_token(&tk.config).expect("generate");
    assert_eq!(key.kind(), "pkcs11");
    let public = key.public_key();
    for i in 0..5u8 {
        let hash = [i; 32];
        verify(&public, &hash, &key.sign(&hash).expect("sign"));
    }
    // Reading the public key needs no PIN (and gives the same key).
    let read = Pkcs11Key::public_key_in_token(
        &tk.config.module,
        &tk.config.token_label,
        &tk.config.key_label,
        None,
    )
    .expect("public key");
    assert_eq!(read, public);
    // Opening again finds the same key pair.
    drop(key);
    let again = Pkcs11Key::open(&tk.config).expect("open");
    assert_eq!(again.public_key(), public);
}

#[test]
fn private_key_never_leaves_the_token() {
    let tk = TestKey::new();
    let key = Pkcs11Key::generate_in_token(&tk.config).expect("generate");
    let p = key.protection().expect("attributes");
    assert!(p.sensitive, "CKA_SENSITIVE");
    assert!(!p.extractable, "CKA_EXTRACTABLE");
    assert!(p.always_sensitive, "CKA_ALWAYS_SENSITIVE");
    assert!(p.never_extractable, "CKA_NEVER_EXTRACTABLE");
    assert!(!p.value_readable, "CKA_VALUE must not be readable");
}

#[test]
fn imported_seed_is_the_same_key_and_protected() {
    let tk = TestKey::new();
    let seed = [0x11u8; 32];
    let reference = SigningKey::from_bytes(&seed);
    let key = Pkcs11Key::import_into_token(&tk.config, Zeroizing::new(seed)).expect("import");
    assert_eq!(key.public_key(), reference.verifying_key().to_bytes());
    let hash = [0xeeu8; 32];
    let expected = ed25519_dalek::Signer::sign(&reference, &hash).to_bytes();
    assert_eq!(
        key.sign(&hash).expect("sign"),
        expected,
        "token signs as the seed does"
    );
    let p = key.protection().expect("attributes");
    assert!(p.sensitive && !p.extractable && !p.value_readable, "{p:?}");
    assert!(
        !p.always_sensitive && !p.never_extractable,
        "imported: was outside once: {p:?}"
    );
}

#[test]
fn missing_key_token_module_and_duplicate_label() {
    let tk = TestKey::new();
    let err = Pkcs11Key::open(&tk.config).expect_err("no key yet");
    assert!(
        matches!(
            err,
            KeyError::KeyNotFound {
                what: "private key",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&tk.config.key_label), "{err}");

    Pkcs11Key::generate_in_token(&tk.config).expect("generate");
    let err = Pkcs11Key::generate_in_token(&tk.config).expect_err("label in use");
    assert!(matches!(err, KeyError::KeyExists { .. }), "{err:?}");

    let mut no_token = tk.config.clone();
    no_token.token_label = "no-such-token".into();
    let err = Pkcs11Key::open(&no_token).expect_err("no token");
    assert!(matches!(err, KeyError::TokenNotFound { .. }), "{err:?}");

    let mut no_module = tk.config.clone();
    no_module.module = "/nonexistent/libpkcs11.so".into();
    let err = Pkcs11Key::open(&no_module).expect_err("no module");
    assert!(matches!(err, KeyError::Module { .. }), "{err:?}");
}

#[test]
fn wrong_pin_is_a_clear_error() {
    // PKCS#11 login state is per process: once any test here logged in, the token no longer
    // checks PINs. A fresh child process sees the real answer.
    let tk = TestKey::exclusive();
    Pkcs11Key::generate_in_token(&tk.config).expect("generate");
    run_child(
        "pkcs11::wrong_pin_child",
        &[("LABELMINT_KEYS_TEST_KEY_LABEL", &tk.config.key_label)],
    );
}

#[test]
#[ignore = "run by wrong_pin_is_a_clear_error in a child process"]
fn wrong_pin_child() {
    if !is_child("wrong_pin_child") {
        return;
    }
    let hsm = softhsm();
    let mut config = TestKey::new().config.clone();
    config.key_label = std::env::var("LABELMINT_KEYS_TEST_KEY_LABEL").expect("label");
    let right_pin = config.pin.clone();
    config.pin = secret("THROWAWAY-not-the-pin");
    let err = Pkcs11Key::open(&config).expect_err("wrong PIN");
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err:?}");
    assert!(err.to_string().contains("wrong PIN"), "{err}");
    assert!(
        !format!("{err:?}").contains(&hsm.pin),
        "the error never shows a PIN"
    );
    // And the right PIN still works afterwards.
    config.pin = right_pin;
    Pkcs11Key::open(&config).expect("right PIN");
}

#[test]
fn concurrent_signing_from_8_threads() {
    let tk = TestKey::new();
    let key: Arc<dyn KeyBackend> =
        Arc::new(Pkcs11Key::generate_in_token(&tk.config).expect("generate"));
    let public = key.public_key();
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let key = key.clone();
            s.spawn(move || {
                for i in 0..25u8 {
                    let hash = [t.wrapping_mul(31) ^ i; 32];
                    verify(&public, &hash, &key.sign(&hash).expect("sign"));
                }
            });
        }
    });
}

#[test]
fn open_backend_and_debug_without_pin() {
    let tk = TestKey::new();
    let generated = Pkcs11Key::generate_in_token(&tk.config).expect("generate");
    let config = BackendConfig::Pkcs11(tk.config.clone());
    let backend = open_backend(&config).expect("open");
    assert_eq!(backend.kind(), "pkcs11");
    assert_eq!(backend.public_key(), generated.public_key());
    let pin = softhsm().pin;
    for text in [
        format!("{config:?}"),
        format!("{backend:?}"),
        format!("{generated:?}"),
    ] {
        assert!(!text.contains(&pin), "{text}");
    }
    assert!(format!("{backend:?}").contains(&hex::encode(generated.public_key())));
}

/// A raw PKCS#11 session on the test token, beside the crate's (same process-wide module).
fn raw_session(config: &labelmint_keys::Pkcs11Config) -> cryptoki::session::Session {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    let ctx = Pkcs11::new(&config.module).expect("load module");
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .is_ok_and(|i| i.label().trim_end() == config.token_label)
        })
        .expect("test token");
    let session = ctx.open_rw_session(slot).expect("session");
    let pin = cryptoki::types::AuthPin::from(
        std::str::from_utf8(config.pin.expose()).expect("utf-8 pin"),
    );
    match session.login(cryptoki::session::UserType::User, Some(&pin)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("login: {e}"),
    }
    session
}

#[test]
fn refuses_a_key_that_could_leave_the_token() {
    use cryptoki::object::{Attribute, KeyType, ObjectClass};
    let tk = TestKey::new();
    let session = raw_session(&tk.config);
    let seed = [0x33u8; 32];
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    let label = tk.config.key_label.as_bytes().to_vec();
    let params = vec![0x06, 0x03, 0x2b, 0x65, 0x70];
    let mut point = vec![0x04, 0x20];
    point.extend_from_slice(&public);
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::Sign(true),
            Attribute::Label(label.clone()),
            Attribute::EcParams(params.clone()),
            Attribute::Value(seed.to_vec()),
        ])
        .expect("create an exportable private key");
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Label(label),
            Attribute::EcParams(params),
            Attribute::EcPoint(point),
        ])
        .expect("create its public key");
    let err = Pkcs11Key::open(&tk.config).expect_err("exportable key refused");
    assert!(
        matches!(
            err,
            KeyError::KeyNotProtected {
                sensitive: false,
                extractable: true,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn recovers_when_the_token_logs_out() {
    // Logging out is process-wide: in a child process.
    let _exclusive = TestKey::exclusive();
    run_child("pkcs11::recovers_when_the_token_logs_out_child", &[]);
}

#[test]
#[ignore = "run by recovers_when_the_token_logs_out in a child process"]
fn recovers_when_the_token_logs_out_child() {
    if !is_child("recovers_when_the_token_logs_out_child") {
        return;
    }
    let tk = TestKey::new();
    let key = Pkcs11Key::generate_in_token(&tk.config).expect("generate");
    let hash = [0x77u8; 32];
    verify(&key.public_key(), &hash, &key.sign(&hash).expect("sign"));
    raw_session(&tk.config)
        .logout()
        .expect("log the application out");
    // Every pooled session is now logged out: each is replaced on first use.
    for i in 0..8u8 {
        let hash = [i; 32];
        verify(
            &key.public_key(),
            &hash,
            &key.sign(&hash).expect("sign after logout"),
        );
    }
}
