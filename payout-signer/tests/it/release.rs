//! Escrow releases: `amount <= releasable - pending`, where pending is what this signer signed
//! for the escrow that is still live AND not yet counted by the ledger. Once the ledger has
//! posted a release (its `ev_release` ingested), the next release may follow at once; before
//! that, the live signed release still counts.

use labelmint_ledger::ProjectId;
use labelmint_payout_signer::wire::{ReleaseBody, raw_address};

use crate::support::{Env, TON, indexer_at, now, wide_limits};

fn release(env: &Env, seqno: u32, amount: u128) -> ReleaseBody {
    ReleaseBody {
        escrow: raw_address(&env.escrow),
        seqno,
        valid_until: (now() + 600) as u32,
        amount: amount.to_string(),
    }
}

/// The escrow's `ev_release` at `seqno` (amount, fee), indexed; then the ledger ingests it.
async fn landed(env: &Env, seqno: u32, amount: u128, fee: u128, tx: u8) {
    let escrow = raw_address(&env.escrow);
    sqlx::query(
        "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno, \
             mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, \
             tx_kind, aborted, destroyed, out_msg_count, boc) \
         VALUES ($1, $2, $3, 0, -9223372036854775808, 1, 1, $4, $5, 0, 'active', 'active', 0, \
             'ordinary', false, false, 1, '\\x00')",
    )
    .bind(&escrow)
    .bind(1_000 + i64::from(tx))
    .bind(vec![tx; 32])
    .bind(now() as i64)
    .bind(vec![0u8; 32])
    .execute(&env.db.pool)
    .await
    .expect("transaction");
    sqlx::query(
        "INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, kind, \
             project_id, query_id, amount, fee, fields) \
         VALUES ($1, 0, $2, 'escrow', $3, $4, 1, 'ev_release', $5::text::numeric, \
             $6::text::numeric, $7::text::numeric, $8::text::numeric, $9)",
    )
    .bind(vec![tx; 32])
    .bind(&escrow)
    .bind(1_000 + i64::from(tx))
    .bind(now() as i64)
    .bind(env.project.to_string())
    .bind(((1u64 << 32) | u64::from(seqno)).to_string())
    .bind(amount.to_string())
    .bind(fee.to_string())
    .bind(serde_json::json!({ "seqno": seqno.to_string() }))
    .execute(&env.db.pool)
    .await
    .expect("event");
    env.ledger.ingest_chain_events(100).await.expect("ingest");
}

#[tokio::test]
async fn the_next_release_follows_once_the_ledger_counts_the_last_one() {
    let env = Env::new(wide_limits()).await;
    indexer_at(&env, now()).await;
    env.approve(2, 3 * TON, 41).await; // 6 TON approved
    // Seqno 1: 6 TON signed; nothing more fits while it is live and not counted.
    env.client
        .release(&release(&env, 1, 6 * TON))
        .await
        .unwrap()
        .expect("release at seqno 1");
    env.approve(1, 2 * TON, 42).await; // 8 TON approved
    let r = env
        .client
        .release(&release(&env, 2, 2 * TON + 1))
        .await
        .unwrap()
        .expect_err("above releasable - pending");
    assert_eq!(
        (r.status, r.body.rule.as_deref()),
        (422, Some("release.releasable"))
    );
    env.client
        .release(&release(&env, 2, 2 * TON))
        .await
        .unwrap()
        .expect("the 2 TON approved since: within releasable - pending");

    // Seqno 1 lands and the ledger counts it: releasable 8 - 6 = 2 TON, and seqno 2 (2 TON)
    // is still live and uncounted, so nothing more fits yet.
    landed(&env, 1, 6 * TON, 15 * TON / 100, 1).await;
    assert_eq!(
        env.ledger.releasable(ProjectId(env.project)).await.unwrap(),
        2 * TON
    );
    env.approve(1, TON, 43).await; // 9 TON approved, 3 releasable
    let r = env
        .client
        .release(&release(&env, 3, TON + 1))
        .await
        .unwrap()
        .expect_err("seqno 2 still pending");
    assert_eq!(r.body.rule.as_deref(), Some("release.releasable"));
    // Seqno 2 lands too: both counted, 1 TON releasable, the next release at once (their
    // valid_until is 10 minutes away: before, the signer held them as pending until then).
    landed(&env, 2, 2 * TON, 5 * TON / 100, 2).await;
    env.client
        .release(&release(&env, 3, TON))
        .await
        .unwrap()
        .expect("both earlier releases counted by the ledger");
    let r = env
        .client
        .release(&release(&env, 4, 1))
        .await
        .unwrap()
        .expect_err("nothing left");
    assert_eq!(r.body.rule.as_deref(), Some("release.releasable"));
}
