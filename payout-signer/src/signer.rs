//! The signer: a request is prepared (request cell and hash, allowlist entry, the ledger's
//! view), queued, and decided with the others queued beside it in one transaction.
//!
//! ```text
//! request ─ request cell + hash, allowlist entry, ledger earnings / releasable (no lock)
//!   ─ queue ─ the committer task (one group at a time, dedicated connection) ─ group/: one
//!   transaction
//!   ─ COMMIT (synchronous_commit = on) ─ only now the answer leaves the process
//! ```
//!
//! Group commit: concurrent requests share one transaction and one fsync; a database error
//! fails the whole group (nothing of it is committed, every caller gets a 500).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use labelmint_abi::Layout;
use labelmint_abi::escrow::{CloseRequest, ReleaseRequest};
use labelmint_abi::vault::VaultBatchRequest;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use tokio::sync::{mpsc, oneshot};
use tycho_types::cell::Cell;

use crate::audit::{self, Record};
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::key::KeyBackend;
use crate::ledger::LedgerView;
use crate::lock::InstanceLock;
use crate::policy;
use crate::store::{self, Registered};
use crate::wire::{Signed, raw_address};

/// A typed signing request (already validated structurally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Escrow release.
    Release(ReleaseRequest),
    /// Escrow close.
    Close(CloseRequest),
    /// Vault payout batch.
    Batch(VaultBatchRequest),
}

impl Request {
    /// `escrow_release`, `escrow_close`, `vault_batch`.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Release(_) => "escrow_release",
            Request::Close(_) => "escrow_close",
            Request::Batch(_) => "vault_batch",
        }
    }

    /// The target contract (raw).
    pub fn contract(&self) -> String {
        raw_address(match self {
            Request::Release(r) => &r.escrow,
            Request::Close(r) => &r.escrow,
            Request::Batch(r) => &r.vault,
        })
    }

    /// The journal key: `("seqno", n)` or `("query_id", n)`.
    pub fn key(&self) -> (&'static str, u64) {
        match self {
            Request::Release(r) => ("seqno", u64::from(r.seqno)),
            Request::Close(r) => ("seqno", u64::from(r.seqno)),
            Request::Batch(r) => ("query_id", r.query_id),
        }
    }

    /// The request cell: its hash is what is signed.
    pub fn request_cell(&self) -> Result<Cell> {
        Ok(match self {
            Request::Release(r) => r.build()?,
            Request::Close(r) => r.build()?,
            Request::Batch(r) => r.build()?,
        })
    }

    /// The signed payload (the request cell's hash): the journal's content hash.
    pub fn signing_hash(&self) -> Result<[u8; 32]> {
        Ok(self.request_cell()?.repr_hash().0)
    }

    pub(crate) fn amount(&self) -> u128 {
        match self {
            Request::Release(r) => r.amount,
            Request::Close(_) => 0,
            Request::Batch(r) => r
                .items
                .iter()
                .fold(0u128, |a, i| a.saturating_add(i.amount)),
        }
    }

    pub(crate) fn record(&self, at: u64, hash: Option<&[u8; 32]>, decision: &str) -> Record {
        let mut rec = Record::new(at, self.kind(), decision);
        let (k, v) = self.key();
        rec.contract = Some(self.contract());
        rec.key = Some(format!("{k}:{v}"));
        rec.content_hash = hash.map(hex::encode);
        rec.amount = Some(self.amount().to_string());
        if let Request::Batch(b) = self {
            rec.items = Some(b.items.len() as u32);
        }
        rec
    }
}

/// At most this many requests share one transaction.
const MAX_GROUP: usize = 32;

/// A queued request.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) req: Request,
    pub(crate) hash: [u8; 32],
    /// The request cell (`hash` is its hash), kept to build the message without rebuilding it.
    pub(crate) cell: Cell,
    pub(crate) pre: PreRead,
    pub(crate) at: u64,
    reply: oneshot::Sender<Result<Signed>>,
}

/// Answers every job of a failed group with an internal error.
fn fail_all(jobs: Vec<Job>, e: &Error) {
    tracing::error!(error = %e, jobs = jobs.len(), "signing group failed; nothing was committed");
    for job in jobs {
        let _ = job.reply.send(Err(Error::Internal(format!(
            "signing transaction failed: {e}"
        ))));
    }
}

