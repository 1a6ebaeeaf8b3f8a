//! `make bench-api`: the status API's reads under load (issue 14 point 8).
//!
//! ```text
//! seed (once per parameter set; reused)      labelmint_api_bench_<params>: 1,000,000 indexed
//!   benches/seed.sql, one transaction        transactions (+ in/out messages, events, blocks),
//!   then VACUUM ANALYZE                      100,000 payout items in 400 ledger batches
//! API migrations (new indexes) -> a read key exempt from rate limits
//! labelmint-api (release binary, its own process, RUST_LOG=warn)
//! load: BENCH_CONNS keep-alive HTTP/1.1 connections (hyper), each sending one request at a
//!       time, a third each: GET /v1/projects/{id}, GET /v1/payouts/batches (first page or a
//!       random cursor), GET /v1/transactions/{hash} (random existing ids and hashes)
//!       warm-up, then BENCH_SECS measured into HDR histograms; first closed loop (each
//!       connection sends its next request when the answer is in: the most requests/s), then
//!       open loop at BENCH_LOAD_FRACTIONS (0.5,0.8) of that rate (requests on a schedule,
//!       latency from the scheduled time: what a client sees at that load)
//! floor: the same three reads as SQL straight from a pool of the API's size, same tasks
//! report: requests/s, p50 p90 p99 p99.9 max, errors, per read; API peak RSS; API/floor
//! ```
//!
//! Why closed and open loop: with 512 connections each keeping one request in flight, the
//! mean latency is 512 / throughput (Little's law) whatever the server does; p99 < 20 ms that
//! way would need more than 25,600 requests/s from two shared cores. The open-loop runs show
//! the latency at a given load instead.
//!
//! ```text
//! ```
//!
//! Knobs (environment): BENCH_TX (1000000), BENCH_ITEMS (100000), BENCH_PROJECTS (200),
//! BENCH_WORKERS (20000), BENCH_CONNS (512), BENCH_SECS (30), BENCH_WARMUP_SECS (5),
//! BENCH_DB_CONNECTIONS (the API's read pool and the floor's pool, 16), BENCH_API_BIN (the
//! release binary; default: beside this bench's executable), BENCH_RESEED=1 (drop and seed
//! again), BENCH_SKIP_FLOOR=1. DATABASE_URL: an admin URL of the cluster
//! (`scripts/pg.sh admin-url`).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use labelmint_api::auth::keys::{self, Scope};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

/// Bumped when seed.sql changes shape: a seed of another version is not reused.
const SEED_VERSION: u32 = 2;

#[derive(Debug, Clone)]
struct Params {
    n_tx: u64,
    n_items: u64,
    n_projects: u64,
    n_workers: u64,
    conns: usize,
    secs: u64,
    warmup: u64,
    db_conns: u32,
}

fn env_u64(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{name}={v}: not a whole number")),
        Err(_) => Ok(default),
    }
}

impl Params {
    fn from_env() -> Result<Params> {
        let p = Params {
            n_tx: env_u64("BENCH_TX", 1_000_000)?,
            n_items: env_u64("BENCH_ITEMS", 100_000)?,
            n_projects: env_u64("BENCH_PROJECTS", 200)?,
            n_workers: env_u64("BENCH_WORKERS", 20_000)?,
            conns: usize::try_from(env_u64("BENCH_CONNS", 512)?)?,
            secs: env_u64("BENCH_SECS", 30)?,
            warmup: env_u64("BENCH_WARMUP_SECS", 5)?,
            db_conns: u32::try_from(env_u64("BENCH_DB_CONNECTIONS", 16)?)?,
        };
        if p.n_tx < 80 || p.n_items < 250 || p.n_projects < 2 || p.n_workers < 1 || p.conns < 1 {
            bail!(
                "BENCH_TX >= 80, BENCH_ITEMS >= 250, BENCH_PROJECTS >= 2, BENCH_WORKERS and BENCH_CONNS >= 1"
            );
        }
        Ok(p)
    }

    fn db_name(&self) -> String {
        format!(
            "labelmint_api_bench_t{}_i{}_p{}_w{}_v{SEED_VERSION}",
            self.n_tx, self.n_items, self.n_projects, self.n_workers
        )
    }

    fn batches(&self) -> u64 {
        self.n_items.div_ceil(250)
    }
}

fn db_url(admin: &str, name: &str) -> Result<String> {
    let (base, _) = admin
        .rsplit_once('/')
        .context("DATABASE_URL has no database name")?;
    Ok(format!("{base}/{name}"))
}

