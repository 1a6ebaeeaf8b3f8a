//! `labelmint payout list|show|status|retry`: payout batches and their items, read from the
//! ledger's tables; `retry` only through the ledger's own [`Ledger::expire_batch`].

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use labelmint_ledger::{
    BatchId, CurrencyCode, EarningId, Error as LedgerError, FINALITY_MARGIN_SECS, Ledger,
    Transition,
};
use serde_json::{Value, json};
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::common::{AddrKind, Cur, Global, Out, UsageError, cur, currencies, num, print_json};

/// Payout subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List payout batches, newest first.
    #[command(
        after_help = "Examples:\n  labelmint payout list --state sent --currency TON\n  \
                            labelmint payout list --worker UQBv...Zk --json"
    )]
    List(ListArgs),
    /// One batch and its items: worker, address, amount, outcome, transaction hashes.
    #[command(after_help = "Example:\n  labelmint payout show 42")]
    Show {
        /// The batch id (as `payout list` shows it).
        batch: i64,
    },
    /// Per currency: earnings by state, batches by state, the indexed chain time and the live
    /// batches that can no longer land (retry them).
    #[command(after_help = "Example:\n  labelmint payout status --currency USD")]
    Status {
        /// Only this currency (TON, USD, ...).
        #[arg(long, value_parser = parse_currency)]
        currency: Option<CurrencyCode>,
    },
    /// Make a batch's items payable again once the batch can no longer land (its valid_until
    /// has passed in indexed chain time and the vault never executed it), through the ledger's
    /// `expire_batch`. With --earning: say whether that earning is payable again.
    #[command(after_help = "Examples:\n  labelmint payout retry 42\n  \
                            labelmint payout retry --earning 1007")]
    Retry(RetryArgs),
}

/// `payout list` filters.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only batches in this state.
    #[arg(long, value_enum)]
    state: Option<BatchStateArg>,
    /// Only batches paying this worker (platform worker id, or wallet address).
    #[arg(long)]
    worker: Option<String>,
    /// Only batches paying earnings of this project id.
    #[arg(long)]
    project: Option<u64>,
    /// Only this currency (TON, USD, ...).
    #[arg(long, value_parser = parse_currency)]
    currency: Option<CurrencyCode>,
    /// At most this many batches.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    limit: i64,
}

/// `payout retry` target.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct RetryArgs {
    /// The batch to expire (its items become payable again).
    batch: Option<i64>,
    /// An earning id to check instead (`labelmint worker earnings` lists them).
    #[arg(long)]
    earning: Option<u64>,
}

/// A batch state, as the ledger spells it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum BatchStateArg {
    Batched,
    Signed,
    Sent,
    Confirmed,
    Expired,
}

impl BatchStateArg {
    fn as_str(self) -> &'static str {
        match self {
            BatchStateArg::Batched => "batched",
            BatchStateArg::Signed => "signed",
            BatchStateArg::Sent => "sent",
            BatchStateArg::Confirmed => "confirmed",
            BatchStateArg::Expired => "expired",
        }
    }
}

/// A `--currency` argument.
pub(crate) fn parse_currency(s: &str) -> std::result::Result<CurrencyCode, String> {
    CurrencyCode::new(&s.to_ascii_uppercase()).map_err(|e| e.to_string())
}

/// `--worker`: an address (any form, stored raw) or a platform worker id.
pub(crate) fn worker_key(s: &str) -> String {
    match crate::common::parse_address(s) {
        Ok(a) => a.as_str().to_owned(),
        Err(_) => s.to_owned(),
    }
}

pub(crate) async fn run(g: Global, cmd: Command) -> Result<()> {
    let ledger = g.ledger().await?;
    let out = g.out();
    match cmd {
        Command::List(a) => list(&ledger, &g, out, a).await,
        Command::Show { batch } => show(&ledger, &g, out, batch).await,
        Command::Status { currency } => status(&ledger, &g, out, currency).await,
        Command::Retry(a) => match (a.batch, a.earning) {
            (Some(b), _) => retry_batch(&ledger, &g, b).await,
            (None, Some(e)) => retry_earning(&ledger, &g, e).await,
            (None, None) => {
                Err(UsageError("payout retry: give a BATCH id or --earning ID".into()).into())
            }
        },
    }
}

