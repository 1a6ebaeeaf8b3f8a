//! The settler on the real stack: TON earnings released from the escrow by the relayer,
//! batched, signed by the payout-signer process, sent through the liteserver, confirmed from
//! the indexed events; each earning paid exactly once (the workers' balances on chain), the
//! ledger reconciled with the chain, across a leader failover.

use std::time::{Duration, Instant};

use labelmint_ledger::CurrencyCode;

use labelmint_settler_testkit::{Options, PROJECT, Stack, TON, raw, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ton_earnings_are_paid_exactly_once_across_a_leader_failover() {
    let s = Stack::start(Options::new("settler_it_ton")).await;
    let earnings = s
        .approve(PROJECT, "ton", 30, 0x60, 12, |i| {
            TON / 100 + ((i % 50) as u128) * 100_000
        })
        .await;

    let config = |holder: &str| {
        let mut c = s.settler_config(holder);
        c.batch_size = 6;
        c.max_live_batches = 2;
        c
    };
    let a = labelmint_settler::spawn(config("settler-a"))
        .await
        .expect("a");
    wait_for("a leads", Duration::from_secs(10), || async {
        a.metrics.leading().0.then_some(())
    })
    .await;
    let b = labelmint_settler::spawn(config("settler-b"))
        .await
        .expect("b");
    let token_a = a.metrics.leading().1;

    // a releases and pays a first batch; then it dies.
    wait_for("a confirmed batch", Duration::from_secs(120), || async {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ledger_batches WHERE state = 'confirmed'")
                .fetch_one(&s.pool)
                .await
                .unwrap();
        (n >= 1).then_some(())
    })
    .await;
    assert!(!b.metrics.leading().0, "b stands by while a leads");
    a.abort();
    let died = Instant::now();
    wait_for("b leads", Duration::from_secs(5), || async {
        b.metrics.leading().0.then_some(())
    })
    .await;
    assert!(
        died.elapsed() < Duration::from_secs(5),
        "takeover within 5 s"
    );
    assert!(b.metrics.leading().1 > token_a);

    wait_for(
        "every earning confirmed",
        Duration::from_secs(180),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;
    drop(b);

    // Exactly once in the ledger: one paid item per earning.
    let paid = s.paid_attempts().await;
    assert_eq!(paid.len(), earnings.len());
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
    // Batches respect the batch size; the release funded the vault once.
    let max_items: i32 = sqlx::query_scalar("SELECT max(item_count) FROM ledger_batches")
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert!(max_items <= 6);
    let releases: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE kind = 'ev_release' AND contract = $1",
    )
    .bind(raw(&s.project(PROJECT).escrow).to_string())
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert_eq!(releases, 1, "one release covered every approved earning");

    // Exactly once on chain: each worker holds exactly the sum of its earnings (a second
    // payment would add at least 0.01 TON; uninit accounts pay at most dust in storage).
    s.assert_ton_paid_once(&earnings);

    // The ledger agrees with the indexed chain, to the unit.
    s.index_to_head().await;
    let r = s
        .ledger
        .reconcile(&CurrencyCode::ton())
        .await
        .expect("reconcile");
    assert!(r.is_clean(), "{r:?}");
    assert!(
        s.balance(&s.ton_vault) >= TON / 2,
        "the vault kept its float"
    );
}
