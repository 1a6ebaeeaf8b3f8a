//! `labelmint project create|status|close`: a project's budget and money flows (from the ledger and
//! the indexed escrow events), its escrow's on-chain balance and recent events; `close` asks the
//! ledger for the close ([`labelmint_ledger::Ledger::request_close`]).

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;
use comfy_table::Cell;
use labelmint_ledger::{Error as LedgerError, Ledger, ProjectId, Transition};
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::common::{AddrKind, Cur, Global, cur, currencies, num, print_json, rfc3339};

/// Project subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Compute a new project's escrow address, register it with the signer's allowlist, the
    /// indexer and the ledger, and print a deposit link (ton://transfer) with a QR code.
    #[command(
        after_help = "Example:\n  labelmint project create --id 301 --client 0QDm...pEQ \\\n    \
                            --signer-key 3b6a...9f --treasury 0QAB...Sus --fee-bps 500 --deposit 12.5"
    )]
    Create(crate::create::CreateArgs),
    /// Budget, deposited, released, fees, refunded, the escrow's on-chain balance and its
    /// recent events.
    #[command(after_help = "Example:\n  labelmint project status 101 --json")]
    Status {
        /// The project id (the escrow's on-chain project_id).
        id: u64,
        /// How many recent escrow events to show.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(0..=1000))]
        events: i64,
    },
    /// Ask for the project's close: it takes no new earnings from now on; the signer then
    /// authorizes the escrow's close (refund of the rest to the client) once every approved
    /// earning is released. There is no way back.
    #[command(after_help = "Example:\n  labelmint project close 101 --by admin:alice")]
    Close {
        /// The project id.
        id: u64,
        /// Who asks (recorded): `admin:<name>` or `client:<address>`.
        #[arg(long, default_value = "admin:labelmint-cli")]
        by: String,
    },
}

pub(crate) async fn run(g: Global, cmd: Command) -> Result<()> {
    let ledger = g.ledger().await?;
    match cmd {
        Command::Status { id, events } => status(&ledger, &g, ProjectId(id), events).await,
        Command::Close { id, by } => close(&ledger, &g, ProjectId(id), &by).await,
        Command::Create(a) => crate::create::create(&ledger, &g, a).await,
    }
}

/// Sums of the escrow's indexed events.
#[derive(Debug, Default)]
struct Flows {
    deposited: i128,
    released: i128,
    fees: i128,
    release_bounced: i128,
    refunded: i128,
    refund_bounced: i128,
    recovered: i128,
}

async fn flows(ledger: &Ledger, escrow: &str) -> Result<Flows> {
    let rows = sqlx::query(
        "SELECT kind, COALESCE(sum(amount), 0)::text AS amount, COALESCE(sum(fee), 0)::text AS fee \
         FROM events WHERE contract = $1 GROUP BY kind",
    )
    .bind(escrow)
    .fetch_all(ledger.pool())
    .await
    .context("read the indexer's events")?;
    let mut f = Flows::default();
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        let amount = num(&r.try_get::<String, _>("amount")?)?;
        let fee = num(&r.try_get::<String, _>("fee")?)?;
        match kind.as_str() {
            "ev_deposit" => f.deposited += amount,
            "ev_release" => {
                f.released += amount;
                f.fees += fee;
            }
            "ev_release_bounced" => f.release_bounced += amount,
            "ev_refund" => f.refunded += amount,
            "ev_refund_bounced" => f.refund_bounced += amount,
            "ev_jetton_recovered" => f.recovered += amount,
            _ => {}
        }
    }
    Ok(f)
}

