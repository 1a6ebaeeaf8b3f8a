//! Chain facts into the journal: reads the indexer's `events` of registered escrows and vaults
//! that the ledger has not taken in yet, and posts each as one journal entry keyed
//! `chain:<tx hash hex>:<msg idx>`, together with its side effects (a batch confirmed by
//! `ev_batch_executed`, an earning approved again by `ev_payout_bounced` or by a payout the
//! recipient's jetton wallet refused). A chunk of events is one transaction under an advisory
//! lock, and each event is recorded in `ledger_chain_events`, so concurrent or repeated runs
//! handle it exactly once, in chain order.
//!
//! `jetton_transfer_bounced` is the indexer's own fact (not a contract event): a jetton transfer
//! of the vault or of an escrow that the recipient's jetton wallet refused (a USDT wallet locked
//! by its admin) bounced back to the contract's jetton wallet, which took the tokens back without
//! telling the contract. The contract's books still count them as paid, so they are posted to
//! `vault_jetton_wallet_unbooked:C` / `escrow_jetton_wallet_unbooked:P` until the contract's
//! jetton recovery (`ev_jetton_recovered`, amount X) books them again. The TEP-74 query id names
//! what bounced: the payout item id (vault), `(leg << 32) | seqno` (escrow).
//!
//! | event | lines (debit +, credit -) |
//! |---|---|
//! | ev_deposit A | escrow:P +A, client:P -A |
//! | ev_release A, fee F | escrow:P -(A+F), transit:P +A, treasury:C +F, client:P +F, fees:C -F |
//! | ev_release_bounced A, leg 1 (vault) | escrow:P +A, transit:P -A |
//! | ev_release_bounced A, leg 2 (fee) | escrow:P +A, treasury:C -A, fees:C +A, client:P -A |
//! | ev_refund A | escrow:P -A, client:P +A |
//! | ev_refund_bounced A | escrow:P +A, client:P -A |
//! | ev_vault_funded A from escrow of P | vault:C +A, transit:P -A |
//! | ev_vault_funded A from anyone else | vault:C +A, funders:C -A |
//! | ev_batch_executed T (known batch) | vault:C -T, payable:W +a per item (+ suspense:C for a difference) |
//! | ev_batch_executed T (unknown or expired batch) | vault:C -T, suspense:C +T, and an anomaly |
//! | ev_payout_bounced b of item a | vault:C +b, payable:W -a, bounce_costs:C +(a-b) |
//! | jetton_transfer_bounced A of item a (vault) | vault_jetton_wallet_unbooked:C +A, payable:W -a (earning approved again, reason `recipient_wallet_refused`; A != a: the difference to suspense:C + anomaly) |
//! | jetton_transfer_bounced A, leg 1 (escrow -> vault) | escrow_jetton_wallet_unbooked:P +A, transit:P -A |
//! | jetton_transfer_bounced A, leg 2 (fee -> treasury) | escrow_jetton_wallet_unbooked:P +A, treasury:C -A, fees:C +A, client:P -A |
//! | jetton_transfer_bounced A, leg 3 (refund -> client) | escrow_jetton_wallet_unbooked:P +A, client:P -A |
//! | ev_jetton_recovered X (vault), U unbooked | vault:C +X, vault_jetton_wallet_unbooked:C -min(X,U), funders:C -(X-min(X,U)) |
//! | ev_jetton_recovered X (escrow), U unbooked | escrow:P +X, escrow_jetton_wallet_unbooked:P -min(X,U), client:P -(X-min(X,U)) |
//! | ev_gas_topped_up A of a TON vault | vault:C +A, funders:C -A (a TON vault pays payouts and fees from one balance: the float covers, e.g., what a bounced payout lost in fees when the earnings are paid again) |
//! | ev_closed, ev_jetton_wallet_learned, ev_admin_change, ev_admin_change_proposed, ev_admin_change_cancelled, ev_gas_topped_up of a jetton vault (TON, not its currency), ev_jetton_recovery_failed | none (ignored) |
//!
//! Recovered beyond what bounced (X > U): tokens that reached the contract's jetton wallet
//! without a notification. At the vault they are funding by someone (`funders`); at an escrow
//! they are the client's (a deposit sent with too little forward TON), so they join the budget
//! as a deposit would.

use std::collections::HashMap;

use sqlx::postgres::PgRow;
use sqlx::{Acquire, PgConnection, Row};

