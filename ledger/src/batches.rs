//! Payout batches: formation (oldest approved earnings first, `FOR UPDATE SKIP LOCKED`, safe
//! under concurrent settlers) and every state transition, each guarded twice: the Rust table in
//! [`crate::state`] and `UPDATE ... WHERE state = <expected>` (plus the migration's triggers).

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::Ledger;
use crate::error::{Error, Result};
use crate::model::{Batch, BatchItem, BatchRequest, BounceReason, ItemBounce, ItemOutcome};
use crate::num::{check_amount, hash32, parse_u64, parse_u128, u32_of};
use crate::state::{BatchState, EarningState, Transition};
use crate::types::{
    BatchId, ChainRef, CurrencyCode, EarningId, ItemId, MAX_BATCH_EARNINGS, MAX_BATCH_ITEMS,
    RawAddress,
};

/// Seconds the indexed chain time must be past the expiry time given to
/// [`Ledger::expire_batch`]: a shard block is committed by a masterchain block a little after
/// its own time, so the indexer's checkpoint time alone does not prove that every transaction
/// up to that second is indexed.
pub const FINALITY_MARGIN_SECS: u32 = 10;

const BATCH_COLUMNS: &str = "id, vault, currency, query_id::text AS query_id, created_at, \
     valid_until, state, item_count, total::text AS total, signed_hash, sent_hash, confirmed_tx, \
     confirmed_lt, confirmed_now";

impl Ledger {
    /// Forms a batch from the oldest approved earnings of `req.currency`, aggregated per
    /// worker: one payout item (one transfer, with a new [`ItemId`]) per (worker, payout
    /// address), holding every approved earning of that worker to that address, oldest first.
    /// Workers are taken in the order of their oldest approved earning, at most `max_items` of
    /// them; the batch sums to at most `max_total` (an earning that does not fit is skipped, not
    /// waited for: it stays approved for a later batch) and holds at most
    /// [`MAX_BATCH_EARNINGS`] earnings. Earnings to an address on hold (a payout to it came
    /// back, [`Ledger::payout_holds`]) are not taken. `Ok(None)` when nothing is payable.
    ///
    /// The batch, its items and its earnings' attempts are written, and the earnings moved to
    /// `batched`, in one transaction; rows another settler is batching at the same moment are
    /// skipped (`SKIP LOCKED`), and the partial unique index on live attempts makes a second live
    /// batch for an earning impossible anyway. The items' `bounceable` flags are decided by
    /// the caller before signing ([`Ledger::set_bounceable`]).
    pub async fn form_batch(&self, req: &BatchRequest) -> Result<Option<Batch>> {
        self.form(req, None).await
    }

    /// [`Ledger::form_batch`] restricted to `earnings` (an operator's targeted payout, tests):
    /// the same grouping, limits and holds, over these earnings only (those not approved are
    /// skipped).
    pub async fn form_batch_of(
        &self,
        req: &BatchRequest,
        earnings: &[EarningId],
    ) -> Result<Option<Batch>> {
        self.form(req, Some(earnings)).await
    }