const BATCH_COLS: &str = "b.id, b.vault, b.currency, b.query_id::text AS query_id, b.created_at, \
     b.valid_until, b.state, b.item_count, b.total::text AS total, b.signed_hash, b.sent_hash, \
     b.confirmed_tx, b.confirmed_lt, b.confirmed_now, b.expired_at_chain";

/// One batch row, as printed.
struct BatchRow {
    id: i64,
    vault: String,
    currency: String,
    query_id: String,
    created_at: i64,
    valid_until: i64,
    state: String,
    item_count: i32,
    total: i128,
    signed_hash: Option<Vec<u8>>,
    sent_hash: Option<Vec<u8>>,
    confirmed_tx: Option<Vec<u8>>,
    confirmed_lt: Option<i64>,
    confirmed_now: Option<i64>,
    expired_at_chain: Option<i64>,
}

impl BatchRow {
    fn of(r: &PgRow) -> Result<Self> {
        Ok(BatchRow {
            id: r.try_get("id")?,
            vault: r.try_get("vault")?,
            currency: r.try_get("currency")?,
            query_id: r.try_get("query_id")?,
            created_at: r.try_get("created_at")?,
            valid_until: r.try_get("valid_until")?,
            state: r.try_get("state")?,
            item_count: r.try_get("item_count")?,
            total: num(&r.try_get::<String, _>("total")?)?,
            signed_hash: r.try_get("signed_hash")?,
            sent_hash: r.try_get("sent_hash")?,
            confirmed_tx: r.try_get("confirmed_tx")?,
            confirmed_lt: r.try_get("confirmed_lt")?,
            confirmed_now: r.try_get("confirmed_now")?,
            expired_at_chain: r.try_get("expired_at_chain")?,
        })
    }

    fn json(&self, c: &Cur) -> Value {
        json!({
            "batch_id": self.id.to_string(),
            "vault": self.vault,
            "currency": self.currency,
            "decimals": c.decimals,
            "query_id": self.query_id,
            "created_at": self.created_at,
            "valid_until": self.valid_until,
            "state": self.state,
            "item_count": self.item_count,
            "total": self.total.to_string(),
            "signed_hash": self.signed_hash.as_deref().map(hex::encode),
            "sent_hash": self.sent_hash.as_deref().map(hex::encode),
            "confirmed_tx": self.confirmed_tx.as_deref().map(hex::encode),
            "confirmed_lt": self.confirmed_lt.map(|v| v.to_string()),
            "confirmed_now": self.confirmed_now,
            "expired_at_chain": self.expired_at_chain,
        })
    }
}

