//! The engine: account store, message queue, transaction execution and block production.
//!
//! One [`Chain`] holds the masterchain and one basechain shard. Every [`Chain::produce_block`]
//! makes one basechain block and one masterchain block that registers it:
//!
//! ```text
//!  sendMessage ──validate (dry run)──> pending externals ─┐
//!                                                         v
//!  internal queue (by created_lt, hash) ──────────> execute in lt order ──> out msgs ─┐
//!        ^                                                 │                         │
//!        └──────────── internal out msgs (and bounces) <───┴─────────────────────────┘
//!                                  │ transactions, new account states
//!                                  v
//!              basechain Block (AccountBlocks, state update, master_ref)
//!                                  v
//!              masterchain Block (McBlockExtra.shards -> the basechain block)
//! ```

pub mod block;
pub mod exec;
pub mod genesis;
pub mod getter;
pub mod mc_state;
mod produce;
pub mod shard;
pub mod store;
pub mod ton_config;
pub mod validators;

use std::collections::{BTreeMap, VecDeque};

use tycho_executor::ExecutorParams;
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::{
    BlockId, BlockRef, IntAddr, MsgInfo, OwnedMessage, ShardAccount, ShardIdent, StdAddr,
};

use crate::engine::exec::{Executed, Outcome};
use crate::engine::genesis::{Genesis, GenesisAccounts};
use crate::engine::shard::{ShardChain, StoredBlock};
use crate::engine::store::Store;
use crate::engine::ton_config::TonConfig;
use crate::engine::validators::ValidatorKeys;
use crate::error::{Error, Result};

/// Blocks start on multiples of this logical time, as on mainnet.
pub const LT_ALIGN: u64 = 1_000_000;

/// At most this many transactions go into one block; the rest of the queue waits.
pub const MAX_TXS_PER_BLOCK: usize = 10_000;

/// At most this many external messages wait for a block; more are refused.
pub const MAX_PENDING_EXTERNALS: usize = 20_000;

/// Largest external message BOC accepted (config param 43's default `max_ext_msg_size`).
pub const MAX_EXT_MSG_BYTES: usize = 65_535;

/// What one block production did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducedBlocks {
    /// The new masterchain block.
    pub master: BlockId,
    /// The new basechain block.
    pub shard: BlockId,
    /// Transactions executed.
    pub transactions: usize,
    /// Internal messages still queued.
    pub queued: usize,
    /// External messages whose sendMessage dry run was reused as their transaction (same
    /// account state, block time and lt; see `DryRunKey`).
    pub reused_dry_runs: usize,
}

/// The chain: masterchain + one basechain shard.
pub struct Chain {
    config: TonConfig,
    /// The masterchain.
    pub master: ShardChain,
    /// The basechain's single shard.
    pub base: ShardChain,
    pending_externals: VecDeque<Cell>,
    pending_hashes: std::collections::HashSet<HashBytes>,
    queue: BTreeMap<(u64, HashBytes), Cell>,
    /// The transaction each pending external produced in its sendMessage dry run, with the
    /// inputs it ran on; reused by the block when the inputs are the same (see [`DryRunKey`]).
    dry_runs: std::collections::HashMap<HashBytes, (DryRunKey, Box<Executed>)>,
    genesis: GenesisAccounts,
    store: Option<Store>,
    /// The keys of the current validator set (param 34): they sign each masterchain block.
    validators: ValidatorKeys,
    /// A validator set change waiting for the next block, which becomes a key block.
    rotation: Option<(ValidatorKeys, TonConfig)>,
}

/// Everything a transaction's result depends on besides the message and the (constant)
/// config: the account's state, the block time, the block's start lt and the minimum lt, and
/// which block comes next (it fixes `rand_seed` and `prev_mc_block_id`). The executor is
/// deterministic, so equal keys give the same transaction: a dry run's result may stand in
/// for the block's execution (the wallet's signature check is not paid twice). Any difference
/// (another transaction touched the account, the block's second is later, a block came in
/// between) re-runs the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DryRunKey {
    account: HashBytes,
    last_trans_lt: u64,
    last_trans_hash: HashBytes,
    now: u32,
    block_lt: u64,
    min_lt: u64,
    next_base_seqno: u32,
}

