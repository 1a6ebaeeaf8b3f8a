//! `make up`'s run against a real in-process devnet, the real Postgres and the real
//! `payout-signer` binary: the contracts trust the signer's key (created on first run), the
//! signer authorizes exactly the ledger's approved earnings, the indexer beside the devnet
//! decodes every event with exact amounts, the ledger confirms the batch and reconciles with
//! the chain, and a database that indexed another chain is started over.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use labelmint_devnet::scenario::{DEPOSIT, FEE_BPS, PAYOUTS};
use labelmint_devnet::{Config, spawn};
use labelmint_ledger::BatchState;
use labelmint_stack::up::{UpConfig, up};
use labelmint_testdb::ScratchDb;

/// The payout-signer binary of this build (built here when `cargo test` did not build it).
fn signer_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let bin = dir.join("payout-signer");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "labelmint-payout-signer",
                "--bin",
                "payout-signer",
            ])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building payout-signer");
    }
    assert!(bin.exists(), "{} missing", bin.display());
    bin
}

async fn devnet() -> labelmint_devnet::Devnet {
    spawn(Config {
        block_time: Some(Duration::from_millis(100)),
        ..Config::test()
    })
    .await
    .expect("devnet")
}

#[tokio::test]
async fn up_prints_what_the_indexer_decoded_and_starts_over_on_a_new_chain() {
    // The stack creates (and on a new chain re-creates) the database by name; the scratch
    // database gives it a fresh name and drops it at the end.
    let scratch = ScratchDb::create("labelmint_up_it").await;
    let signer_dir = tempfile::tempdir().expect("tempdir");
    let config = UpConfig {
        admin_database_url: labelmint_testdb::admin_url(),
        database: scratch.name.clone(),
        metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        signer_bin: signer_bin(),
        signer_dir: signer_dir.path().join("signer"),
        signer_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
    };

    let first = devnet().await;
    let mut out = Vec::new();
    let stack = up(&first, &config, &mut out).await.expect("up");
    let text = String::from_utf8_lossy(&out).to_string();
    let kinds: Vec<&str> = stack.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ev_gas_topped_up",
            "ev_deposit",
            "ev_release",
            "ev_vault_funded",
            "ev_batch_executed"
        ],
        "{text}"
    );
    let amount = |kind: &str| {
        stack
            .events
            .iter()
            .find(|e| e.kind == kind)
            .and_then(|e| e.amount)
    };
    // The release funds exactly the approved earnings; the batch pays exactly them.
    let release: u128 = PAYOUTS.iter().sum();
    let fee = release * u128::from(FEE_BPS) / 10_000;
    assert_eq!(amount("ev_deposit"), Some(DEPOSIT));
    assert_eq!(amount("ev_release"), Some(release));
    assert_eq!(
        stack
            .events
            .iter()
            .find(|e| e.kind == "ev_release")
            .and_then(|e| e.fee),
        Some(fee)
    );
    assert_eq!(amount("ev_vault_funded"), Some(release));
    assert_eq!(amount("ev_batch_executed"), Some(PAYOUTS.iter().sum()));
    // Every event the scenario saw through the liteserver is in Postgres, in the same order,
    // from the same transactions.
    let seen: Vec<String> = stack
        .report
        .transactions
        .iter()
        .flat_map(|t| t.events.iter().map(move |e| (t.hash, e)))
        .map(|(h, e)| format!("{h}:{}", e.split(' ').next().unwrap_or("")))
        .collect();
    let indexed: Vec<String> = stack
        .events
        .iter()
        .map(|e| format!("{}:{}", e.tx_hash, e.kind))
        .collect();
    assert_eq!(seen, indexed, "{text}");
    // The contracts trust the signer's key; the workers got exactly their earnings; the
    // ledger confirmed the batch from the indexed event and reconciles with the chain; the
    // signer's audit chain verifies.
    assert!(
        config.signer_dir.join("signer.key").exists(),
        "key file created on first run"
    );
    for (worker, amount) in stack.report.workers.iter().zip(PAYOUTS) {
        let (_, balance) = stack
            .report
            .balances
            .iter()
            .find(|(a, _)| a == worker)
            .expect("worker balance");
        assert_eq!(*balance, amount, "{worker}");
    }
    assert_eq!(stack.batch_state, Some(BatchState::Confirmed), "{text}");
    assert!(stack.reconciled, "{text}");
    assert!(stack.audit.starts_with("audit log ok"), "{}", stack.audit);
    for needle in [
        "what the indexer decoded",
        "ev_batch_executed",
        "amount 100 TON",
        "reconciliation with the indexed chain: clean",
        "payout-signer process",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // The checkpoint covers the scenario and the live tail prints nothing twice.
    let last = stack.events.iter().map(|e| e.lt).max().unwrap_or(0);
    let mut tail = Vec::new();
    assert_eq!(
        stack.print_new_events(last, &mut tail).await.expect("tail"),
        last
    );
    assert!(tail.is_empty(), "{}", String::from_utf8_lossy(&tail));
    let first_key = stack.signer.public_key;
    stack.indexer.abort();
    drop(stack);
    drop(first);

    // A new chain (same genesis, different blocks) on the same database: started over.
    let second = devnet().await;
    let mut out = Vec::new();
    let stack = up(&second, &config, &mut out).await.expect("up again");
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(text.contains("indexed another chain"), "{text}");
    assert_eq!(stack.events.len(), 5, "{text}");
    // The same key file, so the same signer key.
    assert_eq!(stack.signer.public_key, first_key);
    assert!(stack.reconciled, "{text}");
    stack.indexer.abort();
    drop(stack);
    drop(scratch);
}

