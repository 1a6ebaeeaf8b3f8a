//! The audit log: every request and decision, append-only and hash-chained.
//!
//! Record `n` stores `prev_hash` (record `n-1`'s hash, 32 zero bytes for the first),
//! the canonical JSON text of the record, and `hash = sha256(prev_hash || record)`. Records
//! hold what was asked and decided (kind, contract, key, content hash, amount, decision, rule,
//! time), never the auth token or key material. [`verify`] walks the chain and names the first
//! bad record: an edited record breaks its hash, a removed one breaks the sequence or the next
//! record's `prev_hash`, reordered ones break the links. Appends take a transaction-scoped
//! advisory lock, so the service and the CLI never fork the chain.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};

use crate::error::{Error, Result};

/// The advisory lock key serializing audit appends (`'LMAU'`; written out in [`LOCK_SQL`]).
#[cfg(test)]
const AUDIT_LOCK_KEY: i64 = 0x4C4D_4155;

/// One audit record (the JSON text that is hashed; fields in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Unix time, seconds.
    pub at: u64,
    /// `escrow_release`, `escrow_close`, `vault_batch`, `register`, `freeze`, `unfreeze`,
    /// `start`, `bad_request`.
    pub kind: String,
    /// The contract (raw address), if any.
    pub contract: Option<String>,
    /// The journal key (`seqno:<n>` / `query_id:<n>`), if any.
    pub key: Option<String>,
    /// The signed payload hash (hex), if the request was well formed.
    pub content_hash: Option<String>,
    /// Total amount asked for (decimal), if any.
    pub amount: Option<String>,
    /// Number of payout items, if any.
    pub items: Option<u32>,
    /// `signed`, `replayed`, `refused`, `bad_request`, `done`.
    pub decision: String,
    /// The rule or error code, for refusals and bad requests.
    pub rule: Option<String>,
    /// A short human detail (never secrets).
    pub detail: Option<String>,
}

impl Record {
    /// A record of `kind` with `decision`, everything else empty.
    pub fn new(at: u64, kind: &str, decision: &str) -> Self {
        Self {
            at,
            kind: kind.into(),
            contract: None,
            key: None,
            content_hash: None,
            amount: None,
            items: None,
            decision: decision.into(),
            rule: None,
            detail: None,
        }
    }
}

/// `sha256(prev || record)`.
pub fn chain_hash(prev: &[u8; 32], record: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(record.as_bytes());
    h.finalize().into()
}

/// Appends `record` inside the caller's transaction; returns its seq.
pub async fn append(conn: &mut PgConnection, record: &Record) -> Result<i64> {
    append_all(conn, std::slice::from_ref(record)).await
}

/// The audit log's last record: `(seq, hash)`, `(0, zeros)` for an empty log.
pub type Head = (i64, [u8; 32]);

/// `SELECT pg_advisory_xact_lock(<audit key>)`: serializes appends until the transaction ends.
/// Constant SQL (no parameters), so it can share a round trip with `BEGIN`.
pub const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(1280131413)";

/// `BEGIN` and [`LOCK_SQL`] in one round trip (`Connection::begin_with`).
pub const BEGIN_LOCKED_SQL: &str = "BEGIN; SELECT pg_advisory_xact_lock(1280131413)";

/// Rows to append after `head`, as column arrays: (seq, prev_hash, hash, record text).
#[derive(Debug, Default)]
pub struct Chained {
    /// seq of each record.
    pub seqs: Vec<i64>,
    /// The previous record's hash.
    pub prevs: Vec<Vec<u8>>,
    /// `sha256(prev || record)`.
    pub hashes: Vec<Vec<u8>>,
    /// The canonical JSON text of each record.
    pub texts: Vec<String>,
}

/// Chains `records` after `head`.
pub fn chain(head: Head, records: &[Record]) -> Result<Chained> {
    let (mut seq, mut prev) = head;
    let mut out = Chained::default();
    for record in records {
        let text = serde_json::to_string(record)
            .map_err(|e| Error::Config(format!("audit record: {e}")))?;
        let hash = chain_hash(&prev, &text);
        seq += 1;
        out.seqs.push(seq);
        out.prevs.push(prev.to_vec());
        out.hashes.push(hash.to_vec());
        out.texts.push(text);
        prev = hash;
    }
    Ok(out)
}

