//! `make up`'s run against a real in-process devnet, the real Postgres, and the real
//! `payout-signer` and `settler` binaries as their own processes: the stack only sets the
//! project up and approves earnings; the settler releases and pays them by itself, each exactly
//! once; the ledger reconciles with the indexed chain; the settler keeps paying new approvals;
//! a database that indexed another chain is started over; no secret is on a command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use labelmint_devnet::{Config, spawn};
use labelmint_stack::scenario::{DEPOSIT, EARNINGS, FEE_BPS};
use labelmint_stack::up::{UpConfig, up};
use labelmint_testdb::ScratchDb;

/// A workspace binary of this build, built here when missing (`cargo test -p
/// labelmint-stack` does not build other packages' binaries).
fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let path = dir.join(bin);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", package, "--bin", bin])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building {bin}");
    }
    assert!(path.exists(), "{} missing", path.display());
    path
}

fn signer_bin() -> PathBuf {
    workspace_bin("labelmint-payout-signer", "payout-signer")
}

fn settler_bin() -> PathBuf {
    workspace_bin("labelmint-settler", "settler")
}

async fn devnet() -> labelmint_devnet::Devnet {
    spawn(Config {
        block_time: Some(Duration::from_millis(100)),
        ..Config::test()
    })
    .await
    .expect("devnet")
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

/// The command line of process `pid`, as every user of the machine can read it.
fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .expect("cmdline")
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).to_string())
        .collect()
}

