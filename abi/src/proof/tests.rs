//! Chains of forward links and account states, built with tycho-types ([`super::testkit`]).

use super::VerifyError;
use super::account::{check_account_state, shard_account_in_block};
use super::link::NodeSignature;
use super::link::{check_forward_link, check_proof_chain};
use super::signatures::{ProofError, check_block_signatures};
use super::testkit::{Validators, account, hash_short, link, mc_block, mc_state, zero_state};

fn check(
    v: &[tycho_types::models::ValidatorDescription],
    sigs: &[NodeSignature],
    root: &[u8; 32],
    file: &[u8; 32],
) -> Result<u64, ProofError> {
    check_block_signatures(
        v,
        root,
        file,
        sigs.iter().map(|s| (&s.node_id_short, &s.signature)),
    )
}

#[test]
fn two_thirds_by_weight() {
    // Weights 5, 3, 2: 5+3 = 8 > 20/3; 5 alone is not; 3+2 = 5 is not.
    let v = Validators::new(&[5, 3, 2]);
    let (root, file) = ([1u8; 32], [2u8; 32]);
    let sigs = |who: &[usize]| -> Vec<NodeSignature> {
        who.iter().map(|&i| v.sign(i, &root, &file)).collect()
    };
    assert_eq!(check(&v.list, &sigs(&[0, 1]), &root, &file), Ok(8));
    assert_eq!(check(&v.list, &sigs(&[0, 1, 2]), &root, &file), Ok(10));
    assert_eq!(
        check(&v.list, &sigs(&[0]), &root, &file),
        Err(ProofError::NotEnoughWeight {
            signed: 5,
            total: 10
        })
    );
    assert!(matches!(
        check(&v.list, &sigs(&[1, 2]), &root, &file),
        Err(ProofError::NotEnoughWeight { .. })
    ));
    assert!(matches!(
        check(&v.list, &sigs(&[0, 0]), &root, &file),
        Err(ProofError::DuplicateSigner { .. })
    ));
    let mut other = sigs(&[0, 1]);
    other[1] = v.sign(1, &root, &[3u8; 32]);
    assert!(matches!(
        check(&v.list, &other, &root, &file),
        Err(ProofError::BadSignature { .. })
    ));
    let stranger = Validators::seeded(&[9], 7);
    let mut with_stranger = sigs(&[0, 1]);
    with_stranger.push(stranger.sign(0, &root, &file));
    assert!(matches!(
        check(&v.list, &with_stranger, &root, &file),
        Err(ProofError::UnknownSigner { .. })
    ));
    let mut flipped = sigs(&[0, 1]);
    flipped[0].signature[10] ^= 1;
    assert!(check(&v.list, &flipped, &root, &file).is_err());
}

#[test]
fn a_chain_from_the_zero_state_through_a_key_block() {
    let v = Validators::new(&[10, 10, 10]);
    let (zs, zid) = zero_state(&v);
    let h = hash_short(&v);
    let cfg = v.config();
    let s1 = mc_state(1, &cfg, &[]);
    let (b1, id1) = mc_block(1, None, 0, h, &zs, &s1);
    let s2 = mc_state(2, &cfg, &[]);
    let (k2, kid2) = mc_block(2, Some(&cfg), 0, h, &s1, &s2);
    let s3 = mc_state(3, &cfg, &[]);
    let (b3, id3) = mc_block(3, None, 0, h, &s2, &s3);

    // zero state -> 1 directly.
    let l = link(&v, &[0, 1, 2], (&zs, zid), (&b1, id1), false);
    assert_eq!(check_forward_link(&l).expect("link").seqno, 1);
    let out =
        check_proof_chain(&zid, &id1, true, &zid, &id1, std::slice::from_ref(&l)).expect("chain");
    assert!(out.reaches(&id1));
    assert!(out.key_blocks.is_empty());

    // zero state -> key block 2 -> 3.
    let l1 = link(&v, &[0, 1, 2], (&zs, zid), (&k2, kid2), true);
    let l2 = link(&v, &[0, 1, 2], (&k2, kid2), (&b3, id3), false);
    let out =
        check_proof_chain(&zid, &id3, true, &zid, &id3, &[l1.clone(), l2.clone()]).expect("chain");
    assert_eq!(out.key_blocks, vec![kid2]);
    assert_eq!(out.reached_info.seqno, 3);

    // An incomplete answer may stop at a key block (the caller asks again from there)...
    let part = check_proof_chain(&zid, &id3, false, &zid, &kid2, std::slice::from_ref(&l1))
        .expect("partial");
    assert!(!part.reaches(&id3));
    assert_eq!(part.reached, kid2);
    // ...but not at an ordinary block, and a complete one must reach the target.
    assert!(check_proof_chain(&zid, &id3, false, &zid, &id1, std::slice::from_ref(&l)).is_err());
    assert!(check_proof_chain(&zid, &id3, true, &zid, &kid2, std::slice::from_ref(&l1)).is_err());
    // Wrong ends, gaps, a non-key source, no links.
    assert!(check_proof_chain(&zid, &id1, true, &zid, &id3, &[l1.clone(), l2.clone()]).is_err());
    assert!(matches!(
        check_proof_chain(&zid, &id3, true, &zid, &id3, std::slice::from_ref(&l2)),
        Err(VerifyError::Link { index: 0, .. })
    ));
    let from_ordinary = link(&v, &[0, 1], (&b1, id1), (&b3, id3), false);
    assert!(check_proof_chain(&zid, &id3, true, &zid, &id3, &[l.clone(), from_ordinary]).is_err());
    assert!(check_proof_chain(&zid, &id1, true, &zid, &id1, &[]).is_err());
    // The key flag must match the header.
    let mut lied_key = l1.clone();
    lied_key.to_key_block = false;
    assert!(check_forward_link(&lied_key).is_err());
}

