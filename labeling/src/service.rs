//! The service handle: pools, the engine, the ledger, the clock; task sets, uploads and
//! Telegram links.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use labelmint_consensus::{Engine, GoldPolicy, Policy, ProjectSettings, Store};
use labelmint_ledger::{Ledger, ProjectId, RawAddress};
use sqlx::Row;
use sqlx::postgres::PgPool;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::model::{TaskSet, Worker};
use crate::upload::{self, Format};

/// The labeling service. Cheap to clone; every method is a few short transactions, safe from
/// many tasks and processes at once.
#[derive(Debug, Clone)]
pub struct Labeling {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    /// Labeling's own tables (task rows are locked here while the engine's pool writes).
    pub(crate) pool: PgPool,
    pub(crate) store: Store,
    pub(crate) engine: Engine,
    pub(crate) ledger: Ledger,
    pub(crate) clock: Arc<dyn Clock>,
    /// One coalescing consensus loop per project (spawned on first need).
    pub(crate) passes: Mutex<HashMap<u64, Arc<Notify>>>,
    /// Whether answers that fill a task start a background consensus pass.
    pub(crate) background: bool,
    /// Task sets read in the last [`TASK_SET_TTL`] (every request needs its project's).
    pub(crate) task_sets: Mutex<HashMap<u64, (Instant, TaskSet)>>,
}

/// How long a task set read is reused. A change made through another process shows this late
/// (the label set never changes; overlap, price and rates may).
pub const TASK_SET_TTL: Duration = Duration::from_secs(1);

/// Labeling's own migrations history table.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations_labeling";

/// Labeling's migrations (embedded), recorded in [`MIGRATIONS_TABLE`].
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

