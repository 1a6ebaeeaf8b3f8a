//! Crash safety: the `settler` binary is SIGKILLed at random instants during a run, over and
//! over, then left to finish: every earning is paid exactly once (ledger and chain) and the
//! ledger reconciles. The kill instants are recorded against the batch states they hit.

use std::collections::HashMap;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;
use std::time::Duration;

use labelmint_ledger::CurrencyCode;
use rand::Rng;
use tokio::process::Command;

use crate::support::{Stack, std_addr, wait_for};

const KILLS: usize = 50;

fn secret_file(path: &std::path::Path, content: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("secret file");
    f.write_all(content.as_bytes()).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settler_killed_at_random_pays_every_earning_exactly_once() {
    let s = Stack::new("settler_it_crash", 300).await;
    let earnings = s.approve("crash", 600, 60).await;
    let dir = tempfile::tempdir().unwrap();
    let global = dir.path().join("global-config.json");
    std::fs::write(
        &global,
        serde_json::to_vec(&s.devnet.global_config().expect("global config")).unwrap(),
    )
    .unwrap();
    let relayer_key = dir.path().join("relayer.key");
    secret_file(&relayer_key, &hex::encode(s.relayer_seed));
    let token = s.signer_token_file();

    let log = dir.path().join("last.log");
    let start = |last: bool| {
        let stderr = if last {
            Stdio::from(std::fs::File::create(&log).expect("log"))
        } else {
            Stdio::null()
        };
        Command::new(env!("CARGO_BIN_EXE_settler"))
            .env("DATABASE_URL", &s.db.url)
            .env("RUST_LOG", "warn")
            .arg("--global-config")
            .arg(&global)
            .arg("--signer-url")
            .arg(&s.signer.url)
            .arg("--signer-token-file")
            .arg(&token)
            .arg("--relayer-key-file")
            .arg(&relayer_key)
            .args([
                "--batch-size",
                "3",
                "--max-live-batches",
                "1",
                "--interval-ms",
                "200",
                "--release-ttl",
                "120",
                "--metrics",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("settler binary")
    };

    let mut rng = rand::thread_rng();
    let mut hit: HashMap<String, usize> = HashMap::new();
    let mut kills = 0;
    while kills < KILLS && !s.all_confirmed().await {
        let mut child = start(false);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..1500))).await;
        // What the kill interrupts: the live batches' states at that instant.
        let live: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT state FROM ledger_batches WHERE state IN ('batched', 'signed', 'sent')",
        )
        .fetch_all(&s.pool)
        .await
        .unwrap();
        child.start_kill().expect("SIGKILL");
        let _ = child.wait().await;
        kills += 1;
        for st in live {
            *hit.entry(st).or_default() += 1;
        }
    }
    eprintln!("{kills} SIGKILLs; live batch states at the kills: {hit:?}");
    assert!(kills >= 50, "the run ended before 50 kills ({kills})");
    assert!(
        hit.get("sent").copied().unwrap_or(0) + hit.get("signed").copied().unwrap_or(0) > 0,
        "no kill hit a signed or sent batch: {hit:?}"
    );

    // The last one finishes the run.
    let mut last = start(true);
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    while !s.all_confirmed().await {
        if std::time::Instant::now() > deadline {
            let batches: Vec<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT id, state, query_id::text, valid_until FROM ledger_batches \
                 WHERE state NOT IN ('confirmed') ORDER BY id",
            )
            .fetch_all(&s.pool)
            .await
            .unwrap();
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(30).collect();
            panic!(
                "not all confirmed after the kills: earnings {:?}, open batches {batches:?}, \
                 chain now {}, settler log (last lines, newest first): {tail:#?}",
                s.states().await,
                s.devnet.node().now()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last.start_kill().unwrap();
    let _ = last.wait().await;

    let paid: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT earning_id, count(*) FROM ledger_batch_items WHERE outcome = 'paid' \
         GROUP BY earning_id",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    assert_eq!(paid.len(), earnings.len());
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
    let mut owed: HashMap<String, u128> = HashMap::new();
    for (a, amount) in &earnings {
        *owed.entry(a.to_string()).or_default() += amount;
    }
    for (worker, sum) in &owed {
        let got = s.balance(&std_addr(
            &labelmint_ledger::RawAddress::parse(worker).unwrap(),
        ));
        assert!(
            got <= *sum && got + 10_000 >= *sum,
            "{worker}: {got} vs {sum}"
        );
    }
    let head = s.devnet.node().lock().last_master().expect("head").id.seqno;
    wait_for(
        "the indexer at the head",
        Duration::from_secs(30),
        || async {
            let cp = s.indexer.store.checkpoint().await.unwrap();
            (cp >= Some(head)).then_some(())
        },
    )
    .await;
    let _ = s.ledger.ingest_chain_events(10_000).await.unwrap();
    let r = s.ledger.reconcile(&CurrencyCode::ton()).await.unwrap();
    assert!(r.is_clean(), "{r:?}");
}