    async fn form(&self, req: &BatchRequest, only: Option<&[EarningId]>) -> Result<Option<Batch>> {
        if req.max_items == 0 || req.max_items > MAX_BATCH_ITEMS {
            return Err(Error::invalid(
                "max_items",
                format!("{} not in 1..=250", req.max_items),
            ));
        }
        check_amount("max_total", req.max_total)?;
        if req.valid_until < req.created_at {
            return Err(Error::invalid("valid_until", "before created_at"));
        }
        let vault = self
            .vault(&req.currency)
            .await?
            .ok_or_else(|| Error::UnknownVault(req.currency.clone()))?;
        if let Some(timeout) = self.vault_timeout(&req.currency).await? {
            let last = u64::from(req.created_at) + u64::from(timeout) - 1;
            if u64::from(req.valid_until) < last {
                return Err(Error::invalid(
                    "valid_until",
                    format!(
                        "{} ends before the vault stops accepting the request ({last}: \
                         created_at + timeout - 1)",
                        req.valid_until
                    ),
                ));
            }
        }
        if let Some(existing) = self.batch_by_query_id(&vault.address, req.query_id).await? {
            return Err(Error::QueryIdTaken {
                query_id: req.query_id,
                existing: existing.id,
            });
        }
        let only: Option<Vec<i64>> = only.map(|ids| ids.iter().map(|i| i.sql()).collect());

        let mut tx = self.pool.begin().await?;
        // The workers (and addresses) whose oldest approved earnings are the oldest: walk the
        // approved earnings in age order (the partial index), a chunk at a time, until
        // `max_items` distinct workers are found.
        const CHUNK: i64 = 1_000;
        let mut workers: Vec<(String, String)> = Vec::new();
        let mut seen: std::collections::HashSet<(String, String)> =
            std::collections::HashSet::new();
        let mut after: Option<(String, i64)> = None;
        loop {
            let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                "SELECT e.worker, e.payout_address, e.approved_at::text, e.id \
                 FROM ledger_earnings e \
                 WHERE e.currency = $1 AND e.state = 'approved' AND e.amount <= $2::text::numeric \
                   AND ($3::bigint[] IS NULL OR e.id = ANY($3)) \
                   AND ($4::text IS NULL OR (e.approved_at, e.id) > ($4::timestamptz, $5)) \
                   AND NOT EXISTS (SELECT 1 FROM ledger_payout_holds h \
                       WHERE h.released_at IS NULL AND h.worker = e.worker \
                         AND h.currency = e.currency AND h.payout_address = e.payout_address) \
                 ORDER BY e.approved_at, e.id LIMIT $6",
            )
            .bind(req.currency.as_str())
            .bind(req.max_total.to_string())
            .bind(&only)
            .bind(after.as_ref().map(|(t, _)| t.as_str()))
            .bind(after.as_ref().map_or(0, |(_, i)| *i))
            .bind(CHUNK)
            .fetch_all(&mut *tx)
            .await?;
            let full = rows.len() as i64 == CHUNK;
            after = rows.last().map(|(_, _, t, i)| (t.clone(), *i));
            for (w, a, _, _) in rows {
                if workers.len() == req.max_items {
                    break;
                }
                if seen.insert((w.clone(), a.clone())) {
                    workers.push((w, a));
                }
            }
            if workers.len() == req.max_items || !full {
                break;
            }
        }
        let (names, addresses): (Vec<String>, Vec<String>) = workers.iter().cloned().unzip();
        // Their approved earnings, locked, oldest first.
        let rows = sqlx::query(
            "SELECT e.id, e.worker, e.payout_address, e.amount::text AS amount \
             FROM ledger_earnings e \
             WHERE e.currency = $1 AND e.state = 'approved' AND e.amount <= $2::text::numeric \
               AND (e.worker, e.payout_address) IN \
                   (SELECT w, a FROM UNNEST($3::text[], $4::text[]) AS t(w, a)) \
               AND ($5::bigint[] IS NULL OR e.id = ANY($5)) \
               AND NOT EXISTS (SELECT 1 FROM ledger_payout_holds h WHERE h.released_at IS NULL \
                   AND h.worker = e.worker AND h.currency = e.currency \
                   AND h.payout_address = e.payout_address) \
             ORDER BY e.approved_at, e.id LIMIT $6 FOR UPDATE SKIP LOCKED",
        )
        .bind(req.currency.as_str())
        .bind(req.max_total.to_string())
        .bind(&names)
        .bind(&addresses)
        .bind(&only)
        .bind(MAX_BATCH_EARNINGS as i64)
        .fetch_all(&mut *tx)
        .await?;
        // Group, in the workers' order; an earning that does not fit max_total is skipped.
        let rank: std::collections::HashMap<(&str, &str), usize> = workers
            .iter()
            .enumerate()
            .map(|(i, (w, a))| ((w.as_str(), a.as_str()), i))
            .collect();
        let mut groups: Vec<(Vec<i64>, u128)> = vec![(Vec::new(), 0); workers.len()];
        let mut total: u128 = 0;
        for r in &rows {
            let worker: String = r.try_get("worker")?;
            let address: String = r.try_get("payout_address")?;
            let Some(&g) = rank.get(&(worker.as_str(), address.as_str())) else {
                continue;
            };
            let amount = parse_u128("amount", &r.try_get::<String, _>("amount")?)?;
            if let Some(t) = total.checked_add(amount).filter(|t| *t <= req.max_total) {
                total = t;
                groups[g].0.push(r.try_get::<i64, _>("id")?);
                groups[g].1 += amount;
            }
        }
        let groups: Vec<(usize, Vec<i64>, u128)> = groups
            .into_iter()
            .enumerate()
            .filter(|(_, (ids, _))| !ids.is_empty())
            .map(|(i, (ids, amount))| (i, ids, amount))
            .collect();
        if groups.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }

        let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO ledger_batches \
                 (vault, currency, query_id, created_at, valid_until, item_count, total) \
             VALUES ($1, $2, $3::text::numeric, $4, $5, $6, $7::text::numeric) RETURNING id",
        )
        .bind(vault.address.as_str())
        .bind(req.currency.as_str())
        .bind(req.query_id.to_string())
        .bind(i64::from(req.created_at))
        .bind(i64::from(req.valid_until))
        .bind(groups.len() as i32)
        .bind(total.to_string())
        .fetch_one(&mut *tx)
        .await;
        let batch_id = match inserted {
            Ok(id) => BatchId(id),
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                let existing = self
                    .batch_by_query_id(&vault.address, req.query_id)
                    .await?
                    .map(|b| b.id)
                    .unwrap_or(BatchId(0));
                return Err(Error::QueryIdTaken {
                    query_id: req.query_id,
                    existing,
                });
            }
            Err(e) => return Err(e.into()),
        };
        // New item ids, ascending in request order.
        let item_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT nextval('ledger_payout_item_id_seq') FROM generate_series(1, $1)",
        )
        .bind(groups.len() as i64)
        .fetch_all(&mut *tx)
        .await?;
        if item_ids.len() != groups.len() {
            return Err(Error::corrupt(
                "ledger_payout_item_id_seq",
                format!("{} ids for {} items", item_ids.len(), groups.len()),
            ));
        }
        let mut p_position = Vec::with_capacity(groups.len());
        let mut p_worker = Vec::with_capacity(groups.len());
        let mut p_address = Vec::with_capacity(groups.len());
        let mut p_amount = Vec::with_capacity(groups.len());
        let mut p_count = Vec::with_capacity(groups.len());
        let (mut e_id, mut e_position) = (Vec::new(), Vec::new());
        for (position, (g, ids, amount)) in groups.iter().enumerate() {
            let position = position as i32;
            p_position.push(position);
            p_worker.push(workers[*g].0.as_str());
            p_address.push(workers[*g].1.as_str());
            p_amount.push(amount.to_string());
            p_count.push(ids.len() as i32);
            e_id.extend_from_slice(ids);
            e_position.extend(std::iter::repeat_n(position, ids.len()));
        }
        sqlx::query(
            "INSERT INTO ledger_payout_items \
                 (id, batch_id, position, worker, payout_address, currency, amount, earning_count) \
             SELECT i, $2, p, w, a, $3, m::numeric, n \
             FROM UNNEST($1::bigint[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int[]) \
                 AS t(i, p, w, a, m, n)",
        )
        .bind(&item_ids)
        .bind(batch_id.0)
        .bind(req.currency.as_str())
        .bind(&p_position)
        .bind(&p_worker)
        .bind(&p_address)
        .bind(&p_amount)
        .bind(&p_count)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ledger_batch_items (batch_id, earning_id, position) \
             SELECT $1, e, p FROM UNNEST($2::bigint[], $3::int[]) AS t(e, p)",
        )
        .bind(batch_id.0)
        .bind(&e_id)
        .bind(&e_position)
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE ledger_earnings SET state = 'batched', state_changed_at = now() \
             WHERE id = ANY($1) AND state = 'approved'",
        )
        .bind(&e_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != e_id.len() as u64 {
            // Unreachable while the rows are locked; refuse rather than guess.
            tx.rollback().await?;
            return Err(Error::corrupt(
                "earning states",
                format!("{moved} of {} earnings were still approved", e_id.len()),
            ));
        }
        tx.commit().await?;
        tracing::info!(batch = %batch_id, items = groups.len(), earnings = e_id.len(), total = %total, query_id = req.query_id, "batch formed");
        self.batch(batch_id).await
    }

    /// A batch by id.
    pub async fn batch(&self, id: BatchId) -> Result<Option<Batch>> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| batch_of(&r))
            .transpose()
    }

    /// The batch a vault knows by `query_id`.
    pub async fn batch_by_query_id(
        &self,
        vault: &RawAddress,
        query_id: u64,
    ) -> Result<Option<Batch>> {
        let mut conn = self.pool.acquire().await?;
        batch_by_query_id_in(&mut conn, vault, query_id).await
    }

    /// The live batches (batched, signed, sent) of a currency, oldest first.
    pub async fn live_batches(&self, currency: &CurrencyCode) -> Result<Vec<Batch>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM ledger_batches \
             WHERE currency = $1 AND state IN ('batched', 'signed', 'sent') ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(currency.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(batch_of).collect()
    }

    /// A batch's items (transfers) in request order, each with its earnings (every item the
    /// batch was formed with, whatever became of it since).
    pub async fn batch_items(&self, id: BatchId) -> Result<Vec<BatchItem>> {
        let rows = sqlx::query(
            "SELECT p.position, p.id, p.worker, p.payout_address, p.amount::text AS amount, \
                    p.outcome, p.bounceable, \
                    array_agg(i.earning_id ORDER BY i.earning_id) AS earnings \
             FROM ledger_payout_items p JOIN ledger_batch_items i \
               ON i.batch_id = p.batch_id AND i.position = p.position \
             WHERE p.batch_id = $1 GROUP BY p.batch_id, p.position ORDER BY p.position",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_of).collect()
    }

    /// Every batch an earning was ever in, oldest first, with what became of its item there
    /// (the attempt history: expired and bounced attempts are kept).
    pub async fn earning_attempts(&self, id: EarningId) -> Result<Vec<(BatchId, ItemOutcome)>> {
        let rows = sqlx::query(
            "SELECT batch_id, outcome FROM ledger_batch_items WHERE earning_id = $1 ORDER BY batch_id",
        )
        .bind(id.sql())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    BatchId(r.try_get("batch_id")?),
                    ItemOutcome::parse(&r.try_get::<String, _>("outcome")?)?,
                ))
            })
            .collect()
    }

    /// A check of a vault batch request against the ledger, in one consistent snapshot: the
    /// vault has a LIVE batch (batched, signed or sent) with this query id and `created_at`,
    /// and `items` are exactly its items in order (item id, destination, amount); each item is
    /// exactly its earnings (their sum, their payout address), each earning in the state its
    /// batch implies. Returns the batch; anything else is [`Error::RequestMismatch`] saying what
    /// differs. (That no earning is in another live or paid batch is guaranteed by the partial
    /// unique index on live attempts.)
    pub async fn check_vault_request(
        &self,
        vault: &RawAddress,
        query_id: u64,
        created_at: u32,
        items: &[(ItemId, RawAddress, u128)],
    ) -> Result<Batch> {
        let mismatch = |reason: String| Error::RequestMismatch { query_id, reason };
        let mut conn = self.pool.acquire().await?;
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let batch = batch_by_query_id_in(&mut tx, vault, query_id)
            .await?
            .ok_or_else(|| mismatch(format!("vault {vault} has no batch with this query id")))?;
        if !batch.state.is_live() {
            return Err(mismatch(format!("batch {} is {}", batch.id, batch.state)));
        }
        if batch.created_at != created_at {
            return Err(mismatch(format!(
                "created_at {created_at} != the batch's {}",
                batch.created_at
            )));
        }
        let want = EarningState::in_batch(batch.state);
        let rows = sqlx::query(
            "SELECT p.position, p.id, p.payout_address, p.amount::text AS amount, p.outcome, \
                    COALESCE(sum(e.amount), 0)::text AS earned, \
                    count(*) FILTER (WHERE e.payout_address <> p.payout_address) AS elsewhere, \
                    count(*) FILTER (WHERE i.outcome <> 'pending' OR e.state <> $2) AS moved \
             FROM ledger_payout_items p \
             JOIN ledger_batch_items i ON i.batch_id = p.batch_id AND i.position = p.position \
             JOIN ledger_earnings e ON e.id = i.earning_id \
             WHERE p.batch_id = $1 GROUP BY p.batch_id, p.position ORDER BY p.position",
        )
        .bind(batch.id.0)
        .bind(want.as_str())
        .fetch_all(&mut *tx)
        .await?;
        if rows.len() != items.len() || rows.len() != batch.item_count {
            return Err(mismatch(format!(
                "{} items requested, the batch has {}",
                items.len(),
                batch.item_count
            )));
        }
        let mut total: u128 = 0;
        for (pos, (r, (id, dest, amount))) in rows.iter().zip(items).enumerate() {
            let got_id = ItemId::from_sql(r.try_get("id")?)?;
            let got_dest = RawAddress::parse(&r.try_get::<String, _>("payout_address")?)?;
            let got_amount = parse_u128("amount", &r.try_get::<String, _>("amount")?)?;
            let earned = parse_u128("earned", &r.try_get::<String, _>("earned")?)?;
            let outcome: String = r.try_get("outcome")?;
            let (elsewhere, moved): (i64, i64) = (r.try_get("elsewhere")?, r.try_get("moved")?);
            if (got_id, &got_dest, got_amount) != (*id, dest, *amount) {
                return Err(mismatch(format!(
                    "item {pos}: requested ({id}, {dest}, {amount}), the ledger has \
                     ({got_id}, {got_dest}, {got_amount})"
                )));
            }
            if earned != got_amount || elsewhere != 0 {
                return Err(mismatch(format!(
                    "item {pos} ({id}): its earnings sum to {earned} and {elsewhere} of them \
                     have another payout address"
                )));
            }
            if outcome != "pending" || moved != 0 {
                return Err(mismatch(format!(
                    "item {pos} ({id}) is {outcome}; {moved} of its earnings are not pending / {want}"
                )));
            }
            total = total.saturating_add(got_amount);
        }
        if total != batch.total {
            return Err(mismatch(format!(
                "items sum to {total}, the batch to {}",
                batch.total
            )));
        }
        tx.commit().await?;
        Ok(batch)
    }

    /// Decides the `bounceable` flag of each item of a batch that is not signed yet (TON
    /// payouts: the settler's choice, see settler/README; jetton payouts do not use it). Once
    /// decided the flags never change: the signed request carries them. `flags` must name every
    /// item of the batch once. Deciding again with the same flags is
    /// [`Transition::AlreadyApplied`]; with others [`Error::EvidenceConflict`]; deciding for a
    /// batch that is signed already or no longer live is [`Error::IllegalBatchTransition`].
    pub async fn set_bounceable(
        &self,
        id: BatchId,
        flags: &[(ItemId, bool)],
    ) -> Result<Transition> {
        let mut tx = self.pool.begin().await?;
        let b = lock_batch(&mut tx, id).await?;
        let rows: Vec<(i64, Option<bool>)> = sqlx::query_as(
            "SELECT id, bounceable FROM ledger_payout_items WHERE batch_id = $1 ORDER BY position",
        )
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await?;
        let wanted: std::collections::HashMap<i64, bool> =
            flags.iter().map(|(i, f)| (i.sql(), *f)).collect();
        if wanted.len() != flags.len()
            || wanted.len() != rows.len()
            || rows.iter().any(|(i, _)| !wanted.contains_key(i))
        {
            return Err(Error::invalid(
                "flags",
                format!("must name each of the batch's {} items once", rows.len()),
            ));
        }
        if rows.iter().all(|(_, f)| f.is_some()) {
            return if rows.iter().all(|(i, f)| *f == wanted.get(i).copied()) {
                Ok(Transition::AlreadyApplied)
            } else {
                Err(Error::EvidenceConflict {
                    batch: id,
                    state: b.state,
                })
            };
        }
        if b.state != BatchState::Batched || b.signed_hash.is_some() {
            return Err(Error::IllegalBatchTransition {
                batch: id,
                from: b.state,
                to: BatchState::Signed,
            });
        }
        let (ids, values): (Vec<i64>, Vec<bool>) = wanted.into_iter().unzip();
        sqlx::query(
            "UPDATE ledger_payout_items p SET bounceable = t.f \
             FROM UNNEST($2::bigint[], $3::bool[]) AS t(i, f) \
             WHERE p.batch_id = $1 AND p.id = t.i AND p.bounceable IS NULL",
        )
        .bind(id.0)
        .bind(&ids)
        .bind(&values)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Transition::Applied)
    }

    /// `batched -> signed`: the signer signed the vault request whose hash is `signed_hash`.
    /// Repeating it with the same hash (also once the batch is sent or confirmed) is
    /// [`Transition::AlreadyApplied`]; another hash is [`Error::EvidenceConflict`].
    pub async fn mark_signed(&self, id: BatchId, signed_hash: [u8; 32]) -> Result<Transition> {
        let mut tx = self.pool.begin().await?;
        let b = lock_batch(&mut tx, id).await?;
        if b.signed_hash.is_some() {
            return if b.signed_hash == Some(signed_hash) {
                Ok(Transition::AlreadyApplied)
            } else {
                Err(Error::EvidenceConflict {
                    batch: id,
                    state: b.state,
                })
            };
        }
        move_batch(&mut tx, &b, BatchState::Signed).await?;
        sqlx::query("UPDATE ledger_batches SET signed_hash = $2 WHERE id = $1")
            .bind(id.0)
            .bind(signed_hash.to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Transition::Applied)
    }

    /// `signed -> sent`: the external message whose hash is `message_hash` went to the chain.
    /// Same idempotency rules as [`Ledger::mark_signed`].
    pub async fn mark_sent(&self, id: BatchId, message_hash: [u8; 32]) -> Result<Transition> {
        let mut tx = self.pool.begin().await?;
        let b = lock_batch(&mut tx, id).await?;
        if b.sent_hash.is_some() {
            return if b.sent_hash == Some(message_hash) {
                Ok(Transition::AlreadyApplied)
            } else {
                Err(Error::EvidenceConflict {
                    batch: id,
                    state: b.state,
                })
            };
        }
        move_batch(&mut tx, &b, BatchState::Sent).await?;
        sqlx::query("UPDATE ledger_batches SET sent_hash = $2 WHERE id = $1")
            .bind(id.0)
            .bind(message_hash.to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Transition::Applied)
    }

    /// `batched | signed | sent -> confirmed`: the vault executed the batch in the transaction
    /// `evidence` (the chain is the truth, so a batch whose `signed`/`sent` marks were lost in a
    /// crash is confirmed all the same). Items become `paid`, earnings `confirmed`. The same
    /// evidence again is [`Transition::AlreadyApplied`]. An expired batch is refused
    /// ([`Error::IllegalBatchTransition`]). The journal entry for the payment is posted by
    /// [`Ledger::ingest_chain_events`] from the indexed event, not here.
    pub async fn mark_confirmed(&self, id: BatchId, evidence: &ChainRef) -> Result<Transition> {
        let mut tx = self.pool.begin().await?;
        let t = confirm_in(&mut tx, id, evidence).await?;
        tx.commit().await?;
        Ok(t)
    }

    /// `batched | signed | sent -> expired`, items back to `approved` (their attempts kept as
    /// `expired` items), so a new batch can take them. Allowed only when the batch can no longer
    /// land: `valid_until < chain_now`, where `chain_now` is chain time as the indexer saw it;
    /// refused with [`Error::NotExpired`] otherwise, with [`Error::ChainTimeAhead`] if the
    /// indexer's checkpoint block is not at least [`FINALITY_MARGIN_SECS`] past `chain_now`, and
    /// with [`Error::ExecutedOnChain`] if the indexer has an `ev_batch_executed` of this vault
    /// and query id (then it is paid, whatever anyone believed). Needs the indexer's tables in
    /// the same database ([`Error::IndexerMissing`]).
    pub async fn expire_batch(&self, id: BatchId, chain_now: u32) -> Result<Transition> {
        let mut tx = self.pool.begin().await?;
        let b = lock_batch(&mut tx, id).await?;
        if b.state == BatchState::Expired {
            return Ok(Transition::AlreadyApplied);
        }
        if !b.state.is_live() {
            return Err(Error::IllegalBatchTransition {
                batch: id,
                from: b.state,
                to: BatchState::Expired,
            });
        }
        if b.valid_until >= chain_now {
            return Err(Error::NotExpired {
                batch: id,
                valid_until: b.valid_until,
                chain_now,
            });
        }
        let indexed = indexed_chain_time(&mut tx).await?;
        if u64::from(chain_now) + u64::from(FINALITY_MARGIN_SECS) > u64::from(indexed) {
            return Err(Error::ChainTimeAhead {
                claimed: chain_now,
                indexed,
            });
        }
        let executed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE contract = $1 AND kind = 'ev_batch_executed' \
                 AND query_id = $2::text::numeric)",
        )
        .bind(b.vault.as_str())
        .bind(b.query_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if executed {
            return Err(Error::ExecutedOnChain(id));
        }
        move_batch(&mut tx, &b, BatchState::Expired).await?;
        sqlx::query("UPDATE ledger_batches SET expired_at_chain = $2 WHERE id = $1")
            .bind(id.0)
            .bind(i64::from(chain_now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(batch = %id, chain_now, valid_until = b.valid_until, "batch expired, items approved again");
        Ok(Transition::Applied)
    }

    /// A paid item bounced (`ev_payout_bounced`, or the recipient's jetton wallet refused it,
    /// in the transaction `evidence`): EVERY earning of the item goes `confirmed -> approved`
    /// (owed again), the item and their attempts are kept as `bounced` with `reason`, and the
    /// address is put on hold ([`Ledger::payout_holds`]). The same evidence again is
    /// [`Transition::AlreadyApplied`]. The journal entry is posted by
    /// [`Ledger::ingest_chain_events`], which calls this itself.
    pub async fn item_bounced(
        &self,
        item: ItemId,
        evidence: &ChainRef,
        reason: BounceReason,
    ) -> Result<Transition> {
        let mut tx = self.pool.begin().await?;
        let t = bounce_in(&mut tx, item, None, evidence, None, reason).await?;
        tx.commit().await?;
        Ok(t.0)
    }

    /// The paid attempts of an earning that came back, oldest first, with why (the earning
    /// is owed again after each).
    pub async fn earning_bounces(&self, id: EarningId) -> Result<Vec<ItemBounce>> {
        let rows = sqlx::query(
            "SELECT i.batch_id, p.id AS item_id, i.bounce_reason, i.bounce_tx, \
                    p.bounced_amount::text AS amount \
             FROM ledger_batch_items i JOIN ledger_payout_items p \
               ON p.batch_id = i.batch_id AND p.position = i.position \
             WHERE i.earning_id = $1 AND i.outcome = 'bounced' ORDER BY i.batch_id",
        )
        .bind(id.sql())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let reason: Option<String> = r.try_get("bounce_reason")?;
                let reason = reason.ok_or_else(|| Error::corrupt("bounce_reason", "NULL"))?;
                Ok(ItemBounce {
                    batch: BatchId(r.try_get("batch_id")?),
                    item_id: ItemId::from_sql(r.try_get("item_id")?)?,
                    reason: BounceReason::parse(&reason)?,
                    tx_hash: hash32("bounce_tx", r.try_get("bounce_tx")?)?
                        .ok_or_else(|| Error::corrupt("bounce_tx", "NULL"))?,
                    amount: r
                        .try_get::<Option<String>, _>("amount")?
                        .map(|a| parse_u128("bounced_amount", &a))
                        .transpose()?,
                })
            })
            .collect()
    }
}

