//! A worker's balance (approved, not yet paid: the ledger's earnings), withdrawal requests,
//! automatic thresholds and the minimum payout per currency.
//!
//! The settler forms batches from approved earnings; [`Labeling::due_earnings`] names the
//! earnings that are due under these rules (an open request, or a balance at the worker's
//! threshold, and never below the currency's minimum), for `Ledger::form_batch_of`.

use labelmint_ledger::{CurrencyCode, EarningId};
use sqlx::Row;

use crate::error::{Error, Result};
use crate::model::Balance;
use crate::service::{Labeling, u128_of};

impl Labeling {
    /// The worker's balances, one per currency they have earnings in.
    pub async fn balances(&self, worker: &str) -> Result<Vec<Balance>> {
        let rows = sqlx::query(
            "SELECT e.currency, c.decimals, \
                 COALESCE(sum(e.amount) FILTER (WHERE e.state = 'approved'), 0)::text AS approved, \
                 COALESCE(sum(e.amount) FILTER (WHERE e.state IN ('batched', 'signed', 'sent')), 0)::text \
                     AS in_flight, \
                 (SELECT minimum::text FROM labeling_payout_minimums m WHERE m.currency = e.currency) AS minimum, \
                 (SELECT threshold::text FROM labeling_payout_thresholds t \
                     WHERE t.worker = $1 AND t.currency = e.currency) AS threshold, \
                 (SELECT amount::text FROM labeling_withdrawals w WHERE w.worker = $1 \
                     AND w.currency = e.currency AND w.state = 'open') AS requested \
             FROM ledger_earnings e JOIN ledger_currencies c ON c.code = e.currency \
             WHERE e.worker = $1 GROUP BY e.currency, c.decimals ORDER BY e.currency",
        )
        .bind(worker)
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let opt = |k: &'static str| -> Result<Option<u128>> {
                    r.try_get::<Option<String>, _>(k)?
                        .map(|v| u128_of(k, &v))
                        .transpose()
                };
                Ok(Balance {
                    currency: r.try_get("currency")?,
                    decimals: u8::try_from(r.try_get::<i16, _>("decimals")?).unwrap_or(0),
                    approved: u128_of("approved", &r.try_get::<String, _>("approved")?)?,
                    in_flight: u128_of("in_flight", &r.try_get::<String, _>("in_flight")?)?,
                    minimum_payout: opt("minimum")?.unwrap_or(0),
                    threshold: opt("threshold")?,
                    requested: opt("requested")?,
                })
            })
            .collect()
    }

    /// Sets the smallest payout of a currency.
    pub async fn set_minimum_payout(&self, currency: &CurrencyCode, minimum: u128) -> Result<()> {
        if minimum == 0 || minimum > labelmint_ledger::MAX_AMOUNT {
            return Err(Error::invalid("minimum", "must be in 1..2^120"));
        }
        sqlx::query(
            "INSERT INTO labeling_payout_minimums (currency, minimum) VALUES ($1, $2::text::numeric) \
             ON CONFLICT (currency) DO UPDATE SET minimum = EXCLUDED.minimum",
        )
        .bind(currency.as_str())
        .bind(minimum.to_string())
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    /// Sets (or with `None` clears) the worker's automatic payout threshold in a currency; a
    /// threshold below the currency's minimum is refused.
    pub async fn set_threshold(
        &self,
        worker: &str,
        currency: &CurrencyCode,
        threshold: Option<u128>,
    ) -> Result<()> {
        match threshold {
            None => {
                sqlx::query(
                    "DELETE FROM labeling_payout_thresholds WHERE worker = $1 AND currency = $2",
                )
                .bind(worker)
                .bind(currency.as_str())
                .execute(&self.inner.pool)
                .await?;
            }
            Some(t) => {
                let min = self.minimum_payout(currency).await?;
                if t < min || t == 0 || t > labelmint_ledger::MAX_AMOUNT {
                    return Err(Error::Withdrawal(format!(
                        "threshold {t} is below the minimum payout {min} {currency}"
                    )));
                }
                sqlx::query(
                    "INSERT INTO labeling_payout_thresholds (worker, currency, threshold) \
                     VALUES ($1, $2, $3::text::numeric) ON CONFLICT (worker, currency) \
                     DO UPDATE SET threshold = EXCLUDED.threshold",
                )
                .bind(worker)
                .bind(currency.as_str())
                .bind(t.to_string())
                .execute(&self.inner.pool)
                .await?;
            }
        }
        Ok(())
    }

    async fn minimum_payout(&self, currency: &CurrencyCode) -> Result<u128> {
        let m: Option<String> = sqlx::query_scalar(
            "SELECT minimum::text FROM labeling_payout_minimums WHERE currency = $1",
        )
        .bind(currency.as_str())
        .fetch_optional(&self.inner.pool)
        .await?;
        m.map_or(Ok(0), |m| u128_of("minimum", &m))
    }

    /// Requests the payout of the worker's whole approved balance in `currency` at the next
    /// settlement. Refused below the currency's minimum. Asking again while a request is open
    /// returns the open request's amount.
    pub async fn request_withdrawal(&self, worker: &str, currency: &CurrencyCode) -> Result<u128> {
        let balance = self
            .balances(worker)
            .await?
            .into_iter()
            .find(|b| b.currency == currency.as_str());
        let Some(b) = balance else {
            return Err(Error::Withdrawal(format!("no {currency} earnings")));
        };
        if let Some(open) = b.requested {
            return Ok(open);
        }
        if b.approved == 0 || b.approved < b.minimum_payout {
            return Err(Error::Withdrawal(format!(
                "balance {} is below the minimum payout {} {currency}",
                b.approved, b.minimum_payout
            )));
        }
        sqlx::query(
            "INSERT INTO labeling_withdrawals (worker, currency, amount) \
             VALUES ($1, $2, $3::text::numeric) ON CONFLICT DO NOTHING",
        )
        .bind(worker)
        .bind(currency.as_str())
        .bind(b.approved.to_string())
        .execute(&self.inner.pool)
        .await?;
        Ok(b.approved)
    }

    /// The approved earnings of `currency` that are due now: workers with an open withdrawal
    /// request, or whose approved balance reached their threshold; never a worker whose
    /// balance is below the currency's minimum. Oldest first.
    pub async fn due_earnings(&self, currency: &CurrencyCode) -> Result<Vec<EarningId>> {
        let rows = sqlx::query(
            "WITH b AS (SELECT worker, sum(amount) AS approved FROM ledger_earnings \
                 WHERE currency = $1 AND state = 'approved' GROUP BY worker), \
             m AS (SELECT COALESCE((SELECT minimum FROM labeling_payout_minimums \
                 WHERE currency = $1), 0) AS minimum), \
             due AS (SELECT b.worker FROM b, m WHERE b.approved >= m.minimum AND ( \
                 EXISTS (SELECT 1 FROM labeling_withdrawals w WHERE w.worker = b.worker \
                     AND w.currency = $1 AND w.state = 'open') \
                 OR EXISTS (SELECT 1 FROM labeling_payout_thresholds t WHERE t.worker = b.worker \
                     AND t.currency = $1 AND b.approved >= t.threshold))) \
             SELECT e.id FROM ledger_earnings e JOIN due ON due.worker = e.worker \
             WHERE e.currency = $1 AND e.state = 'approved' ORDER BY e.approved_at, e.id",
        )
        .bind(currency.as_str())
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let id =
                    u64::try_from(id).map_err(|_| Error::invalid("earning id", id.to_string()))?;
                Ok(EarningId::new(id)?)
            })
            .collect()
    }

    /// Marks open withdrawal requests done once no approved earning of the worker in that
    /// currency is left (a settlement took them). Returns how many.
    pub async fn close_withdrawals(&self, currency: &CurrencyCode) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE labeling_withdrawals w SET state = 'done' WHERE w.currency = $1 \
               AND w.state = 'open' AND NOT EXISTS (SELECT 1 FROM ledger_earnings e \
                 WHERE e.worker = w.worker AND e.currency = $1 AND e.state = 'approved')",
        )
        .bind(currency.as_str())
        .execute(&self.inner.pool)
        .await?
        .rows_affected())
    }
}
