//! `labelmint settle --once [--wait]`: one settlement pass by hand, with the settler service's
//! own configuration ([`labelmint_settler::args::SettlerArgs`]: the same flags and env) and its
//! own code ([`labelmint_settler::settle::Settler::pass`]), as the fenced leader.
//!
//! Order: check the flags (exit 2), reach Postgres, the liteserver and the signer within a
//! few seconds each (exit 1 naming the one that failed, its URL with the password masked),
//! take the leader lock (refused, exit 1, while a settler service leads), run one pass with
//! progress bars on stderr (ingest, releases, each vault's batches), optionally `--wait`
//! until the batches and releases it sent are seen by the indexed chain (ingesting meanwhile,
//! as the service would), give the lead back and print what the pass touched.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use comfy_table::Cell;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use labelmint_indexer::lite::{Lite, LiteOptions};
use labelmint_ledger::{BatchId, IngestReport, Ledger};
use labelmint_payout_signer::client::SignerClient;
use labelmint_settler::args::SettlerArgs;
use labelmint_settler::progress::{Progress, Step};
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::common::{
    AddrKind, CONNECT_TIMEOUT, Cur, Global, Out, UsageError, cur, currencies, mask_url, num,
    print_json,
};

/// `settle` arguments: the settler's own flags plus what a single pass needs.
#[derive(Debug, Args)]
pub(crate) struct SettleArgs {
    /// Run exactly one pass (the continuous service is the `settler` binary).
    #[arg(long, required = true)]
    once: bool,
    /// After the pass, wait until the batches and releases it sent are seen executed by the
    /// indexed chain (ingesting the index meanwhile); exit 1 after --timeout.
    #[arg(long)]
    wait: bool,
    /// Seconds --wait may take.
    #[arg(long, default_value_t = 120, requires = "wait",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
    /// The settler's flags (and their env variables), as the service takes them.
    #[command(flatten)]
    settler: SettlerArgs,
}

/// What the pass did to one batch.
#[derive(Debug, Default, Clone)]
struct Touch {
    formed: bool,
    signed: bool,
    sent: bool,
    not_sent: bool,
    expired: bool,
}

impl Touch {
    fn words(&self) -> Vec<&'static str> {
        let mut w = Vec::new();
        for (on, word) in [
            (self.expired, "expired"),
            (self.formed, "formed"),
            (self.signed, "signed"),
            (self.sent, "sent"),
            (self.not_sent, "not taken"),
        ] {
            if on {
                w.push(word);
            }
        }
        w
    }
}

/// Per vault: how many items this pass may carry at most (for the bar's length).
#[derive(Debug, Clone, Copy, Default)]
struct Plan {
    items: u64,
}

#[derive(Default)]
struct Record {
    ingested: Option<IngestReport>,
    releases_carried: usize,
    touched: BTreeMap<i64, Touch>,
    vault_bar: Option<ProgressBar>,
    release_bar: Option<ProgressBar>,
    ingest_bar: Option<ProgressBar>,
}

/// Draws the pass's steps (indicatif on stderr, hidden off a terminal) and records them.
struct Bars {
    mp: MultiProgress,
    color: bool,
    plans: HashMap<String, Plan>,
    rec: Mutex<Record>,
}

impl Bars {
    fn new(plans: HashMap<String, Plan>) -> Bars {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Bars {
            mp: MultiProgress::with_draw_target(target),
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            plans,
            rec: Mutex::new(Record::default()),
        }
    }