use crate::Ledger;
use crate::batches::{bounce_in, confirm_in};
use crate::error::{Error, Result};
use crate::journal::{Account, EntryKind, NewEntry, balance_in, post};
use crate::model::BounceReason;
use crate::num::{parse_u64, parse_u128};
use crate::state::BatchState;
use crate::types::{BatchId, ChainRef, CurrencyCode, ItemId, ProjectId, RawAddress};

/// The advisory lock key held by each event's transaction (`'LMLG'` as an integer).
const INGEST_LOCK_KEY: i64 = 0x4C4D_4C47;

/// The indexer's fact for a jetton transfer refused by the recipient's wallet (see the module
/// docs; `labelmint_indexer::model::JETTON_TRANSFER_BOUNCED`).
pub(crate) const JETTON_TRANSFER_BOUNCED: &str = "jetton_transfer_bounced";

/// What one [`Ledger::ingest_chain_events`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Events taken in (posted + ignored + anomalies).
    pub seen: usize,
    /// Events posted as journal entries.
    pub posted: usize,
    /// Events that move no money (ev_closed, admin changes, ...).
    pub ignored: usize,
    /// Events the ledger could not attribute (see [`Ledger::anomalies`]); those that moved money
    /// are posted against `suspense:<currency>`.
    pub anomalies: usize,
    /// Batches confirmed by an `ev_batch_executed`.
    pub batches_confirmed: usize,
    /// Earnings approved again by an `ev_payout_bounced`.
    pub items_bounced: usize,
    /// Earnings approved again because the recipient's jetton wallet refused the payout
    /// (`jetton_transfer_bounced` of a vault).
    pub items_refused: usize,
}

/// A recorded anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// Its id.
    pub id: i64,
    /// `unknown_batch`, `executed_after_expiry`, `confirm_refused`, `confirm_evidence_differs`,
    /// `batch_total_mismatch`, `unknown_item`, `bounce_refused`, `bounce_above_amount`,
    /// `refused_amount_differs`, `unknown_leg`.
    pub kind: String,
    /// What happened, for a person.
    pub detail: String,
    /// The event's transaction, if any.
    pub tx_hash: Option<[u8; 32]>,
}

/// One indexed event.
struct Ev {
    chain: ChainRef,
    contract: RawAddress,
    kind: String,
    project_id: Option<u64>,
    payout_item_id: Option<u64>,
    query_id: Option<u64>,
    amount: u128,
    fee: u128,
    from: Option<String>,
}

enum Source {
    Escrow {
        project: ProjectId,
        currency: CurrencyCode,
    },
    Vault {
        currency: CurrencyCode,
    },
}

/// The registered contracts, read once per chunk.
struct Registrations {
    /// escrow address -> (project, currency)
    escrows: HashMap<String, (ProjectId, CurrencyCode)>,
    /// project id -> (escrow, currency)
    projects: HashMap<u64, (RawAddress, CurrencyCode)>,
    /// vault address -> currency
    vaults: HashMap<String, CurrencyCode>,
    /// The vaults that pay in TON itself (their currency has no jetton master).
    ton_vaults: std::collections::HashSet<String>,
}

impl Registrations {
    async fn load(conn: &mut PgConnection) -> Result<Self> {
        let mut regs = Registrations {
            escrows: HashMap::new(),
            projects: HashMap::new(),
            vaults: HashMap::new(),
            ton_vaults: std::collections::HashSet::new(),
        };
        for r in sqlx::query(
            "SELECT project_id::text AS project_id, escrow, currency FROM ledger_projects",
        )
        .fetch_all(&mut *conn)
        .await?
        {
            let id = parse_u64("project id", &r.try_get::<String, _>("project_id")?)?;
            let escrow = RawAddress::parse(&r.try_get::<String, _>("escrow")?)?;
            let currency = CurrencyCode::new(&r.try_get::<String, _>("currency")?)?;
            regs.escrows
                .insert(escrow.to_string(), (ProjectId(id), currency.clone()));
            regs.projects.insert(id, (escrow, currency));
        }
        for r in sqlx::query(
            "SELECT v.address, v.currency, c.jetton_master IS NULL AS ton \
             FROM ledger_vaults v JOIN ledger_currencies c ON c.code = v.currency",
        )
        .fetch_all(&mut *conn)
        .await?
        {
            let address: String = r.try_get("address")?;
            if r.try_get::<bool, _>("ton")? {
                regs.ton_vaults.insert(address.clone());
            }
            regs.vaults.insert(
                address,
                CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
            );
        }
        Ok(regs)
    }
}

