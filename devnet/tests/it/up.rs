//! `devnet up`'s scenario, entirely through the liteserver: deploy, deposit, signed release,
//! signed payout batch, and the state read back.

use std::time::Duration;

use labelmint_devnet::scenario::{DEPOSIT, FEE_BPS, PAYOUTS, RELEASE, run};
use labelmint_devnet::{Config, spawn};

#[tokio::test]
async fn up_runs_the_money_flow_through_the_liteserver() {
    let devnet = spawn(Config {
        block_time: Some(Duration::from_millis(100)),
        ..Config::test()
    })
    .await
    .unwrap();
    let mut out = Vec::new();
    let report = run(
        devnet.addr(),
        devnet.public_key(),
        devnet.faucet_wallet().clone(),
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();

    let fee = RELEASE * u128::from(FEE_BPS) / 10_000;
    assert_eq!(
        report.escrow_data,
        (DEPOSIT, RELEASE, fee, DEPOSIT - RELEASE - fee),
        "{text}"
    );
    let paid: u128 = PAYOUTS.iter().sum();
    assert_eq!(report.vault_data, (RELEASE, paid, 0), "{text}");
    for (worker, amount) in report.workers.iter().zip(PAYOUTS) {
        let (_, balance) = report.balances.iter().find(|(a, _)| a == worker).unwrap();
        assert_eq!(*balance, amount, "{worker}");
    }
    // Every transaction that ran code succeeded (the workers' have no code: compute skipped,
    // which TON marks aborted).
    for tx in &report.transactions {
        match tx.exit_code {
            Some(code) => assert!(code == 0 && !tx.aborted, "{tx:?}"),
            None => assert!(report.workers.contains(&tx.account), "{tx:?}"),
        }
    }
    for needle in [
        "ev_deposit",
        "ev_release",
        "ev_vault_funded",
        "ev_batch_executed",
        "getTransactions",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[tokio::test]
async fn a_plan_with_fewer_amounts_than_workers_is_refused_before_anything_is_sent() {
    use labelmint_devnet::scenario::{Authorizer, Plan, Session, ThrowawaySigner, run_plan};
    let devnet = spawn(Config {
        block_time: Some(Duration::from_millis(100)),
        ..Config::test()
    })
    .await
    .unwrap();
    let mut out = Vec::new();
    let mut session = Session::connect(
        devnet.addr(),
        devnet.public_key(),
        devnet.faucet_wallet().clone(),
        &mut out,
    )
    .await
    .unwrap();
    let mut signer = ThrowawaySigner::new();
    let faucet = session.faucet_address().clone();
    let mut plan = Plan::new(7, 1_800_000_000, faucet, signer.public_key()).unwrap();
    plan.payouts.pop();
    let seqno = devnet.faucet_seqno().unwrap();
    let err = run_plan(&mut session, &plan, &mut signer)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 amounts to 3 workers"), "{err}");
    // Nothing was sent: the faucet's seqno did not move.
    assert_eq!(devnet.faucet_seqno().unwrap(), seqno);
}
