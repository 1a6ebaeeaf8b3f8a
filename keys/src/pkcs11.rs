//! The PKCS#11 backend: the ed25519 key is generated (or imported) inside the token and never
//! leaves it; only signatures come out.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{
    Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::{Zeroize, Zeroizing};

use crate::KeyBackend;
use crate::error::{KeyError, Result};
use crate::passphrase::Passphrase;
use crate::pkcs11_point::{ED25519_PARAMS_OID, der_ec_point, parse_ec_point};

/// Debian's SoftHSM2 module (the local and test default).
pub const DEFAULT_SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Sessions a [`Pkcs11Key`] keeps open by default (PKCS#11 sessions are single-threaded: one
/// signature at a time per session).
pub const DEFAULT_SESSIONS: usize = 4;

/// Where the key is and how to log in.
#[derive(Debug, Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library), e.g. [`DEFAULT_SOFTHSM_MODULE`].
    pub module: PathBuf,
    /// The token's label (CKA_LABEL of the token, as set at `C_InitToken`).
    pub token_label: String,
    /// The user PIN (zeroized on drop, redacted in `Debug`).
    pub pin: Passphrase,
    /// The label of the key pair (both objects carry it).
    pub key_label: String,
    /// How many sessions to keep for concurrent signing (at least 1).
    pub sessions: usize,
}

impl Pkcs11Config {
    /// A config with [`DEFAULT_SESSIONS`] sessions.
    pub fn new(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        pin: Passphrase,
        key_label: impl Into<String>,
    ) -> Pkcs11Config {
        Pkcs11Config {
            module: module.into(),
            token_label: token_label.into(),
            pin,
            key_label: key_label.into(),
            sessions: DEFAULT_SESSIONS,
        }
    }
}

/// What the token says about the private key's protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyProtection {
    /// CKA_SENSITIVE: the token will not reveal the key's value.
    pub sensitive: bool,
    /// CKA_EXTRACTABLE: the key can be wrapped out of the token.
    pub extractable: bool,
    /// CKA_ALWAYS_SENSITIVE: sensitive since it was made (false for an imported key).
    pub always_sensitive: bool,
    /// CKA_NEVER_EXTRACTABLE: never was extractable (false for an imported key).
    pub never_extractable: bool,
    /// Whether C_GetAttributeValue(CKA_VALUE) returned the key (it must not).
    pub value_readable: bool,
}

/// An ed25519 key pair inside a PKCS#11 token, with a small pool of logged-in sessions.
pub struct Pkcs11Key {
    ctx: Pkcs11,
    slot: Slot,
    token_label: String,
    key_label: String,
    pin: Passphrase,
    /// The private key's handle (found again after a logout: tokens may renumber it).
    private: RwLock<ObjectHandle>,
    public: [u8; 32],
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
}