enum Outcome {
    Posted,
    Ignored,
    Anomaly,
}

impl Ledger {
    /// Takes in up to `limit` indexed events of registered escrows and vaults that the ledger
    /// has not seen, oldest first (masterchain block, lt, message index). Call it until
    /// `seen < limit` to catch up. Needs the indexer's tables ([`Error::IndexerMissing`]).
    pub async fn ingest_chain_events(&self, limit: u32) -> Result<IngestReport> {
        let mut report = IngestReport::default();
        // One chunk, one transaction, under a transaction-level advisory lock: concurrent
        // ingesters take turns, so events are handled exactly once and in chain order (a bounce
        // after the batch that paid it); a failure rolls the whole chunk back for a retry.
        let mut tx = self.pool.begin().await?;
        crate::batches::indexed_chain_time(&mut tx).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INGEST_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        let regs = Registrations::load(&mut tx).await?;
        let rows = sqlx::query(
            "SELECT e.tx_hash, e.msg_idx, e.contract, e.lt, e.now, e.kind, \
                    e.project_id::text AS project_id, e.payout_item_id::text AS payout_item_id, \
                    e.query_id::text AS query_id, COALESCE(e.amount, 0)::text AS amount, \
                    COALESCE(e.fee, 0)::text AS fee, e.fields->>'from' AS from_addr \
             FROM events e \
             WHERE (e.contract IN (SELECT escrow FROM ledger_projects) \
                    OR e.contract IN (SELECT address FROM ledger_vaults)) \
               AND NOT EXISTS (SELECT 1 FROM ledger_chain_events c \
                               WHERE c.tx_hash = e.tx_hash AND c.msg_idx = e.msg_idx) \
             ORDER BY e.mc_seqno, e.lt, e.msg_idx LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let ev = ev_of(row)?;
            let (outcome, entry) = handle(&mut tx, &regs, &ev, &mut report).await?;
            let outcome = match outcome {
                Outcome::Posted => {
                    report.posted += 1;
                    "posted"
                }
                Outcome::Ignored => {
                    report.ignored += 1;
                    "ignored"
                }
                Outcome::Anomaly => {
                    report.anomalies += 1;
                    "anomaly"
                }
            };
            // Under the lock and the anti-join above, the event cannot be there yet; if it is,
            // something wrote around the lock: refuse the chunk rather than guess.
            let recorded = sqlx::query(
                "INSERT INTO ledger_chain_events \
                     (tx_hash, msg_idx, kind, contract, outcome, entry_id) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(ev.chain.tx_hash.to_vec())
            .bind(i32::from(ev.chain.msg_idx))
            .bind(&ev.kind)
            .bind(ev.contract.as_str())
            .bind(outcome)
            .bind(entry)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if recorded != 1 {
                return Err(Error::corrupt(
                    "ledger_chain_events",
                    format!(
                        "{key} was recorded by another writer",
                        key = hex::encode(ev.chain.tx_hash)
                    ),
                ));
            }
            report.seen += 1;
        }
        tx.commit().await?;
        if report.seen > 0 {
            tracing::info!(?report, "chain events ingested");
        }
        Ok(report)
    }

    /// The anomalies recorded so far, oldest first.
    pub async fn anomalies(&self) -> Result<Vec<Anomaly>> {
        let rows =
            sqlx::query("SELECT id, kind, detail, tx_hash FROM ledger_anomalies ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Anomaly {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    detail: r.try_get("detail")?,
                    tx_hash: crate::num::hash32("tx_hash", r.try_get("tx_hash")?)?,
                })
            })
            .collect()
    }
}

