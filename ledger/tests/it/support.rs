//! Shared test support: one real Postgres database per test (the indexer's tables and the
//! ledger's, each migrated with its own history table), registrations, and indexed chain facts
//! written the way the indexer writes them.

use labelmint_ledger::{
    ChainRef, Currency, CurrencyCode, Ledger, NewEarning, Project, ProjectId, RawAddress, Vault,
};
use labelmint_testdb::ScratchDb;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

/// A fresh database with the indexer's and the ledger's migrations applied, dropped when the
/// value is dropped (also when the test panics).
pub(crate) struct TestDb {
    pub(crate) ledger: Ledger,
    pub(crate) pool: PgPool,
    /// The database's own URL (for an indexer started on it).
    pub(crate) url: String,
    _db: ScratchDb,
}

impl TestDb {
    pub(crate) async fn new() -> TestDb {
        Self::with_connections(6).await
    }

    pub(crate) async fn with_connections(max: u32) -> TestDb {
        let db = ScratchDb::create("labelmint_ledger").await;
        let pool = db.pool(max).await;
        let url = db.url.clone();
        // The indexer's tables, with the indexer's own history table.
        labelmint_indexer::store::Store::from_pool(pool.clone())
            .migrate()
            .await
            .expect("indexer migrations");
        let ledger = Ledger::from_pool(pool.clone());
        ledger.migrate().await.expect("ledger migrations");
        TestDb {
            ledger,
            pool,
            url,
            _db: db,
        }
    }

    /// A fresh database whose ledger migrations stop at `version` (a database made by an
    /// earlier release); `finish` applies the rest.
    pub(crate) async fn at_ledger_version(version: i64) -> TestDb {
        let db = ScratchDb::create("labelmint_ledger").await;
        let pool = db.pool(6).await;
        let url = db.url.clone();
        labelmint_indexer::store::Store::from_pool(pool.clone())
            .migrate()
            .await
            .expect("indexer migrations");
        labelmint_ledger::migrator()
            .run_to(version, &pool)
            .await
            .expect("ledger migrations up to the version");
        TestDb {
            ledger: Ledger::from_pool(pool.clone()),
            pool,
            url,
            _db: db,
        }
    }

    /// Applies the remaining ledger migrations.
    pub(crate) async fn finish(&self) {
        self.ledger.migrate().await.expect("ledger migrations");
    }

