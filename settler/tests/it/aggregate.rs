//! Aggregation on the real stack: a worker who earned in two projects (two escrows releasing to
//! the one TON vault) is paid ONE transfer per settlement: the vault's batch has one item per
//! worker (`ev_batch_executed.count`, the vault's outgoing messages), the worker's wallet gets
//! the sum once, and every earning of the item is confirmed, exactly once.

use std::collections::HashMap;
use std::time::Duration;

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRoutes};
use labelmint_abi::state_init::{escrow_address, escrow_state_init};
use labelmint_devnet::wallet::Transfer;
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_ledger::{
    CurrencyCode, EarningId, ItemOutcome, NewEarning, Project, ProjectId, RawAddress,
};
use tycho_types::models::StdAddr;

use crate::support::{DEPOSIT, PROJECT, Stack, TON, raw, std_addr, wait_for};

/// A second project of the stack's client.
pub(crate) const PROJECT_2: u64 = 4102;

/// Deploys an escrow of `project_id` (routes to the stack's vault, fees to the faucet) and
/// returns its address. `register`: made known to the ledger, the signer and the indexer, and
/// funded with [`DEPOSIT`]; otherwise it is just a deployed contract that refuses anything but
/// its own messages (a text comment makes it throw).
pub(crate) async fn deploy_escrow(s: &Stack, project_id: u64, register: bool) -> StdAddr {
    let faucet = s.devnet.genesis().faucet.clone();
    let params = EscrowParams {
        project_id,
        signer_key: s.signer.public_key,
        deadline: s.devnet.node().now() + 30 * 86_400,
        fee_bps: 250,
        client: faucet.clone(),
        jetton_master: None,
        routes: EscrowRoutes {
            vault: s.vault.clone(),
            treasury: faucet.clone(),
        },
    };
    let escrow = escrow_address(&params).expect("escrow address");
    if register {
        s.ledger
            .register_project(&Project {
                id: ProjectId(project_id),
                escrow: raw(&escrow),
                currency: CurrencyCode::ton(),
                client: raw(&faucet),
            })
            .await
            .expect("project");
        s.signer
            .command(
                "register",
                &[
                    "--escrow",
                    &escrow.to_string(),
                    "--project",
                    &project_id.to_string(),
                ],
            )
            .await
            .expect("register escrow");
        s.indexer
            .store
            .watch(&WatchedAccount {
                address: raw(&escrow).to_string(),
                kind: AccountKind::Escrow,
                project_id: Some(project_id),
                owner: None,
                currency: Some("TON".to_owned()),
            })
            .await
            .expect("watch");
    }
    s.devnet
        .faucet_send(&[Transfer {
            to: escrow.clone(),
            amount: TON / 10,
            bounce: false,
            body: Some(
                EscrowDeploy {
                    query_id: project_id,
                }
                .build()
                .expect("deploy"),
            ),
            init: Some(escrow_state_init(&params).expect("init")),
            mode: 3,
        }])
        .expect("faucet");
    wait_for("the escrow deployed", Duration::from_secs(30), || async {
        (s.balance(&escrow) > 0).then_some(())
    })
    .await;
    if register {
        let deposit = EscrowDeposit {
            query_id: project_id + 1,
            amount: DEPOSIT,
        }
        .build()
        .expect("deposit");
        s.devnet
            .faucet_send(&[Transfer {
                to: escrow.clone(),
                amount: DEPOSIT + TON / 100,
                bounce: true,
                body: Some(deposit),
                init: None,
                mode: 3,
            }])
            .expect("deposit");
        wait_for("the deposit", Duration::from_secs(30), || async {
            (s.balance(&escrow) > DEPOSIT).then_some(())
        })
        .await;
    }
    escrow
}

/// Approves an earning; returns its id.
pub(crate) async fn approve(
    s: &Stack,
    key: &str,
    worker: &str,
    to: &RawAddress,
    project: u64,
    amount: u128,
) -> EarningId {
    s.ledger
        .approve_earning(&NewEarning {
            submission_key: key.into(),
            worker: worker.into(),
            payout_address: to.clone(),
            project: ProjectId(project),
            amount,
            decision_id: format!("decision-{key}"),
        })
        .await
        .expect("approve")
        .earning_id
}

/// The vault's outgoing internal messages of the transaction that executed query id `q`:
/// (destination, value, bounce flag).
pub(crate) async fn payouts_of(s: &Stack, q: u64) -> Vec<(String, u128, bool)> {
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT m.dst, m.value::text, m.bounce FROM events e \
         JOIN messages m ON m.tx_hash = e.tx_hash AND m.direction = 'out' AND m.msg_kind = 'int' \
         WHERE e.contract = $1 AND e.kind = 'ev_batch_executed' AND e.query_id = $2::numeric \
         ORDER BY m.idx",
    )
    .bind(raw(&s.vault).to_string())
    .bind(q.to_string())
    .fetch_all(&s.pool)
    .await
    .expect("payout messages");
    rows.into_iter()
        .map(|(d, v, b)| (d, v.parse().expect("value"), b))
        .collect()
}

/// Waits until the indexer has the devnet's head, then ingests.
pub(crate) async fn index_to_head(s: &Stack) {
    let head = s.devnet.node().lock().last_master().expect("head").id.seqno;
    wait_for(
        "the indexer at the head",
        Duration::from_secs(30),
        || async {
            let cp = s.indexer.store.checkpoint().await.unwrap();
            (cp >= Some(head)).then_some(())
        },
    )
    .await;
    let _ = s.ledger.ingest_chain_events(10_000).await.expect("ingest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_earnings_across_projects_settle_as_one_transfer() {
    let s = Stack::new("settler_it_aggregate", 300).await;
    deploy_escrow(&s, PROJECT_2, true).await;

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
        ada_earnings.push(approve(&s, &format!("ada-{i}"), "ada", &ada, project, amount).await);
        ada_sum += amount;
    }
    let bo_earning = approve(&s, "bo-0", "bo", &bo, PROJECT, 7 * TON / 100).await;
    let cy_earning = approve(&s, "cy-0", "cy", &cy, PROJECT_2, 8 * TON / 100).await;

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
    index_to_head(&s).await;

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
    let paid: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT earning_id, count(*) FROM ledger_batch_items WHERE outcome = 'paid' \
         GROUP BY earning_id",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
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
    .bind(raw(&s.vault).to_string())
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
    let out = payouts_of(&s, batch.query_id).await;
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
