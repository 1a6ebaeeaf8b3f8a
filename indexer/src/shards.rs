//! The shard walk: which shard blocks a masterchain block brings that were not indexed yet.
//!
//! A masterchain block commits the newest ("top") block of every shard. Between two
//! masterchain blocks a shard may have produced several blocks, split in two, or merged with
//! its sibling. [`blocks_to_index`] walks back from the new top blocks through their parents
//! until it reaches what the previous masterchain block covered, and returns every block in
//! between, parents first.
//!
//! The stop rule is exact and needs no extra state: a block `b` is already covered iff the
//! previous masterchain block committed a block `p` of the same workchain whose shard
//! intersects `b`'s and `p.seqno >= b.seqno`. (Seqnos grow along every lineage: a split child
//! is its parent + 1, a merged block is max(parents) + 1. A new block descends from every
//! previous top block its shard intersects, so each of those has a smaller seqno; an old block
//! is an ancestor of, or equal to, some previous top block of an intersecting shard.)
//!
//! Seqno 0 of a shard is its zero state: a state, not a block (no transactions, and
//! liteservers refuse getBlock for it). The walk never returns it.
//!
//! ```text
//!   prev top:   A(8000,10)            L(4000,20)  R(c000,22)
//!                /        \                \        /
//!   split:  C1(4000,11)  C2(c000,11)   merge: M(8000,23)
//!               |           |
//!   new top: C1'(4000,12) C2'(c000,12)
//!   -> index C1, C2, C1', C2'              -> index M
//! ```

use std::collections::{BTreeMap, HashSet};

use crate::error::{Error, Result};
use crate::model::BlockRef;

/// How far back a walk may go before the inputs are declared inconsistent. A real chain has a
/// handful of shard blocks per masterchain block; catch-up after a pause adds no depth because
/// masterchain blocks are walked one by one.
pub const MAX_WALK: usize = 10_000;

/// Gives the parents of a shard block: one, or two after a merge (read from the block's
/// header by the liteserver client; an in-memory map in tests).
pub trait BlockParents {
    /// The parents of `block`. An empty list means the block is a workchain's first.
    fn parents(
        &mut self,
        block: &BlockRef,
    ) -> impl std::future::Future<Output = Result<Vec<BlockRef>>> + Send;
}

/// Whether shard `a` contains shard `b` (shard ids with their tag bit, TON encoding).
pub fn shard_contains(a: u64, b: u64) -> bool {
    let la = a & a.wrapping_neg();
    let lb = b & b.wrapping_neg();
    if la == 0 || lb == 0 || la < lb {
        return false;
    }
    // The bits above a's tag bit must agree.
    let prefix_mask = !((la << 1).wrapping_sub(1));
    let prefix_mask = if la == 1u64 << 63 { 0 } else { prefix_mask };
    (a ^ b) & prefix_mask == 0
}

/// Whether two shards overlap (one contains the other).
pub fn shards_intersect(a: u64, b: u64) -> bool {
    shard_contains(a, b) || shard_contains(b, a)
}

fn covered(block: &BlockRef, prev_top: &[BlockRef]) -> bool {
    prev_top.iter().any(|p| {
        p.workchain == block.workchain
            && shards_intersect(p.shard, block.shard)
            && p.seqno >= block.seqno
    })
}

/// The shard blocks to index for a masterchain block whose shard table is `new_top`, given
/// the previous masterchain block's `prev_top`. Ordered parents first (by seqno, then shard).
pub async fn blocks_to_index<P: BlockParents>(
    new_top: &[BlockRef],
    prev_top: &[BlockRef],
    parents: &mut P,
) -> Result<Vec<BlockRef>> {
    let mut seen: HashSet<BlockRef> = HashSet::new();
    let mut out: BTreeMap<(u32, i32, u64), BlockRef> = BTreeMap::new();
    let mut stack: Vec<BlockRef> = new_top.to_vec();
    while let Some(b) = stack.pop() {
        if b.seqno == 0 || covered(&b, prev_top) || !seen.insert(b) {
            continue;
        }
        if out.len() >= MAX_WALK {
            return Err(Error::ShardWalkTooDeep { limit: MAX_WALK });
        }
        out.insert((b.seqno, b.workchain, b.shard), b);
        stack.extend(parents.parents(&b).await?);
    }
    Ok(out.into_values().collect())
}

