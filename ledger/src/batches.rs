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
use crate::types::{BatchId, ChainRef, CurrencyCode, EarningId, MAX_BATCH_ITEMS, RawAddress};

/// Seconds the indexed chain time must be past the expiry time given to
/// [`Ledger::expire_batch`]: a shard block is committed by a masterchain block a little after
/// its own time, so the indexer's checkpoint time alone does not prove that every transaction
/// up to that second is indexed.
pub const FINALITY_MARGIN_SECS: u32 = 10;

const BATCH_COLUMNS: &str = "id, vault, currency, query_id::text AS query_id, created_at, \
     valid_until, state, item_count, total::text AS total, signed_hash, sent_hash, confirmed_tx, \
     confirmed_lt, confirmed_now";

impl Ledger {
    /// Forms a batch from the oldest approved earnings of `req.currency` (by approval time, then
    /// id), at most `max_items` of them and at most `max_total` in sum (an earning that does not
    /// fit is skipped, not waited for). `Ok(None)` when nothing is payable. The batch and its
    /// items are written, and the earnings moved to `batched`, in one transaction; rows another
    /// settler is batching at the same moment are skipped (`SKIP LOCKED`), and the partial unique
    /// index on live items makes a second live batch for an earning impossible anyway.
    pub async fn form_batch(&self, req: &BatchRequest) -> Result<Option<Batch>> {
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

        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, amount::text AS amount FROM ledger_earnings \
             WHERE currency = $1 AND state = 'approved' AND amount <= $3::text::numeric \
             ORDER BY approved_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(req.currency.as_str())
        .bind(req.max_items as i64)
        .bind(req.max_total.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::new();
        let mut total: u128 = 0;
        for r in &rows {
            let amount = parse_u128("amount", &r.try_get::<String, _>("amount")?)?;
            match total.checked_add(amount) {
                Some(t) if t <= req.max_total => {
                    total = t;
                    ids.push(r.try_get::<i64, _>("id")?);
                }
                _ => {}
            }
        }
        if ids.is_empty() {
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
        .bind(ids.len() as i32)
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
        let positions: Vec<i32> = (0..ids.len() as i32).collect();
        sqlx::query(
            "INSERT INTO ledger_batch_items (batch_id, earning_id, position) \
             SELECT $1, e, p FROM UNNEST($2::bigint[], $3::int[]) AS t(e, p)",
        )
        .bind(batch_id.0)
        .bind(&ids)
        .bind(&positions)
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE ledger_earnings SET state = 'batched', state_changed_at = now() \
             WHERE id = ANY($1) AND state = 'approved'",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != ids.len() as u64 {
            // Unreachable while the rows are locked; refuse rather than guess.
            tx.rollback().await?;
            return Err(Error::corrupt(
                "earning states",
                format!("{moved} of {} earnings were still approved", ids.len()),
            ));
        }
        tx.commit().await?;
        tracing::info!(batch = %batch_id, items = ids.len(), total = %total, query_id = req.query_id, "batch formed");
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

    /// A batch's items in request order (every item the batch was formed with, whatever became
    /// of it since).
    pub async fn batch_items(&self, id: BatchId) -> Result<Vec<BatchItem>> {
        let rows = sqlx::query(
            "SELECT i.position, i.earning_id, i.outcome, e.worker, e.payout_address, \
                    e.amount::text AS amount \
             FROM ledger_batch_items i JOIN ledger_earnings e ON e.id = i.earning_id \
             WHERE i.batch_id = $1 ORDER BY i.position",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BatchItem {
                    position: usize::try_from(r.try_get::<i32, _>("position")?)
                        .map_err(|_| Error::corrupt("position", "negative"))?,
                    earning_id: EarningId::from_sql(r.try_get("earning_id")?)?,
                    worker: r.try_get("worker")?,
                    payout_address: RawAddress::parse(&r.try_get::<String, _>("payout_address")?)?,
                    amount: parse_u128("amount", &r.try_get::<String, _>("amount")?)?,
                    outcome: ItemOutcome::parse(&r.try_get::<String, _>("outcome")?)?,
                })
            })
            .collect()
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

    /// The signer's check of a vault batch request against the ledger, in one consistent
    /// snapshot: the vault has a LIVE batch (batched, signed or sent) with this query id and
    /// `created_at`, and `items` are exactly its items in order (payout item id = earning id,
    /// destination, amount), each earning in the state its batch implies. Returns the batch;
    /// anything else is [`Error::RequestMismatch`] saying what differs. (That no earning is in
    /// another live or paid batch is guaranteed by the partial unique index on live items.)
    pub async fn check_vault_request(
        &self,
        vault: &RawAddress,
        query_id: u64,
        created_at: u32,
        items: &[(EarningId, RawAddress, u128)],
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
            "SELECT i.earning_id, i.outcome, e.payout_address, e.amount::text AS amount, e.state \
             FROM ledger_batch_items i JOIN ledger_earnings e ON e.id = i.earning_id \
             WHERE i.batch_id = $1 ORDER BY i.position",
        )
        .bind(batch.id.0)
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
            let got_id = EarningId::from_sql(r.try_get("earning_id")?)?;
            let got_dest = RawAddress::parse(&r.try_get::<String, _>("payout_address")?)?;
            let got_amount = parse_u128("amount", &r.try_get::<String, _>("amount")?)?;
            let outcome: String = r.try_get("outcome")?;
            let state = EarningState::parse(&r.try_get::<String, _>("state")?)?;
            if (got_id, &got_dest, got_amount) != (*id, dest, *amount) {
                return Err(mismatch(format!(
                    "item {pos}: requested ({id}, {dest}, {amount}), the ledger has \
                     ({got_id}, {got_dest}, {got_amount})"
                )));
            }
            if outcome != "pending" || state != want {
                return Err(mismatch(format!(
                    "item {pos} (earning {id}) is {outcome} / {state}, expected pending / {want}"
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

    /// A paid item bounced (`ev_payout_bounced` in the transaction `evidence`): the earning goes
    /// `confirmed -> approved` (owed again) and the item is kept as `bounced`. The same evidence
    /// again is [`Transition::AlreadyApplied`]. The journal entry is posted by
    /// [`Ledger::ingest_chain_events`], which calls this itself.
    pub async fn item_bounced(
        &self,
        earning: EarningId,
        evidence: &ChainRef,
    ) -> Result<Transition> {
        let mut tx = self.pool.begin().await?;
        let t = bounce_in(
            &mut tx,
            earning,
            evidence,
            None,
            BounceReason::PayoutBounced,
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    /// The paid attempts of an earning that came back, oldest first, with why (the earning
    /// is owed again after each).
    pub async fn earning_bounces(&self, id: EarningId) -> Result<Vec<ItemBounce>> {
        let rows = sqlx::query(
            "SELECT batch_id, bounce_reason, bounce_tx, bounced_amount::text AS amount \
             FROM ledger_batch_items WHERE earning_id = $1 AND outcome = 'bounced' \
             ORDER BY batch_id",
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

/// The bounce of `earning`'s paid item. `bounced_amount`: what came back (recorded on the
/// item when known); `reason`: why, recorded on the item.
pub(crate) async fn bounce_in(
    conn: &mut PgConnection,
    earning: EarningId,
    evidence: &ChainRef,
    bounced_amount: Option<u128>,
    reason: BounceReason,
) -> Result<Transition> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM ledger_earnings WHERE id = $1 FOR UPDATE")
            .bind(earning.sql())
            .fetch_optional(&mut *conn)
            .await?;
    let state =
        EarningState::parse(&state.ok_or_else(|| Error::UnknownEarning(earning.to_string()))?)?;
    let already: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ledger_batch_items WHERE earning_id = $1 \
             AND outcome = 'bounced' AND bounce_tx = $2)",
    )
    .bind(earning.sql())
    .bind(evidence.tx_hash.to_vec())
    .fetch_one(&mut *conn)
    .await?;
    if already {
        return Ok(Transition::AlreadyApplied);
    }
    if state != EarningState::Confirmed {
        return Err(Error::IllegalEarningTransition {
            earning,
            from: state,
            to: EarningState::Approved,
        });
    }
    let items = sqlx::query(
        "UPDATE ledger_batch_items SET outcome = 'bounced', bounce_tx = $2, \
             bounced_amount = $3::text::numeric, bounce_reason = $4 \
         WHERE earning_id = $1 AND outcome = 'paid'",
    )
    .bind(earning.sql())
    .bind(evidence.tx_hash.to_vec())
    .bind(bounced_amount.map(|a| a.to_string()))
    .bind(reason.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let moved = sqlx::query(
        "UPDATE ledger_earnings SET state = 'approved', state_changed_at = now() \
         WHERE id = $1 AND state = 'confirmed'",
    )
    .bind(earning.sql())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if items != 1 || moved != 1 {
        return Err(Error::corrupt(
            "batch items",
            format!("earning {earning} is confirmed with {items} paid item(s)"),
        ));
    }
    tracing::info!(earning = %earning, reason = reason.as_str(), tx = %hex::encode(evidence.tx_hash), "payout bounced, earning approved again");
    Ok(Transition::Applied)
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
