//! The float the settler last saw, kept in Postgres (`settler_floats`): per escrow, vault and
//! its relayer wallet, the TON balance against the fees its next actions need and what it holds
//! against what is payable from it. The leader writes the figures of its `/metrics` gauges at
//! the end of every pass ([`record`]); `labelmint float` and the api read them ([`observed`]),
//! so an operator sees a low float without scraping the settler.
//!
//! Observational only: no decision of the settler reads this table.

use std::collections::BTreeMap;

use sqlx::{PgPool, Row};

use crate::error::{Error, Result};
use crate::metrics::Float;

/// One contract's float as the settler last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Raw address (`0:<64 hex>`).
    pub contract: String,
    /// `escrow`, `vault` or `relayer`.
    pub kind: String,
    /// The currency of `holdings` and `payable`.
    pub currency: String,
    /// The figures (nanoTON; base units of `currency`).
    pub ton_balance: u128,
    /// TON its next actions need.
    pub ton_needed: u128,
    /// A vault's funds, an escrow's remaining budget (0 for the relayer).
    pub holdings: u128,
    /// What is payable from it.
    pub payable: u128,
    /// [`Float::is_low`] when it was seen.
    pub low: bool,
    /// Chain time of the pass that saw it.
    pub chain_time: u32,
    /// Seconds since it was seen (wall clock of the database).
    pub age_secs: i64,
}

/// Upserts the floats of a pass in one statement (fenced like every settler write).
pub async fn record(
    pool: &PgPool,
    floats: &BTreeMap<String, Float>,
    chain_time: u32,
) -> Result<()> {
    if floats.is_empty() {
        return Ok(());
    }
    let mut cols: [Vec<String>; 7] = Default::default();
    let mut low = Vec::with_capacity(floats.len());
    for (contract, f) in floats {
        cols[0].push(contract.clone());
        cols[1].push(f.kind.to_string());
        cols[2].push(f.currency.clone());
        cols[3].push(f.ton_balance.to_string());
        cols[4].push(f.ton_needed.to_string());
        cols[5].push(f.holdings.to_string());
        cols[6].push(f.payable.to_string());
        low.push(f.is_low());
    }
    sqlx::query(
        "INSERT INTO settler_floats (contract, kind, currency, ton_balance, ton_needed, holdings, \
                payable, low, chain_time, observed_at) \
         SELECT c, k, cur, b::numeric, n::numeric, h::numeric, p::numeric, l, $9, now() \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                     $7::text[], $8::bool[]) AS u(c, k, cur, b, n, h, p, l) \
         ON CONFLICT (contract) DO UPDATE SET kind = EXCLUDED.kind, currency = EXCLUDED.currency, \
            ton_balance = EXCLUDED.ton_balance, ton_needed = EXCLUDED.ton_needed, \
            holdings = EXCLUDED.holdings, payable = EXCLUDED.payable, low = EXCLUDED.low, \
            chain_time = EXCLUDED.chain_time, observed_at = EXCLUDED.observed_at",
    )
    .bind(&cols[0])
    .bind(&cols[1])
    .bind(&cols[2])
    .bind(&cols[3])
    .bind(&cols[4])
    .bind(&cols[5])
    .bind(&cols[6])
    .bind(&low)
    .bind(i64::from(chain_time))
    .execute(pool)
    .await?;
    Ok(())
}

/// Every float the settler has recorded, low ones first, then by kind and contract. `None`:
/// the settler never ran against this database (no `settler_floats` table).
pub async fn observed(pool: &PgPool) -> Result<Option<Vec<Observed>>> {
    let present: bool = sqlx::query_scalar("SELECT to_regclass('settler_floats') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !present {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT contract, kind, currency, ton_balance::text AS ton_balance, \
                ton_needed::text AS ton_needed, holdings::text AS holdings, \
                payable::text AS payable, low, chain_time, \
                extract(epoch FROM now() - observed_at)::bigint AS age_secs \
         FROM settler_floats ORDER BY low DESC, kind, contract",
    )
    .fetch_all(pool)
    .await?;
    let amount = |r: &sqlx::postgres::PgRow, c: &str| -> Result<u128> {
        r.try_get::<String, _>(c)?
            .parse()
            .map_err(|_| Error::Message(format!("settler_floats.{c} is not an amount")))
    };
    rows.iter()
        .map(|r| {
            Ok(Observed {
                contract: r.try_get("contract")?,
                kind: r.try_get("kind")?,
                currency: r.try_get("currency")?,
                ton_balance: amount(r, "ton_balance")?,
                ton_needed: amount(r, "ton_needed")?,
                holdings: amount(r, "holdings")?,
                payable: amount(r, "payable")?,
                low: r.try_get("low")?,
                chain_time: u32::try_from(r.try_get::<i64, _>("chain_time")?)
                    .map_err(|_| Error::Message("settler_floats.chain_time".into()))?,
                age_secs: r.try_get("age_secs")?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
