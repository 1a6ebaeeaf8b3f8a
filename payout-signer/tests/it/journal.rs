//! Double-sign protection and caps under concurrency: conflicting pairs, the rolling cap.

use std::collections::HashMap;

use labelmint_abi::SignedRequest;
use labelmint_payout_signer::wire::{CloseBody, raw_address};
use sqlx::Row;

use crate::support::{Env, TON, now, wide_limits};

#[tokio::test]
async fn a_thousand_concurrent_requests_in_conflicting_pairs_sign_exactly_once_per_key() {
    let env = Env::new(wide_limits()).await;
    let earnings = env.approve(250, TON, 7).await;
    let mut tasks = Vec::new();
    // 250 vault keys: the same query id with two different contents (other created_at).
    for (i, e) in earnings.iter().enumerate() {
        for variant in 0..2u32 {
            let mut body = env.batch(10_000 + i as u64, std::slice::from_ref(e), TON);
            body.created_at = now() as u32 - variant;
            let c = env.client.clone();
            tasks.push(tokio::spawn(async move {
                (
                    format!("q{}", 10_000 + i),
                    c.batch(&body).await.expect("http"),
                )
            }));
        }
    }
    // 250 escrow keys: the same seqno, two valid_until.
    for seqno in 0..250u32 {
        for variant in 0..2u64 {
            let body = CloseBody {
                escrow: raw_address(&env.escrow),
                seqno,
                valid_until: (now() + 300 + variant) as u32,
            };
            let c = env.client.clone();
            tasks.push(tokio::spawn(async move {
                (format!("s{seqno}"), c.close(&body).await.expect("http"))
            }));
        }
    }
    assert_eq!(tasks.len(), 1000);
    let mut per_key: HashMap<String, (u32, u32)> = HashMap::new();
    for t in tasks {
        let (key, outcome) = t.await.unwrap();
        let slot = per_key.entry(key).or_default();
        match outcome {
            Ok(signed) => {
                assert!(!signed.replayed);
                slot.0 += 1;
            }
            Err(r) => {
                assert_eq!(
                    (r.status, r.body.rule.as_deref()),
                    (409, Some("journal.conflict")),
                    "{}",
                    r.body.message
                );
                slot.1 += 1;
            }
        }
    }
    assert_eq!(per_key.len(), 500);
    assert!(
        per_key.values().all(|c| *c == (1, 1)),
        "exactly one signature per key"
    );
    let rows = sqlx::query("SELECT count(*) AS n FROM signer_journal")
        .fetch_one(&env.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.get::<i64, _>("n"), 500);
    // Every item was signed once.
    let items: i64 = sqlx::query_scalar("SELECT count(DISTINCT item_id) FROM signer_items")
        .fetch_one(&env.db.pool)
        .await
        .unwrap();
    assert_eq!(items, 250);
    let _ = labelmint_abi::escrow::CloseRequest::signing_hash;
}

#[tokio::test]
async fn the_hourly_cap_holds_under_concurrency() {
    let mut limits = wide_limits();
    limits.apply_cap(&format!("TON:hour={}", 10 * TON)).unwrap();
    let env = Env::new(limits).await;
    let earnings = env.approve(30, TON, 8).await;
    let mut tasks = Vec::new();
    for (i, e) in earnings.iter().enumerate() {
        let body = env.batch(20_000 + i as u64, std::slice::from_ref(e), TON);
        let c = env.client.clone();
        tasks.push(tokio::spawn(
            async move { c.batch(&body).await.expect("http") },
        ));
    }
    let (mut signed, mut capped) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => signed += 1,
            Err(r) => {
                assert_eq!(
                    r.body.rule.as_deref(),
                    Some("cap.hour"),
                    "{}",
                    r.body.message
                );
                capped += 1;
            }
        }
    }
    assert_eq!((signed, capped), (10, 20));
    let total: String =
        sqlx::query_scalar("SELECT COALESCE(SUM(amount), 0)::TEXT FROM signer_items")
            .fetch_one(&env.db.pool)
            .await
            .unwrap();
    assert_eq!(total, (10 * TON).to_string());
}
