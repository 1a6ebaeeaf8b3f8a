//! Account states against a verified block: the block's state update carries the new state
//! of every account the block changed, so the state after an account's last transaction in a
//! block is proven by the block itself (no extra proof from the liteserver is needed).
//!
//! TON's `check_account_proof` does the same lookup in a state proof; here the tree is the
//! `new` side of the block's `MERKLE_UPDATE`, whose unchanged subtrees are pruned. A changed
//! account's `ShardAccount` lies on changed paths, so it is always present.

use tycho_types::boc::Boc;
use tycho_types::cell::{DynCell, HashBytes};
use tycho_types::merkle::MerkleUpdate;
use tycho_types::models::ShardAccounts;

use super::header::state_accounts;
use super::{ProofResult, VerifyError};

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

/// The `ShardAccount` of `account` in the state after `block` (a full block tree whose hash
/// was checked): `None` when the state has no such account.
pub fn shard_account_in_block(
    block: &DynCell,
    account: &[u8; 32],
) -> ProofResult<Option<ShardAccountFacts>> {
    let update: MerkleUpdate = block
        .reference(2)
        .ok_or_else(|| VerifyError::malformed("block", "no state update"))?
        .parse_exotic()
        .map_err(|e| VerifyError::malformed("state update", e))?;
    shard_account_in_state(update.new.as_ref(), account)
}

/// The `ShardAccount` of `account` in a (partial) shard state tree.
pub fn shard_account_in_state(
    state: &DynCell,
    account: &[u8; 32],
) -> ProofResult<Option<ShardAccountFacts>> {
    let accounts: ShardAccounts = state_accounts(state)?
        .parse()
        .map_err(|e| VerifyError::malformed("shard accounts", e))?;
    let found = accounts
        .get(HashBytes(*account))
        .map_err(|e| VerifyError::malformed("shard accounts", e))?;
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
) -> ProofResult<Option<tycho_types::cell::Cell>> {
    match (facts, state.is_empty()) {
        (None, true) => Ok(None),
        (None, false) => Err(VerifyError::inconsistent(
            "account state",
            "the proven state has no such account, the answer has one",
        )),
        (Some(_), true) => Err(VerifyError::inconsistent(
            "account state",
            "the proven state has the account, the answer is empty",
        )),
        (Some(f), false) => {
            let cell =
                Boc::decode(state).map_err(|e| VerifyError::malformed("account state", e))?;
            if cell.repr_hash().0 != f.account_hash {
                return Err(VerifyError::hash_mismatch(
                    "account state",
                    &f.account_hash,
                    cell.repr_hash().as_slice(),
                ));
            }
            Ok(Some(cell))
        }
    }
}
