//! # labelmint-settler: approved earnings become confirmed payouts, exactly once
//!
//! A long-running service (one active leader, any number of standbys) that walks every
//! approved earning of the ledger to a confirmed payout: escrow -> vault (a signed release)
//! and vault -> worker (a signed batch of at most 250 transfers), through any liteserver.
//!
//! ```text
//!             ledger (Postgres)                 payout-signer            chain (liteserver)
//! releases:   releasable(project) --intent--> POST /v1/escrow/release --> relayer wallet
//!             settler_releases (fenced)        (journal: same bytes)      carries the body
//!             ev_release indexed + ingested <------------------------------ escrow -> vault
//! batches:    form_batch (batched) -----------> POST /v1/vault/batch
//!             mark_signed <---------------------- signed external
//!             mark_sent <------------------------------------------------ sendMessage
//!             ingest: ev_batch_executed -> confirmed; ev_payout_bounced /
//!                     jetton_transfer_bounced -> approved again -> next batch
//! expiry:     indexed chain time > valid_until + finality margin -> expire_batch -> re-batched
//!                                                                   under a new query id
//! recovery:   awaiting_recovery (unbooked) --attempt (fenced)--> relayer --jetton_recover-->
//!             settler_recoveries                                 vault / escrow --self-transfer
//!             ev_jetton_recovered indexed + ingested <----------- proves the tokens, books them
//! ```
//!
//! Each pass (every `interval`): ingest the indexed events into the ledger; the relayer's
//! state (below: is its last external still able to land?); jetton recoveries (below); per
//! escrow, sign what is releasable; the relayer carries the recoveries and the releases in one
//! new external if it is free, else sends its last one again; per vault, expire dead batches, (re)sign and (re)send the live
//! ones, and form new ones from the oldest approved earnings, at most `batch_size` items and at
//! most what the vault holds (its TON above the fee reserves, or its jetton books, and its
//! rolling window) minus its live batches.
//!
//! ## Jetton recovery
//! A jetton payout (or an escrow's fee or refund leg) refused by its recipient's wallet (a
//! wallet the jetton's admin locked, as USDT's can) comes back to the contract's jetton wallet
//! without telling the contract: the ledger holds it in `*_jetton_wallet_unbooked` and makes
//! the earning payable again. Per jetton vault and escrow with such tokens, the settler sends
//! `jetton_recover{amount = the unbooked balance}` from the relayer (`recover_attach`, 0.1 TON
//! by default; the excess returns), after recording the attempt in `settler_recoveries`
//! (fenced). The attempt is resolved by the indexed `ev_jetton_recovered` /
//! `ev_jetton_recovery_failed`, by `RECOVERY_TIMEOUT` (1 h) in indexed chain time, or as lost
//! (indexed time past its external's valid_until + the finality margin, the contract's
//! recovery counter unchanged). While an attempt is open, or the contract shows a recovery in
//! flight, the vault gets no batches (it would refuse them: 319) and the escrow no releases
//! (221). An attempt for the same amount as one that booked nothing waits `RECOVERY_TIMEOUT`.
//!
//! ## Crash safety, step by step
//! - **formed, not signed**: the batch (its items, query id, created_at) is in the ledger; the
//!   next pass asks the signer for exactly that request.
//! - **signed, not recorded / not sent**: the signer's journal answers the same request with
//!   the same bytes (`replayed`); `mark_signed` / `mark_sent` accept the same hash again.
//! - **sent, not confirmed**: the same external is sent again until valid_until; the vault's
//!   query-id window executes it at most once. The batch is confirmed only from the indexed
//!   `ev_batch_executed` (ingest), never from a getter.
//! - **confirming**: the ledger's ingest posts each event once (unique keys) in one
//!   transaction with the batch's transition.
//! - **did not land**: only after valid_until + the finality margin in the INDEXED chain time,
//!   and only if the index has no `ev_batch_executed` for the query id (the ledger checks both
//!   in the expiring transaction), are the items approved again; a new batch uses a new query
//!   id; the old signed bytes are refused by the vault (created_at too old).
//! - **releases**: the intent (seqno, valid_until, amount) is written before the signer is
//!   asked, so a re-request is byte-identical; the escrow consumes a seqno once; a new intent
//!   is made only after the index saw the previous seqno consumed and the ledger ingested it
//!   (the signer counts a live signed release as pending until the ledger counts it); after a
//!   bounced release, only once its valid_until passed (each attempt costs the client the
//!   platform fee).
//! - **recoveries**: the attempt (amount, chain time, the external's valid_until, the
//!   contract's recovery counter and its indexed answers so far) is written before the relayer
//!   sends; a leader killed after sending leaves it open, the next one waits for its answer; a
//!   leader killed before sending leaves it open too, and it is found lost only once it can no
//!   longer land (meanwhile the contract gets no batches / releases). A duplicate would be
//!   refused on chain (ERR_RECOVERY_PENDING) anyway; the record saves the relayer its gas.
//!
//! ## One leader
//! `pg_try_advisory_lock` on a dedicated connection; on takeover `settler_leader.token` is
//! incremented, and every connection of the leader's pool sets `labelmint.settler_fence` to
//! its token: a trigger on `ledger_batches`, `settler_releases` and `settler_recoveries`
//! refuses the write of a stale token (SQLSTATE `LM001`, [`Error::is_fenced`]). Standbys poll the lock every
//! `leader_poll` (500 ms): a dead leader's session ends, its lock is free, a standby leads
//! within a second.
//!
//! ## The relayer wallet (its powers)
//! A v4r2 hot wallet whose seed comes from a file (or env), never argv. It only pays gas: it
//! attaches `release_attach` TON to each signed release it carries to an escrow, and
//! `recover_attach` to each `jetton_recover` (which anyone may send). It cannot
//! create or alter a release (the escrow checks the signer's signature over the request);
//! the default attach (0.2 TON) covers a jetton release (two jetton transfers and the vault's
//! notification, 0.16 TON by the contract's `releaseCost`); the escrow returns the excess;
//! leaked, it loses its own TON balance, and can spend that on useless messages. Keep little
//! on it; the float monitor reports it.
//!
//! One external at a time (`settle/relayer.rs`): a v4r2 wallet executes one external per
//! seqno, so two different externals at the same seqno would race and what the loser carried
//! would wait for its retry. The settler keeps its last external (seqno, valid_until, bytes,
//! hash, what it carried) and, each pass, before deciding anything:
//!
//! | wallet seqno vs. the last's | chain time (read before the seqno)  | the relayer this pass            |
//! |-----------------------------|-------------------------------------|----------------------------------|
//! | none sent this term         | any                                 | free: new external at the seqno  |
//! | moved past it (landed)      | any                                 | free: new external at the seqno  |
//! | equal                       | <= valid_until + finality margin    | busy: same bytes after `resend_after` (before valid_until), nothing new |
//! | equal                       | > valid_until + finality margin     | dead, free: new external at the same seqno; its releases due at once |
//! | below (liteserver behind)   | any                                 | nothing                          |
//!
//! While busy, releases wait (signed again next pass: the journal replays the same bytes)
//! and no recovery is decided, so a recorded attempt is always carried in the pass that
//! recorded it; a new external carries up to 4 messages (v4r2's limit: the recoveries, at
//! most 4, first); releases left out go in the next. The record is in memory: a new or
//! restarted leader reads the wallet's seqno from chain and may send a second external at a
//! seqno whose first can still land; the wallet executes one of them, so the worst case is
//! one lost carry, retried like any lost external (a release after `resend_after`, a recovery
//! once found lost); nothing executes twice.
//!
//! ## What it must never do
//! - Decide that a batch did not land from a getter or from wall-clock time.
//! - Ask the signer for a second content under a (contract, seqno | query id) it asked before.
//! - Write anything while another settler leads (the fence refuses it).
//! - Hold signing keys, or put a secret on a command line or in a log.
//! - Send a second `jetton_recover` to a contract while its previous one may still land
//!   (recorded and not resolved), or a batch / release to a contract with a recovery in
//!   flight.
//! - Send a new relayer external while its previous one can still land (only the same bytes
//!   again).
//!
//! ## Configuration
//! [`args::SettlerArgs`] holds the flags and env the `settler` binary and `labelmint settle`
//! share (global config, signer URL and token file, relayer key file, batch size, live
//! batches, interval, TTLs, finality margin, recover attach); each binary reads the database URL itself (env
//! or file, never a flag value). [`Config`] is the typed result, [`Config::validate`] refuses
//! what the contracts or the ledger would refuse later.
//!
//! ## Progress
//! [`settle::Settler::with_progress`] reports each step of a pass ([`progress::Step`]: ingest,
//! releases, recoveries carried, per vault: expired, formed, signed, sent) to a [`progress::Progress`]: the
//! service runs silent, `labelmint settle --once` draws bars from it, the benchmark
//! (`make settler-bench`) timestamps it. It only observes: nothing it does changes a decision.
//!
//! ## Float
//! Every pass measures each escrow's, vault's and the relayer's TON balance against the fees
//! its next actions need, and each vault's holdings (an escrow's remaining budget) against
//! what is payable from it ([`metrics::Float`]): Prometheus gauges, a warning log line when
//! low, and a row per contract in `settler_floats` ([`float`]) that `labelmint float` shows.
//!
//! ## Running one pass by hand
//! `labelmint settle --once [--wait]` takes the leader lock (and refuses while a service
//! leads), runs one [`settle::Settler::pass`] with progress bars, and optionally waits until
//! the batches it sent are confirmed by the indexed chain.
//!
//! ## Tests and benchmark
//! `labelmint-settler-testkit` (test support only) brings up a whole stack: devnet, indexer,
//! the payout-signer process, TON and test USD vaults and escrows. `tests/it`: settlement,
//! failover, expiry, test USD (`jetton`), locked-wallet recovery (`jetton_recover`,
//! `jetton_recover_escrow`), the relayer's seqno race (`relayer`), and `crash`: the binary SIGKILLed 50+ times while
//! 2,000+ TON and USD earnings settle, every kill classified by what it interrupted.
//! `benches/settle.rs` (`make settler-bench`): 10,000 earnings to confirmed, with the split.
//!
//! ## Errors
//! One enum, [`Error`]; [`Error::is_fenced`] ends a leadership term.
//!
//! ## Example
//! ```no_run
//! # async fn run(config: labelmint_settler::Config) -> labelmint_settler::Result<()> {
//! let handle = labelmint_settler::spawn(config).await?;
//! // ... later
//! handle.abort();
//! # Ok(())
//! # }
//! ```

