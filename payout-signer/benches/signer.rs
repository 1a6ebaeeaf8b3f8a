//! Benchmark: signed 250-item vault batches per second, end to end over HTTP (JSON parse,
//! policy checks against Postgres: allowlist, the ledger's payout items and their earnings
//! (two per item), earlier signatures of those earnings, rolling and per-worker caps; sign;
//! journal + items + their earnings + volumes + audit committed with synchronous_commit = on),
//! with the file backend and with SoftHSM2 (PKCS#11).
//!
//! `cargo bench -p labelmint-payout-signer --bench signer` (DATABASE_URL or scripts/pg.sh;
//! SoftHSM2 via scripts/softhsm.sh). BATCHES (default 200), CONCURRENCY (default 8) and
//! EARNINGS_PER_ITEM (default 2: each item pays that many earnings of its worker) env vars.
//! KEEP_DB=1 keeps each run's scratch database (its name is printed) for `EXPLAIN ANALYZE`.
//!
//! Besides batches/s it prints the CPU each batch cost while the clock ran (Linux /proc,
//! clock ticks): this process (the HTTP clients and the signer) and the Postgres backends of
//! the bench database. On a shared machine that split is steadier than the rate.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use labelmint_keys::{FileKey, KdfParams, KeyBackend, Passphrase, Pkcs11Config, Pkcs11Key};
use labelmint_ledger::{
    BatchRequest, Currency, CurrencyCode, Ledger, Project, ProjectId, RawAddress, Vault,
};
use labelmint_payout_signer::ledger::PgLedger;
use labelmint_payout_signer::store::{self, Registration};
use labelmint_payout_signer::wire::{BatchBody, ItemBody, raw_address};
use labelmint_payout_signer::{Config, Limits, SignerClient, spawn};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;
use zeroize::Zeroizing;

fn database_url() -> String {
    if let Ok(u) = std::env::var("DATABASE_URL") {
        return u;
    }
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh"))
        .arg("admin-url")
        .output()
        .expect("scripts/pg.sh admin-url");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// CPU time (user + system, seconds) of process `pid` (`None`: this process), from /proc.
fn cpu_secs(pid: Option<i32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command (which may contain spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The CPU seconds of each Postgres backend of database `name`.
async fn backend_cpu(c: &mut PgConnection, name: &str) -> std::collections::HashMap<i32, f64> {
    let pids: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .fetch_all(&mut *c)
        .await
        .unwrap_or_default();
    pids.into_iter()
        .filter_map(|p| cpu_secs(Some(p)).map(|s| (p, s)))
        .collect()
}

/// Batches signed before the clock starts.
const WARMUP: usize = 20;

fn addr(tag: u64, salt: u8) -> StdAddr {
    let mut b = [salt; 32];
    b[..8].copy_from_slice(&tag.to_be_bytes());
    StdAddr::new(0, HashBytes(b))
}

async fn run(label: &str, key: Arc<dyn KeyBackend>, batches: usize, concurrency: usize) {
    let per_item: usize = std::env::var("EARNINGS_PER_ITEM")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=20).contains(n))
        .unwrap_or(2);
    let admin = database_url();
    let name = format!("labelmint_signer_bench_{:016x}", rand::random::<u64>());
    let mut c = PgConnection::connect(&admin).await.expect("admin");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .expect("create db");
    let url = format!("{}/{name}", admin.rsplit_once('/').expect("db url").0);
    let ledger = Ledger::connect(&url, 4).await.expect("ledger");
    ledger.migrate().await.expect("ledger migrate");
    let vault = addr(1, 0xaa);
    let escrow = addr(2, 0xee);
    let raw = |a: &StdAddr| RawAddress::parse(&raw_address(a)).expect("raw");
    ledger
        .register_currency(&Currency {
            code: CurrencyCode::ton(),
            decimals: 9,
            jetton_master: None,
        })
        .await
        .expect("currency");
    ledger
        .register_vault(&Vault {
            currency: CurrencyCode::ton(),
            address: raw(&vault),
        })
        .await
        .expect("vault");
    ledger
        .register_project(&Project {
            id: ProjectId(7),
            escrow: raw(&escrow),
            currency: CurrencyCode::ton(),
            client: raw(&addr(3, 0xc1)),
        })
        .await
        .expect("project");
    // Earnings in bulk: `per_item` per worker, so each of the batch's 250 items (one transfer
    // per worker) pays two earnings, as the settler's batches do.
    let workers = (batches + WARMUP) * 250;
    sqlx::query(
        "INSERT INTO ledger_earnings (submission_key, worker, payout_address, project_id, currency, amount, decision_id) \
         SELECT 'bench-' || g || '-' || k, 'w' || g, '0:' || lpad(to_hex(g), 64, '0'), 7, 'TON', 500000, 'd' || g || '-' || k \
         FROM generate_series(1, $1) AS g, generate_series(1, $2) AS k",
    )
    .bind(workers as i64)
    .bind(per_item as i32)
    .execute(ledger.pool())
    .await
    .expect("earnings");
    // The ledger's batches, formed as the settler forms them.
    let formed_at = labelmint_payout_signer::store::now() as u32;
    let mut formed = Vec::new();
    for q in 1..=(batches + WARMUP) as u64 {
        let b = ledger
            .form_batch(&BatchRequest {
                currency: CurrencyCode::ton(),
                max_items: 250,
                max_total: u64::MAX as u128,
                query_id: q,
                created_at: formed_at,
                valid_until: formed_at + 3599,
            })
            .await
            .expect("form")
            .expect("a batch");
        formed.push((b.clone(), ledger.batch_items(b.id).await.expect("items")));
    }
    let pool = store::connect(&url, 2).await.expect("pool");
    store::migrate(&pool).await.expect("migrate");
    store::register(
        &pool,
        &Registration::Vault {
            address: vault.clone(),
            currency: "TON".into(),
            timeout: 3600,
            onchain_limit: None,
        },
    )
    .await
    .expect("register");
    let mut limits = Limits::default();
    for k in ["batch", "hour", "day", "worker_day"] {
        limits
            .apply_cap(&format!("TON:{k}={}", u64::MAX))
            .expect("cap");
    }
    let mut config = Config::test(&url);
    config.limits = limits;
    config.max_connections = 16;
    let handle = spawn(config.clone(), key, Arc::new(PgLedger::new(ledger.clone())))
        .await
        .expect("spawn");
    let client =
        SignerClient::new(&handle.url().expect("url"), config.token.clone()).expect("client");
    let bodies: Vec<BatchBody> = formed
        .iter()
        .map(|(b, items)| BatchBody {
            vault: raw_address(&vault),
            query_id: b.query_id.to_string(),
            created_at: b.created_at,
            attach: "0".into(),
            forward_ton: "0".into(),
            items: items
                .iter()
                .map(|i| ItemBody {
                    item_id: i.item_id.get().to_string(),
                    dest: i.payout_address.to_string(),
                    amount: i.amount.to_string(),
                    bounceable: false,
                })
                .collect(),
        })
        .collect();
    assert!(
        formed
            .iter()
            .all(|(_, items)| items.len() == 250
                && items.iter().all(|i| i.earnings.len() == per_item))
    );
    // Warm-up (not measured): the first batches, while Postgres settles after CREATE DATABASE.
    let mut bodies = bodies;
    let warm = bodies.split_off(bodies.len() - WARMUP.min(bodies.len()));
    for body in &warm {
        client.batch(body).await.expect("http").expect("signed");
    }
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let (pg_before, me_before) = (backend_cpu(&mut c, &name).await, cpu_secs(None));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (q, c) = (queue.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            loop {
                let next = q.lock().expect("queue").pop();
                let Some(body) = next else { return done };
                c.batch(&body).await.expect("http").expect("signed");
                done += 1;
            }
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.expect("task");
    }
    let secs = start.elapsed().as_secs_f64();
    let (pg_after, me_after) = (backend_cpu(&mut c, &name).await, cpu_secs(None));
    let pg_cpu: f64 = pg_after
        .iter()
        .map(|(p, s)| s - pg_before.get(p).copied().unwrap_or(0.0))
        .sum();
    let me_cpu = me_after.zip(me_before).map(|(a, b)| a - b).unwrap_or(0.0);
    let journal: i64 = sqlx::query_scalar("SELECT count(*) FROM signer_journal")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(journal as usize, done + warm.len());
    println!(
        "{label:<8} {done} signed 250-item batches ({} earnings each) in {secs:.2}s = {:.1} batches/s ({:.0} items/s, {:.0} earnings/s), concurrency {concurrency}",
        250 * per_item,
        done as f64 / secs,
        done as f64 * 250.0 / secs,
        done as f64 * 250.0 * per_item as f64 / secs
    );
    println!(
        "{label:<8} CPU per batch: Postgres backends {:.2} ms, bench process (clients + signer) {:.2} ms",
        pg_cpu * 1000.0 / done.max(1) as f64,
        me_cpu * 1000.0 / done.max(1) as f64
    );
    handle.stop().await.expect("stop");
    drop(pool);
    ledger.pool().close().await;
    if std::env::var_os("KEEP_DB").is_some() {
        println!("{label:<8} kept database {name}");
        return;
    }
    let _ = sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut c)
    .await;
}

