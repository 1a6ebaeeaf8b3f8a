//! One signing group: every queued request decided in ONE transaction, a set at a time.
//!
//! ```text
//! BEGIN
//!   reads (one statement each, for the whole group; skipped when no request needs them):
//!     signer_state FOR SHARE + our advisory lock in pg_locks    fencing token, freeze
//!     signer_journal     the journal entry of every (contract, seqno | query id) of the group
//!     signer_items       every earlier signature of every item of the group's batches
//!     signer_volume      the rolling hour / day sums of the group's currencies
//!     signer_items       the rolling 24 h sum of every (worker, currency) of the group
//!     signer_journal     the live signed releases of the group's escrows
//!   decide, in queue order, in memory: each request is checked against what was read PLUS
//!     what the requests before it in the group were allowed (the reads are updated as each
//!     one is allowed), exactly as if each had run alone, one after the other
//!   sign the allowed ones (key backend; each signature verified before use) and build their
//!     messages, in parallel
//!   writes (one statement each): journal rows, signed items, rolling volumes, audit records
//!     (signed, replayed and refused alike)
//! COMMIT (synchronous_commit = on) ─ only now does any message of the group leave the process
//! ```
//!
//! Windows read once for the group use the OLDEST request time of the group, which can only
//! count more (rolling sums, live releases): a cap is never exceeded.

use std::collections::HashMap;

use labelmint_abi::signing::verify_hash;
use labelmint_abi::vault::VaultBatchRequest;
use sqlx::{PgConnection, Row};

use crate::audit;
use crate::error::{Error, Result};
use crate::message;
use crate::policy;
use crate::rules::Rule;
use crate::signer::{BatchFacts, Core, Job, PreRead, Request, refusal_record};
use crate::store::Registered;
use crate::wire::Signed;

