//! Decoding real sandbox transactions: every field against @ton/core's own reading of the
//! same BOC, and the LabelMint events with their exact amounts.

use labelmint_abi::Event;
use labelmint_indexer::Error;
use labelmint_indexer::decode::{decode_transaction, decode_transaction_cell};
use labelmint_indexer::model::Direction;
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, Lazy};
use tycho_types::dict::Dict;
use tycho_types::models::{MessageLayout, MsgInfo, OwnedMessage, Transaction};
use tycho_types::num::Uint15;

use crate::support::{block, decode_step, flows};

const TON: u128 = 1_000_000_000;

fn ts_status(s: &str) -> &'static str {
    match s {
        "active" => "active",
        "uninitialized" => "uninit",
        "frozen" => "frozen",
        "non-existing" => "nonexist",
        other => panic!("status {other}"),
    }
}

fn ts_kind(s: &str) -> &'static str {
    match s {
        "internal" => "int",
        "external-in" => "ext_in",
        "external-out" => "ext_out",
        other => panic!("kind {other}"),
    }
}

#[test]
fn every_fixture_transaction_matches_ton_core() {
    let f = flows();
    let mut n = 0;
    for step in &f.steps {
        for t in &step.transactions {
            let d = decode_transaction(&t.boc(), block(1)).expect("decode");
            let ctx = format!("{} {}", step.name, t.hash);
            assert_eq!(hex::encode(d.tx.hash), t.hash, "{ctx}");
            assert_eq!(d.tx.account, t.account, "{ctx}");
            assert_eq!(d.tx.lt.to_string(), t.lt, "{ctx}");
            assert_eq!(d.tx.now, t.now, "{ctx}");
            assert_eq!(d.tx.orig_status, ts_status(&t.orig_status), "{ctx}");
            assert_eq!(d.tx.end_status, ts_status(&t.end_status), "{ctx}");
            assert_eq!(d.tx.total_fees.to_string(), t.total_fees, "{ctx}");
            assert_eq!(d.tx.compute_exit_code, t.compute_exit_code, "{ctx}");
            assert_eq!(Some(d.tx.aborted), t.aborted, "{ctx}");
            assert_eq!(d.tx.out_msg_count, t.out_msg_count, "{ctx}");
            assert_eq!(d.tx.boc, t.boc(), "{ctx}");
            if t.compute_exit_code.is_none() {
                assert!(d.tx.compute_skip_reason.is_some(), "{ctx}");
            } else {
                assert!(d.tx.gas_used.is_some_and(|g| g > 0), "{ctx}");
            }
            assert_eq!(d.messages.len(), t.messages.len(), "{ctx}");
            for (m, x) in d.messages.iter().zip(&t.messages) {
                let dir = match m.direction {
                    Direction::In => "in",
                    Direction::Out => "out",
                };
                assert_eq!(dir, x.direction, "{ctx}");
                assert_eq!(m.idx, x.idx, "{ctx}");
                assert_eq!(m.msg_kind, ts_kind(&x.kind), "{ctx}");
                assert_eq!(m.src, x.src, "{ctx}");
                assert_eq!(m.dst, x.dst, "{ctx}");
                assert_eq!(m.value.map(|v| v.to_string()), x.value, "{ctx}");
                assert_eq!(m.bounce, x.bounce, "{ctx}");
                assert_eq!(m.bounced, x.bounced, "{ctx}");
                assert_eq!(hex::encode(m.body_hash), x.body_hash, "{ctx}");
                // TEP-467: external-in messages, and only they, carry a normalized hash.
                assert_eq!(m.norm_hash.is_some(), m.msg_kind == "ext_in", "{ctx}");
                assert_eq!(m.tx_hash, d.tx.hash);
            }
            // Every external-out message of these flows is a LabelMint event.
            let ext_outs = t
                .messages
                .iter()
                .filter(|m| m.kind == "external-out")
                .count();
            assert_eq!(d.events.len(), ext_outs, "{ctx}");
            assert!(d.undecoded.is_empty(), "{ctx}");
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} fixture transactions");
}

fn events_of(step: &str) -> Vec<(String, Event)> {
    let f = flows();
    decode_step(f.step(step), 1)
        .into_iter()
        .flat_map(|d| {
            let account = d.tx.account.clone();
            d.events
                .into_iter()
                .map(move |e| (account.clone(), e.event))
        })
        .collect()
}

#[test]
fn deposit_release_batch_bounce_close_refund_events_have_exact_amounts() {
    let f = flows();
    let ton_escrow = f.account("tonEscrow");
    let ton_vault = f.account("tonVault");
    let client = f.account("client");

    let ev = events_of("ton_deposit");
    assert_eq!(ev.len(), 1);
    let (emitter, Event::EvDeposit(d)) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(emitter, &ton_escrow);
    assert_eq!(d.amount, 100 * TON);
    assert_eq!(d.deposited, 100 * TON);
    assert_eq!(labelmint_indexer::model::raw_address(&d.from), client);

    let ev = events_of("usd_deposit");
    let (emitter, Event::EvDeposit(d)) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(emitter, &f.account("usdEscrow"));
    assert_eq!(d.amount, 5_000 * 1_000_000);

    let ev = events_of("ton_release");
    let release = ev
        .iter()
        .find_map(|(a, e)| match e {
            Event::EvRelease(r) if a == &ton_escrow => Some(*r),
            _ => None,
        })
        .expect("ev_release");
    assert_eq!(release.amount, 40 * TON);
    assert_eq!(release.fee, TON); // 2.5% of 40 TON
    assert_eq!(release.remaining, 59 * TON);
    let funded = ev
        .iter()
        .find_map(|(a, e)| match e {
            Event::EvVaultFunded(v) if a == &ton_vault => Some(v.clone()),
            _ => None,
        })
        .expect("ev_vault_funded");
    assert_eq!((funded.project_id, funded.amount), (1, 40 * TON));

    let ev = events_of("ton_batch_with_bounce");
    let batch = ev
        .iter()
        .find_map(|(_, e)| match e {
            Event::EvBatchExecuted(b) => Some(*b),
            _ => None,
        })
        .expect("ev_batch_executed");
    assert_eq!((batch.count, batch.total), (3, 22 * TON));
    let bounced = ev
        .iter()
        .find_map(|(a, e)| match e {
            Event::EvPayoutBounced(b) if a == &ton_vault => Some(*b),
            _ => None,
        })
        .expect("ev_payout_bounced");
    assert_eq!(bounced.item_id, 1003);
    assert!(
        bounced.amount > 0 && bounced.amount <= 3 * TON,
        "{bounced:?}"
    );

    let ev = events_of("ton_close");
    assert!(
        ev.iter()
            .any(|(a, e)| a == &ton_escrow
                && matches!(e, Event::EvClosed(c) if c.remaining == 59 * TON)),
        "{ev:?}"
    );
    let ev = events_of("ton_refund");
    let refund = ev
        .iter()
        .find_map(|(_, e)| match e {
            Event::EvRefund(r) => Some(r.clone()),
            _ => None,
        })
        .expect("ev_refund");
    assert_eq!(refund.amount, 59 * TON);
    assert_eq!(labelmint_indexer::model::raw_address(&refund.to), client);
}

/// Rebuilds a fixture transaction with every external-out body moved into a reference: the
/// decoder must find the same events (TL-B `body:(Either X ^X)`).
#[test]
fn events_decode_from_bodies_by_reference_too() {
    let f = flows();
    let t = &f.step("ton_release").transactions[1];
    let cell = Boc::decode(t.boc()).expect("boc");
    let mut tx: Transaction = cell.parse().expect("tx");
    let mut out: Dict<Uint15, Cell> = Dict::new();
    let mut moved = 0;
    for entry in tx.out_msgs.iter() {
        let (k, msg_cell) = entry.expect("entry");
        let mut msg: OwnedMessage = msg_cell.parse().expect("msg");
        if matches!(msg.info, MsgInfo::ExtOut(_)) {
            msg.layout = Some(MessageLayout {
                init_to_cell: false,
                body_to_cell: true,
            });
            moved += 1;
        }
        let rebuilt = CellBuilder::build_from(&msg).expect("rebuild");
        out.set(k, rebuilt).expect("set");
    }
    assert!(moved > 0);
    tx.out_msgs = out;
    tx.info = Lazy::new(&tx.load_info().expect("info")).expect("lazy");
    let rebuilt = CellBuilder::build_from(&tx).expect("tx cell");
    let boc = Boc::encode(&rebuilt);
    let by_ref = decode_transaction_cell(&rebuilt, boc, block(1)).expect("decode");
    let inline = decode_transaction(&t.boc(), block(1)).expect("decode");
    assert_eq!(by_ref.events, inline.events);
    assert!(!by_ref.events.is_empty());
    // The body hash is the hash of the body cell either way.
    let ext = |d: &labelmint_indexer::decode::DecodedTransaction| {
        d.messages
            .iter()
            .filter(|m| m.msg_kind == "ext_out")
            .map(|m| m.body_hash)
            .collect::<Vec<_>>()
    };
    assert_eq!(ext(&by_ref), ext(&inline));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for bad in [
        &b""[..],
        b"\x00",
        b"not a boc at all",
        &[0xb5, 0xee, 0x9c, 0x72, 0, 0, 0],
    ] {
        assert!(matches!(
            decode_transaction(bad, block(1)),
            Err(Error::Malformed { .. })
        ));
    }
    // A valid BOC that is not a transaction.
    let cell = CellBuilder::build_from(0xdead_beef_u32).expect("cell");
    assert!(matches!(
        decode_transaction(&Boc::encode(&cell), block(1)),
        Err(Error::Malformed { .. })
    ));
    // Every truncation of a real transaction fails cleanly.
    let f = flows();
    let boc = f.steps[0].transactions[1].boc();
    for len in (0..boc.len()).step_by(7) {
        assert!(decode_transaction(&boc[..len], block(1)).is_err());
    }
}
