//! Engine tests without the network: transfers, bounces, rejected externals.

use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::{StdAddr, TxInfo};

use super::genesis::{DEFAULT_FAUCET_BALANCE, Genesis};
use super::*;
use crate::wallet::{Transfer, WalletV4R2, seqno_of};

const NOW: u32 = 1_800_000_000;
const SEED: [u8; 32] = [7; 32];

/// The test genesis: the faucet only.
fn genesis() -> Genesis {
    Genesis {
        faucet_seed: SEED,
        faucet_balance: DEFAULT_FAUCET_BALANCE,
        jetton_admin: None,
        extra_wallets: Vec::new(),
    }
}

fn chain() -> Chain {
    Chain::new(&genesis(), NOW).unwrap()
}

fn faucet_seqno(chain: &Chain) -> u32 {
    let acc = chain.account(&chain.genesis().faucet).unwrap();
    let acc = acc.load_account().unwrap().unwrap();
    match acc.state {
        tycho_types::models::AccountState::Active(s) => seqno_of(s.data.as_ref().unwrap()).unwrap(),
        _ => panic!("faucet not active"),
    }
}

fn send(chain: &mut Chain, to: &StdAddr, amount: u128, bounce: bool) -> Result<HashBytes> {
    let wallet = WalletV4R2::from_seed(SEED);
    let seqno = faucet_seqno(chain);
    let msg = wallet
        .external_transfer(
            seqno,
            NOW + 60,
            &[Transfer {
                to: to.clone(),
                amount,
                bounce,
                body: None,
                init: None,
                mode: 3,
            }],
            false,
        )
        .unwrap();
    chain.submit_external(&Boc::encode(&msg), NOW)
}

fn balance(chain: &Chain, addr: &StdAddr) -> u128 {
    match chain.account(addr).unwrap().load_account().unwrap() {
        Some(a) => a.balance.tokens.into_inner(),
        None => 0,
    }
}

#[test]
fn transfer_to_a_new_address_lands_in_the_next_block() {
    let mut chain = chain();
    let to = StdAddr::new(0, HashBytes([0x55; 32]));
    send(&mut chain, &to, 1_000_000_000, false).unwrap();
    let produced = chain.produce_block(NOW + 1).unwrap();
    assert_eq!(produced.transactions, 2, "{produced:?}");
    assert_eq!(balance(&chain, &to), 1_000_000_000);
    assert_eq!(faucet_seqno(&chain), 1);
    let block = chain.last_base().unwrap();
    assert_eq!(block.transactions.len(), 2);
    // The Block cell parses back.
    let parsed = block.root.parse::<tycho_types::models::Block>().unwrap();
    assert_eq!(parsed.load_info().unwrap().seqno, 1);
}

#[test]
fn bounceable_transfer_to_nobody_bounces_back() {
    let mut chain = chain();
    let to = StdAddr::new(0, HashBytes([0x66; 32]));
    send(&mut chain, &to, 1_000_000_000, true).unwrap();
    let produced = chain.produce_block(NOW + 1).unwrap();
    assert_eq!(produced.transactions, 3, "{produced:?}");
    assert_eq!(balance(&chain, &to), 0);
    let faucet = chain.genesis().faucet.clone();
    let history = &chain.base.history[&faucet.address];
    assert_eq!(history.len(), 2);
    let (_, _, last) = history.values().last().unwrap();
    let tx = last.parse::<tycho_types::models::Transaction>().unwrap();
    let in_msg = tx.load_in_msg().unwrap().unwrap();
    match in_msg.info {
        MsgInfo::Int(i) => assert!(i.bounced),
        _ => panic!("expected the bounce"),
    }
    let TxInfo::Ordinary(_) = tx.load_info().unwrap() else {
        panic!()
    };
}

#[test]
fn a_rejected_external_is_an_error_and_not_queued() {
    let mut chain = chain();
    let to = StdAddr::new(0, HashBytes([0x55; 32]));
    send(&mut chain, &to, 1, false).unwrap();
    // Same seqno again: the wallet throws before accept.
    chain.produce_block(NOW + 1).unwrap();
    let wallet = WalletV4R2::from_seed(SEED);
    let stale = wallet.external_transfer(0, NOW + 60, &[], false).unwrap();
    let err = chain
        .submit_external(&Boc::encode(&stale), NOW + 2)
        .unwrap_err();
    assert!(matches!(err, Error::ExternalRejected { .. }), "{err}");
    assert_eq!(chain.pending_externals(), 0);
    let garbage = chain.submit_external(b"not a boc", NOW).unwrap_err();
    assert!(matches!(garbage, Error::BadBoc { .. }));
    let produced = chain.produce_block(NOW + 3).unwrap();
    assert_eq!(produced.transactions, 0);
}