#[tokio::test]
async fn the_settler_pays_the_approved_earnings_by_itself_exactly_once() {
    // The stack creates (and on a new chain re-creates) its database by name from the admin
    // URL; the scratch database gives it a fresh name and drops it at the end.
    let scratch = ScratchDb::create("labelmint_up_it").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = UpConfig {
        database_url: scratch.url.clone(),
        admin_database_url: labelmint_testdb::admin_url(),
        metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        signer_bin: signer_bin(),
        signer_dir: dir.path().join("signer"),
        signer_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        settler_bin: settler_bin(),
        settler_dir: dir.path().join("settler"),
        settler_metrics: SocketAddr::from(([127, 0, 0, 1], 0)),
        global_config: None,
        settle_timeout: Duration::from_secs(90),
    };

    let first = devnet().await;
    let mut out = Vec::new();
    let mut stack = up(&first, &config, &mut out).await.expect("up");
    let text = String::from_utf8_lossy(&out).to_string();
    let pool = stack.ledger.pool().clone();

    // The chain facts, as the indexer decoded them: one deposit, ONE release of exactly the
    // approved earnings (+ the fee), one batch paying exactly them.
    let kinds: Vec<&str> = stack.events.iter().map(|e| e.kind.as_str()).collect();
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(count("ev_deposit"), 1, "{text}");
    assert_eq!(count("ev_release"), 1, "{text}");
    assert_eq!(count("ev_vault_funded"), 1, "{text}");
    assert_eq!(count("ev_batch_executed"), 1, "{text}");
    assert_eq!(count("ev_payout_bounced"), 0, "{text}");
    let event = |kind: &str| {
        stack
            .events
            .iter()
            .find(|e| e.kind == kind)
            .expect("event")
            .clone()
    };
    let approved: u128 = EARNINGS.iter().sum();
    let fee = approved * u128::from(FEE_BPS) / 10_000;
    assert_eq!(event("ev_deposit").amount, Some(DEPOSIT));
    assert_eq!(event("ev_release").amount, Some(approved), "{text}");
    assert_eq!(event("ev_release").fee, Some(fee), "{text}");
    assert_eq!(event("ev_vault_funded").amount, Some(approved));
    assert_eq!(event("ev_batch_executed").amount, Some(approved));
    assert_eq!(
        stack.report.escrow_data.1, approved,
        "released, per the escrow"
    );
    assert_eq!(stack.report.escrow_data.2, fee, "fees, per the escrow");

    // Exactly once: every earning confirmed, paid by exactly one batch item, and each worker
    // (a new address) holds exactly its earning on chain.
    let ids: Vec<i64> = stack
        .earnings
        .iter()
        .map(|(id, _)| id.get() as i64)
        .collect();
    assert_eq!(ids.len(), EARNINGS.len());
    let paid: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT e.id, count(i.batch_id) FROM ledger_earnings e \
         LEFT JOIN ledger_batch_items i ON i.earning_id = e.id AND i.outcome = 'paid' \
         WHERE e.id = ANY($1) AND e.state = 'confirmed' GROUP BY e.id ORDER BY e.id",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await
    .expect("paid items");
    assert_eq!(
        paid,
        ids.iter().map(|id| (*id, 1)).collect::<Vec<_>>(),
        "{text}"
    );
    for (worker, amount) in stack.plan.workers.iter().zip(EARNINGS) {
        let (_, balance) = stack
            .report
            .balances
            .iter()
            .find(|(a, _)| a == worker)
            .expect("worker balance");
        assert_eq!(*balance, amount, "{worker}");
    }
    assert!(stack.reconciled, "{text}");
    assert!(stack.audit.starts_with("audit log ok"), "{}", stack.audit);

    // The settler did it: it leads, its metrics count the release and the batch, and the
    // signer's journal holds exactly one release and one batch for this run's contracts.
    assert!(stack.figures.leader, "{:?}", stack.figures);
    assert!(stack.figures.releases_sent >= 1, "{:?}", stack.figures);
    assert!(stack.figures.batches_sent >= 1, "{:?}", stack.figures);
    let holder: String = sqlx::query_scalar("SELECT holder FROM settler_leader")
        .fetch_one(&pool)
        .await
        .expect("leader");
    assert_eq!(holder, format!("settler pid {}", stack.settler.pid));
    for needle in [
        "settler process (pid",
        "release requested",
        "release landed",
        "batch #",
        "confirmed",
        "UQ",
        "what the indexer decoded",
        "reconciliation of the ledger with the indexed chain: clean",
        "payout-signer process",
        "audit log ok",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }

    // No secret on the settler's command line: the database URL in its environment, the
    // token and the relayer seed as owner-only files.
    let args = cmdline(stack.settler.pid);
    let joined = args.join(" ");
    let token = std::fs::read_to_string(&stack.signer.token_file).expect("token");
    let seed = std::fs::read_to_string(&stack.settler.relayer_key_file).expect("seed");
    for (what, secret) in [
        (
            "the database password",
            format!(":{}@", password_of(&scratch.url)),
        ),
        ("the bearer token", token.trim().to_string()),
        ("the relayer seed", seed.trim().to_string()),
    ] {
        assert!(
            !joined.contains(&secret),
            "{what} is on the command line: {joined}"
        );
    }
    assert!(
        !out.windows(64).any(|w| w == seed.trim().as_bytes()),
        "the relayer seed was printed"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&stack.settler.relayer_key_file)
            .expect("seed file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "relayer seed file mode {mode:o}");
    }

    // It keeps paying: a new round of approvals is released and paid by the settler alone
    // (after the first release's validity, which holds the next release back, has passed).
    let before = stack.progress.confirmed.len();
    let new = stack.approve_round(&mut out).await.expect("round");
    let started = Instant::now();
    while !stack.all_confirmed().await.expect("states") {
        stack.tick(&mut out).await.expect("tick");
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "round not paid:\n{}",
            String::from_utf8_lossy(&out)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stack.tick(&mut out).await.expect("tick");
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(stack.progress.confirmed.len() > before, "{text}");
    let round_paid: u128 = stack.progress.confirmed[before..]
        .iter()
        .map(|b| b.total)
        .sum();
    assert_eq!(
        round_paid,
        new.iter().map(|(_, a)| a).sum::<u128>(),
        "{text}"
    );
    let rec = stack
        .ledger
        .reconcile(&labelmint_ledger::CurrencyCode::ton())
        .await
        .expect("reconcile");
    assert!(rec.is_clean(), "{:?}\n{text}", rec.issues);
    // The status API as make up serves it: every printed curl line works as printed, and
    // shows this run's figures; the next run's key replaces this one.
    let api_dir = tempfile::tempdir().expect("api dir");
    let api = labelmint_stack::api::start(
        &stack.database_url,
        "127.0.0.1:0".parse().expect("addr"),
        (first.addr(), first.public_key()),
        api_dir.path(),
        &pool,
        None,
    )
    .await
    .expect("api");
    let release_tx = stack
        .events
        .iter()
        .find(|e| e.kind == "ev_release")
        .expect("ev_release")
        .tx_hash
        .clone();
    let lines = labelmint_stack::api::intro(&api, u64::from(stack.plan.run_id), Some(&release_tx));
    let curls: Vec<&String> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("curl "))
        .collect();
    assert!(curls.len() >= 5, "{lines:?}");
    // curl runs off the test's runtime thread: the API server is served by that thread.
    let run = |line: &str| {
        let command = format!("{line} -w '\n%{{http_code}}'");
        async move {
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .output()
                    .expect("curl")
            })
            .await
            .expect("curl thread");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let (body, code) = text.rsplit_once('\n').expect("status line");
            (code.to_owned(), body.to_owned())
        }
    };
    for line in &curls {
        let (code, body) = run(line).await;
        assert_eq!(code, "200", "{line}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        if line.contains("/v1/projects/") {
            assert_eq!(json["deposited"], DEPOSIT.to_string(), "{body}");
            // Every earning approved so far (the first settlement's and the round's).
            let all: u128 = stack.earnings.iter().map(|(_, a)| a).sum();
            assert_eq!(json["released"], all.to_string(), "{body}");
            assert_eq!(json["escrow_state"], "active", "{body}");
            assert!(json["deadline"].as_u64().is_some(), "{body}");
        }
        if line.contains("/v1/transactions/") {
            assert_eq!(json["hash"], release_tx, "{body}");
        }
        if line.contains("/v1/indexer/status") {
            assert!(json["lag_blocks"].as_i64().is_some(), "{body}");
        }
    }
    assert!(
        !lines.join("\n").contains("lmk_"),
        "the key is never printed"
    );
    let again = labelmint_stack::api::start(
        &stack.database_url,
        "127.0.0.1:0".parse().expect("addr"),
        (first.addr(), first.public_key()),
        api_dir.path(),
        &pool,
        None,
    )
    .await
    .expect("api again");
    // The old server, with the key file now holding the new key: still works; the old key
    // (kept aside) no longer does.
    let (code, _) = run(curls[0]).await;
    assert_eq!(code, "200");
    drop(again);
    let revoked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .expect("keys");
    assert_eq!(revoked, 1, "the first run's key was revoked");
    drop(api);

    let first_key = stack.signer.public_key;
    stack.indexer.abort();
    drop(stack);
    drop(first);

    // A new chain (same genesis, different blocks) on the same database: started over, and
    // paid again (the same signer key file, a relayer wallet deployed anew).
    let second = devnet().await;
    let mut out = Vec::new();
    let stack = up(&second, &config, &mut out).await.expect("up again");
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(text.contains("indexed another chain"), "{text}");
    assert_eq!(stack.signer.public_key, first_key);
    assert_eq!(stack.progress.confirmed.len(), 1, "{text}");
    assert!(stack.reconciled, "{text}");
    stack.indexer.abort();
    drop(stack);
    drop(scratch);
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
    let args = cmdline(pid);
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