/// The module's process-wide context. `C_Initialize` / `C_Finalize` are global to a process
/// and a module, so every key of the process shares one context per module path; it is never
/// finalized (a second key, or a test running in parallel, may still use it).
fn context(module: &Path) -> Result<Pkcs11> {
    static CONTEXTS: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());
    let mut contexts = CONTEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, ctx)) = contexts.iter().find(|(p, _)| p == module) {
        return Ok(ctx.clone());
    }
    let module_err = |reason: String| KeyError::Module {
        module: module.into(),
        reason,
    };
    if !module.exists() {
        return Err(module_err("no such file".into()));
    }
    let ctx = Pkcs11::new(module).map_err(|e| module_err(format!("cannot load: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(format!("C_Initialize: {e}"))),
    }
    contexts.push((module.into(), ctx.clone()));
    Ok(ctx)
}

/// Runs a PKCS#11 call again (up to 5 tries, 5 to 40 ms apart) while it fails with
/// CKR_GENERAL_ERROR. SoftHSM2 gives that when another process rewrites the token file at the
/// same moment (a login updating the PIN counters); every call retried here is idempotent
/// (queries, session opening, login, and ed25519 signing, which is deterministic).
fn retry<T>(mut op: impl FnMut() -> cryptoki::error::Result<T>) -> cryptoki::error::Result<T> {
    let mut delay = std::time::Duration::from_millis(5);
    for _ in 0..4 {
        match op() {
            Err(CkError::Pkcs11(RvError::GeneralError, f)) => {
                tracing::debug!(function = ?f, "PKCS#11 general error: retrying");
                std::thread::sleep(delay);
                delay *= 2;
            }
            other => return other,
        }
    }
    op()
}

fn find_slot(ctx: &Pkcs11, token_label: &str) -> Result<Slot> {
    let slots = retry(|| ctx.get_slots_with_token()).map_err(KeyError::pkcs11("C_GetSlotList"))?;
    for slot in slots {
        let info =
            retry(|| ctx.get_token_info(slot)).map_err(KeyError::pkcs11("C_GetTokenInfo"))?;
        if info.label().trim_end() == token_label {
            if info.user_pin_locked() {
                return Err(KeyError::PinLocked {
                    token: token_label.into(),
                });
            }
            return Ok(slot);
        }
    }
    Err(KeyError::TokenNotFound {
        label: token_label.into(),
    })
}

/// Logs the application in (PKCS#11 login state is per application and token: once one
/// session logged in, all are; a second login says "already logged in", which is fine).
fn login(session: &Session, pin: &Passphrase, token: &str) -> Result<()> {
    let auth = AuthPin::from(pin.expose_str());
    match retry(|| session.login(UserType::User, Some(&auth))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(
            RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
            _,
        )) => Err(KeyError::WrongPin {
            token: token.into(),
        }),
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(KeyError::PinLocked {
            token: token.into(),
        }),
        Err(e) => Err(KeyError::Pkcs11 {
            op: "C_Login",
            source: e,
        }),
    }
}

/// The one object of `class` labelled `label` (an ed25519 key).
fn find_key(
    session: &Session,
    class: ObjectClass,
    label: &str,
    token: &str,
) -> Result<Option<ObjectHandle>> {
    let template = [
        Attribute::Class(class),
        Attribute::KeyType(KeyType::EC_EDWARDS),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let found =
        retry(|| session.find_objects(&template)).map_err(KeyError::pkcs11("C_FindObjects"))?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(KeyError::DuplicateKey {
            label: label.into(),
            token: token.into(),
            count: many.len(),
        }),
    }
}

fn read_public_key(session: &Session, handle: ObjectHandle, label: &str) -> Result<[u8; 32]> {
    let attrs = retry(|| session.get_attributes(handle, &[AttributeType::EcPoint]))
        .map_err(KeyError::pkcs11("C_GetAttributeValue(CKA_EC_POINT)"))?;
    let point = attrs
        .iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p.as_slice()),
            _ => None,
        })
        .ok_or_else(|| KeyError::InvalidKey(format!("public key {label:?} has no CKA_EC_POINT")))?;
    parse_ec_point(point).ok_or_else(|| {
        KeyError::InvalidKey(format!(
            "public key {label:?}: CKA_EC_POINT of {} bytes is not an ed25519 point",
            point.len()
        ))
    })
}

fn protection(session: &Session, private: ObjectHandle) -> Result<KeyProtection> {
    let wanted = [
        AttributeType::Sensitive,
        AttributeType::Extractable,
        AttributeType::AlwaysSensitive,
        AttributeType::NeverExtractable,
    ];
    let attrs = retry(|| session.get_attributes(private, &wanted))
        .map_err(KeyError::pkcs11("C_GetAttributeValue"))?;
    let mut p = KeyProtection {
        sensitive: false,
        extractable: true,
        always_sensitive: false,
        never_extractable: false,
        value_readable: false,
    };
    for attr in attrs {
        match attr {
            Attribute::Sensitive(v) => p.sensitive = v,
            Attribute::Extractable(v) => p.extractable = v,
            Attribute::AlwaysSensitive(v) => p.always_sensitive = v,
            Attribute::NeverExtractable(v) => p.never_extractable = v,
            _ => {}
        }
    }
    let info = retry(|| session.get_attribute_info(private, &[AttributeType::Value]))
        .map_err(KeyError::pkcs11("C_GetAttributeValue(CKA_VALUE) size"))?;
    p.value_readable = matches!(info.first(), Some(AttributeInfo::Available(_)));
    if !p.value_readable {
        // Ask for the value itself too: a token must return nothing.
        let mut value = retry(|| session.get_attributes(private, &[AttributeType::Value]))
            .map_err(KeyError::pkcs11("C_GetAttributeValue(CKA_VALUE)"))?;
        p.value_readable = value.iter().any(|a| matches!(a, Attribute::Value(_)));
        for attr in value.iter_mut() {
            if let Attribute::Value(v) = attr {
                v.zeroize();
            }
        }
    }
    Ok(p)
}

