//! The group's one read statement and what it read ([`Reads`]), which the decisions update as
//! each request is allowed.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};

use crate::audit;
use crate::error::{Error, Result};
use crate::signer::{Core, Job, Request};
use crate::store::Registered;

/// `(contract, key kind, key)`.
pub(super) type JournalKey = (String, &'static str, u64);

/// A journal entry as the group sees it.
#[derive(Debug)]
pub(super) enum Entry {
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

/// An earlier signature of an earning (in an item of a signed batch): `(vault, query id,
/// valid_until)`.
pub(super) type Earlier = (String, u64, u64);

/// What the group read, updated as each request is allowed.
#[derive(Debug, Default)]
pub(super) struct Reads {
    pub(super) holder: Option<String>,
    pub(super) frozen: bool,
    pub(super) freeze_reason: Option<String>,
    pub(super) lock_held: bool,
    /// The audit log's last record (its lock is held since `BEGIN`).
    pub(super) audit_head: audit::Head,
    pub(super) journal: HashMap<JournalKey, Entry>,
    /// earning id -> its earlier signatures
    pub(super) items: HashMap<u64, Vec<Earlier>>,
    /// currency -> (last hour, last 24 h)
    pub(super) volume: HashMap<String, (u128, u128)>,
    /// currency -> worker -> last 24 h
    pub(super) workers: HashMap<String, HashMap<String, u128>>,
    /// escrow -> its live signed releases `(seqno, amount)` (escrows of the group's releases
    /// and closes)
    pub(super) releases: HashMap<String, Vec<(u32, u128)>>,
    /// escrow -> every close signed for it `(seqno, valid_until)` (escrows of the group's closes)
    pub(super) closes: HashMap<String, Vec<(u32, u64)>>,
}

impl Core {
    /// The group's reads (see the module docs), in ONE statement: each round trip to the
    /// database is a wait the whole group pays, and on a busy machine a wait for a CPU too.
    pub(super) async fn read(
        &self,
        tx: &mut PgConnection,
        jobs: &[Job],
        now: u64,
    ) -> Result<Reads> {
        // The journal keys of the group; the earnings, currencies, (worker, currency) pairs of
        // its batches; the escrows of its releases.
        let (mut contracts, mut kinds, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        let mut ids: Vec<i64> = Vec::new();
        let mut currencies: Vec<&str> = Vec::new();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut escrows = Vec::new();
        let mut closing = Vec::new();
        for job in jobs {
            let (kind, key) = job.req.key();
            contracts.push(job.req.contract());
            kinds.push(kind);
            keys.push(key.to_string());
            match (&job.req, &job.pre.registered, &job.pre.batch) {
                (Request::Batch(_), Some(Registered::Vault { currency, .. }), Some(facts)) => {
                    ids.extend_from_slice(&facts.earning_ids);
                    currencies.push(currency.as_str());
                    if matches!(facts.float, Ok(spend) if spend > 0) {
                        currencies.push(crate::policy::FLOAT_KEY);
                    }
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
                (Request::Close(_), Some(Registered::Escrow { .. }), _) => {
                    escrows.push(job.req.contract());
                    closing.push(job.req.contract());
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
        closing.sort();
        closing.dedup();
        let (workers, worker_currencies): (Vec<&str>, Vec<&str>) = pairs.into_iter().unzip();

        let row = sqlx::query(
            "SELECT s.holder, s.frozen, s.freeze_reason, \
             EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 \
                     AND granted AND ((classid::BIGINT << 32) | objid::BIGINT) = $2) AS lock_held, \
             (SELECT seq FROM signer_audit ORDER BY seq DESC LIMIT 1) AS audit_seq, \
             (SELECT hash FROM signer_audit ORDER BY seq DESC LIMIT 1) AS audit_hash, \
             j.*, i.*, v.*, w.*, p.*, c.* \
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
               SELECT array_agg(t.earning_id) AS i_id, array_agg(t.contract) AS i_contract, \
                 array_agg(t.query_id::TEXT) AS i_query_id, array_agg(t.valid_until) AS i_valid_until \
               FROM UNNEST($6::BIGINT[]) AS u(id) \
               JOIN signer_item_earnings t ON t.earning_id = u.id) i \
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
               SELECT array_agg(x.contract) AS p_contract, array_agg(x.key::TEXT) AS p_seqno, \
                 array_agg(x.amount::TEXT) AS p_amount \
               FROM signer_journal x \
               WHERE x.contract = ANY($12) AND x.request_kind = 'escrow_release' \
                 AND x.valid_until >= $13) p \
             CROSS JOIN LATERAL ( \
               SELECT array_agg(x.contract) AS c_contract, array_agg(x.key::TEXT) AS c_seqno, \
                 array_agg(x.valid_until) AS c_valid_until \
               FROM signer_journal x \
               WHERE x.contract = ANY($14) AND x.request_kind = 'escrow_close') c \
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
        .bind(&closing)
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

        // Each lateral subquery aggregates its columns over the same rows; a length mismatch
        // would be a database fault, refused rather than indexed into.
        let j_contract = col("j_contract")?;
        let n = j_contract.len();
        let (j_kind, j_key, j_request_kind) = (
            same_len(n, "j_key_kind", col("j_key_kind")?)?,
            same_len(n, "j_key", col("j_key")?)?,
            same_len(n, "j_request_kind", col("j_request_kind")?)?,
        );
        let (j_hash, j_signature, j_boc) = (
            same_len(n, "j_hash", bytes("j_hash")?)?,
            same_len(n, "j_signature", bytes("j_signature")?)?,
            same_len(n, "j_boc", bytes("j_boc")?)?,
        );
        let j_valid_until = same_len(n, "j_valid_until", ints("j_valid_until")?)?;
        let rows = j_contract
            .into_iter()
            .zip(j_kind)
            .zip(j_key)
            .zip(j_request_kind);
        let stored = j_hash
            .into_iter()
            .zip(j_signature)
            .zip(j_boc)
            .zip(j_valid_until);
        for ((((contract, kind), key), request_kind), (((hash, signature), boc), valid_until)) in
            rows.zip(stored)
        {
            let kind = if kind == "seqno" { "seqno" } else { "query_id" };
            reads.journal.insert(
                (contract, kind, parse_u64(&key)?),
                Entry::Stored {
                    request_kind,
                    content_hash: hash,
                    signature,
                    boc,
                    valid_until: valid_until as u64,
                },
            );
        }

        let i_contract = col("i_contract")?;
        let n = i_contract.len();
        let (i_id, i_query_id, i_valid_until) = (
            same_len(n, "i_id", ints("i_id")?)?,
            same_len(n, "i_query_id", col("i_query_id")?)?,
            same_len(n, "i_valid_until", ints("i_valid_until")?)?,
        );
        for (((contract, id), query_id), valid_until) in i_contract
            .into_iter()
            .zip(i_id)
            .zip(i_query_id)
            .zip(i_valid_until)
        {
            reads.items.entry(id as u64).or_default().push((
                contract,
                parse_u64(&query_id)?,
                valid_until as u64,
            ));
        }

        let v_currency = col("v_currency")?;
        let n = v_currency.len();
        let (v_hour, v_day) = (
            same_len(n, "v_hour", col("v_hour")?)?,
            same_len(n, "v_day", col("v_day")?)?,
        );
        for ((currency, hour), day) in v_currency.into_iter().zip(v_hour).zip(v_day) {
            reads
                .volume
                .insert(currency, (parse_u128(&hour)?, parse_u128(&day)?));
        }

        let w_worker = col("w_worker")?;
        let n = w_worker.len();
        let (w_currency, w_amount) = (
            same_len(n, "w_currency", col("w_currency")?)?,
            same_len(n, "w_amount", col("w_amount")?)?,
        );
        for ((worker, currency), amount) in w_worker.into_iter().zip(w_currency).zip(w_amount) {
            reads
                .workers
                .entry(currency)
                .or_default()
                .insert(worker, parse_u128(&amount)?);
        }

        let p_contract = col("p_contract")?;
        let n = p_contract.len();
        let (p_seqno, p_amount) = (
            same_len(n, "p_seqno", col("p_seqno")?)?,
            same_len(n, "p_amount", col("p_amount")?)?,
        );
        for ((contract, seqno), amount) in p_contract.into_iter().zip(p_seqno).zip(p_amount) {
            let amount = parse_u128(&amount)?;
            reads
                .releases
                .entry(contract)
                .or_default()
                .push((parse_u32(&seqno)?, amount));
        }

        let c_contract = col("c_contract")?;
        let n = c_contract.len();
        let (c_seqno, c_valid_until) = (
            same_len(n, "c_seqno", col("c_seqno")?)?,
            same_len(n, "c_valid_until", ints("c_valid_until")?)?,
        );
        for ((contract, seqno), valid_until) in
            c_contract.into_iter().zip(c_seqno).zip(c_valid_until)
        {
            reads
                .closes
                .entry(contract)
                .or_default()
                .push((parse_u32(&seqno)?, valid_until as u64));
        }
        Ok(reads)
    }
}

/// `v` if it has `n` elements.
fn same_len<T>(n: usize, column: &str, v: Vec<T>) -> Result<Vec<T>> {
    if v.len() == n {
        Ok(v)
    } else {
        Err(Error::Internal(format!(
            "the group read returned {} {column} for {n} rows",
            v.len()
        )))
    }
}

fn parse_u128(s: &str) -> Result<u128> {
    s.parse()
        .map_err(|e| Error::Config(format!("stored amount {s:?}: {e}")))
}

fn parse_u32(s: &str) -> Result<u32> {
    s.parse()
        .map_err(|e| Error::Config(format!("stored seqno {s:?}: {e}")))
}

fn parse_u64(s: &str) -> Result<u64> {
    s.parse()
        .map_err(|e| Error::Config(format!("stored id {s:?}: {e}")))
}