async fn list(ledger: &Ledger, g: &Global, out: Out, a: ListArgs) -> Result<()> {
    let curs = currencies(ledger).await?;
    let sql = format!(
        "SELECT {BATCH_COLS} FROM ledger_batches b \
         WHERE ($1::text IS NULL OR b.state = $1) \
           AND ($2::text IS NULL OR b.currency = $2) \
           AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM ledger_batch_items i \
                 JOIN ledger_earnings e ON e.id = i.earning_id \
                 WHERE i.batch_id = b.id AND (e.worker = $3 OR e.payout_address = $3))) \
           AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM ledger_batch_items i \
                 JOIN ledger_earnings e ON e.id = i.earning_id \
                 WHERE i.batch_id = b.id AND e.project_id = $4::text::numeric)) \
         ORDER BY b.id DESC LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(a.state.map(BatchStateArg::as_str))
        .bind(a.currency.as_ref().map(CurrencyCode::as_str))
        .bind(a.worker.as_deref().map(worker_key))
        .bind(a.project.map(|p| p.to_string()))
        .bind(a.limit)
        .fetch_all(ledger.pool())
        .await
        .context("read ledger_batches")?;
    let batches = rows.iter().map(BatchRow::of).collect::<Result<Vec<_>>>()?;
    if g.json {
        let v = batches
            .iter()
            .map(|b| Ok(b.json(cur(&curs, &b.currency)?)))
            .collect::<Result<Vec<_>>>()?;
        return print_json(&json!({ "batches": v }));
    }
    if batches.is_empty() {
        eprintln!("no batches match");
        return Ok(());
    }
    let mut t = out.table(&[
        "batch",
        "currency",
        "state",
        "items",
        "total",
        "query id",
        "valid until",
        "confirmed tx",
    ]);
    for b in &batches {
        let c = cur(&curs, &b.currency)?;
        t.add_row(vec![
            comfy_table::Cell::new(b.id),
            comfy_table::Cell::new(&b.currency),
            out.state_cell(&b.state),
            comfy_table::Cell::new(b.item_count),
            comfy_table::Cell::new(out.amount(b.total, c)),
            comfy_table::Cell::new(&b.query_id),
            comfy_table::Cell::new(crate::common::rfc3339(b.valid_until)),
            comfy_table::Cell::new(
                b.confirmed_tx
                    .as_deref()
                    .map(hex::encode)
                    .unwrap_or_default(),
            ),
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn show(ledger: &Ledger, g: &Global, out: Out, id: i64) -> Result<()> {
    let curs = currencies(ledger).await?;
    let sql = format!("SELECT {BATCH_COLS} FROM ledger_batches b WHERE b.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(ledger.pool())
        .await
        .context("read ledger_batches")?
        .ok_or_else(|| anyhow!("no batch {id} (see `labelmint payout list`)"))?;
    let b = BatchRow::of(&row)?;
    let c = cur(&curs, &b.currency)?;
    // One row per transfer (payout item), with the earnings it pays.
    let items = sqlx::query(
        "SELECT p.position, p.id, p.outcome, p.bounce_reason, p.bounce_tx, \
                p.bounced_amount::text AS bounced_amount, p.worker, p.payout_address, \
                p.amount::text AS amount, p.bounceable, \
                array_agg(i.earning_id ORDER BY i.earning_id) AS earning_ids, \
                array_agg(DISTINCT e.project_id::text) AS project_ids \
         FROM ledger_payout_items p \
         JOIN ledger_batch_items i ON i.batch_id = p.batch_id AND i.position = p.position \
         JOIN ledger_earnings e ON e.id = i.earning_id \
         WHERE p.batch_id = $1 GROUP BY p.batch_id, p.position ORDER BY p.position",
    )
    .bind(id)
    .fetch_all(ledger.pool())
    .await
    .context("read ledger_payout_items")?;
    struct Item {
        position: i32,
        item_id: i64,
        outcome: String,
        bounce_reason: Option<String>,
        bounce_tx: Option<Vec<u8>>,
        bounced_amount: Option<String>,
        worker: String,
        address: String,
        bounceable: Option<bool>,
        earnings: Vec<i64>,
        projects: Vec<String>,
        amount: i128,
    }
    let items = items
        .iter()
        .map(|r| {
            Ok(Item {
                position: r.try_get("position")?,
                item_id: r.try_get("id")?,
                outcome: r.try_get("outcome")?,
                bounce_reason: r.try_get("bounce_reason")?,
                bounce_tx: r.try_get("bounce_tx")?,
                bounced_amount: r.try_get("bounced_amount")?,
                worker: r.try_get("worker")?,
                address: r.try_get("payout_address")?,
                bounceable: r.try_get("bounceable")?,
                earnings: r.try_get("earning_ids")?,
                projects: r.try_get("project_ids")?,
                amount: num(&r.try_get::<String, _>("amount")?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if g.json {
        let mut v = b.json(c);
        v["items"] = items
            .iter()
            .map(|i| {
                json!({
                    "position": i.position,
                    "item_id": i.item_id.to_string(),
                    "worker": i.worker,
                    "payout_address": i.address,
                    "bounceable": i.bounceable,
                    "earning_ids": i.earnings.iter().map(i64::to_string).collect::<Vec<_>>(),
                    "project_ids": i.projects,
                    "amount": i.amount.to_string(),
                    "currency": b.currency,
                    "decimals": c.decimals,
                    "outcome": i.outcome,
                    "bounce_reason": i.bounce_reason,
                    "bounce_tx": i.bounce_tx.as_deref().map(hex::encode),
                    "bounced_amount": i.bounced_amount,
                })
            })
            .collect();
        return print_json(&v);
    }
    let hash = |h: &Option<Vec<u8>>| h.as_deref().map(hex::encode).unwrap_or_else(|| "-".into());
    let head = out.kv_table(vec![
        ("batch", b.id.to_string()),
        ("state", b.state.clone()),
        ("currency", b.currency.clone()),
        ("vault", out.addr(&b.vault, AddrKind::Contract)),
        ("query id", b.query_id.clone()),
        ("items", b.item_count.to_string()),
        ("total", out.amount(b.total, c)),
        ("created at (chain)", crate::common::rfc3339(b.created_at)),
        ("valid until (chain)", crate::common::rfc3339(b.valid_until)),
        ("signed hash", hash(&b.signed_hash)),
        ("sent message hash", hash(&b.sent_hash)),
        ("confirmed tx", hash(&b.confirmed_tx)),
        (
            "confirmed at (chain)",
            b.confirmed_now
                .map(crate::common::rfc3339)
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "expired at (chain)",
            b.expired_at_chain
                .map(crate::common::rfc3339)
                .unwrap_or_else(|| "-".into()),
        ),
    ]);
    println!("{head}\n");
    let mut t = out.table(&[
        "#", "item", "worker", "address", "earnings", "projects", "amount", "outcome", "bounce",
    ]);
    for i in &items {
        let bounce = match (&i.bounce_reason, &i.bounce_tx) {
            (Some(r), Some(tx)) => format!("{r} (tx {})", hex::encode(tx)),
            (Some(r), None) => r.clone(),
            _ => String::new(),
        };
        t.add_row(vec![
            comfy_table::Cell::new(i.position),
            comfy_table::Cell::new(i.item_id),
            comfy_table::Cell::new(&i.worker),
            comfy_table::Cell::new(out.addr(&i.address, AddrKind::Wallet)),
            comfy_table::Cell::new(id_list(&i.earnings)),
            comfy_table::Cell::new(i.projects.join(", ")),
            comfy_table::Cell::new(out.amount(i.amount, c)),
            out.state_cell(&i.outcome),
            comfy_table::Cell::new(bounce),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// The chain time of the indexer's checkpoint block (`None`: nothing indexed).
pub(crate) async fn indexed_chain_time(ledger: &Ledger) -> Result<Option<i64>> {
    let present: bool = sqlx::query_scalar(
        "SELECT to_regclass('checkpoint') IS NOT NULL AND to_regclass('blocks') IS NOT NULL",
    )
    .fetch_one(ledger.pool())
    .await?;
    if !present {
        return Ok(None);
    }
    let t: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT b.gen_utime FROM checkpoint c JOIN blocks b \
             ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(ledger.pool())
    .await
    .context("read the indexer's checkpoint")?;
    Ok(t.flatten())
}

async fn status(ledger: &Ledger, g: &Global, out: Out, only: Option<CurrencyCode>) -> Result<()> {
    let curs = currencies(ledger).await?;
    let chain_time = indexed_chain_time(ledger).await?;
    let earn = sqlx::query(
        "SELECT currency, state, count(*) AS n, COALESCE(sum(amount), 0)::text AS total \
         FROM ledger_earnings WHERE ($1::text IS NULL OR currency = $1) \
         GROUP BY currency, state ORDER BY currency, state",
    )
    .bind(only.as_ref().map(CurrencyCode::as_str))
    .fetch_all(ledger.pool())
    .await
    .context("read ledger_earnings")?;
    let bat = sqlx::query(
        "SELECT currency, state, count(*) AS n, COALESCE(sum(total), 0)::text AS total \
         FROM ledger_batches WHERE ($1::text IS NULL OR currency = $1) \
         GROUP BY currency, state ORDER BY currency, state",
    )
    .bind(only.as_ref().map(CurrencyCode::as_str))
    .fetch_all(ledger.pool())
    .await
    .context("read ledger_batches")?;
    // Live batches that can no longer land: valid_until + the finality margin passed in chain time.
    let stuck: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, currency, valid_until FROM ledger_batches \
         WHERE state IN ('batched', 'signed', 'sent') AND ($1::text IS NULL OR currency = $1) \
           AND $2::bigint IS NOT NULL AND valid_until + $3 < $2::bigint ORDER BY id",
    )
    .bind(only.as_ref().map(CurrencyCode::as_str))
    .bind(chain_time)
    .bind(i64::from(FINALITY_MARGIN_SECS))
    .fetch_all(ledger.pool())
    .await
    .context("read ledger_batches")?;
    let group = |rows: &[PgRow]| -> Result<Vec<(String, String, i64, i128)>> {
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("currency")?,
                    r.try_get("state")?,
                    r.try_get("n")?,
                    num(&r.try_get::<String, _>("total")?)?,
                ))
            })
            .collect()
    };
    let earn = group(&earn)?;
    let bat = group(&bat)?;
    if g.json {
        let rows = |v: &[(String, String, i64, i128)]| -> Result<Vec<Value>> {
            v.iter()
                .map(|(c, s, n, t)| {
                    Ok(json!({
                        "currency": c, "decimals": cur(&curs, c)?.decimals, "state": s,
                        "count": n, "total": t.to_string(),
                    }))
                })
                .collect()
        };
        return print_json(&json!({
            "chain_time": chain_time,
            "earnings": rows(&earn)?,
            "batches": rows(&bat)?,
            "retryable_batches": stuck.iter().map(|(id, c, vu)| json!({
                "batch_id": id.to_string(), "currency": c, "valid_until": vu,
            })).collect::<Vec<_>>(),
        }));
    }
    println!(
        "indexed chain time: {}",
        chain_time
            .map(crate::common::rfc3339)
            .unwrap_or_else(|| "nothing indexed yet".into())
    );
    for (title, rows) in [("earnings", &earn), ("batches", &bat)] {
        println!();
        let mut t = out.table(&[title, "state", "count", "total"]);
        for (c, s, n, total) in rows.iter() {
            t.add_row(vec![
                comfy_table::Cell::new(c),
                out.state_cell(s),
                comfy_table::Cell::new(n),
                comfy_table::Cell::new(out.amount(*total, cur(&curs, c)?)),
            ]);
        }
        println!("{t}");
    }
    if !stuck.is_empty() {
        println!();
        for (id, c, vu) in &stuck {
            println!(
                "batch {id} ({c}) can no longer land (valid until {}): `labelmint payout retry {id}`",
                crate::common::rfc3339(*vu)
            );
        }
    }
    Ok(())
}

async fn retry_batch(ledger: &Ledger, g: &Global, id: i64) -> Result<()> {
    let batch = ledger
        .batch(BatchId(id))
        .await?
        .ok_or_else(|| anyhow!("no batch {id} (see `labelmint payout list`)"))?;
    let Some(indexed) = indexed_chain_time(ledger).await? else {
        bail!(
            "batch {id}: the indexer has indexed no block yet, so chain time is unknown; start the indexer first"
        );
    };
    // The latest chain second the ledger accepts as final: the indexed time minus its margin.
    let chain_now = u32::try_from(indexed - i64::from(FINALITY_MARGIN_SECS)).unwrap_or(0);
    let outcome = match ledger.expire_batch(BatchId(id), chain_now).await {
        Ok(Transition::Applied) => "expired",
        Ok(Transition::AlreadyApplied) => "already_expired",
        Err(LedgerError::NotExpired { valid_until, .. }) => bail!(
            "batch {id} ({}) may still land: valid until {} in chain time, and the indexed chain \
             (minus the {FINALITY_MARGIN_SECS} s finality margin) is at {}; retry after that",
            batch.state.as_str(),
            crate::common::rfc3339(i64::from(valid_until)),
            crate::common::rfc3339(i64::from(chain_now))
        ),
        Err(LedgerError::ExecutedOnChain(_)) => bail!(
            "batch {id} was executed by the vault on chain (an ev_batch_executed is indexed): it is \
             paid, nothing to retry; the ledger confirms it when it ingests the event"
        ),
        Err(LedgerError::IllegalBatchTransition { from, .. }) => bail!(
            "batch {id} is {}: only a live batch (batched, signed, sent) can be retried",
            from.as_str()
        ),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("expire batch {id}"))),
    };
    if g.json {
        return print_json(&json!({
            "batch_id": id.to_string(), "outcome": outcome, "chain_now": chain_now,
            "items_payable_again": batch.item_count,
        }));
    }
    match outcome {
        "expired" => println!(
            "batch {id} expired at chain time {}: its {} item(s) are payable again; the settler \
             puts them in a new batch under a new query id",
            crate::common::rfc3339(i64::from(chain_now)),
            batch.item_count
        ),
        _ => println!("batch {id} was already expired: its items are payable again"),
    }
    Ok(())
}

async fn retry_earning(ledger: &Ledger, g: &Global, id: u64) -> Result<()> {
    let eid = EarningId::new(id).map_err(|e| UsageError(format!("--earning {id}: {e}")))?;
    let e = ledger
        .earning(eid)
        .await?
        .ok_or_else(|| anyhow!("no earning {id}"))?;
    let attempts = ledger.earning_attempts(eid).await?;
    let live = attempts
        .iter()
        .rev()
        .find(|(_, o)| matches!(o, labelmint_ledger::ItemOutcome::Pending))
        .map(|(b, _)| b.0);
    let state = e.state.as_str();
    let (payable, message) = match state {
        "approved" => (
            true,
            if attempts.is_empty() {
                format!("earning {id} is approved and waits for its first batch")
            } else {
                format!(
                    "earning {id} is payable again (its last attempt in batch {} {}); the settler \
                     pays it in its next batch",
                    attempts.last().map_or(0, |(b, _)| b.0),
                    attempts.last().map_or("", |(_, o)| outcome_str(*o))
                )
            },
        ),
        "batched" | "signed" | "sent" => (
            false,
            format!(
                "earning {id} is {state} in batch {}: retry that batch once it can no longer land \
                 (`labelmint payout retry {}`)",
                live.unwrap_or(0),
                live.unwrap_or(0)
            ),
        ),
        "confirmed" => (
            false,
            format!("earning {id} is paid (confirmed); nothing to retry"),
        ),
        _ => (false, format!("earning {id} is {state}; it is not owed")),
    };
    if !payable {
        bail!("{message}");
    }
    if g.json {
        print_json(&json!({
            "earning_id": id.to_string(), "state": state, "payable": payable, "message": message,
        }))
    } else {
        println!("{message}");
        Ok(())
    }
}

/// Earning ids as a person reads them: `3, 7, 9` (at most 5, then `+N more`).
pub(crate) fn id_list(ids: &[i64]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(i64::to_string).collect();
    match ids.len() {
        n if n > 5 => format!("{} +{} more", shown.join(", "), n - 5),
        _ => shown.join(", "),
    }
}

fn outcome_str(o: labelmint_ledger::ItemOutcome) -> &'static str {
    match o {
        labelmint_ledger::ItemOutcome::Pending => "pending",
        labelmint_ledger::ItemOutcome::Paid => "paid",
        labelmint_ledger::ItemOutcome::Expired => "expired",
        labelmint_ledger::ItemOutcome::Bounced => "bounced",
    }
}