fn eddsa() -> Mechanism<'static> {
    Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))
}

/// Errors after which a fresh session (and login) may succeed: the session is gone, or the
/// application was logged out (then a private key's handle reads as invalid, as SoftHSM2 says).
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid,
            _
        )
    )
}

impl Pkcs11Key {
    /// Opens the key pair `config.key_label` in token `config.token_label`: logs in, checks the
    /// private key is sensitive and not extractable, reads the public key and checks that a
    /// test signature verifies under it.
    pub fn open(config: &Pkcs11Config) -> Result<Pkcs11Key> {
        let ctx = context(&config.module)?;
        let slot = find_slot(&ctx, &config.token_label)?;
        let token = config.token_label.as_str();
        let label = config.key_label.as_str();
        let first =
            retry(|| ctx.open_ro_session(slot)).map_err(KeyError::pkcs11("C_OpenSession"))?;
        login(&first, &config.pin, token)?;
        let private =
            find_key(&first, ObjectClass::PRIVATE_KEY, label, token)?.ok_or_else(|| {
                KeyError::KeyNotFound {
                    what: "private key",
                    label: label.into(),
                    token: token.into(),
                }
            })?;
        let public_handle =
            find_key(&first, ObjectClass::PUBLIC_KEY, label, token)?.ok_or_else(|| {
                KeyError::KeyNotFound {
                    what: "public key",
                    label: label.into(),
                    token: token.into(),
                }
            })?;
        let public = read_public_key(&first, public_handle, label)?;
        let prot = protection(&first, private)?;
        if !prot.sensitive || prot.extractable || prot.value_readable {
            return Err(KeyError::KeyNotProtected {
                label: label.into(),
                sensitive: prot.sensitive,
                extractable: prot.extractable,
            });
        }
        let mut sessions = vec![Mutex::new(first)];
        for _ in 1..config.sessions.max(1) {
            let s =
                retry(|| ctx.open_ro_session(slot)).map_err(KeyError::pkcs11("C_OpenSession"))?;
            sessions.push(Mutex::new(s));
        }
        let key = Pkcs11Key {
            ctx,
            slot,
            token_label: token.into(),
            key_label: label.into(),
            pin: config.pin.clone(),
            private: RwLock::new(private),
            public,
            sessions,
            next: AtomicUsize::new(0),
        };
        key.self_check()?;
        tracing::info!(token, key_label = label, public_key = %hex::encode(public), "opened PKCS#11 key");
        Ok(key)
    }

    /// Generates a new ed25519 key pair inside the token (CKM_EC_EDWARDS_KEY_PAIR_GEN; private
    /// key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE), then opens it. Refuses
    /// a label already in use.
    pub fn generate_in_token(config: &Pkcs11Config) -> Result<Pkcs11Key> {
        Pkcs11Key::create(config, None)
    }

    /// Imports an existing 32-byte ed25519 seed into the token as a sensitive, non-extractable
    /// private key (with its public key), then opens it. Such a key was outside the token
    /// once: CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE stay false. Prefer
    /// [`Pkcs11Key::generate_in_token`].
    pub fn import_into_token(
        config: &Pkcs11Config,
        seed: Zeroizing<[u8; 32]>,
    ) -> Result<Pkcs11Key> {
        Pkcs11Key::create(config, Some(seed))
    }