/// Seeds the bench database unless a complete seed of these parameters is there.
async fn ensure_seed(admin: &str, p: &Params) -> Result<String> {
    let name = p.db_name();
    let url = db_url(admin, &name)?;
    let mut conn = PgConnection::connect(admin)
        .await
        .context("connect with DATABASE_URL (scripts/pg.sh admin-url)")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    let reseed = std::env::var("BENCH_RESEED").is_ok_and(|v| v == "1");
    if exists && !reseed {
        let mut c = PgConnection::connect(&url).await?;
        let done: Option<bool> = sqlx::query_scalar(
            "SELECT done FROM bench_seed WHERE version = $1 AND n_tx = $2 AND n_items = $3",
        )
        .bind(i32::try_from(SEED_VERSION)?)
        .bind(i64::try_from(p.n_tx)?)
        .bind(i64::try_from(p.n_items)?)
        .fetch_optional(&mut c)
        .await
        .unwrap_or(None);
        c.close().await.ok();
        if done == Some(true) {
            eprintln!("seed: reusing {name}");
            return Ok(url);
        }
    }
    eprintln!(
        "seed: creating {name} ({} transactions, {} payout items)",
        p.n_tx, p.n_items
    );
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await.ok();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await?;
    labelmint_indexer::store::Store::from_pool(pool.clone())
        .migrate()
        .await
        .context("indexer migrations")?;
    labelmint_ledger::Ledger::from_pool(pool.clone())
        .migrate()
        .await
        .context("ledger migrations")?;
    // The API's write migration grants on the signer's allowlist: its tables first.
    labelmint_payout_signer::store::migrate(&pool)
        .await
        .context("payout-signer migrations")?;
    let sql = include_str!("seed.sql")
        .replace(":n_tx", &p.n_tx.to_string())
        .replace(":n_items", &p.n_items.to_string())
        .replace(":n_projects", &p.n_projects.to_string())
        .replace(":n_workers", &p.n_workers.to_string());
    let t = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *tx)
        .await
        .context("seed.sql")?;
    sqlx::raw_sql(
        "CREATE TABLE bench_seed (version INTEGER, n_tx BIGINT, n_items BIGINT, done BOOLEAN)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO bench_seed VALUES ($1, $2, $3, true)")
        .bind(i32::try_from(SEED_VERSION)?)
        .bind(i64::try_from(p.n_tx)?)
        .bind(i64::try_from(p.n_items)?)
        .execute(&mut *tx)
        .await?;
    tx.commit()
        .await
        .context("seed commit (the ledger's checks run here)")?;
    eprintln!("seed: {:.1} s; VACUUM ANALYZE", t.elapsed().as_secs_f64());
    sqlx::raw_sql(
        "VACUUM (ANALYZE) transactions, messages, events, blocks, account_states, \
         watched_accounts, ledger_projects, ledger_earnings, ledger_batches, \
         ledger_batch_items, ledger_payout_items",
    )
    .execute(&pool)
    .await?;
    pool.close().await;
    Ok(url)
}

/// The started API process (killed on drop).
struct Api {
    child: Child,
    addr: String,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Api {
    /// CPU seconds the process has used (user + system), from /proc/<pid>/stat.
    fn cpu_secs(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which is in parentheses): state is field 3; utime
        // and stime are 14 and 15, in clock ticks (100 per second on Linux).
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

fn api_bin() -> Result<std::path::PathBuf> {
    if let Ok(p) = std::env::var("BENCH_API_BIN") {
        return Ok(p.into());
    }
    // target/release/deps/reads-<hash> -> target/release/labelmint-api
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .context("bench executable path")?;
    let bin = dir.join("labelmint-api");
    if !bin.exists() {
        bail!(
            "{} is missing: cargo build --release -p labelmint-api --bin labelmint-api",
            bin.display()
        );
    }
    Ok(bin)
}

fn start_api(url: &str, key_id: &str, p: &Params) -> Result<Api> {
    let bin = api_bin()?;
    // The database URL goes in the environment, never on the command line.
    let mut child = Command::new(&bin)
        .env("DATABASE_URL", url)
        .env("LABELMINT_API_LISTEN", "127.0.0.1:0")
        .env("LABELMINT_API_RATE_LIMIT_EXEMPT_KEYS", key_id)
        .env("LABELMINT_API_DB_CONNECTIONS", p.db_conns.to_string())
        .env("LABELMINT_API_SKIP_MIGRATIONS", "true")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line?;
        eprintln!("api: {line}");
        if let Some(rest) = line.strip_prefix("labelmint-api on http://") {
            addr = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        bail!("labelmint-api exited before listening");
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("api: {line}");
        }
    });
    Ok(Api { child, addr })
}

