//! One shard's chain: its account store and its blocks.

use std::collections::BTreeMap;

use tycho_types::cell::{Cell, HashBytes, Lazy};
use tycho_types::models::{
    Account, BlockId, BlockRef, DepthBalanceInfo, OptionalAccount, ShardAccount, ShardAccounts,
    ShardIdent, ShardStateUnsplit,
};

use crate::error::{Error, Result};

/// A transaction as a block lists it.
#[derive(Debug, Clone)]
pub struct TxEntry {
    /// Account id (address hash; the workchain is the shard's).
    pub account: HashBytes,
    /// Logical time.
    pub lt: u64,
    /// Representation hash.
    pub hash: HashBytes,
    /// The transaction cell.
    pub cell: Cell,
}

/// A produced block and what the liteserver answers about it.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    /// Its id (root hash of the Block cell, sha256 of its BOC).
    pub id: BlockId,
    /// The Block cell.
    pub root: Cell,
    /// The ShardStateUnsplit cell after this block.
    pub state: Cell,
    /// Creation time.
    pub gen_utime: u32,
    /// Logical time range.
    pub start_lt: u64,
    /// End of the logical time range.
    pub end_lt: u64,
    /// Transactions, sorted by (account, lt) as in the block's AccountBlocks.
    pub transactions: Vec<TxEntry>,
    /// For a shard block: the masterchain block that registered it. For a masterchain
    /// block: the basechain block it registered.
    pub link_seqno: u32,
    /// Seqno 0 is the zero state, not a block: `root` is the state itself (as in TON, whose
    /// zero-state id carries the state's root and file hashes).
    pub zerostate: bool,
    /// A masterchain block's validator signatures (TON's `BlockSignatures`); `None` for the
    /// zero state and shard blocks.
    pub signatures: Option<tycho_types::models::BlockSignatures>,
    /// A masterchain key block (the masterchain zero state counts as one, as in TON).
    pub key_block: bool,
}

impl StoredBlock {
    /// The BOC as served by `getBlock` (its sha256 is `id.file_hash`; tycho's encoder is
    /// deterministic, so it is re-encoded on demand instead of kept in memory).
    pub fn boc(&self) -> Vec<u8> {
        tycho_types::boc::Boc::encode(&self.root)
    }

    /// Its reference, as the next block's `prev_ref` or a shard's `master_ref`.
    pub fn block_ref(&self) -> BlockRef {
        BlockRef {
            end_lt: self.end_lt,
            seqno: self.id.seqno,
            root_hash: self.id.root_hash,
            file_hash: self.id.file_hash,
        }
    }

    /// The accounts in this block's resulting state.
    pub fn accounts(&self) -> Result<ShardAccounts> {
        let state = self.state.parse::<ShardStateUnsplit>()?;
        Ok(state.load_accounts()?)
    }
}

/// A shard: live accounts and produced blocks.
#[derive(Debug)]
pub struct ShardChain {
    /// The shard.
    pub ident: ShardIdent,
    /// Accounts after the last produced block plus pending changes.
    pub accounts: ShardAccounts,
    /// Produced blocks by seqno (index = seqno).
    pub blocks: Vec<StoredBlock>,
    /// Transactions of each account by lt: (block seqno, hash, cell).
    pub history: BTreeMap<HashBytes, BTreeMap<u64, (u32, HashBytes, Cell)>>,
}

impl ShardChain {
    /// An empty shard.
    pub fn new(ident: ShardIdent) -> Self {
        Self {
            ident,
            accounts: ShardAccounts::new(),
            blocks: Vec::new(),
            history: BTreeMap::new(),
        }
    }

    /// The account's current state, or the empty one if it does not exist.
    pub fn shard_account(&self, id: &HashBytes) -> Result<ShardAccount> {
        Ok(match self.accounts.get(id)? {
            Some((_, acc)) => acc,
            None => empty_shard_account()?,
        })
    }

    /// Stores an account's new state, given its balance (`None`: the account no longer
    /// exists), as the executor reports it.
    pub fn put_with_balance(
        &mut self,
        id: &HashBytes,
        state: ShardAccount,
        balance: Option<tycho_types::models::CurrencyCollection>,
    ) -> Result<()> {
        match balance {
            Some(balance) => {
                let info = DepthBalanceInfo {
                    split_depth: 0,
                    balance,
                };
                self.accounts.set(id, info, state)?;
            }
            None => {
                self.accounts.remove(id)?;
            }
        }
        Ok(())
    }

    /// Stores an account's new state (removes it if it no longer exists).
    pub fn put(&mut self, id: &HashBytes, state: ShardAccount) -> Result<()> {
        match state.load_account()? {
            Some(account) => {
                let info = DepthBalanceInfo {
                    split_depth: 0,
                    balance: account.balance.clone(),
                };
                self.accounts.set(id, info, state)?;
            }
            None => {
                self.accounts.remove(id)?;
            }
        }
        Ok(())
    }

    /// Installs a genesis account.
    pub fn put_account(&mut self, account: Account) -> Result<()> {
        let id = match &account.address {
            tycho_types::models::IntAddr::Std(a) => a.address,
            tycho_types::models::IntAddr::Var(_) => {
                return Err(Error::BadMessage {
                    reason: "var addresses are not supported".into(),
                });
            }
        };
        let state = ShardAccount {
            account: Lazy::new(&OptionalAccount(Some(account)))?,
            last_trans_hash: HashBytes::ZERO,
            last_trans_lt: 0,
        };
        self.put(&id, state)
    }

    /// The last produced block.
    pub fn last(&self) -> Option<&StoredBlock> {
        self.blocks.last()
    }

    /// A block by seqno.
    pub fn block(&self, seqno: u32) -> Option<&StoredBlock> {
        self.blocks.get(seqno as usize)
    }

    /// A block by its full id (seqno and hashes must all match).
    pub fn block_by_id(&self, id: &BlockId) -> Option<&StoredBlock> {
        self.block(id.seqno).filter(|b| {
            b.id.root_hash == id.root_hash
                && b.id.file_hash == id.file_hash
                && b.id.shard == id.shard
        })
    }

    /// The first block whose lt range reaches `lt`.
    pub fn block_by_lt(&self, lt: u64) -> Option<&StoredBlock> {
        let i = self.blocks.partition_point(|b| b.end_lt < lt);
        self.blocks.get(i).filter(|b| b.start_lt <= lt)
    }

    /// The last block created at or before `utime`.
    pub fn block_by_utime(&self, utime: u32) -> Option<&StoredBlock> {
        let i = self.blocks.partition_point(|b| b.gen_utime <= utime);
        i.checked_sub(1).and_then(|i| self.blocks.get(i))
    }
}

/// The state of an account that does not exist.
pub fn empty_shard_account() -> Result<ShardAccount> {
    Ok(ShardAccount {
        account: Lazy::new(&OptionalAccount::EMPTY)?,
        last_trans_hash: HashBytes::ZERO,
        last_trans_lt: 0,
    })
}
