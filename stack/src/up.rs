//! The whole `make up` run: the services, the demo project on the chain, the settler paying by
//! itself, then what the indexer decoded and the ledger's reconciliation; and the live part
//! ([`Up::tick`], [`Up::approve_round`]) that keeps approving earnings for the settler to pay.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use labelmint_devnet::Devnet;
use labelmint_indexer::lite::{LiteOptions, LiteServer};
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_indexer::store::Store;
use labelmint_ledger::{
    Account, Currency, CurrencyCode, EarningId, Ledger, NewEarning, Project, ProjectId, RawAddress,
    Vault,
};
use tycho_types::models::StdAddr;

use crate::database;
use crate::error::{Error, Result};
use crate::indexed::{self, IndexedEvent};
use crate::progress::{ConfirmedBatch, Progress};
use crate::scenario::{self, Plan, Report, Session, TON, friendly, say, ton};
use crate::settler::{SettlerFigures, SettlerOptions, SettlerProcess, relayer_wallet};
use crate::signer::SignerProcess;

/// How long the indexer may take to reach a block.
pub const INDEXER_WAIT: Duration = Duration::from_secs(30);
/// Time between the settler's passes in `make up`.
pub const SETTLER_INTERVAL: Duration = Duration::from_millis(500);
/// A release's validity in `make up`, seconds (the settler's minimum, well above the ~2 s a
/// release needs on the devnet): a landed release holds the next one back until then.
pub const RELEASE_TTL: u32 = 30;
/// Below this float (its TON beyond what it owes workers) the vault is topped up by
/// [`scenario::VAULT_FLOAT`]: a TON vault keeps 0.86 TON of fee reserves out of what it pays.
pub const VAULT_FLOAT_MIN: u128 = 9 * TON / 10;
/// Below this remaining budget the client deposits [`scenario::DEPOSIT`] again.
pub const BUDGET_MIN: u128 = 10 * TON;
/// What [`Up::approve_round`] approves, in turn (nanoTON).
pub const ROUND_AMOUNTS: [u128; 4] = [3 * TON / 2, 3 * TON / 4, 9 * TON / 4, TON];
/// Earnings approved per round.
pub const ROUND_SIZE: usize = 2;

/// What [`up`] needs besides the devnet.
#[derive(Debug, Clone)]
pub struct UpConfig {
    /// The database the stack writes (the indexer, the ledger, the signer and the settler
    /// share it; created when missing): `./scripts/pg.sh url`.
    pub database_url: String,
    /// Another database of the same cluster, whose role may create databases: the stack's
    /// database is created (or dropped and created again) from there.
    pub admin_database_url: String,
    /// Where the indexer's `/metrics` and `/health` listen.
    pub metrics_addr: SocketAddr,
    /// The `payout-signer` binary.
    pub signer_bin: PathBuf,
    /// The signer's folder (key file, token, passphrase).
    pub signer_dir: PathBuf,
    /// Where the signer listens.
    pub signer_listen: SocketAddr,
    /// The `settler` binary.
    pub settler_bin: PathBuf,
    /// The settler's folder (relayer seed file, log).
    pub settler_dir: PathBuf,
    /// Where the settler's `/metrics` listen (port 0: a free port).
    pub settler_metrics: SocketAddr,
    /// The devnet's global config file for the settler (None: written into the settler's
    /// folder from the devnet's own answer).
    pub global_config: Option<PathBuf>,
    /// How long the settler may take to confirm the first earnings.
    pub settle_timeout: Duration,
}

