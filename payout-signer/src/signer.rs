//! The signing transaction: check, journal, sign, commit, then answer.
//!
//! ```text
//! request ─ request cell + hash, allowlist entry, ledger earnings / releasable (no lock)
//!   ─ queue ─ gate (one group at a time, dedicated connection) ─ BEGIN
//!   for each queued request, in order (each sees what those before it wrote):
//!     pg_locks: our lock connection still holds the lock; signer_state FOR SHARE: our
//!       fencing token? frozen?
//!     journal (contract, seqno|query id): same content -> stored message (replayed)
//!                                         other content -> refused (journal.conflict)
//!     allowlist, valid_until / TTL, batch caps, ledger earnings, earlier signatures of the
//!     items, rolling caps (signer_volume), per-worker caps (signer_items), releasable
//!     sign (key backend; the signature is verified before use)
//!     INSERT journal + items + volume + audit record   (a refusal: only its audit record)
//! COMMIT (synchronous_commit = on) ─ only now any message of the group leaves the process
//! ```
//!
//! Group commit: concurrent requests share one transaction and one fsync; a database error
//! fails the whole group (nothing of it is committed, every caller gets a 500).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use labelmint_abi::SignedRequest;
use labelmint_abi::escrow::{CloseRequest, ReleaseRequest};
use labelmint_abi::signing::verify_hash;
use labelmint_abi::vault::VaultBatchRequest;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::{Connection, PgConnection, Postgres, Row};
use tokio::sync::{Mutex, oneshot};