async fn handle(
    tx: &mut PgConnection,
    regs: &Registrations,
    ev: &Ev,
    report: &mut IngestReport,
) -> Result<(Outcome, Option<i64>)> {
    let source = if let Some((project, currency)) = regs.escrows.get(ev.contract.as_str()) {
        Source::Escrow {
            project: *project,
            currency: currency.clone(),
        }
    } else if let Some(currency) = regs.vaults.get(ev.contract.as_str()) {
        Source::Vault {
            currency: currency.clone(),
        }
    } else {
        return Ok((Outcome::Ignored, None));
    };
    let a = amount_i128(ev.amount)?;
    let f = amount_i128(ev.fee)?;
    let key = format!(
        "chain:{}:{}",
        hex::encode(ev.chain.tx_hash),
        ev.chain.msg_idx
    );
    let mut anomaly = false;
    let entry = match (&source, ev.kind.as_str()) {
        (
            Source::Escrow {
                project: p,
                currency: c,
            },
            kind,
        ) => {
            let p = *p;
            let base = |k| {
                let mut e = NewEntry::new(key.clone(), k, c);
                e.project = Some(p);
                e
            };
            match kind {
                "ev_deposit" => base(EntryKind::Deposit)
                    .line(Account::Escrow(p), a)
                    .line(Account::Client(p), -a),
                "ev_release" => base(EntryKind::Release)
                    .line(Account::Escrow(p), -(a + f))
                    .line(Account::Transit(p), a)
                    .line(Account::Treasury(c.clone()), f)
                    .line(Account::Client(p), f)
                    .line(Account::Fees(c.clone()), -f),
                "ev_release_bounced" => {
                    let leg = ev.query_id.map(|q| q >> 32);
                    match leg {
                        Some(1) => base(EntryKind::ReleaseBounced)
                            .line(Account::Escrow(p), a)
                            .line(Account::Transit(p), -a),
                        Some(2) => base(EntryKind::ReleaseBounced)
                            .line(Account::Escrow(p), a)
                            .line(Account::Treasury(c.clone()), -a)
                            .line(Account::Fees(c.clone()), a)
                            .line(Account::Client(p), -a),
                        _ => {
                            anomaly = true;
                            record_anomaly(
                                tx,
                                "unknown_leg",
                                &format!("ev_release_bounced with query id {:?}", ev.query_id),
                                ev,
                                None,
                            )
                            .await?;
                            base(EntryKind::ReleaseBounced)
                                .line(Account::Escrow(p), a)
                                .line(Account::Suspense(c.clone()), -a)
                        }
                    }
                }
                "ev_refund" => base(EntryKind::Refund)
                    .line(Account::Escrow(p), -a)
                    .line(Account::Client(p), a),
                "ev_refund_bounced" => base(EntryKind::RefundBounced)
                    .line(Account::Escrow(p), a)
                    .line(Account::Client(p), -a),
                JETTON_TRANSFER_BOUNCED => {
                    // The tokens of leg L are back in the escrow's jetton wallet, off its books:
                    // undo what the leg's entry credited to its recipient.
                    let held = Account::EscrowJettonWalletUnbooked(p);
                    let e = base(EntryKind::JettonTransferBounced).line(held, a);
                    match ev.query_id.map(|q| q >> 32) {
                        Some(1) => e.line(Account::Transit(p), -a),
                        Some(2) => e
                            .line(Account::Treasury(c.clone()), -a)
                            .line(Account::Fees(c.clone()), a)
                            .line(Account::Client(p), -a),
                        Some(3) => e.line(Account::Client(p), -a),
                        _ => {
                            anomaly = true;
                            record_anomaly(
                                tx,
                                "unknown_leg",
                                &format!("jetton_transfer_bounced with query id {:?}", ev.query_id),
                                ev,
                                None,
                            )
                            .await?;
                            e.line(Account::Suspense(c.clone()), -a)
                        }
                    }
                }
                "ev_jetton_recovered" => {
                    let held = Account::EscrowJettonWalletUnbooked(p);
                    let unbooked = balance_in(tx, &held, c).await?.max(0);
                    let from_bounces = a.min(unbooked);
                    base(EntryKind::JettonRecovered)
                        .line(Account::Escrow(p), a)
                        .line(held, -from_bounces)
                        .line(Account::Client(p), -(a - from_bounces))
                }
                "ev_closed" => {
                    // Moves no money; the project is closed.
                    crate::closing::mark_closed(tx, p, &ev.chain).await?;
                    return Ok((Outcome::Ignored, None));
                }
                _ => return Ok((Outcome::Ignored, None)),
            }
        }
        (Source::Vault { currency: c }, "ev_vault_funded") => {
            let funder = match (ev.project_id, ev.from.as_deref()) {
                (Some(pid), Some(from)) => {
                    let from = RawAddress::parse(from).ok();
                    match regs.projects.get(&pid) {
                        Some((escrow, currency))
                            if Some(escrow) == from.as_ref() && currency == c =>
                        {
                            Some(ProjectId(pid))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            let mut e = NewEntry::new(key.clone(), EntryKind::VaultFunded, c)
                .line(Account::Vault(c.clone()), a);
            match funder {
                Some(p) => {
                    e.project = Some(p);
                    e.line(Account::Transit(p), -a)
                }
                None => e.line(Account::Funders(c.clone()), -a),
            }
        }
        (Source::Vault { currency: c }, "ev_batch_executed") => {
            let (e, a2) = batch_executed(tx, ev, c, key.clone(), a, report).await?;
            anomaly = a2;
            e
        }
        (Source::Vault { currency: c }, "ev_payout_bounced") => {
            let (e, a2) = payout_bounced(tx, ev, c, key.clone(), a, report).await?;
            anomaly = a2;
            e
        }
        (Source::Vault { currency: c }, JETTON_TRANSFER_BOUNCED) => {
            let (e, a2) = payout_refused(tx, ev, c, key.clone(), a, report).await?;
            anomaly = a2;
            e
        }
        (Source::Vault { currency: c }, "ev_jetton_recovered") => {
            let held = Account::VaultJettonWalletUnbooked(c.clone());
            let unbooked = balance_in(tx, &held, c).await?.max(0);
            let from_bounces = a.min(unbooked);
            NewEntry::new(key.clone(), EntryKind::JettonRecovered, c)
                .line(Account::Vault(c.clone()), a)
                .line(held, -from_bounces)
                .line(Account::Funders(c.clone()), -(a - from_bounces))
        }
        (Source::Vault { currency: c }, "ev_gas_topped_up")
            if regs.ton_vaults.contains(ev.contract.as_str()) =>
        {
            // A TON vault pays payouts and fees from one balance: its float is money the
            // vault holds (it pays, e.g., what a bounced payout lost in fees when the earning
            // is paid again), provided by whoever topped it up.
            NewEntry::new(key.clone(), EntryKind::GasToppedUp, c)
                .line(Account::Vault(c.clone()), a)
                .line(Account::Funders(c.clone()), -a)
        }
        (Source::Vault { .. }, _) => return Ok((Outcome::Ignored, None)),
    };
    if entry.lines.is_empty() {
        // A zero-amount event moves nothing.
        return Ok((Outcome::Ignored, None));
    }
    let mut entry = entry;
    entry.chain = Some(ev.chain);
    entry.memo = ev.kind.clone();
    let id = match post(tx, &entry).await? {
        Some(id) => Some(id),
        None => {
            sqlx::query_scalar("SELECT id FROM ledger_journal_entries WHERE key = $1")
                .bind(&entry.key)
                .fetch_optional(&mut *tx)
                .await?
        }
    };
    Ok((
        if anomaly {
            Outcome::Anomaly
        } else {
            Outcome::Posted
        },
        id,
    ))
}

async fn batch_executed(
    tx: &mut PgConnection,
    ev: &Ev,
    c: &CurrencyCode,
    key: String,
    total: i128,
    report: &mut IngestReport,
) -> Result<(NewEntry, bool)> {
    let mut entry =
        NewEntry::new(key, EntryKind::BatchExecuted, c).line(Account::Vault(c.clone()), -total);
    let batch = match ev.query_id {
        Some(q) => crate::batches::batch_by_query_id_in(tx, &ev.contract, q).await?,
        None => None,
    };
    let Some(batch) = batch else {
        record_anomaly(
            tx,
            "unknown_batch",
            &format!(
                "vault executed query id {:?}, unknown to the ledger",
                ev.query_id
            ),
            ev,
            None,
        )
        .await?;
        return Ok((entry.line(Account::Suspense(c.clone()), total), true));
    };
    entry.batch = Some(batch.id);
    if batch.state == BatchState::Expired {
        record_anomaly(
            tx,
            "executed_after_expiry",
            &format!("batch {} executed on chain after it was expired", batch.id),
            ev,
            Some(batch.id),
        )
        .await?;
        return Ok((entry.line(Account::Suspense(c.clone()), total), true));
    }
    let mut anomaly = false;
    let mut sp = tx.begin().await?;
    match confirm_in(&mut sp, batch.id, &ev.chain).await {
        Ok(t) => {
            sp.commit().await?;
            if t == crate::Transition::Applied {
                report.batches_confirmed += 1;
            }
        }
        Err(Error::Db(e)) => return Err(Error::Db(e)),
        Err(Error::EvidenceConflict { .. }) => {
            // Confirmed earlier (mark_confirmed) with another transaction: the chain's
            // payment still stands, so the items are posted; a person checks the evidence.
            sp.rollback().await?;
            anomaly = true;
            record_anomaly(
                tx,
                "confirm_evidence_differs",
                &format!("batch {} was confirmed with another transaction", batch.id),
                ev,
                Some(batch.id),
            )
            .await?;
        }
        Err(e) => {
            sp.rollback().await?;
            record_anomaly(
                tx,
                "confirm_refused",
                &format!("batch {}: {e}", batch.id),
                ev,
                Some(batch.id),
            )
            .await?;
            return Ok((entry.line(Account::Suspense(c.clone()), total), true));
        }
    }
    let rows = sqlx::query(
        "SELECT worker, amount::text AS amount FROM ledger_payout_items \
         WHERE batch_id = $1 AND outcome <> 'expired' ORDER BY position",
    )
    .bind(batch.id.0)
    .fetch_all(&mut *tx)
    .await?;
    let mut sum: i128 = 0;
    for r in &rows {
        let amt = amount_i128(parse_u128("amount", &r.try_get::<String, _>("amount")?)?)?;
        sum += amt;
        entry = entry.line(Account::Payable(r.try_get("worker")?), amt);
    }
    if sum != total {
        anomaly = true;
        record_anomaly(
            tx,
            "batch_total_mismatch",
            &format!(
                "batch {}: items sum to {sum}, the chain paid {total}",
                batch.id
            ),
            ev,
            Some(batch.id),
        )
        .await?;
        entry = entry.line(Account::Suspense(c.clone()), total - sum);
    }
    Ok((entry, anomaly))
}

/// A vault payout whose recipient's jetton wallet refused it: the tokens (`back`) are in the
/// vault's jetton wallet, off the vault's books; the earning is owed again.
async fn payout_refused(
    tx: &mut PgConnection,
    ev: &Ev,
    c: &CurrencyCode,
    key: String,
    back: i128,
    report: &mut IngestReport,
) -> Result<(NewEntry, bool)> {
    let entry = NewEntry::new(key, EntryKind::JettonTransferBounced, c)
        .line(Account::VaultJettonWalletUnbooked(c.clone()), back);
    item_came_back(
        tx,
        ev,
        c,
        entry,
        back,
        BounceReason::RecipientWalletRefused,
        report,
    )
    .await
}

async fn payout_bounced(
    tx: &mut PgConnection,
    ev: &Ev,
    c: &CurrencyCode,
    key: String,
    back: i128,
    report: &mut IngestReport,
) -> Result<(NewEntry, bool)> {
    let entry =
        NewEntry::new(key, EntryKind::PayoutBounced, c).line(Account::Vault(c.clone()), back);
    item_came_back(tx, ev, c, entry, back, BounceReason::PayoutBounced, report).await
}

/// The paid item `ev.payout_item_id` came back: every earning of it is owed again. `entry`
/// already holds the line of where `back` now is; this adds payable:W -a (a = the item's
/// amount, the sum of its earnings, all of worker W) and books the difference (a TON bounce
/// loses network fees: bounce costs; a refused jetton transfer comes back whole, so any
/// difference is an anomaly).
async fn item_came_back(
    tx: &mut PgConnection,
    ev: &Ev,
    c: &CurrencyCode,
    mut entry: NewEntry,
    back: i128,
    reason: BounceReason,
    report: &mut IngestReport,
) -> Result<(NewEntry, bool)> {
    let Some(Ok(item)) = ev.payout_item_id.map(ItemId::new) else {
        let detail = format!(
            "bounce of item {:?}, unknown to the ledger",
            ev.payout_item_id
        );
        record_anomaly(tx, "unknown_item", &detail, ev, None).await?;
        return Ok((entry.line(Account::Suspense(c.clone()), -back), true));
    };
    let mut sp = tx.begin().await?;
    let found = match bounce_in(
        &mut sp,
        item,
        Some(&ev.contract),
        &ev.chain,
        Some(ev.amount),
        reason,
    )
    .await
    {
        Ok((t, found)) if &found.currency == c => {
            sp.commit().await?;
            if t == crate::Transition::Applied {
                match reason {
                    BounceReason::PayoutBounced => report.items_bounced += 1,
                    BounceReason::RecipientWalletRefused => report.items_refused += 1,
                }
            }
            found
        }
        Ok((_, found)) => {
            sp.rollback().await?;
            let detail = format!(
                "bounce of item {item} in {c}: the ledger's item is in {}",
                found.currency
            );
            record_anomaly(tx, "unknown_item", &detail, ev, None).await?;
            return Ok((entry.line(Account::Suspense(c.clone()), -back), true));
        }
        Err(Error::Db(e)) => return Err(Error::Db(e)),
        Err(Error::UnknownItem(_)) => {
            sp.rollback().await?;
            let detail = format!("bounce of item {item}, unknown to the ledger for this vault");
            record_anomaly(tx, "unknown_item", &detail, ev, None).await?;
            return Ok((entry.line(Account::Suspense(c.clone()), -back), true));
        }
        Err(e) => {
            sp.rollback().await?;
            record_anomaly(tx, "bounce_refused", &format!("item {item}: {e}"), ev, None).await?;
            return Ok((entry.line(Account::Suspense(c.clone()), -back), true));
        }
    };
    entry.batch = Some(found.batch);
    if let [only] = found.earnings.as_slice() {
        entry.earning = Some(*only);
    }
    let owed = amount_i128(found.amount)?;
    entry = entry.line(Account::Payable(found.worker.clone()), -owed);
    let mut anomaly = false;
    if reason == BounceReason::RecipientWalletRefused {
        if back != owed {
            anomaly = true;
            record_anomaly(
                tx,
                "refused_amount_differs",
                &format!(
                    "item {item}: the recipient's wallet refused {back}, the item paid {owed}"
                ),
                ev,
                None,
            )
            .await?;
            entry = entry.line(Account::Suspense(c.clone()), owed - back);
        }
    } else if back <= owed {
        entry = entry.line(Account::BounceCosts(c.clone()), owed - back);
    } else {
        anomaly = true;
        record_anomaly(
            tx,
            "bounce_above_amount",
            &format!("item {item}: {back} came back for {owed} paid"),
            ev,
            None,
        )
        .await?;
        entry = entry.line(Account::Suspense(c.clone()), owed - back);
    }
    Ok((entry, anomaly))
}

async fn record_anomaly(
    tx: &mut PgConnection,
    kind: &str,
    detail: &str,
    ev: &Ev,
    batch: Option<BatchId>,
) -> Result<()> {
    tracing::warn!(kind, detail, tx = %hex::encode(ev.chain.tx_hash), "ledger anomaly");
    sqlx::query(
        "INSERT INTO ledger_anomalies (kind, detail, tx_hash, msg_idx, batch_id, earning_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(detail)
    .bind(ev.chain.tx_hash.to_vec())
    .bind(i32::from(ev.chain.msg_idx))
    .bind(batch.map(|b| b.0))
    .bind(ev.payout_item_id.and_then(|i| i64::try_from(i).ok()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn amount_i128(v: u128) -> Result<i128> {
    i128::try_from(v).map_err(|_| Error::corrupt("amount", v.to_string()))
}

fn ev_of(r: &PgRow) -> Result<Ev> {
    let opt_u64 = |col: &'static str| -> Result<Option<u64>> {
        r.try_get::<Option<String>, _>(col)?
            .map(|s| parse_u64(col, &s))
            .transpose()
    };
    let tx_hash: Vec<u8> = r.try_get("tx_hash")?;
    let msg_idx: i32 = r.try_get("msg_idx")?;
    let lt: i64 = r.try_get("lt")?;
    let now: i64 = r.try_get("now")?;
    Ok(Ev {
        chain: ChainRef {
            tx_hash: <[u8; 32]>::try_from(tx_hash.as_slice())
                .map_err(|_| Error::corrupt("events.tx_hash", hex::encode(&tx_hash)))?,
            msg_idx: u16::try_from(msg_idx)
                .map_err(|_| Error::corrupt("events.msg_idx", msg_idx.to_string()))?,
            lt: u64::try_from(lt).map_err(|_| Error::corrupt("events.lt", lt.to_string()))?,
            now: crate::num::u32_of("events.now", now)?,
        },
        contract: RawAddress::parse(&r.try_get::<String, _>("contract")?)?,
        kind: r.try_get("kind")?,
        project_id: opt_u64("project_id")?,
        payout_item_id: opt_u64("payout_item_id")?,
        query_id: opt_u64("query_id")?,
        amount: parse_u128("amount", &r.try_get::<String, _>("amount")?)?,
        fee: parse_u128("fee", &r.try_get::<String, _>("fee")?)?,
        from: r.try_get("from_addr")?,
    })
}
