//! Consensus passes: the engine decides what reached its overlap and approves agreeing
//! answers in the ledger; labeling then closes decided and unresolved tasks, reopens those
//! that need more answers, gives back what closed tasks held of the budget, and reads the
//! budget again from the ledger.
//!
//! ```text
//! BEGIN; pg_advisory_xact_lock(project)          one pass per project at a time (replicas too)
//!   Engine::process(project)                     decisions committed, then approvals (ledger,
//!                                                idempotent per submission key)
//!   close: engine state decided | unresolved     tasks closed, their live reservations ended,
//!                                                what their answers held given back
//!   reopen: engine state needs_more (or answers  wanted = answers + what is missing
//!           excluded by gold) and task full
//!   sweep expired reservations (recorded; they stopped counting when they expired)
//!   budget_left = -client balance - fees due     (only when no approval was held back)
//!   fund: unfunded answer slots of open tasks,   committed + cost <= budget_left per slot
//!         priority first
//! COMMIT
//! ```
//!
//! Why the project never approves more than its budget: an ordinary task is offered only up to
//! its funded slots, and a slot is funded only with `committed + cost <= budget_left` (one
//! statement under the task set's row lock; reservations themselves never touch that row, so
//! it is no hot spot). `committed` keeps a slot's cost until its task is closed, and a task is
//! closed only in a pass, after the engine approved its agreeing answers (the ledger's balance
//! then shows them): the approvals made between two passes are already inside `committed`;
//! at a pass both move together.

use std::sync::Arc;
use std::time::Instant;

use labelmint_ledger::{Account, ProjectId};
use sqlx::Row;
use tokio::sync::Notify;

use crate::error::Result;
use crate::model::PassReport;
use crate::reserve::sweep_in;
use crate::service::{Labeling, i32_of};

/// The least time between two background passes of a project (answers arriving meanwhile
/// are decided together: a pass costs the engine a look at every pending answer).
pub const PASS_GAP: std::time::Duration = std::time::Duration::from_millis(1000);