/// The three reads.
#[derive(Debug, Clone, Copy)]
enum Op {
    Project,
    Batches,
    Transaction,
}

const OPS: [Op; 3] = [Op::Project, Op::Batches, Op::Transaction];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Project => "GET /v1/projects/{id}",
            Op::Batches => "GET /v1/payouts/batches",
            Op::Transaction => "GET /v1/transactions/{hash}",
        }
    }
}

fn tx_hash(i: u64) -> [u8; 32] {
    Sha256::digest(format!("tx{i}").as_bytes()).into()
}

/// A random request of a random read: (op, path).
fn pick(rng: &mut StdRng, p: &Params) -> (usize, String) {
    let k = rng.gen_range(0..OPS.len());
    let path = match OPS[k] {
        Op::Project => format!("/v1/projects/{}", rng.gen_range(1..=p.n_projects)),
        Op::Batches => {
            if rng.gen_bool(0.5) {
                "/v1/payouts/batches?limit=20".to_owned()
            } else {
                let before = rng.gen_range(2..=p.batches() + 1);
                let c = labelmint_api::wire::encode_cursor("b", &[before.to_string()]);
                format!("/v1/payouts/batches?limit=20&cursor={c}")
            }
        }
        Op::Transaction => format!(
            "/v1/transactions/{}",
            hex::encode(tx_hash(rng.gen_range(1..=p.n_tx)))
        ),
    };
    (k, path)
}

/// What one run measured.
struct Run {
    total: Histogram<u64>,
    per_op: Vec<Histogram<u64>>,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
}

fn hist() -> Histogram<u64> {
    // 1 µs .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid histogram bounds")
}

struct Shared {
    params: Params,
    measure_from: Instant,
    until: Instant,
    /// Open loop: each connection sends one request per `interval`, on a schedule, and the
    /// latency counts from the scheduled time (a late answer delays the next send and is
    /// charged for it: no coordinated omission). `None`: closed loop, the next request as soon
    /// as the answer is in (the most requests/s; latency is then queueing: Little's law).
    interval: Option<Duration>,
}

impl Run {
    fn merge(parts: Vec<(Vec<Histogram<u64>>, u64, Option<String>)>, elapsed: Duration) -> Run {
        let mut per_op: Vec<Histogram<u64>> = OPS.iter().map(|_| hist()).collect();
        let mut total = hist();
        let mut errors = 0;
        let mut first_error = None;
        for (h, e, fe) in parts {
            for (i, x) in h.iter().enumerate() {
                let _ = per_op[i].add(x);
                let _ = total.add(x);
            }
            errors += e;
            if first_error.is_none() {
                first_error = fe;
            }
        }
        Run {
            total,
            per_op,
            errors,
            first_error,
            elapsed,
        }
    }

    fn rps(&self) -> f64 {
        self.total.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, title: &str) {
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        println!("\n{title}");
        println!(
            "  {:<30} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "read", "requests/s", "p50 ms", "p90", "p99", "p99.9", "max", "errors"
        );
        let row = |name: &str, h: &Histogram<u64>, errors: Option<u64>| {
            println!(
                "  {:<30} {:>10.0} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8}",
                name,
                h.len() as f64 / self.elapsed.as_secs_f64(),
                ms(h, 0.5),
                ms(h, 0.9),
                ms(h, 0.99),
                ms(h, 0.999),
                h.max() as f64 / 1000.0,
                errors.map_or_else(|| "".to_owned(), |e| e.to_string()),
            );
        };
        for (i, op) in OPS.iter().enumerate() {
            row(op.name(), &self.per_op[i], None);
        }
        row("all", &self.total, Some(self.errors));
        if let Some(e) = &self.first_error {
            println!("  first error: {e}");
        }
    }
}

