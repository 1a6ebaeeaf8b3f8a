//! What the indexer wrote, read back from Postgres and printed.

use std::collections::HashMap;

use sqlx::{PgPool, Row};

use crate::error::Result;

/// One decoded event as the indexer stored it (`events` joined with `watched_accounts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEvent {
    /// The masterchain block that committed it.
    pub mc_seqno: u32,
    /// The emitting contract (raw address).
    pub contract: String,
    /// What the contract is (`escrow`, `vault`), when watched.
    pub contract_kind: Option<String>,
    /// The TL-B constructor (`ev_deposit`, ...).
    pub kind: String,
    /// Logical time of its transaction.
    pub lt: u64,
    /// The amount the event is about.
    pub amount: Option<u128>,
    /// The platform fee (ev_release).
    pub fee: Option<u128>,
    /// The payout item (ev_payout_bounced).
    pub payout_item_id: Option<u64>,
    /// The query id (batches, fundings).
    pub query_id: Option<u64>,
    /// Every field as labelmint-abi's JSON writes it.
    pub fields: serde_json::Value,
    /// The transaction hash (hex).
    pub tx_hash: String,
}

/// A NUMERIC column read as text: `None` stays `None`; a value that does not fit is an error,
/// never a silent `None` (these are amounts).
fn num<T: std::str::FromStr>(v: Option<String>, column: &str) -> Result<Option<T>, sqlx::Error> {
    v.map(|s| {
        s.parse()
            .map_err(|_| sqlx::Error::Decode(format!("events.{column}: {s:?}").into()))
    })
    .transpose()
}

/// The events of `contracts` committed by masterchain blocks after `after_mc`, in chain order.
pub async fn events_since(
    pool: &PgPool,
    contracts: &[String],
    after_mc: u32,
) -> Result<Vec<IndexedEvent>> {
    let rows = sqlx::query(
        "SELECT e.mc_seqno, e.contract, e.contract_kind, e.kind, e.lt, e.amount::text AS amount, \
                e.fee::text AS fee, e.payout_item_id::text AS item, e.query_id::text AS query_id, \
                e.fields, encode(e.tx_hash, 'hex') AS tx_hash \
         FROM events e \
         WHERE e.contract = ANY($1) AND e.mc_seqno > $2 \
         ORDER BY e.lt, e.msg_idx",
    )
    .bind(contracts)
    .bind(i64::from(after_mc))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let mc: i64 = r.try_get("mc_seqno")?;
            let lt: i64 = r.try_get("lt")?;
            let out_of_range =
                |column: &str| sqlx::Error::Decode(format!("events.{column} out of range").into());
            Ok(IndexedEvent {
                mc_seqno: u32::try_from(mc).map_err(|_| out_of_range("mc_seqno"))?,
                contract: r.try_get("contract")?,
                contract_kind: r.try_get("contract_kind")?,
                kind: r.try_get("kind")?,
                lt: u64::try_from(lt).map_err(|_| out_of_range("lt"))?,
                amount: num(r.try_get("amount")?, "amount")?,
                fee: num(r.try_get("fee")?, "fee")?,
                payout_item_id: num(r.try_get("item")?, "payout_item_id")?,
                query_id: num(r.try_get("query_id")?, "query_id")?,
                fields: r.try_get("fields")?,
                tx_hash: r.try_get("tx_hash")?,
            })
        })
        .collect()
}

/// Transactions kept per account, and the latest state the indexer holds for each.
pub async fn accounts(pool: &PgPool, contracts: &[String]) -> Result<Vec<(String, i64, String)>> {
    let rows = sqlx::query(
        "SELECT w.address, \
                (SELECT count(*) FROM transactions t WHERE t.account = w.address) AS txs, \
                COALESCE(s.balance::text, '0') AS balance \
         FROM watched_accounts w LEFT JOIN account_states s ON s.address = w.address \
         WHERE w.address = ANY($1) ORDER BY w.address",
    )
    .bind(contracts)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get("address")?,
                r.try_get("txs")?,
                r.try_get("balance")?,
            ))
        })
        .collect()
}

/// One printed line per event: block, contract, event, the figures that matter, the rest of
/// the fields.
pub fn line(
    e: &IndexedEvent,
    names: &HashMap<String, String>,
    unit: impl Fn(u128) -> String,
) -> String {
    let who = names
        .get(&e.contract)
        .cloned()
        .unwrap_or_else(|| e.contract.clone());
    let mut figures = Vec::new();
    if let Some(a) = e.amount {
        figures.push(format!("amount {}", unit(a)));
    }
    if let Some(f) = e.fee {
        figures.push(format!("fee {}", unit(f)));
    }
    if let Some(i) = e.payout_item_id {
        figures.push(format!("item #{i}"));
    }
    if let Some(q) = e.query_id {
        figures.push(format!("query {q}"));
    }
    format!(
        "  mc {:<6} {:<16} {:<22} {:<44} {}",
        e.mc_seqno,
        who,
        e.kind,
        figures.join(", "),
        e.fields
    )
}
