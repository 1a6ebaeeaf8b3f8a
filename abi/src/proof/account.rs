//! Account states against a verified block: the block's state update carries the new state
//! of every account the block changed, so the state after an account's last transaction in a
//! block is proven by the block itself (no extra proof from the liteserver is needed).
//!
//! TON's `check_account_proof` does the same lookup in a state proof; here the tree is the
//! `new` side of the block's `MERKLE_UPDATE`, whose unchanged subtrees are pruned. A changed
//! account's `ShardAccount` lies on changed paths, so it is always present. Hashes inside the
//! update are compared at level 0 (`hash(0)`): the hash the cell had before pruning.

use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, DynCell, HashBytes};
use tycho_types::merkle::MerkleUpdate;
use tycho_types::models::ShardAccounts;

use super::signatures::ProofError;

/// `shard_state#9023afe2`.
const SHARD_STATE_TAG: u32 = 0x9023_afe2;

fn bad(reason: impl std::fmt::Display) -> ProofError {
    ProofError::BadProof {
        reason: reason.to_string(),
    }
}

/// What a state says about one account (`ShardAccount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardAccountFacts {
    /// Hash of the account cell (`OptionalAccount`), as in the unpruned state.
    pub account_hash: [u8; 32],
    /// Hash of the account's last transaction.
    pub last_trans_hash: [u8; 32],
    /// Logical time of the account's last transaction.
    pub last_trans_lt: u64,
}

/// The `accounts` reference of a (partial) shard state tree (`shard_state#9023afe2 ...
/// out_msg_queue_info:^_ before_split:(## 1) accounts:^ShardAccounts ...`), read without
/// touching the siblings a Merkle update prunes.
fn state_accounts(state: &DynCell) -> Result<&DynCell, ProofError> {
    let tag = state
        .as_slice()
        .and_then(|mut s| s.load_u32())
        .map_err(|e| bad(format!("shard state: {e}")))?;
    if tag != SHARD_STATE_TAG {
        return Err(bad(format!("shard state: tag {tag:#010x}")));
    }
    state
        .reference(1)
        .ok_or_else(|| bad("shard state: no accounts reference"))
}

/// The `ShardAccount` of `account` in the state after `block` (a full block tree whose hash
/// was checked): `None` when the state has no such account.
pub fn shard_account_in_block(
    block: &DynCell,
    account: &[u8; 32],
) -> Result<Option<ShardAccountFacts>, ProofError> {
    let update: MerkleUpdate = block
        .reference(2)
        .ok_or_else(|| bad("block: no state update"))?
        .parse_exotic()
        .map_err(|e| bad(format!("state update: {e}")))?;
    shard_account_in_state(update.new.as_ref(), account)
}

/// The `ShardAccount` of `account` in a (partial) shard state tree.
pub fn shard_account_in_state(
    state: &DynCell,
    account: &[u8; 32],
) -> Result<Option<ShardAccountFacts>, ProofError> {
    let accounts: ShardAccounts = state_accounts(state)?
        .parse()
        .map_err(|e| bad(format!("shard accounts: {e}")))?;
    let found = accounts
        .get(HashBytes(*account))
        .map_err(|e| bad(format!("shard accounts: {e}")))?;
    Ok(found.map(|(_, sa)| ShardAccountFacts {
        account_hash: sa.account.inner().hash(0).0,
        last_trans_hash: sa.last_trans_hash.0,
        last_trans_lt: sa.last_trans_lt,
    }))
}

/// Checks a `getAccountState` answer (`state`: the account BOC, empty for none) against the
/// proven facts: the same account cell, or no account on both sides. Returns the answer's
/// root cell when there is one.
pub fn check_account_state(
    facts: Option<&ShardAccountFacts>,
    state: &[u8],
) -> Result<Option<Cell>, ProofError> {
    match (facts, state.is_empty()) {
        (None, true) => Ok(None),
        (None, false) => Err(bad(
            "account state: the proven state has no such account, the answer has one",
        )),
        (Some(_), true) => Err(bad(
            "account state: the proven state has the account, the answer is empty",
        )),
        (Some(f), false) => {
            let cell = Boc::decode(state).map_err(|e| bad(format!("account state: {e}")))?;
            if cell.repr_hash().0 != f.account_hash {
                return Err(bad(format!(
                    "account state: hash {} where the block's state update has {}",
                    cell.repr_hash(),
                    HashBytes(f.account_hash)
                )));
            }
            Ok(Some(cell))
        }
    }
}
