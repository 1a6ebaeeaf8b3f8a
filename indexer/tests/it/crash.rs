//! The crash test: the indexer BINARY (a separate process) tails a devnet while a stream of
//! transactions is produced, and is SIGKILLed at random moments, then restarted, again and
//! again. At the end the indexed set equals the chain's: nothing missing, nothing twice.
//!
//! The sizes are named constants; the defaults meet issue 4's numbers (at least 10,000
//! transactions, at least 20 kills).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::process::{Child, Command};

use crate::loadnet::{LoadNet, TXS_PER_EXTERNAL};
use crate::support::TestDb;

/// At least this many transactions are produced while the indexer is being killed.
pub(crate) const CRASH_TXS: usize = 10_000;
/// At least this many SIGKILLs, all while the stream is still running.
pub(crate) const CRASH_KILLS: usize = 20;
/// Funded wallets sending the stream (each sends at most one external per block).
const WALLETS: usize = 250;
/// Wallet externals per block (x5 transactions).
const EXTERNALS_PER_BLOCK: usize = 25;
/// Pause between blocks.
const BLOCK_INTERVAL: Duration = Duration::from_millis(100);
/// An indexer lives this long (uniformly at random) before its SIGKILL.
const LIFETIME_MS: std::ops::Range<u64> = 200..1500;

fn spawn_indexer(db_url: &str, config: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Command::new(env!("CARGO_BIN_EXE_labelmint-indexer"))
        .arg("--database-url")
        .arg(db_url)
        .arg("--global-config")
        .arg(config)
        .args([
            "--metrics-addr",
            "127.0.0.1:0",
            "--start-seqno",
            "1",
            "--index-all-accounts",
            "--poll-interval-ms",
            "20",
            "--request-timeout-ms",
            "3000",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the indexer binary")
}

pub(crate) async fn indexed_hashes(db: &TestDb) -> Vec<[u8; 32]> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM transactions")
        .fetch_all(db.store.pool())
        .await
        .expect("hashes");
    rows.into_iter()
        .map(|h| h.try_into().expect("32-byte hash"))
        .collect()
}

/// Asserts the database holds exactly the chain's transactions, each once.
pub(crate) async fn assert_same_set(db: &TestDb, net: &LoadNet) -> usize {
    let got = indexed_hashes(db).await;
    let want = net.tx_hashes();
    let got_set: std::collections::HashSet<[u8; 32]> = got.iter().copied().collect();
    assert_eq!(got.len(), got_set.len(), "a transaction is stored twice");
    let missing = want.difference(&got_set).count();
    let extra = got_set.difference(&want).count();
    assert_eq!(
        (missing, extra),
        (0, 0),
        "indexed {} of the chain's {} transactions",
        got.len(),
        want.len()
    );
    // Every (account, lt) once too, and every basechain block once.
    let distinct: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT DISTINCT account, lt FROM transactions) t",
    )
    .fetch_one(db.store.pool())
    .await
    .expect("distinct");
    assert_eq!(distinct as usize, got.len());
    let base_head = net.node.lock().base.blocks.len() as i64 - 1;
    let (blocks, max): (i64, Option<i64>) =
        sqlx::query_as("SELECT count(*), max(seqno) FROM blocks WHERE workchain = 0")
            .fetch_one(db.store.pool())
            .await
            .expect("blocks");
    assert_eq!((blocks, max), (base_head, Some(base_head)));
    want.len()
}

/// Waits until the checkpoint reaches `seqno`.
pub(crate) async fn wait_checkpoint(db: &TestDb, seqno: u32, limit: Duration) {
    let deadline = Instant::now() + limit;
    while db.store.checkpoint().await.expect("checkpoint") < Some(seqno) {
        assert!(
            Instant::now() < deadline,
            "checkpoint {:?} never reached {seqno}",
            db.store.checkpoint().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_at_random_moments_the_binary_indexes_every_transaction_once() {
    let started = Instant::now();
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LoadNet::start(WALLETS, 1, None);
    let config = dir.path().join("global-config.json");
    std::fs::write(&config, net.global_config()).expect("global config");
    let log = dir.path().join("indexer.log");

    // The stream: a block every BLOCK_INTERVAL until both CRASH_TXS transactions were sent and
    // CRASH_KILLS kills happened, then blocks until nothing is queued.
    let kills = Arc::new(AtomicUsize::new(0));
    let stream_done = Arc::new(AtomicBool::new(false));
    let producer = {
        let (kills, done) = (kills.clone(), stream_done.clone());
        let mut net = net;
        std::thread::spawn(move || {
            let mut sent = 0;
            while sent < CRASH_TXS || kills.load(Ordering::SeqCst) < CRASH_KILLS {
                sent += net.submit(EXTERNALS_PER_BLOCK);
                net.produce();
                std::thread::sleep(BLOCK_INTERVAL);
            }
            while net.produce().queued > 0 {}
            net.produce();
            done.store(true, Ordering::SeqCst);
            (net, sent)
        })
    };

    let mut rng = rand::thread_rng();
    let mut checkpoints = Vec::new();
    while !stream_done.load(Ordering::SeqCst) {
        let mut child = spawn_indexer(&db.url, &config, &log);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(LIFETIME_MS))).await;
        if stream_done.load(Ordering::SeqCst) && kills.load(Ordering::SeqCst) >= CRASH_KILLS {
            child.kill().await.expect("SIGKILL");
            break;
        }
        // Child::kill sends SIGKILL on Unix, then reaps the process.
        child.kill().await.expect("SIGKILL");
        kills.fetch_add(1, Ordering::SeqCst);
        checkpoints.push(db.store.checkpoint().await.expect("checkpoint"));
    }
    let (net, sent) = producer.join().expect("producer");
    let killed = kills.load(Ordering::SeqCst);
    assert!(killed >= CRASH_KILLS, "{killed} kills");
    assert!(sent >= CRASH_TXS);
    assert_eq!(sent % TXS_PER_EXTERNAL, 0);

    // A last run, left alone to catch up.
    let head = net.head();
    let mut child = spawn_indexer(&db.url, &config, &log);
    wait_checkpoint(&db, head, Duration::from_secs(300)).await;
    child.kill().await.expect("SIGKILL");

    if let Ok(keep) = std::env::var("LABELMINT_CRASH_LOG") {
        std::fs::copy(&log, keep).expect("copy the log");
    }
    let total = assert_same_set(&db, &net).await;
    assert!(total >= sent, "{total} < {sent}");
    eprintln!(
        "crash test: {killed} SIGKILLs, checkpoints at the kills {checkpoints:?}, \
         {total} transactions in {head} masterchain blocks, indexed exactly once, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
