//! A bounced release is restored and released again by the settler: the escrow's release to
//! a vault that does not exist yet comes back (leg 1 bounces), the escrow puts the amount back
//! into its budget (`ev_release_bounced`), the ledger makes it releasable again, and the
//! settler releases it again by itself at the escrow's next seqno. Once the vault exists the
//! release lands, every earning is paid exactly once, and the ledger reconciles.

use std::time::Duration;

use labelmint_ledger::{CurrencyCode, ProjectId};
use labelmint_settler_testkit::{Options, PROJECT, Stack, TON, raw, wait_for};

async fn count(s: &Stack, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = $1 AND contract = $2")
        .bind(kind)
        .bind(raw(&s.project(PROJECT).escrow).to_string())
        .fetch_one(&s.pool)
        .await
        .expect("events")
}

/// Sum of a column (`amount` or `fee`) over the escrow's events of `kind`.
async fn sum(s: &Stack, kind: &str, column: &str) -> u128 {
    let sql = format!(
        "SELECT COALESCE(sum({column}), 0)::text FROM events WHERE kind = $1 AND contract = $2"
    );
    let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(kind)
        .bind(raw(&s.project(PROJECT).escrow).to_string())
        .fetch_one(&s.pool)
        .await
        .expect("events");
    v.parse().expect("amount")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounced_release_is_restored_and_released_again_once_the_vault_exists() {
    let mut o = Options::new("settler_it_release_bounce");
    o.ton_vault_later = true;
    let s = Stack::start(o).await;
    let earnings = s
        .approve(PROJECT, "rb", 6, 0x71, 3, |i| {
            TON / 10 + i as u128 * TON / 100
        })
        .await;
    let total: u128 = earnings.iter().map(|(_, a)| a).sum();
    let remaining = || {
        s.escrow_storage(&s.project(PROJECT).escrow)
            .remaining()
            .expect("consistent escrow counters")
    };
    let budget_before = remaining();

    let mut config = s.settler_config("release-bounce");
    config.release_ttl = 30;
    config.batch_size = 6;
    let settler = labelmint_settler::spawn(config).await.expect("settler");

    // The first release goes out and its vault leg comes back.
    wait_for("a release bounced", Duration::from_secs(60), || async {
        (count(&s, "ev_release_bounced").await >= 1).then_some(())
    })
    .await;
    // Restored: the escrow's budget is back (less the platform fee, which reached the
    // treasury), the ledger says the whole amount is releasable again, nothing was paid.
    wait_for(
        "the ledger made it releasable again",
        Duration::from_secs(30),
        || async {
            let r = s.ledger.releasable(ProjectId(PROJECT)).await.ok()?;
            (r == total).then_some(())
        },
    )
    .await;
    // Each attempt's vault leg came back whole; its fee reached the treasury.
    s.index_to_head().await;
    assert_eq!(
        sum(&s, "ev_release_bounced", "amount").await,
        sum(&s, "ev_release", "amount").await
    );
    assert_eq!(
        remaining(),
        budget_before - sum(&s, "ev_release", "fee").await,
        "the escrow's budget is back, less the fees"
    );
    assert_eq!(
        s.states().await,
        vec![("approved".to_string(), earnings.len() as i64)]
    );

    // The vault appears, with a float below a batch's fee reserves (it pays only from what a
    // release brings); the settler releases again by itself and pays.
    s.deploy_ton_vault(8 * TON / 10).await;
    wait_for("the release landed", Duration::from_secs(90), || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE kind = 'ev_vault_funded' AND contract = $1",
        )
        .bind(raw(&s.ton_vault).to_string())
        .fetch_one(&s.pool)
        .await
        .ok()?;
        (n >= 1).then_some(())
    })
    .await;
    wait_for(
        "every earning confirmed",
        Duration::from_secs(150),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;
    drop(settler);

    // Released again, exactly what was approved: every release but the last bounced.
    let (released, bounced) = (
        count(&s, "ev_release").await,
        count(&s, "ev_release_bounced").await,
    );
    assert!(released >= 2, "{released} releases");
    assert_eq!(
        bounced,
        released - 1,
        "only the release after the vault appeared landed"
    );
    let funded: String = sqlx::query_scalar(
        "SELECT COALESCE(sum(amount), 0)::text FROM events WHERE kind = 'ev_vault_funded' \
         AND contract = $1",
    )
    .bind(raw(&s.ton_vault).to_string())
    .fetch_one(&s.pool)
    .await
    .expect("funded");
    assert_eq!(funded.parse::<u128>().expect("amount"), total);

    // Paid once: one paid item per earning, each worker holds what it earned.
    let paid = s.paid_attempts().await;
    assert_eq!(paid.len(), earnings.len());
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
    s.assert_ton_paid_once(&earnings);
    s.index_to_head().await;
    let r = s
        .ledger
        .reconcile(&CurrencyCode::ton())
        .await
        .expect("reconcile");
    assert!(r.is_clean(), "{r:?}");
}
