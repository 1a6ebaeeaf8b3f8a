//! The incremental engine over Postgres: decide tasks as soon as they reach their overlap,
//! re-estimate worker reliability over the whole project (warm starts), approve earnings in
//! the ledger idempotently, and record (never apply) re-estimates of paid decisions.
//!
//! ```text
//! Engine::process(project)                    Engine::reestimate(project)
//!   1 gold records -> flag failers, exclude     1 gold records -> flag failers, exclude
//!     their unapproved submissions              2 learn over ALL used submissions (DS: warm
//!   2 reliability: stored model / weights         start from the stored model) -> model vN
//!     (learnt first if there is none)           3 decided tasks whose label flips: append a
//!   3 pending tasks with >= min_overlap           `reestimate` row, ledger.record_reestimate
//!     judgments -> decisions (one transaction:    for each approved disagreeing submission
//!     append rows, move task states)            4 = process steps 3 and 4
//!   4 approve: latest `decided` decisions'
//!     agreeing, unapproved submissions ->
//!     ledger.approve_earnings("submission:<id>", decision id; 1,000 per transaction)
//!     -> consensus_approvals
//! ```
//!
//! Crash safety: decisions are committed before any approval; approvals are derived from the
//! committed decisions (never recomputed), with the decision id stored there, so a rerun after
//! a crash anywhere hands the ledger exactly the same approvals, and the ledger's
//! `approve_earning` is idempotent by submission key. A transaction-scoped advisory lock per
//! project serialises concurrent engines' decision writes.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use labelmint_ledger::{Ledger, NewEarning, ProjectId, RawAddress, Reestimate};
use sqlx::{Postgres, Row, Transaction};

use crate::data::{Answers, AnswersBuilder, Id};
use crate::decide::{Decision, State, decide, decision_id};
use crate::ds::{DsConfig, dawid_skene, posteriors_under};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Method, WorkerModel};
use crate::mv::majority_vote;
use crate::store::{ProjectSettings, Store};
use crate::wv::{
    WvConfig, accuracy_of_weight, posteriors_with_weights, weight_of_accuracy, weighted_vote,
};

/// Where a test can make the engine fail, to prove that a rerun repairs everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// After the decisions are committed, before any approval.
    AfterDecisions,
    /// After the ledger approved the first submission, before the engine noted it.
    AfterFirstLedgerApproval,
}

/// How [`Engine::run`] paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Pause between two [`Engine::process`] passes.
    pub poll: Duration,
    /// Minimum time between two [`Engine::reestimate`] passes (the first pass is one).
    pub reestimate_every: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            reestimate_every: Duration::from_secs(300),
        }
    }
}

/// What [`Engine::process`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Tasks decided in this step.
    pub decided: usize,
    /// Tasks sent back for more judgments.
    pub needs_more: usize,
    /// Tasks given up.
    pub unresolved: usize,
    /// Decision rows appended (a task whose decision did not change appends nothing).
    pub decisions_written: usize,
    /// Workers currently flagged by gold.
    pub flagged_workers: usize,
    /// Submissions newly excluded because their worker is flagged.
    pub excluded_submissions: u64,
    /// Earnings the ledger created now.
    pub approvals_created: usize,
    /// Approvals the ledger already had (a rerun after a crash).
    pub approvals_existing: usize,
    /// Agreeing submissions not approved because the project is closing or closed: the
    /// ledger takes no new earnings then (the client's remaining budget is refunded), so
    /// they stay unpaid; decisions are still recorded.
    pub approvals_held: usize,
    /// The reliability model version used (0: none, majority vote).
    pub model_version: i64,
}

/// What [`Engine::reestimate`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReestimateReport {
    /// EM iterations (weighted vote: rounds; majority vote: 1).
    pub iterations: u32,
    /// Whether the method converged.
    pub converged: bool,
    /// Decided tasks whose label the re-estimate would change.
    pub flips: usize,
    /// Re-estimates newly recorded in the ledger (approved submissions that now disagree).
    pub reestimates_recorded: usize,
    /// The pending-task step that followed.
    pub step: StepReport,
}