/// The stack after the first settlement; the devnet, the indexer, the signer and the settler
/// keep running while it is held.
#[derive(Debug)]
pub struct Up {
    /// The indexer (its store, metrics address, task).
    pub indexer: labelmint_indexer::Handle,
    /// The liteserver session the stack sends its steps through.
    pub session: Session,
    /// The run's contracts and workers.
    pub plan: Plan,
    /// The settler's relayer wallet (THROWAWAY devnet key).
    pub relayer: StdAddr,
    /// The chain read back after the first settlement.
    pub report: Report,
    /// What the indexer decoded of the run's contracts, from Postgres.
    pub events: Vec<IndexedEvent>,
    /// The masterchain seqno before the run's first step.
    pub start_mc: u32,
    /// The database's URL.
    pub database_url: String,
    /// The signer process (killed when dropped).
    pub signer: SignerProcess,
    /// The settler process (killed when dropped).
    pub settler: SettlerProcess,
    /// The ledger (same database).
    pub ledger: Ledger,
    /// The settler's work as printed.
    pub progress: Progress,
    /// Every earning the stack approved, in order.
    pub earnings: Vec<(EarningId, u128)>,
    /// Whether the ledger reconciled with the indexed chain figures after the first
    /// settlement.
    pub reconciled: bool,
    /// `payout-signer audit verify`'s answer.
    pub audit: String,
    /// The settler's figures after the first settlement.
    pub figures: SettlerFigures,
    rounds: usize,
    deposits: u64,
}

