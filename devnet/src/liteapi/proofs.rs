//! Merkle proofs of blocks and states, shaped as TON's liteserver builds them
//! (validator/impl/liteserver.cpp): the prover walks the tree through usage-tracking cells
//! and the proof keeps exactly the cells whose data the walk read (plus whole subtrees it
//! asks for, TON's `visit`); every other cell is a pruned branch carrying its hash.
//!
//! ```text
//!  block root ─ info ─ prev_ref            state_root_proof: what TON's make_state_root_proof
//!       └─ state_update (MerkleUpdate)     keeps; the update's new-state hash is the state root
//!  state root ─ accounts ─ … ─ leaf        account_proof: the ShardAccount leaf (the Account
//!                                          cell itself pruned)
//! ```
//!
//! Every function here reads a block or state the engine produced; none of them changes it.

use tycho_types::cell::UsageTreeWithSubtrees;
use tycho_types::cell::{Cell, CellBuilder, DynCell, HashBytes, UsageTree, UsageTreeMode};
use tycho_types::merkle::MerkleProof;
use tycho_types::models::{
    Account, Block, BlockchainConfig, McBlockExtra, McStateExtra, OptionalAccount, ShardAccount,
    ShardStateUnsplit,
};

use crate::engine::shard::StoredBlock;
use crate::error::{Error, Result};

/// A walk over a usage-tracked tree that ends in a Merkle proof of what it read.
pub struct Prover {
    tree: UsageTreeWithSubtrees,
    root: Cell,
    tracked: Cell,
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("root", self.root.repr_hash())
            .finish_non_exhaustive()
    }
}

impl Prover {
    /// Starts a walk over `root`; nothing is kept until something is read.
    pub fn new(root: &Cell) -> Self {
        let tree = UsageTree::new(UsageTreeMode::OnDataAccess).with_subtrees();
        let tracked = tree.track(root);
        Self {
            tree,
            root: root.clone(),
            tracked,
        }
    }

    /// The tracked root: read the tree through it.
    pub fn tracked_root(&self) -> &Cell {
        &self.tracked
    }

    /// Keeps `cell` with everything under it (TON's `visit`).
    pub fn keep_subtree(&mut self, cell: &DynCell) {
        self.tree.add_subtree(cell);
    }

    /// The Merkle proof cell (exotic, type 3) of the root with what was read.
    pub fn build(self) -> Result<Cell> {
        let proof = MerkleProof::create(self.root.as_ref(), &self.tree).build()?;
        Ok(CellBuilder::build_from(&proof)?)
    }
}

fn touch(cell: &DynCell) {
    // Reading the data is what marks a tracked cell as used.
    let _ = cell.data();
}

/// TON's `make_state_root_proof`: the block root, its BlockInfo and prev_ref, and the
/// `state_update` Merkle update cell, whose second reference (pruned) carries the hash of the
/// state after the block.
pub fn state_root_proof(block: &StoredBlock) -> Result<Cell> {
    not_a_zerostate(block)?;
    let prover = Prover::new(&block.root);
    let parsed = prover.tracked_root().parse::<Block>()?;
    let info = parsed.load_info()?;
    touch(info.prev_ref.as_ref());
    touch(parsed.state_update.inner().as_ref());
    prover.build()
}

/// What `liteServer.getBlockHeader` (and lookupBlock) keeps, by TON's mode bits:
/// always the root, BlockInfo and its block references; 1 the state update; 2 the value flow;
/// 16 the BlockExtra (and McBlockExtra); 32 the shard hashes; 64 the previous block's
/// signatures.
pub fn header_proof(block: &StoredBlock, mode: u32) -> Result<Cell> {
    not_a_zerostate(block)?;
    let mut prover = Prover::new(&block.root);
    let parsed = prover.tracked_root().parse::<Block>()?;
    let info = parsed.load_info()?;
    let mut subtrees: Vec<Cell> = vec![info.prev_ref.clone()];
    subtrees.extend(info.master_ref.iter().map(|r| r.inner().clone()));
    subtrees.extend(info.prev_vert_ref.iter().map(|r| r.inner().clone()));
    if mode & 1 != 0 {
        touch(parsed.state_update.inner().as_ref());
    }
    if mode & 2 != 0 {
        subtrees.push(parsed.value_flow.inner().clone());
    }
    if mode & 16 != 0 {
        let extra = parsed.load_extra()?;
        if let Some(custom) = &extra.custom {
            let mc: McBlockExtra = custom.load()?;
            if mode & 32 != 0
                && let Some(root) = mc.shards.as_dict().root()
            {
                subtrees.push(root.clone());
            }
            if mode & 64 != 0
                && let Some(root) = mc.prev_block_signatures.root()
            {
                subtrees.push(root.clone());
            }
        }
    }
    for cell in &subtrees {
        prover.keep_subtree(cell.as_ref());
    }
    prover.build()
}

/// The mc block proof of getAllShardsInfo: root, BlockExtra and McBlockExtra read; the
/// shard hashes' root is a pruned branch whose hash the answer's data must match.
pub fn shard_hashes_block_proof(block: &StoredBlock) -> Result<(Cell, Cell)> {
    not_a_zerostate(block)?;
    let prover = Prover::new(&block.root);
    let extra = prover.tracked_root().parse::<Block>()?.load_extra()?;
    let mc: McBlockExtra = extra.load_custom()?.ok_or_else(|| Error::BadMessage {
        reason: "not a masterchain block".into(),
    })?;
    // The answer's data: `shard_hashes` as a HashmapE cell (a bit and the root).
    let data = CellBuilder::build_from(&mc.shards)?;
    Ok((prover.build()?, data))
}