pub(crate) async fn batch_by_query_id_in(
    conn: &mut PgConnection,
    vault: &RawAddress,
    query_id: u64,
) -> Result<Option<Batch>> {
    let sql = format!(
        "SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE vault = $1 AND query_id = $2::text::numeric"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(vault.as_str())
        .bind(query_id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| batch_of(&r))
        .transpose()
}

/// Reads and locks a batch.
pub(crate) async fn lock_batch(conn: &mut PgConnection, id: BatchId) -> Result<Batch> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE id = $1 FOR UPDATE");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| batch_of(&r))
        .transpose()?
        .ok_or(Error::UnknownBatch(id))
}

/// Moves a locked batch and the earnings of its pending items to `to`, guarded by the expected
/// states in SQL. Items become `paid` (confirmed) or `expired` (expired).
pub(crate) async fn move_batch(conn: &mut PgConnection, b: &Batch, to: BatchState) -> Result<()> {
    if !b.state.can_become(to) {
        return Err(Error::IllegalBatchTransition {
            batch: b.id,
            from: b.state,
            to,
        });
    }
    let moved = sqlx::query(
        "UPDATE ledger_batches SET state = $3, state_changed_at = now() \
         WHERE id = $1 AND state = $2",
    )
    .bind(b.id.0)
    .bind(b.state.as_str())
    .bind(to.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(Error::IllegalBatchTransition {
            batch: b.id,
            from: b.state,
            to,
        });
    }
    let from_e = EarningState::in_batch(b.state);
    let to_e = EarningState::in_batch(to);
    let pending: Vec<i64> = sqlx::query_scalar(
        "SELECT earning_id FROM ledger_batch_items WHERE batch_id = $1 AND outcome = 'pending'",
    )
    .bind(b.id.0)
    .fetch_all(&mut *conn)
    .await?;
    let updated = sqlx::query(
        "UPDATE ledger_earnings SET state = $3, state_changed_at = now() \
         WHERE id = ANY($1) AND state = $2",
    )
    .bind(&pending)
    .bind(from_e.as_str())
    .bind(to_e.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated != pending.len() as u64 {
        return Err(Error::corrupt(
            "earning states",
            format!(
                "batch {}: {updated} of {} pending earnings were {from_e}",
                b.id,
                pending.len()
            ),
        ));
    }
    let outcome = match to {
        BatchState::Confirmed => Some("paid"),
        BatchState::Expired => Some("expired"),
        _ => None,
    };
    if let Some(outcome) = outcome {
        sqlx::query(
            "UPDATE ledger_batch_items SET outcome = $2 WHERE batch_id = $1 AND outcome = 'pending'",
        )
        .bind(b.id.0)
        .bind(outcome)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE ledger_payout_items SET outcome = $2 WHERE batch_id = $1 AND outcome = 'pending'",
        )
        .bind(b.id.0)
        .bind(outcome)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn confirm_in(
    conn: &mut PgConnection,
    id: BatchId,
    evidence: &ChainRef,
) -> Result<Transition> {
    let b = lock_batch(conn, id).await?;
    if b.state == BatchState::Confirmed {
        return if b.confirmed.map(|c| c.tx_hash) == Some(evidence.tx_hash) {
            Ok(Transition::AlreadyApplied)
        } else {
            Err(Error::EvidenceConflict {
                batch: id,
                state: b.state,
            })
        };
    }
    move_batch(conn, &b, BatchState::Confirmed).await?;
    sqlx::query(
        "UPDATE ledger_batches SET confirmed_tx = $2, confirmed_lt = $3, confirmed_now = $4 \
         WHERE id = $1",
    )
    .bind(id.0)
    .bind(evidence.tx_hash.to_vec())
    .bind(evidence.lt as i64)
    .bind(i64::from(evidence.now))
    .execute(&mut *conn)
    .await?;
    tracing::info!(batch = %id, tx = %hex::encode(evidence.tx_hash), "batch confirmed");
    Ok(Transition::Applied)
}

/// A payout item as a bounce needs it.
#[derive(Debug, Clone)]
pub(crate) struct BouncedItem {
    pub(crate) batch: BatchId,
    pub(crate) worker: String,
    pub(crate) currency: CurrencyCode,
    pub(crate) amount: u128,
    pub(crate) earnings: Vec<EarningId>,
}

/// The bounce of the paid payout item `item` (of `vault`'s batches when given). Every earning
/// of the item goes back to `approved`; the item and its earnings' attempts become `bounced`
/// (`bounced_amount`: what came back, on the item, when known; `reason`: why); the worker's
/// address is put on hold. Returns the transition and the item.
pub(crate) async fn bounce_in(
    conn: &mut PgConnection,
    item: ItemId,
    vault: Option<&RawAddress>,
    evidence: &ChainRef,
    bounced_amount: Option<u128>,
    reason: BounceReason,
) -> Result<(Transition, BouncedItem)> {
    // Items made before aggregation may share an id (their earning's, once per batch): the
    // paid one is the one that can bounce, else the latest.
    let row = sqlx::query(
        "SELECT p.id, p.batch_id, p.position, p.worker, p.payout_address, p.currency, \
                p.amount::text AS amount, p.outcome, p.bounce_tx \
         FROM ledger_payout_items p JOIN ledger_batches b ON b.id = p.batch_id \
         WHERE p.id = $1 AND ($2::text IS NULL OR b.vault = $2) \
         ORDER BY (p.bounce_tx = $3) DESC NULLS LAST, (p.outcome = 'paid') DESC, p.batch_id DESC \
         LIMIT 1 FOR UPDATE OF p",
    )
    .bind(item.sql())
    .bind(vault.map(RawAddress::as_str))
    .bind(evidence.tx_hash.to_vec())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::UnknownItem(item))?;
    let batch = BatchId(row.try_get("batch_id")?);
    let position: i32 = row.try_get("position")?;
    let earnings: Vec<i64> = sqlx::query_scalar(
        "SELECT earning_id FROM ledger_batch_items WHERE batch_id = $1 AND position = $2 \
         ORDER BY earning_id",
    )
    .bind(batch.0)
    .bind(position)
    .fetch_all(&mut *conn)
    .await?;
    let found = BouncedItem {
        batch,
        worker: row.try_get("worker")?,
        currency: CurrencyCode::new(&row.try_get::<String, _>("currency")?)?,
        amount: parse_u128("amount", &row.try_get::<String, _>("amount")?)?,
        earnings: earnings
            .iter()
            .map(|e| EarningId::from_sql(*e))
            .collect::<Result<_>>()?,
    };
    let outcome = ItemOutcome::parse(&row.try_get::<String, _>("outcome")?)?;
    let bounce_tx = hash32("bounce_tx", row.try_get("bounce_tx")?)?;
    if outcome == ItemOutcome::Bounced && bounce_tx == Some(evidence.tx_hash) {
        return Ok((Transition::AlreadyApplied, found));
    }
    if outcome != ItemOutcome::Paid {
        return Err(Error::ItemNotPaid { item, outcome });
    }
    sqlx::query(
        "UPDATE ledger_payout_items SET outcome = 'bounced', bounce_tx = $3, \
             bounced_amount = $4::text::numeric, bounce_reason = $5 \
         WHERE batch_id = $1 AND position = $2 AND outcome = 'paid'",
    )
    .bind(batch.0)
    .bind(position)
    .bind(evidence.tx_hash.to_vec())
    .bind(bounced_amount.map(|a| a.to_string()))
    .bind(reason.as_str())
    .execute(&mut *conn)
    .await?;
    let attempts = sqlx::query(
        "UPDATE ledger_batch_items SET outcome = 'bounced', bounce_tx = $3, bounce_reason = $4 \
         WHERE batch_id = $1 AND position = $2 AND outcome = 'paid'",
    )
    .bind(batch.0)
    .bind(position)
    .bind(evidence.tx_hash.to_vec())
    .bind(reason.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let moved = sqlx::query(
        "UPDATE ledger_earnings SET state = 'approved', state_changed_at = now() \
         WHERE id = ANY($1) AND state = 'confirmed'",
    )
    .bind(&earnings)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if attempts != earnings.len() as u64 || moved != earnings.len() as u64 {
        return Err(Error::corrupt(
            "batch items",
            format!(
                "item {item}: {} earning(s), {attempts} paid attempt(s), {moved} confirmed",
                earnings.len()
            ),
        ));
    }
    sqlx::query(
        "INSERT INTO ledger_payout_holds (worker, currency, payout_address, reason, item_id, bounce_tx) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (worker, currency, payout_address) WHERE released_at IS NULL DO NOTHING",
    )
    .bind(&found.worker)
    .bind(found.currency.as_str())
    .bind(row.try_get::<String, _>("payout_address")?)
    .bind(reason.as_str())
    .bind(item.sql())
    .bind(evidence.tx_hash.to_vec())
    .execute(&mut *conn)
    .await?;
    tracing::info!(item = %item, earnings = earnings.len(), reason = reason.as_str(), tx = %hex::encode(evidence.tx_hash), "payout bounced, its earnings approved again, the address on hold");
    Ok((Transition::Applied, found))
}

/// The unix time of the indexer's checkpoint masterchain block (0 before the first block).
pub(crate) async fn indexed_chain_time(conn: &mut PgConnection) -> Result<u32> {
    let present: bool = sqlx::query_scalar(
        "SELECT to_regclass('checkpoint') IS NOT NULL AND to_regclass('blocks') IS NOT NULL \
             AND to_regclass('events') IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !present {
        return Err(Error::IndexerMissing);
    }
    let t: Option<i64> = sqlx::query_scalar(
        "SELECT b.gen_utime FROM checkpoint c JOIN blocks b \
             ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    u32_of("gen_utime", t.unwrap_or(0))
}

fn item_of(r: &PgRow) -> Result<BatchItem> {
    let earnings: Vec<i64> = r.try_get("earnings")?;
    Ok(BatchItem {
        position: usize::try_from(r.try_get::<i32, _>("position")?)
            .map_err(|_| Error::corrupt("position", "negative"))?,
        item_id: ItemId::from_sql(r.try_get("id")?)?,
        worker: r.try_get("worker")?,
        payout_address: RawAddress::parse(&r.try_get::<String, _>("payout_address")?)?,
        amount: parse_u128("amount", &r.try_get::<String, _>("amount")?)?,
        earnings: earnings
            .into_iter()
            .map(EarningId::from_sql)
            .collect::<Result<_>>()?,
        bounceable: r.try_get("bounceable")?,
        outcome: ItemOutcome::parse(&r.try_get::<String, _>("outcome")?)?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

pub(crate) fn batch_of(r: &PgRow) -> Result<Batch> {
    let count: i32 = r.try_get("item_count")?;
    let confirmed_tx = hash32("confirmed_tx", r.try_get("confirmed_tx")?)?;
    let confirmed = match confirmed_tx {
        Some(tx_hash) => Some(ChainRef {
            tx_hash,
            msg_idx: 0,
            lt: r
                .try_get::<Option<i64>, _>("confirmed_lt")?
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(0),
            now: u32_of(
                "confirmed_now",
                r.try_get::<Option<i64>, _>("confirmed_now")?.unwrap_or(0),
            )?,
        }),
        None => None,
    };
    Ok(Batch {
        id: BatchId(r.try_get("id")?),
        vault: RawAddress::parse(&r.try_get::<String, _>("vault")?)?,
        currency: CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
        query_id: parse_u64("query id", &r.try_get::<String, _>("query_id")?)?,
        created_at: u32_of("created_at", r.try_get("created_at")?)?,
        valid_until: u32_of("valid_until", r.try_get("valid_until")?)?,
        state: BatchState::parse(&r.try_get::<String, _>("state")?)?,
        item_count: usize::try_from(count)
            .map_err(|_| Error::corrupt("item_count", count.to_string()))?,
        total: parse_u128("total", &r.try_get::<String, _>("total")?)?,
        signed_hash: hash32("signed_hash", r.try_get("signed_hash")?)?,
        sent_hash: hash32("sent_hash", r.try_get("sent_hash")?)?,
        confirmed,
    })
}
