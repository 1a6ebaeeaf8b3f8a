//! Double-sign protection and caps under concurrency: conflicting pairs, the rolling cap, and
//! the rules that concurrent requests decided in one group must still see of each other
//! (one item in many batches, one worker's cap, identical requests, releases).

use std::collections::HashMap;

use labelmint_abi::SignedRequest;
use labelmint_payout_signer::wire::{ReleaseBody, raw_address};
use sqlx::Row;

use crate::support::{Env, TON, expire_behind_the_ledgers_back, now, wide_limits};

#[tokio::test]
async fn a_thousand_concurrent_requests_in_conflicting_pairs_sign_exactly_once_per_key() {
    let env = Env::new(wide_limits()).await;
    let earnings = env.approve(250, TON, 7).await;
    let mut tasks = Vec::new();
    // 250 vault keys: the same query id with two different contents (other created_at).
    let t = now() as u32;
    let mut bodies = Vec::new();
    for (i, e) in earnings.iter().enumerate() {
        for variant in 0..2u32 {
            let mut body = env
                .batch(10_000 + i as u64, std::slice::from_ref(e), TON)
                .await;
            body.created_at = t - variant;
            bodies.push((i, body));
        }
    }
    for (i, body) in bodies {
        let c = env.client.clone();
        tasks.push(tokio::spawn(async move {
            (
                format!("q{}", 10_000 + i),
                c.batch(&body).await.expect("http"),
            )
        }));
    }
    // 250 escrow keys: the same seqno, two valid_until (releases of 1 nanoTON each: an
    // escrow has at most one live close, see close.once).
    for seqno in 0..250u32 {
        for variant in 0..2u64 {
            let body = ReleaseBody {
                escrow: raw_address(&env.escrow),
                seqno,
                valid_until: (now() + 300 + variant) as u32,
                amount: "1".into(),
            };
            let c = env.client.clone();
            tasks.push(tokio::spawn(async move {
                (format!("s{seqno}"), c.release(&body).await.expect("http"))
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
    assert_grouped(&env);
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
    let _ = labelmint_abi::escrow::ReleaseRequest::signing_hash;
}

#[tokio::test]
async fn the_hourly_cap_holds_under_concurrency() {
    let mut limits = wide_limits();
    limits.apply_cap(&format!("TON:hour={}", 10 * TON)).unwrap();
    let env = Env::new(limits).await;
    let earnings = env.approve(30, TON, 8).await;
    // Every body first (the ledger forms each batch), then all requests at once.
    let mut bodies = Vec::new();
    for (i, e) in earnings.iter().enumerate() {
        bodies.push(
            env.batch(20_000 + i as u64, std::slice::from_ref(e), TON)
                .await,
        );
    }
    let mut tasks = Vec::new();
    for body in bodies {
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
    assert_grouped(&env);
    let total: String =
        sqlx::query_scalar("SELECT COALESCE(SUM(amount), 0)::TEXT FROM signer_items")
            .fetch_one(&env.db.pool)
            .await
            .unwrap();
    assert_eq!(total, (10 * TON).to_string());
}

/// Concurrent requests were decided several to a transaction (so the rules above held across
/// requests decided together, not only across transactions).
fn assert_grouped(env: &Env) {
    let stats = env.handle.as_ref().expect("running").signer.group_stats();
    assert!(
        stats.largest > 1 && stats.requests > stats.groups,
        "no request shared a transaction: {stats:?}"
    );
}

/// Sends every body at once; returns (signed outcomes, refusal rules) in completion order.
async fn all_at_once(
    env: &Env,
    bodies: Vec<labelmint_payout_signer::wire::BatchBody>,
) -> (Vec<labelmint_payout_signer::wire::Signed>, Vec<String>) {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let c = env.client.clone();
            tokio::spawn(async move { c.batch(&body).await.expect("http") })
        })
        .collect();
    let (mut signed, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            Ok(s) => signed.push(s),
            Err(r) => refused.push(format!(
                "{} {}",
                r.status,
                r.body.rule.unwrap_or(r.body.error)
            )),
        }
    }
    (signed, refused)
}

#[tokio::test]
async fn concurrent_batches_paying_one_earning_sign_it_once() {
    let env = Env::new(wide_limits()).await;
    let earning = env.approve(1, TON, 11).await;
    // 24 ledger batches each pay the earning under its own item id: a ledger writer that
    // ignored chain time expired each before the next (the ledger's check passes for every
    // one); only the signer's own journal, per earning, stands between them and the vault.
    let mut bodies = Vec::new();
    for q in 0..24 {
        bodies.push(env.batch(30_000 + q, &earning, TON).await);
        expire_behind_the_ledgers_back(&env, 30_000 + q).await;
    }
    let ids: std::collections::HashSet<&str> =
        bodies.iter().map(|b| b.items[0].item_id.as_str()).collect();
    assert_eq!(ids.len(), 24, "24 different item ids");
    let (signed, refused) = all_at_once(&env, bodies).await;
    assert_eq!(signed.len(), 1, "refusals: {refused:?}");
    assert_eq!(refused.len(), 23);
    assert!(
        refused.iter().all(|r| r == "409 item.not_in_other_batch"),
        "{refused:?}"
    );
    let rows: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM signer_items), (SELECT count(*) FROM signer_item_earnings)",
    )
    .fetch_one(&env.db.pool)
    .await
    .unwrap();
    assert_eq!(rows, (1, 1));
    assert_grouped(&env);
}

#[tokio::test]
async fn the_per_worker_cap_holds_under_concurrency() {
    let mut limits = wide_limits();
    limits
        .apply_cap(&format!("TON:worker_day={}", 3 * TON))
        .unwrap();
    let env = Env::new(limits).await;
    // 24 earnings of 1 TON, all to the same worker (same salt, same index).
    let mut earnings = Vec::new();
    for _ in 0..24 {
        earnings.extend(env.approve(1, TON, 12).await);
    }
    assert!(earnings.iter().all(|(_, w)| *w == earnings[0].1));
    let mut bodies = Vec::new();
    for (i, e) in earnings.iter().enumerate() {
        bodies.push(
            env.batch(40_000 + i as u64, std::slice::from_ref(e), TON)
                .await,
        );
    }
    let (signed, refused) = all_at_once(&env, bodies).await;
    assert_eq!(signed.len(), 3, "refusals: {refused:?}");
    assert!(
        refused.iter().all(|r| r == "422 cap.worker_day"),
        "{refused:?}"
    );
    let total: String = sqlx::query_scalar("SELECT SUM(amount)::TEXT FROM signer_items")
        .fetch_one(&env.db.pool)
        .await
        .unwrap();
    assert_eq!(total, (3 * TON).to_string());
    assert_grouped(&env);
}

#[tokio::test]
async fn identical_concurrent_requests_get_one_signature_and_identical_bytes() {
    let env = Env::new(wide_limits()).await;
    let earnings = env.approve(5, TON, 13).await;
    let body = env.batch(50_000, &earnings, TON).await;
    let (signed, refused) = all_at_once(&env, vec![body; 16]).await;
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(signed.len(), 16);
    assert_eq!(signed.iter().filter(|s| !s.replayed).count(), 1);
    assert!(signed.iter().all(|s| s.boc == signed[0].boc
        && s.signature == signed[0].signature
        && s.valid_until == signed[0].valid_until));
    let (journal, items): (i64, i64) = (
        sqlx::query_scalar("SELECT count(*) FROM signer_journal")
            .fetch_one(&env.db.pool)
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT count(*) FROM signer_items")
            .fetch_one(&env.db.pool)
            .await
            .unwrap(),
    );
    assert_eq!((journal, items), (1, 5));
    assert_grouped(&env);
    // Every request has its audit record: one signed, fifteen replayed.
    let decisions: Vec<String> = sqlx::query_scalar(
        "SELECT record::JSON->>'decision' FROM signer_audit WHERE record::JSON->>'kind' = 'vault_batch'",
    )
    .fetch_all(&env.db.pool)
    .await
    .unwrap();
    assert_eq!(decisions.iter().filter(|d| *d == "signed").count(), 1);
    assert_eq!(decisions.iter().filter(|d| *d == "replayed").count(), 15);
}

#[tokio::test]
async fn concurrent_releases_never_exceed_what_is_releasable() {
    let env = Env::new(wide_limits()).await;
    env.approve(2, 5 * TON, 14).await; // 10 TON releasable
    let tasks: Vec<_> = (0..24u32)
        .map(|seqno| {
            let body = ReleaseBody {
                escrow: raw_address(&env.escrow),
                seqno,
                valid_until: (now() + 600) as u32,
                amount: (3 * TON).to_string(),
            };
            let c = env.client.clone();
            tokio::spawn(async move { c.release(&body).await.expect("http") })
        })
        .collect();
    let (mut signed, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => signed += 1,
            Err(r) => {
                assert_eq!(r.body.rule.as_deref(), Some("release.releasable"));
                refused += 1;
            }
        }
    }
    // 3 x 3 TON fit in 10 TON; a fourth would not.
    assert_eq!((signed, refused), (3, 21));
    assert_grouped(&env);
}
