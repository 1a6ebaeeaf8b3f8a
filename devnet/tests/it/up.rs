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
