//! Crash safety at scale: the `settler` binary is SIGKILLed at least 50 times while 2,000
//! earnings settle across a TON project and a test USD (jetton) project, then a last settler
//! finishes the run. Every earning is paid exactly once (the ledger's items, the workers' TON
//! balances and jetton wallets on chain) and the ledger reconciles in both currencies.
//!
//! Each kill is classified by what it interrupted: the live batches' states just before AND
//! just after the SIGKILL (a batch counts for a category only when it was in it on both
//! sides, so the process died while the batch was there). Kills take turns: one at a random
//! instant, then one aimed at each step (the kill loop polls the ledger and kills as soon as
//! a batch is in it): "signed, not sent" (the signer answered and the ledger recorded it, the
//! external not yet recorded as sent), "sent, not confirmed" (the external is out, the chain
//! has not executed it or the index not seen it) and "confirming" (the index holds the vault's
//! `ev_batch_executed`, the ledger has not confirmed the batch yet). The test asserts every
//! category was hit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use labelmint_settler_testkit::{
    Coin, Files, Options, ProjectSpec, Stack, TON, USD, std_addr, worker_address,
};
use rand::Rng;
use sqlx::Connection as _;
use tokio::process::{Child, Command};

const KILLS: usize = 50;
/// Kills at most, when an aimed category is still missing after [`KILLS`].
const MAX_KILLS: usize = 120;
const TON_PROJECT: u64 = 6101;
const USD_PROJECT: u64 = 6201;
const TON_EARNINGS: usize = 1_200;
const USD_EARNINGS: usize = 800;

/// What a kill can interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Cat {
    /// Formed (or signed by the signer, not recorded yet).
    FormedNotSigned,
    SignedNotSent,
    SentNotConfirmed,
    Confirming,
}

const AIMED: [Cat; 3] = [Cat::SignedNotSent, Cat::SentNotConfirmed, Cat::Confirming];

/// The live batches and the category each is in.
async fn live(conn: &mut sqlx::PgConnection) -> HashSet<(i64, Cat)> {
    let rows: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT b.id, b.state, EXISTS (SELECT 1 FROM events e WHERE e.kind = 'ev_batch_executed' \
             AND e.contract = b.vault AND e.query_id = b.query_id) \
         FROM ledger_batches b WHERE b.state IN ('batched', 'signed', 'sent')",
    )
    .fetch_all(conn)
    .await
    .expect("live batches");
    rows.into_iter()
        .map(|(id, state, executed)| {
            let cat = match (state.as_str(), executed) {
                ("batched", _) => Cat::FormedNotSigned,
                (_, true) => Cat::Confirming,
                ("signed", false) => Cat::SignedNotSent,
                _ => Cat::SentNotConfirmed,
            };
            (id, cat)
        })
        .collect()
}