#[test]
fn forged_links_are_refused() {
    let v = Validators::new(&[10, 10, 10]);
    let (zs, zid) = zero_state(&v);
    let h = hash_short(&v);
    let s1 = mc_state(1, &v.config(), &[]);
    let (b1, id1) = mc_block(1, None, 0, h, &zs, &s1);

    // Too few signers.
    let l = link(&v, &[0, 1], (&zs, zid), (&b1, id1), false);
    let mut one = l.clone();
    one.signatures.truncate(1);
    assert!(matches!(
        check_forward_link(&one),
        Err(VerifyError::Signatures(ProofError::NotEnoughWeight { .. }))
    ));

    // Signed by another validator set (a liar's own keys).
    let liars = Validators::seeded(&[10, 10, 10], 9);
    let forged = link(&liars, &[0, 1, 2], (&zs, zid), (&b1, id1), false);
    let mut forged = forged;
    forged.validator_set_hash = l.validator_set_hash;
    assert!(matches!(
        check_forward_link(&forged),
        Err(VerifyError::Signatures(ProofError::UnknownSigner { .. }))
    ));

    // A header altered (another block under the same id): the proof no longer hashes to it.
    let s1b = mc_state(1, &v.config(), &[([9; 32], account(&[9; 32], 1, 1), 1)]);
    let (b1b, _) = mc_block(1, None, 0, h, &zs, &s1b);
    let mut swapped = l.clone();
    swapped.dest_proof = super::testkit::header_proof(&b1b);
    assert!(matches!(
        check_forward_link(&swapped),
        Err(VerifyError::HashMismatch { .. })
    ));

    // A header naming another validator subset.
    let (b1c, id1c) = mc_block(1, None, 0, h ^ 1, &zs, &s1);
    let wrong_set = link(&v, &[0, 1, 2], (&zs, zid), (&b1c, id1c), false);
    assert!(matches!(
        check_forward_link(&wrong_set),
        Err(VerifyError::Inconsistent { .. })
    ));

    // The config proof of another zero state (another validator set).
    let (zs2, _) = zero_state(&liars);
    let mut other_cfg = l.clone();
    other_cfg.config_proof = super::testkit::state_proof(&zs2);
    assert!(matches!(
        check_forward_link(&other_cfg),
        Err(VerifyError::HashMismatch { .. })
    ));

    // Garbage everywhere is an error, never a panic.
    let mut garbage = l.clone();
    garbage.dest_proof = vec![0xb5, 0xee, 0x9c, 0x72, 1, 2, 3];
    assert!(check_forward_link(&garbage).is_err());
    let mut backwards = l;
    backwards.from = id1;
    backwards.to = zid;
    assert!(check_forward_link(&backwards).is_err());
}

#[test]
fn account_states_are_proven_by_the_block_state_update() {
    let v = Validators::new(&[1]);
    let cfg = v.config();
    let (a, b) = ([0xa1u8; 32], [0xb2u8; 32]);
    let before = mc_state(
        4,
        &cfg,
        &[(a, account(&a, 100, 5), 5), (b, account(&b, 7, 6), 6)],
    );
    let a_after = account(&a, 250, 9);
    let after = mc_state(
        5,
        &cfg,
        &[(a, a_after.clone(), 9), (b, account(&b, 7, 6), 6)],
    );
    let (block, _) = mc_block(5, None, 0, 0, &before, &after);

    let facts = shard_account_in_block(block.as_ref(), &a)
        .expect("lookup")
        .expect("present");
    assert_eq!(facts.last_trans_lt, 9);
    assert_eq!(facts.account_hash, a_after.repr_hash().0);
    let answer = tycho_types::boc::Boc::encode(&a_after);
    assert!(
        check_account_state(Some(&facts), &answer)
            .expect("verifies")
            .is_some()
    );

    // One balance altered: refused.
    let lied = tycho_types::boc::Boc::encode(account(&a, 251, 9));
    assert!(matches!(
        check_account_state(Some(&facts), &lied),
        Err(VerifyError::HashMismatch { .. })
    ));
    // Said empty, or said present where the state has nothing.
    assert!(check_account_state(Some(&facts), &[]).is_err());
    assert!(check_account_state(None, &answer).is_err());
    assert!(
        check_account_state(None, &[])
            .expect("both empty")
            .is_none()
    );
    // An account nobody has is absent (the lookup walks only unpruned, changed paths).
    assert_eq!(
        shard_account_in_block(block.as_ref(), &[0xc3; 32]).expect("lookup"),
        None
    );
}
