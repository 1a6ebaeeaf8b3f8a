//! A throughput benchmark of the engine: `wallets` v4r2 wallets each send one simple
//! transfer to a fresh address; every transfer is two transactions (the wallet's external,
//! then the delivery). Run it in a release build: `cargo run --release -p labelmint-devnet
//! -- bench`.

use std::time::{Duration, Instant};

use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use crate::config::{DEFAULT_FAUCET_PHRASE, seed_from_phrase};
use crate::engine::genesis::{DEFAULT_FAUCET_BALANCE, Genesis};
use crate::engine::{Chain, MAX_TXS_PER_BLOCK};
use crate::error::Result;
use crate::wallet::{Transfer, WalletV4R2};

/// What the benchmark measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Transfers sent (one per wallet).
    pub transfers: usize,
    /// Transactions executed in blocks.
    pub transactions: usize,
    /// Blocks produced (masterchain + basechain pairs).
    pub blocks: usize,
    /// Time spent validating the externals (sendMessage dry runs).
    pub submit: Duration,
    /// Time spent producing the blocks (execution + block and state cells).
    pub produce: Duration,
    /// Externals whose sendMessage dry run stood in for their execution in the block.
    pub reused_dry_runs: usize,
}

impl BenchReport {
    /// Transfers per second, counting block production only.
    pub fn transfers_per_sec(&self) -> f64 {
        self.transfers as f64 / self.produce.as_secs_f64()
    }

    /// Transfers per second including the sendMessage dry runs.
    pub fn transfers_per_sec_end_to_end(&self) -> f64 {
        self.transfers as f64 / (self.produce + self.submit).as_secs_f64()
    }

    /// Block pairs per second under this load.
    pub fn blocks_per_sec(&self) -> f64 {
        self.blocks as f64 / self.produce.as_secs_f64()
    }
}

/// Runs the benchmark with `wallets` senders.
pub fn run(wallets: usize) -> Result<BenchReport> {
    let now = 1_800_000_000;
    let seeds: Vec<[u8; 32]> = (0..wallets)
        .map(|i| seed_from_phrase(&format!("bench wallet {i}")))
        .collect();
    let genesis = Genesis {
        faucet_seed: seed_from_phrase(DEFAULT_FAUCET_PHRASE),
        faucet_balance: DEFAULT_FAUCET_BALANCE,
        jetton_admin: None,
        extra_wallets: seeds.clone(),
    };
    let mut chain = Chain::new(&genesis, now)?;
    let messages = seeds
        .iter()
        .enumerate()
        .map(|(i, seed)| {
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
            Ok(Boc::encode(&msg))
        })
        .collect::<Result<Vec<_>>>()?;

    // As on a live devnet: wallets submit (sendMessage dry runs), then the next block (in the
    // same second) includes what was submitted; half a block of transfers per round, since
    // each transfer is two transactions and the deliveries land in the same block.
    let mut submit = Duration::ZERO;
    let mut produce = Duration::ZERO;
    let mut transactions = 0;
    let mut blocks = 0;
    let mut reused_dry_runs = 0;
    for (round, chunk) in messages.chunks(MAX_TXS_PER_BLOCK / 2).enumerate() {
        let now = now + round as u32;
        let started = Instant::now();
        for m in chunk {
            chain.submit_external(m, now)?;
        }
        submit += started.elapsed();
        let started = Instant::now();
        let p = chain.produce_block(now)?;
        produce += started.elapsed();
        transactions += p.transactions;
        reused_dry_runs += p.reused_dry_runs;
        blocks += 1;
    }
    // Whatever did not fit (none when every transfer is two transactions).
    let mut round = blocks as u32;
    while chain.queued_internals() > 0 || chain.pending_externals() > 0 {
        let started = Instant::now();
        let p = chain.produce_block(now + round)?;
        produce += started.elapsed();
        transactions += p.transactions;
        reused_dry_runs += p.reused_dry_runs;
        blocks += 1;
        round += 1;
    }
    Ok(BenchReport {
        transfers: wallets,
        transactions,
        blocks,
        submit,
        produce,
        reused_dry_runs,
    })
}