pub mod args;
pub mod chain;
pub mod config;
pub mod error;
pub mod float;
pub mod leader;
pub mod metrics;
pub mod progress;
pub mod settle;

use std::sync::Arc;

pub use crate::config::Config;
pub use crate::error::{Error, Result};
pub use crate::metrics::Metrics;

use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinHandle;

/// The settler's migrations history table.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations_settler";

/// The settler's migrations (after the ledger's, whose tables the fence triggers guard).
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// Applies the ledger's and the settler's migrations.
pub async fn migrate(database_url: &str) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await?;
    labelmint_ledger::migrator().run(&pool).await?;
    migrator().run(&pool).await?;
    pool.close().await;
    Ok(())
}

/// A running settler.
#[derive(Debug)]
pub struct Handle {
    task: Option<JoinHandle<Result<()>>>,
    metrics_task: Option<JoinHandle<()>>,
    /// Its figures.
    pub metrics: Arc<Metrics>,
    /// Where `/metrics` is served.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Handle {
    /// Stops it at once (its lock connection closes; a standby takes over).
    pub fn abort(&self) {
        if let Some(t) = &self.task {
            t.abort();
        }
        if let Some(t) = &self.metrics_task {
            t.abort();
        }
    }

    /// Waits until it ends (it runs until aborted, or a fatal error).
    pub async fn join(mut self) -> Result<()> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(r) => r,
            Err(e) if e.is_cancelled() => Ok(()),
            Err(e) => Err(Error::Message(format!("settler task: {e}"))),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Migrates, serves metrics, and runs the settler in a task.
pub async fn spawn(config: Config) -> Result<Handle> {
    spawn_with(config, Arc::new(progress::Silent)).await
}

/// [`spawn`], reporting every pass's steps to `progress` (the benchmark's timestamps).
pub async fn spawn_with(config: Config, progress: Arc<dyn progress::Progress>) -> Result<Handle> {
    config.validate()?;
    migrate(&config.database_url).await?;
    let metrics = Arc::new(Metrics::default());
    let (metrics_addr, metrics_task) = match config.metrics_addr {
        Some(addr) => {
            let (a, t) = metrics::serve(addr, metrics.clone())
                .await
                .map_err(|e| Error::Config(format!("metrics on {addr}: {e}")))?;
            (Some(a), Some(t))
        }
        None => (None, None),
    };
    let m = metrics.clone();
    let task = tokio::spawn(async move { run_with(config, m, progress).await });
    Ok(Handle {
        task: Some(task),
        metrics_task,
        metrics,
        metrics_addr,
    })
}

/// Runs the settler in this task until a fatal error (a standby, then the leader, then a
/// standby again if fenced).
pub async fn run(config: Config) -> Result<()> {
    spawn(config).await?.join().await
}

async fn run_with(
    config: Config,
    metrics: Arc<Metrics>,
    progress: Arc<dyn progress::Progress>,
) -> Result<()> {
    loop {
        metrics.leader(false, 0);
        let mut lead = leader::acquire(
            &config.database_url,
            &config.holder,
            config.db_max_connections,
            config.leader_poll,
        )
        .await?;
        metrics.leader(true, lead.token);
        let mut settler = settle::Settler::new(config.clone(), lead.pool.clone(), metrics.clone())?
            .with_progress(progress.clone());
        tracing::info!(token = lead.token, relayer = %settler.relayer_address(), "leading");
        let ended = loop {
            if let Err(e) = lead.check().await {
                break e;
            }
            match settler.pass().await {
                Ok(()) => metrics.pass(true),
                Err(e) if e.is_fenced() => break e,
                Err(e) => {
                    metrics.pass(false);
                    tracing::warn!(error = %e, "settlement pass failed; next pass retries");
                }
            }
            tokio::time::sleep(config.interval).await;
        };
        tracing::warn!(error = %ended, "leadership ended; standing by");
        lead.release().await;
    }
}
