//! The settler benchmark (`make settler-bench`; not a timed test): 10,000 approved earnings
//! for 2,000 workers over 3 projects (2 TON, 1 test USD) settled to confirmed on the devnet
//! with 400 ms blocks, everything real: the devnet and the indexer in-process, the
//! payout-signer process, Postgres, the settler service in-process with a progress recorder.
//!
//! The split, per batch: `sign` formed -> signed (the signer's HTTP round trip and journal,
//! the ledger's mark_signed), `send` signed -> handed to the liteserver (sendMessage, the
//! devnet's check of the external), `chain` sent -> the masterchain block holding the vault's
//! `ev_batch_executed` was produced, `index` that block -> committed by the indexer, `confirm`
//! committed -> the ledger confirmed the batch (the next pass's ingest). Before `sign`: `wait`
//! approved (bench start) -> formed (a free live slot, the release funding the vault). Block
//! and checkpoint times come from polling the devnet's head and the indexer's checkpoint
//! every 10 ms; confirmation times are the ledger's own `state_changed_at`.
//!
//! Also per pass: the time of its phases (ingest, releases, each vault's turn).
//!
//! Measured (2026-12-03, the 2-core project machine, one payout item per earning: per-worker
//! aggregation not merged yet): 9.3 / 10.0 / 11.9 / 18.5 s end to end on a lightly loaded machine,
//! 49.1 s while another session's signer benchmark loaded Postgres. A batch's own cycle is
//! ~1 s (sign ~30 ms, send ~20 ms, chain ~270 ms, index ~100-180 ms, confirm ~350-650 ms: the
//! next pass's ingest); most of the time is `wait`: batches queue for the 4 live slots per
//! vault (27 TON batches through one vault's pipeline of 4).
//!
//! Knobs (env): BENCH_EARNINGS (10000), BENCH_WORKERS (2000), BENCH_BLOCK_MS (400),
//! BENCH_BATCH (250), BENCH_LIVE (4 live batches per vault), BENCH_INTERVAL_MS (200).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use labelmint_settler::progress::{Progress, Step};
use labelmint_settler_testkit::{Coin, Options, ProjectSpec, Stack, TON, USD};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the settler reported, with the instant it did.
#[derive(Debug, Default, Clone)]
struct BatchTimes {
    currency: String,
    items: usize,
    formed: Option<Instant>,
    signed: Option<Instant>,
    sent: Option<Instant>,
    resent: usize,
}

#[derive(Default)]
struct Recorder {
    batches: Mutex<BTreeMap<i64, BatchTimes>>,
    releases: Mutex<Vec<Instant>>,
    passes: Mutex<Vec<(Instant, Instant)>>,
    /// The current pass: its start and its last step.
    pass: Mutex<Option<(Instant, Instant)>>,
    /// The open phase of the pass (ingest, releases, a vault's turn) and its durations (ms).
    phase: Mutex<Option<(String, Instant)>>,
    phases: Mutex<BTreeMap<String, Vec<f64>>>,
}

impl Recorder {
    /// Closes the open phase and opens `next` (None: none).
    fn phase(&self, next: Option<String>, now: Instant) {
        if let Ok(mut p) = self.phase.lock() {
            if let (Some((name, at)), Ok(mut all)) = (p.take(), self.phases.lock()) {
                all.entry(name).or_default().push(ms(now - at));
            }
            *p = next.map(|n| (n, now));
        }
    }
}

impl Progress for Recorder {
    fn step(&self, step: Step<'_>) {
        let now = Instant::now();
        let set = |b: &labelmint_ledger::Batch, f: &dyn Fn(&mut BatchTimes)| {
            if let Ok(mut m) = self.batches.lock() {
                let t = m.entry(b.id.0).or_default();
                t.currency = b.currency.as_str().to_string();
                t.items = b.item_count;
                f(t);
            }
        };
        if let Ok(mut p) = self.pass.lock() {
            match (&step, p.as_mut()) {
                (Step::Ingesting, cur) => {
                    if let (Some(done), Ok(mut all)) = (cur.copied(), self.passes.lock()) {
                        all.push(done);
                    }
                    *p = Some((now, now));
                }
                (_, Some(cur)) => cur.1 = now,
                (_, None) => {}
            }
        }
        match step {
            Step::Ingesting => self.phase(Some("pass: ingest".into()), now),
            Step::Ingested(_) => self.phase(None, now),
            Step::Releases { .. } => self.phase(Some("pass: releases".into()), now),
            Step::Vault { currency, .. } => {
                self.phase(Some(format!("pass: {currency} vault's turn")), now)
            }
            Step::VaultDone { .. } => self.phase(None, now),
            _ => {}
        }
        match step {
            Step::ReleasesCarried { count } => {
                if let Ok(mut r) = self.releases.lock() {
                    r.extend(std::iter::repeat_n(now, count));
                }
            }
            Step::BatchFormed(b) => set(b, &|t| t.formed = Some(now)),
            Step::BatchSigned(b) => set(b, &|t| {
                t.signed.get_or_insert(now);
            }),
            Step::BatchSent(b) => set(b, &|t| {
                if t.sent.is_some() {
                    t.resent += 1;
                } else {
                    t.sent = Some(now);
                }
            }),
            _ => {}
        }
    }
}