/// Starts the indexer, the signer and the settler beside `devnet`, sets the demo project up
/// through the liteserver (its contracts registered first), approves its earnings, and waits
/// until the settler has released and paid them by itself; prints what the indexer decoded,
/// the reconciliation and the signer's audit check. The devnet must produce blocks on its own.
pub async fn up(devnet: &Devnet, config: &UpConfig, out: &mut dyn Write) -> Result<Up> {
    // The index must be of this chain: a devnet folder removed since the last run is a new
    // chain with the same genesis, so compare the checkpoint block with the chain's block.
    let database_url = config.database_url.clone();
    let name = database::database_name(&database_url)?;
    database::ensure(&config.admin_database_url, &database_url).await?;
    let store = Store::connect(&database_url, 4).await?;
    store.migrate().await?;
    let chain_hash = |seqno: u32| {
        let chain = devnet.node().lock();
        chain.master.block(seqno).map(|b| b.id.root_hash.0)
    };
    let same = database::same_chain(store.pool(), chain_hash).await?;
    store.pool().close().await;
    if !same {
        say(
            out,
            format!(
                "database {name} indexed another chain (the devnet folder is new): starting it over"
            ),
        );
        database::recreate(&config.admin_database_url, &database_url).await?;
    }

    // A new chain has only its zero state until the first block: wait for that block, so
    // the indexer starts on a block, not on a state.
    let first_block = Instant::now();
    while devnet.node().lock().last_master()?.id.seqno < 1 {
        if first_block.elapsed() > INDEXER_WAIT {
            return Err(Error::Devnet(labelmint_devnet::Error::BlockNotFound {
                block: "masterchain 1 (the devnet produces no blocks)".into(),
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let ledger = Ledger::connect(&database_url, 4).await?;
    ledger.migrate().await?;

    // The signer: a separate process with a file key created on first run, bound to this
    // chain's global id (config param 19), as the blocks state it.
    let mut session = Session::connect(
        devnet.addr(),
        devnet.public_key(),
        devnet.faucet_wallet().clone(),
    )
    .await?;
    let global_id = session.global_id().await?;
    let signer = SignerProcess::start(
        &config.signer_bin,
        &config.signer_dir,
        &database_url,
        config.signer_listen,
        global_id,
    )
    .await?;
    say(
        out,
        format!(
            "signer       {} (payout-signer process), public key {}, key file {}",
            signer.url,
            hex::encode(signer.public_key),
            signer.key_file.display()
        ),
    );

    // The demo project's plan first: its contracts are registered before they exist.
    let (relayer_key_file, relayer_wallet) = relayer_wallet(&config.settler_dir)?;
    let relayer = relayer_wallet.address()?;
    let now = session.now().await?;
    let mut plan = Plan::new(
        now,
        now,
        session.faucet_address().clone(),
        signer.public_key,
    )?;
    plan.global_id = global_id;
    let start_mc = session.last_mc_seqno().await?;

    let indexer = labelmint_indexer::spawn(labelmint_indexer::Config {
        database_url: database_url.clone(),
        db_max_connections: 4,
        liteservers: vec![LiteServer {
            addr: SocketAddr::V4(devnet.addr()),
            public_key: devnet.public_key(),
        }],
        lite: LiteOptions::default(),
        metrics_addr: config.metrics_addr,
        start_seqno: Some(start_mc),
        index_all_accounts: false,
        parallel: 4,
        poll_interval: Duration::from_millis(100),
        stall_after: Duration::from_secs(60),
        // Verified from the devnet's init block, as against any public liteserver.
        verification: labelmint_indexer::verify::Verification::From(
            labelmint_indexer::lite::parse_init_block(&devnet.global_config()?.to_string())?
                .ok_or_else(|| {
                    labelmint_indexer::Error::GlobalConfig(
                        "the devnet's global config names no init block".into(),
                    )
                })?,
        ),
    })
    .await?;
    for (address, kind, project_id) in [
        (
            &plan.escrow,
            AccountKind::Escrow,
            Some(u64::from(plan.run_id)),
        ),
        (&plan.vault, AccountKind::Vault, None),
    ] {
        indexer
            .store
            .watch(&WatchedAccount {
                address: address.to_string(),
                kind,
                project_id,
                owner: None,
                currency: Some("TON".into()),
            })
            .await?;
    }
    say(
        out,
        format!(
            "indexer      Postgres {}, metrics http://{}/metrics, from masterchain block {start_mc}",
            database::redact(&database_url),
            indexer.metrics_addr
        ),
    );
    register(&ledger, &signer, &plan, out).await?;
    let mut earnings = Vec::new();
    for (i, amount) in plan.earnings.clone().into_iter().enumerate() {
        let id = approve(&ledger, &plan, i, &format!("{}", i + 1), amount, out).await?;
        earnings.push((id, amount));
    }

    // On the chain, through the liteserver: deploy and fund, then the client's deposit.
    scenario::introduce(&mut session, &plan, &relayer, out);
    let float = vault_float(&mut session, &plan, &ledger).await?;
    scenario::deploy(
        &mut session,
        &plan,
        &relayer_wallet,
        float.is_none_or(|f| f < VAULT_FLOAT_MIN),
        out,
    )
    .await?;
    scenario::deposit(&mut session, &plan, plan.deposit, 2, out).await?;

    // The settler: its own process, configured as an operator would.
    let global_config = match &config.global_config {
        Some(p) => p.clone(),
        None => {
            let p = config.settler_dir.join("devnet-global-config.json");
            let json = serde_json::to_string_pretty(&devnet.global_config()?).map_err(|e| {
                Error::Settler {
                    reason: format!("global config: {e}"),
                }
            })?;
            std::fs::write(&p, json).map_err(|e| Error::Settler {
                reason: format!("writing {}: {e}", p.display()),
            })?;
            p
        }
    };
    let after_batch = Progress::last_batch(ledger.pool()).await?;
    let settler = SettlerProcess::start(
        &SettlerOptions {
            bin: config.settler_bin.clone(),
            dir: config.settler_dir.clone(),
            database_url: database_url.clone(),
            global_config: global_config.clone(),
            signer_url: signer.url.clone(),
            signer_token_file: signer.token_file.clone(),
            metrics_addr: config.settler_metrics,
            interval: SETTLER_INTERVAL,
            release_ttl: RELEASE_TTL,
        },
        ledger.pool(),
    )
    .await?;
    say(
        out,
        format!(
            "\nsettler      settler process (pid {}), leading with fencing token {}, metrics \
             http://{}/metrics, log {}\n             liteservers from {}, signer {} (token \
             file {}), relayer wallet {} (THROWAWAY devnet key in {}, 0600)",
            settler.pid,
            settler.token,
            settler.metrics_addr,
            settler.log_file.display(),
            global_config.display(),
            signer.url,
            signer.token_file.display(),
            friendly(&relayer, false),
            relayer_key_file.display()
        ),
    );

    // The settler releases and pays by itself; the stack only watches.
    let names: HashMap<String, String> = [
        (plan.escrow.to_string(), format!("escrow#{}", plan.run_id)),
        (plan.vault.to_string(), "ton-vault".to_string()),
    ]
    .into_iter()
    .collect();
    say(
        out,
        "\n== the settler releases and pays the approved earnings by itself (as the ledger and \
         the index record it)"
            .to_string(),
    );
    let mut progress = Progress::new(after_batch, names.clone(), start_mc);
    let ids: Vec<i64> = earnings.iter().map(|(id, _)| id.get() as i64).collect();
    let mut settler = settler;
    let started = Instant::now();
    loop {
        progress.poll(ledger.pool(), &ledger, out).await?;
        if all_confirmed(ledger.pool(), &ids).await? {
            break;
        }
        if !settler.is_running() {
            return Err(Error::Settler {
                reason: format!(
                    "the settler process exited; the end of {}:\n{}",
                    settler.log_file.display(),
                    crate::settler::log_tail(&settler.log_file, 8)
                ),
            });
        }
        if started.elapsed() > config.settle_timeout {
            return Err(Error::Settler {
                reason: format!(
                    "the earnings were not confirmed within {:?}; earnings by state: {}; the \
                     end of {}:\n{}",
                    config.settle_timeout,
                    states(ledger.pool(), &ids).await?,
                    settler.log_file.display(),
                    crate::settler::log_tail(&settler.log_file, 8)
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // What the indexer decoded of the run's contracts (the settler's evidence).
    let contracts: Vec<String> = names.keys().cloned().collect();
    let events = indexed::events_since(indexer.store.pool(), &contracts, start_mc).await?;
    say(
        out,
        format!(
            "\n== what the indexer decoded (Postgres, committed up to masterchain block {})",
            indexer.store.checkpoint().await?.unwrap_or(0),
        ),
    );
    for e in &events {
        say(out, indexed::line(e, &names, ton));
    }
    for (address, txs, balance) in indexed::accounts(indexer.store.pool(), &contracts).await? {
        let balance = balance.parse::<u128>().map(ton).unwrap_or(balance);
        let who = names
            .get(&address)
            .cloned()
            .unwrap_or_else(|| address.clone());
        say(
            out,
            format!("  {who:<16} {txs} transactions indexed, balance {balance}"),
        );
    }

    // The ledger: every earning confirmed once, the journal against the chain.
    say(out, "\n== the ledger".to_string());
    let paid: u128 = progress.confirmed.iter().map(|b| b.total).sum();
    say(
        out,
        format!(
            "  {} earnings confirmed in {} batch(es), {} paid to workers",
            ids.len(),
            progress.confirmed.len(),
            ton(paid)
        ),
    );
    let reconciled = print_reconcile(&ledger, out, false).await?;
    let report = scenario::read_back(&mut session, &plan, &[&relayer], out).await?;
    let audit = signer.command("audit", &["verify"]).await?;
    say(out, format!("\n== the payout-signer\n  {audit}"));
    let figures = settler.figures().await?;
    say(
        out,
        format!(
            "\n== the settler (http://{}/metrics)\n  {} passes ({} with an error), {} \
             release(s) carried, {} batch(es) formed, {} sent (resends included), {} expired; \
             floats low: {}",
            settler.metrics_addr,
            figures.passes,
            figures.pass_errors,
            figures.releases_sent,
            figures.batches_formed,
            figures.batches_sent,
            figures.batches_expired,
            if figures.float_low.is_empty() {
                "none".to_string()
            } else {
                figures
                    .float_low
                    .iter()
                    .map(|(kind, c)| {
                        let shown = crate::progress::std_of(c)
                            .map(|a| friendly(&a, kind != "relayer"))
                            .unwrap_or_else(|| c.clone());
                        format!("{kind} {shown}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    );
    Ok(Up {
        indexer,
        session,
        plan,
        relayer,
        report,
        events,
        start_mc,
        database_url,
        signer,
        settler,
        ledger,
        progress,
        earnings,
        reconciled,
        audit,
        figures,
        rounds: 0,
        deposits: 2,
    })
}

impl Up {
    /// Prints what the settler did since the last call (and the reconciliation after each
    /// confirmed batch); fails when the settler process is gone.
    pub async fn tick(&mut self, out: &mut dyn Write) -> Result<Vec<ConfirmedBatch>> {
        let confirmed = self
            .progress
            .poll(self.ledger.pool(), &self.ledger, out)
            .await?;
        if !confirmed.is_empty() {
            print_reconcile(&self.ledger, out, true).await?;
        }
        if !self.settler.is_running() {
            return Err(Error::Settler {
                reason: format!(
                    "the settler process exited; the end of {}:\n{}",
                    self.settler.log_file.display(),
                    crate::settler::log_tail(&self.settler.log_file, 8)
                ),
            });
        }
        Ok(confirmed)
    }

    /// What the consensus engine does as workers label: approves [`ROUND_SIZE`] more earnings
    /// for the run's workers (the settler releases and pays them by itself), after topping the
    /// escrow's budget and the vault's float up when they run low. Returns the new earnings.
    pub async fn approve_round(&mut self, out: &mut dyn Write) -> Result<Vec<(EarningId, u128)>> {
        self.rounds += 1;
        let round = self.rounds;
        let needed: u128 = (0..ROUND_SIZE)
            .map(|i| ROUND_AMOUNTS[(round * ROUND_SIZE + i) % ROUND_AMOUNTS.len()])
            .sum();
        let budget = scenario::budget(&mut self.session, &self.plan).await?;
        if budget < BUDGET_MIN.max(needed * 2) {
            self.deposits += 1;
            scenario::deposit(
                &mut self.session,
                &self.plan,
                scenario::DEPOSIT,
                self.deposits,
                out,
            )
            .await?;
        }
        if vault_float(&mut self.session, &self.plan, &self.ledger)
            .await?
            .is_some_and(|f| f < VAULT_FLOAT_MIN)
        {
            scenario::top_up_vault(&mut self.session, &self.plan, out).await?;
        }
        let mut new = Vec::new();
        for i in 0..ROUND_SIZE {
            let amount = ROUND_AMOUNTS[(round * ROUND_SIZE + i) % ROUND_AMOUNTS.len()];
            let worker = (round * ROUND_SIZE + i) % self.plan.workers.len();
            let id = approve(
                &self.ledger,
                &self.plan,
                worker,
                &format!("r{round}-{}", i + 1),
                amount,
                out,
            )
            .await?;
            new.push((id, amount));
        }
        self.earnings.extend(new.iter().copied());
        Ok(new)
    }

    /// Whether every earning the stack approved is confirmed.
    pub async fn all_confirmed(&self) -> Result<bool> {
        let ids: Vec<i64> = self
            .earnings
            .iter()
            .map(|(id, _)| id.get() as i64)
            .collect();
        all_confirmed(self.ledger.pool(), &ids).await
    }
}

/// The vault's float: its TON balance beyond what the ledger says it holds for workers
/// (None: not deployed).
async fn vault_float(s: &mut Session, plan: &Plan, ledger: &Ledger) -> Result<Option<u128>> {
    if !s.is_active(&plan.vault).await? {
        return Ok(None);
    }
    let balance = s.balance(&plan.vault).await?;
    let owed = ledger
        .balance(&Account::Vault(CurrencyCode::ton()), &CurrencyCode::ton())
        .await?;
    Ok(Some(
        balance.saturating_sub(u128::try_from(owed.max(0)).unwrap_or(0)),
    ))
}

async fn all_confirmed(pool: &sqlx::PgPool, ids: &[i64]) -> Result<bool> {
    let confirmed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ledger_earnings WHERE id = ANY($1) AND state = 'confirmed'",
    )
    .bind(ids)
    .fetch_one(pool)
    .await?;
    Ok(usize::try_from(confirmed).is_ok_and(|c| c == ids.len()))
}

async fn states(pool: &sqlx::PgPool, ids: &[i64]) -> Result<String> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM ledger_earnings WHERE id = ANY($1) GROUP BY state \
         ORDER BY state",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", "))
}

/// A signed nanoTON figure in TON.
fn signed_ton(v: i128) -> String {
    let t = ton(v.unsigned_abs());
    if v < 0 { format!("-{t}") } else { t }
}

/// Prints the ledger's reconciliation with the indexed chain (`short`: one line); whether it
/// is clean. Indexed events the settler has not taken in yet are waited for (a few passes).
async fn print_reconcile(ledger: &Ledger, out: &mut dyn Write, short: bool) -> Result<bool> {
    let mut rec = ledger.reconcile(&CurrencyCode::ton()).await?;
    for _ in 0..10 {
        if rec.is_clean() {
            break;
        }
        // The settler ingests at each pass: new chain events may not be taken in yet.
        tokio::time::sleep(SETTLER_INTERVAL).await;
        rec = ledger.reconcile(&CurrencyCode::ton()).await?;
    }
    if !short {
        for f in &rec.figures {
            say(
                out,
                format!(
                    "  {:<18} journal {:>18}  chain {:>18}  {}",
                    f.name,
                    signed_ton(f.journal),
                    signed_ton(f.expected),
                    if f.matches() { "ok" } else { "MISMATCH" }
                ),
            );
        }
    }
    let clean = rec.is_clean();
    say(
        out,
        format!(
            "{}reconciliation of the ledger with the indexed chain: {}",
            if short { "             " } else { "  " },
            if clean {
                "clean".to_string()
            } else {
                rec.issues.join("; ")
            }
        ),
    );
    Ok(clean)
}

/// Approves earning `i`'s `amount` for worker `worker` (index into the plan's workers) in the
/// ledger: what the consensus engine does for a decided task.
async fn approve(
    ledger: &Ledger,
    plan: &Plan,
    worker: usize,
    tag: &str,
    amount: u128,
    out: &mut dyn Write,
) -> Result<EarningId> {
    let address = plan.workers.get(worker).ok_or_else(|| Error::Step {
        step: "approve".into(),
        reason: format!("no worker {worker}"),
    })?;
    let approval = ledger
        .approve_earning(&NewEarning {
            submission_key: format!("make-up:{}:{tag}", plan.run_id),
            worker: format!("worker-{}", worker + 1),
            payout_address: RawAddress::parse(&address.to_string())?,
            project: ProjectId(u64::from(plan.run_id)),
            amount,
            decision_id: format!("make-up demo decision {}:{tag}", plan.run_id),
        })
        .await?;
    say(
        out,
        format!(
            "approved     earning #{} for worker-{} ({}): {} (the ledger; the consensus engine's job)",
            approval.earning_id.get(),
            worker + 1,
            friendly(address, false),
            ton(amount)
        ),
    );
    Ok(approval.earning_id)
}

/// Registers the plan's contracts with the ledger and the signer's allowlist (the indexer
/// watches them already).
async fn register(
    ledger: &Ledger,
    signer: &SignerProcess,
    plan: &Plan,
    out: &mut dyn Write,
) -> Result<()> {
    let raw = |a: &StdAddr| RawAddress::parse(&a.to_string());
    ledger
        .register_currency(&Currency {
            code: CurrencyCode::ton(),
            decimals: 9,
            jetton_master: None,
        })
        .await?;
    ledger
        .register_vault(&Vault {
            currency: CurrencyCode::ton(),
            address: raw(&plan.vault)?,
        })
        .await?;
    ledger
        .set_vault_timeout(&CurrencyCode::ton(), plan.vault_config.timeout)
        .await?;
    ledger
        .register_project(&Project {
            id: ProjectId(u64::from(plan.run_id)),
            escrow: raw(&plan.escrow)?,
            currency: CurrencyCode::ton(),
            client: raw(&plan.faucet)?,
        })
        .await?;
    let vault = plan.vault.to_string();
    let escrow = plan.escrow.to_string();
    let limit = plan.vault_config.window_limit.to_string();
    let timeout = plan.vault_config.timeout.to_string();
    let project_id = plan.run_id.to_string();
    signer
        .command(
            "register",
            &[
                "--vault",
                &vault,
                "--currency",
                "TON",
                "--timeout",
                &timeout,
                "--onchain-limit",
                &limit,
            ],
        )
        .await?;
    signer
        .command("register", &["--escrow", &escrow, "--project", &project_id])
        .await?;
    say(
        out,
        format!(
            "registered   escrow {} (project {}) and vault {} with the indexer, the ledger and \
             the signer's allowlist",
            friendly(&plan.escrow, true),
            plan.run_id,
            friendly(&plan.vault, true)
        ),
    );
    Ok(())
}