async fn http_worker(
    shared: Arc<Shared>,
    addr: String,
    bearer: String,
    seed: u64,
) -> (Vec<Histogram<u64>>, u64, Option<String>) {
    let mut hs: Vec<Histogram<u64>> = OPS.iter().map(|_| hist()).collect();
    let mut errors = 0u64;
    let mut first_error = None;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut next_at: Option<Instant> = None;
    'reconnect: while Instant::now() < shared.until {
        let stream = match tokio::net::TcpStream::connect(&addr).await {
            Ok(s) => s,
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(format!("connect: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(x) => x,
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(format!("handshake: {e}"));
                    continue;
                }
            };
        tokio::spawn(conn);
        while Instant::now() < shared.until {
            let scheduled = match shared.interval {
                Some(every) => {
                    let at = next_at.get_or_insert_with(|| {
                        Instant::now() + every.mul_f64(rng.gen_range(0.0..1.0))
                    });
                    let t = *at;
                    *at += every;
                    tokio::time::sleep_until(t.into()).await;
                    Some(t)
                }
                None => None,
            };
            let (k, path) = pick(&mut rng, &shared.params);
            let req = match hyper::Request::get(path.as_str())
                .header("host", addr.as_str())
                .header("authorization", bearer.as_str())
                .body(Empty::<Bytes>::new())
            {
                Ok(r) => r,
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(format!("request: {e}"));
                    continue;
                }
            };
            let t0 = scheduled.unwrap_or_else(Instant::now);
            let res = match sender.send_request(req).await {
                Ok(r) => r,
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(format!("{path}: {e}"));
                    continue 'reconnect;
                }
            };
            let status = res.status();
            let body = res.into_body().collect().await;
            let micros = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
            if t0 < shared.measure_from {
                continue;
            }
            match body {
                Ok(_) if status == 200 => {
                    let _ = hs[k].record(micros.max(1));
                }
                Ok(b) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| {
                        format!(
                            "{path}: {status} {}",
                            String::from_utf8_lossy(&b.to_bytes())
                        )
                    });
                }
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(format!("{path}: body: {e}"));
                    continue 'reconnect;
                }
            }
        }
    }
    (hs, errors, first_error)
}

async fn run_http(p: &Params, addr: &str, bearer: &str, rate: Option<f64>) -> Result<Run> {
    let start = Instant::now();
    let shared = Arc::new(Shared {
        params: p.clone(),
        measure_from: start + Duration::from_secs(p.warmup),
        until: start + Duration::from_secs(p.warmup + p.secs),
        interval: rate.map(|r| Duration::from_secs_f64(p.conns as f64 / r)),
    });
    let mut tasks = Vec::with_capacity(p.conns);
    for i in 0..p.conns {
        tasks.push(tokio::spawn(http_worker(
            shared.clone(),
            addr.to_owned(),
            bearer.to_owned(),
            0x5eed_0000 + i as u64,
        )));
    }
    let mut parts = Vec::with_capacity(tasks.len());
    for t in tasks {
        parts.push(t.await?);
    }
    Ok(Run::merge(parts, Duration::from_secs(p.secs)))
}

/// The floor: the same reads as one SQL statement each, from a pool of the API's size.
async fn floor_worker(
    shared: Arc<Shared>,
    pool: PgPool,
    seed: u64,
) -> (Vec<Histogram<u64>>, u64, Option<String>) {
    let mut hs: Vec<Histogram<u64>> = OPS.iter().map(|_| hist()).collect();
    let mut errors = 0;
    let mut first_error = None;
    let mut rng = StdRng::seed_from_u64(seed);
    let project_sql = format!(
        "{} WHERE p.project_id = $1::text::numeric",
        labelmint_api::routes::projects::PROJECT_SQL
    );
    let batch_sql = format!(
        "{} WHERE ($1::bigint IS NULL OR b.id < $1) ORDER BY b.id DESC LIMIT 21",
        labelmint_api::routes::payouts::BATCH_SQL
    );
    let tx_sql = labelmint_api::routes::transactions::transaction_sql();
    while Instant::now() < shared.until {
        let k = rng.gen_range(0..OPS.len());
        let t0 = Instant::now();
        let r = match OPS[k] {
            Op::Project => {
                sqlx::query(AssertSqlSafe(project_sql.as_str()))
                    .bind(rng.gen_range(1..=shared.params.n_projects).to_string())
                    .fetch_all(&pool)
                    .await
            }
            Op::Batches => {
                let before = if rng.gen_bool(0.5) {
                    None
                } else {
                    i64::try_from(rng.gen_range(2..=shared.params.batches() + 1)).ok()
                };
                sqlx::query(AssertSqlSafe(batch_sql.as_str()))
                    .bind(before)
                    .fetch_all(&pool)
                    .await
            }
            Op::Transaction => {
                sqlx::query(AssertSqlSafe(tx_sql.as_str()))
                    .bind(tx_hash(rng.gen_range(1..=shared.params.n_tx)).to_vec())
                    .fetch_all(&pool)
                    .await
            }
        };
        let micros = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        if t0 < shared.measure_from {
            continue;
        }
        match r {
            Ok(rows) if !rows.is_empty() => {
                let _ = hs[k].record(micros.max(1));
            }
            Ok(_) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{}: no row", OPS[k].name()));
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(format!("{}: {e}", OPS[k].name()));
            }
        }
    }
    (hs, errors, first_error)
}

