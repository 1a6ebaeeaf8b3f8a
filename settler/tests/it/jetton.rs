//! The settler on a test USD (jetton) project: the client's jetton deposit (a transfer to the
//! escrow through its jetton wallet, learned by TEP-89), the relayer's release (escrow's
//! jetton wallet -> vault's, plus the fee to the treasury), batches of jetton transfers from
//! the vault's wallet, confirmed from the indexed events; every worker's jetton wallet holds
//! exactly its earnings, the ledger reconciles in USD and TON.

use std::collections::HashMap;
use std::time::Duration;

use labelmint_settler_testkit::{Coin, Options, ProjectSpec, Stack, USD, std_addr, wait_for};

const PROJECT: u64 = 5201;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usd_earnings_are_released_batched_and_paid_in_test_usd() {
    let mut o = Options::new("settler_it_jetton");
    o.projects = vec![ProjectSpec {
        id: PROJECT,
        coin: Coin::Usd,
        deposit: 500 * USD,
    }];
    let s = Stack::start(o).await;
    let escrow = s.project(PROJECT).escrow.clone();
    // 30 earnings of 0.25 .. 3.15 USD for 15 workers.
    let earnings = s
        .approve(PROJECT, "usd", 30, 7, 15, |i| {
            USD / 4 + (i as u128) * USD / 10
        })
        .await;
    let approved: u128 = earnings.iter().map(|(_, a)| a).sum();

    let mut config = s.settler_config("settler-usd");
    config.batch_size = 10;
    config.max_live_batches = 2;
    let settler = labelmint_settler::spawn(config).await.expect("settler");
    wait_for(
        "every USD earning confirmed",
        Duration::from_secs(180),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;
    drop(settler);

    // Exactly once, in the ledger: one paid item per earning, in batches of at most 10.
    let paid: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT earning_id, count(*) FROM ledger_batch_items WHERE outcome = 'paid' \
         GROUP BY earning_id",
    )
    .fetch_all(&s.pool)
    .await
    .expect("paid");
    assert_eq!(paid.len(), earnings.len());
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
    let (batches, max_items, currency): (i64, i32, String) = sqlx::query_as(
        "SELECT count(*), max(item_count), min(currency) FROM ledger_batches \
         WHERE state = 'confirmed'",
    )
    .fetch_one(&s.pool)
    .await
    .expect("batches");
    // 30 earnings (15 transfers when a worker's earnings share one) in batches of 10.
    assert!(batches >= 2, "{batches}");
    assert!(max_items <= 10);
    assert_eq!(currency, "USD");

    // On chain: the release moved test USD from the escrow to the vault once; each worker's
    // jetton wallet holds exactly its earnings (jettons have no storage dust).
    let releases: Vec<(String, String)> = sqlx::query_as(
        "SELECT amount::text, fee::text FROM events WHERE kind = 'ev_release' AND contract = $1",
    )
    .bind(labelmint_settler_testkit::raw(&escrow).to_string())
    .fetch_all(&s.pool)
    .await
    .expect("releases");
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0].0, approved.to_string());
    let funded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE kind = 'ev_vault_funded' AND contract = $1",
    )
    .bind(labelmint_settler_testkit::raw(&s.usd_vault).to_string())
    .fetch_one(&s.pool)
    .await
    .expect("funded");
    assert_eq!(funded, 1);
    let mut owed: HashMap<String, u128> = HashMap::new();
    for (a, amount) in &earnings {
        *owed.entry(a.to_string()).or_default() += amount;
    }
    assert_eq!(owed.len(), 15);
    for (worker, sum) in &owed {
        let a = labelmint_ledger::RawAddress::parse(worker).expect("address");
        assert_eq!(s.usd_balance(&std_addr(&a)), *sum, "{worker}");
    }

    // The ledger agrees with the indexed chain, in both currencies (the vault's TON float
    // paid the jetton transfers' gas).
    s.index_to_head().await;
    for (code, r) in s.reconcile().await {
        assert!(r.is_clean(), "{code}: {r:?}");
    }
    let vault_books: String = sqlx::query_scalar(
        "SELECT COALESCE(sum(amount), 0)::text FROM events \
         WHERE kind = 'ev_vault_funded' AND contract = $1",
    )
    .bind(labelmint_settler_testkit::raw(&s.usd_vault).to_string())
    .fetch_one(&s.pool)
    .await
    .expect("books");
    assert_eq!(vault_books, approved.to_string());
}