    fn style(&self, bar: bool) -> ProgressStyle {
        let t = match (bar, self.color) {
            (true, true) => "{prefix:>9.bold} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({elapsed})",
            (true, false) => "{prefix:>9} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
            (false, true) => "{prefix:>9.bold} {spinner:.cyan} {msg} ({elapsed})",
            (false, false) => "{prefix:>9} {spinner} {msg} ({elapsed})",
        };
        ProgressStyle::with_template(t)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    fn bar(&self, prefix: &str, len: Option<u64>) -> ProgressBar {
        let b = match len {
            Some(n) => self.mp.add(ProgressBar::new(n)),
            None => {
                let b = self.mp.add(ProgressBar::new_spinner());
                b.enable_steady_tick(Duration::from_millis(120));
                b
            }
        };
        b.set_style(self.style(len.is_some()));
        b.set_prefix(prefix.to_owned());
        b
    }

    fn with(&self, f: impl FnOnce(&mut Record)) {
        if let Ok(mut r) = self.rec.lock() {
            f(&mut r);
        }
    }

    fn touch(&self, id: BatchId, f: impl FnOnce(&mut Touch)) {
        self.with(|r| f(r.touched.entry(id.0).or_default()));
    }
}

impl Progress for Bars {
    fn step(&self, step: Step<'_>) {
        match step {
            Step::Ingesting => {
                let b = self.bar("ingest", None);
                b.set_message("indexed events -> ledger");
                self.with(|r| r.ingest_bar = Some(b));
            }
            Step::Ingested(report) => self.with(|r| {
                r.ingested = Some(*report);
                if let Some(b) = r.ingest_bar.take() {
                    b.finish_with_message(format!(
                        "{} events taken in, {} batches confirmed, {} items bounced or refused",
                        report.seen,
                        report.batches_confirmed,
                        report.items_bounced + report.items_refused
                    ));
                }
            }),
            Step::Releases { projects } => {
                let b = self.bar("releases", Some(projects as u64));
                b.set_message("escrows looked at");
                self.with(|r| r.release_bar = Some(b));
            }
            Step::ReleaseProject => self.with(|r| {
                if let Some(b) = &r.release_bar {
                    b.inc(1);
                }
            }),
            Step::ReleasesCarried { count } => self.with(|r| {
                r.releases_carried += count;
                if let Some(b) = &r.release_bar {
                    b.set_message(format!("{} releases carried", r.releases_carried));
                }
            }),
            Step::RecoverySent { contract, amount } => {
                let b = self.bar("recovery", None);
                b.finish_with_message(format!("jetton_recover of {amount} carried to {contract}"));
            }
            Step::Vault { currency, .. } => {
                let plan = self
                    .plans
                    .get(currency.as_str())
                    .copied()
                    .unwrap_or_default();
                let b = self.bar(&format!("{currency} vault"), Some(plan.items));
                b.set_message("items sent");
                self.with(|r| {
                    if let Some(b) = r.release_bar.take() {
                        b.finish();
                    }
                    r.vault_bar = Some(b);
                });
            }
            Step::BatchExpired(b) => self.touch(b.id, |t| t.expired = true),
            Step::BatchFormed(b) => self.touch(b.id, |t| t.formed = true),
            Step::BatchSigned(b) => self.touch(b.id, |t| t.signed = true),
            Step::BatchSent(b) => {
                self.touch(b.id, |t| t.sent = true);
                self.with(|r| {
                    if let Some(bar) = &r.vault_bar {
                        // The ingest may have freed live slots since the plan was made.
                        let n = b.item_count as u64;
                        let len = bar.length().unwrap_or(0);
                        if bar.position() + n > len {
                            bar.set_length(bar.position() + n);
                        }
                        bar.inc(n);
                    }
                });
            }
            Step::BatchNotSent(b) => self.touch(b.id, |t| t.not_sent = true),
            Step::VaultDone { .. } => self.with(|r| {
                if let Some(b) = r.vault_bar.take() {
                    b.finish();
                }
            }),
        }
    }
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    UsageError(e.to_string()).into()
}

/// Reaches at least one liteserver of the global config within a few seconds.
async fn reach_liteserver(a: &SettlerArgs) -> Result<()> {
    let servers = a.liteservers().map_err(|e| anyhow!("{e}"))?;
    let names: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
    let opts = LiteOptions {
        request_timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(3),
        max_attempts: u32::try_from(servers.len()).unwrap_or(1).max(1),
        ..LiteOptions::default()
    };
    let metrics = Arc::new(labelmint_indexer::metrics::Metrics::new(
        Duration::from_secs(60),
    ));
    let mut lite = Lite::new(servers, opts, metrics)?;
    let within = CONNECT_TIMEOUT + Duration::from_secs(3);
    match tokio::time::timeout(within, lite.time()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => bail!(
            "cannot reach the liteserver {} (from {}): {e}; is the devnet (`make up`) running?",
            names.join(", "),
            a.global_config.display()
        ),
        Err(_) => bail!(
            "cannot reach the liteserver {} (from {}): no answer within {} s; is the devnet \
             (`make up`) running?",
            names.join(", "),
            a.global_config.display(),
            within.as_secs()
        ),
    }
}

/// Reaches the payout signer (`GET /v1/pubkey`) within a few seconds.
async fn reach_signer(url: &str, token: labelmint_payout_signer::config::Token) -> Result<()> {
    let client = SignerClient::new(url, token).map_err(usage)?;
    match tokio::time::timeout(CONNECT_TIMEOUT, client.public_key()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => bail!(
            "cannot reach the payout signer at {url}: {e}; is it running (`make up` starts it)?"
        ),
        Err(_) => bail!(
            "cannot reach the payout signer at {url}: no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ),
    }
}

/// Per vault currency: live items plus what the free live slots can take of the approved.
async fn plans(
    ledger: &Ledger,
    batch_size: usize,
    max_live: usize,
) -> Result<HashMap<String, Plan>> {
    let rows = sqlx::query(
        "SELECT v.currency, \
            (SELECT count(*) FROM ledger_earnings e WHERE e.currency = v.currency \
               AND e.state = 'approved') AS approved, \
            (SELECT count(*) FROM ledger_batches b WHERE b.currency = v.currency \
               AND b.state IN ('batched', 'signed', 'sent')) AS live_batches, \
            (SELECT COALESCE(sum(b.item_count), 0)::bigint FROM ledger_batches b \
               WHERE b.currency = v.currency AND b.state IN ('batched', 'signed', 'sent')) \
               AS live_items \
         FROM ledger_vaults v",
    )
    .fetch_all(ledger.pool())
    .await
    .context("read the ledger's vaults")?;
    let mut out = HashMap::new();
    for r in rows {
        let approved = u64::try_from(r.try_get::<i64, _>("approved")?).unwrap_or(0);
        let live = usize::try_from(r.try_get::<i64, _>("live_batches")?).unwrap_or(0);
        let live_items = u64::try_from(r.try_get::<i64, _>("live_items")?).unwrap_or(0);
        let free = (max_live.saturating_sub(live) * batch_size) as u64;
        out.insert(
            r.try_get::<String, _>("currency")?,
            Plan {
                items: live_items + approved.min(free),
            },
        );
    }
    Ok(out)
}

/// One batch as the summary shows it.
struct Row {
    id: i64,
    vault: String,
    currency: String,
    query_id: String,
    items: i64,
    total: i128,
    state: String,
}

async fn batch_rows(ledger: &Ledger, ids: &[i64]) -> Result<Vec<Row>> {
    let rows = sqlx::query(
        "SELECT id, vault, currency, query_id::text AS query_id, item_count::bigint AS items, \
            total::text AS total, state FROM ledger_batches WHERE id = ANY($1) ORDER BY id",
    )
    .bind(ids)
    .fetch_all(ledger.pool())
    .await
    .context("read the batches")?;
    rows.iter()
        .map(|r| {
            Ok(Row {
                id: r.try_get("id")?,
                vault: r.try_get("vault")?,
                currency: r.try_get("currency")?,
                query_id: r.try_get("query_id")?,
                items: r.try_get("items")?,
                total: num(&r.try_get::<String, _>("total")?)?,
                state: r.try_get("state")?,
            })
        })
        .collect()
}

/// Per currency: batches, items, amount, batches by state.
type Totals = BTreeMap<String, (i64, i64, i128, BTreeMap<String, i64>)>;

/// A release the settler has in flight (or just landed).
struct Release {
    project: String,
    escrow: String,
    currency: String,
    seqno: i64,
    valid_until: i64,
    amount: i128,
    indexed: bool,
}

async fn releases(ledger: &Ledger) -> Result<Vec<Release>> {
    let rows = sqlx::query(
        "SELECT r.project_id::text AS project_id, r.escrow, p.currency, r.seqno, r.valid_until, \
            r.amount::text AS amount, EXISTS (SELECT 1 FROM events e WHERE e.contract = r.escrow \
              AND ((e.kind = 'ev_release' AND e.fields->>'seqno' = r.seqno::text) \
                OR (e.kind = 'ev_release_bounced' AND e.query_id = r.seqno))) AS indexed \
         FROM settler_releases r JOIN ledger_projects p ON p.escrow = r.escrow \
         WHERE NOT r.landed ORDER BY r.project_id",
    )
    .fetch_all(ledger.pool())
    .await
    .context("read settler_releases")?;
    rows.iter()
        .map(|r| {
            Ok(Release {
                project: r.try_get("project_id")?,
                escrow: r.try_get("escrow")?,
                currency: r.try_get("currency")?,
                seqno: r.try_get("seqno")?,
                valid_until: r.try_get("valid_until")?,
                amount: num(&r.try_get::<String, _>("amount")?)?,
                indexed: r.try_get("indexed")?,
            })
        })
        .collect()
}

/// The index's checkpoint: masterchain seqno, its chain time, seconds since it moved.
async fn checkpoint(ledger: &Ledger) -> Result<(i64, i64, i64)> {
    let r: Option<(i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT c.mc_seqno, b.gen_utime, \
            EXTRACT(EPOCH FROM now() - c.updated_at)::bigint \
         FROM checkpoint c LEFT JOIN blocks b ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(ledger.pool())
    .await
    .context("read the indexer's checkpoint")?;
    Ok(r.map(|(s, t, age)| (s, t.unwrap_or(0), age))
        .unwrap_or((0, 0, 0)))
}

pub(crate) async fn run(g: Global, a: SettleArgs) -> Result<()> {
    if !a.once {
        return Err(usage("settle runs one pass: give --once"));
    }
    a.settler.check().map_err(|e| usage(format!("{e}")))?;
    let started = Instant::now();
    let url = g.database_url()?;
    let masked = mask_url(&url);
    // Postgres (named, within a few seconds), its settler tables, then the other services.
    let reader = g.ledger().await?;
    labelmint_settler::migrate(&url)
        .await
        .with_context(|| format!("migrate the settler's tables at {masked}"))?;
    let mut config = a.settler.config(url.clone()).map_err(|e| anyhow!("{e}"))?;
    config.holder = format!("labelmint settle --once (pid {})", std::process::id());
    reach_liteserver(&a.settler).await?;
    reach_signer(&config.signer_url, config.signer_token.clone()).await?;

    let lead = tokio::time::timeout(
        CONNECT_TIMEOUT,
        labelmint_settler::leader::try_acquire(&url, &config.holder, config.db_max_connections),
    )
    .await
    .map_err(|_| anyhow!("the leader lock at {masked}: no answer within 4 s"))?
    .with_context(|| format!("take the settler's leader lock at {masked}"))?;
    let Some(mut lead) = lead else {
        let holder: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT holder, token, to_char(taken_at AT TIME ZONE 'UTC', \
                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM settler_leader",
        )
        .fetch_optional(reader.pool())
        .await
        .ok()
        .flatten();
        let who = holder
            .map(|(h, t, at)| format!("{h:?} (token {t}, since {at})"))
            .unwrap_or_else(|| "another process".to_owned());
        bail!(
            "a settler service is leading: {who}; it settles by itself (`labelmint payout \
             status` shows its progress); stop it to run a pass by hand"
        );
    };
    let token = lead.token;
    let outcome = pass_and_wait(&g, &a, config, &reader, &mut lead, started).await;
    lead.release().await;
    let (bars, pass_error, waited) = outcome?;
    summary(&g, &reader, &bars, token, pass_error, waited, started).await
}

/// What `--wait` found.
struct Waited {
    complete: bool,
    elapsed: Duration,
    pending: Vec<String>,
}

async fn pass_and_wait(
    g: &Global,
    a: &SettleArgs,
    config: labelmint_settler::Config,
    reader: &Ledger,
    lead: &mut labelmint_settler::leader::Leadership,
    started: Instant,
) -> Result<(Arc<Bars>, Option<String>, Option<Waited>)> {
    let plans = plans(reader, config.batch_size, config.max_live_batches).await?;
    let bars = Arc::new(Bars::new(plans));
    let metrics = Arc::new(labelmint_settler::Metrics::default());
    let mut settler = labelmint_settler::settle::Settler::new(config, lead.pool.clone(), metrics)
        .map_err(|e| anyhow!("{e}"))?
        .with_progress(bars.clone());
    let pass_error = match settler.pass().await {
        Ok(()) => None,
        Err(e) if e.is_fenced() => bail!("{e}"),
        Err(e) => Some(e.to_string()),
    };
    if !a.wait || pass_error.is_some() {
        return Ok((bars, pass_error, None));
    }
    let (sent, carried): (Vec<i64>, usize) = {
        let r = bars
            .rec
            .lock()
            .map_err(|_| anyhow!("progress record poisoned"))?;
        (
            r.touched
                .iter()
                .filter(|(_, t)| t.sent || t.signed || t.not_sent)
                .map(|(id, _)| *id)
                .collect(),
            r.releases_carried,
        )
    };
    let items: u64 = batch_rows(reader, &sent)
        .await?
        .iter()
        .map(|r| u64::try_from(r.items).unwrap_or(0))
        .sum();
    let bar = bars.bar("confirm", Some(items));
    bar.set_message("items confirmed by the indexed chain");
    let ledger = Ledger::from_pool(lead.pool.clone());
    let wait_started = Instant::now();
    let limit = Duration::from_secs(a.timeout);
    loop {
        lead.check().await.map_err(|e| anyhow!("{e}"))?;
        ledger
            .ingest_chain_events(10_000)
            .await
            .context("ingest the indexed events")?;
        let rows = batch_rows(reader, &sent).await?;
        let mut pending: Vec<String> = rows
            .iter()
            .filter(|r| matches!(r.state.as_str(), "batched" | "signed" | "sent"))
            .map(|r| format!("batch {} ({})", r.id, r.state))
            .collect();
        let done: i64 = rows
            .iter()
            .filter(|r| !matches!(r.state.as_str(), "batched" | "signed" | "sent"))
            .map(|r| r.items)
            .sum();
        bar.set_position(u64::try_from(done).unwrap_or(0));
        if carried > 0 {
            for r in releases(reader).await?.iter().filter(|r| !r.indexed) {
                pending.push(format!(
                    "the release of project {} (seqno {})",
                    r.project, r.seqno
                ));
            }
        }
        if pending.is_empty() {
            bar.finish();
            return Ok((
                bars.clone(),
                None,
                Some(Waited {
                    complete: true,
                    elapsed: wait_started.elapsed(),
                    pending,
                }),
            ));
        }
        if wait_started.elapsed() >= limit {
            bar.abandon();
            let (seqno, time, age) = checkpoint(reader).await?;
            let w = Waited {
                complete: false,
                elapsed: wait_started.elapsed(),
                pending: pending.clone(),
            };
            if g.json {
                return Ok((bars.clone(), None, Some(w)));
            }
            bail!(
                "timed out after {} s (of {:.1} s in all) waiting for {}; the index is at \
                 masterchain block {seqno} (chain time {time}, moved {age} s ago): is the \
                 indexer running?",
                a.timeout,
                started.elapsed().as_secs_f64(),
                pending.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn summary(
    g: &Global,
    reader: &Ledger,
    bars: &Bars,
    token: i64,
    pass_error: Option<String>,
    waited: Option<Waited>,
    started: Instant,
) -> Result<()> {
    let out = g.out();
    let curs = currencies(reader).await?;
    let (ingested, carried, touched) = {
        let r = bars
            .rec
            .lock()
            .map_err(|_| anyhow!("progress record poisoned"))?;
        (r.ingested, r.releases_carried, r.touched.clone())
    };
    let ids: Vec<i64> = touched.keys().copied().collect();
    let rows = batch_rows(reader, &ids).await?;
    let in_flight = releases(reader).await?;
    // Per currency: batches, items, amount, states.
    let mut totals = Totals::new();
    for r in &rows {
        let t = totals.entry(r.currency.clone()).or_default();
        t.0 += 1;
        t.1 += r.items;
        t.2 += r.total;
        *t.3.entry(r.state.clone()).or_default() += 1;
    }
    let incomplete = waited.as_ref().is_some_and(|w| !w.complete);
    if g.json {
        let batch_json = |r: &Row| -> Result<Value> {
            let c = cur(&curs, &r.currency)?;
            Ok(json!({
                "batch_id": r.id.to_string(), "vault": r.vault, "currency": r.currency,
                "decimals": c.decimals, "query_id": r.query_id, "item_count": r.items,
                "total": r.total.to_string(), "state": r.state,
                "this_pass": touched.get(&r.id).map(Touch::words).unwrap_or_default(),
            }))
        };
        let release_json = |r: &Release| -> Result<Value> {
            let c = cur(&curs, &r.currency)?;
            Ok(json!({
                "project_id": r.project, "escrow": r.escrow, "currency": r.currency,
                "decimals": c.decimals, "seqno": r.seqno, "valid_until": r.valid_until,
                "amount": r.amount.to_string(), "indexed": r.indexed,
            }))
        };
        let totals_json: Vec<Value> = totals
            .iter()
            .map(|(code, (b, i, amount, states))| {
                Ok(json!({
                    "currency": code, "decimals": cur(&curs, code)?.decimals, "batches": b,
                    "items": i, "amount": amount.to_string(), "states": states,
                }))
            })
            .collect::<Result<_>>()?;
        print_json(&json!({
            "leader_token": token.to_string(),
            "elapsed_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "error": pass_error,
            "ingested": ingested.map(|r| json!({
                "seen": r.seen, "posted": r.posted, "ignored": r.ignored,
                "anomalies": r.anomalies, "batches_confirmed": r.batches_confirmed,
                "items_bounced": r.items_bounced, "items_refused": r.items_refused,
            })),
            "releases_carried": carried,
            "releases_in_flight": in_flight.iter().map(release_json).collect::<Result<Vec<_>>>()?,
            "batches": rows.iter().map(batch_json).collect::<Result<Vec<_>>>()?,
            "totals": totals_json,
            "wait": waited.as_ref().map(|w| json!({
                "complete": w.complete,
                "elapsed_ms": u64::try_from(w.elapsed.as_millis()).unwrap_or(u64::MAX),
                "pending": w.pending,
            })),
        }))?;
    } else {
        print_human(&out, &curs, &rows, &touched, &in_flight, &totals, carried);
        let i = ingested.unwrap_or_default();
        println!(
            "\none pass as leader (token {token}) in {:.1} s: {} indexed events taken in \
             ({} batches confirmed, {} items bounced or refused), {carried} releases carried, \
             {} batches touched",
            started.elapsed().as_secs_f64(),
            i.seen,
            i.batches_confirmed,
            i.items_bounced + i.items_refused,
            rows.len()
        );
        if let Some(w) = &waited {
            println!(
                "waited {:.1} s: {}",
                w.elapsed.as_secs_f64(),
                if w.complete {
                    "everything sent is seen executed by the indexed chain".to_owned()
                } else {
                    format!("still pending: {}", w.pending.join(", "))
                }
            );
        }
    }
    if let Some(e) = pass_error {
        bail!("the pass did not complete: {e}");
    }
    if incomplete {
        bail!("timed out waiting for the indexed chain");
    }
    Ok(())
}

fn print_human(
    out: &Out,
    curs: &BTreeMap<String, Cur>,
    rows: &[Row],
    touched: &BTreeMap<i64, Touch>,
    in_flight: &[Release],
    totals: &Totals,
    carried: usize,
) {
    let unknown = Cur {
        code: "?".to_owned(),
        decimals: 0,
    };
    let c = |code: &str| curs.get(code).unwrap_or(&unknown).clone();
    if !in_flight.is_empty() {
        let mut t = out.table(&["project", "escrow", "seqno", "amount", "release"]);
        for r in in_flight {
            t.add_row(vec![
                Cell::new(&r.project),
                Cell::new(out.addr(&r.escrow, AddrKind::Contract)),
                Cell::new(r.seqno),
                Cell::new(out.amount(r.amount, &c(&r.currency))),
                out.state_cell(if r.indexed { "landed" } else { "sent" }),
            ]);
        }
        println!("{t}\n");
    } else if carried == 0 && rows.is_empty() {
        println!("nothing to settle: no release due, no batch to form, sign or send");
    }
    if !rows.is_empty() {
        let mut t = out.table(&[
            "batch",
            "currency",
            "vault",
            "query id",
            "items",
            "total",
            "this pass",
            "state",
        ]);
        for r in rows {
            t.add_row(vec![
                Cell::new(r.id),
                Cell::new(&r.currency),
                Cell::new(out.addr(&r.vault, AddrKind::Contract)),
                Cell::new(&r.query_id),
                Cell::new(r.items),
                Cell::new(out.amount(r.total, &c(&r.currency))),
                Cell::new(
                    touched
                        .get(&r.id)
                        .map(|t| t.words().join(", "))
                        .unwrap_or_default(),
                ),
                out.state_cell(&r.state),
            ]);
        }
        println!("{t}\n");
        let mut t = out.table(&["currency", "batches", "items", "amount", "states"]);
        for (code, (b, i, amount, states)) in totals {
            t.add_row(vec![
                Cell::new(code),
                Cell::new(b),
                Cell::new(i),
                Cell::new(out.amount(*amount, &c(code))),
                Cell::new(
                    states
                        .iter()
                        .map(|(s, n)| format!("{n} {s}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ]);
        }
        println!("{t}");
    }
}
