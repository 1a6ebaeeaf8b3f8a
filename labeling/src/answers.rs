//! Submit, skip, release, history: only the reservation holder, only before expiry, each
//! idempotent.
//!
//! ```text
//! lock the task row (FOR UPDATE) -> the worker's answer already there? same label: replay |
//! other label: 409 -> label in the set? -> the worker's live reservation (another worker's:
//! 403; none: 409; expired: 409) -> task closed? release, 409 -> engine: Store::submit
//! (idempotent per task and worker) -> answer row, reservation answered, answers + 1 -> commit
//! -> the task is full (or gold): wake the project's consensus pass
//! ```
//!
//! A crash after the engine stored the submission and before labeling committed leaves the
//! reservation live: the worker's retry finds the engine's row (same id) and completes.

use labelmint_consensus::NewSubmission;
use sqlx::{Postgres, Row, Transaction};

use crate::error::{Error, Result};
use crate::model::{HistoryEvent, Submitted, Worker};
use crate::service::Labeling;

struct Locked {
    project: u64,
    name: String,
    gold: bool,
    open: bool,
    answers: i32,
    wanted: i32,
}

struct Held {
    id: i64,
    cost: String,
}

impl Labeling {
    /// Answers a reserved task.
    pub async fn submit(&self, task_id: i64, worker: &Worker, label: &str) -> Result<Submitted> {
        let now = self.now_ms();
        // Read before the transaction: a connection held while asking the same pool for
        // another one is how a busy pool deadlocks.
        let ts = self
            .require_task_set(self.task_project(task_id).await?)
            .await?;
        let mut tx = self.inner.pool.begin().await?;
        let t = lock_task(&mut tx, task_id).await?;
        if let Some((kind, prior, sub)) = answer_of(&mut tx, task_id, worker.id()).await? {
            return match (kind.as_str(), prior) {
                ("answer", Some(l)) if l == label => Ok(Submitted {
                    submission_id: sub.unwrap_or(0),
                    replayed: true,
                }),
                ("answer", _) => Err(Error::AnswerConflict { task_id }),
                _ => Err(Error::AlreadyDone {
                    task_id,
                    what: "skipped",
                }),
            };
        }
        if !ts.labels.iter().any(|l| l == label) {
            return Err(Error::LabelNotInSet {
                label: label.chars().take(100).collect(),
                labels: ts.labels,
            });
        }
        let held = holder_check(&mut tx, task_id, worker.id(), now).await?;
        if !t.open {
            end_reservation(&mut tx, &held, "released", now).await?;
            tx.commit().await?;
            return Err(Error::TaskClosed { task_id });
        }
        let submission_id = self
            .inner
            .store
            .submit(&NewSubmission {
                project: t.project,
                task: t.name.clone(),
                worker: worker.id().to_owned(),
                payout_address: worker.wallet.as_str().to_owned(),
                label: label.to_owned(),
            })
            .await?;
        sqlx::query(
            "WITH a AS (INSERT INTO labeling_answers (task_id, project_id, worker, kind, label, \
                 reservation_id, submission_id, cost, created_ms) \
                 VALUES ($1, $2::text::numeric, $3, 'answer', $4, $5, $6, $7::text::numeric, $8)), \
             r AS (UPDATE labeling_reservations SET state = 'answered', ended_ms = $8 \
                 WHERE id = $5) \
             UPDATE labeling_tasks SET answers = answers + 1 WHERE id = $1",
        )
        .bind(task_id)
        .bind(t.project.to_string())
        .bind(worker.id())
        .bind(label)
        .bind(held.id)
        .bind(submission_id)
        .bind(&held.cost)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if t.gold || t.answers + 1 >= t.wanted {
            self.wake(t.project);
        }
        Ok(Submitted {
            submission_id,
            replayed: false,
        })
    }