/// What signing and proving a masterchain block costs (see [`proof_costs`]).
#[derive(Debug, Clone)]
pub struct ProofCosts {
    /// Validators that sign each block.
    pub validators: usize,
    /// Blocks measured.
    pub blocks: usize,
    /// Signing one block by every validator (inside block production).
    pub sign: Duration,
    /// Checking one block's signatures (>2/3 rule), as a liteclient or the indexer does.
    pub verify_signatures: Duration,
    /// Building one forward link (config proof, header proof, signature set): what a
    /// getBlockProof answer costs the devnet per link.
    pub forward_link: Duration,
    /// Verifying one forward link (`labelmint_abi::proof::check_link`).
    pub verify_link: Duration,
}

/// Measures signing and block proofs over `blocks` masterchain blocks (empty blocks: the cost
/// does not depend on the transactions). Run it in a release build.
pub fn proof_costs(blocks: usize) -> Result<ProofCosts> {
    use labelmint_abi::proof::{
        BlockLinkData, SignatureSetData, check_block_signatures, check_link, mc_validator_subset,
    };
    use ton_liteapi::tl::common::BlockLink;
    let now = 1_800_000_000;
    let genesis = Genesis {
        faucet_seed: seed_from_phrase(DEFAULT_FAUCET_PHRASE),
        faucet_balance: DEFAULT_FAUCET_BALANCE,
        jetton_admin: None,
        extra_wallets: Vec::new(),
    };
    let mut chain = Chain::new(&genesis, now)?;
    chain.produce_genesis_key_block(now)?;
    for i in 0..blocks {
        chain.produce_block(now + 1 + i as u32)?;
    }
    let config = chain.config();
    let set = config.validator_set()?;
    let cc_config = config.catchain_config()?;
    let keys = chain.validators().clone();
    let mut costs = ProofCosts {
        validators: set.list.len(),
        blocks,
        sign: Duration::ZERO,
        verify_signatures: Duration::ZERO,
        forward_link: Duration::ZERO,
        verify_link: Duration::ZERO,
    };
    let err = |e: labelmint_abi::proof::ProofError| crate::error::Error::Config {
        reason: e.to_string(),
    };
    let init = chain.master.blocks[1].id;
    for seqno in 2..chain.master.blocks.len() {
        let block = &chain.master.blocks[seqno];
        let sigs = block
            .signatures
            .as_ref()
            .ok_or(crate::error::Error::BlockNotFound {
                block: format!("signatures of {seqno}"),
            })?;
        let cc = sigs.validator_info.catchain_seqno;
        let hash = sigs.validator_info.validator_list_hash_short;
        let started = Instant::now();
        keys.sign(
            &set,
            &cc_config,
            cc,
            hash,
            &block.id.root_hash,
            &block.id.file_hash,
        )?;
        costs.sign += started.elapsed();

        let pairs = sigs
            .signatures
            .values()
            .map(|s| s.map(|s| (s.node_id_short.0, s.signature.0)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let started = Instant::now();
        let subset = mc_validator_subset(&set, &cc_config, cc).map_err(err)?;
        check_block_signatures(
            &subset,
            &block.id.root_hash.0,
            &block.id.file_hash.0,
            pairs.iter().map(|(n, s)| (n, s)),
        )
        .map_err(err)?;
        costs.verify_signatures += started.elapsed();

        let started = Instant::now();
        let proof = crate::liteapi::block_proof::get_block_proof(
            &chain,
            &ton_liteapi::tl::request::GetBlockProof {
                mode: (),
                known_block: crate::liteapi::convert::block_id_ext(&init),
                target_block: Some(crate::liteapi::convert::block_id_ext(&block.id)),
                allow_weak_target: None,
                base_block_from_request: None,
            },
        )?;
        costs.forward_link += started.elapsed();
        let Some(BlockLink::BlockLinkForward {
            to_key_block,
            dest_proof,
            config_proof,
            signatures,
            ..
        }) = proof.steps.into_iter().next()
        else {
            return Err(crate::error::Error::Config {
                reason: "expected one forward link".into(),
            });
        };
        let link = BlockLinkData::Forward {
            to_key_block,
            from: init,
            to: block.id,
            dest_proof,
            config_proof,
            signatures: SignatureSetData {
                validator_set_hash: signatures.validator_set_hash,
                catchain_seqno: signatures.catchain_seqno,
                signatures: pairs,
            },
        };
        let started = Instant::now();
        check_link(&link).map_err(err)?;
        costs.verify_link += started.elapsed();
    }
    let n = (chain.master.blocks.len() - 2).max(1) as u32;
    costs.sign /= n;
    costs.verify_signatures /= n;
    costs.forward_link /= n;
    costs.verify_link /= n;
    Ok(costs)
}
