//! What proving costs: a chain where `wallets` wallets each send one transfer in one block
//! (so the basechain state holds about 2 × `wallets` accounts and the block 2 × `wallets`
//! transactions), then each kind of proof the liteserver builds, timed over that chain.
//! Measured with `cargo nextest run --release -p labelmint-devnet --run-ignored only
//! proof_cost`.

use std::time::{Duration, Instant};

use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use crate::config::{DEFAULT_FAUCET_PHRASE, seed_from_phrase};
use crate::engine::Chain;
use crate::engine::genesis::{DEFAULT_FAUCET_BALANCE, Genesis};
use crate::error::{Error, Result};
use crate::liteapi::account::shard_proof;
use crate::liteapi::proofs;
use crate::wallet::{Transfer, WalletV4R2};

/// Mean time of one proof of each kind, and the block it was measured on.
#[derive(Debug, Clone)]
pub struct ProofCost {
    /// Accounts in the basechain state.
    pub accounts: usize,
    /// Transactions in the measured basechain block.
    pub transactions: usize,
    /// make_state_root_proof of the basechain block.
    pub state_root: Duration,
    /// getAccountState's account proof (state root down to one ShardAccount).
    pub account: Duration,
    /// getAccountState's shard_proof (mc block + mc state down to the shard tree).
    pub shard: Duration,
    /// getOneTransaction's block proof (one transaction).
    pub one_transaction: Duration,
    /// listBlockTransactions' proof of every transaction of the block.
    pub whole_block: Duration,
    /// getConfigAll's config proof.
    pub config_all: Duration,
    /// Producing the block pair itself, for scale.
    pub produce: Duration,
}

fn mean(total: Duration, n: usize) -> Duration {
    total / u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// Builds the chain and times `samples` proofs of each per-call kind.
pub fn measure(wallets: usize, samples: usize) -> Result<ProofCost> {
    let now = 1_800_000_000;
    let seeds: Vec<[u8; 32]> = (0..wallets)
        .map(|i| seed_from_phrase(&format!("proof cost wallet {i}")))
        .collect();
    let genesis = Genesis {
        faucet_seed: seed_from_phrase(DEFAULT_FAUCET_PHRASE),
        faucet_balance: DEFAULT_FAUCET_BALANCE,
        jetton_admin: None,
        extra_wallets: seeds.clone(),
    };
    let mut chain = Chain::new(&genesis, now)?;
    for (i, seed) in seeds.iter().enumerate() {
        let mut to = [0u8; 32];
        to[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let transfer = Transfer {
            to: StdAddr::new(0, HashBytes(to)),
            amount: 10_000_000,
            bounce: false,
            body: None,
            init: None,
            mode: 3,
        };
        let msg =
            WalletV4R2::from_seed(*seed).external_transfer(0, now + 600, &[transfer], false)?;
        chain.submit_external(&Boc::encode(&msg), now)?;
    }
    let started = Instant::now();
    chain.produce_block(now)?;
    let produce = started.elapsed();

    let block = chain.last_base()?;
    let mc = chain.last_master()?;
    let accounts = block.accounts()?.keys().count();
    let ids: Vec<(HashBytes, u64)> = block
        .transactions
        .iter()
        .map(|t| (t.account, t.lt))
        .collect();
    if ids.is_empty() {
        return Err(Error::BadMessage {
            reason: "the measured block has no transactions".into(),
        });
    }
    let picks: Vec<&(HashBytes, u64)> = ids.iter().cycle().step_by(7).take(samples).collect();

    let time = |f: &mut dyn FnMut(usize) -> Result<()>| -> Result<Duration> {
        let started = Instant::now();
        for i in 0..samples {
            f(i)?;
        }
        Ok(mean(started.elapsed(), samples))
    };
    let state_root = time(&mut |_| proofs::state_root_proof(block).map(drop))?;
    let account = time(&mut |i| proofs::account_proof(&block.state, &picks[i].0).map(drop))?;
    let shard = time(&mut |_| shard_proof(mc, 0).map(drop))?;
    let one_transaction = time(&mut |i| proofs::transactions_proof(block, &[*picks[i]]).map(drop))?;
    let started = Instant::now();
    proofs::transactions_proof(block, &ids)?;
    let whole_block = started.elapsed();
    let config_all = time(&mut |_| proofs::config_proof(&mc.state, None).map(drop))?;
    Ok(ProofCost {
        accounts,
        transactions: ids.len(),
        state_root,
        account,
        shard,
        one_transaction,
        whole_block,
        config_all,
        produce,
    })
}
