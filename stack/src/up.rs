//! The whole `make up` run: devnet, indexer, scenario, then what the indexer decoded.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use labelmint_devnet::Devnet;
use labelmint_devnet::scenario::{self, Plan, Report, Session};
use labelmint_indexer::lite::{LiteOptions, LiteServer};
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_indexer::store::Store;
use labelmint_ledger::{
    BatchState, Currency, CurrencyCode, EarningState, Ledger, NewEarning, Project, ProjectId,
    RawAddress, Vault,
};

use crate::database;
use crate::error::{Error, Result};
use crate::indexed::{self, IndexedEvent};
use crate::signer::{SignerAuthorizer, SignerProcess};

/// How long the indexer may take to reach the scenario's last block.
pub const INDEXER_WAIT: Duration = Duration::from_secs(30);

/// What [`up`] needs besides the devnet.
#[derive(Debug, Clone)]
pub struct UpConfig {
    /// A URL on the Postgres cluster whose role may create databases (`scripts/pg.sh url`).
    pub admin_database_url: String,
    /// The database the indexer writes (created when missing).
    pub database: String,
    /// Where the indexer's `/metrics` and `/health` listen.
    pub metrics_addr: SocketAddr,
    /// The `payout-signer` binary.
    pub signer_bin: PathBuf,
    /// The signer's folder (key file, token, passphrase).
    pub signer_dir: PathBuf,
    /// Where the signer listens.
    pub signer_listen: SocketAddr,
}

/// The stack after the scenario: the devnet and the indexer keep running while it is held.
#[derive(Debug)]
pub struct Up {
    /// The indexer (its store, metrics address, task).
    pub indexer: labelmint_indexer::Handle,
    /// What the scenario did, as it read it through the liteserver.
    pub report: Report,
    /// What the indexer decoded of the scenario's contracts, from Postgres.
    pub events: Vec<IndexedEvent>,
    /// The masterchain seqno before the scenario's first step.
    pub start_mc: u32,
    /// Names for printing.
    pub names: HashMap<String, String>,
    /// The database's URL.
    pub database_url: String,
    /// The signer process (killed when dropped).
    pub signer: SignerProcess,
    /// The ledger (same database).
    pub ledger: Ledger,
    /// The ledger's final state of the run's batch.
    pub batch_state: Option<BatchState>,
    /// Whether the ledger reconciled with the indexed chain figures.
    pub reconciled: bool,
    /// `payout-signer audit verify`'s answer.
    pub audit: String,
}