/// Summary of durations (ms): mean, p50, p90, max.
fn stats(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let at = |q: f64| v[((n as f64 - 1.0) * q).round() as usize];
    format!(
        "mean {mean:>7.0}  p50 {:>7.0}  p90 {:>7.0}  max {:>7.0}",
        at(0.5),
        at(0.9),
        at(1.0)
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

async fn bench() {
    let earnings: usize = env_or("BENCH_EARNINGS", 10_000);
    let workers: u32 = env_or("BENCH_WORKERS", 2_000);
    let block_ms: u64 = env_or("BENCH_BLOCK_MS", 400);
    let batch: usize = env_or("BENCH_BATCH", 250);
    let live: usize = env_or("BENCH_LIVE", 4);
    let interval_ms: u64 = env_or("BENCH_INTERVAL_MS", 200);
    let per_project = earnings.div_ceil(3);
    eprintln!(
        "settler bench: {earnings} earnings, {workers} workers, 3 projects (TON, TON, USD), \
         {block_ms} ms blocks, batches of {batch}, {live} live per vault, passes every \
         {interval_ms} ms"
    );
    let setup = Instant::now();
    let mut o = Options::new("settler_bench");
    o.block_time = Duration::from_millis(block_ms);
    o.vault_timeout = 600;
    o.projects = vec![
        ProjectSpec {
            id: 8101,
            coin: Coin::Ton,
            deposit: 100 * TON,
        },
        ProjectSpec {
            id: 8102,
            coin: Coin::Ton,
            deposit: 100 * TON,
        },
        ProjectSpec {
            id: 8201,
            coin: Coin::Usd,
            deposit: 5_000 * USD,
        },
    ];
    // A TON vault pays every batch's fees from its own balance (~0.0014 TON an item): 6,668
    // TON items need ~9.3 TON beside what the releases bring.
    o.ton_vault_float = 25 * TON;
    o.usd_vault_float = 400 * TON;
    o.relayer_ton = 10 * TON;
    // The signer's float limits for jetton batches (100 TON an hour by default: ~1,900 jetton
    // transfers at 0.05 TON attached each) raised for the run.
    o.signer_float = vec![
        format!("hour={}", 100_000 * TON),
        format!("day={}", 100_000 * TON),
    ];
    let s = Stack::start(o).await;
    let mut owed = 0usize;
    for p in [8101u64, 8102, 8201] {
        let n = per_project.min(earnings - owed);
        let coin = s.project(p).coin;
        // Every project pays all the workers (a worker labels for several projects).
        let amount = move |i: usize| match coin {
            Coin::Ton => TON / 100 + (i % 50) as u128 * 100_000,
            Coin::Usd => USD / 10 + (i % 50) as u128 * USD / 100,
        };
        s.approve(p, &format!("bench-{p}"), n, 0, workers, amount)
            .await;
        owed += n;
    }
    eprintln!(
        "setup: stack up, {owed} earnings approved in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // The devnet's blocks and the indexer's checkpoint, timestamped (10 ms polls).
    let blocks: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let indexed: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let node = s.devnet.node().clone();
    let store = s.indexer.store.clone();
    let (b2, i2) = (blocks.clone(), indexed.clone());
    let poller = tokio::spawn(async move {
        let (mut last_b, mut last_i) = (0i64, 0i64);
        loop {
            let head = node
                .lock()
                .last_master()
                .map(|m| i64::from(m.id.seqno))
                .unwrap_or(0);
            let cp = store
                .checkpoint()
                .await
                .ok()
                .flatten()
                .map(i64::from)
                .unwrap_or(0);
            let now = Instant::now();
            if let Ok(mut b) = b2.lock() {
                for n in last_b + 1..=head {
                    b.insert(n, now);
                }
            }
            if let Ok(mut i) = i2.lock() {
                for n in last_i + 1..=cp {
                    i.insert(n, now);
                }
            }
            last_b = last_b.max(head);
            last_i = last_i.max(cp);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    let rec = Arc::new(Recorder::default());
    let mut config = s.settler_config("bench");
    config.batch_size = batch;
    config.max_live_batches = live;
    config.interval = Duration::from_millis(interval_ms);
    config.release_ttl = 300;
    let t0 = Instant::now();
    let t0_wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let settler = labelmint_settler::spawn_with(config, rec.clone())
        .await
        .expect("settler");
    let mut last_report = Instant::now();
    while !s.all_confirmed().await {
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "  {:>5.1} s: {:?}",
                t0.elapsed().as_secs_f64(),
                s.states().await
            );
            last_report = Instant::now();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "not confirmed within 10 minutes: {:?}",
            s.states().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(settler);
    poller.abort();

    // Per batch: when its execution's masterchain block was produced and indexed, and when the
    // ledger confirmed it.
    let rows: Vec<(i64, String, i32, Option<i64>, f64)> = sqlx::query_as(
        "SELECT b.id, b.state, b.item_count, \
            (SELECT e.mc_seqno FROM events e WHERE e.kind = 'ev_batch_executed' \
               AND e.contract = b.vault AND e.query_id = b.query_id LIMIT 1), \
            EXTRACT(EPOCH FROM b.state_changed_at)::float8 \
         FROM ledger_batches b ORDER BY b.id",
    )
    .fetch_all(&s.pool)
    .await
    .expect("batches");
    let times = rec.batches.lock().expect("record").clone();
    let blocks = blocks.lock().expect("blocks").clone();
    let indexed = indexed.lock().expect("indexed").clone();
    let mut split: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut per_currency: BTreeMap<String, (usize, usize, Duration)> = BTreeMap::new();
    let mut expired = 0;
    let mut resent = 0;
    for (id, state, items, mc, changed) in &rows {
        if state != "confirmed" {
            expired += 1;
            continue;
        }
        let Some(t) = times.get(id) else { continue };
        resent += t.resent;
        let confirmed = t0 + Duration::from_secs_f64((changed - t0_wall).max(0.0));
        let block = mc.and_then(|m| blocks.get(&m).copied());
        let index = mc.and_then(|m| indexed.get(&m).copied());
        let pairs: [(&str, Option<Instant>, Option<Instant>); 6] = [
            ("1 wait (start -> formed)", Some(t0), t.formed),
            ("2 sign (formed -> signed)", t.formed, t.signed),
            ("3 send (signed -> sent)", t.signed, t.sent),
            ("4 chain (sent -> executed block)", t.sent, block),
            ("5 index (block -> indexed)", block, index),
            ("6 confirm (indexed -> confirmed)", index, Some(confirmed)),
        ];
        for (name, a, b) in pairs {
            if let (Some(a), Some(b)) = (a, b) {
                split
                    .entry(name)
                    .or_default()
                    .push(ms(b.saturating_duration_since(a)));
            }
        }
        let c = per_currency.entry(t.currency.clone()).or_default();
        c.0 += 1;
        c.1 += *items as usize;
        c.2 = c.2.max(confirmed.saturating_duration_since(t0));
    }
    // End to end: the ledger's own time of the last confirmation.
    let total = per_currency.values().map(|c| c.2).max().unwrap_or_default();
    let passes = rec.passes.lock().expect("passes").clone();
    let pass_ms: Vec<f64> = passes.iter().map(|(a, b)| ms(*b - *a)).collect();
    let releases = rec.releases.lock().expect("releases").clone();

    println!("\n== settler bench: {owed} earnings, {workers} workers, 3 projects (2 TON, 1 USD)");
    println!(
        "end to end (settler start -> every earning confirmed): {:.2} s   (target < 60 s: {})",
        total.as_secs_f64(),
        if total < Duration::from_secs(60) {
            "met"
        } else {
            "NOT met"
        }
    );
    for (c, (n, items, last)) in &per_currency {
        println!(
            "  {c}: {n} batches, {items} items, last confirmed at {:.2} s",
            last.as_secs_f64()
        );
    }
    println!(
        "  releases carried: {} (first at {:.2} s); batches not confirmed (expired): {expired}; \
         resends of the same bytes: {resent}",
        releases.len(),
        releases
            .first()
            .map(|r| r.saturating_duration_since(t0).as_secs_f64())
            .unwrap_or(0.0)
    );
    println!(
        "  passes: {}, duration (ms) {}",
        pass_ms.len(),
        stats(pass_ms.clone())
    );
    for (name, v) in rec.phases.lock().expect("phases").iter() {
        println!("  {name:<34} {}", stats(v.clone()));
    }
    println!("split per confirmed batch (ms):");
    for (name, v) in split {
        println!("  {name:<34} {}", stats(v));
    }
    println!(
        "payout items (transfers): {} for {owed} earnings",
        rows.iter()
            .filter(|r| r.1 == "confirmed")
            .map(|r| i64::from(r.2))
            .sum::<i64>()
    );

    // Correctness: every earning paid once; the ledger reconciles.
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT earning_id FROM ledger_batch_items \
         WHERE outcome = 'paid' GROUP BY earning_id HAVING count(*) > 1) x",
    )
    .fetch_one(&s.pool)
    .await
    .expect("paid");
    assert_eq!(twice, 0, "an earning paid twice");
    s.index_to_head().await;
    for (code, r) in s.reconcile().await {
        assert!(r.is_clean(), "{code}: {r:?}");
    }
    println!("checks: every earning paid once, the ledger reconciles (TON, USD)");
}