    fn create(config: &Pkcs11Config, seed: Option<Zeroizing<[u8; 32]>>) -> Result<Pkcs11Key> {
        let ctx = context(&config.module)?;
        let slot = find_slot(&ctx, &config.token_label)?;
        let token = config.token_label.as_str();
        let label = config.key_label.as_str();
        let session =
            retry(|| ctx.open_rw_session(slot)).map_err(KeyError::pkcs11("C_OpenSession"))?;
        login(&session, &config.pin, token)?;
        let used = session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .map_err(KeyError::pkcs11("C_FindObjects"))?;
        if !used.is_empty() {
            return Err(KeyError::KeyExists {
                label: label.into(),
                token: token.into(),
            });
        }
        let mut id = [0u8; 16];
        getrandom::fill(&mut id)
            .map_err(|e| KeyError::InvalidKey(format!("OS random generator: {e}")))?;
        let common = |class: ObjectClass| {
            vec![
                Attribute::Class(class),
                Attribute::KeyType(KeyType::EC_EDWARDS),
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ]
        };
        let mut public_t = common(ObjectClass::PUBLIC_KEY);
        public_t.extend([
            Attribute::EcParams(ED25519_PARAMS_OID.to_vec()),
            Attribute::Private(false),
            Attribute::Verify(true),
        ]);
        let mut private_t = common(ObjectClass::PRIVATE_KEY);
        private_t.extend([
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ]);
        match seed {
            None => {
                // SoftHSM2 answers CKR_GENERAL_ERROR when another session or process rewrites
                // the token's files at the same moment. Generation is not idempotent, so a
                // failed attempt's objects under this (unused until now: checked above) label
                // are removed before the next try.
                let mut delay = std::time::Duration::from_millis(5);
                let mut tries = 0;
                loop {
                    match session.generate_key_pair(
                        &Mechanism::EccEdwardsKeyPairGen,
                        &public_t,
                        &private_t,
                    ) {
                        Ok(_) => break,
                        Err(CkError::Pkcs11(RvError::GeneralError, _)) if tries < 4 => {
                            tries += 1;
                            tracing::debug!(tries, "C_GenerateKeyPair: general error, retrying");
                            let leftovers = session
                                .find_objects(&[
                                    Attribute::Label(label.as_bytes().to_vec()),
                                    Attribute::Id(id.to_vec()),
                                ])
                                .unwrap_or_default();
                            for o in leftovers {
                                let _ = session.destroy_object(o);
                            }
                            std::thread::sleep(delay);
                            delay *= 2;
                        }
                        Err(e) => {
                            return Err(KeyError::Pkcs11 {
                                op: "C_GenerateKeyPair",
                                source: e,
                            });
                        }
                    }
                }
            }
            Some(seed) => {
                let public = ed25519_dalek::SigningKey::from_bytes(&seed)
                    .verifying_key()
                    .to_bytes();
                public_t.push(Attribute::EcPoint(der_ec_point(&public)));
                // On import the private key carries its curve (on generation the token takes
                // it from the public template and refuses it here).
                private_t.push(Attribute::EcParams(ED25519_PARAMS_OID.to_vec()));
                private_t.push(Attribute::Value(seed.to_vec()));
                let created = session.create_object(&private_t);
                for attr in private_t.iter_mut() {
                    if let Attribute::Value(v) = attr {
                        v.zeroize();
                    }
                }
                let private = created.map_err(KeyError::pkcs11("C_CreateObject(private key)"))?;
                if let Err(e) = session.create_object(&public_t) {
                    let _ = session.destroy_object(private);
                    return Err(KeyError::Pkcs11 {
                        op: "C_CreateObject(public key)",
                        source: e,
                    });
                }
            }
        }
        drop(session);
        tracing::info!(token, key_label = label, "created key pair in token");
        Pkcs11Key::open(config)
    }

    /// The public key of `key_label`, read from the token's public object (a PIN is only needed
    /// if the token keeps public objects private).
    pub fn public_key_in_token(
        module: &Path,
        token_label: &str,
        key_label: &str,
        pin: Option<&Passphrase>,
    ) -> Result<[u8; 32]> {
        let ctx = context(module)?;
        let slot = find_slot(&ctx, token_label)?;
        let session =
            retry(|| ctx.open_ro_session(slot)).map_err(KeyError::pkcs11("C_OpenSession"))?;
        if let Some(pin) = pin {
            login(&session, pin, token_label)?;
        }
        let handle = find_key(&session, ObjectClass::PUBLIC_KEY, key_label, token_label)?
            .ok_or_else(|| KeyError::KeyNotFound {
                what: "public key",
                label: key_label.into(),
                token: token_label.into(),
            })?;
        read_public_key(&session, handle, key_label)
    }

    /// What the token reports about the private key's protection (checked at open).
    pub fn protection(&self) -> Result<KeyProtection> {
        self.with_session(|s| protection(s, self.private_handle()))
    }

