//! # labelmint-indexer — TON, through liteservers, into Postgres, exactly once
//!
//! The project's eyes: deposits, releases, payouts, bounces and refunds are facts once the
//! indexer has seen them on chain. It tails any liteserver (the local devnet, testnet or
//! mainnet: only the global config file changes), keeps every transaction of the watched
//! accounts (escrows, vaults, their jetton wallets) with the raw BOC and parsed fields, decodes
//! the contracts' events through [`labelmint_abi::Event`], and commits each masterchain block's
//! rows together with the checkpoint in one Postgres transaction.
//!
//! ```text
//!  global config ──> lite::Lite (timeouts, reconnect, failover over N liteservers)
//!                         │ getMasterchainInfo / lookupBlock / getBlock / getAccountState
//!                         v  lite_chain::LiteChain (block BOCs checked against their ids)
//!  tail::tail: masterchain seqno s = store.resume_from() (catch-up: several s in parallel)
//!     │  shard table of s and s-1 ──> shards::blocks_to_index (walk back through splits/merges)
//!     │  transactions of each new shard block, filtered by watched_accounts (re-read per block)
//!     v
//!  decode::decode_transaction (tycho-types) ──> rows + labelmint_abi::Event from ext-out bodies
//!     v
//!  store::Store::write_master_block: ONE Postgres transaction
//!     blocks + transactions + messages + events + account_states + checkpoint := s
//!     v
//!  readers: ledger reconciliation, API, CLI, bot          metrics: /metrics, /health
//! ```
//!
//! ## What it must never do
//!
//! - Never skip or duplicate: a block is committed whole with its checkpoint or not at all;
//!   blocks are committed strictly in order (`checkpoint + 1`, else [`Error::OutOfOrder`]);
//!   every table has a natural unique key, so a replay inserts nothing.
//! - Never hang: every liteserver request and connect has a timeout; a dead server is failed
//!   over; `/health` reports a stall.
//! - Never panic on chain data: malformed BOCs, unknown event bodies and hostile liteserver
//!   answers are errors or counted, not `unwrap()`s.
//! - Never store what a liteserver did not prove (unless started with `--trust-liteserver`):
//!   masterchain blocks by validator signatures from the global config's init block, shard
//!   blocks by inclusion, transactions and account states by the Merkle trees of verified
//!   blocks ([`verify`]); an answer that does not verify is a failed liteserver.
//! - Never take an event from a contract that is not a watched escrow or vault: anyone can
//!   emit bodies with LabelMint's opcodes.
//! - Never write money decisions: it records what the chain did; the ledger and the settler
//!   decide. Amounts are NUMERIC, never floats.
//!
//! ## Modules
//!
//! - [`lite`]: the liteserver client wrapper and the global config reader.
//! - [`lite_chain`]: [`tail::ChainSource`] over liteservers (blocks parsed with tycho-types).
//! - [`shards`]: the pure shard walk (splits and merges).
//! - [`decode`]: transaction BOC -> rows and events.
//! - [`model`]: the rows.
//! - [`store`]: Postgres, migrations (`indexer/migrations`), the exactly-once write.
//! - [`tail`]: the tailing loop over a [`tail::ChainSource`] (resume, walk, fetch, commit).
//! - [`verify`]: what is checked before anything is kept (signatures from the global config's
//!   init block, inclusion, Merkle proofs), and `--trust-liteserver`.
//! - [`metrics`]: Prometheus `/metrics` and `/health` (axum).
//! - [`config`]: the typed [`Config`].
//! - `fixed_chain` (feature `test-utils`): a [`tail::ChainSource`] over given transactions.
//!
//! ## Jetton transfers refused by the recipient
//!
//! A USDT wallet locked by its admin refuses incoming transfers: the `internal_transfer` bounces
//! to the sender's jetton wallet, which takes the amount back and tells its owner nothing. For
//! the watched jetton wallet of a watched escrow or vault, [`decode`] reads such a bounce
//! (query id and amount fit in the 256 bits a bounce keeps) and [`store`] writes it to `events`
//! as the fact [`model::JETTON_TRANSFER_BOUNCED`] of the owning contract, so the ledger can put
//! the money back where it belongs.
//!
//! ## Errors and features
//!
//! One error type, [`Error`] (thiserror), with structured variants, and the [`Result`] alias.
//! Feature `test-utils`: `fixed_chain` for other crates' tests; off by default.
//!
//! ## Example
//!
//! Decoding an event body the way the indexer does it for every external-out message:
//!
//! ```
//! use labelmint_abi::escrow::EvRelease;
//! use labelmint_abi::{Event, Layout};
//! use labelmint_indexer::model::EventColumns;
//!
//! let body = EvRelease { seqno: 3, amount: 90_000_000, fee: 10_000_000, remaining: 0 }.build()?;
//! let event = Event::parse(&body)?;
//! let cols = EventColumns::of(&event);
//! assert_eq!(event.name(), "ev_release");
//! assert_eq!((cols.amount, cols.fee, cols.balance_after), (Some(90_000_000), Some(10_000_000), Some(0)));
//! # Ok::<(), labelmint_abi::Error>(())
//! ```