impl DryRunKey {
    fn new(state: &ShardAccount, now: u32, block_lt: u64, min_lt: u64, next_seqno: u32) -> Self {
        Self {
            account: *state.account.repr_hash(),
            last_trans_lt: state.last_trans_lt,
            last_trans_hash: state.last_trans_hash,
            now,
            block_lt,
            min_lt,
            next_base_seqno: next_seqno,
        }
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("master_seqno", &self.master.blocks.len())
            .field("base_seqno", &self.base.blocks.len())
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

/// The shard of the basechain (the whole workchain).
pub const BASECHAIN: ShardIdent = ShardIdent::BASECHAIN;

fn std_dst(info: &MsgInfo) -> Option<StdAddr> {
    let dst = match info {
        MsgInfo::Int(i) => &i.dst,
        MsgInfo::ExtIn(i) => &i.dst,
        MsgInfo::ExtOut(_) => return None,
    };
    match dst {
        IntAddr::Std(a) => Some(a.clone()),
        IntAddr::Var(_) => None,
    }
}

/// The length a standard BOC (`b5ee9c72`) declares in its header: header, root list, index,
/// cells and CRC. `None` for other layouts or a header too short to read (the decoder refuses
/// those). tycho's decoder stops at the declared end and ignores anything after it; a
/// liteserver refuses such messages.
pub fn boc_len(boc: &[u8]) -> Option<usize> {
    let (magic, rest) = boc.split_first_chunk::<4>()?;
    if *magic != [0xb5, 0xee, 0x9c, 0x72] {
        return None;
    }
    let (&[flags, offset_size], rest) = rest.split_first_chunk::<2>()?;
    let has_idx = flags & 0x80 != 0;
    let has_crc = flags & 0x40 != 0;
    let ref_size = usize::from(flags & 0x07);
    let offset_size = usize::from(offset_size);
    if !(1..=4).contains(&ref_size) || !(1..=8).contains(&offset_size) {
        return None;
    }
    let read = |bytes: &[u8], at: usize, size: usize| -> Option<u64> {
        let field = bytes.get(at..at + size)?;
        Some(field.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    };
    let cell_count = read(rest, 0, ref_size)?;
    let root_count = read(rest, ref_size, ref_size)?;
    let total_cells_size = read(rest, 3 * ref_size, offset_size)?;
    let header = 6 + 3 * ref_size + offset_size;
    let roots = root_count.checked_mul(ref_size as u64)?;
    let index = if has_idx {
        cell_count.checked_mul(offset_size as u64)?
    } else {
        0
    };
    let crc = if has_crc { 4 } else { 0 };
    let total = (header as u64)
        .checked_add(roots)?
        .checked_add(index)?
        .checked_add(total_cells_size)?
        .checked_add(crc)?;
    usize::try_from(total).ok()
}

fn rand_seed(shard: &ShardIdent, seqno: u32) -> HashBytes {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"labelmint-devnet rand seed");
    h.update(shard.workchain().to_be_bytes());
    h.update(seqno.to_be_bytes());
    HashBytes(h.finalize().into())
}

fn zero_ref() -> BlockRef {
    BlockRef {
        end_lt: 0,
        seqno: 0,
        root_hash: HashBytes::ZERO,
        file_hash: HashBytes::ZERO,
    }
}

impl Chain {
    /// Opens the chain kept in `dir` if it holds one, else starts a new one from `genesis`
    /// and keeps it there. Without a folder the chain lives in memory.
    pub fn open(genesis: &Genesis, now: u32, dir: Option<&std::path::Path>) -> Result<Self> {
        Self::open_with(genesis, ValidatorKeys::default(), now, dir)
    }

    /// [`Chain::open`] with the validator keys that sign its blocks. A stored chain's current
    /// validator set (param 34 of its last masterchain state) must be these keys.
    pub fn open_with(
        genesis: &Genesis,
        validators: ValidatorKeys,
        now: u32,
        dir: Option<&std::path::Path>,
    ) -> Result<Self> {
        let Some(dir) = dir else {
            return Self::new_with(genesis, validators, now);
        };
        let store = Store::open(dir)?;
        if store.has_chain() {
            let loaded = store.load()?;
            let config = match loaded.master.last() {
                Some(last) => TonConfig::from_raw(mc_extra_of(&last.state)?.config, now)?,
                None => TonConfig::genesis(now, &validators)?,
            };
            check_keys(&config, &validators)?;
            let chain = Self {
                config,
                master: loaded.master,
                base: loaded.base,
                pending_externals: VecDeque::new(),
                pending_hashes: Default::default(),
                queue: loaded.queue,
                dry_runs: Default::default(),
                genesis: loaded.genesis,
                store: Some(store),
                validators,
                rotation: None,
            };
            tracing::info!(
                dir = %dir.display(),
                seqno = chain.master.blocks.len().saturating_sub(1),
                "continuing the stored chain"
            );
            return Ok(chain);
        }
        let mut chain = Self::new_with(genesis, validators, now)?;
        store.save_genesis(&chain.genesis)?;
        if let (Some(m), Some(b)) = (chain.master.last(), chain.base.last()) {
            store.save_blocks(m, b, &chain.queue)?;
        }
        chain.store = Some(store);
        Ok(chain)
    }

    /// A new in-memory chain from genesis: the masterchain and basechain zero states
    /// (seqno 0); blocks start at seqno 1.
    pub fn new(genesis: &Genesis, now: u32) -> Result<Self> {
        Self::new_with(genesis, ValidatorKeys::default(), now)
    }

    /// [`Chain::new`] with the validator keys of the zero state's set.
    pub fn new_with(genesis: &Genesis, validators: ValidatorKeys, now: u32) -> Result<Self> {
        let config = TonConfig::genesis(now, &validators)?;
        let (addresses, accounts) = genesis.accounts()?;
        let mut chain = Self {
            config,
            master: ShardChain::new(ShardIdent::MASTERCHAIN),
            base: ShardChain::new(BASECHAIN),
            pending_externals: VecDeque::new(),
            pending_hashes: Default::default(),
            queue: BTreeMap::new(),
            dry_runs: Default::default(),
            genesis: addresses,
            store: None,
            validators,
            rotation: None,
        };
        for account in accounts {
            chain.base.put_account(account)?;
        }
        let global_id = chain.config.global_id;
        let base_zero = block::zerostate(global_id, BASECHAIN, now, &chain.base.accounts, None)?;
        let global_balance = chain
            .base
            .accounts
            .root_extra()
            .balance
            .checked_add(&chain.master.accounts.root_extra().balance)?;
        let extra = mc_state::zerostate_extra(&chain.config, global_balance)?;
        let mc_zero = block::zerostate(
            global_id,
            ShardIdent::MASTERCHAIN,
            now,
            &chain.master.accounts,
            Some(&extra),
        )?;
        chain.base.blocks.push(base_zero);
        chain.master.blocks.push(mc_zero);
        Ok(chain)
    }

    /// Replaces the validator set from the next masterchain block on: that block is a key
    /// block whose config (and the states after it) carry `keys`' set as param 34 valid from
    /// `now`; it is still signed by the current set, the blocks after it by the new one.
    pub fn rotate_validators(&mut self, keys: ValidatorKeys, now: u32) -> Result<()> {
        let mut raw = self.config.raw.clone();
        keys.install(&mut raw.params, now)?;
        let config = TonConfig::from_raw(raw, now)?;
        self.rotation = Some((keys, config));
        Ok(())
    }

    /// Makes the first masterchain block a key block carrying the config (the same validator
    /// set): liteclients start from a key block (the global config's `init_block`), and some
    /// (pytoniq) cannot start a proof from the zero state. Only on a chain with no blocks yet.
    pub fn produce_genesis_key_block(&mut self, now: u32) -> Result<ProducedBlocks> {
        if self.master.blocks.len() != 1 {
            return Err(Error::Config {
                reason: "the genesis key block must be the first block".into(),
            });
        }
        self.rotate_validators(self.validators.clone(), now)?;
        self.produce_block(now)
    }

    /// The first key block after the zero state (the global config's `init_block`), or the
    /// zero state when there is none yet.
    pub fn init_block(&self) -> Result<&shard::StoredBlock> {
        self.master
            .blocks
            .iter()
            .skip(1)
            .find(|b| b.key_block)
            .or_else(|| self.master.blocks.first())
            .ok_or_else(|| Error::BlockNotFound {
                block: "masterchain 0".into(),
            })
    }

    /// The keys of the current validator set.
    pub fn validators(&self) -> &ValidatorKeys {
        &self.validators
    }

    /// The genesis addresses.
    pub fn genesis(&self) -> &GenesisAccounts {
        &self.genesis
    }

    /// The blockchain config.
    pub fn config(&self) -> &TonConfig {
        &self.config
    }

    fn shard_mut(&mut self, workchain: i32) -> Option<&mut ShardChain> {
        match workchain {
            -1 => Some(&mut self.master),
            0 => Some(&mut self.base),
            _ => None,
        }
    }

    /// The shard chain of a workchain (-1 or 0).
    pub fn shard(&self, workchain: i32) -> Option<&ShardChain> {
        match workchain {
            -1 => Some(&self.master),
            0 => Some(&self.base),
            _ => None,
        }
    }

    /// The last masterchain block.
    pub fn last_master(&self) -> Result<&StoredBlock> {
        self.master.last().ok_or_else(|| Error::BlockNotFound {
            block: "masterchain head".into(),
        })
    }

    /// The last basechain block.
    pub fn last_base(&self) -> Result<&StoredBlock> {
        self.base.last().ok_or_else(|| Error::BlockNotFound {
            block: "basechain head".into(),
        })
    }

    /// The current state of an account.
    pub fn account(&self, address: &StdAddr) -> Result<ShardAccount> {
        let shard = self
            .shard(address.workchain as i32)
            .ok_or(Error::BadMessage {
                reason: format!("workchain {} does not exist", address.workchain),
            })?;
        shard.shard_account(&address.address)
    }

    fn next_start_lt(&self) -> u64 {
        let last = [self.master.last(), self.base.last()]
            .into_iter()
            .flatten()
            .map(|b| b.end_lt)
            .max()
            .unwrap_or(0);
        (last / LT_ALIGN + 1) * LT_ALIGN
    }

    fn params(&self, now: u32, block_lt: u64, shard: &ShardIdent) -> ExecutorParams {
        let seqno = self.base.blocks.len() as u32;
        ExecutorParams {
            block_unixtime: now,
            block_lt,
            rand_seed: rand_seed(shard, seqno),
            prev_mc_block_id: self.master.last().map(|b| b.id),
            ..Default::default()
        }
    }

    /// Checks an external message the way a validator would (a dry run on the current state)
    /// and queues it for the next block. Returns the message hash.
    pub fn submit_external(&mut self, boc: &[u8], now: u32) -> Result<HashBytes> {
        if boc.len() > MAX_EXT_MSG_BYTES {
            return Err(Error::BadMessage {
                reason: format!(
                    "{} bytes exceed the {MAX_EXT_MSG_BYTES}-byte limit",
                    boc.len()
                ),
            });
        }
        let cell = Boc::decode(boc).map_err(Error::bad_boc)?;
        if let Some(len) = boc_len(boc)
            && len != boc.len()
        {
            return Err(Error::BadBoc {
                reason: format!("{} bytes after the end of the BOC", boc.len() - len),
            });
        }
        let hash = *cell.repr_hash();
        if self.pending_hashes.contains(&hash) {
            return Ok(hash); // already waiting for the next block
        }
        if self.pending_externals.len() >= MAX_PENDING_EXTERNALS {
            return Err(Error::BadMessage {
                reason: format!("{MAX_PENDING_EXTERNALS} external messages already pending"),
            });
        }
        let msg = cell
            .parse::<OwnedMessage>()
            .map_err(|e| Error::BadMessage {
                reason: format!("not a Message: {e}"),
            })?;
        if !matches!(msg.info, MsgInfo::ExtIn(_)) {
            return Err(Error::BadMessage {
                reason: "only external-in messages can be sent".into(),
            });
        }
        let dst = std_dst(&msg.info).ok_or(Error::BadMessage {
            reason: "destination must be a standard address".into(),
        })?;
        let state = self.account(&dst)?;
        let block_lt = self.next_start_lt();
        let params = self.params(now, block_lt, &BASECHAIN);
        let outcome = exec::execute(
            &self.config.parsed,
            &params,
            &dst,
            true,
            cell.clone(),
            &state,
            block_lt,
        )?;
        match outcome {
            Outcome::Rejected(r) => Err(Error::ExternalRejected {
                address: dst.to_string(),
                reason: r.to_string(),
            }),
            Outcome::Committed(executed) => {
                let key = DryRunKey::new(
                    &state,
                    now,
                    block_lt,
                    block_lt,
                    self.base.blocks.len() as u32,
                );
                self.dry_runs.insert(hash, (key, executed));
                self.pending_hashes.insert(hash);
                self.pending_externals.push_back(cell);
                Ok(hash)
            }
        }
    }

    /// Externals waiting for the next block.
    pub fn pending_externals(&self) -> usize {
        self.pending_externals.len()
    }

    /// Internal messages waiting for delivery.
    pub fn queued_internals(&self) -> usize {
        self.queue.len()
    }
}

/// The `McStateExtra` of a masterchain state cell.
pub fn mc_extra_of(state: &Cell) -> Result<tycho_types::models::McStateExtra> {
    let state = state.parse::<tycho_types::models::ShardStateUnsplit>()?;
    state.load_custom()?.ok_or_else(|| Error::Config {
        reason: "masterchain state without McStateExtra (a chain from before issue 12?)".into(),
    })
}

/// Fails unless `keys` are the validators of `config`'s param 34.
fn check_keys(config: &TonConfig, keys: &ValidatorKeys) -> Result<()> {
    let set = config.validator_set()?;
    let published: Vec<[u8; 32]> = set.list.iter().map(|v| v.public_key.0).collect();
    if published != keys.public_keys() {
        return Err(Error::Config {
            reason: format!(
                "the stored chain's validator set (param 34) is not the one of the validator \
                 phrase {:?}; start it with the phrase it was made with",
                keys.phrase()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod parity;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_mc;