/// The audit record of a refusal or failure.
pub(crate) fn refusal_record(req: &Request, at: u64, hash: Option<&[u8; 32]>, e: &Error) -> Record {
    let mut rec = req.record(at, hash, "refused");
    match e {
        Error::Refused { rule, message } => {
            rec.rule = Some(rule.as_str().into());
            rec.detail = Some(message.clone());
        }
        Error::BadRequest { code, message } => {
            rec.decision = "bad_request".into();
            rec.rule = Some((*code).into());
            rec.detail = Some(message.clone());
        }
        other => {
            rec.decision = "error".into();
            rec.detail = Some(other.to_string());
        }
    }
    rec
}

/// What is read and computed before the queue, in the caller's task: the allowlist entry,
/// the ledger's view, and for a vault batch the facts the committer needs.
#[derive(Debug)]
pub(crate) struct PreRead {
    pub(crate) registered: Option<Registered>,
    /// A vault batch: the ledger's payout items of its item ids, with their earnings.
    pub(crate) items: HashMap<u64, crate::ledger::PayoutItem>,
    pub(crate) releasable: u128,
    /// An escrow release: the seqnos of the releases the ledger's `releasable` already counts
    /// (`None`: unknown).
    pub(crate) released_seqnos: Option<Vec<u32>>,
    /// An escrow close: what the ledger says about closing the project.
    pub(crate) close: Option<crate::ledger::CloseView>,
    pub(crate) batch: Option<BatchFacts>,
}

/// A vault batch (for a registered vault) as the committer needs it, computed in parallel by
/// the callers so that the one committer does as little as possible per item.
#[derive(Debug)]
pub(crate) struct BatchFacts {
    /// The outcome of [`policy::check_items_against_ledger`]: it depends only on the request
    /// and the ledger's view, so it is computed here and applied in its place in the rule order.
    pub(crate) ledger: Result<()>,
    /// The raw address of each item's worker (item order).
    pub(crate) workers: Vec<String>,
    /// What each worker gets in this batch.
    pub(crate) totals: Vec<(String, u128)>,
    /// Item ids (item order).
    pub(crate) ids: Vec<i64>,
    /// The earnings the ledger grouped under the items, with the item of each (the signer's
    /// journal records which earnings each signature paid: an earning re-grouped under a new
    /// item id is still the same money).
    pub(crate) earning_ids: Vec<i64>,
    /// The item id of each of `earning_ids`.
    pub(crate) earning_items: Vec<i64>,
    /// Item amounts, decimal (item order).
    pub(crate) amounts: Vec<String>,
    /// The batch total.
    pub(crate) total: u128,
    /// The outcome of [`policy::check_attach`]: what the batch can spend from the vault's TON
    /// float (0 for a TON vault), or the rule `attach` / `forward_ton` broke.
    pub(crate) float: Result<u128>,
}

impl BatchFacts {
    fn of(b: &VaultBatchRequest, currency: &str, pre: &PreRead, limits: &Limits) -> Result<Self> {
        let mut seen = std::collections::HashSet::with_capacity(b.items.len());
        let mut ids = Vec::with_capacity(b.items.len());
        for item in &b.items {
            if !seen.insert(item.item_id) {
                return Err(Error::bad(
                    "duplicate_item_id",
                    format!("item {} appears twice in the batch", item.item_id),
                ));
            }
            ids.push(i64::try_from(item.item_id).map_err(|_| {
                Error::bad(
                    "bad_item_id",
                    format!("item id {} is too large", item.item_id),
                )
            })?);
        }
        let (mut earning_ids, mut earning_items) = (Vec::new(), Vec::new());
        for (item, id) in b.items.iter().zip(&ids) {
            if let Some(p) = pre.items.get(&item.item_id) {
                for e in &p.earnings {
                    if let Ok(e) = i64::try_from(e.id) {
                        earning_ids.push(e);
                        earning_items.push(*id);
                    }
                }
            }
        }
        Ok(Self {
            ledger: policy::check_items_against_ledger(b, currency, &pre.items),
            earning_ids,
            earning_items,
            workers: b.items.iter().map(|i| raw_address(&i.dest)).collect(),
            totals: policy::worker_totals(b),
            ids,
            amounts: b.items.iter().map(|i| i.amount.to_string()).collect(),
            total: b
                .items
                .iter()
                .fold(0u128, |a, i| a.saturating_add(i.amount)),
            float: policy::check_attach(b, currency, &limits.float),
        })
    }
}

/// What the callers and the committer task share.
#[derive(Debug)]
pub(crate) struct Core {
    pool: PgPool,
    pub(crate) key: Arc<dyn KeyBackend>,
    ledger: Arc<dyn LedgerView>,
    pub(crate) limits: Limits,
    pub(crate) lock: InstanceLock,
    stats: GroupCounters,
}

