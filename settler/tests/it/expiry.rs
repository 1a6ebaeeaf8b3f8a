//! Expiry in chain time: a batch signed but withheld (the settler crashed between the signer
//! and the liteserver, and came back too late) is expired only once the INDEXED chain time is
//! past its valid_until plus the finality margin; its earnings are re-batched under a new
//! query id and paid once; the withheld bytes, sent late, are refused by the vault.

use std::collections::HashMap;
use std::time::Duration;

use labelmint_ledger::{BatchRequest, BatchState, CurrencyCode, ItemOutcome};
use labelmint_payout_signer::wire::{BatchBody, ItemBody};
use labelmint_settler::chain::Chain;
use tycho_types::boc::Boc;

use labelmint_settler_testkit::{Options, PROJECT, Stack, TON, raw, std_addr, wait_for};

const TIMEOUT: u32 = 40;
const WITHHELD_QUERY_ID: u64 = 777;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withheld_batch_expires_in_chain_time_and_is_paid_once_under_a_new_query_id() {
    let s = Stack::start(Options {
        vault_timeout: TIMEOUT,
        ..Options::new("settler_it_expiry")
    })
    .await;
    let earnings = s
        .approve(PROJECT, "exp", 5, 0x60, 5, |i| {
            TON / 100 + ((i % 50) as u128) * 100_000
        })
        .await;

    // Formed and signed, never sent.
    let now = s.devnet.node().now();
    let batch = s
        .ledger
        .form_batch(&BatchRequest {
            currency: CurrencyCode::ton(),
            max_items: 3,
            max_total: 10 * TON,
            query_id: WITHHELD_QUERY_ID,
            created_at: now,
            valid_until: now + TIMEOUT - 1,
        })
        .await
        .expect("form")
        .expect("a batch");
    let items = s.ledger.batch_items(batch.id).await.unwrap();
    let body = BatchBody {
        vault: batch.vault.to_string(),
        query_id: batch.query_id.to_string(),
        created_at: batch.created_at,
        attach: "0".into(),
        forward_ton: "0".into(),
        items: items
            .iter()
            .map(|i| ItemBody {
                item_id: i.item_id.get().to_string(),
                dest: i.payout_address.to_string(),
                amount: i.amount.to_string(),
                bounceable: false,
            })
            .collect(),
    };
    let signed = s
        .signer
        .client()
        .batch(&body)
        .await
        .expect("signer reachable")
        .expect("signed");
    let withheld = Boc::decode_base64(&signed.boc).expect("boc");
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&signed.signing_hash, &mut hash).unwrap();
    let _ = s.ledger.mark_signed(batch.id, hash).await.unwrap();

    // The settler comes back after valid_until (chain time).
    wait_for(
        "chain time past valid_until",
        Duration::from_secs(60),
        || async { (s.devnet.node().now() > batch.valid_until).then_some(()) },
    )
    .await;
    let settler = labelmint_settler::spawn(s.settler_config("settler-expiry"))
        .await
        .expect("settler");
    wait_for(
        "every earning confirmed",
        Duration::from_secs(180),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;

    // The withheld batch expired (in chain time, past the margin) and was never executed.
    let expired = s.ledger.batch(batch.id).await.unwrap().expect("batch");
    assert_eq!(expired.state, BatchState::Expired);
    let expired_at: i64 =
        sqlx::query_scalar("SELECT expired_at_chain FROM ledger_batches WHERE id = $1")
            .bind(batch.id.0)
            .fetch_one(&s.pool)
            .await
            .unwrap();
    assert!(expired_at > i64::from(batch.valid_until));
    for (item, earning) in s
        .ledger
        .batch_items(batch.id)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|i| i.earnings.clone().into_iter().map(move |e| (i.clone(), e)))
    {
        assert_eq!(item.outcome, ItemOutcome::Expired);
        let attempts = s.ledger.earning_attempts(earning).await.unwrap();
        assert_eq!(attempts.len(), 2, "expired once, then paid: {attempts:?}");
        let paid = attempts
            .iter()
            .filter(|(_, o)| *o == ItemOutcome::Paid)
            .count();
        assert_eq!(paid, 1);
        let (again, _) = attempts
            .iter()
            .find(|(_, o)| *o == ItemOutcome::Paid)
            .unwrap();
        let again = s.ledger.batch(*again).await.unwrap().unwrap();
        assert_ne!(
            again.query_id, WITHHELD_QUERY_ID,
            "re-batched under a new query id"
        );
    }

    // The withheld bytes arrive late: the vault refuses them (created_at too old).
    let mut chain = Chain::new(s.liteservers()).unwrap();
    let _ = chain.send(&withheld).await; // refused or dropped: either way it must not execute
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.index_to_head().await;
    let executed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE contract = $1 AND kind = 'ev_batch_executed' \
         AND query_id = $2",
    )
    .bind(raw(&s.ton_vault).to_string())
    .bind(WITHHELD_QUERY_ID as i64)
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert_eq!(executed, 0, "the late withheld batch never executed");
    drop(settler);

    // Paid exactly once on chain, and the ledger reconciles.
    let mut owed: HashMap<String, u128> = HashMap::new();
    for (a, amount) in &earnings {
        *owed.entry(a.to_string()).or_default() += amount;
    }
    for (worker, sum) in &owed {
        let got = s.balance(&std_addr(
            &labelmint_ledger::RawAddress::parse(worker).unwrap(),
        ));
        assert!(
            got <= *sum && got + 10_000 >= *sum,
            "{worker}: {got} vs {sum}"
        );
    }
    let _ = s.ledger.ingest_chain_events(10_000).await.unwrap();
    let r = s.ledger.reconcile(&CurrencyCode::ton()).await.unwrap();
    assert!(r.is_clean(), "{r:?}");
}
