//! Ledger throughput on the real Postgres (release build, one fresh database):
//! approvals (one task, then 8 concurrent), batch formation of 250 items, the batch's walk to
//! confirmed, ingestion of indexed events, and a reconciliation over them.
//!
//! `DATABASE_URL=$(./scripts/pg.sh admin-url) cargo bench -p labelmint-ledger --bench ledger`
//! (`BENCH_APPROVALS`, default 5000, sets the number of approvals per phase).

use std::time::Instant;

use labelmint_ledger::{
    BatchRequest, ChainRef, Currency, CurrencyCode, Ledger, NewEarning, Project, ProjectId,
    RawAddress, Vault,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

fn url() -> String {
    if let Ok(u) = std::env::var("DATABASE_URL") {
        return u;
    }
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh"))
        .output()
        .expect("scripts/pg.sh");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("DATABASE_URL="))
        .next_back()
        .expect("DATABASE_URL")
        .to_owned()
}

fn earning(i: usize) -> NewEarning {
    NewEarning {
        submission_key: format!("bench/{i}"),
        worker: format!("worker-{}", i % 1000),
        payout_address: RawAddress::from_parts(0, &[(i % 251) as u8; 32]),
        project: ProjectId(1),
        amount: 1_000_000 + i as u128,
        decision_id: format!("decision/{i}"),
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_APPROVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let admin = url();
    let name = format!("labelmint_ledger_bench_{:08x}", rand::random::<u32>());
    let mut c = PgConnection::connect(&admin).await.expect("connect");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .expect("create");
    let opts: PgConnectOptions = admin
        .parse::<PgConnectOptions>()
        .expect("url")
        .database(&name);
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect_with(opts)
        .await
        .expect("pool");
    labelmint_indexer::store::Store::from_pool(pool.clone())
        .migrate()
        .await
        .expect("indexer migrations");
    let l = Ledger::from_pool(pool.clone());
    l.migrate().await.expect("migrations");
    let ton = CurrencyCode::ton();
    let escrow = RawAddress::from_parts(0, &[1; 32]);
    let vault = RawAddress::from_parts(0, &[2; 32]);
    l.register_currency(&Currency {
        code: ton.clone(),
        decimals: 9,
        jetton_master: None,
    })
    .await
    .unwrap();
    l.register_project(&Project {
        id: ProjectId(1),
        escrow: escrow.clone(),
        currency: ton.clone(),
        client: RawAddress::from_parts(0, &[3; 32]),
    })
    .await
    .unwrap();
    l.register_vault(&Vault {
        currency: ton.clone(),
        address: vault.clone(),
    })
    .await
    .unwrap();

    // Approvals, one task.
    let t = Instant::now();
    for i in 0..n {
        l.approve_earning(&earning(i)).await.unwrap();
    }
    let one = n as f64 / t.elapsed().as_secs_f64();
    // Approvals, 8 tasks.
    let t = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|k| {
            let l = l.clone();
            tokio::spawn(async move {
                for i in (n + k..2 * n).step_by(8) {
                    l.approve_earning(&earning(i)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let eight = n as f64 / t.elapsed().as_secs_f64();
    // Repeated approvals (the engine re-running): idempotent answers.
    let t = Instant::now();
    for i in 0..n / 5 {
        assert!(!l.approve_earning(&earning(i)).await.unwrap().newly_created);
    }
    let repeat = (n / 5) as f64 / t.elapsed().as_secs_f64();
    println!("approvals: {one:.0}/s (1 task), {eight:.0}/s (8 tasks), repeats {repeat:.0}/s");

    // Batches of 250: formation, then signed -> sent -> confirmed.
    let batches = (2 * n / 250).min(40);
    let mut form = Vec::new();
    let mut walk = Vec::new();
    for q in 0..batches {
        let t = Instant::now();
        let b = l
            .form_batch(&BatchRequest {
                currency: ton.clone(),
                max_items: 250,
                max_total: u64::MAX as u128,
                query_id: q as u64,
                created_at: 1_000,
                valid_until: 4_600,
            })
            .await
            .unwrap()
            .expect("batch");
        form.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(b.item_count, 250);
        let t = Instant::now();
        let _ = l.batch_items(b.id).await.unwrap();
        let _ = l.mark_signed(b.id, [1; 32]).await.unwrap();
        let _ = l.mark_sent(b.id, [2; 32]).await.unwrap();
        let _ = l
            .mark_confirmed(
                b.id,
                &ChainRef {
                    tx_hash: [q as u8; 32],
                    msg_idx: 0,
                    lt: 1,
                    now: 1,
                },
            )
            .await
            .unwrap();
        walk.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "form_batch of 250: median {:.1} ms; items + signed + sent + confirmed: median {:.1} ms ({batches} batches)",
        median(&mut form),
        median(&mut walk)
    );

    // Ingestion: n indexed deposits of the escrow, written as the indexer writes them.
    sqlx::query(
        "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno, \
             mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, \
             tx_kind, aborted, destroyed, out_msg_count, boc) \
         SELECT $1, 1000 + g, sha256(g::text::bytea), 0, 0, 1, 1 + g / 100, 1, \
             sha256(''::bytea), 0, 'active', 'active', 0, 'ordinary', false, false, 1, '\\x00' \
         FROM generate_series(1, $2) g",
    )
    .bind(escrow.as_str())
    .bind(n as i64)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, kind, \
             project_id, amount, balance_after, fields) \
         SELECT sha256(g::text::bytea), 0, $1, 'escrow', 1000 + g, 1, 1 + g / 100, 'ev_deposit', \
             1, 1000, 1000 * g, '{}'::jsonb FROM generate_series(1, $2) g",
    )
    .bind(escrow.as_str())
    .bind(n as i64)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO blocks (workchain, shard, seqno, root_hash, file_hash, mc_seqno, gen_utime) \
         VALUES (-1, 0, 1, sha256('b'::bytea), sha256('b'::bytea), 1, 1)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO checkpoint (mc_seqno) VALUES (1)")
        .execute(&pool)
        .await
        .unwrap();
    let t = Instant::now();
    let mut seen = 0;
    loop {
        let r = l.ingest_chain_events(500).await.unwrap();
        seen += r.seen;
        if r.seen < 500 {
            break;
        }
    }
    assert_eq!(seen, n);
    let ingest = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r = l.reconcile(&ton).await.unwrap();
    let rec = t.elapsed().as_secs_f64() * 1e3;
    let deposited = r
        .figures
        .iter()
        .find(|f| f.name == "deposited")
        .expect("figure");
    assert!(
        deposited.matches() && deposited.journal == 1000 * n as i128,
        "{r:?}"
    );
    println!("ingestion: {ingest:.0} events/s ({n} deposits); reconcile: {rec:.0} ms");

    drop(l);
    pool.close().await;
    let _ = sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut c)
    .await;
}
