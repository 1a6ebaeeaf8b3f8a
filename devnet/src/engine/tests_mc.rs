//! The masterchain as TON builds it: McStateExtra, validator fields, signatures, key blocks.

use labelmint_abi::proof::{check_block_signatures, mc_validator_subset, validator_set_hash_short};
use tycho_types::models::{Block, BlockSignatures, McStateExtra};

use super::genesis::{DEFAULT_FAUCET_BALANCE, Genesis};
use super::validators::ValidatorKeys;
use super::*;

const NOW: u32 = 1_800_000_000;

fn genesis() -> Genesis {
    Genesis {
        faucet_seed: [9; 32],
        faucet_balance: DEFAULT_FAUCET_BALANCE,
        jetton_admin: None,
        extra_wallets: Vec::new(),
    }
}

fn extra(chain: &Chain, seqno: u32) -> McStateExtra {
    mc_extra_of(&chain.master.blocks[seqno as usize].state).unwrap()
}

fn info(chain: &Chain, seqno: u32) -> tycho_types::models::BlockInfo {
    let block = chain.master.blocks[seqno as usize]
        .root
        .parse::<Block>()
        .unwrap();
    block.load_info().unwrap()
}

/// Checks block `seqno`'s stored signatures against the validator set of the state before it.
fn signed_weight(chain: &Chain, seqno: u32) -> Result<u64, labelmint_abi::proof::ProofError> {
    let prev = extra(chain, seqno - 1);
    let set = prev.config.get_current_validator_set().unwrap();
    let cc_config = prev.config.get_catchain_config().unwrap();
    let header = info(chain, seqno);
    let subset = mc_validator_subset(&set, &cc_config, header.gen_catchain_seqno)?;
    assert_eq!(
        validator_set_hash_short(&subset, header.gen_catchain_seqno),
        header.gen_validator_list_hash_short
    );
    let block = &chain.master.blocks[seqno as usize];
    let sigs: &BlockSignatures = block.signatures.as_ref().unwrap();
    assert_eq!(
        sigs.validator_info.validator_list_hash_short,
        header.gen_validator_list_hash_short
    );
    assert_eq!(
        sigs.validator_info.catchain_seqno,
        header.gen_catchain_seqno
    );
    let pairs: Vec<([u8; 32], [u8; 64])> = sigs
        .signatures
        .values()
        .map(|s| {
            let s = s.unwrap();
            (s.node_id_short.0, s.signature.0)
        })
        .collect();
    check_block_signatures(
        &subset,
        &block.id.root_hash.0,
        &block.id.file_hash.0,
        pairs.iter().map(|(n, s)| (n, s)),
    )
}

#[test]
fn the_zero_state_is_a_key_state_with_the_devnet_validators() {
    let chain = Chain::new(&genesis(), NOW).unwrap();
    let x = extra(&chain, 0);
    assert!(x.after_key_block);
    assert!(x.last_key_block.is_none());
    assert!(x.prev_blocks.is_empty());
    assert_eq!(x.validator_info.catchain_seqno, 0);
    assert!(x.validator_info.nx_cc_updated);
    let set = x.config.get_current_validator_set().unwrap();
    let keys = ValidatorKeys::default().public_keys();
    let listed: Vec<[u8; 32]> = set.list.iter().map(|v| v.public_key.0).collect();
    assert_eq!(listed, keys);
    assert_eq!(set.utime_since, NOW);
    for gone in [32, 36] {
        assert!(!x.config.params.contains_raw(gone).unwrap());
    }
    // The global balance is everything genesis created.
    assert_eq!(
        x.global_balance.tokens.into_inner(),
        DEFAULT_FAUCET_BALANCE + super::genesis::MINTER_BALANCE
    );
}

#[test]
fn each_state_registers_the_shard_block_and_the_previous_masterchain_blocks() {
    let mut chain = Chain::new(&genesis(), NOW).unwrap();
    for i in 1..=3 {
        chain.produce_block(NOW + i).unwrap();
    }
    let x = extra(&chain, 3);
    let descr = x
        .shards
        .get_workchain_shards(0)
        .unwrap()
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .unwrap()
        .1;
    assert_eq!(descr.seqno, 3);
    assert_eq!(descr.root_hash, chain.base.blocks[3].id.root_hash);
    assert_eq!(descr.file_hash, chain.base.blocks[3].id.file_hash);
    // prev_blocks: 0 (the zero state, a key state), 1, 2.
    let mut seen = Vec::new();
    for entry in x.prev_blocks.iter() {
        let (seqno, _, r) = entry.unwrap();
        assert_eq!(
            r.block_ref.root_hash,
            chain.master.blocks[seqno as usize].id.root_hash
        );
        assert_eq!(
            r.block_ref.file_hash,
            chain.master.blocks[seqno as usize].id.file_hash
        );
        assert_eq!(r.is_key_block, seqno == 0);
        seen.push(seqno);
    }
    assert_eq!(seen, vec![0, 1, 2]);
    assert!(!x.after_key_block);
    assert_eq!(x.last_key_block.as_ref().unwrap().seqno, 0);
    assert_eq!(
        x.last_key_block.unwrap().root_hash,
        chain.master.blocks[0].id.root_hash
    );
    for seqno in 1..=3 {
        let h = info(&chain, seqno);
        assert!(!h.key_block);
        assert_eq!(h.prev_key_block_seqno, 0);
        assert_eq!(
            signed_weight(&chain, seqno).unwrap(),
            4 * validators::VALIDATOR_WEIGHT
        );
    }
}

