//! Transactions of a block with TON's proofs: listBlockTransactions(Ext) with want_proof
//! (mode 32) and getOneTransaction, each a Merkle proof of the block down to the listed
//! transactions (AccountBlocks path, then the account's transactions dictionary path; the
//! Transaction cells pruned, so their hashes are what the proof vouches for).

use ton_liteapi::tl::request::{GetOneTransaction, ListBlockTransactions};
use ton_liteapi::tl::response::{
    BlockTransactions, BlockTransactionsExt, Response, TransactionId, TransactionInfo,
};
use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;

use crate::engine::Chain;
use crate::engine::shard::{StoredBlock, TxEntry};
use crate::error::{Error, Result};
use crate::liteapi::convert::{int256, multi_root_boc};
use crate::liteapi::handler::{MAX_LIST, find_block};
use crate::liteapi::proofs;

/// The transactions a listBlockTransactions request selects, in answer order, and whether
/// more follow.
fn select<'a>(block: &'a StoredBlock, r: &ListBlockTransactions) -> (Vec<&'a TxEntry>, bool) {
    let mut txs: Vec<&TxEntry> = block
        .transactions
        .iter()
        .filter(|t| match &r.after {
            Some(after) => {
                let key = (HashBytes(after.account.0), after.lt);
                if r.reverse_order.is_some() {
                    (t.account, t.lt) < key
                } else {
                    (t.account, t.lt) > key
                }
            }
            None => true,
        })
        .collect();
    if r.reverse_order.is_some() {
        txs.reverse();
    }
    let count = r.count.min(MAX_LIST) as usize;
    let incomplete = txs.len() > count;
    txs.truncate(count);
    (txs, incomplete)
}

fn proof_of(block: &StoredBlock, txs: &[&TxEntry], wanted: bool) -> Result<Vec<u8>> {
    if !wanted || txs.is_empty() && block.zerostate {
        return Ok(Vec::new());
    }
    let ids: Vec<(HashBytes, u64)> = txs.iter().map(|t| (t.account, t.lt)).collect();
    Ok(Boc::encode(proofs::transactions_proof(block, &ids)?))
}

/// listBlockTransactions: ids, and with want_proof the block proof of every listed one.
pub fn list(chain: &Chain, r: ListBlockTransactions) -> Result<Response> {
    let block = find_block(chain, &r.id)?;
    let (txs, incomplete) = select(block, &r);
    let proof = proof_of(block, &txs, r.want_proof.is_some())?;
    let ids = txs
        .iter()
        .map(|t| TransactionId {
            mode: (),
            account: Some(int256(&t.account)),
            lt: Some(t.lt),
            hash: Some(int256(&t.hash)),
            metadata: None,
        })
        .collect();
    Ok(Response::BlockTransactions(BlockTransactions {
        id: r.id,
        req_count: r.count,
        incomplete,
        ids,
        proof,
    }))
}

/// TL id of `liteServer.blockTransactionsExt` (ton_liteapi 0.2.0's Response has no variant
/// for it, so the answer is serialized here).
pub const BLOCK_TRANSACTIONS_EXT: u32 = 0xfb8f_fce4;

/// listBlockTransactionsExt: the transactions themselves (one multi-root BOC) and, with
/// want_proof, the same block proof. Returns the boxed TL answer.
pub fn list_ext(chain: &Chain, r: ListBlockTransactions) -> Result<Vec<u8>> {
    let block = find_block(chain, &r.id)?;
    let (txs, incomplete) = select(block, &r);
    let proof = proof_of(block, &txs, r.want_proof.is_some())?;
    let cells: Vec<_> = txs.iter().map(|t| t.cell.clone()).collect();
    let answer = BlockTransactionsExt {
        id: r.id,
        req_count: r.count,
        incomplete,
        transactions: multi_root_boc(&cells),
        proof,
    };
    let mut out = BLOCK_TRANSACTIONS_EXT.to_le_bytes().to_vec();
    out.extend(tl_proto::serialize(answer));
    Ok(out)
}

/// getOneTransaction: the transaction and the block proof down to it.
pub fn one(chain: &Chain, r: GetOneTransaction) -> Result<Response> {
    let block = find_block(chain, &r.id)?;
    let tx = block
        .transactions
        .iter()
        .find(|t| t.account.0 == r.account.id.0 && t.lt == r.lt)
        .ok_or_else(|| Error::TransactionNotFound {
            account: format!("{}:{}", r.account.workchain, r.account.id),
            lt: r.lt,
        })?;
    let proof = proofs::transactions_proof(block, &[(tx.account, tx.lt)])?;
    Ok(Response::TransactionInfo(TransactionInfo {
        id: r.id,
        proof: Boc::encode(proof),
        transaction: Boc::encode(&tx.cell),
    }))
}
