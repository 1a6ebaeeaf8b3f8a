//! The group's one write statement: journal rows, signed items and the earnings each paid,
//! rolling volumes and audit records, as column arrays.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::Made;
use crate::audit;
use crate::error::Result;
use crate::signer::{Job, Request};

/// The rows a group writes, as column arrays (one statement per table). Item columns are
/// borrowed from the jobs' [`BatchFacts`](crate::signer::BatchFacts); per-batch columns are sent once per batch.
#[derive(Debug, Default)]
pub(super) struct Writes<'a> {
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
    /// Per earning of the items: earning id, item id, the index (1-based) of its batch.
    e_id: Vec<i64>,
    e_item: Vec<i64>,
    e_batch: Vec<i32>,
    /// (currency, minute) -> amount
    volume: HashMap<(&'a str, i64), u128>,
}

impl<'a> Writes<'a> {
    pub(super) fn add(
        &mut self,
        job: &'a Job,
        made: &'a Made,
        valid_until: u64,
        currency: Option<&'a str>,
    ) {
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
            self.e_id.extend_from_slice(&facts.earning_ids);
            self.e_item.extend_from_slice(&facts.earning_items);
            self.e_batch
                .extend(std::iter::repeat_n(batch, facts.earning_ids.len()));
            let v = self
                .volume
                .entry((currency, (job.at / 60) as i64))
                .or_default();
            *v = v.saturating_add(facts.total);
            if let Ok(spend) = facts.float
                && spend > 0
            {
                let f = self
                    .volume
                    .entry((crate::policy::FLOAT_KEY, (job.at / 60) as i64))
                    .or_default();
                *f = f.saturating_add(spend);
            }
        }
    }

    /// Every write of the group, audit records included, in ONE statement (data-modifying
    /// CTEs; each runs once, whether or not it has rows).
    pub(super) async fn write(
        self,
        tx: &mut PgConnection,
        audit_rows: &audit::Chained,
    ) -> Result<()> {
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
             earnings AS ( \
               INSERT INTO signer_item_earnings (earning_id, item_id, contract, query_id, \
                 valid_until, signed_at) \
               SELECT t.e, t.i, b.c, b.k::NUMERIC, b.vu, b.sa \
               FROM UNNEST($23::BIGINT[], $24::BIGINT[], $25::INT[]) AS t(e, i, n) \
               JOIN UNNEST($1::TEXT[], $3::TEXT[], $10::BIGINT[], $11::BIGINT[]) \
                 WITH ORDINALITY AS b(c, k, vu, sa, n) ON b.n = t.n), \
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
        .bind(&self.e_id)
        .bind(&self.e_item)
        .bind(&self.e_batch)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}