/// `(contract, key kind, key)`.
type JournalKey = (String, &'static str, u64);

/// A journal entry as the group sees it.
#[derive(Debug)]
enum Entry {
    /// Committed before this group.
    Stored {
        request_kind: String,
        content_hash: Vec<u8>,
        signature: Vec<u8>,
        boc: Vec<u8>,
        valid_until: u64,
    },
    /// Allowed earlier in this group (job index).
    InGroup {
        request_kind: &'static str,
        content_hash: [u8; 32],
        job: usize,
    },
}

/// An earlier signature of an item: `(vault, query id, valid_until)`.
type Earlier = (String, u64, u64);

/// What the group read, updated as each request is allowed.
#[derive(Debug, Default)]
struct Reads {
    holder: Option<String>,
    frozen: bool,
    freeze_reason: Option<String>,
    lock_held: bool,
    /// The audit log's last record (its lock is held since `BEGIN`).
    audit_head: audit::Head,
    journal: HashMap<JournalKey, Entry>,
    items: HashMap<u64, Vec<Earlier>>,
    /// currency -> (last hour, last 24 h)
    volume: HashMap<String, (u128, u128)>,
    /// currency -> worker -> last 24 h
    workers: HashMap<String, HashMap<String, u128>>,
    /// escrow -> live signed releases
    pending: HashMap<String, u128>,
}

/// What was decided for one request.
#[derive(Debug)]
enum Plan {
    /// Sign it; it is live until `valid_until`.
    Sign {
        valid_until: u64,
        currency: Option<String>,
    },
    /// Already in the journal: the stored message.
    Stored {
        signature: Vec<u8>,
        boc: Vec<u8>,
        valid_until: u64,
    },
    /// Allowed earlier in this group with the same content: that job's message.
    SameAs(usize),
}

/// What a message needs besides the signature (a batch: its vault and the signed request cell).
enum Parts {
    Release(labelmint_abi::escrow::ReleaseRequest),
    Close(labelmint_abi::escrow::CloseRequest),
    Batch(tycho_types::models::StdAddr),
}

/// A signature and the message carrying it.
#[derive(Debug, Clone)]
struct Made {
    signature: [u8; 64],
    boc: Vec<u8>,
}

impl Core {
    /// Decides, signs and journals `jobs` in one transaction on `conn`; returns each job's
    /// answer (refusals included). An `Err` means nothing was committed.
    pub(crate) async fn group_tx(
        &self,
        conn: &mut PgConnection,
        jobs: &[Job],
    ) -> Result<Vec<Result<Signed>>> {
        // BEGIN and the audit log's lock in one round trip; the lock is held until COMMIT.
        let mut tx = sqlx::Connection::begin_with(&mut *conn, audit::BEGIN_LOCKED_SQL).await?;
        let now = jobs.iter().map(|j| j.at).min().unwrap_or(0);
        let mut reads = self.read(&mut tx, jobs, now).await?;
        let plans: Vec<Result<Plan>> = jobs
            .iter()
            .enumerate()
            .map(|(i, job)| self.decide(&mut reads, i, job))
            .collect();
        let made = self.make(jobs, &plans).await?;

        let mut results = Vec::with_capacity(jobs.len());
        let mut records = Vec::with_capacity(jobs.len());
        let mut writes = Writes::default();
        for (i, (job, plan)) in jobs.iter().zip(&plans).enumerate() {
            match plan {
                Ok(Plan::Sign {
                    valid_until,
                    currency,
                }) => {
                    let Some(m) = &made[i] else {
                        return Err(Error::Internal("a planned signature is missing".into()));
                    };
                    writes.add(job, m, *valid_until, currency.as_deref());
                    records.push(job.req.record(job.at, Some(&job.hash), "signed"));
                    results.push(Ok(self.answer(
                        &job.req,
                        &job.hash,
                        &m.signature,
                        &m.boc,
                        *valid_until,
                        false,
                    )));
                }
                Ok(Plan::Stored {
                    signature,
                    boc,
                    valid_until,
                }) => {
                    records.push(job.req.record(job.at, Some(&job.hash), "replayed"));
                    results.push(Ok(self.answer(
                        &job.req,
                        &job.hash,
                        signature,
                        boc,
                        *valid_until,
                        true,
                    )));
                }
                Ok(Plan::SameAs(first)) => {
                    let (Some(m), Ok(Plan::Sign { valid_until, .. })) =
                        (&made[*first], &plans[*first])
                    else {
                        return Err(Error::Internal(
                            "a replayed in-group signature is missing".into(),
                        ));
                    };
                    records.push(job.req.record(job.at, Some(&job.hash), "replayed"));
                    results.push(Ok(self.answer(
                        &job.req,
                        &job.hash,
                        &m.signature,
                        &m.boc,
                        *valid_until,
                        true,
                    )));
                }
                Err(e) => {
                    records.push(refusal_record(&job.req, job.at, Some(&job.hash), e));
                    results.push(Err(e.copy_outcome()));
                }
            }
        }
        let audit_rows = audit::chain(reads.audit_head, &records)?;
        writes.write(&mut tx, &audit_rows).await?;
        tx.commit().await?;
        Ok(results)
    }

    /// The group's reads (see the module docs), in ONE statement: each round trip to the
    /// database is a wait the whole group pays, and on a busy machine a wait for a CPU too.
    async fn read(&self, tx: &mut PgConnection, jobs: &[Job], now: u64) -> Result<Reads> {
        // The journal keys of the group; the items, currencies, (worker, currency) pairs of its
        // batches; the escrows of its releases.
        let (mut contracts, mut kinds, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        let mut ids: Vec<i64> = Vec::new();
        let mut currencies: Vec<&str> = Vec::new();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut escrows = Vec::new();
        for job in jobs {
            let (kind, key) = job.req.key();
            contracts.push(job.req.contract());
            kinds.push(kind);
            keys.push(key.to_string());
            match (&job.req, &job.pre.registered, &job.pre.batch) {
                (Request::Batch(_), Some(Registered::Vault { currency, .. }), Some(facts)) => {
                    ids.extend_from_slice(&facts.ids);
                    currencies.push(currency.as_str());
                    pairs.extend(
                        facts
                            .totals
                            .iter()
                            .map(|(w, _)| (w.as_str(), currency.as_str())),
                    );
                }
                (Request::Release(_), Some(Registered::Escrow { .. }), _) => {
                    escrows.push(job.req.contract());
                }
                _ => {}
            }
        }
        ids.sort_unstable();
        ids.dedup();
        currencies.sort_unstable();
        currencies.dedup();
        pairs.sort_unstable();
        pairs.dedup();
        escrows.sort();
        escrows.dedup();
        let (workers, worker_currencies): (Vec<&str>, Vec<&str>) = pairs.into_iter().unzip();

        let row = sqlx::query(
            "SELECT s.holder, s.frozen, s.freeze_reason, \
             EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 \
                     AND granted AND ((classid::BIGINT << 32) | objid::BIGINT) = $2) AS lock_held, \
             (SELECT seq FROM signer_audit ORDER BY seq DESC LIMIT 1) AS audit_seq, \
             (SELECT hash FROM signer_audit ORDER BY seq DESC LIMIT 1) AS audit_hash, \
             j.*, i.*, v.*, w.*, p.* \
             FROM signer_state s \
             CROSS JOIN LATERAL ( \
               SELECT array_agg(j.contract) AS j_contract, array_agg(j.key_kind) AS j_key_kind, \
                 array_agg(j.key::TEXT) AS j_key, array_agg(j.request_kind) AS j_request_kind, \
                 array_agg(j.content_hash) AS j_hash, array_agg(j.signature) AS j_signature, \
                 array_agg(j.boc) AS j_boc, array_agg(j.valid_until) AS j_valid_until \
               FROM UNNEST($3::TEXT[], $4::TEXT[], $5::TEXT[]) AS u(c, k, n) \
               JOIN signer_journal j \
                 ON j.contract = u.c AND j.key_kind = u.k AND j.key = u.n::NUMERIC) j \
             CROSS JOIN LATERAL ( \
               SELECT array_agg(t.item_id) AS i_id, array_agg(t.contract) AS i_contract, \
                 array_agg(t.query_id::TEXT) AS i_query_id, array_agg(t.valid_until) AS i_valid_until \
               FROM UNNEST($6::BIGINT[]) AS u(id) JOIN signer_items t ON t.item_id = u.id) i \
             CROSS JOIN LATERAL ( \
               SELECT array_agg(x.currency) AS v_currency, array_agg(x.hour) AS v_hour, \
                 array_agg(x.day) AS v_day \
               FROM (SELECT currency, \
                       COALESCE(SUM(amount) FILTER (WHERE minute >= $8 - 60), 0)::TEXT AS hour, \
                       COALESCE(SUM(amount), 0)::TEXT AS day \
                     FROM signer_volume WHERE currency = ANY($7) AND minute >= $8 - 1440 \
                     GROUP BY currency) x) v \
             CROSS JOIN LATERAL ( \
               SELECT array_agg(x.worker) AS w_worker, array_agg(x.currency) AS w_currency, \
                 array_agg(x.amount) AS w_amount \
               FROM (SELECT t.worker, t.currency, SUM(t.amount)::TEXT AS amount \
                     FROM UNNEST($9::TEXT[], $10::TEXT[]) AS u(w, c) JOIN signer_items t \
                       ON t.worker = u.w AND t.currency = u.c AND t.signed_at > $11 \
                     GROUP BY t.worker, t.currency) x) w \
             CROSS JOIN LATERAL ( \
               SELECT array_agg(x.contract) AS p_contract, array_agg(x.pending) AS p_amount \
               FROM (SELECT contract, SUM(amount)::TEXT AS pending FROM signer_journal \
                     WHERE contract = ANY($12) AND request_kind = 'escrow_release' \
                       AND valid_until >= $13 \
                     GROUP BY contract) x) p \
             WHERE s.id = 1 FOR SHARE OF s",
        )
        .bind(self.lock.pid())
        .bind(crate::lock::SIGNER_LOCK_KEY)
        .bind(&contracts)
        .bind(&kinds)
        .bind(&keys)
        .bind(&ids)
        .bind(&currencies)
        .bind((now / 60) as i64)
        .bind(&workers)
        .bind(&worker_currencies)
        .bind(now as i64 - 86_400)
        .bind(&escrows)
        .bind(now as i64)
        .fetch_one(&mut *tx)
        .await?;

        let mut reads = Reads {
            holder: row.try_get("holder")?,
            frozen: row.try_get("frozen")?,
            freeze_reason: row.try_get("freeze_reason")?,
            lock_held: row.try_get("lock_held")?,
            audit_head: audit::head_of(row.try_get("audit_seq")?, row.try_get("audit_hash")?),
            ..Reads::default()
        };
        let col = |name: &str| -> Result<Vec<String>> {
            Ok(row
                .try_get::<Option<Vec<String>>, _>(name)?
                .unwrap_or_default())
        };
        let bytes = |name: &str| -> Result<Vec<Vec<u8>>> {
            Ok(row
                .try_get::<Option<Vec<Vec<u8>>>, _>(name)?
                .unwrap_or_default())
        };
        let ints = |name: &str| -> Result<Vec<i64>> {
            Ok(row
                .try_get::<Option<Vec<i64>>, _>(name)?
                .unwrap_or_default())
        };

        let (j_contract, j_kind, j_key, j_request_kind) = (
            col("j_contract")?,
            col("j_key_kind")?,
            col("j_key")?,
            col("j_request_kind")?,
        );
        let (j_hash, j_signature, j_boc) =
            (bytes("j_hash")?, bytes("j_signature")?, bytes("j_boc")?);
        let j_valid_until = ints("j_valid_until")?;
        for (n, contract) in j_contract.into_iter().enumerate() {
            let kind = if j_kind[n] == "seqno" {
                "seqno"
            } else {
                "query_id"
            };
            reads.journal.insert(
                (contract, kind, parse_u64(&j_key[n])?),
                Entry::Stored {
                    request_kind: j_request_kind[n].clone(),
                    content_hash: j_hash[n].clone(),
                    signature: j_signature[n].clone(),
                    boc: j_boc[n].clone(),
                    valid_until: j_valid_until[n] as u64,
                },
            );
        }

        let (i_id, i_contract, i_query_id, i_valid_until) = (
            ints("i_id")?,
            col("i_contract")?,
            col("i_query_id")?,
            ints("i_valid_until")?,
        );
        for (n, contract) in i_contract.into_iter().enumerate() {
            reads.items.entry(i_id[n] as u64).or_default().push((
                contract,
                parse_u64(&i_query_id[n])?,
                i_valid_until[n] as u64,
            ));
        }

        let (v_hour, v_day) = (col("v_hour")?, col("v_day")?);
        for (n, currency) in col("v_currency")?.into_iter().enumerate() {
            reads
                .volume
                .insert(currency, (parse_u128(&v_hour[n])?, parse_u128(&v_day[n])?));
        }

        let (w_currency, w_amount) = (col("w_currency")?, col("w_amount")?);
        for (n, worker) in col("w_worker")?.into_iter().enumerate() {
            reads
                .workers
                .entry(w_currency[n].clone())
                .or_default()
                .insert(worker, parse_u128(&w_amount[n])?);
        }

        let p_amount = col("p_amount")?;
        for (n, contract) in col("p_contract")?.into_iter().enumerate() {
            reads.pending.insert(contract, parse_u128(&p_amount[n])?);
        }
        Ok(reads)
    }

    /// Decides job `i` against `reads`, and records what it was allowed in `reads`.
    fn decide(&self, reads: &mut Reads, i: usize, job: &Job) -> Result<Plan> {
        let (req, hash, pre, now) = (&job.req, job.hash, &job.pre, job.at);
        if !self.lock.held() || !reads.lock_held {
            return Err(Error::refused(
                Rule::NotLockHolder,
                "this signer's single-instance lock connection is gone; restart it",
            ));
        }
        if reads.holder.as_deref() != Some(self.lock.holder()) {
            return Err(Error::refused(
                Rule::NotLockHolder,
                "another signer instance took the single-signer lock; this one may not sign",
            ));
        }
        if reads.frozen {
            return Err(Error::refused(
                Rule::Frozen,
                format!(
                    "signing is frozen ({}); `payout-signer unfreeze` resumes it",
                    reads.freeze_reason.as_deref().unwrap_or_default()
                ),
            ));
        }
        let contract = req.contract();
        let (key_kind, key) = req.key();
        let journal_key = (contract.clone(), key_kind, key);
        if let Some(entry) = reads.journal.get(&journal_key) {
            let (kind, stored): (&str, &[u8]) = match entry {
                Entry::Stored {
                    request_kind,
                    content_hash,
                    ..
                } => (request_kind, content_hash),
                Entry::InGroup {
                    request_kind,
                    content_hash,
                    ..
                } => (request_kind, &content_hash[..]),
            };
            if stored != hash || kind != req.kind() {
                return Err(Error::refused(
                    Rule::JournalConflict,
                    format!(
                        "{contract} {key_kind} {key} was already signed for a different {kind} (content {}); refusing to sign another",
                        hex::encode(stored)
                    ),
                ));
            }
            return Ok(match entry {
                Entry::Stored {
                    signature,
                    boc,
                    valid_until,
                    ..
                } => Plan::Stored {
                    signature: signature.clone(),
                    boc: boc.clone(),
                    valid_until: *valid_until,
                },
                Entry::InGroup { job, .. } => Plan::SameAs(*job),
            });
        }

        let plan = match (req, &pre.registered) {
            (Request::Release(r), Some(Registered::Escrow { .. })) => {
                let valid_until = u64::from(r.valid_until);
                policy::check_valid_until(valid_until, now, self.limits.max_ttl)?;
                let pending = reads.pending.entry(contract.clone()).or_default();
                policy::check_release(r.amount, pre.releasable, *pending)?;
                *pending = pending.saturating_add(r.amount);
                Plan::Sign {
                    valid_until,
                    currency: None,
                }
            }
            (Request::Close(r), Some(Registered::Escrow { .. })) => {
                let valid_until = u64::from(r.valid_until);
                policy::check_valid_until(valid_until, now, self.limits.max_ttl)?;
                Plan::Sign {
                    valid_until,
                    currency: None,
                }
            }
            (
                Request::Batch(b),
                Some(Registered::Vault {
                    currency, timeout, ..
                }),
            ) => {
                let valid_until =
                    policy::check_created_at(b.created_at, *timeout, now, self.limits.max_ttl)?;
                let Some(facts) = &pre.batch else {
                    return Err(Error::Internal("a vault batch without its facts".into()));
                };
                self.check_batch(reads, b, currency, facts, pre, now)?;
                record_allowed(reads, b, facts, &contract, currency, valid_until);
                Plan::Sign {
                    valid_until,
                    currency: Some(currency.clone()),
                }
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
        reads.journal.insert(
            journal_key,
            Entry::InGroup {
                request_kind: req.kind(),
                content_hash: hash,
                job: i,
            },
        );
        Ok(plan)
    }

    /// A vault batch's rules, in order: caps of the batch, items against the ledger (computed
    /// before the queue), earlier signatures of the items, rolling caps, per-worker caps.
    fn check_batch(
        &self,
        reads: &Reads,
        b: &VaultBatchRequest,
        currency: &str,
        facts: &BatchFacts,
        pre: &PreRead,
        now: u64,
    ) -> Result<()> {
        let caps = *policy::caps_of(&self.limits, currency)?;
        let total = policy::check_batch_caps(b, &self.limits, &caps)?;
        if let Err(e) = &facts.ledger {
            return Err(e.copy_outcome());
        }
        let mut earlier = Vec::new();
        for item in &b.items {
            for (vault, q, valid_until) in reads.items.get(&item.item_id).into_iter().flatten() {
                earlier.push((item.item_id, vault.clone(), *q, *valid_until));
            }
        }
        policy::check_items_against_journal(&earlier, &pre.earnings, now)?;
        let (hour, day) = reads.volume.get(currency).copied().unwrap_or_default();
        policy::check_rolling(&caps, currency, hour, day, total)?;
        let signed = reads.workers.get(currency);
        policy::check_worker_totals(&facts.totals, &caps, |w| {
            signed.and_then(|m| m.get(w)).copied().unwrap_or(0)
        })
    }

    /// Signs every allowed job and builds its message, in parallel (blocking threads). A
    /// signature that does not verify under the key's public key fails the whole group.
    async fn make(&self, jobs: &[Job], plans: &[Result<Plan>]) -> Result<Vec<Option<Made>>> {
        let mut tasks = Vec::with_capacity(jobs.len());
        for (job, plan) in jobs.iter().zip(plans) {
            if !matches!(plan, Ok(Plan::Sign { .. })) {
                tasks.push(None);
                continue;
            }
            let (key, hash, cell) = (self.key.clone(), job.hash, job.cell.clone());
            // Only what the message needs crosses to the blocking thread.
            let parts = match &job.req {
                Request::Release(r) => Parts::Release(r.clone()),
                Request::Close(r) => Parts::Close(r.clone()),
                Request::Batch(b) => Parts::Batch(b.vault.clone()),
            };
            tasks.push(Some(tokio::task::spawn_blocking(
                move || -> Result<Made> {
                    let signature = key.sign(&hash).map_err(|e| Error::Key(e.to_string()))?;
                    verify_hash(&hash, &key.public_key(), &signature).map_err(|e| {
                        Error::Key(format!("the backend's signature does not verify: {e}"))
                    })?;
                    let message = match parts {
                        Parts::Release(r) => message::release_body(&r, signature)?,
                        Parts::Close(r) => message::close_body(&r, signature)?,
                        Parts::Batch(vault) => {
                            message::batch_external_with_cell(&vault, signature, cell)?
                        }
                    };
                    Ok(Made {
                        signature,
                        boc: message::to_boc(&message),
                    })
                },
            )));
        }
        let mut made = Vec::with_capacity(tasks.len());
        for task in tasks {
            made.push(match task {
                None => None,
                Some(t) => Some(
                    t.await
                        .map_err(|e| Error::Key(format!("signing task: {e}")))??,
                ),
            });
        }
        Ok(made)
    }
}

/// Adds an allowed batch to the group's reads: its items' signatures, the currency's volume,
/// its workers' sums.
fn record_allowed(
    reads: &mut Reads,
    b: &VaultBatchRequest,
    facts: &BatchFacts,
    contract: &str,
    currency: &str,
    valid_until: u64,
) {
    for item in &b.items {
        reads.items.entry(item.item_id).or_default().push((
            contract.to_string(),
            b.query_id,
            valid_until,
        ));
    }
    let workers = reads.workers.entry(currency.to_string()).or_default();
    for (worker, amount) in &facts.totals {
        let w = workers.entry(worker.clone()).or_default();
        *w = w.saturating_add(*amount);
    }
    let v = reads.volume.entry(currency.to_string()).or_default();
    *v = (
        v.0.saturating_add(facts.total),
        v.1.saturating_add(facts.total),
    );
}

/// The rows a group writes, as column arrays (one statement per table). Item columns are
/// borrowed from the jobs' [`BatchFacts`]; per-batch columns are sent once per batch.
#[derive(Debug, Default)]
struct Writes<'a> {
    j_contract: Vec<String>,
    j_key_kind: Vec<&'static str>,
    j_key: Vec<String>,
    j_request_kind: Vec<&'static str>,
    j_hash: Vec<&'a [u8]>,
    j_signature: Vec<&'a [u8]>,
    j_boc: Vec<&'a [u8]>,
    j_amount: Vec<String>,
    j_currency: Vec<Option<&'a str>>,
    j_valid_until: Vec<i64>,
    j_signed_at: Vec<i64>,
    /// Per item: id, worker, amount, the index (1-based) of its batch in `j_*`.
    i_id: Vec<i64>,
    i_worker: Vec<&'a str>,
    i_amount: Vec<&'a str>,
    i_batch: Vec<i32>,
    /// (currency, minute) -> amount
    volume: HashMap<(&'a str, i64), u128>,
}

impl<'a> Writes<'a> {
    fn add(&mut self, job: &'a Job, made: &'a Made, valid_until: u64, currency: Option<&'a str>) {
        let req = &job.req;
        let (key_kind, key) = req.key();
        self.j_contract.push(req.contract());
        self.j_key_kind.push(key_kind);
        self.j_key.push(key.to_string());
        self.j_request_kind.push(req.kind());
        self.j_hash.push(&job.hash);
        self.j_signature.push(&made.signature);
        self.j_boc.push(&made.boc);
        self.j_amount.push(req.amount().to_string());
        self.j_currency.push(currency);
        self.j_valid_until.push(valid_until as i64);
        self.j_signed_at.push(job.at as i64);
        if let (Request::Batch(_), Some(currency), Some(facts)) = (req, currency, &job.pre.batch) {
            let batch = self.j_contract.len() as i32;
            self.i_id.extend_from_slice(&facts.ids);
            self.i_worker
                .extend(facts.workers.iter().map(String::as_str));
            self.i_amount
                .extend(facts.amounts.iter().map(String::as_str));
            self.i_batch
                .extend(std::iter::repeat_n(batch, facts.ids.len()));
            let v = self
                .volume
                .entry((currency, (job.at / 60) as i64))
                .or_default();
            *v = v.saturating_add(facts.total);
        }
    }

    /// Every write of the group, audit records included, in ONE statement (data-modifying
    /// CTEs; each runs once, whether or not it has rows).
    async fn write(self, tx: &mut PgConnection, audit_rows: &audit::Chained) -> Result<()> {
        let mut v_currency = Vec::with_capacity(self.volume.len());
        let mut v_minute = Vec::with_capacity(self.volume.len());
        let mut v_amount = Vec::with_capacity(self.volume.len());
        for ((c, m), a) in self.volume {
            v_currency.push(c);
            v_minute.push(m);
            v_amount.push(a.to_string());
        }
        sqlx::query(
            "WITH journal AS ( \
               INSERT INTO signer_journal (contract, key_kind, key, request_kind, content_hash, \
                 signature, boc, amount, currency, valid_until, signed_at) \
               SELECT c, kk, k::NUMERIC, rk, h, s, b, a::NUMERIC, cur, vu, sa \
               FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BYTEA[], \
                           $6::BYTEA[], $7::BYTEA[], $8::TEXT[], $9::TEXT[], $10::BIGINT[], \
                           $11::BIGINT[]) AS t(c, kk, k, rk, h, s, b, a, cur, vu, sa)), \
             items AS ( \
               INSERT INTO signer_items (item_id, contract, query_id, worker, amount, currency, \
                 valid_until, signed_at) \
               SELECT t.i, b.c, b.k::NUMERIC, t.w, t.a::NUMERIC, b.cur, b.vu, b.sa \
               FROM UNNEST($12::BIGINT[], $13::TEXT[], $14::TEXT[], $15::INT[]) AS t(i, w, a, n) \
               JOIN UNNEST($1::TEXT[], $3::TEXT[], $9::TEXT[], $10::BIGINT[], $11::BIGINT[]) \
                 WITH ORDINALITY AS b(c, k, cur, vu, sa, n) ON b.n = t.n), \
             volume AS ( \
               INSERT INTO signer_volume (currency, minute, amount) \
               SELECT c, m, a::NUMERIC FROM UNNEST($16::TEXT[], $17::BIGINT[], $18::TEXT[]) \
                 AS t(c, m, a) \
               ON CONFLICT (currency, minute) \
               DO UPDATE SET amount = signer_volume.amount + EXCLUDED.amount), \
             audit AS ( \
               INSERT INTO signer_audit (seq, prev_hash, hash, record) \
               SELECT * FROM UNNEST($19::BIGINT[], $20::BYTEA[], $21::BYTEA[], $22::TEXT[])) \
             SELECT 1",
        )
        .bind(&self.j_contract)
        .bind(&self.j_key_kind)
        .bind(&self.j_key)
        .bind(&self.j_request_kind)
        .bind(&self.j_hash)
        .bind(&self.j_signature)
        .bind(&self.j_boc)
        .bind(&self.j_amount)
        .bind(&self.j_currency)
        .bind(&self.j_valid_until)
        .bind(&self.j_signed_at)
        .bind(&self.i_id)
        .bind(&self.i_worker)
        .bind(&self.i_amount)
        .bind(&self.i_batch)
        .bind(&v_currency)
        .bind(&v_minute)
        .bind(&v_amount)
        .bind(&audit_rows.seqs)
        .bind(&audit_rows.prevs)
        .bind(&audit_rows.hashes)
        .bind(&audit_rows.texts)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

fn parse_u128(s: &str) -> Result<u128> {
    s.parse()
        .map_err(|e| Error::Config(format!("stored amount {s:?}: {e}")))
}

fn parse_u64(s: &str) -> Result<u64> {
    s.parse()
        .map_err(|e| Error::Config(format!("stored id {s:?}: {e}")))
}
