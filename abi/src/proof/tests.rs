//! [`super::block_link`] and [`super::account`] on chains built independently with
//! tycho-types ([`super::testkit`]), in the shapes TON's liteservers send.

use super::account::{check_account_state, shard_account_in_block};
use super::block_link::{BlockLinkData, check_chain, check_link};
use super::signatures::{ProofError, check_block_signatures};
use super::testkit::{
    Validators, account, hash_short, header_proof, link, mc_block, mc_state, state_proof,
    zero_state,
};

type Sig = ([u8; 32], [u8; 64]);

fn check(
    v: &[tycho_types::models::ValidatorDescription],
    sigs: &[Sig],
    root: &[u8; 32],
    file: &[u8; 32],
) -> Result<u64, ProofError> {
    check_block_signatures(v, root, file, sigs.iter().map(|(n, s)| (n, s)))
}

fn with<
    F: FnOnce(&mut super::block_link::SignatureSetData, &mut Vec<u8>, &mut Vec<u8>, &mut bool),
>(
    l: &BlockLinkData,
    f: F,
) -> BlockLinkData {
    let mut l = l.clone();
    if let BlockLinkData::Forward {
        signatures,
        dest_proof,
        config_proof,
        to_key_block,
        ..
    } = &mut l
    {
        f(signatures, dest_proof, config_proof, to_key_block);
    }
    l
}

#[test]
fn two_thirds_by_weight() {
    // Weights 5, 3, 2: 5+3 = 8 > 20/3; 5 alone is not; 3+2 = 5 is not.
    let v = Validators::new(&[5, 3, 2]);
    let (root, file) = ([1u8; 32], [2u8; 32]);
    let sigs =
        |who: &[usize]| -> Vec<Sig> { who.iter().map(|&i| v.sign(i, &root, &file)).collect() };
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
    flipped[0].1[10] ^= 1;
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
    assert!(check_link(&l).expect("link").is_some());
    assert_eq!(
        check_chain(&zid, std::slice::from_ref(&l))
            .expect("chain")
            .to,
        id1
    );

    // zero state -> key block 2 -> 3.
    let l1 = link(&v, &[0, 1, 2], (&zs, zid), (&k2, kid2), true);
    let l2 = link(&v, &[0, 1, 2], (&k2, kid2), (&b3, id3), false);
    let out = check_chain(&zid, &[l1.clone(), l2.clone()]).expect("chain");
    assert_eq!((out.to, out.last_key_block), (id3, Some(kid2)));

    // Gaps, a non-key source, a lied key flag.
    assert!(check_chain(&zid, std::slice::from_ref(&l2)).is_err());
    let from_ordinary = link(&v, &[0, 1, 2], (&b1, id1), (&b3, id3), false);
    assert!(check_chain(&zid, &[l.clone(), from_ordinary]).is_err());
    let lied_key = with(&l1, |_, _, _, k| *k = false);
    assert!(check_link(&lied_key).is_err());
}

#[test]
fn forged_links_are_refused() {
    let v = Validators::new(&[10, 10, 10]);
    let (zs, zid) = zero_state(&v);
    let h = hash_short(&v);
    let s1 = mc_state(1, &v.config(), &[]);
    let (b1, id1) = mc_block(1, None, 0, h, &zs, &s1);
    let l = link(&v, &[0, 1, 2], (&zs, zid), (&b1, id1), false);
    check_link(&l).expect("the honest link");

    // Too few signers.
    let one = with(&l, |s, _, _, _| s.signatures.truncate(2));
    assert!(matches!(
        check_link(&one),
        Err(ProofError::NotEnoughWeight { .. })
    ));
    // Signed by another validator set (a liar's own keys).
    let liars = Validators::seeded(&[10, 10, 10], 9);
    let theirs = link(&liars, &[0, 1, 2], (&zs, zid), (&b1, id1), false);
    let forged = with(&l, |s, _, _, _| {
        if let BlockLinkData::Forward { signatures, .. } = &theirs {
            s.signatures = signatures.signatures.clone();
        }
    });
    assert!(matches!(
        check_link(&forged),
        Err(ProofError::UnknownSigner { .. })
    ));
    // One flipped bit in a signature.
    let flipped = with(&l, |s, _, _, _| s.signatures[0].1[7] ^= 0x40);
    assert!(matches!(
        check_link(&flipped),
        Err(ProofError::BadSignature { .. })
    ));
    // Another header under the same id: the proof no longer hashes to it.
    let s1b = mc_state(1, &v.config(), &[([9; 32], account(&[9; 32], 1, 1), 1)]);
    let (b1b, _) = mc_block(1, None, 0, h, &zs, &s1b);
    let swapped = with(&l, |_, d, _, _| *d = header_proof(&b1b));
    assert!(matches!(
        check_link(&swapped),
        Err(ProofError::BadProof { .. })
    ));
    // A header naming another validator subset.
    let (b1c, id1c) = mc_block(1, None, 0, h ^ 1, &zs, &s1);
    let wrong_set = link(&v, &[0, 1, 2], (&zs, zid), (&b1c, id1c), false);
    assert!(matches!(
        check_link(&wrong_set),
        Err(ProofError::ValidatorSetHash { .. })
    ));
    // The config of another zero state (another validator set).
    let (zs2, _) = zero_state(&liars);
    let other_cfg = with(&l, |_, _, c, _| *c = state_proof(&zs2));
    assert!(check_link(&other_cfg).is_err());
    // Garbage is an error, never a panic.
    let garbage = with(&l, |_, d, _, _| *d = vec![0xb5, 0xee, 0x9c, 0x72, 1, 2, 3]);
    assert!(check_link(&garbage).is_err());
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
        Err(ProofError::BadProof { .. })
    ));
    // Said empty, or said present where the state has nothing.
    assert!(check_account_state(Some(&facts), &[]).is_err());
    assert!(check_account_state(None, &answer).is_err());
    assert!(
        check_account_state(None, &[])
            .expect("both empty")
            .is_none()
    );
    // An account nobody has is absent (the lookup walks only unpruned, changed paths; b's
    // unchanged account is pruned in the update and not needed).
    assert_eq!(
        shard_account_in_block(block.as_ref(), &[0xc3; 32]).expect("lookup"),
        None
    );
}