#[test]
fn block_state_updates_replay_the_state() {
    let mut chain = chain();
    let to = StdAddr::new(0, HashBytes([0x55; 32]));
    send(&mut chain, &to, 1_000_000_000, true).unwrap();
    chain.produce_block(NOW + 1).unwrap();
    chain.produce_block(NOW + 2).unwrap();
    for shard in [&chain.base, &chain.master] {
        for pair in shard.blocks.windows(2) {
            let block = pair[1].root.parse::<tycho_types::models::Block>().unwrap();
            let update = block.load_state_update().unwrap();
            let applied = update.apply(&pair[0].state).unwrap();
            assert_eq!(applied.repr_hash(), pair[1].state.repr_hash());
        }
    }
}

#[test]
fn genesis_is_a_zero_state_and_blocks_start_at_one() {
    let mut chain = chain();
    assert!(chain.base.blocks[0].zerostate && chain.master.blocks[0].zerostate);
    let produced = chain.produce_block(NOW + 1).unwrap();
    assert_eq!((produced.master.seqno, produced.shard.seqno), (1, 1));
    let block = chain.base.blocks[1]
        .root
        .parse::<tycho_types::models::Block>()
        .unwrap();
    let info = block.load_info().unwrap();
    let prev = match info.load_prev_ref().unwrap() {
        tycho_types::models::PrevBlockRef::Single(r) => r,
        _ => panic!("single prev"),
    };
    assert_eq!(prev.seqno, 0);
    assert_eq!(prev.root_hash, chain.base.blocks[0].id.root_hash);
}

#[test]
fn a_stored_chain_reopens_identically() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::open(&genesis(), NOW, Some(dir.path())).unwrap();
    let to = StdAddr::new(0, HashBytes([0x55; 32]));
    send(&mut chain, &to, 1_000_000_000, true).unwrap();
    chain.produce_block(NOW + 1).unwrap();
    chain.produce_block(NOW + 2).unwrap();
    let store = store::Store::open(dir.path()).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.base.blocks.len(), chain.base.blocks.len());
    for (a, b) in loaded.base.blocks.iter().zip(&chain.base.blocks) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.state.repr_hash(), b.state.repr_hash());
        assert_eq!(a.transactions.len(), b.transactions.len());
    }
}

#[test]
fn oversized_and_wrong_kind_messages_are_refused() {
    let mut chain = chain();
    let big = vec![0u8; MAX_EXT_MSG_BYTES + 1];
    assert!(matches!(
        chain.submit_external(&big, NOW),
        Err(Error::BadMessage { .. })
    ));
    // An internal message is not something a client can send.
    let internal = crate::wallet::internal_message(&Transfer {
        to: StdAddr::new(0, HashBytes([1; 32])),
        amount: 1,
        bounce: false,
        body: None,
        init: None,
        mode: 3,
    })
    .unwrap();
    let err = chain
        .submit_external(&Boc::encode(&internal), NOW)
        .unwrap_err();
    assert!(matches!(err, Error::BadMessage { .. }), "{err}");
    // An external to a workchain that does not exist.
    let to_nowhere = crate::wallet::external_message(
        &StdAddr::new(5, HashBytes([1; 32])),
        None,
        tycho_types::cell::Cell::default(),
    )
    .unwrap();
    assert!(
        chain
            .submit_external(&Boc::encode(&to_nowhere), NOW)
            .is_err()
    );
    assert_eq!(chain.pending_externals(), 0);
}

#[test]
fn messages_in_flight_are_saved_with_their_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::open(&genesis(), NOW, Some(dir.path())).unwrap();
    let to = StdAddr::new(0, HashBytes([0x56; 32]));
    send(&mut chain, &to, 1_000_000_000, false).unwrap();
    chain.produce_block(NOW + 1).unwrap();
    // The faucet's out message, as if it were still in flight after block 1.
    let faucet = chain.genesis().faucet.address;
    let (_, _, tx) = chain.base.history[&faucet].values().next().unwrap();
    let tx = tx.parse::<tycho_types::models::Transaction>().unwrap();
    let msg = tx.out_msgs.values().next().unwrap().unwrap();
    let mut queue = BTreeMap::new();
    queue.insert((tx.lt + 1, *msg.repr_hash()), msg.clone());
    let store = store::Store::open(dir.path()).unwrap();
    store
        .save_blocks(
            chain.last_master().unwrap(),
            chain.last_base().unwrap(),
            &queue,
        )
        .unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.queue.len(), 1);
    assert_eq!(
        loaded.queue.values().next().unwrap().repr_hash(),
        msg.repr_hash()
    );
    assert_eq!(loaded.base.blocks.len(), 2);
}