    /// The key pair's label.
    pub fn key_label(&self) -> &str {
        &self.key_label
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    fn private_handle(&self) -> ObjectHandle {
        *self.private.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn sign_on(&self, session: &Session, hash: &[u8; 32]) -> Result<[u8; 64]> {
        let signature = retry(|| session.sign(&eddsa(), self.private_handle(), hash))
            .map_err(KeyError::pkcs11("C_Sign"))?;
        signature.as_slice().try_into().map_err(|_| {
            KeyError::InvalidKey(format!(
                "token returned a {}-byte signature (ed25519: 64)",
                signature.len()
            ))
        })
    }

    /// Signs a probe on `session` and verifies it under the public key read at open.
    fn check_on(&self, session: &Session) -> Result<()> {
        let probe = [0x5au8; 32];
        let signature = self.sign_on(session, &probe)?;
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(&self.public).map_err(|_| {
            KeyError::InvalidKey("token public key is not a valid ed25519 point".into())
        })?;
        verifying
            .verify_strict(&probe, &ed25519_dalek::Signature::from_bytes(&signature))
            .map_err(|_| {
                KeyError::PublicKeyMismatch(format!(
                    "key {:?}: a token signature does not verify under its public key",
                    self.key_label
                ))
            })
    }

    /// Signs once and verifies under the public key read from the token.
    fn self_check(&self) -> Result<()> {
        self.with_session(|s| self.check_on(s))
    }

    /// A fresh logged-in session with the private key found again and checked (after the
    /// token closed our session or logged the application out).
    fn reconnect(&self) -> Result<Session> {
        let fresh = retry(|| self.ctx.open_ro_session(self.slot))
            .map_err(KeyError::pkcs11("C_OpenSession"))?;
        login(&fresh, &self.pin, &self.token_label)?;
        let private = find_key(
            &fresh,
            ObjectClass::PRIVATE_KEY,
            &self.key_label,
            &self.token_label,
        )?
        .ok_or_else(|| KeyError::KeyNotFound {
            what: "private key",
            label: self.key_label.clone(),
            token: self.token_label.clone(),
        })?;
        *self.private.write().unwrap_or_else(PoisonError::into_inner) = private;
        self.check_on(&fresh)?;
        Ok(fresh)
    }

    /// Runs `op` on a free session (or waits for one); after an error that a new session and
    /// login may cure, the session is replaced ([`Pkcs11Key::reconnect`]) and `op` retried once.
    fn with_session<T>(&self, op: impl Fn(&Session) -> Result<T>) -> Result<T> {
        let mut guard = self.acquire();
        match op(&guard) {
            Err(KeyError::Pkcs11 { source, .. }) if session_lost(&source) => {
                tracing::warn!(token = %self.token_label, error = %source, "PKCS#11 session lost: reconnecting");
                *guard = self.reconnect()?;
                op(&guard)
            }
            other => other,
        }
    }

    fn acquire(&self) -> MutexGuard<'_, Session> {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(guard) = self.sessions[(start + i) % n].try_lock() {
                return guard;
            }
        }
        self.sessions[start]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyBackend for Pkcs11Key {
    fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn sign(&self, hash: &[u8; 32]) -> Result<[u8; 64]> {
        self.with_session(|s| self.sign_on(s, hash))
    }

    fn kind(&self) -> &'static str {
        "pkcs11"
    }
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .field("public_key", &hex::encode(self.public))
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "test-utils")]
impl Pkcs11Key {
    /// Destroys every object labelled `config.key_label` in the token; returns how many.
    /// Test clean-up only (feature `test-utils`): the signer never deletes keys.
    pub fn destroy_in_token(config: &Pkcs11Config) -> Result<usize> {
        let ctx = context(&config.module)?;
        let slot = find_slot(&ctx, &config.token_label)?;
        let session =
            retry(|| ctx.open_rw_session(slot)).map_err(KeyError::pkcs11("C_OpenSession"))?;
        login(&session, &config.pin, &config.token_label)?;
        let found = session
            .find_objects(&[Attribute::Label(config.key_label.as_bytes().to_vec())])
            .map_err(KeyError::pkcs11("C_FindObjects"))?;
        for handle in &found {
            session
                .destroy_object(*handle)
                .map_err(KeyError::pkcs11("C_DestroyObject"))?;
        }
        Ok(found.len())
    }
}
