//! Postgres: projects' labeling settings, tasks, gold answers and submissions (the engine's
//! inputs), and the readers of decisions and worker stats (its outputs).
//!
//! Tables `consensus_*` (migrations in `consensus/migrations`, history table
//! [`MIGRATIONS_TABLE`]). Project ids are the on-chain ids (`u64`, `NUMERIC(20,0)`); prices
//! are `u128` base units (`NUMERIC(39,0)`), never floats.

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::decide::{GoldPolicy, Policy};
use crate::error::{Error, Result};
use crate::estimate::Method;

/// The consensus engine's own migrations history table.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations_consensus";

/// The migrations (embedded at compile time), recorded in [`MIGRATIONS_TABLE`].
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// A project's labeling settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectSettings {
    /// The on-chain project id (the ledger's `ProjectId`).
    pub project: u64,
    /// The label set (stored sorted: label ids are lexicographic ranks).
    pub labels: Vec<String>,
    /// The method.
    pub method: Method,
    /// Threshold and overlaps.
    pub policy: Policy,
    /// Gold rule.
    pub gold: GoldPolicy,
    /// What one agreeing submission of a decided task earns, in base units of the project's
    /// currency (the ledger knows the currency).
    pub price: u128,
}

/// A worker's answer to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubmission {
    /// Project.
    pub project: u64,
    /// Task (must exist).
    pub task: String,
    /// Worker id on the platform.
    pub worker: String,
    /// The worker's wallet (raw basechain address, `0:<64 hex>`).
    pub payout_address: String,
    /// The answer (must be in the project's label set).
    pub label: String,
}

/// A stored decision (one row of the append-only `consensus_decisions`).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// Append order.
    pub seq: i64,
    /// Deterministic id (see [`crate::decision_id`]).
    pub decision_id: String,
    /// Task.
    pub task: String,
    /// `decision` or `reestimate`.
    pub kind: String,
    /// Method.
    pub method: String,
    /// The label (`None`: nobody answered).
    pub label: Option<String>,
    /// Posterior probability of the label.
    pub confidence: f64,
    /// `decided`, `needs_more`, `unresolved`.
    pub state: String,
    /// The submissions used.
    pub submission_ids: Vec<i64>,
    /// Posterior of every label (project label order).
    pub posterior: Vec<f64>,
    /// The model version it was decided under (0: none).
    pub model_version: i64,
}

/// A worker's stats in a project.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStats {
    /// Worker.
    pub worker: String,
    /// Submissions.
    pub answers: i32,
    /// Submissions on gold tasks.
    pub gold_answers: i32,
    /// Of which wrong.
    pub gold_errors: i32,
    /// Failed gold: unpaid answers excluded.
    pub flagged: bool,
    /// Estimated accuracy.
    pub accuracy: Option<f64>,
    /// Dawid-Skene confusion matrix, row-major K×K.
    pub confusion: Option<Vec<f64>>,
}

