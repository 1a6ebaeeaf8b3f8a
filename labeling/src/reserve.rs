//! `next`: a task for a worker, with a reservation.
//!
//! ```text
//! cut off by gold? -> 403            live reservation in this project? -> the same one again
//! gold with probability gold_per_mille / 1000 (the other kind when one kind has none)
//!   SELECT ... FOR UPDATE SKIP LOCKED   open, not answered/skipped by the worker, and
//!                                       answers + live reservations < least(wanted, funded)
//!   re-count under the row lock         (a fresh statement: every committed reservation)
//!   INSERT reservation                  one transaction; no lock but the one task row (the
//!                                       budget was taken when the slot was funded)
//! nothing free, but open tasks lack funding -> 409 budget-exhausted (and a pass is asked for)
//! ```

use labelmint_ledger::RawAddress;
use sqlx::{Postgres, Row, Transaction};

use crate::error::{Error, Result};
use crate::model::{Reservation, TaskSet, Worker};
use crate::service::Labeling;

/// Candidates looked at before answering that nothing is free.
const ATTEMPTS: usize = 16;

impl Labeling {
    /// Reserves a task of `project` for `worker` (`None`: nothing is free for this worker).
    pub async fn next(&self, project: u64, worker: &Worker) -> Result<Option<Reservation>> {
        let ts = self.require_task_set(project).await?;
        if worker.wallet.workchain() != 0 {
            return Err(Error::invalid("worker", "payouts go to the basechain only"));
        }
        if self.is_cut_off(project, worker.id()).await? {
            return Err(Error::WorkerCutOff { project });
        }
        let now = self.now_ms();
        if let Some(r) = self.live_reservation(&ts, worker.id(), now).await? {
            return Ok(Some(r));
        }
        let gold_first = ts.gold_per_mille > 0 && rand::random::<u32>() % 1000 < ts.gold_per_mille;
        let kinds = if gold_first {
            [true, false]
        } else {
            [false, true]
        };
        for gold in kinds {
            if let Some(r) = self.reserve_kind(&ts, worker.id(), gold, now).await? {
                return Ok(Some(r));
            }
        }
        // Nothing free: is it the budget? (open tasks the worker could answer, not funded)
        let unfunded: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM labeling_tasks t WHERE t.project_id = $1::text::numeric \
                 AND t.state = 'open' AND NOT t.gold AND t.funded < t.wanted \
                 AND t.answers + (SELECT count(*) FROM labeling_reservations r \
                     WHERE r.task_id = t.id AND r.state = 'live' AND r.expires_ms > $3) >= t.funded \
                 AND NOT EXISTS (SELECT 1 FROM labeling_answers a \
                     WHERE a.task_id = t.id AND a.worker = $2))",
        )
        .bind(project.to_string())
        .bind(worker.id())
        .bind(now)
        .fetch_one(&self.inner.pool)
        .await?;
        if unfunded {
            self.wake(project);
            let (left, committed) = self.budget(project).await?;
            return Err(Error::BudgetExhausted {
                project,
                left,
                committed,
                cost: ts.cost(),
            });
        }
        Ok(None)
    }

    async fn reserve_kind(
        &self,
        ts: &TaskSet,
        worker: &str,
        gold: bool,
        now: i64,
    ) -> Result<Option<Reservation>> {
        let p = ts.project.to_string();
        let mut tx = self.inner.pool.begin().await?;
        let mut passed: Vec<i64> = Vec::new();
        for attempt in 0..ATTEMPTS {
            // First a task whose earliest reservation may have expired (back in the pool),
            // then the offer index.
            let expiring = if gold || attempt > 0 {
                None
            } else {
                sqlx::query(
                    "SELECT t.id FROM labeling_tasks t \
                     WHERE t.project_id = $1::text::numeric AND t.state = 'open' \
                       AND NOT t.offerable AND NOT t.gold AND t.soonest_expiry_ms <= $2 \
                       AND t.id <> ALL($3) \
                     ORDER BY t.soonest_expiry_ms LIMIT 1 FOR UPDATE OF t SKIP LOCKED",
                )
                .bind(&p)
                .bind(now)
                .bind(&passed)
                .fetch_optional(&mut *tx)
                .await?
            };
            let row = match expiring {
                Some(r) => Some(r),
                None => {
                    sqlx::query(
                        "SELECT t.id FROM labeling_tasks t \
                     WHERE t.project_id = $1::text::numeric AND t.state = 'open' AND t.offerable \
                       AND t.gold = $2 AND t.id <> ALL($4) \
                       AND NOT EXISTS (SELECT 1 FROM labeling_answers a \
                                       WHERE a.task_id = t.id AND a.worker = $3) \
                     ORDER BY t.priority DESC, t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED",
                    )
                    .bind(&p)
                    .bind(gold)
                    .bind(worker)
                    .bind(&passed)
                    .fetch_optional(&mut *tx)
                    .await?
                }
            };
            let Some(row) = row else {
                return Ok(None);
            };
            let id: i64 = row.try_get("id")?;
            // Under the row lock, in a fresh statement: every reservation committed for it.
            let free: bool = sqlx::query_scalar(
                "SELECT t.state = 'open' AND NOT EXISTS (SELECT 1 FROM labeling_answers a \
                        WHERE a.task_id = t.id AND a.worker = $2) \
                    AND NOT EXISTS (SELECT 1 FROM labeling_reservations r WHERE r.task_id = t.id \
                        AND r.worker = $2 AND r.state = 'live' AND r.expires_ms > $3) \
                    AND (t.gold OR t.answers + (SELECT count(*) FROM labeling_reservations r \
                        WHERE r.task_id = t.id AND r.state = 'live' AND r.expires_ms > $3) \
                        < LEAST(t.wanted, t.funded)) \
                 FROM labeling_tasks t WHERE t.id = $1",
            )
            .bind(id)
            .bind(worker)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            if !free {
                // Correct the hints: offerable iff slots are left; the earliest live expiry.
                refresh_hint(&mut tx, id, now).await?;
                passed.push(id);
                continue;
            }
            let cost = if gold { 0 } else { ts.price };
            let reservation = insert(&mut tx, ts, id, worker, cost, now).await?;
            tx.commit().await?;
            return Ok(Some(reservation));
        }
        Ok(None)
    }

    /// The worker's live reservation in the project, if any (asking again returns it).
    async fn live_reservation(
        &self,
        ts: &TaskSet,
        worker: &str,
        now: i64,
    ) -> Result<Option<Reservation>> {
        let row = sqlx::query(
            "SELECT r.task_id, r.expires_ms, t.payload FROM labeling_reservations r \
             JOIN labeling_tasks t ON t.id = r.task_id \
             WHERE r.project_id = $1::text::numeric AND r.worker = $2 AND r.state = 'live' \
               AND r.expires_ms > $3 AND t.state = 'open' \
             ORDER BY r.id DESC LIMIT 1",
        )
        .bind(ts.project.to_string())
        .bind(worker)
        .bind(now)
        .fetch_optional(&self.inner.pool)
        .await?;
        row.map(|r| {
            Ok(Reservation {
                task_id: r.try_get("task_id")?,
                project: ts.project,
                task_type: "classification".into(),
                payload: r.try_get("payload")?,
                labels: ts.labels.clone(),
                expires_ms: r.try_get("expires_ms")?,
            })
        })
        .transpose()
    }

    /// Whether the engine's gold checks flagged the worker in the project.
    pub async fn is_cut_off(&self, project: u64, worker: &str) -> Result<bool> {
        Ok(self
            .inner
            .store
            .worker_stats(project, worker)
            .await?
            .is_some_and(|s| s.flagged))
    }

    /// (budget the ledger allows, what reservations and undecided answers hold of it).
    pub async fn budget(&self, project: u64) -> Result<(u128, u128)> {
        let row = sqlx::query(
            "SELECT budget_left::text AS l, committed::text AS c FROM labeling_task_sets \
             WHERE project_id = $1::text::numeric",
        )
        .bind(project.to_string())
        .fetch_optional(&self.inner.pool)
        .await?
        .ok_or(Error::UnknownProject { project })?;
        Ok((
            crate::service::u128_of("budget_left", &row.try_get::<String, _>("l")?)?,
            crate::service::u128_of("committed", &row.try_get::<String, _>("c")?)?,
        ))
    }

    /// Marks the project's expired reservations `expired` (they stopped counting when they
    /// expired; this records it). Returns how many.
    pub async fn sweep_expired(&self, project: u64) -> Result<u64> {
        let mut tx = self.inner.pool.begin().await?;
        let n = sweep_in(&mut tx, project, self.now_ms()).await?;
        tx.commit().await?;
        Ok(n)
    }
}

