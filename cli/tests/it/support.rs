//! A seeded scratch database (the indexer's and the ledger's tables, migrated by their own
//! crates) and the `labelmint` binary run against it.

use std::process::{Command, Output};

use labelmint_ledger::{
    BatchId, BatchRequest, Currency, CurrencyCode, EarningId, Ledger, NewEarning, Project,
    ProjectId, RawAddress, Vault,
};
use labelmint_testdb::ScratchDb;
use sqlx::postgres::PgPool;

pub(crate) const TON_PROJECT: u64 = 101;
pub(crate) const USD_PROJECT: u64 = 201;
/// 1 TON in nanoTON.
pub(crate) const TON: u128 = 1_000_000_000;

/// `0:<n repeated 32 times>`.
pub(crate) fn addr(n: u8) -> RawAddress {
    RawAddress::from_parts(0, &[n; 32])
}

pub(crate) fn ann() -> RawAddress {
    addr(1)
}
pub(crate) fn ben() -> RawAddress {
    addr(2)
}
pub(crate) fn cat() -> RawAddress {
    addr(3)
}
pub(crate) fn escrow(p: u64) -> RawAddress {
    addr(p as u8)
}
pub(crate) fn vault(c: &str) -> RawAddress {
    if c == "TON" { addr(250) } else { addr(251) }
}

/// What [`Seeded::new`] made.
pub(crate) struct Seeded {
    pub(crate) url: String,
    pub(crate) ledger: Ledger,
    pub(crate) pool: PgPool,
    /// The TON batch: ann paid 0.3 TON, ben's 0.2 TON bounced (0.19 TON back).
    pub(crate) ton_batch: BatchId,
    /// The USD batch: cat's 3.25 USD, sent, valid until 1,050 (chain time is 2,000).
    pub(crate) usd_batch: BatchId,
    pub(crate) ann_earning: EarningId,
    pub(crate) ben_earning: EarningId,
    pub(crate) cat_earning: EarningId,
    /// The payout item (vault item id) that paid ann and the one that bounced ben's: ids of
    /// their own, far from the earnings' ids (the sequence is moved on first).
    pub(crate) ann_item: u64,
    pub(crate) ben_item: u64,
    next_tx: u8,
    _db: ScratchDb,
}

/// An indexed event to write.
pub(crate) struct Ev {
    pub(crate) contract: RawAddress,
    pub(crate) kind: &'static str,
    pub(crate) amount: u128,
    pub(crate) fee: Option<u128>,
    pub(crate) project_id: Option<u64>,
    pub(crate) item_id: Option<u64>,
    pub(crate) query_id: Option<u64>,
    pub(crate) from: Option<RawAddress>,
}

impl Ev {
    pub(crate) fn new(contract: RawAddress, kind: &'static str, amount: u128) -> Ev {
        Ev {
            contract,
            kind,
            amount,
            fee: None,
            project_id: None,
            item_id: None,
            query_id: None,
            from: None,
        }
    }
}