impl Labeling {
    /// Runs one consensus pass for the project (see the module documentation).
    pub async fn settle(&self, project: u64) -> Result<PassReport> {
        let ts = self.require_task_set(project).await?;
        let p = project.to_string();
        let t0 = Instant::now();
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended('labelmint-labeling:' || $1, 0))",
        )
        .bind(&p)
        .execute(&mut *tx)
        .await?;
        let t_lock = t0.elapsed();
        let step = self.inner.engine.process(project).await?;
        let t_engine = t0.elapsed();
        let now = self.now_ms();
        // The ledger's figure now that the engine's approvals are made (read before this
        // transaction locks any task row).
        let ledger_left = if step.approvals_held == 0 {
            Some(self.ledger_budget(project, ts.fee_bps).await?)
        } else {
            None
        };
        // Close what the engine decided or gave up; end reservations still live on them;
        // their funded slots go back to the budget.
        let closed = sqlx::query(
            "WITH c AS (UPDATE labeling_tasks l SET state = 'closed' FROM consensus_tasks ct \
                 WHERE l.project_id = $1::text::numeric AND l.state = 'open' AND NOT l.gold \
                   AND ct.project_id = l.project_id AND ct.task = l.name \
                   AND ct.state IN ('decided', 'unresolved') RETURNING l.id, l.funded), \
             r AS (UPDATE labeling_reservations SET state = 'released', ended_ms = $2 \
                 WHERE task_id IN (SELECT id FROM c) AND state = 'live') \
             SELECT count(*) AS n, COALESCE(sum(funded), 0)::bigint AS slots FROM c",
        )
        .bind(&p)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let n_closed: i64 = closed.try_get("n")?;
        let slots: i64 = closed.try_get("slots")?;
        let held = (u128::try_from(slots).unwrap_or(0) * ts.cost()).to_string();
        // Reopen full tasks the engine wants more answers for (its latest decision saw every
        // answer: a task answered since waits for the next pass), or whose answers gold
        // excluded (an `open` task with fewer usable answers than its overlap).
        let reopened = sqlx::query(
            "WITH c AS (SELECT l.id, l.answers, ct.state AS cstate, \
                 (SELECT count(*) FROM consensus_submissions s WHERE s.project_id = l.project_id \
                    AND s.task = l.name AND NOT s.excluded)::int AS used \
               FROM labeling_tasks l JOIN consensus_tasks ct \
                 ON ct.project_id = l.project_id AND ct.task = l.name \
               WHERE l.project_id = $1::text::numeric AND l.state = 'open' AND NOT l.gold \
                 AND l.answers >= l.wanted AND ct.state IN ('open', 'needs_more')), \
             d AS (SELECT c.*, (SELECT cardinality(x.submission_ids) FROM consensus_decisions x \
                 JOIN labeling_tasks l2 ON l2.id = c.id \
                 WHERE x.project_id = l2.project_id AND x.task = l2.name AND x.kind = 'decision' \
                 ORDER BY x.seq DESC LIMIT 1) AS judged FROM c) \
             UPDATE labeling_tasks l SET offerable = true, wanted = LEAST( \
                 c.answers + GREATEST( \
                     CASE WHEN c.cstate = 'needs_more' THEN 1 ELSE $2 - c.used END, 1), \
                 $3 + (c.answers - c.used)) \
             FROM d c WHERE l.id = c.id \
               AND ((c.cstate = 'needs_more' AND c.used <= COALESCE(c.judged, 0)) \
                    OR (c.cstate = 'open' AND c.used < $2)) \
               AND LEAST(c.answers + GREATEST(CASE WHEN c.cstate = 'needs_more' THEN 1 \
                   ELSE $2 - c.used END, 1), $3 + (c.answers - c.used)) > l.wanted",
        )
        .bind(&p)
        .bind(i32_of(ts.overlap))
        .bind(i32_of(ts.max_overlap))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let expired = sweep_in(&mut tx, project, now).await?;
        let budget_left = if let Some(left) = ledger_left {
            sqlx::query(
                "UPDATE labeling_task_sets SET budget_left = $2::text::numeric, \
                     committed = committed - $3::text::numeric WHERE project_id = $1::text::numeric",
            )
            .bind(&p)
            .bind(left.to_string())
            .bind(&held)
            .execute(&mut *tx)
            .await?;
            Some(left)
        } else {
            sqlx::query(
                "UPDATE labeling_task_sets SET committed = committed - $2::text::numeric, budget_left = 0 \
                 WHERE project_id = $1::text::numeric",
            )
            .bind(&p)
            .bind(&held)
            .execute(&mut *tx)
            .await?;
            None
        };
        let t_rest = t0.elapsed();
        let funded = fund_in(&mut tx, &ts).await?;
        tx.commit().await?;
        let t_all = t0.elapsed();
        let report = PassReport {
            funded,
            decided: step.decided,
            needs_more: step.needs_more,
            approvals_created: step.approvals_created,
            closed: u64::try_from(n_closed).unwrap_or(0),
            reopened,
            expired,
            budget_left,
        };
        if report.closed > 0 || report.approvals_created > 0 {
            tracing::info!(
                project,
                ?report,
                lock_ms = t_lock.as_millis() as u64,
                engine_ms = (t_engine - t_lock).as_millis() as u64,
                close_reopen_sweep_ms = (t_rest - t_engine).as_millis() as u64,
                fund_commit_ms = (t_all - t_rest).as_millis() as u64,
                "consensus pass"
            );
        }
        Ok(report)
    }

    /// Funds answer slots of open tasks (priority first) with what the budget has left.
    /// Returns how many slots.
    pub async fn fund(&self, project: u64) -> Result<u64> {
        let ts = self.require_task_set(project).await?;
        let mut tx = self.inner.pool.begin().await?;
        let n = fund_in(&mut tx, &ts).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// What the ledger lets the project still approve: the client's balance (deposited -
    /// refunded - approved - fees charged) minus the fees its escrow will charge on what is
    /// approved and not yet released.
    pub async fn ledger_budget(&self, project: u64, fee_bps: u32) -> Result<u128> {
        let ledger = &self.inner.ledger;
        let Some(pr) = ledger.project(ProjectId(project)).await? else {
            return Ok(0);
        };
        let client = ledger
            .balance(&Account::Client(ProjectId(project)), &pr.currency)
            .await?;
        let funding = ledger.project_funding(ProjectId(project)).await?;
        let fees_due = (funding.releasable * u128::from(fee_bps)).div_ceil(10_000);
        let available = u128::try_from((-client).max(0)).unwrap_or(0);
        Ok(available.saturating_sub(fees_due))
    }

    /// Asks for a consensus pass of the project soon (coalesced: one loop per project runs
    /// passes while asked). Without background passes, this does nothing.
    pub(crate) fn wake(&self, project: u64) {
        if !self.inner.background {
            return;
        }
        let notify = {
            let mut passes = match self.inner.passes.lock() {
                Ok(p) => p,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(n) = passes.get(&project) {
                Arc::clone(n)
            } else {
                let n = Arc::new(Notify::new());
                passes.insert(project, Arc::clone(&n));
                let me = self.clone();
                let waiter = Arc::clone(&n);
                tokio::spawn(async move {
                    loop {
                        waiter.notified().await;
                        if let Err(e) = me.settle(project).await {
                            tracing::warn!(project, error = %e, "consensus pass failed; retried at the next answer");
                        }
                        // Answers arriving meanwhile are decided together in the next pass.
                        tokio::time::sleep(PASS_GAP).await;
                    }
                });
                n
            }
        };
        notify.notify_one();
    }
}

/// Under the task set's row lock: as many unfunded slots as `(budget_left - committed) / cost`
/// allows, highest priority first (a task may be funded in part), and `committed` grows by
/// their cost.
pub(crate) async fn fund_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    ts: &crate::model::TaskSet,
) -> Result<u64> {
    let p = ts.project.to_string();
    let cost = ts.cost();
    let row = sqlx::query(
        "SELECT ((budget_left - committed) / $2::text::numeric)::text AS slots \
         FROM labeling_task_sets WHERE project_id = $1::text::numeric FOR UPDATE",
    )
    .bind(&p)
    .bind(cost.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let slots: String = row.try_get("slots")?;
    // floor of a non-negative NUMERIC division, capped to what a BIGINT holds.
    let whole = slots.split('.').next().unwrap_or("0");
    let avail: i64 = if whole.starts_with('-') {
        0
    } else {
        whole.parse().unwrap_or(i64::MAX)
    };
    if avail <= 0 {
        return Ok(0);
    }
    let funded: i64 = sqlx::query_scalar(
        "WITH c AS (SELECT id, wanted - funded AS need, \
                 sum(wanted - funded) OVER (ORDER BY priority DESC, id) AS run \
             FROM labeling_tasks WHERE project_id = $1::text::numeric AND state = 'open' \
               AND NOT gold AND funded < wanted), \
         u AS (UPDATE labeling_tasks t SET offerable = true, \
                 funded = t.funded + LEAST(c.need, $2 - (c.run - c.need)) \
             FROM c WHERE t.id = c.id AND c.run - c.need < $2 \
             RETURNING LEAST(c.need, $2 - (c.run - c.need)) AS added) \
         SELECT COALESCE(sum(added), 0)::bigint FROM u",
    )
    .bind(&p)
    .bind(avail)
    .fetch_one(&mut **tx)
    .await?;
    if funded > 0 {
        sqlx::query(
            "UPDATE labeling_task_sets SET committed = committed + $2::text::numeric \
             WHERE project_id = $1::text::numeric",
        )
        .bind(&p)
        .bind((u128::try_from(funded).unwrap_or(0) * cost).to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(u64::try_from(funded).unwrap_or(0))
}
