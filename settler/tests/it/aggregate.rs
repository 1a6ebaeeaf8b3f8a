//! Aggregation on the real stack: a worker who earned in two projects (two escrows releasing to
//! the one TON vault) is paid ONE transfer per settlement: the vault's batch has one item per
//! worker (`ev_batch_executed.count`, the vault's outgoing messages), the worker's wallet gets
//! the sum once, and every earning of the item is confirmed, exactly once.

use std::collections::HashMap;
use std::time::Duration;

use labelmint_ledger::{CurrencyCode, ItemOutcome, RawAddress};
use labelmint_settler_testkit::{
    Options, PROJECT, ProjectSpec, Stack, TON, raw, std_addr, wait_for,
};

/// A second project of the stack's client.
const PROJECT_2: u64 = 4102;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_earnings_across_projects_settle_as_one_transfer() {
    let s = Stack::start(Options {
        projects: vec![ProjectSpec::ton(PROJECT), ProjectSpec::ton(PROJECT_2)],
        ..Options::new("settler_it_aggregate")
    })
    .await;

    // ada: three earnings in project 1, two in project 2; bo and cy one each.
    let ada = RawAddress::from_parts(0, &[0xad; 32]);
    let bo = RawAddress::from_parts(0, &[0xb0; 32]);
    let cy = RawAddress::from_parts(0, &[0xc1; 32]);
    let mut ada_earnings = Vec::new();
    let mut ada_sum = 0;
    for (i, (project, amount)) in [
        (PROJECT, TON / 100),
        (PROJECT_2, 2 * TON / 100),
        (PROJECT, 3 * TON / 100),
        (PROJECT_2, 4 * TON / 100),
        (PROJECT, 5 * TON / 100),
    ]
    .into_iter()
    .enumerate()
    {
        ada_earnings.push(
            s.approve_earning(project, &format!("ada-{i}"), "ada", &ada, amount)
                .await,
        );
        ada_sum += amount;
    }
    let bo_earning = s
        .approve_earning(PROJECT, "bo-0", "bo", &bo, 7 * TON / 100)
        .await;
    let cy_earning = s
        .approve_earning(PROJECT_2, "cy-0", "cy", &cy, 8 * TON / 100)
        .await;

    let settler = labelmint_settler::spawn(s.settler_config("settler-aggregate"))
        .await
        .expect("settler");
    wait_for(
        "every earning confirmed",
        Duration::from_secs(180),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;
    drop(settler);
    s.index_to_head().await;

    // ada's five earnings were ONE item of ONE batch, paid once.
    let items: Vec<(i64, i64, String, i32)> = sqlx::query_as(
        "SELECT p.id, p.batch_id, p.outcome, p.earning_count FROM ledger_payout_items p \
         WHERE p.worker = 'ada'",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!((items[0].2.as_str(), items[0].3), ("paid", 5));
    let batch = s
        .ledger
        .batch(labelmint_ledger::BatchId(items[0].1))
        .await
        .unwrap()
        .expect("batch");
    let ledger_items = s.ledger.batch_items(batch.id).await.unwrap();
    let ada_item = ledger_items
        .iter()
        .find(|i| i.worker == "ada")
        .expect("ada's item");
    let mut want = ada_earnings.clone();
    want.sort();
    assert_eq!(ada_item.earnings, want);
    assert_eq!(ada_item.amount, ada_sum);
    assert_eq!(ada_item.outcome, ItemOutcome::Paid);
    for e in &ada_earnings {
        assert_eq!(
            s.ledger.earning_attempts(*e).await.unwrap(),
            vec![(batch.id, ItemOutcome::Paid)],
            "earning {e} paid once, in ada's item"
        );
    }
    // Every earning was in exactly one paid attempt.
    let paid = s.paid_attempts().await;
    assert_eq!(paid.len(), 7);
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
    assert!(
        ledger_items
            .iter()
            .any(|i| i.earnings == vec![bo_earning] || i.earnings == vec![cy_earning])
    );

    // On chain: the vault's batch paid one item per worker (3 when every earning was in it),
    // one message to ada carrying the sum, not bounceable (ada's wallet does not exist yet).
    let executed: Vec<(String, String)> = sqlx::query_as(
        "SELECT query_id::text, fields->>'count' FROM events WHERE contract = $1 \
         AND kind = 'ev_batch_executed' ORDER BY lt",
    )
    .bind(raw(&s.ton_vault).to_string())
    .fetch_all(&s.pool)
    .await
    .unwrap();
    let ours = executed
        .iter()
        .find(|(q, _)| *q == batch.query_id.to_string())
        .expect("the batch executed on chain");
    assert_eq!(ours.1, batch.item_count.to_string());
    let total_items: usize = executed
        .iter()
        .map(|(_, c)| c.parse::<usize>().expect("count"))
        .sum();
    assert_eq!(total_items, 3, "one transfer per worker: {executed:?}");
    let out = s.vault_payouts(&s.ton_vault, batch.query_id).await;
    let to_ada: Vec<_> = out
        .iter()
        .filter(|(d, _, _)| *d == ada.to_string())
        .collect();
    assert_eq!(to_ada.len(), 1, "{out:?}");
    assert_eq!((to_ada[0].1, to_ada[0].2), (ada_sum, false));

    // Exactly once on chain: each worker holds the sum of its earnings (uninit accounts pay at
    // most dust in storage).
    let mut owed: HashMap<&RawAddress, u128> = HashMap::new();
    owed.insert(&ada, ada_sum);
    owed.insert(&bo, 7 * TON / 100);
    owed.insert(&cy, 8 * TON / 100);
    for (worker, sum) in owed {
        let got = s.balance(&std_addr(worker));
        assert!(
            got <= sum && got + 10_000 >= sum,
            "{worker}: on chain {got}, owed {sum}"
        );
    }
    let r = s
        .ledger
        .reconcile(&CurrencyCode::ton())
        .await
        .expect("reconcile");
    assert!(r.is_clean(), "{r:?}");
}