impl Seeded {
    /// Registers TON (9 decimals) and USD (6), projects 101 (TON) and 201 (USD), a vault per
    /// currency; writes a TON flow (deposit 10 TON, release 0.5 TON + 0.012 TON fee whose fee leg
    /// bounced back, the vault funded, a batch paying ann 0.3 TON and ben 0.2 TON, ben's payout
    /// bounced with 0.19 TON back), a USD deposit of 5 USD and a sent USD batch for cat
    /// (3.25 USD) that expired in chain time; ingests everything.
    pub(crate) async fn new() -> Seeded {
        let db = ScratchDb::create("labelmint_cli").await;
        let pool = db.pool(4).await;
        labelmint_indexer::store::Store::from_pool(pool.clone())
            .migrate()
            .await
            .expect("indexer migrations");
        let ledger = Ledger::from_pool(pool.clone());
        ledger.migrate().await.expect("ledger migrations");
        let ton = CurrencyCode::ton();
        let usd = CurrencyCode::new("USD").expect("USD");
        ledger
            .register_currency(&Currency {
                code: ton.clone(),
                decimals: 9,
                jetton_master: None,
            })
            .await
            .expect("TON");
        ledger
            .register_currency(&Currency {
                code: usd.clone(),
                decimals: 6,
                jetton_master: Some(addr(240)),
            })
            .await
            .expect("USD");
        for (p, c) in [(TON_PROJECT, &ton), (USD_PROJECT, &usd)] {
            ledger
                .register_project(&Project {
                    id: ProjectId(p),
                    escrow: escrow(p),
                    currency: c.clone(),
                    client: addr(230),
                })
                .await
                .expect("project");
            ledger
                .register_vault(&Vault {
                    currency: c.clone(),
                    address: vault(c.as_str()),
                })
                .await
                .expect("vault");
        }
        let mut s = Seeded {
            url: db.url.clone(),
            ledger: ledger.clone(),
            pool,
            ton_batch: BatchId(0),
            usd_batch: BatchId(0),
            ann_earning: EarningId::new(1).expect("id"),
            ben_earning: EarningId::new(1).expect("id"),
            cat_earning: EarningId::new(1).expect("id"),
            ann_item: 0,
            ben_item: 0,
            next_tx: 1,
            _db: db,
        };
        s.set_chain_time(2_000).await;
        let approve =
            |key: &str, worker: &str, to: RawAddress, project: u64, amount: u128| NewEarning {
                submission_key: key.to_owned(),
                worker: worker.to_owned(),
                payout_address: to,
                project: ProjectId(project),
                amount,
                decision_id: format!("decision-of-{key}"),
            };
        s.ann_earning = ledger
            .approve_earning(&approve("t1/s1", "ann", ann(), TON_PROJECT, 3 * TON / 10))
            .await
            .expect("ann")
            .earning_id;
        s.ben_earning = ledger
            .approve_earning(&approve("t1/s2", "ben", ben(), TON_PROJECT, 2 * TON / 10))
            .await
            .expect("ben")
            .earning_id;
        let esc = escrow(TON_PROJECT);
        let v = vault("TON");
        s.event(&Ev::new(esc.clone(), "ev_deposit", 10 * TON)).await;
        let mut release = Ev::new(esc.clone(), "ev_release", TON / 2);
        release.fee = Some(12 * TON / 1000);
        s.event(&release).await;
        let mut fee_back = Ev::new(esc.clone(), "ev_release_bounced", 12 * TON / 1000);
        fee_back.query_id = Some((2 << 32) | 1);
        s.event(&fee_back).await;
        let mut funded = Ev::new(v.clone(), "ev_vault_funded", TON / 2);
        funded.project_id = Some(TON_PROJECT);
        funded.from = Some(esc.clone());
        s.event(&funded).await;
        // Item ids are not earning ids: move the item sequence well past them.
        sqlx::query("SELECT setval('ledger_payout_item_id_seq', 5000)")
            .execute(&s.pool)
            .await
            .expect("move the item id sequence");
        let batch = ledger
            .form_batch(&BatchRequest {
                currency: ton.clone(),
                max_items: 250,
                max_total: 10 * TON,
                query_id: 77,
                created_at: 1_000,
                valid_until: 1_100,
            })
            .await
            .expect("form")
            .expect("a TON batch");
        s.ton_batch = batch.id;
        let items = ledger.batch_items(batch.id).await.expect("items");
        let item_of = |e: EarningId| {
            items
                .iter()
                .find(|i| i.earnings.contains(&e))
                .map(|i| i.item_id.get())
                .expect("an item for the earning")
        };
        s.ann_item = item_of(s.ann_earning);
        s.ben_item = item_of(s.ben_earning);
        assert!(s.ann_item > 5000 && s.ben_item > 5000);
        let _ = ledger.mark_signed(batch.id, [7; 32]).await.expect("signed");
        let mut executed = Ev::new(v.clone(), "ev_batch_executed", TON / 2);
        executed.query_id = Some(77);
        s.event(&executed).await;
        let mut bounced = Ev::new(v.clone(), "ev_payout_bounced", 19 * TON / 100);
        bounced.item_id = Some(s.ben_item);
        s.event(&bounced).await;

        s.event(&Ev::new(escrow(USD_PROJECT), "ev_deposit", 5_000_000))
            .await;
        s.cat_earning = ledger
            .approve_earning(&approve("t9/s1", "cat", cat(), USD_PROJECT, 3_250_000))
            .await
            .expect("cat")
            .earning_id;
        let usd_batch = ledger
            .form_batch(&BatchRequest {
                currency: usd,
                max_items: 250,
                max_total: 5_000_000,
                query_id: 9,
                created_at: 1_000,
                valid_until: 1_050,
            })
            .await
            .expect("form")
            .expect("a USD batch");
        s.usd_batch = usd_batch.id;
        let _ = ledger
            .mark_signed(usd_batch.id, [8; 32])
            .await
            .expect("signed");
        let _ = ledger.mark_sent(usd_batch.id, [9; 32]).await.expect("sent");
        while ledger.ingest_chain_events(100).await.expect("ingest").seen > 0 {}
        s
    }

