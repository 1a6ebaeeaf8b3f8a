//! The indexer's benchmark against the real devnet engine (in-process, served over the real
//! liteserver protocol) and the real Postgres (`DATABASE_URL`, e.g. `scripts/pg.sh admin-url`):
//!
//! 1. catch-up: at least `BENCH_TXS` (default 100,000) transactions are produced first, then
//!    a fresh indexer (every account, the binary's defaults) indexes them from masterchain
//!    block 1, twice: with `--trust-liteserver`, then verifying everything from the zero
//!    state (signatures, inclusion, state proofs): transactions per second, wall clock from
//!    start to the last commit, the ratio, and the proof checks' time per masterchain block
//!    (`BENCH_ROUNDS` alternating pairs, default 1);
//! 2. the tip: the devnet makes a block every `TIP_BLOCK_MS` (default 400 ms) carrying
//!    `TIP_TXS_PER_BLOCK` (default 200) transactions for `TIP_BLOCKS` blocks (default 150)
//!    while the indexer follows; sampled every 5 ms: how many masterchain blocks the
//!    checkpoint is behind the head, and for every block the time from its production to its
//!    commit (verified; `TIP_VERIFY=0`: `--trust-liteserver`).
//!
//! Run: `DATABASE_URL=$(scripts/pg.sh admin-url) cargo bench -p labelmint-indexer --bench indexer`.
//! Sizes: the environment variables above.

#![allow(missing_docs)]

#[path = "../tests/it/loadnet.rs"]
mod loadnet;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use labelmint_indexer::Config;
use labelmint_indexer::lite::LiteOptions;
use labelmint_indexer::store::Store;
use labelmint_indexer::verify::Verification;
use loadnet::{LoadNet, TXS_PER_EXTERNAL};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fresh database on the server of DATABASE_URL; returns its URL and name.
async fn fresh_db(admin: &str) -> (String, String) {
    let name = format!("labelmint_bench_{:016x}", rand::random::<u64>());
    let mut c = PgConnection::connect(admin)
        .await
        .expect("connect DATABASE_URL");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .expect("create database");
    let (base, _) = admin
        .rsplit_once('/')
        .expect("DATABASE_URL with a database");
    (format!("{base}/{name}"), name)
}

