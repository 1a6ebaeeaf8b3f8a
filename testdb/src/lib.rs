//! # labelmint-testdb — one scratch Postgres database per test
//!
//! Test support shared by every crate whose tests need Postgres (indexer, ledger, signer,
//! consensus, stack, settler, cli): the admin URL (`DATABASE_URL`, or the admin database of
//! the private cluster of `scripts/pg.sh`, started if needed), and [`ScratchDb`], a fresh database dropped when the
//! value is dropped, also when the test panics. Each crate applies its own migrations.
//!
//! ## What it must never do
//!
//! - Never be a dependency of anything but tests (`[dev-dependencies]` only).
//! - Never touch a database it did not create: it drops only the database it made, by name.

use std::process::Command;
use std::sync::OnceLock;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// `DATABASE_URL` (`make test` sets it to `scripts/pg.sh admin-url`), or the admin database of
/// the private cluster of `scripts/pg.sh` (started if needed; idempotent: its
/// `ADMIN_DATABASE_URL=` line). Its role may create databases. Never the database `make up`
/// writes (`scripts/pg.sh url`) unless `DATABASE_URL` says so: scratch databases are only
/// created from it, and that works from any database of the cluster.
pub fn admin_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh");
        let out = Command::new("bash")
            .arg(script)
            .output()
            .expect("run scripts/pg.sh");
        assert!(
            out.status.success(),
            "scripts/pg.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = |prefix: &str| {
            stdout
                .lines()
                .filter_map(|l| l.strip_prefix(prefix))
                .next_back()
                .map(str::to_owned)
        };
        line("ADMIN_DATABASE_URL=")
            .or_else(|| line("DATABASE_URL="))
            .expect("scripts/pg.sh prints ADMIN_DATABASE_URL")
    })
    .clone()
}

/// A fresh, empty database on the admin URL's cluster, dropped when the value is dropped.
#[derive(Debug)]
pub struct ScratchDb {
    /// Its name (`<prefix>_<16 hex>`).
    pub name: String,
    /// Its URL.
    pub url: String,
    admin: String,
}

impl ScratchDb {
    /// Creates `<prefix>_<random>`; `prefix` is `[a-z0-9_]`.
    pub async fn create(prefix: &str) -> ScratchDb {
        assert!(
            prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "database prefix {prefix:?}"
        );
        let admin = admin_url();
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin).await.expect("connect admin");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("DATABASE_URL without a database name: {admin}"),
        };
        ScratchDb { name, url, admin }
    }

    /// A pool of at most `max_connections` on it.
    pub async fn pool(&self, max_connections: u32) -> PgPool {
        let opts: PgConnectOptions = self.url.parse().expect("url");
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(opts)
            .await
            .expect("connect test database")
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let (name, admin) = (self.name.clone(), self.admin.clone());
        // A runtime of its own: Drop cannot await, and the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = sqlx::query(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut c)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Writes a masterchain block at unix time `t` into the indexer's `blocks` and moves its
/// `checkpoint` to it, as the indexer does when it commits a block: the "indexed chain time"
/// the ledger, the signer and the api read. The indexer's migrations must have run. Returns
/// the block's seqno.
pub async fn set_chain_time(pool: &PgPool, t: i64) -> i64 {
    let seqno: i64 =
        sqlx::query_scalar("SELECT COALESCE(max(seqno), 0) + 1 FROM blocks WHERE workchain = -1")
            .fetch_one(pool)
            .await
            .expect("next masterchain seqno");
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&seqno.to_be_bytes());
    sqlx::query(
        "INSERT INTO blocks (workchain, shard, seqno, root_hash, file_hash, mc_seqno, gen_utime) \
         VALUES (-1, -9223372036854775808, $1, $2, $2, $1, $3)",
    )
    .bind(seqno)
    .bind(h.to_vec())
    .bind(t)
    .execute(pool)
    .await
    .expect("block");
    sqlx::query(
        "INSERT INTO checkpoint (id, mc_seqno) VALUES (TRUE, $1) \
         ON CONFLICT (id) DO UPDATE SET mc_seqno = EXCLUDED.mc_seqno",
    )
    .bind(seqno)
    .execute(pool)
    .await
    .expect("checkpoint");
    seqno
}
