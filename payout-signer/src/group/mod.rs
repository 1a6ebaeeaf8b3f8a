//! One signing group: every queued request decided in ONE transaction, a set at a time.
//!
//! ```text
//! BEGIN
//!   reads (one statement each, for the whole group; skipped when no request needs them):
//!     signer_state FOR SHARE + our advisory lock in pg_locks    fencing token, freeze
//!     signer_journal     the journal entry of every (contract, seqno | query id) of the group
//!     signer_item_earnings  every earlier signature of every earning of the group's items
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

mod read;
mod write;

use labelmint_abi::signing::verify_hash;
use labelmint_abi::vault::VaultBatchRequest;
use sqlx::PgConnection;

use self::read::{Entry, Reads};
use self::write::Writes;
use crate::audit;
use crate::error::{Error, Result};
use crate::message;
use crate::policy;
use crate::rules::Rule;
use crate::signer::{BatchFacts, Core, Job, PreRead, Request, refusal_record};
use crate::store::Registered;
use crate::wire::Signed;

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
            // (signature, message, valid_until, replayed) of an answered request.
            let (signature, boc, valid_until, replayed): (&[u8], &[u8], u64, bool) = match plan {
                Ok(Plan::Sign {
                    valid_until,
                    currency,
                }) => {
                    let Some(m) = &made[i] else {
                        return Err(Error::Internal("a planned signature is missing".into()));
                    };
                    writes.add(job, m, *valid_until, currency.as_deref());
                    (&m.signature, &m.boc, *valid_until, false)
                }
                Ok(Plan::Stored {
                    signature,
                    boc,
                    valid_until,
                }) => (signature, boc, *valid_until, true),
                Ok(Plan::SameAs(first)) => {
                    let (Some(m), Ok(Plan::Sign { valid_until, .. })) =
                        (&made[*first], &plans[*first])
                    else {
                        return Err(Error::Internal(
                            "a replayed in-group signature is missing".into(),
                        ));
                    };
                    (&m.signature, &m.boc, *valid_until, true)
                }
                Err(e) => {
                    records.push(refusal_record(&job.req, job.at, Some(&job.hash), e));
                    results.push(Err(e.copy_outcome()));
                    continue;
                }
            };
            let decision = if replayed { "replayed" } else { "signed" };
            records.push(job.req.record(job.at, Some(&job.hash), decision));
            results.push(Ok(self.answer(
                &job.req,
                &job.hash,
                signature,
                boc,
                valid_until,
                replayed,
            )));
        }
        let audit_rows = audit::chain(reads.audit_head, &records)?;
        writes.write(&mut tx, &audit_rows).await?;
        tx.commit().await?;
        Ok(results)
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
                let live = reads.releases.entry(contract.clone()).or_default();
                let pending = policy::pending_releases(live, pre.released_seqnos.as_deref());
                policy::check_release(r.amount, pre.releasable, pending)?;
                live.push((r.seqno, r.amount));
                Plan::Sign {
                    valid_until,
                    currency: None,
                }
            }
            (Request::Close(r), Some(Registered::Escrow { project_id })) => {
                let valid_until = u64::from(r.valid_until);
                policy::check_valid_until(valid_until, now, self.limits.max_ttl)?;
                let Some(view) = &pre.close else {
                    return Err(Error::Internal(
                        "an escrow close without its ledger view".into(),
                    ));
                };
                policy::check_close_requested(view, *project_id)?;
                let earlier = reads.closes.get(&contract).map_or(&[][..], Vec::as_slice);
                policy::check_close_once(
                    r.seqno,
                    earlier,
                    view.chain_time,
                    labelmint_ledger::FINALITY_MARGIN_SECS,
                )?;
                let live = reads.releases.get(&contract).map_or(&[][..], Vec::as_slice);
                policy::check_final_release(r.seqno, view, live)?;
                reads
                    .closes
                    .entry(contract.clone())
                    .or_default()
                    .push((r.seqno, valid_until));
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
    /// before the queue), earlier signatures of the items' earnings, rolling caps, per-worker
    /// caps.
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
        let float = match &facts.float {
            Ok(spend) => *spend,
            Err(e) => return Err(e.copy_outcome()),
        };
        if let Err(e) = &facts.ledger {
            return Err(e.copy_outcome());
        }
        let mut earlier = Vec::new();
        for e in &facts.earning_ids {
            for (vault, q, valid_until) in reads.items.get(&(*e as u64)).into_iter().flatten() {
                earlier.push((*e as u64, vault.clone(), *q, *valid_until));
            }
        }
        policy::check_items_against_journal(&earlier, &pre.items, now)?;
        let (hour, day) = reads.volume.get(currency).copied().unwrap_or_default();
        policy::check_rolling(&caps, currency, hour, day, total)?;
        let signed = reads.workers.get(currency);
        policy::check_worker_totals(&facts.totals, &caps, |w| {
            signed.and_then(|m| m.get(w)).copied().unwrap_or(0)
        })?;
        if float > 0 {
            let (hour, day) = reads
                .volume
                .get(policy::FLOAT_KEY)
                .copied()
                .unwrap_or_default();
            policy::check_float(&self.limits.float, hour, day, float)?;
        }
        Ok(())
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

/// Adds an allowed batch to the group's reads: its earnings' signatures, the currency's volume,
/// its workers' sums.
fn record_allowed(
    reads: &mut Reads,
    b: &VaultBatchRequest,
    facts: &BatchFacts,
    contract: &str,
    currency: &str,
    valid_until: u64,
) {
    for e in &facts.earning_ids {
        reads.items.entry(*e as u64).or_default().push((
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
    if let Ok(spend) = facts.float
        && spend > 0
    {
        let f = reads
            .volume
            .entry(policy::FLOAT_KEY.to_string())
            .or_default();
        *f = (f.0.saturating_add(spend), f.1.saturating_add(spend));
    }
}
