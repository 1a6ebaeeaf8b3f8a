//! Shared test support: the SoftHSM2 token of scripts/softhsm.sh, random key labels, child
//! processes for tests that need a fresh process (env vars, a token nobody logged in to).

use std::path::PathBuf;
use std::process::Command;
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use labelmint_keys::{DEFAULT_SESSIONS, Passphrase, Pkcs11Config, Pkcs11Key};
use zeroize::Zeroizing;

/// The test token: module, label, user PIN.
#[derive(Debug, Clone)]
pub(crate) struct SoftHsm {
    pub(crate) module: PathBuf,
    pub(crate) token: String,
    pub(crate) pin: String,
}

/// The SoftHSM2 token from the environment (`SOFTHSM2_CONF`, `LABELMINT_PKCS11_*`, as the
/// Makefile exports them), or from running scripts/softhsm.sh (idempotent), which also sets
/// SOFTHSM2_CONF for this process before any PKCS#11 module is loaded.
pub(crate) fn softhsm() -> SoftHsm {
    static HSM: OnceLock<SoftHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        let from_env = (
            std::env::var("SOFTHSM2_CONF"),
            std::env::var("LABELMINT_PKCS11_TOKEN"),
            std::env::var("LABELMINT_PKCS11_PIN"),
        );
        if let (Ok(_), Ok(token), Ok(pin)) = from_env {
            let module = std::env::var("LABELMINT_PKCS11_MODULE")
                .unwrap_or_else(|_| labelmint_keys::DEFAULT_SOFTHSM_MODULE.into());
            return SoftHsm {
                module: module.into(),
                token,
                pin,
            };
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/softhsm.sh");
        let out = Command::new("bash")
            .arg(script)
            .output()
            .expect("run scripts/softhsm.sh");
        assert!(
            out.status.success(),
            "scripts/softhsm.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = |key: &str| {
            stdout
                .lines()
                .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .next_back()
                .unwrap_or_else(|| panic!("scripts/softhsm.sh prints {key}"))
                .to_owned()
        };
        let conf = value("SOFTHSM2_CONF");
        // SAFETY: done once, under the OnceLock, before this process loads any PKCS#11 module
        // (every PKCS#11 test comes through here first); other test threads only read the
        // environment through std, which serialises with set_var.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("SOFTHSM2_CONF", &conf);
        }
        SoftHsm {
            module: value("LABELMINT_PKCS11_MODULE").into(),
            token: value("LABELMINT_PKCS11_TOKEN"),
            pin: value("LABELMINT_PKCS11_PIN"),
        }
    })
    .clone()
}

/// A random key label, so tests run in parallel on one token.
pub(crate) fn random_label() -> String {
    format!("it-{:016x}", rand::random::<u64>())
}

pub(crate) fn secret(s: &str) -> Passphrase {
    Passphrase::new(Zeroizing::new(s.to_owned()), "test").expect("non-empty")
}

/// SoftHSM2 is not safe against other processes changing the same token while this one uses
/// it (transient CKR_GENERAL_ERROR, objects briefly not found): tests that start a PKCS#11
/// child process hold this exclusively, the others share it.
static TOKEN_USE: RwLock<()> = RwLock::new(());

enum Guard {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

/// A PKCS#11 config for a fresh random key label; the key pair is destroyed when the value is
/// dropped (also when the test panics).
pub(crate) struct TestKey {
    pub(crate) config: Pkcs11Config,
    _guard: Guard,
}

impl TestKey {
    /// For a test that uses the token in this process only.
    pub(crate) fn new() -> TestKey {
        let guard = Guard::Shared(TOKEN_USE.read().unwrap_or_else(PoisonError::into_inner));
        TestKey::with_guard(guard)
    }

    /// For a test that also starts a child process using the token.
    pub(crate) fn exclusive() -> TestKey {
        let guard = Guard::Exclusive(TOKEN_USE.write().unwrap_or_else(PoisonError::into_inner));
        TestKey::with_guard(guard)
    }

    fn with_guard(guard: Guard) -> TestKey {
        let hsm = softhsm();
        TestKey {
            config: Pkcs11Config {
                module: hsm.module,
                token_label: hsm.token,
                pin: secret(&hsm.pin),
                key_label: random_label(),
                sessions: DEFAULT_SESSIONS,
            },
            _guard: guard,
        }
    }
}

impl Drop for TestKey {
    fn drop(&mut self) {
        let _ = Pkcs11Key::destroy_in_token(&self.config);
    }
}

/// Env var that marks a child test process.
pub(crate) const CHILD: &str = "LABELMINT_KEYS_TEST_CHILD";

/// Whether this process is a child started by [`run_child`] for `name`.
pub(crate) fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == name)
}

/// Runs the ignored test `module::name` alone in a fresh process of this test binary with the
/// extra env vars, and asserts it passed.
pub(crate) fn run_child(path: &str, envs: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("current test binary");
    let name = path.rsplit("::").next().expect("test name");
    let out = Command::new(exe)
        .args([path, "--exact", "--ignored", "--test-threads=1"])
        .env(CHILD, name)
        .envs(envs.iter().copied())
        .output()
        .expect("run child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child test {path} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
