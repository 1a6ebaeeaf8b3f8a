//! Parity with TON's emulator: the scenarios of `data/parity-vectors.json` (written by
//! `scripts/parity-vectors.js` on @ton/sandbox) replayed on the engine, one block per step
//! (each step is one external message: a wallet transfer or a signed vault batch):
//!
//! - wallet v4r2: transfer to a new address, bounce from nobody, deploy with the first transfer;
//! - wallet v5r1: deploy with the first transfer, then a two-message transfer with a bounce;
//! - TON escrow: deploy (with its vault), deposit, signed release (vault_fund + platform fee),
//!   signed close, refund;
//! - TON vault: deploy and fund, a signed batch of 250 payouts, a batch with a bounced payout;
//! - test USD: minter deploy, mint, jetton vault and escrow deploy (TEP-89 discovery), jetton
//!   deposit with notification, signed jetton release.
//!
//! Sandbox gives every transaction its own lt (n * 1,000,000); the devnet delivers internal
//! messages within the block at `created_lt + 1`, and in `(created_lt, hash)` order. So the
//! first transaction of each scenario (same inputs, same lt) must match hash for hash; every
//! transaction matches, account by account in lt order, in everything that does not depend on
//! lt: exit code, gas, fees, aborted, out messages, end status. (Internal messages carry their
//! `created_lt`, so their hashes, and the hashes of the transactions they start, differ.)

use std::collections::BTreeMap;

use serde_json::Value;
use tycho_types::models::{AccountStatus, ComputePhase, Transaction, TxInfo};

use super::genesis::{DEFAULT_FAUCET_BALANCE, Genesis};
use super::*;

const VECTORS: &str = include_str!("../../data/parity-vectors.json");

fn status(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::Uninit => "uninitialized",
        AccountStatus::NotExists => "non-existing",
        AccountStatus::Frozen => "frozen",
    }
}