/// [`BlockParents`] over a map, for tests and for callers that already hold the headers.
#[derive(Debug, Clone, Default)]
pub struct MapParents(pub std::collections::HashMap<BlockRef, Vec<BlockRef>>);

impl BlockParents for MapParents {
    async fn parents(&mut self, block: &BlockRef) -> Result<Vec<BlockRef>> {
        Ok(self.0.get(block).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SHARD_FULL;

    const LEFT: u64 = 0x4000_0000_0000_0000;
    const RIGHT: u64 = 0xc000_0000_0000_0000;
    const LL: u64 = 0x2000_0000_0000_0000;
    const LR: u64 = 0x6000_0000_0000_0000;

    fn b(shard: u64, seqno: u32) -> BlockRef {
        let mut root_hash = [0u8; 32];
        root_hash[..8].copy_from_slice(&shard.to_be_bytes());
        root_hash[8..12].copy_from_slice(&seqno.to_be_bytes());
        BlockRef {
            workchain: 0,
            shard,
            seqno,
            root_hash,
            file_hash: root_hash,
        }
    }

    fn graph(edges: &[(BlockRef, &[BlockRef])]) -> MapParents {
        MapParents(edges.iter().map(|(c, p)| (*c, p.to_vec())).collect())
    }

    fn walk(new_top: &[BlockRef], prev: &[BlockRef], g: &mut MapParents) -> Vec<BlockRef> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(blocks_to_index(new_top, prev, g))
            .expect("walk")
    }

    #[test]
    fn shard_geometry() {
        assert!(shard_contains(SHARD_FULL, LEFT));
        assert!(shard_contains(SHARD_FULL, RIGHT));
        assert!(shard_contains(LEFT, LL) && shard_contains(LEFT, LR));
        assert!(!shard_contains(RIGHT, LL));
        assert!(!shard_contains(LEFT, SHARD_FULL));
        assert!(shard_contains(LEFT, LEFT));
        assert!(!shards_intersect(LEFT, RIGHT));
        assert!(!shards_intersect(LL, LR));
        assert!(shards_intersect(LR, SHARD_FULL));
        assert!(!shard_contains(0, LEFT) && !shard_contains(LEFT, 0));
    }

    #[test]
    fn linear_chain_walks_back_to_the_previous_top() {
        let (a10, a11, a12, a13) = (
            b(SHARD_FULL, 10),
            b(SHARD_FULL, 11),
            b(SHARD_FULL, 12),
            b(SHARD_FULL, 13),
        );
        let mut g = graph(&[(a13, &[a12]), (a12, &[a11]), (a11, &[a10])]);
        assert_eq!(walk(&[a13], &[a10], &mut g), vec![a11, a12, a13]);
        // The same top as before: nothing new.
        assert_eq!(walk(&[a10], &[a10], &mut g), vec![]);
    }

    #[test]
    fn split_indexes_both_children_once() {
        let a = b(SHARD_FULL, 10);
        let (c1, c2) = (b(LEFT, 11), b(RIGHT, 11));
        let (c1b, c2b) = (b(LEFT, 12), b(RIGHT, 12));
        let mut g = graph(&[(c1, &[a]), (c2, &[a]), (c1b, &[c1]), (c2b, &[c2])]);
        assert_eq!(walk(&[c1b, c2b], &[a], &mut g), vec![c1, c2, c1b, c2b]);
        // Next masterchain block: only the left shard moved.
        let c1c = b(LEFT, 13);
        g.0.insert(c1c, vec![c1b]);
        assert_eq!(walk(&[c1c, c2b], &[c1b, c2b], &mut g), vec![c1c]);
    }

    #[test]
    fn merge_stops_at_both_parents() {
        let (l, r) = (b(LEFT, 20), b(RIGHT, 22));
        let m = b(SHARD_FULL, 23);
        let m2 = b(SHARD_FULL, 24);
        let mut g = graph(&[(m, &[l, r]), (m2, &[m])]);
        assert_eq!(walk(&[m2], &[l, r], &mut g), vec![m, m2]);
    }

    #[test]
    fn merge_after_unindexed_blocks_on_both_sides() {
        // prev: L20, R22; then L21, R23 (never committed by a masterchain block), then M24.
        let (l20, r22, l21, r23) = (b(LEFT, 20), b(RIGHT, 22), b(LEFT, 21), b(RIGHT, 23));
        let m = b(SHARD_FULL, 24);
        let mut g = graph(&[(m, &[l21, r23]), (l21, &[l20]), (r23, &[r22])]);
        assert_eq!(walk(&[m], &[l20, r22], &mut g), vec![l21, r23, m]);
    }

    #[test]
    fn split_and_merge_within_one_interval() {
        // prev: A10 (full). Then split into L11/R11, L12, then merge into M13.
        let a = b(SHARD_FULL, 10);
        let (l11, r11, l12) = (b(LEFT, 11), b(RIGHT, 11), b(LEFT, 12));
        let m = b(SHARD_FULL, 13);
        let mut g = graph(&[(l11, &[a]), (r11, &[a]), (l12, &[l11]), (m, &[l12, r11])]);
        assert_eq!(walk(&[m], &[a], &mut g), vec![l11, r11, l12, m]);
    }

    #[test]
    fn deeper_split_and_uneven_progress() {
        // prev: L(4000,30) and R(c000,31). L splits into LL/LR; R advances twice.
        let (l, r) = (b(LEFT, 30), b(RIGHT, 31));
        let (ll, lr) = (b(LL, 31), b(LR, 31));
        let (r32, r33) = (b(RIGHT, 32), b(RIGHT, 33));
        let mut g = graph(&[(ll, &[l]), (lr, &[l]), (r32, &[r]), (r33, &[r32])]);
        assert_eq!(
            walk(&[ll, lr, r33], &[l, r], &mut g),
            vec![ll, lr, r32, r33]
        );
    }

    #[test]
    fn zero_states_are_never_indexed() {
        let zero = b(SHARD_FULL, 0);
        let (one, two) = (b(SHARD_FULL, 1), b(SHARD_FULL, 2));
        let mut g = graph(&[(two, &[one]), (one, &[zero])]);
        // The first masterchain block has no previous shard tops at all.
        assert_eq!(walk(&[two], &[], &mut g), vec![one, two]);
    }

    #[test]
    fn other_workchains_do_not_cover() {
        let a = b(SHARD_FULL, 10);
        let mut other = a;
        other.workchain = 1;
        other.seqno = 99;
        let a11 = b(SHARD_FULL, 11);
        let mut g = graph(&[(a11, &[a])]);
        assert_eq!(walk(&[a11], &[a, other], &mut g), vec![a11]);
    }

    #[test]
    fn a_chain_that_never_reaches_the_frontier_is_an_error() {
        // Each block's parent is a fresh block with the next lower seqno, forever (well,
        // MAX_WALK + 1 times): inconsistent inputs must not loop or eat memory.
        let mut g = MapParents::default();
        let top = b(SHARD_FULL, (MAX_WALK as u32) + 5);
        for s in 1..=top.seqno {
            g.0.insert(b(SHARD_FULL, s), vec![b(SHARD_FULL, s - 1)]);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let err = rt
            .block_on(blocks_to_index(&[top], &[], &mut g))
            .expect_err("too deep");
        assert!(matches!(err, Error::ShardWalkTooDeep { .. }));
    }
}