async fn status(ledger: &Ledger, g: &Global, id: ProjectId, n_events: i64) -> Result<()> {
    let out = g.out();
    let p = ledger
        .project(id)
        .await?
        .ok_or_else(|| anyhow!("no project {id} in the ledger (registered projects: `SELECT project_id FROM ledger_projects`)"))?;
    let state = ledger.project_state(id).await?;
    let funding = ledger.project_funding(id).await?;
    let curs = currencies(ledger).await?;
    let c: Cur = cur(&curs, p.currency.as_str())?.clone();
    let ton = curs.get("TON").cloned().unwrap_or(Cur {
        code: "TON".into(),
        decimals: 9,
    });
    let f = flows(ledger, p.escrow.as_str()).await?;
    // What the escrow still holds for the project: deposits (and recovered tokens) minus what
    // left it (releases, fees, refunds), plus what bounced back.
    let budget = f.deposited + f.recovered - f.released - f.fees + f.release_bounced - f.refunded
        + f.refund_bounced;
    let account: Option<(String, String)> =
        sqlx::query_as("SELECT balance::text, status FROM account_states WHERE address = $1")
            .bind(p.escrow.as_str())
            .fetch_optional(ledger.pool())
            .await
            .context("read the indexer's account_states")?;
    let on_chain = match &account {
        Some((b, s)) => Some((num(b)?, s.clone())),
        None => None,
    };
    let evs = sqlx::query(
        "SELECT kind, amount::text AS amount, fee::text AS fee, query_id::text AS query_id, \
                now, lt, tx_hash FROM events WHERE contract = $1 ORDER BY lt DESC, msg_idx DESC LIMIT $2",
    )
    .bind(p.escrow.as_str())
    .bind(n_events)
    .fetch_all(ledger.pool())
    .await
    .context("read the indexer's events")?;
    struct Ev {
        kind: String,
        amount: Option<i128>,
        fee: Option<i128>,
        query_id: Option<String>,
        now: i64,
        lt: i64,
        tx: Vec<u8>,
    }
    let evs = evs
        .iter()
        .map(|r| {
            Ok(Ev {
                kind: r.try_get("kind")?,
                amount: r
                    .try_get::<Option<String>, _>("amount")?
                    .map(|s| num(&s))
                    .transpose()?,
                fee: r
                    .try_get::<Option<String>, _>("fee")?
                    .map(|s| num(&s))
                    .transpose()?,
                query_id: r.try_get("query_id")?,
                now: r.try_get("now")?,
                lt: r.try_get("lt")?,
                tx: r.try_get("tx_hash")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let amt = |v: i128| v.to_string();
    if g.json {
        let events: Vec<Value> = evs
            .iter()
            .map(|e| {
                json!({
                    "kind": e.kind, "amount": e.amount.map(amt), "fee": e.fee.map(amt),
                    "query_id": e.query_id, "chain_time": e.now,
                    "lt": e.lt.to_string(), "tx_hash": hex::encode(&e.tx),
                })
            })
            .collect();
        return print_json(&json!({
            "project_id": id.0.to_string(),
            "state": state.as_str(),
            "escrow": p.escrow.as_str(),
            "client": p.client.as_str(),
            "currency": c.code,
            "decimals": c.decimals,
            "budget": amt(budget),
            "approved": funding.approved.to_string(),
            "releasable": funding.releasable.to_string(),
            "deposited": amt(f.deposited),
            "released": amt(f.released),
            "fees": amt(f.fees),
            "release_bounced": amt(f.release_bounced),
            "refunded": amt(f.refunded),
            "refund_bounced": amt(f.refund_bounced),
            "recovered": amt(f.recovered),
            "on_chain_balance": on_chain.as_ref().map(|(b, _)| json!({
                "currency": "TON", "decimals": ton.decimals, "amount": amt(*b),
            })),
            "account_status": on_chain.as_ref().map(|(_, s)| s.clone()),
            "events": events,
        }));
    }
    let as_u = |v: u128| i128::try_from(v).unwrap_or(i128::MAX);
    let rows: Vec<(&str, String)> = vec![
        ("project", id.to_string()),
        ("state", state.as_str().to_owned()),
        ("escrow", out.addr(p.escrow.as_str(), AddrKind::Contract)),
        ("client", out.addr(p.client.as_str(), AddrKind::Wallet)),
        ("currency", c.code.clone()),
        ("budget (remaining in escrow)", out.amount(budget, &c)),
        ("deposited", out.amount(f.deposited, &c)),
        ("released", out.amount(f.released, &c)),
        ("fees", out.amount(f.fees, &c)),
        ("release bounced", out.amount(f.release_bounced, &c)),
        ("refunded", out.amount(f.refunded, &c)),
        ("refund bounced", out.amount(f.refund_bounced, &c)),
        ("approved earnings", out.amount(as_u(funding.approved), &c)),
        ("releasable", out.amount(as_u(funding.releasable), &c)),
        (
            "on-chain balance",
            match &on_chain {
                Some((b, s)) => format!("{} ({s})", out.amount(*b, &ton)),
                None => "not indexed".to_owned(),
            },
        ),
    ];
    println!("{}", out.kv_table(rows));
    if !evs.is_empty() {
        println!();
        let mut t = out.table(&["event", "amount", "fee", "query id", "chain time", "tx"]);
        for e in &evs {
            t.add_row(vec![
                Cell::new(&e.kind),
                Cell::new(e.amount.map(|v| out.amount(v, &c)).unwrap_or_default()),
                Cell::new(e.fee.map(|v| out.amount(v, &c)).unwrap_or_default()),
                Cell::new(e.query_id.clone().unwrap_or_default()),
                Cell::new(rfc3339(e.now)),
                Cell::new(hex::encode(&e.tx)),
            ]);
        }
        println!("{t}");
    }
    Ok(())
}

async fn close(ledger: &Ledger, g: &Global, id: ProjectId, by: &str) -> Result<()> {
    let outcome = match ledger.request_close(id, by).await {
        Ok(Transition::Applied) => "closing",
        Ok(Transition::AlreadyApplied) => "already_closing",
        Err(LedgerError::UnknownProject(_)) => bail!("no project {id} in the ledger"),
        Err(LedgerError::IllegalProjectTransition { from, .. }) => {
            bail!(
                "project {id} is {}: it cannot be closed again",
                from.as_str()
            )
        }
        Err(LedgerError::InvalidInput { .. }) => {
            return Err(crate::common::UsageError(format!(
                "--by {by:?}: must be 1..=256 bytes without control characters"
            ))
            .into());
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("close project {id}"))),
    };
    if g.json {
        return print_json(&json!({ "project_id": id.0.to_string(), "outcome": outcome }));
    }
    match outcome {
        "closing" => println!(
            "project {id} is closing: it takes no new earnings; the signer authorizes the \
             escrow's close once its approved earnings are released"
        ),
        _ => println!("project {id} was already closing"),
    }
    Ok(())
}
