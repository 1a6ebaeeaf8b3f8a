//! Escrow closes: signed only when the ledger says the project is closing
//! (`close.project_closing`), after the final release (`close.final_release`), and never a
//! second close at another seqno while the first is not provably dead (`close.once`).

use labelmint_ledger::ProjectId;
use labelmint_payout_signer::wire::{CloseBody, ReleaseBody, raw_address};

use crate::support::{Env, TON, indexer_at, now, wide_limits};

fn close(env: &Env, seqno: u32, valid_until: u64) -> CloseBody {
    CloseBody {
        escrow: raw_address(&env.escrow),
        seqno,
        valid_until: valid_until as u32,
    }
}

fn release(env: &Env, seqno: u32, amount: u128) -> ReleaseBody {
    ReleaseBody {
        escrow: raw_address(&env.escrow),
        seqno,
        valid_until: (now() + 600) as u32,
        amount: amount.to_string(),
    }
}

/// The rule of a refused close, with its HTTP status.
async fn refused(env: &Env, body: &CloseBody) -> (u16, String) {
    let r = env.client.close(body).await.unwrap().expect_err("refused");
    (r.status, r.body.rule.unwrap_or_default())
}

#[tokio::test]
async fn a_close_needs_the_ledgers_close_request_and_the_final_release_first() {
    let env = Env::new(wide_limits()).await;
    env.approve(2, 5 * TON, 21).await; // 10 TON approved, nothing released
    let project = ProjectId(env.project);
    let vu = now() + 600;

    // Active project: whoever holds the token gets no close, for any seqno.
    for seqno in [0, 1, 7, u32::MAX] {
        assert_eq!(
            refused(&env, &close(&env, seqno, vu)).await,
            (422, "close.project_closing".into())
        );
    }
    let _ = env
        .ledger
        .request_close(project, "client:0:c1")
        .await
        .unwrap();

    // Closing, but 10 TON approved and unreleased: the final release comes first.
    assert_eq!(
        refused(&env, &close(&env, 1, vu)).await,
        (422, "close.final_release".into())
    );
    // Releases are still signed while closing (within what is releasable).
    env.client
        .release(&release(&env, 2, 6 * TON))
        .await
        .unwrap()
        .expect("release at seqno 2");
    // 6 of 10 covered: not enough.
    assert_eq!(
        refused(&env, &close(&env, 3, vu)).await,
        (422, "close.final_release".into())
    );
    env.client
        .release(&release(&env, 3, 4 * TON))
        .await
        .unwrap()
        .expect("release at seqno 3");
    // A close BELOW a release would land first (the escrow takes seqnos in order) and refund
    // what the release should have carried: refused.
    assert_eq!(
        refused(&env, &close(&env, 1, vu)).await,
        (422, "close.final_release".into())
    );
    // Above both releases: signed, and replayed byte for byte.
    let signed = env
        .client
        .close(&close(&env, 4, vu))
        .await
        .unwrap()
        .expect("close at seqno 4");
    let again = env
        .client
        .close(&close(&env, 4, vu))
        .await
        .unwrap()
        .expect("the same close");
    assert!(again.replayed);
    assert_eq!(again.boc, signed.boc);
    // The same seqno with other content: the journal's conflict.
    assert_eq!(
        refused(&env, &close(&env, 4, vu - 1)).await,
        (409, "journal.conflict".into())
    );
    // Another seqno while that close is live: refused, whichever side.
    for seqno in [5, 9] {
        assert_eq!(
            refused(&env, &close(&env, seqno, vu)).await,
            (409, "close.once".into())
        );
    }
    // No indexer here: chain time is unknown, so even a close whose valid_until passed on the
    // signer's clock is not provably dead.
    sqlx::query("UPDATE signer_journal SET valid_until = $1 WHERE request_kind = 'escrow_close'")
        .bind(now() as i64 - 3600)
        .execute(&env.db.pool)
        .await
        .unwrap();
    assert_eq!(
        refused(&env, &close(&env, 5, vu)).await,
        (409, "close.once".into())
    );
    // Every refusal was audited with its rule.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM signer_audit WHERE record LIKE '%\"rule\":\"close.%'",
    )
    .fetch_one(&env.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 10);
}

#[tokio::test]
async fn a_second_close_is_signed_only_once_the_first_is_dead_in_chain_time() {
    let env = Env::new(wide_limits()).await;
    let _ = env
        .ledger
        .request_close(ProjectId(env.project), "admin:ops")
        .await
        .unwrap();
    let now = now();
    // Chain time (the indexer's checkpoint) 100 s ahead of the signer's clock.
    indexer_at(&env, now + 100).await;
    env.client
        .close(&close(&env, 1, now + 95))
        .await
        .unwrap()
        .expect("nothing approved: the close is signed");
    // valid_until + 10 s margin = now + 105 is not before chain time now + 100: not dead.
    assert_eq!(
        refused(&env, &close(&env, 2, now + 600)).await,
        (409, "close.once".into())
    );
    sqlx::query("UPDATE blocks SET gen_utime = $1")
        .bind(now as i64 + 106)
        .execute(&env.db.pool)
        .await
        .unwrap();
    // Dead in chain time: the escrow can never take it. A close at another seqno is signed.
    env.client
        .close(&close(&env, 2, now + 600))
        .await
        .unwrap()
        .expect("the first close is dead");
    // ... and that one is live: a third is refused.
    assert_eq!(
        refused(&env, &close(&env, 3, now + 600)).await,
        (409, "close.once".into())
    );
}