/// The head from the last record's seq and hash (`None`: the log is empty).
pub fn head_of(seq: Option<i64>, hash: Option<Vec<u8>>) -> Head {
    match (seq, hash) {
        (Some(seq), Some(hash)) => (seq, to32(&hash)),
        _ => (0, [0u8; 32]),
    }
}

/// The insert of [`Chained`] rows: `$1..$4` are its four arrays, in field order.
pub const INSERT_SQL: &str = "INSERT INTO signer_audit (seq, prev_hash, hash, record) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::BYTEA[], $4::TEXT[])";

/// Appends `records`, in order, inside the caller's transaction (one insert); returns the seq
/// of the last one (0 when `records` is empty).
pub async fn append_all(conn: &mut PgConnection, records: &[Record]) -> Result<i64> {
    if records.is_empty() {
        return Ok(0);
    }
    sqlx::raw_sql(LOCK_SQL).execute(&mut *conn).await?;
    let head = sqlx::query("SELECT seq, hash FROM signer_audit ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let head = match head {
        Some(r) => head_of(r.try_get("seq")?, r.try_get("hash")?),
        None => head_of(None, None),
    };
    let rows = chain(head, records)?;
    sqlx::query(INSERT_SQL)
        .bind(&rows.seqs)
        .bind(&rows.prevs)
        .bind(&rows.hashes)
        .bind(&rows.texts)
        .execute(&mut *conn)
        .await?;
    Ok(rows.seqs.last().copied().unwrap_or(0))
}

fn to32(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if b.len() == 32 {
        out.copy_from_slice(b);
    }
    out
}

/// What [`verify`] found in a sound log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Number of records.
    pub records: i64,
    /// The hash of the last record (hex; anchor it elsewhere to detect truncation).
    pub head: String,
}

/// Walks the whole log in seq order; [`Error::AuditBroken`] names the first bad record.
pub async fn verify(conn: &mut PgConnection) -> Result<Verified> {
    let rows = sqlx::query("SELECT seq, prev_hash, hash, record FROM signer_audit ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    let mut prev = [0u8; 32];
    for (expected_seq, r) in (1i64..).zip(rows.iter()) {
        let seq: i64 = r.try_get("seq")?;
        let prev_hash: Vec<u8> = r.try_get("prev_hash")?;
        let hash: Vec<u8> = r.try_get("hash")?;
        let record: String = r.try_get("record")?;
        let broken = |reason: String| Error::AuditBroken { seq, reason };
        if seq != expected_seq {
            return Err(broken(format!(
                "expected seq {expected_seq}: a record was removed or reordered"
            )));
        }
        if prev_hash != prev {
            return Err(broken(
                "prev_hash is not the previous record's hash: records were removed or reordered"
                    .into(),
            ));
        }
        if hash != chain_hash(&prev, &record) {
            return Err(broken(
                "hash does not match the record: it was edited".into(),
            ));
        }
        if serde_json::from_str::<Record>(&record).is_err() {
            return Err(broken(
                "the record is not a well-formed audit record".into(),
            ));
        }
        prev = to32(&hash);
    }
    Ok(Verified {
        records: rows.len() as i64,
        head: hex::encode(prev),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_statement_names_the_audit_key() {
        assert_eq!(
            LOCK_SQL,
            format!("SELECT pg_advisory_xact_lock({AUDIT_LOCK_KEY})")
        );
        assert_eq!(BEGIN_LOCKED_SQL, format!("BEGIN; {LOCK_SQL}"));
    }

    #[test]
    fn chained_rows_link_each_record_to_the_one_before() {
        let records = [
            Record::new(1, "start", "done"),
            Record::new(2, "freeze", "done"),
        ];
        let rows = chain((41, [7u8; 32]), &records).unwrap();
        assert_eq!(rows.seqs, vec![42, 43]);
        assert_eq!(rows.prevs[0], vec![7u8; 32]);
        assert_eq!(rows.prevs[1], rows.hashes[0]);
        assert_eq!(
            rows.hashes[1],
            chain_hash(&to32(&rows.hashes[0]), &rows.texts[1]).to_vec()
        );
        assert_eq!(head_of(None, None), (0, [0u8; 32]));
    }
}