fn settler(s: &Stack, f: &Files, log: Option<&std::path::Path>) -> Child {
    let stderr = match log {
        Some(p) => Stdio::from(std::fs::File::create(p).expect("log")),
        None => Stdio::null(),
    };
    Command::new(env!("CARGO_BIN_EXE_settler"))
        .env("DATABASE_URL", &s.db.url)
        .env("RUST_LOG", "warn")
        .env_remove("LABELMINT_RELAYER_KEY")
        .arg("--global-config")
        .arg(&f.global_config)
        .arg("--signer-url")
        .arg(&s.signer.url)
        .arg("--signer-token-file")
        .arg(&f.signer_token)
        .arg("--relayer-key-file")
        .arg(&f.relayer_key)
        .args([
            "--batch-size",
            "25",
            "--max-live-batches",
            "1",
            "--interval-ms",
            "150",
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settler_killed_at_random_pays_2000_ton_and_usd_earnings_exactly_once() {
    let started = Instant::now();
    let mut o = Options::new("settler_it_crash");
    o.block_time = Duration::from_millis(200);
    o.projects = vec![
        ProjectSpec {
            id: TON_PROJECT,
            coin: Coin::Ton,
            deposit: 30 * TON,
        },
        ProjectSpec {
            id: USD_PROJECT,
            coin: Coin::Usd,
            deposit: 600 * USD,
        },
    ];
    o.ton_vault_float = 10 * TON;
    let s = Stack::start(o).await;
    // TON workers (group 1) and USD workers (group 2) apart: a USD payout also forwards
    // 0.01 TON to the worker, which would blur the TON check. One earning per worker: the
    // ledger pays a worker's earnings as one transfer, so fewer workers would mean too few
    // batches for 50 kills.
    let ton = s
        .approve(
            TON_PROJECT,
            "crash-ton",
            TON_EARNINGS,
            1,
            TON_EARNINGS as u32,
            |i| TON / 100 + (i % 50) as u128 * 100_000,
        )
        .await;
    let usd = s
        .approve(
            USD_PROJECT,
            "crash-usd",
            USD_EARNINGS,
            2,
            USD_EARNINGS as u32,
            |i| USD / 10 + (i % 50) as u128 * USD / 100,
        )
        .await;
    eprintln!(
        "crash: stack up and 2,000 earnings approved in {:.1?}",
        started.elapsed()
    );
    let files = s.files();
    let mut conn = sqlx::PgConnection::connect(&s.db.url)
        .await
        .expect("watch connection");

    let mut rng = rand::thread_rng();
    let mut hits: BTreeMap<Cat, usize> = BTreeMap::new();
    let mut aimed_tries: HashMap<Cat, usize> = HashMap::new();
    let mut kills = 0;
    let mut turn = 0usize;
    loop {
        let missing: Vec<Cat> = AIMED
            .iter()
            .copied()
            .filter(|c| !hits.contains_key(c))
            .collect();
        if kills >= MAX_KILLS || (kills >= KILLS && missing.is_empty()) {
            break;
        }
        assert!(
            !s.all_confirmed().await,
            "the run ended after {kills} kills, before 50 kills hit every step: {hits:?}"
        );
        // Turns: random, then each aimed category (past KILLS only the missing ones).
        let aim: Option<Cat> = if kills >= KILLS {
            Some(missing[turn % missing.len()])
        } else {
            match turn % 4 {
                0 => None,
                k => Some(AIMED[k - 1]),
            }
        };
        turn += 1;
        let mut child = settler(&s, &files, None);
        let born = Instant::now();
        let random_at = Duration::from_millis(rng.gen_range(200..1500));
        let before = loop {
            let now = live(&mut conn).await;
            match aim {
                None if born.elapsed() >= random_at => break now,
                Some(c) if now.iter().any(|(_, k)| *k == c) => break now,
                Some(_) if born.elapsed() >= Duration::from_secs(4) => break now,
                _ => {}
            }
            if aim.is_none() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        child.start_kill().expect("SIGKILL");
        let _ = child.wait().await;
        kills += 1;
        if let Some(c) = aim {
            *aimed_tries.entry(c).or_default() += 1;
        }
        let after = live(&mut conn).await;
        let interrupted: HashSet<Cat> = before.intersection(&after).map(|(_, c)| *c).collect();
        for c in interrupted {
            *hits.entry(c).or_default() += 1;
        }
    }
    eprintln!(
        "crash: {kills} SIGKILLs in {:.1?}; kills that interrupted each step: {hits:?} \
         (aimed tries {aimed_tries:?}); earnings then: {:?}",
        started.elapsed(),
        s.states().await
    );
    assert!(kills >= KILLS, "{kills} kills");
    for c in AIMED {
        assert!(
            hits.get(&c).copied().unwrap_or(0) >= 1,
            "no kill interrupted {c:?}: {hits:?}"
        );
    }

    // The last settler finishes the run.
    let log = tempfile::NamedTempFile::new().expect("log");
    let mut last = settler(&s, &files, Some(log.path()));
    let deadline = Instant::now() + Duration::from_secs(240);
    while !s.all_confirmed().await {
        if Instant::now() > deadline {
            let batches: Vec<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT id, state, query_id::text, valid_until FROM ledger_batches \
                 WHERE state <> 'confirmed' ORDER BY id",
            )
            .fetch_all(&s.pool)
            .await
            .expect("batches");
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            panic!(
                "not all confirmed after the kills: earnings {:?}, open batches {batches:?}, \
                 chain now {}, settler log (newest first): {tail:#?}",
                s.states().await,
                s.devnet.node().now()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last.start_kill().expect("kill the last settler");
    let _ = last.wait().await;
    eprintln!(
        "crash: every earning confirmed at {:.1?}",
        started.elapsed()
    );

    // Exactly once in the ledger: one paid item per earning, nothing else holding one.
    let paid: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT earning_id, count(*) FROM ledger_batch_items WHERE outcome = 'paid' \
         GROUP BY earning_id",
    )
    .fetch_all(&s.pool)
    .await
    .expect("paid");
    assert_eq!(paid.len(), TON_EARNINGS + USD_EARNINGS);
    assert!(paid.iter().all(|(_, n)| *n == 1), "an earning paid twice");
    let by_currency: Vec<(String, i64)> = sqlx::query_as(
        "SELECT e.currency, count(*) FROM ledger_batch_items i \
         JOIN ledger_earnings e ON e.id = i.earning_id WHERE i.outcome = 'paid' \
         GROUP BY e.currency ORDER BY e.currency",
    )
    .fetch_all(&s.pool)
    .await
    .expect("by currency");
    assert_eq!(
        by_currency,
        vec![
            ("TON".to_string(), TON_EARNINGS as i64),
            ("USD".to_string(), USD_EARNINGS as i64)
        ]
    );

    // Exactly once on chain: every TON worker holds its earnings' sum (less at most dust of
    // storage on an uninit account; a second payment would add at least 0.01 TON), every USD
    // worker's jetton wallet exactly its sum.
    let sums = |e: &[(labelmint_ledger::RawAddress, u128)]| {
        let mut m: HashMap<String, u128> = HashMap::new();
        for (a, v) in e {
            *m.entry(a.to_string()).or_default() += v;
        }
        m
    };
    let ton_owed = sums(&ton);
    assert_eq!(ton_owed.len(), TON_EARNINGS);
    for (w, sum) in &ton_owed {
        let a = labelmint_ledger::RawAddress::parse(w).expect("address");
        let got = s.balance(&std_addr(&a));
        assert!(got <= *sum && got + 10_000 >= *sum, "{w}: {got} vs {sum}");
    }
    let usd_owed = sums(&usd);
    assert_eq!(usd_owed.len(), USD_EARNINGS);
    for (w, sum) in &usd_owed {
        let a = labelmint_ledger::RawAddress::parse(w).expect("address");
        assert_eq!(s.usd_balance(&std_addr(&a)), *sum, "{w}");
    }
    // Nobody else was paid: a worker outside the groups holds nothing.
    assert_eq!(
        s.balance(&std_addr(&worker_address(1, TON_EARNINGS as u32 + 1))),
        0
    );

    // The ledger reconciles with the indexed chain in both currencies.
    s.index_to_head().await;
    for (code, r) in s.reconcile().await {
        assert!(r.is_clean(), "{code}: {r:?}");
    }
    eprintln!("crash: done in {:.1?}", started.elapsed());
}