fn softhsm_env() -> Option<Vec<(String, String)>> {
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/softhsm.sh"
        ))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "scripts/softhsm.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
    )
}

#[tokio::main]
async fn main() {
    let batches: usize = std::env::var("BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let concurrency: usize = std::env::var("CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().expect("tempdir");
    let pass = Passphrase::new(Zeroizing::new("THROWAWAY bench passphrase".into()), "bench")
        .expect("pass");
    let file: Arc<dyn KeyBackend> = Arc::new(
        FileKey::generate(
            &dir.path().join("k"),
            &pass,
            KdfParams::insecure_for_tests(),
        )
        .expect("keygen"),
    );
    run("file", file, batches, concurrency).await;

    match softhsm_env() {
        Some(vars) => {
            let get = |k: &str| {
                vars.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            // SAFETY-free: set before any PKCS#11 call in this process.
            let conf = get("SOFTHSM2_CONF");
            let config = Pkcs11Config {
                module: get("LABELMINT_PKCS11_MODULE").into(),
                token_label: get("LABELMINT_PKCS11_TOKEN"),
                pin: Passphrase::new(Zeroizing::new(get("LABELMINT_PKCS11_PIN")), "pin")
                    .expect("pin"),
                key_label: format!("bench-{:08x}", rand::random::<u32>()),
                sessions: 4,
            };
            std::env::var_os("SOFTHSM2_CONF").is_none().then(|| eprintln!("set SOFTHSM2_CONF={conf} to run the PKCS#11 part (export $(scripts/softhsm.sh | grep =))"));
            if std::env::var_os("SOFTHSM2_CONF").is_some() {
                let key: Arc<dyn KeyBackend> =
                    Arc::new(Pkcs11Key::generate_in_token(&config).expect("token key"));
                run("softhsm2", key, batches, concurrency).await;
            }
        }
        None => eprintln!("SoftHSM2 not available: PKCS#11 part skipped"),
    }
}