/// Starts the indexer beside `devnet`, runs the scenario through the liteserver with the
/// scenario's contracts registered first, waits for the indexer to commit the scenario's last
/// block, and prints the events it decoded. The devnet must produce blocks on its own.
pub async fn up(devnet: &Devnet, config: &UpConfig, out: &mut dyn Write) -> Result<Up> {
    // The index must be of this chain: a devnet folder removed since the last run is a new
    // chain with the same genesis, so compare the checkpoint block with the chain's block.
    let mut database_url = database::ensure(&config.admin_database_url, &config.database).await?;
    let store = Store::connect(&database_url, 4).await?;
    store.migrate().await?;
    let chain_hash = |seqno: u32| {
        let chain = devnet.node().lock();
        chain.master.block(seqno).map(|b| b.id.root_hash.0)
    };
    if !database::same_chain(store.pool(), chain_hash).await? {
        store.pool().close().await;
        let _ = writeln!(
            out,
            "database {} indexed another chain (the devnet folder is new): starting it over",
            config.database
        );
        database_url = database::recreate(&config.admin_database_url, &config.database).await?;
    } else {
        store.pool().close().await;
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
    let global_id = devnet
        .node()
        .lock()
        .last_master()?
        .root
        .parse::<tycho_types::models::Block>()
        .map_err(labelmint_devnet::Error::from)?
        .global_id;
    let signer = SignerProcess::start(
        &config.signer_bin,
        &config.signer_dir,
        &database_url,
        config.signer_listen,
        global_id,
    )
    .await?;
    let _ = writeln!(
        out,
        "signer       {} (payout-signer process), public key {}, key file {}",
        signer.url,
        hex::encode(signer.public_key),
        signer.key_file.display()
    );

    // The scenario's plan first: its contracts are registered before they exist.
    let mut out_buf: Vec<u8> = Vec::new();
    let mut session = Session::connect(
        devnet.addr(),
        devnet.public_key(),
        devnet.faucet_wallet().clone(),
        &mut out_buf,
    )
    .await?;
    let now = session.now().await?;
    let mut plan = Plan::new(
        now,
        now,
        session.faucet_address().clone(),
        signer.public_key,
    )?;
    plan.global_id = global_id;
    // The release funds exactly the approved earnings (the signer refuses more).
    plan.release = plan.payouts.iter().sum();
    let start_mc = session.last_read_mc();

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
    let _ = writeln!(
        out,
        "indexer      Postgres {}, metrics http://{}/metrics, from masterchain block {start_mc}",
        database::redact(&database_url),
        indexer.metrics_addr
    );
    register(&ledger, &signer, &plan, out).await?;

    let mut auth = SignerAuthorizer::new(&signer, &ledger, plan.vault_config.timeout);
    let report = scenario::run_plan(&mut session, &plan, &mut auth).await;
    drop(session);
    let _ = out.write_all(&out_buf);
    let report = report?;
    let batch = auth.batch.clone();
    let signed = auth.signed.len();

    // Wait for the indexer to commit the scenario's last block.
    let started = Instant::now();
    loop {
        let at = indexer.store.checkpoint().await?;
        if at.is_some_and(|c| c >= report.last_mc_seqno) {
            break;
        }
        if started.elapsed() > INDEXER_WAIT {
            return Err(Error::IndexerBehind {
                at,
                want: report.last_mc_seqno,
                waited_s: INDEXER_WAIT.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let contracts = vec![plan.escrow.to_string(), plan.vault.to_string()];
    let events = indexed::events_since(indexer.store.pool(), &contracts, start_mc).await?;
    let names: HashMap<String, String> = [
        (plan.escrow.to_string(), format!("escrow#{}", plan.run_id)),
        (plan.vault.to_string(), "ton-vault".to_string()),
    ]
    .into_iter()
    .collect();
    let _ = writeln!(
        out,
        "\n== what the indexer decoded (Postgres, committed up to masterchain block {}, {:.1} s after the last step)",
        indexer.store.checkpoint().await?.unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    for e in &events {
        let _ = writeln!(out, "{}", indexed::line(e, &names, scenario::ton));
    }
    for (address, txs, balance) in indexed::accounts(indexer.store.pool(), &contracts).await? {
        let balance = balance
            .parse::<u128>()
            .map(scenario::ton)
            .unwrap_or(balance);
        let who = names
            .get(&address)
            .cloned()
            .unwrap_or_else(|| address.clone());
        let _ = writeln!(
            out,
            "  {who:<16} {txs} transactions indexed, balance {balance}"
        );
    }

    // The ledger takes the indexed facts in: the batch is confirmed by ev_batch_executed and
    // the journal is reconciled with the chain.
    let ingest = ledger.ingest_chain_events(10_000).await?;
    let _ = writeln!(
        out,
        "\n== the ledger (journal of the indexed facts)\n  ingested {} events: {} posted, {} moved no money, {} anomalies; {} batch confirmed",
        ingest.seen, ingest.posted, ingest.ignored, ingest.anomalies, ingest.batches_confirmed
    );
    let mut batch_state = None;
    if let Some((b, items)) = &batch {
        let now_batch = ledger.batch(b.id).await?;
        batch_state = now_batch.as_ref().map(|x| x.state);
        let _ = writeln!(
            out,
            "  batch #{} (vault query {}): {} items, {}, {}",
            b.id.0,
            b.query_id,
            b.item_count,
            scenario::ton(b.total),
            batch_state.map_or("gone".to_string(), |s| format!("{s:?}").to_lowercase())
        );
        for i in items {
            let state = match i.earnings.first() {
                Some(e) => ledger.earning(*e).await?.map(|e| e.state),
                None => None,
            };
            let _ = writeln!(
                out,
                "    item #{} ({} earning(s)) {} -> {} {:?}",
                i.item_id,
                i.earnings.len(),
                scenario::ton(i.amount),
                i.payout_address,
                state.unwrap_or(EarningState::Approved)
            );
        }
    }
    let rec = ledger.reconcile(&CurrencyCode::ton()).await?;
    for f in &rec.figures {
        let _ = writeln!(
            out,
            "  {:<16} journal {:>16}  chain {:>16}  {}",
            f.name,
            f.journal,
            f.expected,
            if f.matches() { "ok" } else { "MISMATCH" }
        );
    }
    let reconciled = rec.is_clean();
    let _ = writeln!(
        out,
        "  reconciliation with the indexed chain: {}",
        if reconciled {
            "clean".to_string()
        } else {
            rec.issues.join("; ")
        }
    );
    let audit = signer.command("audit", &["verify"]).await?;
    let _ = writeln!(
        out,
        "\n== the payout-signer\n  signed {signed} requests this run; {audit}"
    );
    Ok(Up {
        indexer,
        report,
        events,
        start_mc,
        names,
        database_url,
        signer,
        ledger,
        batch_state,
        reconciled,
        audit,
    })
}

impl Up {
    /// Prints the scenario contracts' events indexed after `after_lt` (none: all) and returns
    /// the last lt printed: the live tail `make up` shows until Ctrl-C.
    pub async fn print_new_events(&self, after_lt: u64, out: &mut dyn Write) -> Result<u64> {
        let contracts: Vec<String> = self.names.keys().cloned().collect();
        let events =
            indexed::events_since(self.indexer.store.pool(), &contracts, self.start_mc).await?;
        let mut last = after_lt;
        for e in events.iter().filter(|e| e.lt > after_lt) {
            let _ = writeln!(out, "{}", indexed::line(e, &self.names, scenario::ton));
            last = last.max(e.lt);
        }
        Ok(last)
    }
}

/// Registers the plan's contracts with the ledger and the signer's allowlist, and approves the
/// run's earnings in the ledger (what the consensus engine does for decided tasks).
async fn register(
    ledger: &Ledger,
    signer: &SignerProcess,
    plan: &Plan,
    out: &mut dyn Write,
) -> Result<()> {
    let raw = |a: &tycho_types::models::StdAddr| RawAddress::parse(&a.to_string());
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
    let project = ProjectId(u64::from(plan.run_id));
    ledger
        .register_project(&Project {
            id: project,
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
    let _ = writeln!(
        out,
        "registered   escrow {} and vault {} with the indexer, the ledger and the signer's allowlist",
        plan.escrow, plan.vault
    );
    for (i, (worker, amount)) in plan.workers.iter().zip(&plan.payouts).enumerate() {
        let approval = ledger
            .approve_earning(&NewEarning {
                submission_key: format!("make-up:{}:{}", plan.run_id, i + 1),
                worker: format!("worker-{}", i + 1),
                payout_address: raw(worker)?,
                project,
                amount: *amount,
                decision_id: format!("make-up demo decision {}:{}", plan.run_id, i + 1),
            })
            .await?;
        let _ = writeln!(
            out,
            "approved     earning #{} for worker-{}: {} (the ledger; the consensus engine's job)",
            approval.earning_id,
            i + 1,
            scenario::ton(*amount)
        );
    }
    let _ = writeln!(out);
    Ok(())
}
