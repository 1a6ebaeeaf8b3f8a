//! A worker's payout address, corrected; payout holds (an address a payout came back from is
//! not paid again by itself).
//!
//! ```text
//! item paid --bounce / refusal--> its earnings approved again + hold on (worker, currency, address)
//!    hold: form_batch skips that worker's earnings to that address
//!    correct_payout_address(worker, currency, new): the worker's approved earnings of the
//!        currency get the new address (recorded: who, when, each earning's old address);
//!        the next batch pays them there (the hold stays on the old address)
//!    release_payout_hold(worker, currency, address, by): the same address works again
//! ```
//!
//! Granularity: per worker and currency, which is what a person means by "my address is
//! wrong": every approved earning of the worker in that currency, whatever its project, gets
//! the new address. Earnings in a live batch are left alone (their batch may still pay the old
//! address; if it comes back, correct again); paid earnings are history.

use sqlx::Row;

use crate::Ledger;
use crate::error::{Error, Result};
use crate::model::{AddressCorrection, BounceReason, CorrectionRecord, PayoutHold};
use crate::num::hash32;
use crate::types::{CurrencyCode, EarningId, ItemId, RawAddress};

impl Ledger {
    /// Gives every approved earning of `c.worker` in `c.currency` (approved: in no live batch,
    /// not paid, not revoked) the payout address `c.new_address`, in one transaction, and
    /// records the correction (who, when, why, each earning with its old address). The
    /// database refuses an address change that is not recorded this way. Earnings in a live
    /// batch (batched, signed, sent) are not touched and counted in
    /// [`CorrectionRecord::in_flight`]. Nothing to change: nothing recorded (`id: None`).
    /// Holds are per address: the old address's hold stays (an approval that still names it
    /// waits), the new address has none.
    pub async fn correct_payout_address(&self, c: &AddressCorrection) -> Result<CorrectionRecord> {
        check_text("worker", &c.worker, 256)?;
        check_text("corrected_by", &c.corrected_by, 256)?;
        if c.reason.len() > 1024 || c.reason.chars().any(char::is_control) {
            return Err(Error::invalid(
                "reason",
                "at most 1024 bytes without control characters",
            ));
        }
        if c.new_address.workchain() != 0 {
            return Err(Error::invalid(
                "new_address",
                "payouts go to the basechain (workchain 0) only",
            ));
        }
        if self.currency(&c.currency).await?.is_none() {
            return Err(Error::UnknownCurrency(c.currency.clone()));
        }
        let mut tx = self.pool.begin().await?;
        // Locked: a batch being formed skips them (SKIP LOCKED), or has taken them already
        // (then they are batched and not corrected).
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, payout_address FROM ledger_earnings \
             WHERE worker = $1 AND currency = $2 AND state = 'approved' AND payout_address <> $3 \
             ORDER BY id FOR UPDATE",
        )
        .bind(&c.worker)
        .bind(c.currency.as_str())
        .bind(c.new_address.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let in_flight: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM ledger_earnings WHERE worker = $1 AND currency = $2 \
             AND state IN ('batched', 'signed', 'sent')",
        )
        .bind(&c.worker)
        .bind(c.currency.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let in_flight = usize::try_from(in_flight).unwrap_or(0);
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(CorrectionRecord {
                id: None,
                corrected: Vec::new(),
                in_flight,
            });
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ledger_address_corrections (worker, currency, new_address, corrected_by, reason) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&c.worker)
        .bind(c.currency.as_str())
        .bind(c.new_address.as_str())
        .bind(&c.corrected_by)
        .bind(&c.reason)
        .fetch_one(&mut *tx)
        .await?;
        let (ids, olds): (Vec<i64>, Vec<String>) = rows.into_iter().unzip();
        sqlx::query(
            "INSERT INTO ledger_address_correction_earnings (correction_id, earning_id, old_address) \
             SELECT $1, e, o FROM UNNEST($2::bigint[], $3::text[]) AS t(e, o)",
        )
        .bind(id)
        .bind(&ids)
        .bind(&olds)
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE ledger_earnings SET payout_address = $2 WHERE id = ANY($1) AND state = 'approved'",
        )
        .bind(&ids)
        .bind(c.new_address.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != ids.len() as u64 {
            return Err(Error::corrupt(
                "earning states",
                format!("{moved} of {} locked earnings were approved", ids.len()),
            ));
        }
        tx.commit().await?;
        let corrected = ids
            .iter()
            .zip(&olds)
            .map(|(e, o)| Ok((EarningId::from_sql(*e)?, RawAddress::parse(o)?)))
            .collect::<Result<Vec<_>>>()?;
        tracing::info!(correction = id, worker = %c.worker, currency = %c.currency, new = %c.new_address, by = %c.corrected_by, earnings = corrected.len(), in_flight, "payout address corrected");
        Ok(CorrectionRecord {
            id: Some(id),
            corrected,
            in_flight,
        })
    }

    /// The corrections of an earning's payout address, oldest first: (correction id, old
    /// address, new address, who).
    pub async fn address_corrections(
        &self,
        earning: EarningId,
    ) -> Result<Vec<(i64, RawAddress, RawAddress, String)>> {
        let rows = sqlx::query(
            "SELECT h.id, c.old_address, h.new_address, h.corrected_by \
             FROM ledger_address_correction_earnings c \
             JOIN ledger_address_corrections h ON h.id = c.correction_id \
             WHERE c.earning_id = $1 ORDER BY h.id",
        )
        .bind(earning.sql())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    RawAddress::parse(&r.try_get::<String, _>("old_address")?)?,
                    RawAddress::parse(&r.try_get::<String, _>("new_address")?)?,
                    r.try_get("corrected_by")?,
                ))
            })
            .collect()
    }

    /// The active payout holds of a currency, oldest first.
    pub async fn payout_holds(&self, currency: &CurrencyCode) -> Result<Vec<PayoutHold>> {
        let rows = sqlx::query(
            "SELECT id, worker, currency, payout_address, reason, item_id, bounce_tx \
             FROM ledger_payout_holds WHERE currency = $1 AND released_at IS NULL ORDER BY id",
        )
        .bind(currency.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PayoutHold {
                    id: r.try_get("id")?,
                    worker: r.try_get("worker")?,
                    currency: CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
                    payout_address: RawAddress::parse(&r.try_get::<String, _>("payout_address")?)?,
                    reason: BounceReason::parse(&r.try_get::<String, _>("reason")?)?,
                    item_id: ItemId::from_sql(r.try_get("item_id")?)?,
                    bounce_tx: hash32("bounce_tx", r.try_get("bounce_tx")?)?
                        .ok_or_else(|| Error::corrupt("bounce_tx", "NULL"))?,
                })
            })
            .collect()
    }

    /// Releases the hold on `address` for `worker` in `currency` (the address is known to
    /// accept payouts again: a wallet unfrozen, a jetton wallet unlocked); `by`: who decided.
    /// The worker's approved earnings to it are batched again. No active hold:
    /// [`Error::NoPayoutHold`].
    pub async fn release_payout_hold(
        &self,
        worker: &str,
        currency: &CurrencyCode,
        address: &RawAddress,
        by: &str,
    ) -> Result<()> {
        check_text("released_by", by, 256)?;
        let done = sqlx::query(
            "UPDATE ledger_payout_holds SET released_at = now(), released_by = $4 \
             WHERE worker = $1 AND currency = $2 AND payout_address = $3 AND released_at IS NULL",
        )
        .bind(worker)
        .bind(currency.as_str())
        .bind(address.as_str())
        .bind(by)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(Error::NoPayoutHold {
                worker: worker.to_owned(),
                currency: currency.clone(),
                address: address.to_string(),
            });
        }
        tracing::info!(worker, currency = %currency, address = %address, by, "payout hold released");
        Ok(())
    }
}

fn check_text(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("must be 1..={max} bytes without control characters"),
        ));
    }
    Ok(())
}