#[test]
fn sandbox_scenarios_match() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let seed: [u8; 32] = hex::decode(vectors["seedHex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    for contract in labelmint_abi::code::Contract::ALL {
        assert_eq!(
            vectors["codeHashes"][contract.name()].as_str(),
            Some(contract.code_hash().to_string().as_str()),
            "{} changed since the parity vectors were made: run \
             `node devnet/scripts/parity-vectors.js` from the repository root",
            contract.name()
        );
    }
    let mut compared = 0;
    let scenarios = vectors["scenarios"].as_array().unwrap();
    for scenario in scenarios {
        let name = scenario["name"].as_str().unwrap();
        let now = scenario["now"].as_u64().unwrap() as u32;
        let genesis = Genesis {
            faucet_seed: [7; 32],
            faucet_balance: DEFAULT_FAUCET_BALANCE,
            jetton_admin: None,
            extra_wallets: vec![seed],
        };
        let deploy = scenario["deploy"].as_bool().unwrap();
        let genesis = Genesis {
            extra_wallets: if deploy {
                Vec::new()
            } else {
                genesis.extra_wallets
            },
            ..genesis
        };
        let mut chain = Chain::new(&genesis, now).unwrap();
        let address: StdAddr = scenario["address"].as_str().unwrap().parse().unwrap();
        if !deploy {
            assert_eq!(
                scenario["wallet"], "v4r2",
                "{name}: only v4r2 starts active"
            );
            assert_eq!(
                crate::wallet::WalletV4R2::from_seed(seed)
                    .address()
                    .unwrap(),
                address
            );
        }
        if deploy {
            // A funded uninit account, as the sandbox side sets it (any wallet version: the
            // first external carries the StateInit).
            let balance = vectors["balance"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap();
            chain
                .base
                .put_account(tycho_types::models::Account {
                    address: address.into(),
                    storage_stat: Default::default(),
                    last_trans_lt: 0,
                    balance: tycho_types::models::CurrencyCollection::new(balance),
                    state: tycho_types::models::AccountState::Uninit,
                })
                .unwrap();
        }
        for (step_index, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
            let boc = hex::decode(step["externalBoc"].as_str().unwrap()).unwrap();
            chain.submit_external(&boc, now).unwrap();
            let p = chain.produce_block(now).unwrap();
            assert_eq!(
                p.queued, 0,
                "{name} step {step_index}: settled in one block"
            );
            let mut txs: Vec<_> = chain.last_base().unwrap().transactions.clone();
            txs.sort_by_key(|t| t.lt);
            let expected = step["transactions"].as_array().unwrap();
            let ctx = format!("{name} step {step_index}");
            assert_eq!(txs.len(), expected.len(), "{ctx}: transaction count");
            // The external's transaction first (the lowest lt on both sides).
            check(
                &format!("{ctx} tx 0"),
                &txs[0],
                &expected[0],
                step_index == 0,
            );
            // Then account by account, each account's transactions in lt order.
            let mut by_account: BTreeMap<String, (Vec<_>, Vec<&Value>)> = BTreeMap::new();
            for got in &txs[1..] {
                by_account
                    .entry(format!("0:{}", got.account))
                    .or_default()
                    .0
                    .push(got);
            }
            for want in &expected[1..] {
                by_account
                    .entry(want["address"].as_str().unwrap().to_string())
                    .or_default()
                    .1
                    .push(want);
            }
            for (account, (got, want)) in &by_account {
                assert_eq!(got.len(), want.len(), "{ctx}: transactions of {account}");
                for (i, (g, w)) in got.iter().zip(want).enumerate() {
                    check(&format!("{ctx} {account} #{i}"), g, w, false);
                }
            }
            compared += txs.len();
        }
    }
    assert_eq!(scenarios.len(), 7);
    assert!(compared > 300, "{compared} transactions compared");
}

/// Compares one transaction; `same_lt`: sandbox and devnet gave it the same lt, so the hash
/// must match too.
fn check(ctx: &str, got: &super::shard::TxEntry, want: &Value, same_lt: bool) {
    let tx = got.cell.parse::<Transaction>().unwrap();
    assert_eq!(
        format!("0:{}", got.account),
        want["address"].as_str().unwrap(),
        "{ctx}: account"
    );
    if same_lt {
        assert_eq!(
            got.lt.to_string(),
            want["lt"].as_str().unwrap(),
            "{ctx}: lt"
        );
        assert_eq!(
            got.hash.to_string(),
            want["hash"].as_str().unwrap(),
            "{ctx}: hash"
        );
    }
    assert_eq!(
        tx.total_fees.tokens.into_inner().to_string(),
        want["totalFees"].as_str().unwrap(),
        "{ctx}: total fees"
    );
    let TxInfo::Ordinary(info) = tx.load_info().unwrap() else {
        panic!("{ctx}: not ordinary");
    };
    assert_eq!(
        Some(info.aborted),
        want["aborted"].as_bool(),
        "{ctx}: aborted"
    );
    match &info.compute_phase {
        ComputePhase::Executed(c) => {
            assert!(
                !want["computeSkipped"].as_bool().unwrap(),
                "{ctx}: compute ran"
            );
            assert_eq!(
                i64::from(c.exit_code),
                want["exitCode"].as_i64().unwrap(),
                "{ctx}: exit"
            );
            assert_eq!(
                c.gas_used.into_inner().to_string(),
                want["gasUsed"].as_str().unwrap(),
                "{ctx}: gas"
            );
        }
        ComputePhase::Skipped(_) => {
            assert!(
                want["computeSkipped"].as_bool().unwrap(),
                "{ctx}: compute skipped"
            )
        }
    }
    assert_eq!(
        u64::from(tx.out_msg_count.into_inner()),
        want["outMessages"].as_u64().unwrap(),
        "{ctx}: out messages"
    );
    assert_eq!(
        status(tx.end_status),
        want["endStatus"].as_str().unwrap(),
        "{ctx}: end status"
    );
}
