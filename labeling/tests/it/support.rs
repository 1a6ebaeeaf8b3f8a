//! A scratch database with the indexer's, the ledger's, the engine's and labeling's tables, a
//! TON project funded by an indexed deposit, and the service on a manual clock.

use std::sync::Arc;

use labelmint_labeling::{Labeling, ManualClock, Worker};
use labelmint_ledger::{Currency, CurrencyCode, Ledger, Project, ProjectId, RawAddress, Vault};
use labelmint_testdb::ScratchDb;
use sqlx::PgPool;

pub(crate) const PROJECT: u64 = 7;
/// 2026-12-10T00:00:00Z in ms.
pub(crate) const T0: i64 = 1_796_860_800_000;

pub(crate) fn addr(n: u32) -> RawAddress {
    let mut a = [0u8; 32];
    a[..4].copy_from_slice(&n.to_be_bytes());
    a[31] = 0x5a;
    RawAddress::from_parts(0, &a)
}

pub(crate) fn worker(n: u32) -> Worker {
    Worker::new(addr(1_000_000 + n))
}

/// A pool whose connections are all opened first, one at a time: thousands of tasks asking
/// for connections at once on a loaded 2-core machine would otherwise open many together and
/// some would miss the server's 5 s authentication timeout.
async fn warm_pool(url: &str, n: u32) -> PgPool {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(n)
        .min_connections(n)
        .acquire_timeout(std::time::Duration::from_secs(120))
        .idle_timeout(None)
        .connect(url)
        .await
        .expect("connect");
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(pool.acquire().await.expect("warm connection"));
    }
    drop(held);
    pool
}

pub(crate) struct Env {
    pub(crate) labeling: Labeling,
    pub(crate) clock: ManualClock,
    pub(crate) pool: PgPool,
    pub(crate) ledger: Ledger,
    _db: ScratchDb,
}

impl Env {
    /// A TON project funded with `deposit` nanoTON; `connections` per pool.
    pub(crate) async fn new(deposit: u128, connections: u32, background: bool) -> Env {
        let db = ScratchDb::create("labelmint_labeling").await;
        let pool = warm_pool(&db.url, connections).await;
        let engine_pool = warm_pool(&db.url, connections).await;
        labelmint_indexer::store::Store::from_pool(pool.clone())
            .migrate()
            .await
            .expect("indexer migrations");
        let ledger = Ledger::from_pool(warm_pool(&db.url, connections / 2 + 2).await);
        ledger.migrate().await.expect("ledger migrations");
        let ton = CurrencyCode::ton();
        ledger
            .register_currency(&Currency {
                code: ton.clone(),
                decimals: 9,
                jetton_master: None,
            })
            .await
            .expect("currency");
        ledger
            .register_project(&Project {
                id: ProjectId(PROJECT),
                escrow: addr(7),
                currency: ton.clone(),
                client: addr(230),
            })
            .await
            .expect("project");
        ledger
            .register_vault(&Vault {
                currency: ton,
                address: addr(250),
            })
            .await
            .expect("vault");
        let clock = ManualClock::new(T0);
        let labeling = Labeling::new(
            pool.clone(),
            engine_pool,
            ledger.clone(),
            Arc::new(clock.clone()),
            background,
        );
        labeling.migrate().await.expect("labeling migrations");
        let env = Env {
            labeling,
            clock,
            pool,
            ledger,
            _db: db,
        };
        if deposit > 0 {
            env.deposit(deposit).await;
        }
        env
    }

    /// An indexed `ev_deposit` of the project's escrow, ingested by the ledger.
    pub(crate) async fn deposit(&self, amount: u128) {
        labelmint_testdb::set_chain_time(&self.pool, 2_000).await;
        let tx_hash: [u8; 32] = rand::random();
        let lt: i64 = sqlx::query_scalar("SELECT COALESCE(max(lt), 1000) + 10 FROM transactions")
            .fetch_one(&self.pool)
            .await
            .expect("lt");
        let mc: i64 = sqlx::query_scalar("SELECT COALESCE(max(mc_seqno), 0) FROM checkpoint")
            .fetch_one(&self.pool)
            .await
            .expect("mc");
        let escrow = addr(7);
        sqlx::query(
            "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno, \
                 mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, \
                 tx_kind, aborted, destroyed, out_msg_count, boc) \
             VALUES ($1, $2, $3, 0, -9223372036854775808, 1, $4, 1790000000, $5, 0, 'active', \
                 'active', 0, 'ordinary', false, false, 1, '\\x00')",
        )
        .bind(escrow.as_str())
        .bind(lt)
        .bind(tx_hash.to_vec())
        .bind(mc)
        .bind([0u8; 32].to_vec())
        .execute(&self.pool)
        .await
        .expect("transaction");
        sqlx::query(
            "INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, kind, \
                 amount, fields) \
             VALUES ($1, 0, $2, 'escrow', $3, 1790000000, $4, 'ev_deposit', $5::text::numeric, '{}')",
        )
        .bind(tx_hash.to_vec())
        .bind(escrow.as_str())
        .bind(lt)
        .bind(mc)
        .bind(amount.to_string())
        .execute(&self.pool)
        .await
        .expect("event");
        let r = self.ledger.ingest_chain_events(100).await.expect("ingest");
        assert!(r.seen >= 1, "the deposit was ingested: {r:?}");
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// Uploads `n` ordinary tasks `t00000..` as JSON lines (payload: their number).
    pub(crate) async fn upload(&self, n: usize, gold: &[(&str, &str)]) {
        let mut body = String::new();
        for i in 0..n {
            body.push_str(&format!(
                "{{\"name\":\"t{i:05}\",\"payload\":{{\"n\":{i}}}}}\n"
            ));
        }
        for (name, label) in gold {
            body.push_str(&format!(
                "{{\"name\":\"{name}\",\"payload\":{{\"n\":-1}},\"gold_label\":\"{label}\"}}\n"
            ));
        }
        let loaded = self
            .labeling
            .upload(
                PROJECT,
                labelmint_labeling::Format::JsonLines,
                body.as_bytes(),
            )
            .await
            .expect("upload");
        assert_eq!(loaded, n + gold.len());
    }

    /// The task's name.
    pub(crate) async fn name(&self, task_id: i64) -> String {
        sqlx::query_scalar("SELECT name FROM labeling_tasks WHERE id = $1")
            .bind(task_id)
            .fetch_one(&self.pool)
            .await
            .expect("name")
    }
}