pub(crate) async fn sweep_in(
    tx: &mut Transaction<'_, Postgres>,
    project: u64,
    now: i64,
) -> Result<u64> {
    // Task rows are not touched here (their soonest_expiry_ms already lets `next` find them):
    // a sweep locking tasks after reservations would deadlock with a submission locking
    // them the other way round.
    Ok(sqlx::query(
        "UPDATE labeling_reservations SET state = 'expired', ended_ms = expires_ms \
         WHERE project_id = $1::text::numeric AND state = 'live' AND expires_ms <= $2",
    )
    .bind(project.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    ts: &TaskSet,
    task: i64,
    worker: &str,
    cost: u128,
    now: i64,
) -> Result<Reservation> {
    let expires = now + ts.reservation_ms;
    // The reservation, and the task's hints: with this one, are its slots all taken?
    let payload: serde_json::Value = sqlx::query_scalar(
        "WITH r AS (INSERT INTO labeling_reservations \
             (task_id, project_id, worker, cost, created_ms, expires_ms) \
             VALUES ($1, $2::text::numeric, $3, $4::text::numeric, $5, $6)) \
         UPDATE labeling_tasks t SET \
             soonest_expiry_ms = LEAST(COALESCE(t.soonest_expiry_ms, $6), $6), \
             offerable = t.gold OR t.answers + 1 + (SELECT count(*) FROM labeling_reservations x \
                 WHERE x.task_id = t.id AND x.state = 'live' AND x.expires_ms > $5) \
                 < LEAST(t.wanted, t.funded) \
         WHERE t.id = $1 RETURNING t.payload",
    )
    .bind(task)
    .bind(ts.project.to_string())
    .bind(worker)
    .bind(cost.to_string())
    .bind(now)
    .bind(expires)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Reservation {
        task_id: task,
        project: ts.project,
        task_type: "classification".into(),
        payload,
        labels: ts.labels.clone(),
        expires_ms: expires,
    })
}

/// A worker from a raw wallet text (the API's sessions carry it raw).
pub fn worker_of(wallet: &str) -> Result<Worker> {
    Ok(Worker::new(RawAddress::parse(wallet)?))
}

/// Recomputes a locked task's hints from its live reservations.
pub(crate) async fn refresh_hint(
    tx: &mut Transaction<'_, Postgres>,
    task: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE labeling_tasks t SET \
             soonest_expiry_ms = (SELECT min(expires_ms) FROM labeling_reservations r \
                 WHERE r.task_id = t.id AND r.state = 'live' AND r.expires_ms > $2), \
             offerable = t.gold OR t.answers + (SELECT count(*) FROM labeling_reservations r \
                 WHERE r.task_id = t.id AND r.state = 'live' AND r.expires_ms > $2) \
                 < LEAST(t.wanted, t.funded) \
         WHERE t.id = $1",
    )
    .bind(task)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