/// The engine's Postgres handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects with at most `max_connections` connections (giving up after 5 s without one).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the pending consensus migrations.
    pub async fn migrate(&self) -> Result<()> {
        migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Creates or updates a project's labeling settings. The label set is stored sorted and
    /// de-duplicated; changing it later is refused (decisions refer to it).
    pub async fn put_project(&self, p: &ProjectSettings) -> Result<()> {
        p.policy.validate()?;
        if !(0.0..=1.0).contains(&p.gold.max_error_rate) || p.gold.min_answers == 0 {
            return Err(Error::InvalidConfig("gold policy out of range".into()));
        }
        if p.price == 0 {
            return Err(Error::InvalidConfig("price must be positive".into()));
        }
        let mut labels = p.labels.clone();
        labels.sort();
        labels.dedup();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err(Error::InvalidConfig(
                "a project needs at least two non-empty labels".into(),
            ));
        }
        if let Some(old) = self.project(p.project).await?
            && old.labels != labels
        {
            return Err(Error::InvalidConfig(format!(
                "project {} already has the label set {:?}",
                p.project, old.labels
            )));
        }
        sqlx::query(
            "INSERT INTO consensus_projects (project_id, labels, method, threshold, min_overlap, \
                 max_overlap, price, max_gold_error, min_gold_answers) \
             VALUES ($1::text::numeric, $2, $3, $4, $5, $6, $7::text::numeric, $8, $9) \
             ON CONFLICT (project_id) DO UPDATE SET method = EXCLUDED.method, \
                 threshold = EXCLUDED.threshold, min_overlap = EXCLUDED.min_overlap, \
                 max_overlap = EXCLUDED.max_overlap, price = EXCLUDED.price, \
                 max_gold_error = EXCLUDED.max_gold_error, \
                 min_gold_answers = EXCLUDED.min_gold_answers",
        )
        .bind(p.project.to_string())
        .bind(&labels)
        .bind(p.method.as_str())
        .bind(p.policy.threshold)
        .bind(to_i32(p.policy.min_overlap)?)
        .bind(to_i32(p.policy.max_overlap)?)
        .bind(p.price.to_string())
        .bind(p.gold.max_error_rate)
        .bind(to_i32(p.gold.min_answers)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A project's settings.
    pub async fn project(&self, project: u64) -> Result<Option<ProjectSettings>> {
        let row = sqlx::query(
            "SELECT labels, method, threshold, min_overlap, max_overlap, price::text AS price, \
                 max_gold_error, min_gold_answers \
             FROM consensus_projects WHERE project_id = $1::text::numeric",
        )
        .bind(project.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let method: String = r.try_get("method")?;
        let price: String = r.try_get("price")?;
        Ok(Some(ProjectSettings {
            project,
            labels: r.try_get("labels")?,
            method: method.parse()?,
            policy: Policy {
                threshold: r.try_get("threshold")?,
                min_overlap: from_i32(r.try_get("min_overlap")?),
                max_overlap: from_i32(r.try_get("max_overlap")?),
            },
            gold: GoldPolicy {
                max_error_rate: r.try_get("max_gold_error")?,
                min_answers: from_i32(r.try_get("min_gold_answers")?),
            },
            price: price
                .parse()
                .map_err(|_| Error::InvalidConfig(format!("stored price {price}")))?,
        }))
    }

    /// Adds tasks (existing ones are left alone).
    pub async fn add_tasks(&self, project: u64, tasks: &[String]) -> Result<()> {
        self.require_project(project).await?;
        sqlx::query(
            "INSERT INTO consensus_tasks (project_id, task) \
             SELECT $1::text::numeric, t FROM UNNEST($2::text[]) AS t \
             ON CONFLICT DO NOTHING",
        )
        .bind(project.to_string())
        .bind(tasks)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Makes `task` a gold task with its known answer (created if needed). A gold task is
    /// never decided nor paid; answers on it measure workers.
    pub async fn add_gold(&self, project: u64, task: &str, true_label: &str) -> Result<()> {
        let settings = self.require_project(project).await?;
        if !settings.labels.iter().any(|l| l == true_label) {
            return Err(Error::UnknownLabel {
                label: true_label.to_owned(),
            });
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO consensus_tasks (project_id, task, state) \
             VALUES ($1::text::numeric, $2, 'gold') \
             ON CONFLICT (project_id, task) DO UPDATE SET state = 'gold', updated_at = now() \
             WHERE consensus_tasks.state IN ('open', 'needs_more', 'gold')",
        )
        .bind(project.to_string())
        .bind(task)
        .execute(&mut *tx)
        .await?;
        let state: String = sqlx::query_scalar(
            "SELECT state FROM consensus_tasks WHERE project_id = $1::text::numeric AND task = $2",
        )
        .bind(project.to_string())
        .bind(task)
        .fetch_one(&mut *tx)
        .await?;
        if state != "gold" {
            return Err(Error::InvalidConfig(format!(
                "task {task} is already {state}: it cannot become gold"
            )));
        }
        let stored: String = sqlx::query_scalar(
            "INSERT INTO consensus_gold (project_id, task, true_label) \
             VALUES ($1::text::numeric, $2, $3) \
             ON CONFLICT (project_id, task) DO UPDATE SET true_label = consensus_gold.true_label \
             RETURNING true_label",
        )
        .bind(project.to_string())
        .bind(task)
        .bind(true_label)
        .fetch_one(&mut *tx)
        .await?;
        if stored != true_label {
            return Err(Error::ConflictingGold {
                task: task.to_owned(),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a submission, idempotently per (project, task, worker): the same answer again
    /// returns the same id; a different answer is refused.
    pub async fn submit(&self, s: &NewSubmission) -> Result<i64> {
        let settings = self.require_project(s.project).await?;
        if !settings.labels.contains(&s.label) {
            return Err(Error::UnknownLabel {
                label: s.label.clone(),
            });
        }
        let address = labelmint_ledger::RawAddress::parse(&s.payout_address)?;
        if s.worker.is_empty() || s.task.is_empty() {
            return Err(Error::InvalidConfig("empty task or worker".into()));
        }
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO consensus_submissions (project_id, task, worker, payout_address, label) \
             VALUES ($1::text::numeric, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(s.project.to_string())
        .bind(&s.task)
        .bind(&s.worker)
        .bind(address.as_str())
        .bind(&s.label)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                Error::NotFound(format!("task {} of project {}", s.task, s.project))
            }
            _ => Error::Db(e),
        })?;
        if let Some(id) = id {
            return Ok(id);
        }
        let row = sqlx::query(
            "SELECT id, label FROM consensus_submissions \
             WHERE project_id = $1::text::numeric AND task = $2 AND worker = $3",
        )
        .bind(s.project.to_string())
        .bind(&s.task)
        .bind(&s.worker)
        .fetch_one(&self.pool)
        .await?;
        let label: String = row.try_get("label")?;
        if label != s.label {
            return Err(Error::InvalidConfig(format!(
                "worker {} already answered task {} with another label",
                s.worker, s.task
            )));
        }
        Ok(row.try_get("id")?)
    }

    /// A task's state (`open`, `needs_more`, `decided`, `unresolved`, `gold`).
    pub async fn task_state(&self, project: u64, task: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT state FROM consensus_tasks WHERE project_id = $1::text::numeric AND task = $2",
        )
        .bind(project.to_string())
        .bind(task)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every decision row of a task, oldest first (the explanation of its history).
    pub async fn decisions(&self, project: u64, task: &str) -> Result<Vec<DecisionRow>> {
        let rows = sqlx::query(
            "SELECT seq, decision_id, task, kind, method, label, confidence, state, \
                 submission_ids, posterior, model_version \
             FROM consensus_decisions WHERE project_id = $1::text::numeric AND task = $2 \
             ORDER BY seq",
        )
        .bind(project.to_string())
        .bind(task)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DecisionRow {
                    seq: r.try_get("seq")?,
                    decision_id: r.try_get("decision_id")?,
                    task: r.try_get("task")?,
                    kind: r.try_get("kind")?,
                    method: r.try_get("method")?,
                    label: r.try_get("label")?,
                    confidence: r.try_get("confidence")?,
                    state: r.try_get("state")?,
                    submission_ids: r.try_get("submission_ids")?,
                    posterior: r.try_get("posterior")?,
                    model_version: r.try_get("model_version")?,
                })
            })
            .collect()
    }

    /// A worker's stats.
    pub async fn worker_stats(&self, project: u64, worker: &str) -> Result<Option<WorkerStats>> {
        let row = sqlx::query(
            "SELECT worker, answers, gold_answers, gold_errors, flagged, accuracy, confusion \
             FROM consensus_worker_stats WHERE project_id = $1::text::numeric AND worker = $2",
        )
        .bind(project.to_string())
        .bind(worker)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(WorkerStats {
                worker: r.try_get("worker")?,
                answers: r.try_get("answers")?,
                gold_answers: r.try_get("gold_answers")?,
                gold_errors: r.try_get("gold_errors")?,
                flagged: r.try_get("flagged")?,
                accuracy: r.try_get("accuracy")?,
                confusion: r.try_get("confusion")?,
            })
        })
        .transpose()
    }

    pub(crate) async fn require_project(&self, project: u64) -> Result<ProjectSettings> {
        self.project(project)
            .await?
            .ok_or_else(|| Error::NotFound(format!("project {project}")))
    }
}

fn to_i32(v: u32) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::InvalidConfig(format!("{v} too large")))
}

fn from_i32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}
