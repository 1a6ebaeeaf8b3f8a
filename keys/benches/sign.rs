//! Sign latency of each key backend (`cargo bench -p labelmint-keys`).
//!
//! A 250-item vault batch is one signature over its 32-byte cell hash, so signs/s bounds the
//! signed batches/s the payout signer can reach (policy checks in Postgres come on top: the
//! signer's own benchmark measures the whole). Groups:
//! - `sign/file`, `sign/pkcs11`: one signature, one thread.
//! - `sign_8_threads/pkcs11_sessions_{1,4}`: 8 threads signing at once through one key,
//!   with one session behind a mutex vs. a pool of 4 (time per signature).
//! - `open/file_default_kdf`, `open/pkcs11`: start-up cost (argon2id at m = 64 MiB, t = 3;
//!   token login, key lookup, protection check, probe signature).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use labelmint_keys::{FileKey, KdfParams, KeyBackend, Passphrase, Pkcs11Config, Pkcs11Key};
use zeroize::Zeroizing;

fn secret(s: &str) -> Passphrase {
    Passphrase::new(Zeroizing::new(s.to_owned()), "bench").expect("non-empty")
}

/// The SoftHSM2 token of scripts/softhsm.sh (run here, before any thread or PKCS#11 module).
fn softhsm(key_label: &str, sessions: usize) -> Pkcs11Config {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/softhsm.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("run softhsm.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = |key: &str| {
        stdout
            .lines()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .next_back()
            .expect("softhsm.sh output")
            .to_owned()
    };
    if std::env::var_os("SOFTHSM2_CONF").is_none() {
        // SAFETY: single-threaded here, before any PKCS#11 module is loaded.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("SOFTHSM2_CONF", value("SOFTHSM2_CONF"));
        }
    }
    Pkcs11Config {
        module: value("LABELMINT_PKCS11_MODULE").into(),
        token_label: value("LABELMINT_PKCS11_TOKEN"),
        pin: secret(&value("LABELMINT_PKCS11_PIN")),
        key_label: key_label.into(),
        sessions,
    }
}

/// Time for `iters` signatures spread over 8 threads.
fn eight_threads(key: &Arc<dyn KeyBackend>, iters: u64) -> Duration {
    let per_thread = iters.div_ceil(8);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let key = key.clone();
            s.spawn(move || {
                for i in 0..per_thread {
                    let hash = [(t * 31 + i) as u8; 32];
                    std::hint::black_box(key.sign(&hash).expect("sign"));
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file_key = FileKey::generate(
        &dir.path().join("bench.key"),
        &secret("THROWAWAY bench"),
        KdfParams::insecure_for_tests(),
    )
    .expect("key file");

    let label = format!("bench-{:016x}", rand::random::<u64>());
    let config = softhsm(&label, 1);
    let token_key = Pkcs11Key::generate_in_token(&config).expect("generate in SoftHSM2");

    let hash = [0x5au8; 32];
    let mut group = c.benchmark_group("sign");
    group.throughput(Throughput::Elements(1));
    group.bench_function("file", |b| {
        b.iter(|| file_key.sign(std::hint::black_box(&hash)))
    });
    group.bench_function("pkcs11", |b| {
        b.iter(|| token_key.sign(std::hint::black_box(&hash)))
    });
    group.finish();

    let mut group = c.benchmark_group("sign_8_threads");
    group.throughput(Throughput::Elements(1));
    let file_arc: Arc<dyn KeyBackend> = Arc::new(file_key);
    group.bench_function("file", |b| {
        b.iter_custom(|iters| eight_threads(&file_arc, iters))
    });
    drop(token_key);
    for sessions in [1usize, 4] {
        let mut cfg = config.clone();
        cfg.sessions = sessions;
        let key: Arc<dyn KeyBackend> = Arc::new(Pkcs11Key::open(&cfg).expect("open"));
        group.bench_function(format!("pkcs11_sessions_{sessions}"), |b| {
            b.iter_custom(|iters| eight_threads(&key, iters))
        });
    }
    group.finish();

    // Start-up cost of the file backend at the default argon2id parameters.
    let default_path = dir.path().join("default.key");
    let pass = secret("THROWAWAY bench default");
    FileKey::generate(&default_path, &pass, KdfParams::default()).expect("key file");
    let mut group = c.benchmark_group("open");
    group.sample_size(10);
    group.bench_function("file_default_kdf", |b| {
        b.iter(|| FileKey::open(&default_path, &pass).expect("open"))
    });
    group.bench_function("pkcs11", |b| {
        b.iter(|| Pkcs11Key::open(&config).expect("open"))
    });
    group.finish();

    Pkcs11Key::destroy_in_token(&config).expect("clean up the bench key");
}

criterion_group!(benches, bench);
criterion_main!(benches);