    /// Skips a reserved task: the worker never gets it again; its reservation ends.
    /// Skipping again is a no-op.
    pub async fn skip(&self, task_id: i64, worker: &Worker) -> Result<()> {
        let now = self.now_ms();
        let mut tx = self.inner.pool.begin().await?;
        let t = lock_task(&mut tx, task_id).await?;
        if let Some((kind, _, _)) = answer_of(&mut tx, task_id, worker.id()).await? {
            return if kind == "skip" {
                Ok(())
            } else {
                Err(Error::AlreadyDone {
                    task_id,
                    what: "answered",
                })
            };
        }
        let held = holder_check(&mut tx, task_id, worker.id(), now).await?;
        sqlx::query(
            "INSERT INTO labeling_answers (task_id, project_id, worker, kind, reservation_id, \
                 created_ms) VALUES ($1, $2::text::numeric, $3, 'skip', $4, $5)",
        )
        .bind(task_id)
        .bind(t.project.to_string())
        .bind(worker.id())
        .bind(held.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        end_reservation(&mut tx, &held, "skipped", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a reserved task back to the pool (the worker may get it again). Releasing a
    /// reservation already released is a no-op.
    pub async fn release(&self, task_id: i64, worker: &Worker) -> Result<()> {
        let now = self.now_ms();
        let mut tx = self.inner.pool.begin().await?;
        lock_task(&mut tx, task_id).await?;
        let last: Option<String> = sqlx::query_scalar(
            "SELECT state FROM labeling_reservations WHERE task_id = $1 AND worker = $2 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(task_id)
        .bind(worker.id())
        .fetch_optional(&mut *tx)
        .await?;
        if last.as_deref() == Some("released") {
            return Ok(());
        }
        let held = holder_check(&mut tx, task_id, worker.id(), now).await?;
        end_reservation(&mut tx, &held, "released", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A task's history: every reservation and answer (of `worker` only, when given), then
    /// the engine's decisions (for the project's client: `worker` is `None`).
    pub async fn history(&self, task_id: i64, worker: Option<&str>) -> Result<Vec<HistoryEvent>> {
        let task =
            sqlx::query("SELECT project_id::text AS p, name FROM labeling_tasks WHERE id = $1")
                .bind(task_id)
                .fetch_optional(&self.inner.pool)
                .await?
                .ok_or(Error::UnknownTask { task_id })?;
        let rows = sqlx::query(
            "SELECT created_ms AS at, 'reserved' AS event, worker, NULL::text AS label \
                 FROM labeling_reservations WHERE task_id = $1 AND ($2::text IS NULL OR worker = $2) \
             UNION ALL \
             SELECT COALESCE(ended_ms, expires_ms), state, worker, NULL FROM labeling_reservations \
                 WHERE task_id = $1 AND ($2::text IS NULL OR worker = $2) \
                   AND state IN ('released', 'expired') \
             UNION ALL \
             SELECT created_ms, CASE kind WHEN 'answer' THEN 'answered' ELSE 'skipped' END, \
                 worker, label FROM labeling_answers \
                 WHERE task_id = $1 AND ($2::text IS NULL OR worker = $2) \
             ORDER BY 1, 2",
        )
        .bind(task_id)
        .bind(worker)
        .fetch_all(&self.inner.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(HistoryEvent {
                    at_ms: r.try_get("at")?,
                    event: r.try_get("event")?,
                    worker: r.try_get("worker")?,
                    label: r.try_get("label")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if worker.is_none() {
            let p: String = task.try_get("p")?;
            let name: String = task.try_get("name")?;
            let project = crate::service::u128_of("project", &p)? as u64;
            let decided: Vec<(i64, String, Option<String>)> = sqlx::query_as(
                "SELECT (extract(epoch FROM created_at) * 1000)::bigint, state, label \
                 FROM consensus_decisions WHERE project_id = $1::text::numeric AND task = $2 \
                   AND kind = 'decision' ORDER BY seq",
            )
            .bind(project.to_string())
            .bind(&name)
            .fetch_all(&self.inner.pool)
            .await?;
            out.extend(decided.into_iter().map(|(at, state, label)| HistoryEvent {
                at_ms: at,
                event: state,
                worker: None,
                label,
            }));
        }
        Ok(out)
    }

    /// The project a task belongs to.
    pub async fn task_project(&self, task_id: i64) -> Result<u64> {
        let p: Option<String> =
            sqlx::query_scalar("SELECT project_id::text FROM labeling_tasks WHERE id = $1")
                .bind(task_id)
                .fetch_optional(&self.inner.pool)
                .await?;
        let p = p.ok_or(Error::UnknownTask { task_id })?;
        Ok(crate::service::u128_of("project", &p)? as u64)
    }
}

async fn lock_task(tx: &mut Transaction<'_, Postgres>, task_id: i64) -> Result<Locked> {
    let r = sqlx::query(
        "SELECT project_id::text AS p, name, gold, state, answers, wanted FROM labeling_tasks \
         WHERE id = $1 FOR UPDATE",
    )
    .bind(task_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::UnknownTask { task_id })?;
    let p: String = r.try_get("p")?;
    Ok(Locked {
        project: crate::service::u128_of("project", &p)? as u64,
        name: r.try_get("name")?,
        gold: r.try_get("gold")?,
        open: r.try_get::<String, _>("state")? == "open",
        answers: r.try_get("answers")?,
        wanted: r.try_get("wanted")?,
    })
}

async fn answer_of(
    tx: &mut Transaction<'_, Postgres>,
    task_id: i64,
    worker: &str,
) -> Result<Option<(String, Option<String>, Option<i64>)>> {
    Ok(sqlx::query_as(
        "SELECT kind, label, submission_id FROM labeling_answers WHERE task_id = $1 AND worker = $2",
    )
    .bind(task_id)
    .bind(worker)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The worker's live, unexpired reservation of the task, or why not.
async fn holder_check(
    tx: &mut Transaction<'_, Postgres>,
    task_id: i64,
    worker: &str,
    now: i64,
) -> Result<Held> {
    let mine = sqlx::query(
        "SELECT id, expires_ms, cost::text AS cost, state = 'live' AS live \
         FROM labeling_reservations \
         WHERE task_id = $1 AND worker = $2 AND state IN ('live', 'expired') \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(task_id)
    .bind(worker)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = &mine {
        let expires: i64 = r.try_get("expires_ms")?;
        let live_state: bool = r.try_get("live")?;
        if expires <= now || !live_state {
            return Err(Error::ReservationExpired {
                task_id,
                expired_ms: expires,
            });
        }
        return Ok(Held {
            id: r.try_get("id")?,
            cost: r.try_get("cost")?,
        });
    }
    let others: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM labeling_reservations WHERE task_id = $1 \
             AND worker <> $2 AND state = 'live' AND expires_ms > $3)",
    )
    .bind(task_id)
    .bind(worker)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    if others {
        Err(Error::NotHolder { task_id })
    } else {
        Err(Error::NoReservation { task_id })
    }
}

/// Ends a live reservation (the task's funded slot stays: another worker may take it).
async fn end_reservation(
    tx: &mut Transaction<'_, Postgres>,
    held: &Held,
    state: &str,
    now: i64,
) -> Result<()> {
    let task: Option<i64> = sqlx::query_scalar(
        "UPDATE labeling_reservations SET state = $2, ended_ms = $3 \
         WHERE id = $1 AND state = 'live' RETURNING task_id",
    )
    .bind(held.id)
    .bind(state)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(task) = task {
        crate::reserve::refresh_hint(tx, task, now).await?;
    }
    Ok(())
}