use crate::audit::{self, Record};
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::key::KeyBackend;
use crate::ledger::LedgerView;
use crate::lock::InstanceLock;
use crate::message;
use crate::policy;
use crate::rules::Rule;
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

    /// The signed payload (the request cell's hash): the journal's content hash.
    pub fn signing_hash(&self) -> Result<[u8; 32]> {
        Ok(match self {
            Request::Release(r) => r.signing_hash()?,
            Request::Close(r) => r.signing_hash()?,
            Request::Batch(r) => r.signing_hash()?,
        })
    }

    fn amount(&self) -> u128 {
        match self {
            Request::Release(r) => r.amount,
            Request::Close(_) => 0,
            Request::Batch(r) => r
                .items
                .iter()
                .fold(0u128, |a, i| a.saturating_add(i.amount)),
        }
    }

    fn record(&self, at: u64, hash: Option<&[u8; 32]>, decision: &str) -> Record {
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
struct Job {
    req: Request,
    hash: [u8; 32],
    pre: PreRead,
    at: u64,
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
fn refusal_record(req: &Request, at: u64, hash: Option<&[u8; 32]>, e: &Error) -> Record {
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

/// What is read before the gate: the allowlist entry and the ledger's view.
#[derive(Debug)]
struct PreRead {
    registered: Option<Registered>,
    earnings: HashMap<u64, crate::ledger::Earning>,
    releasable: u128,
}

/// The signer: policy + journal + key. One per process (it holds the instance lock).
#[derive(Debug)]
pub struct Signer {
    pool: PgPool,
    key: Arc<dyn KeyBackend>,
    ledger: Arc<dyn LedgerView>,
    limits: Limits,
    lock: InstanceLock,
    /// One signing transaction at a time, on a dedicated connection (re-acquired after an error).
    gate: Mutex<Option<PoolConnection<Postgres>>>,
    /// Requests waiting for the gate (group commit).
    queue: std::sync::Mutex<Vec<Job>>,
    test_pause: Option<Duration>,
    clock: fn() -> u64,
}

/// The answer with its outcome, for the HTTP layer.
pub type Outcome = Result<Signed>;

impl Signer {
    /// A signer on `pool` holding `lock`.
    pub fn new(
        pool: PgPool,
        key: Arc<dyn KeyBackend>,
        ledger: Arc<dyn LedgerView>,
        limits: Limits,
        lock: InstanceLock,
        test_pause: Option<Duration>,
    ) -> Self {
        Self {
            pool,
            key,
            ledger,
            limits,
            lock,
            gate: Mutex::new(None),
            queue: std::sync::Mutex::new(Vec::new()),
            test_pause,
            clock: store::now,
        }
    }

    /// The key's public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.public_key()
    }

    /// The key backend's kind.
    pub fn backend_kind(&self) -> &'static str {
        self.key.kind()
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether this instance still holds the single-signer lock.
    pub fn lock_held(&self) -> bool {
        self.lock.held()
    }

    /// Checks, journals durably, signs: see the module docs.
    ///
    /// Group commit: requests queue up; whoever holds the gate takes every queued request and
    /// runs them one after the other in ONE transaction (each sees the journal, items and
    /// volumes of those before it, exactly as if they ran alone), then commits once and hands
    /// each caller its answer. A refusal writes nothing but its audit record; a database error
    /// fails the whole group and nothing of it is committed.
    pub async fn sign(&self, req: Request) -> Result<Signed> {
        let at = (self.clock)();
        // The request cell and its hash are built before the gate (no shared state), and so is
        // what the ledger and the allowlist say (read on the pool; the ledger's writers are not
        // serialized with the signer anyway).
        let prepared = match req.signing_hash() {
            Ok(hash) => self.pre_read(&req).await.map(|pre| (hash, pre)),
            Err(e) => Err(Error::bad("unbuildable_request", e.to_string())),
        };
        let (hash, pre) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let hash = req.signing_hash().ok();
                let rec = refusal_record(&req, at, hash.as_ref(), &e);
                if let Err(a) = self.audit(&rec).await {
                    tracing::error!(error = %a, "cannot append the refusal to the audit log");
                }
                return Err(e);
            }
        };
        let (tx, rx) = oneshot::channel();
        if let Ok(mut q) = self.queue.lock() {
            q.push(Job {
                req,
                hash,
                pre,
                at,
                reply: tx,
            });
        }
        {
            let mut gate = self.gate.lock().await;
            let jobs: Vec<Job> = match self.queue.lock() {
                Ok(mut q) => {
                    let n = q.len().min(MAX_GROUP);
                    q.drain(..n).collect()
                }
                Err(_) => Vec::new(),
            };
            if !jobs.is_empty() {
                self.run_group(&mut gate, jobs).await;
            }
        }
        let result = match rx.await {
            Ok(r) => r,
            // Our job is still queued behind a full group: take the gate again until it ran.
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

    /// Runs `jobs` in one transaction on the gate's connection and answers each.
    async fn run_group(&self, gate: &mut Option<PoolConnection<Postgres>>, jobs: Vec<Job>) {
        let mut conn = match gate.take() {
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
                *gate = Some(conn);
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            // Nothing of the group was committed; the connection is dropped.
            Err(e) => fail_all(jobs, &e),
        }
    }

    async fn group_tx(&self, conn: &mut PgConnection, jobs: &[Job]) -> Result<Vec<Result<Signed>>> {
        let mut tx = conn.begin().await?;
        let mut results = Vec::with_capacity(jobs.len());
        for job in jobs {
            match self
                .sign_in_tx(&mut tx, &job.req, &job.hash, &job.pre, job.at)
                .await
            {
                Ok(signed) => results.push(Ok(signed)),
                Err(e @ (Error::Refused { .. } | Error::BadRequest { .. })) => {
                    let rec = refusal_record(&job.req, job.at, Some(&job.hash), &e);
                    audit::append(&mut tx, &rec).await?;
                    results.push(Err(e));
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Appends one audit record in its own transaction.
    pub async fn audit(&self, rec: &Record) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        audit::append(&mut tx, rec).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads the allowlist entry and, for a vault batch, the ledger's earnings of its items, for
    /// a release the project's releasable amount.
    async fn pre_read(&self, req: &Request) -> Result<PreRead> {
        let mut conn = self.pool.acquire().await?;
        let registered = store::lookup(&mut conn, &req.contract()).await?;
        let mut pre = PreRead {
            registered,
            earnings: HashMap::new(),
            releasable: 0,
        };
        match (req, &pre.registered) {
            (Request::Batch(b), Some(Registered::Vault { .. })) => {
                let ids: Vec<u64> = b.items.iter().map(|i| i.item_id).collect();
                pre.earnings = self.ledger.earnings(&mut conn, &ids).await?;
            }
            (Request::Release(_), Some(Registered::Escrow { project_id })) => {
                pre.releasable = self.ledger.releasable(&mut conn, *project_id).await?;
            }
            _ => {}
        }
        Ok(pre)
    }

    async fn sign_in_tx(
        &self,
        conn: &mut PgConnection,
        req: &Request,
        hash: &[u8; 32],
        pre: &PreRead,
        now: u64,
    ) -> Result<Signed> {
        if !self.lock.held() {
            return Err(Error::refused(
                Rule::NotLockHolder,
                "this signer lost its single-instance lock connection; restart it",
            ));
        }
        let hash = *hash;
        let contract = req.contract();
        let (key_kind, key) = req.key();
        let tx = conn;

        // One round trip: the fencing token and freeze switch (FOR SHARE), the journal entry
        // for this key, the allowlist entry.
        let row = sqlx::query(
            "SELECT s.holder, s.frozen, s.freeze_reason, \
             EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $4 \
                     AND granted AND ((classid::BIGINT << 32) | objid::BIGINT) = $5) AS lock_held, \
             j.request_kind, j.content_hash, j.signature, j.boc, j.valid_until \
             FROM signer_state s \
             LEFT JOIN signer_journal j \
               ON j.contract = $1 AND j.key_kind = $2 AND j.key = $3::NUMERIC \
             WHERE s.id = 1 FOR SHARE OF s",
        )
        .bind(&contract)
        .bind(key_kind)
        .bind(key.to_string())
        .bind(self.lock.pid())
        .bind(crate::lock::SIGNER_LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
        let holder: Option<String> = row.try_get("holder")?;
        if !row.try_get::<bool, _>("lock_held")? {
            return Err(Error::refused(
                Rule::NotLockHolder,
                "this signer's single-instance lock connection is gone; restart it",
            ));
        }
        if holder.as_deref() != Some(self.lock.holder()) {
            return Err(Error::refused(
                Rule::NotLockHolder,
                "another signer instance took the single-signer lock; this one may not sign",
            ));
        }
        if row.try_get::<bool, _>("frozen")? {
            let reason: Option<String> = row.try_get("freeze_reason")?;
            return Err(Error::refused(
                Rule::Frozen,
                format!(
                    "signing is frozen ({}); `payout-signer unfreeze` resumes it",
                    reason.unwrap_or_default()
                ),
            ));
        }
        if let Some(stored) = row.try_get::<Option<Vec<u8>>, _>("content_hash")? {
            let kind: String = row.try_get("request_kind")?;
            if stored != hash || kind != req.kind() {
                return Err(Error::refused(
                    Rule::JournalConflict,
                    format!(
                        "{contract} {key_kind} {key} was already signed for a different {kind} (content {}); refusing to sign another",
                        hex::encode(&stored)
                    ),
                ));
            }
            let signature: Vec<u8> = row.try_get("signature")?;
            let boc: Vec<u8> = row.try_get("boc")?;
            let valid_until: i64 = row.try_get("valid_until")?;
            audit::append(&mut *tx, &req.record(now, Some(&hash), "replayed")).await?;
            return Ok(self.answer(req, &hash, &signature, &boc, valid_until as u64, true));
        }

        let (valid_until, currency) = match (req, pre.registered.clone()) {
            (Request::Release(r), Some(Registered::Escrow { .. })) => {
                let valid_until = u64::from(r.valid_until);
                policy::check_valid_until(valid_until, now, self.limits.max_ttl)?;
                let releasable = pre.releasable;
                let pending: String = sqlx::query_scalar(
                    "SELECT COALESCE(SUM(amount), 0)::TEXT FROM signer_journal \
                     WHERE contract = $1 AND request_kind = 'escrow_release' AND valid_until >= $2",
                )
                .bind(&contract)
                .bind(now as i64)
                .fetch_one(&mut *tx)
                .await?;
                policy::check_release(r.amount, releasable, parse_u128(&pending)?)?;
                (valid_until, None)
            }
            (Request::Close(r), Some(Registered::Escrow { .. })) => {
                let valid_until = u64::from(r.valid_until);
                policy::check_valid_until(valid_until, now, self.limits.max_ttl)?;
                (valid_until, None)
            }
            (
                Request::Batch(b),
                Some(Registered::Vault {
                    currency, timeout, ..
                }),
            ) => {
                let valid_until =
                    policy::check_created_at(b.created_at, timeout, now, self.limits.max_ttl)?;
                self.check_batch(&mut *tx, b, &currency, &pre.earnings, now)
                    .await?;
                (valid_until, Some(currency))
            }
            (_, other) => {
                let want = match req {
                    Request::Batch(_) => "vault",
                    _ => "escrow",
                };
                return Err(Error::refused(
                    Rule::UnknownContract,
                    match other {
                        None => format!("{contract} is not a registered {want}"),
                        Some(r) => format!("{contract} is registered as {r:?}, not as an {want}"),
                    },
                ));
            }
        };

        // Sign (the backend never sees the journal; the signature is checked before use).
        let backend = self.key.clone();
        let signature = tokio::task::spawn_blocking(move || backend.sign(&hash))
            .await
            .map_err(|e| Error::Key(format!("signing task: {e}")))?
            .map_err(|e| Error::Key(e.to_string()))?;
        verify_hash(&hash, &self.key.public_key(), &signature)
            .map_err(|e| Error::Key(format!("the backend's signature does not verify: {e}")))?;
        let cell = match req {
            Request::Release(r) => message::release_body(r, signature)?,
            Request::Close(r) => message::close_body(r, signature)?,
            Request::Batch(b) => message::batch_external(b, signature)?,
        };
        let boc = message::to_boc(&cell);

        sqlx::query(
            "INSERT INTO signer_journal (contract, key_kind, key, request_kind, content_hash, \
             signature, boc, amount, currency, valid_until, signed_at) \
             VALUES ($1, $2, $3::NUMERIC, $4, $5, $6, $7, $8::NUMERIC, $9, $10, $11)",
        )
        .bind(&contract)
        .bind(key_kind)
        .bind(key.to_string())
        .bind(req.kind())
        .bind(&hash[..])
        .bind(&signature[..])
        .bind(&boc)
        .bind(req.amount().to_string())
        .bind(&currency)
        .bind(valid_until as i64)
        .bind(now as i64)
        .execute(&mut *tx)
        .await?;
        if let (Request::Batch(b), Some(currency)) = (req, &currency) {
            record_batch(&mut *tx, b, &contract, currency, valid_until, now).await?;
        }
        audit::append(&mut *tx, &req.record(now, Some(&hash), "signed")).await?;
        Ok(self.answer(req, &hash, &signature, &boc, valid_until, false))
    }

    async fn check_batch(
        &self,
        tx: &mut PgConnection,
        b: &VaultBatchRequest,
        currency: &str,
        earnings: &HashMap<u64, crate::ledger::Earning>,
        now: u64,
    ) -> Result<()> {
        let caps = *policy::caps_of(&self.limits, currency)?;
        let total = policy::check_batch_caps(b, &self.limits, &caps)?;
        policy::check_items_against_ledger(b, currency, earnings)?;

        let ids: Vec<i64> = b.items.iter().map(|i| i.item_id as i64).collect();
        let rows = sqlx::query(
            // A join with UNNEST: index probes whatever the table's statistics say (`= ANY`
            // makes the planner scan the table while it has no statistics yet).
            "SELECT s.item_id, s.contract, s.query_id::TEXT AS query_id, s.valid_until \
             FROM UNNEST($1::BIGINT[]) AS u(id) JOIN signer_items s ON s.item_id = u.id",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut earlier = Vec::with_capacity(rows.len());
        for r in rows {
            let valid_until: i64 = r.try_get("valid_until")?;
            earlier.push((
                r.try_get::<i64, _>("item_id")? as u64,
                r.try_get::<String, _>("contract")?,
                parse_u64(&r.try_get::<String, _>("query_id")?)?,
                valid_until as u64,
            ));
        }
        policy::check_items_against_journal(&earlier, earnings, now)?;

        let minute = (now / 60) as i64;
        let row = sqlx::query(
            "SELECT COALESCE(SUM(amount) FILTER (WHERE minute >= $2 - 60), 0)::TEXT AS hour, \
             COALESCE(SUM(amount), 0)::TEXT AS day FROM signer_volume \
             WHERE currency = $1 AND minute >= $2 - 1440",
        )
        .bind(currency)
        .bind(minute)
        .fetch_one(&mut *tx)
        .await?;
        let hour = parse_u128(&row.try_get::<String, _>("hour")?)?;
        let day = parse_u128(&row.try_get::<String, _>("day")?)?;
        policy::check_rolling(&caps, currency, hour, day, total)?;

        let workers: Vec<String> = {
            let mut w: Vec<String> = b.items.iter().map(|i| raw_address(&i.dest)).collect();
            w.sort();
            w.dedup();
            w
        };
        let rows = sqlx::query(
            "SELECT s.worker, SUM(s.amount)::TEXT AS amount \
             FROM UNNEST($1::TEXT[]) AS u(w) JOIN signer_items s \
               ON s.worker = u.w AND s.currency = $2 AND s.signed_at > $3 \
             GROUP BY s.worker",
        )
        .bind(&workers)
        .bind(currency)
        .bind(now as i64 - 86_400)
        .fetch_all(&mut *tx)
        .await?;
        let mut signed = HashMap::new();
        for r in rows {
            signed.insert(
                r.try_get::<String, _>("worker")?,
                parse_u128(&r.try_get::<String, _>("amount")?)?,
            );
        }
        policy::check_workers(b, &caps, &signed)
    }

    fn answer(
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

/// Records a signed batch's items and adds its total to the currency's rolling volume.
async fn record_batch(
    tx: &mut PgConnection,
    b: &VaultBatchRequest,
    contract: &str,
    currency: &str,
    valid_until: u64,
    now: u64,
) -> Result<()> {
    let ids: Vec<i64> = b.items.iter().map(|i| i.item_id as i64).collect();
    let workers: Vec<String> = b.items.iter().map(|i| raw_address(&i.dest)).collect();
    let amounts: Vec<String> = b.items.iter().map(|i| i.amount.to_string()).collect();
    sqlx::query(
        "INSERT INTO signer_items (item_id, contract, query_id, worker, amount, currency, \
         valid_until, signed_at) \
         SELECT i, $4, $5::NUMERIC, w, a::NUMERIC, $6, $7, $8 \
         FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[]) AS t(i, w, a)",
    )
    .bind(&ids)
    .bind(&workers)
    .bind(&amounts)
    .bind(contract)
    .bind(b.query_id.to_string())
    .bind(currency)
    .bind(valid_until as i64)
    .bind(now as i64)
    .execute(&mut *tx)
    .await?;
    let total = b
        .items
        .iter()
        .fold(0u128, |a, i| a.saturating_add(i.amount));
    sqlx::query(
        "INSERT INTO signer_volume (currency, minute, amount) VALUES ($1, $2, $3::NUMERIC) \
         ON CONFLICT (currency, minute) DO UPDATE SET amount = signer_volume.amount + EXCLUDED.amount",
    )
    .bind(currency)
    .bind((now / 60) as i64)
    .bind(total.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn parse_u128(s: &str) -> Result<u128> {
    s.parse()
        .map_err(|e| Error::Config(format!("stored amount {s:?}: {e}")))
}

fn parse_u64(s: &str) -> Result<u64> {
    s.parse()
        .map_err(|e| Error::Config(format!("stored id {s:?}: {e}")))
}