impl Labeling {
    /// A service over `pool` (labeling's tables), `engine_pool` (the engine's tables), and
    /// `ledger`, each on its OWN pool: a submission holds a labeling connection while the
    /// engine stores it, and the engine holds its connections while the ledger approves; with
    /// shared pools, a busy pool would wait for itself. Consensus passes run in the background when an answer
    /// fills a task (`background`), or only through [`Labeling::settle`].
    pub fn new(
        pool: PgPool,
        engine_pool: PgPool,
        ledger: Ledger,
        clock: Arc<dyn Clock>,
        background: bool,
    ) -> Labeling {
        let store = Store::from_pool(engine_pool);
        let engine = Engine::new(store.clone(), ledger.clone());
        Labeling {
            inner: Arc::new(Inner {
                pool,
                store,
                engine,
                ledger,
                clock,
                passes: Mutex::new(HashMap::new()),
                background,
                task_sets: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Applies the consensus engine's and labeling's migrations (the ledger's must exist).
    pub async fn migrate(&self) -> Result<()> {
        self.inner.store.migrate().await?;
        migrator().run(&self.inner.pool).await?;
        Ok(())
    }

    /// The pool of labeling's tables.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The engine's store (decisions, worker stats).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    /// Now, by the injected clock (unix ms).
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Creates or updates a project's task set and the engine's settings for it. The project
    /// must be the ledger's; the label set cannot change once set (decisions refer to it).
    /// The budget is read from the ledger at once.
    pub async fn put_task_set(&self, ts: &TaskSet) -> Result<TaskSet> {
        let mut labels = ts.labels.clone();
        labels.sort();
        labels.dedup();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.len() > 100 || l.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "labels",
                "at least two distinct labels of 1..=100 bytes",
            ));
        }
        if ts.overlap == 0 || ts.max_overlap < ts.overlap || ts.max_overlap > 50 {
            return Err(Error::invalid(
                "overlap",
                "need 1 <= overlap <= max_overlap <= 50",
            ));
        }
        if ts.price == 0 || ts.price > labelmint_ledger::MAX_AMOUNT {
            return Err(Error::invalid("price", "must be in 1..2^120"));
        }
        if ts.fee_bps > 2000 || ts.gold_per_mille > 1000 {
            return Err(Error::invalid(
                "fee_bps",
                "fee_bps <= 2000, gold_per_mille <= 1000",
            ));
        }
        if !(1_000..=86_400_000).contains(&ts.reservation_ms) {
            return Err(Error::invalid("reservation_ms", "1 s ..= 24 h"));
        }
        if self
            .inner
            .ledger
            .project(ProjectId(ts.project))
            .await?
            .is_none()
        {
            return Err(Error::UnknownProject {
                project: ts.project,
            });
        }
        let mut ts = ts.clone();
        ts.labels = labels;
        self.inner
            .store
            .put_project(&ProjectSettings {
                project: ts.project,
                labels: ts.labels.clone(),
                method: ts.method,
                policy: Policy {
                    threshold: ts.threshold,
                    min_overlap: ts.overlap,
                    max_overlap: ts.max_overlap,
                },
                gold: GoldPolicy {
                    max_error_rate: ts.max_gold_error,
                    min_answers: ts.min_gold_answers,
                },
                price: ts.price,
            })
            .await?;
        sqlx::query(
            "INSERT INTO labeling_task_sets (project_id, labels, overlap, max_overlap, price, \
                 fee_bps, gold_per_mille, reservation_ms) \
             VALUES ($1::text::numeric, $2, $3, $4, $5::text::numeric, $6, $7, $8) \
             ON CONFLICT (project_id) DO UPDATE SET overlap = EXCLUDED.overlap, \
                 max_overlap = EXCLUDED.max_overlap, price = EXCLUDED.price, \
                 fee_bps = EXCLUDED.fee_bps, gold_per_mille = EXCLUDED.gold_per_mille, \
                 reservation_ms = EXCLUDED.reservation_ms",
        )
        .bind(ts.project.to_string())
        .bind(&ts.labels)
        .bind(i32_of(ts.overlap))
        .bind(i32_of(ts.max_overlap))
        .bind(ts.price.to_string())
        .bind(i32_of(ts.fee_bps))
        .bind(i32_of(ts.gold_per_mille))
        .bind(ts.reservation_ms)
        .execute(&self.inner.pool)
        .await?;
        self.cache().remove(&ts.project);
        self.settle(ts.project).await?;
        Ok(ts)
    }

    /// A project's task set.
    pub async fn task_set(&self, project: u64) -> Result<Option<TaskSet>> {
        let Some(s) = self.inner.store.project(project).await? else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT overlap, max_overlap, price::text AS price, fee_bps, gold_per_mille, \
                 reservation_ms FROM labeling_task_sets WHERE project_id = $1::text::numeric",
        )
        .bind(project.to_string())
        .fetch_optional(&self.inner.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let price: String = r.try_get("price")?;
        Ok(Some(TaskSet {
            project,
            labels: s.labels,
            overlap: u32_of(r.try_get("overlap")?),
            max_overlap: u32_of(r.try_get("max_overlap")?),
            price: price
                .parse()
                .map_err(|_| Error::invalid("price", format!("stored `{price}`")))?,
            fee_bps: u32_of(r.try_get("fee_bps")?),
            gold_per_mille: u32_of(r.try_get("gold_per_mille")?),
            reservation_ms: r.try_get("reservation_ms")?,
            method: s.method,
            threshold: s.policy.threshold,
            max_gold_error: s.gold.max_error_rate,
            min_gold_answers: s.gold.min_answers,
        }))
    }

    pub(crate) async fn require_task_set(&self, project: u64) -> Result<TaskSet> {
        if let Some((at, ts)) = self.cache().get(&project)
            && at.elapsed() < TASK_SET_TTL
        {
            return Ok(ts.clone());
        }
        let ts = self
            .task_set(project)
            .await?
            .ok_or(Error::UnknownProject { project })?;
        self.cache().insert(project, (Instant::now(), ts.clone()));
        Ok(ts)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (Instant, TaskSet)>> {
        match self.inner.task_sets.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Loads an upload: every row is validated first (a bad row: [`Error::BadRow`] with its
    /// line, nothing loaded); then the engine learns the tasks (gold with their true label)
    /// and labeling's rows are written in one transaction. A name the project already has is
    /// a bad row too. Returns the number of tasks loaded.
    pub async fn upload(&self, project: u64, format: Format, body: &[u8]) -> Result<usize> {
        let ts = self.require_task_set(project).await?;
        let rows = upload::parse(format, body, &ts.labels)?;
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let taken: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM labeling_tasks WHERE project_id = $1::text::numeric \
             AND name = ANY($2)",
        )
        .bind(project.to_string())
        .bind(&names)
        .fetch_all(&self.inner.pool)
        .await?;
        if let Some(r) = rows.iter().find(|r| taken.contains(&r.name)) {
            return Err(Error::BadRow {
                line: r.line,
                reason: format!("the project already has a task named `{}`", r.name),
            });
        }
        let ordinary: Vec<String> = rows
            .iter()
            .filter(|r| r.gold_label.is_none())
            .map(|r| r.name.clone())
            .collect();
        self.inner.store.add_tasks(project, &ordinary).await?;
        for r in &rows {
            if let Some(l) = &r.gold_label {
                self.inner.store.add_gold(project, &r.name, l).await?;
            }
        }
        let ids: Vec<i64> = rows
            .iter()
            .map(|_| rand::random::<i64>().rem_euclid(1 << 53) + 1)
            .collect();
        let payloads: Vec<String> = rows.iter().map(|r| r.payload.to_string()).collect();
        let priorities: Vec<i32> = rows.iter().map(|r| r.priority).collect();
        let gold: Vec<bool> = rows.iter().map(|r| r.gold_label.is_some()).collect();
        sqlx::query(
            "INSERT INTO labeling_tasks (id, project_id, name, payload, priority, gold, wanted, \
                 offerable) \
             SELECT u.id, $1::text::numeric, u.name, u.payload::jsonb, u.priority, u.gold, $7, \
                 u.gold \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::int[], $6::bool[]) \
                 AS u(id, name, payload, priority, gold)",
        )
        .bind(project.to_string())
        .bind(&ids)
        .bind(&names)
        .bind(&payloads)
        .bind(&priorities)
        .bind(&gold)
        .bind(i32_of(ts.overlap))
        .execute(&self.inner.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Error::BadRow {
                line: 1,
                reason: "a task name was taken by a concurrent upload; upload again".into(),
            },
            _ => Error::Db(e),
        })?;
        let funded = self.fund(project).await?;
        tracing::info!(project, tasks = rows.len(), funded, "tasks uploaded");
        Ok(rows.len())
    }

    /// Links a Telegram user to a wallet (the bot calls this after verifying the user's
    /// initData and the wallet's ton_proof). A later link replaces the wallet.
    pub async fn link_telegram(&self, telegram_id: i64, wallet: &RawAddress) -> Result<()> {
        if telegram_id <= 0 {
            return Err(Error::invalid("telegram_id", "must be positive"));
        }
        if wallet.workchain() != 0 {
            return Err(Error::invalid("wallet", "payouts go to the basechain only"));
        }
        sqlx::query(
            "INSERT INTO labeling_telegram_links (telegram_id, wallet) VALUES ($1, $2) \
             ON CONFLICT (telegram_id) DO UPDATE SET wallet = EXCLUDED.wallet, linked_at = now()",
        )
        .bind(telegram_id)
        .bind(wallet.as_str())
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    /// The worker a Telegram user acts as (`None`: not linked).
    pub async fn telegram_worker(&self, telegram_id: i64) -> Result<Option<Worker>> {
        let w: Option<String> =
            sqlx::query_scalar("SELECT wallet FROM labeling_telegram_links WHERE telegram_id = $1")
                .bind(telegram_id)
                .fetch_optional(&self.inner.pool)
                .await?;
        w.map(|w| Ok(Worker::new(RawAddress::parse(&w)?)))
            .transpose()
    }
}

pub(crate) fn i32_of(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

pub(crate) fn u32_of(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

pub(crate) fn u128_of(field: &'static str, s: &str) -> Result<u128> {
    s.parse()
        .map_err(|_| Error::invalid(field, format!("stored `{s}` is not an amount")))
}
