//! The parallel engine against the sequential one: the same workload on one thread and on
//! several gives the same blocks, hash for hash, and the same sendMessage answers.

use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use super::genesis::{DEFAULT_FAUCET_BALANCE, Genesis};
use super::*;
use crate::wallet::{Transfer, WalletV4R2};

const NOW: u32 = 1_800_000_000;

fn seed(i: u8) -> [u8; 32] {
    [100 + i; 32]
}

fn wallet(i: u8) -> WalletV4R2 {
    WalletV4R2::from_seed(seed(i))
}

fn addr(i: u8) -> StdAddr {
    wallet(i).address().unwrap()
}

fn to(dst: StdAddr, amount: u128, bounce: bool) -> Transfer {
    Transfer {
        to: dst,
        amount,
        bounce,
        body: None,
        init: None,
        mode: 3,
    }
}

/// One block's externals: (sender, seqno, transfers).
fn externals(block: u32) -> Vec<Vec<u8>> {
    const TON: u128 = 1_000_000_000;
    let nobody = |n: u8| StdAddr::new(0, HashBytes([n; 32]));
    let plan: Vec<(u8, u32, Vec<Transfer>)> = match block {
        // W0 sends four messages (created_lt start+1 .. start+4) while W5's bounce from
        // nobody is created at start+3: the sequential queue delivers that bounce before
        // W0's fourth message, so the parallel round must stop there.
        0 => vec![
            (
                0,
                0,
                vec![
                    to(addr(1), TON, true),
                    to(addr(2), TON, true),
                    to(addr(3), TON, true),
                    to(addr(5), TON, true),
                ],
            ),
            (5, 0, vec![to(nobody(0x51), 2 * TON, true)]),
            (1, 0, vec![to(addr(0), TON, true)]),
            (6, 0, vec![to(addr(7), TON, false)]),
            (
                7,
                0,
                vec![to(addr(6), TON, false), to(nobody(0x52), TON, false)],
            ),
            // A wrong seqno: refused by its dry run.
            (2, 5, vec![to(addr(3), TON, false)]),
        ],
        _ => vec![
            (
                0,
                1,
                vec![to(addr(5), TON, true), to(nobody(0x53), TON, true)],
            ),
            (5, 1, vec![to(addr(0), TON, true)]),
            (
                3,
                0,
                vec![to(nobody(0x54), TON, true), to(addr(4), TON, true)],
            ),
            (4, 0, vec![to(addr(3), TON, true)]),
        ],
    };
    let mut bocs: Vec<Vec<u8>> = plan
        .into_iter()
        .map(|(from, seqno, transfers)| {
            let msg = wallet(from)
                .external_transfer(seqno, NOW + 600, &transfers, false)
                .unwrap();
            Boc::encode(&msg)
        })
        .collect();
    // The same message twice: the second is answered with its hash.
    bocs.push(bocs[0].clone());
    bocs
}

/// Per block: the answers to the sendMessages, the blocks' ids and the transactions.
type Trace = Vec<(Vec<std::result::Result<HashBytes, String>>, ProducedSummary)>;
type ProducedSummary = (BlockId, BlockId, usize, usize, usize, Vec<(HashBytes, u64)>);

fn trace(threads: usize) -> Trace {
    let genesis = Genesis {
        faucet_seed: [7; 32],
        faucet_balance: DEFAULT_FAUCET_BALANCE,
        jetton_admin: None,
        extra_wallets: (0..8).map(seed).collect(),
    };
    let mut chain = Chain::new(&genesis, NOW).unwrap();
    chain.set_exec_threads(threads);
    (0..2)
        .map(|block| {
            let bocs = externals(block);
            let answers: Vec<Result<HashBytes>> = if threads > 1 {
                chain.submit_externals(&bocs, NOW + block)
            } else {
                bocs.iter()
                    .map(|b| chain.submit_external(b, NOW + block))
                    .collect()
            };
            let answers = answers
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect();
            let p = chain.produce_block(NOW + block).unwrap();
            let txs = chain
                .last_base()
                .unwrap()
                .transactions
                .iter()
                .map(|t| (t.account, t.lt))
                .collect();
            let summary = (
                p.master,
                p.shard,
                p.transactions,
                p.queued,
                p.reused_dry_runs,
                txs,
            );
            (answers, summary)
        })
        .collect()
}

#[test]
fn parallel_blocks_are_the_sequential_blocks() {
    let sequential = trace(1);
    for threads in [2, 4] {
        assert_eq!(trace(threads), sequential, "{threads} threads");
    }
    let (answers, (_, _, transactions, queued, reused, txs)) = &sequential[0];
    assert_eq!(
        answers.iter().filter(|a| a.is_err()).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(answers.first(), answers.last(), "the duplicate");
    // 5 externals; W0's 4 + W5's + W1's + W6's + W7's 2 messages delivered; W5's bounce.
    assert_eq!(*transactions, 5 + 9 + 1, "{txs:?}");
    assert_eq!((*queued, *reused), (0, 5));
    // W5: its external, W0's transfer and the bounce, in lt order.
    let w5 = addr(5).address;
    let lts: Vec<u64> = txs.iter().filter(|(a, _)| *a == w5).map(|t| t.1).collect();
    assert_eq!(lts.len(), 3, "{txs:?}");
    assert!(lts.windows(2).all(|w| w[0] < w[1]), "{lts:?}");
}
