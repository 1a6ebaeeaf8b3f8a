//! Trusting no liteserver: what the indexer checks before it keeps anything.
//!
//! ```text
//!  global config validator.init_block ──> Anchor (trusted key blocks, verified mc ids)
//!  masterchain id s (lookupBlock / getMasterchainInfo)
//!     └─ getBlockProof(newest trusted key block below s, s): the link chain, checked by
//!        labelmint_abi::proof::block_link (TON's check-proof rules: config param 34 of the
//!        source, > 2/3 of the masterchain subset's weight signing ton.blockId(root, file));
//!        the key blocks it passes become sources
//!  verified id s ──> getBlock: BOC checked against root and file hash (lite_chain)
//!     ├─ McBlockExtra shard_hashes: the shard tops are verified ids (inclusion)
//!     ├─ prev_ref of every verified shard block: its parents are verified ids (the walk)
//!     ├─ transactions: read from the verified block's own tree (a full block is its own
//!     │  Merkle proof: nothing in it can differ without changing the root hash)
//!     └─ state update (new side): the ShardAccount of every touched account
//!  getAccountState answer ──> the account cell's hash must be the ShardAccount's (balance,
//!     code, data: all of it), its last transaction the one the block shows
//! ```
//!
//! An answer that fails any check is a failed liteserver ([`crate::lite::Lite::reject`]):
//! counted, logged, failed over; the block being gathered is dropped and retried on the next
//! server, so nothing of the answer reaches Postgres.
//!
//! `--trust-liteserver` ([`Verification::TrustLiteserver`]) turns all of it off: a warning at
//! start and the `labelmint_indexer_trust_liteserver` gauge say so.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use labelmint_abi::proof::ProofError;
use labelmint_abi::proof::block_link::{BlockLinkData, SignatureSetData, check_chain};
use ton_liteapi::tl::common::BlockLink;
use ton_liteapi::tl::response::PartialBlockProof;
use tycho_types::cell::HashBytes;
use tycho_types::models::{BlockId, ShardIdent};

use crate::lite::from_tl;
use crate::model::BlockRef;

fn bad(reason: impl std::fmt::Display) -> ProofError {
    ProofError::BadProof {
        reason: reason.to_string(),
    }
}

/// Whether and from where the chain is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Verify everything from this trusted masterchain block (the global config's
    /// `validator.init_block`, a key block or the zero state).
    From(BlockRef),
    /// Verify nothing (`--trust-liteserver`): whatever the liteserver says is stored.
    TrustLiteserver,
}

/// An id in tycho-types' form (`Err` for a shard that is not one).
pub fn to_block_id(b: &BlockRef) -> Result<BlockId, ProofError> {
    Ok(BlockId {
        shard: ShardIdent::new(b.workchain, b.shard)
            .ok_or_else(|| bad(format!("shard {:016x} is not a shard", b.shard)))?,
        seqno: b.seqno,
        root_hash: HashBytes(b.root_hash),
        file_hash: HashBytes(b.file_hash),
    })
}

fn from_block_id(b: &BlockId) -> BlockRef {
    BlockRef {
        workchain: b.shard.workchain(),
        shard: b.shard.prefix(),
        seqno: b.seqno,
        root_hash: b.root_hash.0,
        file_hash: b.file_hash.0,
    }
}

/// How many verified masterchain ids are remembered (the walk and the workers ask for the
/// same few blocks again: the previous block's shard tops, the head).
const REMEMBERED: usize = 1024;

#[derive(Debug)]
struct State {
    /// Trusted sources of forward links, by seqno: the init block and every key block
    /// verified since.
    key_blocks: BTreeMap<u32, BlockRef>,
    verified: HashSet<BlockRef>,
    order: VecDeque<BlockRef>,
}

/// The trusted state, shared by every clone of the chain source (the catch-up workers).
#[derive(Debug, Clone)]
pub struct Anchor(Arc<Mutex<State>>);