/// How the committer has grouped requests so far.
#[derive(Debug, Default)]
struct GroupCounters {
    groups: std::sync::atomic::AtomicU64,
    requests: std::sync::atomic::AtomicU64,
    largest: std::sync::atomic::AtomicU64,
}

/// How requests were grouped since the signer started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupStats {
    /// Transactions the committer ran.
    pub groups: u64,
    /// Requests decided in them.
    pub requests: u64,
    /// The most requests in one group.
    pub largest: u64,
}

/// The signer: policy + journal + key. One per process (it holds the instance lock).
///
/// Requests are prepared by their callers, in parallel, then queued to ONE committer task that
/// owns the signing connection: it takes everything queued (up to `MAX_GROUP`), decides and
/// commits it as one group, answers each caller, and takes the next group. A caller that goes
/// away (a dropped HTTP request) never interrupts a group.
#[derive(Debug)]
pub struct Signer {
    core: Arc<Core>,
    queue: mpsc::Sender<Job>,
    test_pause: Option<Duration>,
    clock: fn() -> u64,
}

/// The answer with its outcome, for the HTTP layer.
pub type Outcome = Result<Signed>;

/// Requests waiting for the committer beyond this make their callers wait to queue.
const QUEUE_DEPTH: usize = 1024;

impl Signer {
    /// A signer on `pool` holding `lock`; starts its committer task (on the current tokio
    /// runtime), which ends when the signer is dropped.
    pub fn new(
        pool: PgPool,
        key: Arc<dyn KeyBackend>,
        ledger: Arc<dyn LedgerView>,
        limits: Limits,
        lock: InstanceLock,
        test_pause: Option<Duration>,
    ) -> Self {
        let core = Arc::new(Core {
            pool,
            key,
            ledger,
            limits,
            lock,
            stats: GroupCounters::default(),
        });
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(commit_loop(core.clone(), jobs));
        Self {
            core,
            queue,
            test_pause,
            clock: store::now,
        }
    }

    /// The key's public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.core.key.public_key()
    }

    /// The key backend's kind.
    pub fn backend_kind(&self) -> &'static str {
        self.core.key.kind()
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.core.pool
    }

    /// Whether this instance still holds the single-signer lock.
    pub fn lock_held(&self) -> bool {
        self.core.lock.held()
    }

    /// Whether the committer task is running (it only stops if it panicked: then every
    /// request fails and `/health` says so).
    pub fn committer_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// How requests were grouped into transactions so far.
    pub fn group_stats(&self) -> GroupStats {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.core.stats;
        GroupStats {
            groups: c.groups.load(Relaxed),
            requests: c.requests.load(Relaxed),
            largest: c.largest.load(Relaxed),
        }
    }

    /// Checks, journals durably, signs: see the module docs.
    ///
    /// Group commit: the request is queued to the committer task, which runs everything queued
    /// one after the other in ONE transaction (each request sees the journal, items and
    /// volumes of those before it, exactly as if they ran alone), commits once and hands each
    /// caller its answer. A refusal writes nothing but its audit record; a database error
    /// fails the whole group and nothing of it is committed.
    pub async fn sign(&self, req: Request) -> Result<Signed> {
        let at = (self.clock)();
        // The request cell and its hash are built before the queue (no shared state), and so is
        // what the ledger and the allowlist say (read on the pool; the ledger's writers are not
        // serialized with the signer anyway).
        let cell = match req.request_cell() {
            Ok(cell) => cell,
            Err(e) => {
                let e = Error::bad("unbuildable_request", e.to_string());
                return self.refuse_early(&req, at, None, e).await;
            }
        };
        let pre = match self.pre_read(&req).await {
            Ok(pre) => pre,
            Err(e) => {
                return self
                    .refuse_early(&req, at, Some(&cell.repr_hash().0), e)
                    .await;
            }
        };
        let (tx, rx) = oneshot::channel();
        let job = Job {
            req,
            hash: cell.repr_hash().0,
            cell,
            pre,
            at,
            reply: tx,
        };
        if self.queue.send(job).await.is_err() {
            return Err(Error::Internal("the signing task has stopped".into()));
        }
        let result = match rx.await {
            Ok(r) => r,
            Err(_) => Err(Error::Internal("the signing group was dropped".into())),
        };
        if let (Ok(_), Some(pause)) = (&result, self.test_pause) {
            // TEST ONLY (LABELMINT_SIGNER_TEST_PAUSE_AFTER_JOURNAL_MS): the journal is committed,
            // the answer not yet sent.
            tracing::warn!(?pause, "test pause after the journal commit");
            tokio::time::sleep(pause).await;
        }
        result
    }

    /// Audits a request refused (or failed) before the queue, then returns the error.
    async fn refuse_early(
        &self,
        req: &Request,
        at: u64,
        hash: Option<&[u8; 32]>,
        e: Error,
    ) -> Result<Signed> {
        let rec = refusal_record(req, at, hash, &e);
        if let Err(a) = self.audit(&rec).await {
            tracing::error!(error = %a, "cannot append the refusal to the audit log");
        }
        Err(e)
    }

    /// Appends one audit record in its own transaction.
    pub async fn audit(&self, rec: &Record) -> Result<()> {
        let mut tx = self.core.pool.begin().await?;
        audit::append(&mut tx, rec).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads the allowlist entry and, for a vault batch, the ledger's payout items and their
    /// earnings, for
    /// a release the project's releasable amount, for a close the ledger's close view.
    async fn pre_read(&self, req: &Request) -> Result<PreRead> {
        let core = &self.core;
        let mut conn = core.pool.acquire().await?;
        let registered = store::lookup(&mut conn, &req.contract()).await?;
        let mut pre = PreRead {
            registered,
            items: HashMap::new(),
            releasable: 0,
            released_seqnos: None,
            close: None,
            batch: None,
        };
        match (req, &pre.registered) {
            (Request::Batch(b), Some(Registered::Vault { currency, .. })) => {
                let ids: Vec<u64> = b.items.iter().map(|i| i.item_id).collect();
                let vault = req.contract();
                pre.items = core
                    .ledger
                    .batch_items(&mut conn, &vault, b.query_id, &ids)
                    .await?;
                let currency = currency.clone();
                pre.batch = Some(BatchFacts::of(b, &currency, &pre, &core.limits)?);
            }
            (Request::Release(_), Some(Registered::Escrow { project_id })) => {
                let view = core.ledger.release_view(&mut conn, *project_id).await?;
                pre.releasable = view.releasable;
                pre.released_seqnos = view.released_seqnos;
            }
            (Request::Close(_), Some(Registered::Escrow { project_id })) => {
                pre.close = Some(core.ledger.close_view(&mut conn, *project_id).await?);
            }
            _ => {}
        }
        Ok(pre)
    }
}