    /// `SELECT count(*) FROM <table> [WHERE ...]`.
    pub(crate) async fn count(&self, from_where: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {from_where}")))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// Writes a masterchain block at unix time `t` and moves the indexer's checkpoint to it, as
    /// the indexer does when it commits a block: the ledger's "indexed chain time".
    pub(crate) async fn set_chain_time(&self, t: u32) -> u32 {
        labelmint_testdb::set_chain_time(&self.pool, i64::from(t)).await as u32
    }

    /// Writes one event (and its transaction) as the indexer would for a watched contract.
    pub(crate) async fn insert_event(&self, ev: &Ev) -> ChainRef {
        let tx_hash: [u8; 32] = rand::random();
        let lt: i64 = sqlx::query_scalar("SELECT COALESCE(max(lt), 1000) + 10 FROM transactions")
            .fetch_one(&self.pool)
            .await
            .expect("lt");
        let mc: i64 = sqlx::query_scalar("SELECT COALESCE(max(mc_seqno), 0) FROM checkpoint")
            .fetch_one(&self.pool)
            .await
            .expect("mc");
        let now: i64 = 1_790_000_000;
        sqlx::query(
            "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno, \
                 mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, \
                 tx_kind, aborted, destroyed, out_msg_count, boc) \
             VALUES ($1, $2, $3, 0, -9223372036854775808, 1, $4, $5, $6, 0, 'active', 'active', 0, \
                 'ordinary', false, false, 1, '\\x00')",
        )
        .bind(ev.contract.as_str())
        .bind(lt)
        .bind(tx_hash.to_vec())
        .bind(mc)
        .bind(now)
        .bind([0u8; 32].to_vec())
        .execute(&self.pool)
        .await
        .expect("transaction");
        let fields = serde_json_fields(ev);
        sqlx::query(
            "INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, kind, \
                 project_id, payout_item_id, query_id, amount, fee, balance_after, fields) \
             VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8::text::numeric, $9::text::numeric, \
                 $10::text::numeric, $11::text::numeric, $12::text::numeric, $14::text::numeric, $13::jsonb)",
        )
        .bind(tx_hash.to_vec())
        .bind(ev.contract.as_str())
        .bind(if ev.kind.starts_with("ev_vault") || ev.kind.starts_with("ev_batch") || ev.kind.starts_with("ev_payout") { "vault" } else { "escrow" })
        .bind(lt)
        .bind(now)
        .bind(mc)
        .bind(ev.kind)
        .bind(ev.project_id.map(|v| v.to_string()))
        .bind(ev.item_id.map(|v| v.to_string()))
        .bind(ev.query_id.map(|v| v.to_string()))
        .bind(ev.amount.map(|v| v.to_string()))
        .bind(ev.fee.map(|v| v.to_string()))
        .bind(fields)
        .bind(ev.balance_after.map(|v| v.to_string()))
        .execute(&self.pool)
        .await
        .expect("event");
        ChainRef {
            tx_hash,
            msg_idx: 0,
            lt: lt as u64,
            now: now as u32,
        }
    }
}

fn serde_json_fields(ev: &Ev) -> String {
    match &ev.from {
        Some(f) => format!("{{\"from\": \"{f}\"}}"),
        None => "{}".to_owned(),
    }
}

/// An indexed event to write.
#[derive(Debug, Clone)]
pub(crate) struct Ev {
    pub(crate) contract: RawAddress,
    pub(crate) kind: &'static str,
    pub(crate) project_id: Option<u64>,
    pub(crate) item_id: Option<u64>,
    pub(crate) query_id: Option<u64>,
    pub(crate) amount: Option<u128>,
    pub(crate) fee: Option<u128>,
    pub(crate) from: Option<String>,
    pub(crate) balance_after: Option<u128>,
}

impl Ev {
    /// An event of `kind` by `contract` with `amount`; other columns NULL.
    pub(crate) fn new(contract: RawAddress, kind: &'static str, amount: u128) -> Ev {
        Ev {
            contract,
            kind,
            project_id: None,
            item_id: None,
            query_id: None,
            amount: Some(amount),
            fee: None,
            from: None,
            balance_after: None,
        }
    }
}

/// `0:<n repeated 32 times>`.
pub(crate) fn addr(n: u8) -> RawAddress {
    RawAddress::from_parts(0, &[n; 32])
}

pub(crate) const TON_PROJECT: ProjectId = ProjectId(101);
pub(crate) const TON_PROJECT_2: ProjectId = ProjectId(102);
pub(crate) const USD_PROJECT: ProjectId = ProjectId(201);

pub(crate) fn ton() -> CurrencyCode {
    CurrencyCode::ton()
}

pub(crate) fn usd() -> CurrencyCode {
    CurrencyCode::new("USD").expect("code")
}

pub(crate) fn escrow_of(p: ProjectId) -> RawAddress {
    addr(p.0 as u8)
}

pub(crate) fn vault_of(c: &CurrencyCode) -> RawAddress {
    if c.as_str() == "TON" {
        addr(250)
    } else {
        addr(251)
    }
}

/// TON and USD, projects 101, 102 (TON) and 201 (USD), one vault per currency.
pub(crate) async fn register_all(l: &Ledger) {
    l.register_currency(&Currency {
        code: ton(),
        decimals: 9,
        jetton_master: None,
    })
    .await
    .expect("TON");
    l.register_currency(&Currency {
        code: usd(),
        decimals: 6,
        jetton_master: Some(addr(240)),
    })
    .await
    .expect("USD");
    for (p, c) in [
        (TON_PROJECT, ton()),
        (TON_PROJECT_2, ton()),
        (USD_PROJECT, usd()),
    ] {
        l.register_project(&Project {
            id: p,
            escrow: escrow_of(p),
            currency: c,
            client: addr(230),
        })
        .await
        .expect("project");
    }
    for c in [ton(), usd()] {
        l.register_vault(&Vault {
            address: vault_of(&c),
            currency: c,
        })
        .await
        .expect("vault");
    }
}

/// An earning of `project` for `worker`.
pub(crate) fn earning(key: &str, worker: &str, project: ProjectId, amount: u128) -> NewEarning {
    NewEarning {
        submission_key: key.to_owned(),
        worker: worker.to_owned(),
        payout_address: addr(1),
        project,
        amount,
        decision_id: format!("decision-of-{key}"),
    }
}