async fn drop_db(admin: &str, name: &str) {
    if let Ok(mut c) = PgConnection::connect(admin).await {
        let _ = sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}

/// The binary's defaults, every account, from masterchain block `start`; verified from the
/// chain's zero state, or (`verify = false`) `--trust-liteserver`.
fn config(url: String, net: &LoadNet, start: u32, verify: bool) -> Config {
    Config {
        database_url: url,
        db_max_connections: 8,
        liteservers: net.liteservers(),
        lite: LiteOptions::default(),
        metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        start_seqno: Some(start),
        index_all_accounts: true,
        parallel: 4,
        poll_interval: Duration::from_millis(200),
        stall_after: Duration::from_secs(60),
        verification: if verify {
            Verification::From(net.init_block())
        } else {
            Verification::TrustLiteserver
        },
    }
}

async fn wait_for(store: &Store, seqno: u32) {
    while store.checkpoint().await.expect("checkpoint") < Some(seqno) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn count_txs(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM transactions")
        .fetch_one(store.pool())
        .await
        .expect("count")
}

async fn catch_up(admin: &str) {
    let want = env_or("BENCH_TXS", 100_000);
    let per_block = env_or("BENCH_EXTERNALS_PER_BLOCK", 1_000);
    let mut net = LoadNet::start(per_block, 1, None);
    let started = Instant::now();
    let mut sent = 0;
    while sent < want {
        sent += net.submit(per_block);
        net.produce();
    }
    while net.produce().queued > 0 {}
    let head = net.head();
    let on_chain = net.tx_hashes().len();
    println!(
        "catch-up: the devnet made {on_chain} transactions in {head} masterchain blocks in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The same chain indexed twice, beside each other in time: believing the liteserver,
    // then verifying everything (signatures, inclusion, state proofs).
    let rounds = env_or("BENCH_ROUNDS", 1);
    let mut rates = Vec::new();
    for verify in (0..rounds).flat_map(|_| [false, true]) {
        let (url, name) = fresh_db(admin).await;
        let started = Instant::now();
        let indexer = labelmint_indexer::spawn(config(url, &net, 1, verify))
            .await
            .expect("indexer");
        wait_for(&indexer.store, head).await;
        let elapsed = started.elapsed();
        let indexed = count_txs(&indexer.store).await;
        indexer.abort();
        assert_eq!(indexed as usize, on_chain, "indexed every transaction once");
        let rate = indexed as f64 / elapsed.as_secs_f64();
        let (verified, spent) = indexer.metrics.verification_cost();
        println!(
            "catch-up ({}): indexed {indexed} transactions ({} masterchain blocks) in {:.2} s: {:.0} transactions/s{}",
            if verify {
                "verified"
            } else {
                "--trust-liteserver"
            },
            head,
            elapsed.as_secs_f64(),
            rate,
            if verify {
                format!(
                    "; {verified} blocks verified by signatures, {:.0} us of checks per block",
                    spent.as_secs_f64() * 1e6 / verified.max(1) as f64
                )
            } else {
                String::new()
            }
        );
        rates.push((verify, rate));
        drop_db(admin, &name).await;
    }
    let mean = |v: bool| {
        let r: Vec<f64> = rates
            .iter()
            .filter(|(w, _)| *w == v)
            .map(|(_, r)| *r)
            .collect();
        r.iter().sum::<f64>() / r.len().max(1) as f64
    };
    println!(
        "catch-up: verified / unverified = {:.2} (means over {rounds} alternating round(s))",
        mean(true) / mean(false)
    );
}

async fn tip(admin: &str) {
    let block_ms = env_or("TIP_BLOCK_MS", 400) as u64;
    let txs_per_block = env_or("TIP_TXS_PER_BLOCK", 200);
    let blocks = env_or("TIP_BLOCKS", 150);
    let externals = txs_per_block.div_ceil(TXS_PER_EXTERNAL);
    let mut net = LoadNet::start(externals * 4, 1, None);
    net.produce();
    let (url, name) = fresh_db(admin).await;
    let start = net.head() + 1;
    let verify = std::env::var("TIP_VERIFY").map_or(true, |v| v != "0");
    let indexer = labelmint_indexer::spawn(config(url, &net, start, verify))
        .await
        .expect("indexer");

    // The producer: a block every block_ms (std thread: the devnet's lock is synchronous).
    let (tx, rx) = std::sync::mpsc::channel::<(u32, Instant, usize)>();
    let producer = std::thread::spawn(move || {
        let mut next = Instant::now();
        for _ in 0..blocks {
            next += Duration::from_millis(block_ms);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            net.submit(externals);
            let p = net.produce();
            let _ = tx.send((p.master.seqno, Instant::now(), p.transactions));
        }
        net
    });

    let mut produced: BTreeMap<u32, (Instant, usize)> = BTreeMap::new();
    let mut committed: BTreeMap<u32, Instant> = BTreeMap::new();
    let mut behind_hist: BTreeMap<u32, u64> = BTreeMap::new();
    let mut last_checkpoint = start - 1;
    let mut done = false;
    loop {
        while let Ok((s, at, n)) = rx.try_recv() {
            produced.insert(s, (at, n));
        }
        if producer.is_finished() && !done {
            done = true;
        }
        // Before the first commit the indexer is "at" start - 1.
        let cp = indexer
            .store
            .checkpoint()
            .await
            .expect("checkpoint")
            .unwrap_or(start - 1);
        let now = Instant::now();
        for s in last_checkpoint + 1..=cp {
            committed.entry(s).or_insert(now);
        }
        last_checkpoint = last_checkpoint.max(cp);
        if let Some((&head, _)) = produced.last_key_value() {
            *behind_hist.entry(head.saturating_sub(cp)).or_insert(0) += 1;
            if done && cp >= head && rx.try_recv().is_err() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _net = producer.join().expect("producer");
    indexer.abort();

    let mut worst: Vec<(Duration, u32)> = produced
        .iter()
        .filter_map(|(s, (at, _))| {
            committed
                .get(s)
                .map(|c| (c.saturating_duration_since(*at), *s))
        })
        .collect();
    worst.sort();
    let first = produced.keys().next().copied().unwrap_or(0);
    let worst: Vec<String> = worst
        .iter()
        .rev()
        .take(3)
        .map(|(d, s)| {
            format!(
                "block {} of {}: {} ms",
                s - first + 1,
                produced.len(),
                d.as_millis()
            )
        })
        .collect();
    let mut latencies: Vec<Duration> = produced
        .iter()
        .filter_map(|(s, (at, _))| committed.get(s).map(|c| c.saturating_duration_since(*at)))
        .collect();
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() - 1) * p / 100];
    let txs: usize = produced.values().map(|(_, n)| n).sum();
    let samples: u64 = behind_hist.values().sum();
    println!(
        "tip: {} blocks every {block_ms} ms, {txs} transactions ({:.0} per block)",
        produced.len(),
        txs as f64 / produced.len() as f64
    );
    println!(
        "tip: production -> commit: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        pct(50).as_millis(),
        pct(90).as_millis(),
        pct(99).as_millis(),
        latencies.last().copied().unwrap_or_default().as_millis()
    );
    println!("tip: slowest: {}", worst.join(", "));
    let hist: Vec<String> = behind_hist
        .iter()
        .map(|(b, n)| format!("{b}: {:.1}%", 100.0 * *n as f64 / samples as f64))
        .collect();
    println!(
        "tip: masterchain blocks behind the head (every 5 ms, {samples} samples): {}; max {}",
        hist.join(", "),
        behind_hist.keys().last().copied().unwrap_or(0)
    );
    drop_db(admin, &name).await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` too: run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let admin = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/pg.sh admin-url)");
    let which = std::env::var("BENCH").unwrap_or_default();
    if which.is_empty() || which == "catch-up" {
        catch_up(&admin).await;
    }
    if which.is_empty() || which == "tip" {
        tip(&admin).await;
    }
}