/// A shard state's proof down to one account's ShardAccount (TON's finish_getAccountState:
/// the state header, the accounts dictionary path and the leaf; the Account cell is pruned).
/// Returns the ShardAccount (None: no such account) and the proof.
pub fn account_proof(state: &Cell, addr: &HashBytes) -> Result<(Option<ShardAccount>, Cell)> {
    let prover = Prover::new(state);
    let parsed = prover.tracked_root().parse::<ShardStateUnsplit>()?;
    let found = parsed.load_accounts()?.get(addr)?.map(|(_, sa)| sa);
    Ok((found, prover.build()?))
}

/// getAccountStatePrunned: the Account as a Merkle proof keeping the account cell and its
/// extra currencies, with code, data and libraries pruned (TON validates the Account through
/// a proof builder, which does not load those references).
pub fn pruned_account(account: &Cell) -> Result<Cell> {
    let mut prover = Prover::new(account);
    let parsed = prover.tracked_root().parse::<OptionalAccount>()?;
    if let Some(acc) = parsed.0
        && let Some(root) = acc.balance.other.as_dict().root()
    {
        prover.keep_subtree(root.as_ref());
    }
    prover.build()
}

/// The masterchain state's proof down to one workchain's shard tree in McStateExtra (TON's
/// make_shard_info_proof), with the BinTree leaf cell of `shard` (the value sent as
/// getShardInfo's shard_descr) when the workchain has one.
pub fn shard_info_proof(mc_state: &Cell, workchain: i32) -> Result<(Option<Cell>, Cell)> {
    let prover = Prover::new(mc_state);
    let extra = mc_state_extra(prover.tracked_root())?;
    let leaf = match extra.shards.as_dict().get(workchain)? {
        Some(tree) => {
            touch(tree.as_ref());
            Some(tree)
        }
        None => None,
    };
    Ok((leaf, prover.build()?))
}

/// getConfigAll / getConfigParams: a proof of the masterchain state keeping McStateExtra's
/// ConfigParams and, under it, every requested parameter whole (all of them for `None`).
pub fn config_proof(mc_state: &Cell, params: Option<&[i32]>) -> Result<Cell> {
    let mut prover = Prover::new(mc_state);
    let extra = mc_state_extra(prover.tracked_root())?;
    let config: &BlockchainConfig = &extra.config;
    let mut keep = Vec::new();
    match params {
        None => keep.extend(config.params.as_dict().root().clone()),
        Some(list) => {
            let mut list: Vec<u32> = list.iter().filter_map(|p| u32::try_from(*p).ok()).collect();
            list.sort_unstable();
            list.dedup();
            for p in list {
                if let Some(cell) = config.params.get_raw_cell(p)? {
                    keep.push(cell);
                }
            }
        }
    }
    for cell in &keep {
        prover.keep_subtree(cell.as_ref());
    }
    prover.build()
}

fn mc_state_extra(tracked_state: &Cell) -> Result<McStateExtra> {
    let state = tracked_state.parse::<ShardStateUnsplit>()?;
    state.load_custom()?.ok_or_else(|| Error::BadMessage {
        reason: "the masterchain state has no McStateExtra".into(),
    })
}

/// Runs `f` on the Account read through a usage-tracked account cell; the proof keeps what
/// `f` read (TON's runSmcMethod state proof: the cells the get-method touched).
pub fn with_account_proof<T>(
    account: &Cell,
    f: impl FnOnce(Option<Account>) -> Result<T>,
) -> Result<(T, Cell)> {
    let prover = Prover::new(account);
    let parsed = prover.tracked_root().parse::<OptionalAccount>()?;
    let out = f(parsed.0)?;
    Ok((out, prover.build()?))
}

/// A block proof down to the listed transactions: the AccountBlocks path to each account's
/// entry and its transactions dictionary path to each listed lt (the Transaction cells
/// pruned, their hashes checkable), as listBlockTransactions' and getOneTransaction's proofs.
pub fn transactions_proof(block: &StoredBlock, ids: &[(HashBytes, u64)]) -> Result<Cell> {
    not_a_zerostate(block)?;
    let prover = Prover::new(&block.root);
    let extra = prover.tracked_root().parse::<Block>()?.load_extra()?;
    let account_blocks = extra.account_blocks.load()?;
    for (account, lt) in ids {
        let Some((_, account_block)) = account_blocks.get(account)? else {
            return Err(Error::TransactionNotFound {
                account: account.to_string(),
                lt: *lt,
            });
        };
        if account_block.transactions.get(lt)?.is_none() {
            return Err(Error::TransactionNotFound {
                account: account.to_string(),
                lt: *lt,
            });
        }
    }
    prover.build()
}

fn not_a_zerostate(block: &StoredBlock) -> Result<()> {
    if block.zerostate {
        return Err(Error::BadMessage {
            reason: format!(
                "masterchain seqno {} is a zero state, not a block",
                block.id.seqno
            ),
        });
    }
    Ok(())
}

/// getLibrariesWithProof: a proof of the masterchain state's libraries dictionary down to each
/// asked library (at most 16, as TON), and the libraries found (hash, code cell).
pub fn libraries_proof(
    mc_state: &Cell,
    wanted: &[HashBytes],
) -> Result<(Vec<(HashBytes, Cell)>, Cell)> {
    let prover = Prover::new(mc_state);
    let state = prover.tracked_root().parse::<ShardStateUnsplit>()?;
    let mut found = Vec::new();
    for hash in wanted {
        if let Some(descr) = state.libraries.get(hash)?
            && descr.lib.repr_hash() == hash
        {
            found.push((*hash, descr.lib));
        }
    }
    Ok((found, prover.build()?))
}
