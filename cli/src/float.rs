//! `labelmint float`: each escrow's, vault's and the relayer's float as the settler last saw it
//! (`settler_floats`, written at the end of every settler pass): TON balance against the fees
//! its next actions need, holdings against what is payable. `--check` exits 1 when any is low.

use anyhow::{Result, bail};
use clap::Args;
use comfy_table::Cell;
use serde_json::json;

use crate::common::{AddrKind, Cur, Global, cur, currencies, print_json, rfc3339};

/// `labelmint float` flags.
#[derive(Debug, Args)]
pub(crate) struct FloatArgs {
    /// Exit 1 when any contract's float is low (for a cron job or a probe).
    #[arg(long)]
    check: bool,
}

/// A float older than this many seconds is marked stale: the settler has not seen it lately.
const STALE_SECS: i64 = 300;

pub(crate) async fn run(g: Global, a: FloatArgs) -> Result<()> {
    let ledger = g.ledger().await?;
    let out = g.out();
    let curs = currencies(&ledger).await?;
    let Some(rows) = labelmint_settler::float::observed(ledger.pool()).await? else {
        bail!(
            "no float recorded: the settler has not run against this database yet (`make up` \
             starts it; `labelmint settle --once` runs one pass)"
        );
    };
    let ton = Cur {
        code: "TON".into(),
        decimals: 9,
    };
    let low: Vec<&str> = rows
        .iter()
        .filter(|r| r.low)
        .map(|r| r.contract.as_str())
        .collect();
    if g.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let decimals = cur(&curs, &r.currency).map_or(0, |c| c.decimals);
                json!({
                    "contract": r.contract, "kind": r.kind, "currency": r.currency,
                    "decimals": decimals,
                    "ton_balance": r.ton_balance.to_string(),
                    "ton_needed": r.ton_needed.to_string(),
                    "holdings": r.holdings.to_string(), "payable": r.payable.to_string(),
                    "low": r.low, "chain_time": r.chain_time, "age_secs": r.age_secs,
                    "stale": r.age_secs > STALE_SECS,
                })
            })
            .collect();
        print_json(&json!({ "floats": v, "low": low }))?;
    } else if rows.is_empty() {
        println!("no float recorded yet: the settler records it at the end of each pass");
    } else {
        let mut t = out.table(&[
            "kind",
            "contract",
            "ton balance",
            "ton needed",
            "holdings",
            "payable",
            "status",
            "seen (chain)",
        ]);
        for r in &rows {
            let c = cur(&curs, &r.currency)?;
            let amount = |v: u128, c: &Cur| out.amount(i128::try_from(v).unwrap_or(i128::MAX), c);
            let (holdings, payable) = if r.kind == "relayer" {
                ("-".to_string(), "-".to_string())
            } else {
                (amount(r.holdings, c), amount(r.payable, c))
            };
            let status = match (r.low, r.age_secs > STALE_SECS) {
                (true, _) => "low",
                (false, true) => "stale",
                (false, false) => "ok",
            };
            let kind = if r.kind == "relayer" {
                AddrKind::Wallet
            } else {
                AddrKind::Contract
            };
            t.add_row(vec![
                Cell::new(&r.kind),
                Cell::new(out.addr(&r.contract, kind)),
                Cell::new(amount(r.ton_balance, &ton)),
                Cell::new(amount(r.ton_needed, &ton)),
                Cell::new(holdings),
                Cell::new(payable),
                out.state_cell(status),
                Cell::new(format!(
                    "{} ({} s ago)",
                    rfc3339(i64::from(r.chain_time)),
                    r.age_secs
                )),
            ]);
        }
        println!("{t}");
        if !low.is_empty() {
            println!(
                "\n{} contract(s) with a low float: top the TON balance up above what is \
                 needed, or fund the vault / escrow above what is payable",
                low.len()
            );
        }
    }
    if a.check && !low.is_empty() {
        bail!(
            "{} contract(s) with a low float: {}",
            low.len(),
            low.join(", ")
        );
    }
    Ok(())
}
