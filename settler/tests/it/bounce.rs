//! A payout that bounces, on the real stack (devnet, indexer, the payout-signer process,
//! Postgres): a worker gave a contract's address as their wallet (a deployed escrow, which
//! throws on a text comment). The settler pays a deployed destination BOUNCEABLE, so the
//! payout comes back to the vault (`ev_payout_bounced`, carrying the item id); every earning of
//! the item is payable again with its reason, and the address is on hold: the settler does not
//! pay it again by itself. After the worker's address is corrected in the ledger (recorded),
//! the next settlement pays the earnings to the new address in one new item, exactly once, and
//! the ledger reconciles with the chain.

use std::time::{Duration, Instant};

use labelmint_ledger::{
    AddressCorrection, BounceReason, CurrencyCode, EarningState, ItemOutcome, RawAddress,
};

use labelmint_settler_testkit::{Options, PROJECT, Stack, TON, raw, std_addr, wait_for};

/// The project id of the contract the worker mistook for a wallet (never registered).
const STRANGER: u64 = 9_999;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounced_payout_is_payable_again_and_paid_once_after_the_address_is_corrected() {
    let s = Stack::start(Options::new("settler_it_bounce")).await;
    // The signer's role reads the indexer's tables (granted by the indexer's migrations), so
    // it sees a bounced payout on chain and may pay its earnings again at once (without them
    // it would wait until the first signature's valid_until has passed).
    let refuser = raw(&s.deploy_stranger_escrow(STRANGER).await);
    let before = s.balance(&std_addr(&refuser));

    // "wrong" has two earnings (one transfer) to the contract; "fine" one to a new wallet.
    let fine = RawAddress::from_parts(0, &[0xf1; 32]);
    let wrong = [
        s.approve_earning(PROJECT, "wrong-0", "wrong", &refuser, 2 * TON / 100)
            .await,
        s.approve_earning(PROJECT, "wrong-1", "wrong", &refuser, 3 * TON / 100)
            .await,
    ];
    let owed = 5 * TON / 100;
    let fine_earning = s
        .approve_earning(PROJECT, "fine-0", "fine", &fine, 4 * TON / 100)
        .await;

    let settler = labelmint_settler::spawn(s.settler_config("settler-bounce"))
        .await
        .expect("settler");
    // The payout to the contract comes back: both earnings approved again, with the reason.
    let bounces = wait_for(
        "the payout bounced and was ingested",
        Duration::from_secs(180),
        || async {
            let b = s.ledger.earning_bounces(wrong[1]).await.unwrap();
            let e = s.ledger.earning(fine_earning).await.unwrap().unwrap();
            (!b.is_empty() && e.state == EarningState::Confirmed).then_some(b)
        },
    )
    .await;
    assert_eq!(bounces.len(), 1);
    assert_eq!(bounces[0].reason, BounceReason::PayoutBounced);
    let first_item = bounces[0].item_id;
    for e in wrong {
        let earning = s.ledger.earning(e).await.unwrap().unwrap();
        assert_eq!(earning.state, EarningState::Approved, "payable again");
        let b = s.ledger.earning_bounces(e).await.unwrap();
        assert_eq!(
            (b.len(), b[0].item_id, b[0].reason),
            (1, first_item, BounceReason::PayoutBounced),
            "one item paid both earnings and came back for both"
        );
    }
    // On chain: the vault sent ONE bounceable transfer to the deployed contract; the bounce
    // event carries that item id; the contract kept nothing.
    let batch = s.ledger.batch(bounces[0].batch).await.unwrap().unwrap();
    let out = s.vault_payouts(&s.ton_vault, batch.query_id).await;
    let to_contract: Vec<_> = out
        .iter()
        .filter(|(d, _, _)| *d == refuser.to_string())
        .collect();
    assert_eq!(to_contract.len(), 1, "{out:?}");
    assert_eq!(
        (to_contract[0].1, to_contract[0].2),
        (owed, true),
        "bounceable: the destination is deployed"
    );
    let to_fine: Vec<_> = out
        .iter()
        .filter(|(d, _, _)| *d == fine.to_string())
        .collect();
    assert_eq!(to_fine.len(), 1);
    assert!(
        !to_fine[0].2,
        "not bounceable: the new wallet does not exist yet"
    );
    let bounced_events: Vec<(String, String)> = sqlx::query_as(
        "SELECT payout_item_id::text, amount::text FROM events WHERE contract = $1 \
         AND kind = 'ev_payout_bounced'",
    )
    .bind(raw(&s.ton_vault).to_string())
    .fetch_all(&s.pool)
    .await
    .unwrap();
    assert_eq!(bounced_events.len(), 1);
    assert_eq!(bounced_events[0].0, first_item.get().to_string());
    let back: u128 = bounced_events[0].1.parse().unwrap();
    assert!(back < owed && back > owed - TON / 100, "minus fees: {back}");
    assert!(s.balance(&std_addr(&refuser)) <= before);

    // The address is on hold: the settler keeps the earnings payable and does not pay the
    // contract again by itself.
    let holds = s.ledger.payout_holds(&CurrencyCode::ton()).await.unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(
        (
            holds[0].worker.as_str(),
            &holds[0].payout_address,
            holds[0].item_id
        ),
        ("wrong", &refuser, first_item)
    );
    let quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) {
        for e in wrong {
            assert_eq!(s.ledger.earning_attempts(e).await.unwrap().len(), 1);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The worker's address is corrected (recorded), and the next settlement pays it once.
    let corrected = RawAddress::from_parts(0, &[0xc0; 32]);
    let rec = s
        .ledger
        .correct_payout_address(&AddressCorrection {
            worker: "wrong".into(),
            currency: CurrencyCode::ton(),
            new_address: corrected.clone(),
            corrected_by: "admin:settler-test".into(),
            reason: "the worker gave a contract address".into(),
        })
        .await
        .expect("correct");
    assert!(rec.id.is_some());
    assert_eq!(rec.corrected.len(), 2);
    assert!(rec.corrected.iter().all(|(_, old)| *old == refuser));
    wait_for(
        "every earning confirmed",
        Duration::from_secs(180),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;
    drop(settler);
    s.index_to_head().await;

    // Exactly once: each earning bounced once and was paid once, in a new item to the new
    // address.
    let mut second_items = Vec::new();
    for e in wrong {
        let attempts = s.ledger.earning_attempts(e).await.unwrap();
        let outcomes: Vec<ItemOutcome> = attempts.iter().map(|(_, o)| *o).collect();
        assert_eq!(outcomes, vec![ItemOutcome::Bounced, ItemOutcome::Paid]);
        let paid_in = attempts[1].0;
        let items = s.ledger.batch_items(paid_in).await.unwrap();
        let item = items
            .iter()
            .find(|i| i.earnings.contains(&e))
            .expect("its item");
        assert_eq!(item.payout_address, corrected);
        assert_ne!(item.item_id, first_item, "a new item id");
        second_items.push((paid_in, item.item_id));
        assert_eq!(s.ledger.address_corrections(e).await.unwrap()[0].1, refuser);
    }
    assert_eq!(second_items[0], second_items[1], "one transfer again");
    let got = s.balance(&std_addr(&corrected));
    assert!(
        got <= owed && got + 10_000 >= owed,
        "the corrected address got {got}, owed {owed}"
    );
    let paid = s.paid_attempts().await;
    assert_eq!(paid.len(), 3);
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
    let r = s
        .ledger
        .reconcile(&CurrencyCode::ton())
        .await
        .expect("reconcile");
    assert!(r.is_clean(), "{r:?}");
    let bounce_costs = s
        .ledger
        .balance(
            &labelmint_ledger::Account::BounceCosts(CurrencyCode::ton()),
            &CurrencyCode::ton(),
        )
        .await
        .unwrap();
    assert_eq!(bounce_costs, (owed - back) as i128);
}