    /// Moves the indexer's checkpoint to a new masterchain block at unix time `t`.
    pub(crate) async fn set_chain_time(&self, t: i64) {
        labelmint_testdb::set_chain_time(&self.pool, t).await;
    }

    /// Writes one event and its transaction as the indexer does for a watched contract.
    pub(crate) async fn event(&mut self, ev: &Ev) -> [u8; 32] {
        let tx_hash = [self.next_tx; 32];
        self.next_tx += 1;
        let lt = 1_000 + i64::from(self.next_tx) * 10;
        let now: i64 = 1_500 + i64::from(self.next_tx);
        sqlx::query(
            "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno, \
                 mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, \
                 tx_kind, aborted, destroyed, out_msg_count, boc) \
             VALUES ($1, $2, $3, 0, -9223372036854775808, 1, 1, $4, $5, 0, 'active', 'active', 0, \
                 'ordinary', false, false, 1, '\\x00')",
        )
        .bind(ev.contract.as_str())
        .bind(lt)
        .bind(tx_hash.to_vec())
        .bind(now)
        .bind([0u8; 32].to_vec())
        .execute(&self.pool)
        .await
        .expect("transaction");
        let fields = match &ev.from {
            Some(f) => serde_json::json!({ "from": f.as_str() }),
            None => serde_json::json!({}),
        };
        let kind = if ev.kind.starts_with("ev_vault")
            || ev.kind.starts_with("ev_batch")
            || ev.kind.starts_with("ev_payout")
        {
            "vault"
        } else {
            "escrow"
        };
        sqlx::query(
            "INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, kind, \
                 project_id, payout_item_id, query_id, amount, fee, fields) \
             VALUES ($1, 0, $2, $3, $4, $5, 1, $6, $7::text::numeric, $8::text::numeric, \
                 $9::text::numeric, $10::text::numeric, $11::text::numeric, $12)",
        )
        .bind(tx_hash.to_vec())
        .bind(ev.contract.as_str())
        .bind(kind)
        .bind(lt)
        .bind(now)
        .bind(ev.kind)
        .bind(ev.project_id.map(|v| v.to_string()))
        .bind(ev.item_id.map(|v| v.to_string()))
        .bind(ev.query_id.map(|v| v.to_string()))
        .bind(ev.amount.to_string())
        .bind(ev.fee.map(|v| v.to_string()))
        .bind(fields)
        .execute(&self.pool)
        .await
        .expect("event");
        tx_hash
    }

    /// Runs `labelmint ARGS` against this database (no colour, devnet addresses).
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        labelmint_with(args, &[("DATABASE_URL", self.url.as_str())])
    }
}

/// What the binary did.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// stdout as JSON (fails the test with stderr when it is not).
    pub(crate) fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "exit {}; stderr: {}", self.code, self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// Asserts success and returns stdout.
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "exit {}; stderr: {}", self.code, self.stderr);
        &self.stdout
    }
}

/// Runs `labelmint ARGS` with `env` (DATABASE_URL and the CLI's own variables cleared first).
pub(crate) fn labelmint_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_labelmint"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("LABELMINT_DATABASE_URL_FILE")
        .env_remove("LABELMINT_NETWORK")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("run labelmint");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
