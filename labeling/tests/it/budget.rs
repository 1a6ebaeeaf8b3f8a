//! The budget at its edge: a project funded for exactly N answers takes N reservations and
//! refuses the next; approvals never pass the deposit.

use labelmint_labeling::{Error, TaskSet};
use labelmint_ledger::ProjectId;

use crate::support::{Env, PROJECT, worker};

const PRICE: u128 = 1_000_000;

#[tokio::test]
async fn a_project_funded_for_n_answers_reserves_n_and_approves_at_most_its_deposit() {
    // 10 answers of price + 2.5 % fee (25,000) fit: 10 * 1,025,000.
    let n = 10u128;
    let cost = PRICE + PRICE * 250 / 10_000;
    let env = Env::new(n * cost, 6, false).await;
    let mut ts = TaskSet::new(PROJECT, &["cat", "dog"], PRICE);
    ts.overlap = 1;
    ts.max_overlap = 1;
    ts.fee_bps = 250;
    ts.gold_per_mille = 0;
    env.labeling.put_task_set(&ts).await.expect("task set");
    env.upload(20, &[]).await;
    // The upload funded 10 answer slots (10 tasks): all the budget is held.
    assert_eq!(
        env.labeling.budget(PROJECT).await.expect("b"),
        (n * cost, n * cost)
    );
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_tasks WHERE funded = 1")
            .await,
        n as i64
    );
    let mut held = Vec::new();
    for i in 0..n as u32 {
        let w = worker(i);
        let r = env
            .labeling
            .next(PROJECT, &w)
            .await
            .expect("next")
            .expect("within budget");
        held.push((w, r));
    }
    match env.labeling.next(PROJECT, &worker(99)).await {
        Err(Error::BudgetExhausted {
            left,
            committed,
            cost: c,
            ..
        }) => {
            assert_eq!((left, committed, c), (n * cost, n * cost, cost));
        }
        other => panic!("expected the budget to be exhausted, got {other:?}"),
    }
    // One worker releases: exactly one more reservation fits.
    let (w0, r0) = held.remove(0);
    env.labeling
        .release(r0.task_id, &w0)
        .await
        .expect("release");
    let w = worker(100);
    let r = env
        .labeling
        .next(PROJECT, &w)
        .await
        .expect("next")
        .expect("the freed slot");
    held.push((w, r));
    assert!(matches!(
        env.labeling.next(PROJECT, &worker(101)).await,
        Err(Error::BudgetExhausted { .. })
    ));
    for (w, r) in &held {
        env.labeling
            .submit(r.task_id, w, "cat")
            .await
            .expect("submit");
    }
    let report = env.labeling.settle(PROJECT).await.expect("settle");
    assert_eq!(report.approvals_created, n as usize);
    let funding = env
        .ledger
        .project_funding(ProjectId(PROJECT))
        .await
        .expect("funding");
    assert_eq!(funding.approved, n * PRICE);
    // Approved + the fees due on it is the whole deposit: nothing is left, nothing is held.
    assert_eq!(env.labeling.budget(PROJECT).await.expect("b"), (0, 0));
    assert!(matches!(
        env.labeling.next(PROJECT, &worker(102)).await,
        Err(Error::BudgetExhausted { .. })
    ));
    // A new deposit makes room again after a pass.
    env.deposit(cost).await;
    env.labeling.settle(PROJECT).await.expect("settle");
    assert!(
        env.labeling
            .next(PROJECT, &worker(103))
            .await
            .expect("next")
            .is_some()
    );
}
