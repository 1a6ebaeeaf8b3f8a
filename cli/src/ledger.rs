//! `labelmint ledger reconcile`: [`labelmint_ledger::Ledger::reconcile`] per currency, every
//! figure printed; exit 1 naming each mismatch and issue.

use anyhow::{Result, bail};
use clap::Subcommand;
use comfy_table::Cell;
use labelmint_ledger::CurrencyCode;
use serde_json::json;

use crate::common::{Global, cur, currencies, print_json};
use crate::payout::parse_currency;

/// Ledger subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Compare the journal with the indexed chain events, per currency; exit 1 on any mismatch.
    #[command(after_help = "Examples:\n  labelmint ledger reconcile\n  \
                            labelmint ledger reconcile --currency USD --json")]
    Reconcile {
        /// Only this currency (default: every registered one).
        #[arg(long, value_parser = parse_currency)]
        currency: Option<CurrencyCode>,
    },
}

pub(crate) async fn run(g: Global, cmd: Command) -> Result<()> {
    let Command::Reconcile { currency } = cmd;
    let ledger = g.ledger().await?;
    let out = g.out();
    let curs = currencies(&ledger).await?;
    let codes: Vec<CurrencyCode> = match currency {
        Some(c) => {
            cur(&curs, c.as_str())?;
            vec![c]
        }
        None => curs
            .keys()
            .map(|k| CurrencyCode::new(k))
            .collect::<labelmint_ledger::Result<_>>()?,
    };
    let mut problems = Vec::new();
    let mut reports = Vec::new();
    for code in &codes {
        let r = ledger.reconcile(code).await?;
        let c = cur(&curs, code.as_str())?;
        for f in r.figures.iter().filter(|f| !f.matches()) {
            problems.push(format!(
                "{code} {}: journal {} but chain {}",
                f.name,
                out.amount(f.journal, c),
                out.amount(f.expected, c)
            ));
        }
        // The figure mismatches are named above (with units); add every other issue.
        for i in &r.issues {
            let is_figure = r
                .figures
                .iter()
                .any(|f| i.starts_with(&format!("{}: journal ", f.name)));
            if !is_figure {
                problems.push(format!("{code}: {i}"));
            }
        }
        reports.push((r, c.clone()));
    }
    if g.json {
        let v: Vec<_> = reports
            .iter()
            .map(|(r, c)| {
                json!({
                    "currency": c.code, "decimals": c.decimals, "clean": r.is_clean(),
                    "figures": r.figures.iter().map(|f| json!({
                        "name": f.name, "journal": f.journal.to_string(),
                        "expected": f.expected.to_string(), "matches": f.matches(),
                    })).collect::<Vec<_>>(),
                    "unposted_events": r.unposted_events,
                    "anomalies": r.anomalies,
                    "issues": r.issues,
                    "awaiting_recovery": r.awaiting_recovery.iter().map(|b| json!({
                        "account": b.account.to_string(), "balance": b.balance.to_string(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(&json!({ "clean": problems.is_empty(), "currencies": v }))?;
    } else {
        for (r, c) in &reports {
            let mut t = out.table(&[c.code.as_str(), "journal", "chain", "check"]);
            for f in &r.figures {
                t.add_row(vec![
                    Cell::new(f.name),
                    Cell::new(out.amount(f.journal, c)),
                    Cell::new(out.amount(f.expected, c)),
                    out.state_cell(if f.matches() { "ok" } else { "MISMATCH" }),
                ]);
            }
            println!("{t}");
            println!(
                "unposted events: {}, anomalies: {}\n",
                r.unposted_events, r.anomalies
            );
        }
    }
    if problems.is_empty() {
        if !g.json {
            println!("clean: every figure matches");
        }
        Ok(())
    } else {
        bail!(
            "the ledger does not reconcile ({} problem(s)):\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    }
}