impl Anchor {
    /// Trusts `init` (from the global config).
    pub fn new(init: BlockRef) -> Self {
        let mut verified = HashSet::new();
        verified.insert(init);
        Anchor(Arc::new(Mutex::new(State {
            key_blocks: BTreeMap::from([(init.seqno, init)]),
            verified,
            order: VecDeque::from([init]),
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves valid data (inserts only).
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `id` is already verified.
    pub fn is_verified(&self, id: &BlockRef) -> bool {
        self.lock().verified.contains(id)
    }

    /// The trusted source to ask a proof of `id` from: the newest trusted key block below it
    /// (forward links), or, for a block below every trusted one (the zero state before an
    /// init key block), the oldest trusted block (backward links). `Err` names a trusted
    /// block at the same seqno with other hashes (`id` is a forgery).
    pub fn source_for(&self, id: &BlockRef) -> Result<BlockRef, ProofError> {
        let st = self.lock();
        if let Some(k) = st.key_blocks.get(&id.seqno)
            && k != id
        {
            return Err(bad(format!(
                "masterchain block {} has root hash {}, the trusted one {}",
                id.seqno,
                hex::encode(id.root_hash),
                hex::encode(k.root_hash)
            )));
        }
        st.key_blocks
            .range(..id.seqno)
            .next_back()
            .or_else(|| st.key_blocks.iter().next())
            .map(|(_, b)| *b)
            .ok_or_else(|| bad("no trusted block"))
    }

    fn remember(&self, id: BlockRef, key_blocks: &[BlockRef]) {
        let mut st = self.lock();
        for k in key_blocks {
            st.key_blocks.insert(k.seqno, *k);
        }
        if st.verified.insert(id) {
            st.order.push_back(id);
        }
        while st.order.len() > REMEMBERED {
            if let Some(old) = st.order.pop_front()
                && !st.key_blocks.values().any(|k| *k == old)
            {
                st.verified.remove(&old);
            }
        }
    }

    /// Checks a `getBlockProof` answer asked from `source` to `target`; the key block it
    /// reaches is trusted from now on, and `target` too when the chain reached it. Returns
    /// whether it did (`false`: an incomplete answer that stopped at a key block; ask again
    /// from there).
    pub fn accept_proof(
        &self,
        source: &BlockRef,
        target: &BlockRef,
        proof: &PartialBlockProof,
    ) -> Result<bool, ProofError> {
        if from_tl(&proof.from) != *source {
            return Err(bad("the proof starts at another block than asked"));
        }
        let links = links(proof)?;
        let chain = check_chain(&to_block_id(source)?, &links)?;
        let reached = from_block_id(&chain.to);
        if reached != from_tl(&proof.to) {
            return Err(bad("the links end at another block than the proof says"));
        }
        let key = chain.last_key_block.map(|k| from_block_id(&k));
        if reached == *target {
            self.remember(reached, key.as_slice());
            return Ok(true);
        }
        // Incomplete: it must have made progress to a newer key block.
        if proof.complete || key != Some(reached) || reached.seqno <= source.seqno {
            return Err(bad(format!(
                "the proof stops at {} short of {}",
                reached.seqno, target.seqno
            )));
        }
        self.remember(reached, key.as_slice());
        Ok(false)
    }
}

/// The links of a `liteServer.partialBlockProof`, as [`check_chain`] reads them.
pub fn links(proof: &PartialBlockProof) -> Result<Vec<BlockLinkData>, ProofError> {
    let mut out = Vec::with_capacity(proof.steps.len());
    for step in &proof.steps {
        out.push(match step {
            BlockLink::BlockLinkForward {
                to_key_block,
                from,
                to,
                dest_proof,
                config_proof,
                signatures,
            } => {
                let mut sigs = Vec::with_capacity(signatures.signatures.len());
                for s in &signatures.signatures {
                    let sig: [u8; 64] = s
                        .signature
                        .as_slice()
                        .try_into()
                        .map_err(|_| bad(format!("a {}-byte signature", s.signature.len())))?;
                    sigs.push((s.node_id_short.0, sig));
                }
                BlockLinkData::Forward {
                    to_key_block: *to_key_block,
                    from: to_block_id(&from_tl(from))?,
                    to: to_block_id(&from_tl(to))?,
                    dest_proof: dest_proof.clone(),
                    config_proof: config_proof.clone(),
                    signatures: SignatureSetData {
                        validator_set_hash: signatures.validator_set_hash,
                        catchain_seqno: signatures.catchain_seqno,
                        signatures: sigs,
                    },
                }
            }
            BlockLink::BlockLinkBack {
                to_key_block,
                from,
                to,
                dest_proof,
                proof,
                state_proof,
            } => BlockLinkData::Back {
                to_key_block: *to_key_block,
                from: to_block_id(&from_tl(from))?,
                to: to_block_id(&from_tl(to))?,
                dest_proof: dest_proof.clone(),
                proof: proof.clone(),
                state_proof: state_proof.clone(),
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(seqno: u32, h: u8) -> BlockRef {
        BlockRef {
            workchain: -1,
            shard: crate::model::SHARD_FULL,
            seqno,
            root_hash: [h; 32],
            file_hash: [h; 32],
        }
    }

    #[test]
    fn sources_are_the_newest_key_block_below() {
        let a = Anchor::new(b(0, 0));
        assert_eq!(a.source_for(&b(5, 5)).expect("source"), b(0, 0));
        a.remember(b(12, 12), &[b(10, 10)]);
        assert!(a.is_verified(&b(12, 12)));
        assert!(!a.is_verified(&b(12, 13)));
        assert_eq!(a.source_for(&b(11, 11)).expect("source"), b(10, 10));
        assert_eq!(a.source_for(&b(10, 10)).expect("source"), b(0, 0));
        assert_eq!(a.source_for(&b(9, 9)).expect("source"), b(0, 0));
        // Another block at a trusted key block's seqno is a forgery.
        assert!(a.source_for(&b(10, 99)).is_err());
        // Below the init block: backward links from the init block.
        let late = Anchor::new(b(100, 1));
        assert_eq!(late.source_for(&b(50, 50)).expect("source"), b(100, 1));
    }

    #[test]
    fn remembered_ids_are_bounded_but_key_blocks_stay() {
        let a = Anchor::new(b(0, 0));
        a.remember(b(3, 3), &[b(2, 2)]);
        for s in 10..(10 + REMEMBERED as u32 + 5) {
            a.remember(b(s, (s % 250) as u8), &[]);
        }
        assert!(!a.is_verified(&b(3, 3)));
        assert_eq!(a.source_for(&b(4, 4)).expect("key block kept"), b(2, 2));
        assert!(a.lock().verified.len() <= REMEMBERED + 2);
    }
}