enum Reliability {
    None,
    Weights(HashMap<String, f64>),
    Model(WorkerModel),
}

/// Answers of a project with the submission id of every (task, worker).
struct Loaded {
    answers: Answers,
    submission: HashMap<(Id, Id), i64>,
}

impl Loaded {
    fn submissions_of(&self, t: Id) -> Vec<i64> {
        let (ws, _) = self.answers.task_answers(t);
        let mut ids: Vec<i64> = ws
            .iter()
            .filter_map(|&w| self.submission.get(&(t, w)).copied())
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// The consensus engine on Postgres and the ledger.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Store,
    ledger: Ledger,
    ds: DsConfig,
    wv: WvConfig,
    fail: Option<FailPoint>,
}

impl Engine {
    /// An engine over `store` approving into `ledger` (they may share one database).
    pub fn new(store: Store, ledger: Ledger) -> Self {
        Self {
            store,
            ledger,
            ds: DsConfig::default(),
            wv: WvConfig::default(),
            fail: None,
        }
    }

    /// Dawid-Skene settings for re-estimates.
    pub fn with_ds(mut self, ds: DsConfig) -> Self {
        self.ds = ds;
        self
    }

    /// Makes every run fail at `point` (crash tests).
    pub fn with_fail_point(mut self, point: Option<FailPoint>) -> Self {
        self.fail = point;
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs until `shutdown` completes: a re-estimate first and then every
    /// `schedule.reestimate_every`, a [`Engine::process`] pass every `schedule.poll` in
    /// between. A failed pass is logged and retried at the next tick (every pass is
    /// idempotent), so a database restart does not stop the engine.
    pub async fn run(
        &self,
        project: u64,
        schedule: Schedule,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut last_reestimate: Option<Instant> = None;
        loop {
            let due = last_reestimate.is_none_or(|t| t.elapsed() >= schedule.reestimate_every);
            if due {
                match self.reestimate(project).await {
                    Ok(r) => {
                        last_reestimate = Some(Instant::now());
                        tracing::info!(
                            project,
                            iterations = r.iterations,
                            flips = r.flips,
                            decided = r.step.decided,
                            approvals = r.step.approvals_created,
                            "re-estimate pass"
                        );
                    }
                    Err(e) => tracing::warn!(project, error = %e, "re-estimate pass failed"),
                }
            } else {
                match self.process(project).await {
                    Ok(r) if r.decisions_written > 0 || r.approvals_created > 0 => {
                        tracing::info!(
                            project,
                            decided = r.decided,
                            needs_more = r.needs_more,
                            unresolved = r.unresolved,
                            approvals = r.approvals_created,
                            "decision pass"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(project, error = %e, "decision pass failed"),
                }
            }
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(schedule.poll) => {}
            }
        }
    }

    /// Decides the project's pending tasks that reached their overlap, then approves.
    pub async fn process(&self, project: u64) -> Result<StepReport> {
        let settings = self.store.require_project(project).await?;
        let (flagged, excluded) = self.flag_gold_failers(&settings).await?;
        let (reliability, version) = match self.load_reliability(&settings).await? {
            Some(r) => r,
            None => {
                let learnt = self.learn(&settings).await?;
                (learnt.reliability, learnt.version)
            }
        };
        let mut report = self
            .decide_pending(&settings, &reliability, version)
            .await?;
        report.flagged_workers = flagged;
        report.excluded_submissions = excluded;
        if self.fail == Some(FailPoint::AfterDecisions) {
            return Err(Error::Injected("after decisions"));
        }
        let (created, existing, held) = self.approve_pending(&settings).await?;
        report.approvals_created = created;
        report.approvals_existing = existing;
        report.approvals_held = held;
        Ok(report)
    }

    /// Re-learns worker reliability over the whole project (Dawid-Skene: warm start from the
    /// stored model), records re-estimates of decided tasks whose label would now differ
    /// (approvals stand), then decides pending tasks and approves like [`Engine::process`].
    pub async fn reestimate(&self, project: u64) -> Result<ReestimateReport> {
        let settings = self.store.require_project(project).await?;
        let (flagged, excluded) = self.flag_gold_failers(&settings).await?;
        let learnt = self.learn(&settings).await?;
        let (flips, recorded) = self.record_flips(&settings, &learnt).await?;
        let mut step = self
            .decide_pending(&settings, &learnt.reliability, learnt.version)
            .await?;
        step.flagged_workers = flagged;
        step.excluded_submissions = excluded;
        if self.fail == Some(FailPoint::AfterDecisions) {
            return Err(Error::Injected("after decisions"));
        }
        let (created, existing, held) = self.approve_pending(&settings).await?;
        step.approvals_created = created;
        step.approvals_existing = existing;
        step.approvals_held = held;
        Ok(ReestimateReport {
            iterations: learnt.estimate.iterations,
            converged: learnt.estimate.converged,
            flips,
            reestimates_recorded: recorded,
            step,
        })
    }

    /// Gold records of every worker; flags failers and excludes their unapproved submissions.
    /// Returns (flagged workers, submissions newly excluded).
    async fn flag_gold_failers(&self, s: &ProjectSettings) -> Result<(usize, u64)> {
        let p = s.project.to_string();
        let mut tx = self.store.pool().begin().await?;
        lock(&mut tx, s.project).await?;
        sqlx::query(
            "INSERT INTO consensus_worker_stats \
                 (project_id, worker, answers, gold_answers, gold_errors, flagged) \
             SELECT $1::text::numeric, s.worker, count(*), count(g.task), \
                 count(g.task) FILTER (WHERE s.label <> g.true_label), \
                 count(g.task) >= $3 AND \
                 (count(g.task) FILTER (WHERE s.label <> g.true_label))::float8 \
                     > $2 * count(g.task)::float8 \
             FROM consensus_submissions s \
             LEFT JOIN consensus_gold g ON g.project_id = s.project_id AND g.task = s.task \
             WHERE s.project_id = $1::text::numeric GROUP BY s.worker \
             ON CONFLICT (project_id, worker) DO UPDATE SET answers = EXCLUDED.answers, \
                 gold_answers = EXCLUDED.gold_answers, gold_errors = EXCLUDED.gold_errors, \
                 flagged = EXCLUDED.flagged, updated_at = now()",
        )
        .bind(&p)
        .bind(s.gold.max_error_rate)
        .bind(i64::from(s.gold.min_answers))
        .execute(&mut *tx)
        .await?;
        let excluded = sqlx::query(
            "UPDATE consensus_submissions s SET excluded = true \
             FROM consensus_worker_stats w \
             WHERE s.project_id = $1::text::numeric AND w.project_id = s.project_id \
               AND w.worker = s.worker AND w.flagged AND NOT s.excluded \
               AND NOT EXISTS (SELECT 1 FROM consensus_approvals a WHERE a.submission_id = s.id) \
               AND NOT EXISTS (SELECT 1 FROM consensus_gold g \
                               WHERE g.project_id = s.project_id AND g.task = s.task)",
        )
        .bind(&p)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let flagged: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM consensus_worker_stats \
             WHERE project_id = $1::text::numeric AND flagged",
        )
        .bind(&p)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        if excluded > 0 {
            tracing::info!(
                project = s.project,
                flagged,
                excluded,
                "gold failers excluded"
            );
        }
        Ok((usize::try_from(flagged).unwrap_or(0), excluded))
    }

    /// Loads the used (non-excluded) submissions: pending tasks only, or the whole project
    /// (with gold).
    async fn load(&self, s: &ProjectSettings, pending_only: bool) -> Result<Loaded> {
        let p = s.project.to_string();
        let rows = sqlx::query(
            "SELECT s.id, s.task, s.worker, s.label FROM consensus_submissions s \
             JOIN consensus_tasks t ON t.project_id = s.project_id AND t.task = s.task \
             WHERE s.project_id = $1::text::numeric AND NOT s.excluded \
               AND (NOT $2 OR t.state IN ('open', 'needs_more'))",
        )
        .bind(&p)
        .bind(pending_only)
        .fetch_all(self.store.pool())
        .await?;
        let mut b = AnswersBuilder::new().label_set(s.labels.iter().cloned());
        let mut keyed: Vec<(i64, String, String)> = Vec::with_capacity(rows.len());
        for r in &rows {
            let (id, task, worker, label): (i64, String, String, String) = (
                r.try_get("id")?,
                r.try_get("task")?,
                r.try_get("worker")?,
                r.try_get("label")?,
            );
            b.answer(task.clone(), worker.clone(), label);
            keyed.push((id, task, worker));
        }
        if !pending_only {
            let gold = sqlx::query(
                "SELECT task, true_label FROM consensus_gold WHERE project_id = $1::text::numeric",
            )
            .bind(&p)
            .fetch_all(self.store.pool())
            .await?;
            for r in &gold {
                b.gold(
                    r.try_get::<String, _>("task")?,
                    r.try_get::<String, _>("true_label")?,
                );
            }
        }
        let answers = b.build()?;
        let mut submission = HashMap::with_capacity(keyed.len());
        for (id, task, worker) in keyed {
            if let (Some(t), Some(w)) = (answers.task_id(&task), answers.worker_id(&worker)) {
                submission.insert((t, w), id);
            }
        }
        Ok(Loaded {
            answers,
            submission,
        })
    }

    /// The stored reliability, or `None` when the project has never been estimated.
    async fn load_reliability(&self, s: &ProjectSettings) -> Result<Option<(Reliability, i64)>> {
        let p = s.project.to_string();
        let row = sqlx::query(
            "SELECT version, method, priors FROM consensus_models \
             WHERE project_id = $1::text::numeric",
        )
        .bind(&p)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (version, method): (i64, String) = (row.try_get("version")?, row.try_get("method")?);
        if method != s.method.as_str() {
            return Ok(None);
        }
        let k = s.labels.len();
        let reliability = match s.method {
            Method::MajorityVote => Reliability::None,
            Method::WeightedVote => {
                let rows = sqlx::query(
                    "SELECT worker, accuracy FROM consensus_worker_stats \
                     WHERE project_id = $1::text::numeric AND accuracy IS NOT NULL",
                )
                .bind(&p)
                .fetch_all(self.store.pool())
                .await?;
                let mut weights = HashMap::with_capacity(rows.len());
                for r in &rows {
                    let acc: f64 = r.try_get("accuracy")?;
                    weights.insert(r.try_get("worker")?, weight_of_accuracy(acc, k));
                }
                Reliability::Weights(weights)
            }
            Method::DawidSkene => {
                let Some(priors) = row.try_get::<Option<Vec<f64>>, _>("priors")? else {
                    return Ok(None);
                };
                let rows = sqlx::query(
                    "SELECT worker, confusion FROM consensus_worker_stats \
                     WHERE project_id = $1::text::numeric AND cardinality(confusion) = $2 \
                     ORDER BY worker COLLATE \"C\"",
                )
                .bind(&p)
                .bind(i32::try_from(k * k).unwrap_or(i32::MAX))
                .fetch_all(self.store.pool())
                .await?;
                let mut workers = Vec::with_capacity(rows.len());
                let mut confusion = Vec::with_capacity(rows.len() * k * k);
                for r in &rows {
                    workers.push(r.try_get("worker")?);
                    confusion.extend(r.try_get::<Vec<f64>, _>("confusion")?);
                }
                if priors.len() != k {
                    return Ok(None);
                }
                Reliability::Model(WorkerModel {
                    labels: s.labels.clone(),
                    workers,
                    priors,
                    confusion,
                })
            }
        };
        Ok(Some((reliability, version)))
    }

    /// Learns over the whole project and stores the result (new model version).
    async fn learn(&self, s: &ProjectSettings) -> Result<Learnt> {
        let loaded = self.load(s, false).await?;
        let a = &loaded.answers;
        let k = a.n_labels();
        let (estimate, reliability) = match s.method {
            Method::MajorityVote => (majority_vote(a), Reliability::None),
            Method::WeightedVote => {
                let e = weighted_vote(a, &self.wv);
                let weights = e.weights.clone().unwrap_or_default();
                let map = a
                    .workers()
                    .iter()
                    .zip(&weights)
                    .map(|(n, w)| (n.clone(), *w))
                    .collect();
                (e, Reliability::Weights(map))
            }
            Method::DawidSkene => {
                let warm = match self.load_reliability(s).await? {
                    Some((Reliability::Model(m), _)) => Some(m),
                    _ => None,
                };
                let e = dawid_skene(a, &self.ds, warm.as_ref());
                let model = e.model.clone().unwrap_or_else(|| WorkerModel {
                    labels: a.labels().to_vec(),
                    workers: Vec::new(),
                    priors: vec![1.0 / k as f64; k],
                    confusion: Vec::new(),
                });
                (e, Reliability::Model(model))
            }
        };
        let p = s.project.to_string();
        let mut tx = self.store.pool().begin().await?;
        lock(&mut tx, s.project).await?;
        let priors = match &reliability {
            Reliability::Model(m) => Some(m.priors.clone()),
            _ => None,
        };
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO consensus_models \
                 (project_id, version, method, priors, iterations, converged, log_likelihood) \
             VALUES ($1::text::numeric, 1, $2, $3, $4, $5, $6) \
             ON CONFLICT (project_id) DO UPDATE SET version = consensus_models.version + 1, \
                 method = EXCLUDED.method, priors = EXCLUDED.priors, \
                 iterations = EXCLUDED.iterations, converged = EXCLUDED.converged, \
                 log_likelihood = EXCLUDED.log_likelihood, estimated_at = now() \
             RETURNING version",
        )
        .bind(&p)
        .bind(s.method.as_str())
        .bind(priors)
        .bind(i32::try_from(estimate.iterations).unwrap_or(i32::MAX))
        .bind(estimate.converged)
        .bind(estimate.log_likelihood)
        .fetch_one(&mut *tx)
        .await?;
        match &reliability {
            Reliability::None => {}
            Reliability::Weights(map) => {
                let (names, accs): (Vec<String>, Vec<f64>) = map
                    .iter()
                    .map(|(n, w)| (n.clone(), accuracy_of_weight(*w, k)))
                    .unzip();
                sqlx::query(
                    "UPDATE consensus_worker_stats w SET accuracy = u.acc, updated_at = now() \
                     FROM UNNEST($2::text[], $3::float8[]) AS u(worker, acc) \
                     WHERE w.project_id = $1::text::numeric AND w.worker = u.worker",
                )
                .bind(&p)
                .bind(names)
                .bind(accs)
                .execute(&mut *tx)
                .await?;
            }
            Reliability::Model(m) => {
                for (w, name) in m.workers.iter().enumerate() {
                    sqlx::query(
                        "UPDATE consensus_worker_stats SET accuracy = $3, confusion = $4, \
                             updated_at = now() \
                         WHERE project_id = $1::text::numeric AND worker = $2",
                    )
                    .bind(&p)
                    .bind(name)
                    .bind(m.accuracy(w))
                    .bind(m.matrix(w).to_vec())
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        tracing::info!(
            project = s.project,
            method = %s.method,
            version,
            iterations = estimate.iterations,
            converged = estimate.converged,
            "reliability re-estimated"
        );
        Ok(Learnt {
            loaded,
            estimate,
            reliability,
            version,
        })
    }

    /// Re-estimates of decided tasks: append a `reestimate` row when the label would change,
    /// and record it in the ledger for every approved submission that now disagrees.
    async fn record_flips(&self, s: &ProjectSettings, learnt: &Learnt) -> Result<(usize, usize)> {
        let p = s.project.to_string();
        let a = &learnt.loaded.answers;
        let decisions = decide(a, &learnt.estimate, &s.policy);
        let rows = sqlx::query(
            "SELECT DISTINCT ON (d.task) d.task, d.label FROM consensus_decisions d \
             JOIN consensus_tasks t ON t.project_id = d.project_id AND t.task = d.task \
             WHERE d.project_id = $1::text::numeric AND d.kind = 'decision' \
               AND t.state = 'decided' \
             ORDER BY d.task, d.seq DESC",
        )
        .bind(&p)
        .fetch_all(self.store.pool())
        .await?;
        let (mut flips, mut recorded) = (0, 0);
        for r in &rows {
            let task: String = r.try_get("task")?;
            let decided: Option<String> = r.try_get("label")?;
            let Some(t) = a.task_id(&task) else { continue };
            let d = &decisions[t as usize];
            let Some(now) = d.label.map(|l| a.labels()[l as usize].clone()) else {
                continue;
            };
            if decided.as_deref() == Some(now.as_str()) {
                continue;
            }
            flips += 1;
            let subs = learnt.loaded.submissions_of(t);
            let state = format!("reestimate:{}", d.state.as_str());
            let id = decision_id(&p, &task, s.method, &subs, &now, &state);
            let mut tx = self.store.pool().begin().await?;
            lock(&mut tx, s.project).await?;
            let latest: Option<String> = sqlx::query_scalar(
                "SELECT decision_id FROM consensus_decisions \
                 WHERE project_id = $1::text::numeric AND task = $2 AND kind = 'reestimate' \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(&p)
            .bind(&task)
            .fetch_optional(&mut *tx)
            .await?;
            if latest.as_deref() != Some(id.as_str()) {
                insert_decision(
                    &mut tx,
                    s,
                    &task,
                    "reestimate",
                    &id,
                    Some(&now),
                    d,
                    &subs,
                    learnt.estimate.posterior(t),
                    learnt.version,
                )
                .await?;
            }
            tx.commit().await?;
            let approved = sqlx::query(
                "SELECT s.id, s.label FROM consensus_approvals a \
                 JOIN consensus_submissions s ON s.id = a.submission_id \
                 WHERE s.project_id = $1::text::numeric AND s.task = $2 ORDER BY s.id",
            )
            .bind(&p)
            .bind(&task)
            .fetch_all(self.store.pool())
            .await?;
            for ar in &approved {
                let (sid, label): (i64, String) = (ar.try_get("id")?, ar.try_get("label")?);
                if label == now {
                    continue;
                }
                let rec = self
                    .ledger
                    .record_reestimate(&Reestimate {
                        submission_key: submission_key(sid),
                        decision_id: id.clone(),
                        amount: 0,
                        note: format!(
                            "re-estimate: task {task} now `{now}` (confidence {:.4}), the approval was for `{label}`",
                            d.confidence
                        ),
                    })
                    .await?;
                recorded += usize::from(rec.newly_recorded);
            }
        }
        Ok((flips, recorded))
    }

    /// Decides pending tasks with at least `min_overlap` judgments; appends changed decisions
    /// and moves task states in one transaction.
    async fn decide_pending(
        &self,
        s: &ProjectSettings,
        reliability: &Reliability,
        version: i64,
    ) -> Result<StepReport> {
        let loaded = self.load(s, true).await?;
        let a = &loaded.answers;
        let estimate: Estimate = match reliability {
            Reliability::None => majority_vote(a),
            Reliability::Weights(map) => {
                let known: Vec<f64> = map.values().copied().collect();
                let mean = if known.is_empty() {
                    1.0
                } else {
                    known.iter().sum::<f64>() / known.len() as f64
                };
                let weights: Vec<f64> = a
                    .workers()
                    .iter()
                    .map(|n| map.get(n).copied().unwrap_or(mean))
                    .collect();
                posteriors_with_weights(a, &weights)
            }
            Reliability::Model(m) => posteriors_under(a, m).unwrap_or_else(|| majority_vote(a)),
        };
        let decisions = decide(a, &estimate, &s.policy);
        let p = s.project.to_string();
        let mut report = StepReport {
            model_version: version,
            ..StepReport::default()
        };
        let mut tx = self.store.pool().begin().await?;
        lock(&mut tx, s.project).await?;
        for d in &decisions {
            if d.state == State::Gold || d.judgments < s.policy.min_overlap {
                continue;
            }
            let task = &a.tasks()[d.task as usize];
            let moved = sqlx::query(
                "UPDATE consensus_tasks SET state = $3, updated_at = now() \
                 WHERE project_id = $1::text::numeric AND task = $2 \
                   AND state IN ('open', 'needs_more')",
            )
            .bind(&p)
            .bind(task)
            .bind(d.state.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                continue; // decided meanwhile by another engine
            }
            match d.state {
                State::Decided => report.decided += 1,
                State::NeedsMore => report.needs_more += 1,
                State::Unresolved => report.unresolved += 1,
                State::Gold => {}
            }
            let subs = loaded.submissions_of(d.task);
            let label = d.label.map(|l| a.labels()[l as usize].clone());
            let id = decision_id(
                &p,
                task,
                s.method,
                &subs,
                label.as_deref().unwrap_or(""),
                d.state.as_str(),
            );
            let latest: Option<String> = sqlx::query_scalar(
                "SELECT decision_id FROM consensus_decisions \
                 WHERE project_id = $1::text::numeric AND task = $2 AND kind = 'decision' \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(&p)
            .bind(task)
            .fetch_optional(&mut *tx)
            .await?;
            if latest.as_deref() == Some(id.as_str()) {
                continue;
            }
            insert_decision(
                &mut tx,
                s,
                task,
                "decision",
                &id,
                label.as_deref(),
                d,
                &subs,
                estimate.posterior(d.task),
                version,
            )
            .await?;
            report.decisions_written += 1;
        }
        tx.commit().await?;
        Ok(report)
    }

    /// Approves, in the ledger, every agreeing unapproved submission of the latest decided
    /// decisions. Returns (created, already there, held): a project that is closing or closed
    /// takes no new earnings, so what remains is held (counted, logged, not an error; the
    /// ledger's trigger refuses them whoever asks).
    async fn approve_pending(&self, s: &ProjectSettings) -> Result<(usize, usize, usize)> {
        let rows = sqlx::query(
            "WITH latest AS ( \
                 SELECT DISTINCT ON (task) task, decision_id, label, state, submission_ids \
                 FROM consensus_decisions \
                 WHERE project_id = $1::text::numeric AND kind = 'decision' \
                 ORDER BY task, seq DESC) \
             SELECT s.id, s.worker, s.payout_address, l.decision_id \
             FROM latest l JOIN consensus_submissions s \
               ON s.project_id = $1::text::numeric AND s.task = l.task \
              AND s.id = ANY(l.submission_ids) AND s.label = l.label \
             WHERE l.state = 'decided' AND NOT s.excluded \
               AND NOT EXISTS (SELECT 1 FROM consensus_approvals a WHERE a.submission_id = s.id) \
             ORDER BY s.id",
        )
        .bind(s.project.to_string())
        .fetch_all(self.store.pool())
        .await?;
        let mut pending = Vec::with_capacity(rows.len());
        for r in &rows {
            let (id, worker, address, decision): (i64, String, String, String) = (
                r.try_get("id")?,
                r.try_get("worker")?,
                r.try_get("payout_address")?,
                r.try_get("decision_id")?,
            );
            pending.push((
                id,
                NewEarning {
                    submission_key: submission_key(id),
                    worker,
                    payout_address: RawAddress::parse(&address)?,
                    project: ProjectId(s.project),
                    amount: s.price,
                    decision_id: decision,
                },
            ));
        }
        // One ledger transaction per chunk (the ledger's batch approval, idempotent per key
        // like the single one); the fail point approves one at a time to crash after one.
        let chunk = if self.fail == Some(FailPoint::AfterFirstLedgerApproval) {
            1
        } else {
            APPROVAL_CHUNK
        };
        let (mut created, mut existing, mut done) = (0, 0, 0);
        for part in pending.chunks(chunk) {
            let batch: Vec<NewEarning> = part.iter().map(|(_, e)| e.clone()).collect();
            let approvals = match self.ledger.approve_earnings(&batch).await {
                Ok(a) => a,
                Err(labelmint_ledger::Error::ProjectNotActive { state, .. }) => {
                    let held = rows.len() - done;
                    tracing::warn!(
                        project = s.project,
                        %state,
                        held,
                        "project takes no new earnings: agreeing submissions held, not approved"
                    );
                    return Ok((created, existing, held));
                }
                Err(e) => return Err(e.into()),
            };
            let (mut subs, mut decisions, mut earnings) = (Vec::new(), Vec::new(), Vec::new());
            for ((id, e), approval) in part.iter().zip(&approvals) {
                if approval.newly_created {
                    created += 1;
                } else {
                    existing += 1;
                }
                subs.push(*id);
                decisions.push(e.decision_id.clone());
                earnings.push(
                    i64::try_from(approval.earning_id.get())
                        .map_err(|_| Error::InvalidConfig("earning id out of range".into()))?,
                );
            }
            done += part.len();
            if self.fail == Some(FailPoint::AfterFirstLedgerApproval) {
                return Err(Error::Injected("after the first ledger approval"));
            }
            sqlx::query(
                "INSERT INTO consensus_approvals (submission_id, decision_id, earning_id) \
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[]) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&subs)
            .bind(&decisions)
            .bind(&earnings)
            .execute(self.store.pool())
            .await?;
        }
        if created > 0 {
            tracing::info!(project = s.project, created, existing, "earnings approved");
        }
        Ok((created, existing, 0))
    }
}

struct Learnt {
    loaded: Loaded,
    estimate: Estimate,
    reliability: Reliability,
    version: i64,
}

/// Earnings approved per ledger transaction (one statement per table each).
const APPROVAL_CHUNK: usize = 1_000;

/// The ledger idempotency key of a submission.
pub fn submission_key(id: i64) -> String {
    format!("submission:{id}")
}

async fn lock(tx: &mut Transaction<'_, Postgres>, project: u64) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('labelmint-consensus:' || $1, 0))")
        .bind(project.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_decision(
    tx: &mut Transaction<'_, Postgres>,
    s: &ProjectSettings,
    task: &str,
    kind: &str,
    id: &str,
    label: Option<&str>,
    d: &Decision,
    subs: &[i64],
    posterior: &[f64],
    version: i64,
) -> Result<()> {
    let state = match d.state {
        State::Gold => "gold",
        other => other.as_str(),
    };
    sqlx::query(
        "INSERT INTO consensus_decisions (decision_id, project_id, task, kind, method, label, \
             confidence, state, submission_ids, posterior, model_version) \
         VALUES ($1, $2::text::numeric, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(s.project.to_string())
    .bind(task)
    .bind(kind)
    .bind(s.method.as_str())
    .bind(label)
    .bind(d.confidence)
    .bind(state)
    .bind(subs)
    .bind(posterior)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