/// The password of a `postgres://user:password@host/db` URL.
fn password_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let userinfo = rest.split_once('@').map_or("", |(u, _)| u);
    userinfo
        .split_once(':')
        .map(|(_, p)| p.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_signer_process_gets_its_secrets_from_env_and_files_never_argv() {
    // The signer as `make up` starts it, on a scratch database of the private cluster (whose
    // URL carries the cluster's password).
    let scratch = ScratchDb::create("labelmint_up_secrets").await;
    let password = password_of(&scratch.url);
    assert!(!password.is_empty(), "the test URL has a password");
    let ledger = labelmint_ledger::Ledger::connect(&scratch.url, 2)
        .await
        .expect("ledger");
    ledger.migrate().await.expect("ledger migrations");
    let dir = tempfile::tempdir().expect("tempdir");
    let signer_dir = dir.path().join("signer");
    let mut signer = labelmint_stack::signer::SignerProcess::start(
        &signer_bin(),
        &signer_dir,
        &scratch.url,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        labelmint_devnet::engine::ton_config::DEVNET_GLOBAL_ID,
    )
    .await
    .expect("the signer starts");
    assert!(signer.is_running());
    let pid = signer.pid().expect("pid");

    // What every user of the machine can read: the command line.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).to_string())
        .collect();
    let joined = args.join(" ");
    let token = std::fs::read_to_string(signer_dir.join("token")).expect("token");
    let passphrase = std::fs::read_to_string(signer_dir.join("passphrase")).expect("passphrase");
    for (what, secret) in [
        ("the database password", format!(":{password}@")),
        ("the database URL", scratch.url.clone()),
        ("the bearer token", token.trim().to_string()),
        ("the key passphrase", passphrase.trim().to_string()),
    ] {
        assert!(
            !joined.contains(&secret),
            "{what} is on the command line: {joined}"
        );
    }
    assert!(
        !args
            .iter()
            .any(|a| a.starts_with("--database-url") && a != "--database-url-file"),
        "{joined}"
    );
    // The URL went through the child's environment (readable by its owner only) ...
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    let env_text = String::from_utf8_lossy(&environ);
    assert!(
        env_text.contains(&format!("DATABASE_URL={}", scratch.url)),
        "the database URL is passed in the environment"
    );
    // ... and the token and passphrase as owner-only files.
    use std::os::unix::fs::PermissionsExt;
    for name in ["token", "passphrase", "signer.key"] {
        let mode = std::fs::metadata(signer_dir.join(name))
            .expect("secret file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name}: mode {mode:o}");
    }
    // The operator's commands take the URL the same way.
    let verified = signer
        .command("audit", &["verify"])
        .await
        .expect("audit verify");
    assert!(verified.starts_with("audit log ok"), "{verified}");
    drop(signer);
    drop(scratch);
}