async fn run_floor(p: &Params, url: &str) -> Result<Run> {
    let pool = PgPoolOptions::new()
        .max_connections(p.db_conns)
        .min_connections(p.db_conns)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    let start = Instant::now();
    let shared = Arc::new(Shared {
        params: p.clone(),
        measure_from: start + Duration::from_secs(p.warmup),
        until: start + Duration::from_secs(p.warmup + p.secs),
        interval: None,
    });
    let mut tasks = Vec::new();
    for i in 0..p.conns {
        tasks.push(tokio::spawn(floor_worker(
            shared.clone(),
            pool.clone(),
            0xf100_0000 + i as u64,
        )));
    }
    let mut parts = Vec::new();
    for t in tasks {
        parts.push(t.await?);
    }
    pool.close().await;
    Ok(Run::merge(parts, Duration::from_secs(p.secs)))
}

#[tokio::main]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let p = Params::from_env()?;
    let admin = labelmint_testdb::admin_url();
    let url = ensure_seed(&admin, &p).await?;

    // The API's migrations (its read role and its indexes), then a read key for the load.
    let mut config = labelmint_api::Config::test(&url);
    config.acquire_timeout = Duration::from_secs(600);
    let t = Instant::now();
    labelmint_api::db::migrate(&config)
        .await
        .context("the API's migrations")?;
    eprintln!("api migrations: {:.1} s", t.elapsed().as_secs_f64());
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let issued = keys::create(&pool, Scope::Read, None, "bench (rate limit exempt)")
        .await
        .context("bench key")?;
    pool.close().await;
    let key_id = issued.info.key_id.clone();
    let bearer = format!("Bearer {}", issued.key.expose());

    let api = start_api(&url, &key_id, &p)?;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "labelmint-api read bench: {} transactions, {} payout items ({} batches), {} projects; \
         {} connections, {} s warm-up + {} s; API read pool {} connections; {cpus} CPUs shared by \
         the API, Postgres and this load generator",
        p.n_tx,
        p.n_items,
        p.batches(),
        p.n_projects,
        p.conns,
        p.warmup,
        p.secs,
        p.db_conns
    );
    let cpu0 = api.cpu_secs();
    let http = run_http(&p, &api.addr, &bearer, None).await?;
    let cpu1 = api.cpu_secs();
    http.print(&format!(
        "closed loop through labelmint-api: {} connections, each sending its next request when \
         the answer is in (the most requests/s; latency = queueing, {} in flight / throughput)",
        p.conns, p.conns
    ));
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        // The whole closed run (warm-up included) against the requests it answered.
        let served = http.rps() * (p.secs + p.warmup) as f64;
        println!(
            "  API process CPU: {:.1} s over {} s (about {:.0} µs per request)",
            b - a,
            p.secs + p.warmup,
            (b - a) / served * 1e6
        );
    }
    // Open loop at fractions of that throughput: the latency a client sees at that load.
    let fractions: Vec<f64> = match std::env::var("BENCH_LOAD_FRACTIONS") {
        Ok(v) => v.split(',').filter_map(|f| f.trim().parse().ok()).collect(),
        Err(_) => vec![0.5, 0.8],
    };
    let mut open = Vec::new();
    for f in fractions {
        let rate = (http.rps() * f).max(1.0);
        let run = run_http(&p, &api.addr, &bearer, Some(rate)).await?;
        run.print(&format!(
            "open loop through labelmint-api: {rate:.0} requests/s offered ({:.0} % of the closed \
             loop's) over {} connections, latency from each request's scheduled time",
            f * 100.0,
            p.conns
        ));
        open.push((rate, run));
    }
    let rss = api.peak_rss_kib();
    drop(api);
    match rss {
        Some(kib) => println!("\nAPI peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("\nAPI peak RSS: unknown"),
    }

    if std::env::var("BENCH_SKIP_FLOOR").is_ok_and(|v| v == "1") {
        return Ok(());
    }
    let floor = run_floor(&p, &url).await?;
    floor.print(&format!(
        "floor, closed loop: the same reads as SQL from a pool of {} connections shared by {} \
         tasks (each read the API's own SQL statement; no HTTP, no JSON encoding, no auth)",
        p.db_conns, p.conns
    ));
    let p99 = |r: &Run| r.total.value_at_quantile(0.99) as f64 / 1000.0;
    println!(
        "\nAPI / floor: {:.2}x the requests/s, p99 {:.2} ms vs {:.2} ms",
        http.rps() / floor.rps(),
        p99(&http),
        p99(&floor)
    );
    Ok(())
}
