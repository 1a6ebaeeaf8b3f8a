//! The escrow side of jetton recovery, on the real stack: the treasury's test USD wallet is
//! LOCKED (USDT's `call_to` + `set_status`) when the settler carries a USD release, so the fee
//! leg is refused (exit 45) and the tokens come back to the escrow's jetton wallet off its
//! books (`jetton_transfer_bounced`, leg 2: `escrow_jetton_wallet_unbooked:P`). The settler
//! sends the escrow `jetton_recover` by itself, once; the escrow books the fee back into its
//! budget (`ev_jetton_recovered`): its budget equals its jetton wallet, nothing awaits
//! recovery, the workers are paid, and the ledger reconciles.

use std::time::Duration;

use labelmint_abi::jetton::STATUS_RECEIVE_LOCKED;
use labelmint_settler_testkit::{Coin, Options, ProjectSpec, Stack, USD, raw, wait_for};

const PROJECT: u64 = 5401;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_fee_refused_by_the_locked_treasury_wallet_is_recovered_into_the_escrow() {
    let mut o = Options::new("settler_it_jetton_recover_escrow");
    o.projects = vec![ProjectSpec {
        id: PROJECT,
        coin: Coin::Usd,
        deposit: 50 * USD,
    }];
    let s = Stack::start(o).await;
    let escrow = s.project(PROJECT).escrow.clone();
    let escrow_raw = raw(&escrow);
    s.set_usd_status(&s.treasury, STATUS_RECEIVE_LOCKED).await;
    let earnings = s
        .approve(PROJECT, "fee", 4, 54, 2, |i| 2 * USD + i as u128)
        .await;
    let approved: u128 = earnings.iter().map(|(_, a)| a).sum();
    // fee_bps 250 (the testkit's escrows): floor(amount * 250 / 10^4).
    let fee = approved * 250 / 10_000;

    let settler = labelmint_settler::spawn(s.settler_config("settler-recover-escrow"))
        .await
        .expect("settler");
    wait_for(
        "every earning confirmed and the refused fee recovered",
        Duration::from_secs(180),
        || async {
            let recovered: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM events WHERE contract = $1 AND kind = 'ev_jetton_recovered'",
            )
            .bind(escrow_raw.as_str())
            .fetch_one(&s.pool)
            .await
            .ok()?;
            let waiting = s.ledger.awaiting_recovery().await.ok()?;
            (s.all_confirmed().await && recovered > 0 && waiting.is_empty()).then_some(())
        },
    )
    .await;
    assert_eq!(settler.metrics.recoveries(), (1, 0));
    drop(settler);
    s.index_to_head().await;

    // On chain: one release (amount + fee left the escrow's books), the fee refused once and
    // booked back once; the treasury's locked wallet holds nothing.
    let facts: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, COALESCE(amount::text, '') FROM events WHERE contract = $1 \
         AND kind IN ('ev_release', 'ev_jetton_recovered', 'ev_jetton_recovery_failed') \
         ORDER BY lt",
    )
    .bind(escrow_raw.as_str())
    .fetch_all(&s.pool)
    .await
    .expect("events");
    assert_eq!(
        facts,
        vec![
            ("ev_release".to_string(), approved.to_string()),
            ("ev_jetton_recovered".to_string(), fee.to_string()),
        ]
    );
    let refused: Vec<String> = sqlx::query_scalar(
        "SELECT COALESCE(amount::text, '') FROM events WHERE kind = 'jetton_transfer_bounced'",
    )
    .fetch_all(&s.pool)
    .await
    .expect("refusals");
    assert_eq!(refused, vec![fee.to_string()]);
    assert_eq!(s.usd_balance(&s.treasury), 0);
    let st = s.escrow_storage(&escrow);
    assert_eq!(st.recovery_since, 0, "no recovery in flight");
    assert_eq!((st.recoveries, st.recovered), (1, fee));
    let budget = st.remaining().expect("budget");
    assert_eq!(budget, 50 * USD - approved, "the fee is back in the budget");
    assert_eq!(
        budget,
        s.usd_balance(&escrow),
        "the escrow's budget equals its jetton wallet"
    );
    let (outcome, attempts): (Option<String>, i64) =
        sqlx::query_as("SELECT outcome, attempts FROM settler_recoveries WHERE contract = $1")
            .bind(escrow_raw.as_str())
            .fetch_one(&s.pool)
            .await
            .expect("attempt");
    assert_eq!((outcome.as_deref(), attempts), (Some("recovered"), 1));

    // The workers got their earnings; the ledger agrees with the chain; nothing awaits.
    for (worker, sum) in earnings
        .iter()
        .fold(std::collections::HashMap::new(), |mut m, (a, v)| {
            *m.entry(a.clone()).or_insert(0u128) += v;
            m
        })
    {
        assert_eq!(
            s.usd_balance(&labelmint_settler_testkit::std_addr(&worker)),
            sum
        );
    }
    for (code, r) in s.reconcile().await {
        assert!(r.is_clean(), "{code}: {r:?}");
        assert!(r.awaiting_recovery.is_empty(), "{code}: {r:?}");
    }
}