/// The committer task: one group at a time on one dedicated connection (taken again from the
/// pool after a failed group). Ends when every [`Signer`] handle is gone.
async fn commit_loop(core: Arc<Core>, mut queue: mpsc::Receiver<Job>) {
    let mut conn: Option<PoolConnection<Postgres>> = None;
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        core.run_group(&mut conn, jobs).await;
    }
}

impl Core {
    /// Runs `jobs` in one transaction on the committer's connection and answers each.
    async fn run_group(&self, held: &mut Option<PoolConnection<Postgres>>, jobs: Vec<Job>) {
        use std::sync::atomic::Ordering::Relaxed;
        self.stats.groups.fetch_add(1, Relaxed);
        self.stats.requests.fetch_add(jobs.len() as u64, Relaxed);
        self.stats.largest.fetch_max(jobs.len() as u64, Relaxed);
        let mut conn = match held.take() {
            Some(c) => c,
            None => match self.pool.acquire().await {
                Ok(c) => c,
                Err(e) => {
                    fail_all(jobs, &Error::Db(e));
                    return;
                }
            },
        };
        match self.group_tx(&mut conn, &jobs).await {
            Ok(results) => {
                *held = Some(conn);
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            // Nothing of the group was committed; the connection is dropped.
            Err(e) => fail_all(jobs, &e),
        }
    }

    /// The answer to a caller.
    pub(crate) fn answer(
        &self,
        req: &Request,
        hash: &[u8],
        signature: &[u8],
        boc: &[u8],
        valid_until: u64,
        replayed: bool,
    ) -> Signed {
        let (k, v) = req.key();
        Signed {
            kind: req.kind().into(),
            contract: req.contract(),
            key: format!("{k}:{v}"),
            delivery: match req {
                Request::Batch(_) => "external",
                _ => "internal_body",
            }
            .into(),
            boc: base64::engine::general_purpose::STANDARD.encode(boc),
            signing_hash: hex::encode(hash),
            signature: hex::encode(signature),
            public_key: hex::encode(self.key.public_key()),
            valid_until,
            replayed,
        }
    }
}