#![deny(unsafe_code)]

pub mod config;
pub mod decode;
pub mod error;
#[cfg(feature = "test-utils")]
pub mod fixed_chain;
pub mod lite;
pub mod lite_chain;
pub mod metrics;
pub mod model;
pub mod shards;
pub mod store;
pub mod tail;
pub mod verify;

use std::sync::Arc;

pub use crate::config::Config;
pub use crate::error::{Error, Result};

/// A running indexer (see [`spawn`]).
#[derive(Debug)]
pub struct Handle {
    /// The metrics server's address.
    pub metrics_addr: std::net::SocketAddr,
    /// The figures.
    pub metrics: Arc<metrics::Metrics>,
    /// The Postgres store.
    pub store: store::Store,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Handle {
    /// Waits for the indexer's main task.
    pub async fn join(self) -> Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(Error::Transport {
                server: "indexer task".into(),
                reason: e.to_string(),
            }),
        }
    }

    /// Stops the indexer's main task (whatever it had not committed is rolled back).
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Connects to Postgres, applies the migrations, serves `/metrics` and `/health`, and starts
/// tailing the chain through the configured liteservers ([`tail::tail`] over
/// [`lite_chain::LiteChain`]).
pub async fn spawn(config: Config) -> Result<Handle> {
    let store = store::Store::connect(&config.database_url, config.db_max_connections).await?;
    store.migrate().await?;
    let metrics = Arc::new(metrics::Metrics::new(config.stall_after));
    let anchor = match &config.verification {
        verify::Verification::From(init) => {
            tracing::info!(
                init_seqno = init.seqno,
                init_root_hash = %hex::encode(init.root_hash),
                "verifying the chain from the trusted init block"
            );
            Some(verify::Anchor::new(*init))
        }
        verify::Verification::TrustLiteserver => {
            tracing::warn!(
                "--trust-liteserver: NOTHING the liteservers say is verified (no signatures, no \
                 proofs); a lying liteserver can write invented deposits into Postgres"
            );
            metrics.set_trust_liteserver(true);
            None
        }
    };
    let server = metrics::serve(config.metrics_addr, metrics.clone()).await?;
    let lite = lite::Lite::new(
        config.liteservers.clone(),
        config.lite.clone(),
        metrics.clone(),
    )?;
    let opts = tail::TailOptions {
        start_seqno: config.start_seqno,
        index_all_accounts: config.index_all_accounts,
        poll_interval: config.poll_interval,
        stop_after: None,
        parallel: config.parallel,
    };
    let (s, m) = (store.clone(), metrics.clone());
    let task = tokio::spawn(async move {
        let mut chain = match anchor {
            Some(a) => lite_chain::LiteChain::verified(lite, a),
            None => lite_chain::LiteChain::new(lite),
        };
        tail::tail(&mut chain, &s, &m, &opts).await
    });
    tracing::info!(metrics = %server.addr, "indexer started");
    Ok(Handle {
        metrics_addr: server.addr,
        metrics,
        store,
        task,
    })
}
