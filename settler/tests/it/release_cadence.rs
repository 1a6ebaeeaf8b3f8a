//! Releases follow the approvals: once the ledger counts a landed release, the signer no
//! longer holds it as pending, so earnings approved after it are released in the next passes,
//! not after the last release's valid_until (120 s here).

use std::time::{Duration, Instant};

use labelmint_settler_testkit::{Options, PROJECT, Stack, TON, raw, wait_for};

async fn releases(s: &Stack) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'ev_release' AND contract = $1")
        .bind(raw(&s.project(PROJECT).escrow).to_string())
        .fetch_one(&s.pool)
        .await
        .expect("events")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earnings_approved_after_a_release_are_released_without_waiting_for_its_ttl() {
    let s = Stack::start(Options::new("settler_it_release_cadence")).await;
    let first = s.approve(PROJECT, "c1", 3, 0x72, 3, |_| TON / 10).await;
    let config = s.settler_config("cadence");
    assert_eq!(config.release_ttl, 120);
    let settler = labelmint_settler::spawn(config).await.expect("settler");
    wait_for("the first release", Duration::from_secs(60), || async {
        (releases(&s).await >= 1).then_some(())
    })
    .await;
    let landed = Instant::now();
    let second = s.approve(PROJECT, "c2", 3, 0x73, 3, |_| TON / 5).await;
    wait_for("the second release", Duration::from_secs(60), || async {
        (releases(&s).await >= 2).then_some(())
    })
    .await;
    assert!(
        landed.elapsed() < Duration::from_secs(60),
        "the second release waited {:?}: the first's TTL is 120 s",
        landed.elapsed()
    );
    wait_for(
        "every earning confirmed",
        Duration::from_secs(120),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;
    drop(settler);
    let released: String = sqlx::query_scalar(
        "SELECT sum(amount)::text FROM events WHERE kind = 'ev_release' AND contract = $1",
    )
    .bind(raw(&s.project(PROJECT).escrow).to_string())
    .fetch_one(&s.pool)
    .await
    .expect("sum");
    let approved: u128 = first.iter().chain(&second).map(|(_, a)| a).sum();
    assert_eq!(released.parse::<u128>().expect("amount"), approved);
    let paid = s.paid_attempts().await;
    assert_eq!(paid.len(), first.len() + second.len());
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
}