#[test]
fn a_rotation_makes_a_key_block_signed_by_the_old_set_then_the_new_set_signs() {
    let mut chain = Chain::new(&genesis(), NOW).unwrap();
    chain.produce_block(NOW + 1).unwrap();
    let new_keys = ValidatorKeys::from_phrase("another devnet set", 5);
    chain.rotate_validators(new_keys.clone(), NOW + 2).unwrap();
    chain.produce_block(NOW + 2).unwrap(); // 2: key block
    chain.produce_block(NOW + 3).unwrap(); // 3
    chain.produce_block(NOW + 4).unwrap(); // 4

    let h2 = info(&chain, 2);
    assert!(h2.key_block);
    let block2 = chain.master.blocks[2].root.parse::<Block>().unwrap();
    let mc_extra = block2.load_extra().unwrap().load_custom().unwrap().unwrap();
    let config = mc_extra.config.expect("a key block carries its config");
    let set = config.get_current_validator_set().unwrap();
    assert_eq!(set.list.len(), 5);
    // Block 2 is signed by the old set (4 signatures), 3 and 4 by the new one (5).
    assert_eq!(
        signed_weight(&chain, 2).unwrap(),
        4 * validators::VALIDATOR_WEIGHT
    );
    assert_eq!(
        signed_weight(&chain, 3).unwrap(),
        5 * validators::VALIDATOR_WEIGHT
    );
    // The session changed with the key block.
    assert_eq!(
        info(&chain, 3).gen_catchain_seqno,
        h2.gen_catchain_seqno + 1
    );
    assert_eq!(info(&chain, 3).prev_key_block_seqno, 2);
    assert_eq!(info(&chain, 4).prev_key_block_seqno, 2);
    assert_eq!(h2.prev_key_block_seqno, 0);
    let x3 = extra(&chain, 3);
    assert_eq!(x3.last_key_block.unwrap().seqno, 2);
    assert!(extra(&chain, 2).after_key_block);
    let key_flags: Vec<bool> = x3
        .prev_blocks
        .iter()
        .map(|e| e.unwrap().2.is_key_block)
        .collect();
    assert_eq!(key_flags, vec![true, false, true]);
}

#[test]
fn signatures_survive_a_restart_and_a_wrong_phrase_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::open(&genesis(), NOW, Some(dir.path())).unwrap();
    chain.produce_block(NOW + 1).unwrap();
    chain.produce_block(NOW + 2).unwrap();
    let before: Vec<_> = chain.master.blocks.iter().map(|b| b.id).collect();
    drop(chain);
    let chain = Chain::open(&genesis(), NOW + 5, Some(dir.path())).unwrap();
    let after: Vec<_> = chain.master.blocks.iter().map(|b| b.id).collect();
    assert_eq!(before, after);
    assert_eq!(
        signed_weight(&chain, 2).unwrap(),
        4 * validators::VALIDATOR_WEIGHT
    );
    let other = ValidatorKeys::from_phrase("not this chain's", 4);
    let err = Chain::open_with(&genesis(), other, NOW + 5, Some(dir.path())).unwrap_err();
    assert!(err.to_string().contains("validator"), "{err}");
}

/// Distinct cells of a tree, and how many of them are pruned branches.
fn count_cells(root: &tycho_types::cell::Cell) -> (usize, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![root.clone()];
    let mut pruned = 0;
    while let Some(cell) = stack.pop() {
        if !seen.insert(*cell.repr_hash()) {
            continue;
        }
        if cell.descriptor().cell_type() == tycho_types::cell::CellType::PrunedBranch {
            pruned += 1;
        }
        for i in 0..cell.reference_count() {
            stack.push(cell.reference_cloned(i).unwrap());
        }
    }
    (seen.len(), pruned)
}

#[test]
fn state_updates_hold_only_new_cells_and_prune_the_rest() {
    let mut chain = Chain::new(&genesis(), NOW).unwrap();
    for i in 1..=3 {
        chain.produce_block(NOW + i).unwrap();
    }
    for shard in [&chain.master, &chain.base] {
        let b = &shard.blocks[3];
        let update = b
            .root
            .parse::<Block>()
            .unwrap()
            .load_state_update()
            .unwrap();
        let (new_cells, pruned) = count_cells(&update.new);
        let (state_cells, _) = count_cells(&b.state);
        assert!(pruned > 0, "the new side prunes the unchanged subtrees");
        assert!(
            new_cells * 4 < state_cells,
            "{new_cells} cells in the update's new side, {state_cells} in the state"
        );
        // Replaying the update on the previous state gives this state.
        let applied = update.apply(&shard.blocks[2].state).unwrap();
        assert_eq!(applied.repr_hash(), b.state.repr_hash());
    }
}
