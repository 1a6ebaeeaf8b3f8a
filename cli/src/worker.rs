//! `labelmint worker earnings|payouts ADDRESS`: one wallet's earnings (by state, with totals)
//! and its payout attempts (batch, outcome, transaction, chain time).

use anyhow::{Context as _, Result};
use clap::Subcommand;
use comfy_table::Cell;
use labelmint_ledger::{Ledger, RawAddress};
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::common::{
    AddrKind, Global, Out, cur, currencies, num, parse_address, print_json, rfc3339,
};

/// Worker subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The wallet's earnings, newest first, with totals per currency and state.
    #[command(after_help = "Example:\n  labelmint worker earnings 0QBvK0...Zk --json")]
    Earnings {
        /// The worker's wallet (user-friendly or raw 0:<64 hex>).
        #[arg(value_parser = parse_address)]
        address: RawAddress,
        /// At most this many earnings listed (totals count all).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
    /// Every payout attempt to the wallet: batch, item, amount, outcome, transaction, chain time.
    #[command(after_help = "Example:\n  labelmint worker payouts 0:6f2b...91 --raw-addresses")]
    Payouts {
        /// The worker's wallet (user-friendly or raw 0:<64 hex>).
        #[arg(value_parser = parse_address)]
        address: RawAddress,
        /// At most this many attempts listed.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
}

pub(crate) async fn run(g: Global, cmd: Command) -> Result<()> {
    let ledger = g.ledger().await?;
    let out = g.out();
    match cmd {
        Command::Earnings { address, limit } => earnings(&ledger, &g, out, &address, limit).await,
        Command::Payouts { address, limit } => payouts(&ledger, &g, out, &address, limit).await,
    }
}

async fn earnings(ledger: &Ledger, g: &Global, out: Out, a: &RawAddress, limit: i64) -> Result<()> {
    let curs = currencies(ledger).await?;
    let rows = sqlx::query(
        "SELECT id, worker, project_id::text AS project_id, currency, amount::text AS amount, \
                state, decision_id, extract(epoch FROM approved_at)::bigint AS approved_at \
         FROM ledger_earnings WHERE payout_address = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(a.as_str())
    .bind(limit)
    .fetch_all(ledger.pool())
    .await
    .context("read ledger_earnings")?;
    let totals = sqlx::query(
        "SELECT currency, state, count(*) AS n, sum(amount)::text AS total FROM ledger_earnings \
         WHERE payout_address = $1 GROUP BY currency, state ORDER BY currency, state",
    )
    .bind(a.as_str())
    .fetch_all(ledger.pool())
    .await
    .context("read ledger_earnings")?;
    let mut list = Vec::new();
    for r in &rows {
        let currency: String = r.try_get("currency")?;
        let c = cur(&curs, &currency)?;
        let amount = num(&r.try_get::<String, _>("amount")?)?;
        list.push((
            r.try_get::<i64, _>("id")?,
            r.try_get::<String, _>("worker")?,
            r.try_get::<String, _>("project_id")?,
            c.clone(),
            amount,
            r.try_get::<String, _>("state")?,
            r.try_get::<String, _>("decision_id")?,
            r.try_get::<i64, _>("approved_at")?,
        ));
    }
    let mut sums = Vec::new();
    for r in &totals {
        let currency: String = r.try_get("currency")?;
        sums.push((
            cur(&curs, &currency)?.clone(),
            r.try_get::<String, _>("state")?,
            r.try_get::<i64, _>("n")?,
            num(&r.try_get::<String, _>("total")?)?,
        ));
    }
    if g.json {
        let earnings: Vec<Value> = list
            .iter()
            .map(|(id, w, p, c, amt, st, d, at)| {
                json!({
                    "earning_id": id.to_string(), "worker": w, "project_id": p,
                    "currency": c.code, "decimals": c.decimals, "amount": amt.to_string(),
                    "state": st, "decision_id": d, "approved_at": rfc3339(*at),
                })
            })
            .collect();
        let totals: Vec<Value> = sums
            .iter()
            .map(|(c, st, n, t)| {
                json!({
                    "currency": c.code, "decimals": c.decimals, "state": st, "count": n,
                    "total": t.to_string(),
                })
            })
            .collect();
        return print_json(&json!({
            "payout_address": a.as_str(), "earnings": earnings, "totals": totals,
        }));
    }
    println!("worker wallet {}", out.addr(a.as_str(), AddrKind::Wallet));
    if list.is_empty() {
        println!("no earnings for this address");
        return Ok(());
    }
    let mut t = out.table(&[
        "earning",
        "worker",
        "project",
        "amount",
        "state",
        "approved at",
    ]);
    for (id, w, p, c, amt, st, _d, at) in &list {
        t.add_row(vec![
            Cell::new(id),
            Cell::new(w),
            Cell::new(p),
            Cell::new(out.amount(*amt, c)),
            out.state_cell(st),
            Cell::new(rfc3339(*at)),
        ]);
    }
    println!("{t}\n");
    let mut t = out.table(&["currency", "state", "count", "total"]);
    for (c, st, n, total) in &sums {
        t.add_row(vec![
            Cell::new(&c.code),
            out.state_cell(st),
            Cell::new(n),
            Cell::new(out.amount(*total, c)),
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn payouts(ledger: &Ledger, g: &Global, out: Out, a: &RawAddress, limit: i64) -> Result<()> {
    let curs = currencies(ledger).await?;
    // One row per transfer to the address (payout item), with the earnings it paid.
    let rows = sqlx::query(
        "SELECT b.id AS batch_id, b.state AS batch_state, b.currency, b.vault, \
                b.query_id::text AS query_id, b.confirmed_tx, b.confirmed_now, p.id AS item_id, \
                p.outcome, p.bounce_reason, p.bounce_tx, p.amount::text AS amount, \
                array_agg(i.earning_id ORDER BY i.earning_id) AS earning_ids, \
                array_agg(DISTINCT e.project_id::text) AS project_ids \
         FROM ledger_payout_items p \
         JOIN ledger_batches b ON b.id = p.batch_id \
         JOIN ledger_batch_items i ON i.batch_id = p.batch_id AND i.position = p.position \
         JOIN ledger_earnings e ON e.id = i.earning_id \
         WHERE p.payout_address = $1 \
         GROUP BY b.id, p.batch_id, p.position ORDER BY b.id DESC, p.position LIMIT $2",
    )
    .bind(a.as_str())
    .bind(limit)
    .fetch_all(ledger.pool())
    .await
    .context("read ledger_payout_items")?;
    struct P {
        batch: i64,
        batch_state: String,
        cur: crate::common::Cur,
        vault: String,
        query_id: String,
        tx: Option<Vec<u8>>,
        chain_time: Option<i64>,
        item: i64,
        outcome: String,
        bounce_reason: Option<String>,
        bounce_tx: Option<Vec<u8>>,
        amount: i128,
        earnings: Vec<i64>,
        projects: Vec<String>,
    }
    let mut ps = Vec::new();
    for r in &rows {
        let currency: String = r.try_get("currency")?;
        ps.push(P {
            batch: r.try_get("batch_id")?,
            batch_state: r.try_get("batch_state")?,
            cur: cur(&curs, &currency)?.clone(),
            vault: r.try_get("vault")?,
            query_id: r.try_get("query_id")?,
            tx: r.try_get("confirmed_tx")?,
            chain_time: r.try_get("confirmed_now")?,
            item: r.try_get("item_id")?,
            outcome: r.try_get("outcome")?,
            bounce_reason: r.try_get("bounce_reason")?,
            bounce_tx: r.try_get("bounce_tx")?,
            amount: num(&r.try_get::<String, _>("amount")?)?,
            earnings: r.try_get("earning_ids")?,
            projects: r.try_get("project_ids")?,
        });
    }
    if g.json {
        let v: Vec<Value> = ps
            .iter()
            .map(|p| {
                json!({
                    "batch_id": p.batch.to_string(), "batch_state": p.batch_state,
                    "vault": p.vault, "query_id": p.query_id, "item_id": p.item.to_string(),
                    "earning_ids": p.earnings.iter().map(i64::to_string).collect::<Vec<_>>(),
                    "project_ids": p.projects, "currency": p.cur.code, "decimals": p.cur.decimals,
                    "amount": p.amount.to_string(), "outcome": p.outcome,
                    "tx_hash": p.tx.as_deref().map(hex::encode),
                    "chain_time": p.chain_time,
                    "bounce_reason": p.bounce_reason,
                    "bounce_tx": p.bounce_tx.as_deref().map(hex::encode),
                })
            })
            .collect();
        return print_json(&json!({ "payout_address": a.as_str(), "payouts": v }));
    }
    println!("worker wallet {}", out.addr(a.as_str(), AddrKind::Wallet));
    if ps.is_empty() {
        println!("no payouts to this address yet");
        return Ok(());
    }
    let mut t = out.table(&[
        "batch",
        "item",
        "earnings",
        "projects",
        "amount",
        "outcome",
        "batch state",
        "tx",
        "chain time",
    ]);
    for p in &ps {
        let tx = match (&p.bounce_tx, &p.tx) {
            (Some(b), _) => format!(
                "{} (bounce: {})",
                hex::encode(b),
                p.bounce_reason.as_deref().unwrap_or("")
            ),
            (None, Some(tx)) => hex::encode(tx),
            (None, None) => "-".into(),
        };
        t.add_row(vec![
            Cell::new(p.batch),
            Cell::new(p.item),
            Cell::new(crate::payout::id_list(&p.earnings)),
            Cell::new(p.projects.join(", ")),
            Cell::new(out.amount(p.amount, &p.cur)),
            out.state_cell(&p.outcome),
            Cell::new(&p.batch_state),
            Cell::new(tx),
            Cell::new(p.chain_time.map(rfc3339).unwrap_or_else(|| "-".into())),
        ]);
    }
    println!("{t}");
    Ok(())
}