#[test]
fn blocks_describe_their_messages() {
    use tycho_types::models::{InMsg, OutMsg};
    let mut chain = chain();
    let to = StdAddr::new(0, HashBytes([0x66; 32]));
    send(&mut chain, &to, 1_000_000_000, true).unwrap();
    chain.produce_block(NOW + 1).unwrap();
    let block = chain
        .last_base()
        .unwrap()
        .root
        .parse::<tycho_types::models::Block>()
        .unwrap();
    let extra = block.load_extra().unwrap();
    let ins: Vec<InMsg> = extra
        .load_in_msg_description()
        .unwrap()
        .iter()
        .map(|e| e.unwrap().2)
        .collect();
    assert_eq!(ins.len(), 3);
    assert_eq!(
        ins.iter()
            .filter(|m| matches!(m, InMsg::External(_)))
            .count(),
        1
    );
    assert_eq!(
        ins.iter()
            .filter(|m| matches!(m, InMsg::Immediate(_)))
            .count(),
        2
    );
    for m in &ins {
        assert!(m.load_transaction().unwrap().is_some());
    }
    let outs: Vec<OutMsg> = extra
        .load_out_msg_description()
        .unwrap()
        .iter()
        .map(|e| e.unwrap().2)
        .collect();
    assert_eq!(outs.len(), 2);
    assert!(outs.iter().all(|m| matches!(m, OutMsg::Immediate(_))));
    // Replaying the stored block still works with the descriptions in it.
    let update = block.load_state_update().unwrap();
    let applied = update.apply(&chain.base.blocks[0].state).unwrap();
    assert_eq!(applied.repr_hash(), chain.base.blocks[1].state.repr_hash());
}

/// The hashes of the basechain transactions of the last block, in block order.
fn last_block_tx_hashes(chain: &Chain) -> Vec<HashBytes> {
    chain
        .last_base()
        .unwrap()
        .transactions
        .iter()
        .map(|t| t.hash)
        .collect()
}

#[test]
fn a_dry_run_is_reused_only_on_the_same_inputs_and_gives_the_same_block() {
    let to = StdAddr::new(0, HashBytes([0x66; 32]));

    // Same second, no block in between: the dry run stands in for the execution.
    let mut reused = chain();
    send(&mut reused, &to, 1_000_000_000, false).unwrap();
    let p = reused.produce_block(NOW).unwrap();
    assert_eq!((p.transactions, p.reused_dry_runs), (2, 1), "{p:?}");

    // The same message executed afresh in the block (cache dropped): the same block.
    let mut fresh = chain();
    send(&mut fresh, &to, 1_000_000_000, false).unwrap();
    fresh.dry_runs.clear();
    let p = fresh.produce_block(NOW).unwrap();
    assert_eq!((p.transactions, p.reused_dry_runs), (2, 0), "{p:?}");
    assert_eq!(last_block_tx_hashes(&reused), last_block_tx_hashes(&fresh));
    assert_eq!(
        reused.last_base().unwrap().id,
        fresh.last_base().unwrap().id
    );

    // A later second: re-run (storage fees and the wallet's clock depend on it).
    let mut later = chain();
    send(&mut later, &to, 1_000_000_000, false).unwrap();
    let p = later.produce_block(NOW + 1).unwrap();
    assert_eq!((p.transactions, p.reused_dry_runs), (2, 0), "{p:?}");
    assert_eq!(balance(&later, &to), 1_000_000_000);

    // Another transaction changed the account between the dry run and the block: the
    // cached result is not used, the message re-runs on the new state (and, with its seqno
    // spent by then, no longer applies).
    let mut changed = chain();
    let wallet = WalletV4R2::from_seed(SEED);
    let transfer = |amount| Transfer {
        to: to.clone(),
        amount,
        bounce: false,
        body: None,
        init: None,
        mode: 3,
    };
    let first = wallet
        .external_transfer(0, NOW + 60, &[transfer(1)], false)
        .unwrap();
    let second = wallet
        .external_transfer(0, NOW + 60, &[transfer(2)], false)
        .unwrap();
    changed.submit_external(&Boc::encode(&first), NOW).unwrap();
    changed.submit_external(&Boc::encode(&second), NOW).unwrap();
    let p = changed.produce_block(NOW).unwrap();
    assert_eq!(p.reused_dry_runs, 1, "{p:?}");
    assert_eq!(
        p.transactions, 2,
        "the second external no longer applies: {p:?}"
    );
    assert_eq!(balance(&changed, &to), 1);
    assert_eq!(faucet_seqno(&changed), 1);
}

#[test]
fn a_boc_with_trailing_bytes_is_refused() {
    let mut chain = chain();
    let wallet = WalletV4R2::from_seed(SEED);
    let to = StdAddr::new(0, HashBytes([0x67; 32]));
    let msg = wallet
        .external_transfer(
            0,
            NOW + 60,
            &[Transfer {
                to,
                amount: 1,
                bounce: false,
                body: None,
                init: None,
                mode: 3,
            }],
            false,
        )
        .unwrap();
    let boc = Boc::encode(&msg);
    assert_eq!(boc_len(&boc), Some(boc.len()));
    // With a CRC too.
    let mut with_crc = Vec::new();
    tycho_types::boc::ser::BocHeader::<std::hash::RandomState>::with_root(msg.as_ref())
        .with_crc(true)
        .encode(&mut with_crc);
    assert_eq!(boc_len(&with_crc), Some(with_crc.len()));
    let mut longer = boc.clone();
    longer.extend_from_slice(&[0, 1, 2]);
    let err = chain.submit_external(&longer, NOW).unwrap_err();
    assert!(
        err.to_string().contains("3 bytes after the end of the BOC"),
        "{err}"
    );
    assert_eq!(chain.pending_externals(), 0);
    chain.submit_external(&boc, NOW).unwrap();
    assert_eq!(chain.pending_externals(), 1);
}
