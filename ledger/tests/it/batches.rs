//! Batches: formation (oldest first, limits, query ids), 20 concurrent settlers never putting an
//! earning in two live batches, every legal and illegal transition (through the API and straight
//! through SQL), expiry in chain time, bounces.

use std::collections::HashSet;

use labelmint_ledger::{
    BatchId, BatchRequest, BatchState, ChainRef, EarningId, EarningState, Error,
    FINALITY_MARGIN_SECS, ItemOutcome, Ledger, Transition,
};

use crate::support::{Ev, TON_PROJECT, TestDb, earning, register_all, ton, usd, vault_of};

fn req(query_id: u64, max_items: usize, max_total: u128) -> BatchRequest {
    BatchRequest {
        currency: ton(),
        max_items,
        max_total,
        query_id,
        created_at: 1_000,
        valid_until: 1_060,
    }
}

async fn approve_n(l: &Ledger, n: usize, amount: u128) -> Vec<EarningId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let a = l
            .approve_earning(&earning(
                &format!("s{i}"),
                &format!("w{}", i % 7),
                TON_PROJECT,
                amount,
            ))
            .await
            .unwrap();
        ids.push(a.earning_id);
    }
    ids
}

fn evidence(n: u8) -> ChainRef {
    ChainRef {
        tx_hash: [n; 32],
        msg_idx: 1,
        lt: 5_000 + u64::from(n),
        now: 1_030,
    }
}

async fn state_of(l: &Ledger, id: EarningId) -> EarningState {
    l.earning(id).await.unwrap().unwrap().state
}

async fn batch_state(l: &Ledger, id: BatchId) -> BatchState {
    l.batch(id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn formation_takes_the_oldest_within_the_limits() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    assert!(
        l.form_batch(&req(1, 10, 1_000)).await.unwrap().is_none(),
        "nothing payable"
    );
    let ids = approve_n(l, 5, 100).await;
    // A large one that does not fit max_total is skipped, not waited for.
    let big = l
        .approve_earning(&earning("big", "w-big", TON_PROJECT, 10_000))
        .await
        .unwrap()
        .earning_id;
    let more = approve_n_from(l, 5, 2, 100).await;

    let b = l.form_batch(&req(7, 4, 1_000)).await.unwrap().unwrap();
    assert_eq!(
        (b.item_count, b.total, b.state),
        (4, 400, BatchState::Batched)
    );
    assert_eq!((b.query_id, b.created_at, b.valid_until), (7, 1_000, 1_060));
    assert_eq!(b.vault, vault_of(&ton()));
    let items = l.batch_items(b.id).await.unwrap();
    let got: Vec<EarningId> = items.iter().map(|i| i.earning_id).collect();
    assert_eq!(got, ids[..4].to_vec(), "oldest first, in order");
    assert!(
        items
            .iter()
            .enumerate()
            .all(|(i, it)| it.position == i && it.amount == 100)
    );
    assert!(items.iter().all(|i| i.outcome == ItemOutcome::Pending));
    for id in &got {
        assert_eq!(state_of(l, *id).await, EarningState::Batched);
    }

    let b2 = l.form_batch(&req(8, 250, 350)).await.unwrap().unwrap();
    let got2: Vec<EarningId> = l
        .batch_items(b2.id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.earning_id)
        .collect();
    assert_eq!(
        got2,
        vec![ids[4], more[0], more[1]],
        "the 10,000 one is skipped"
    );
    assert_eq!(b2.total, 300);
    assert_eq!(state_of(l, big).await, EarningState::Approved);

    // Query ids are never reused for a vault.
    approve_n_from(l, 10, 1, 100).await;
    assert!(matches!(
        l.form_batch(&req(7, 10, 1_000)).await,
        Err(Error::QueryIdTaken { query_id: 7, existing }) if existing == b.id
    ));
    // Bad requests.
    assert!(matches!(
        l.form_batch(&req(9, 251, 1_000)).await,
        Err(Error::InvalidInput {
            field: "max_items",
            ..
        })
    ));
    assert!(matches!(
        l.form_batch(&req(9, 0, 1_000)).await,
        Err(Error::InvalidInput {
            field: "max_items",
            ..
        })
    ));
    assert!(matches!(
        l.form_batch(&req(9, 10, 0)).await,
        Err(Error::InvalidInput {
            field: "max_total",
            ..
        })
    ));
    let mut backwards = req(9, 10, 1_000);
    backwards.valid_until = 999;
    assert!(l.form_batch(&backwards).await.is_err());
    // Once the vault's timeout is known, valid_until must cover it.
    l.set_vault_timeout(&ton(), 3_600).await.unwrap();
    assert_eq!(l.vault_timeout(&ton()).await.unwrap(), Some(3_600));
    assert!(matches!(
        l.form_batch(&req(9, 10, 1_000)).await,
        Err(Error::InvalidInput {
            field: "valid_until",
            ..
        })
    ));
    let mut covered = req(9, 1, 1_000);
    covered.valid_until = 1_000 + 3_600 - 1;
    assert!(l.form_batch(&covered).await.unwrap().is_some());
    assert!(matches!(
        l.set_vault_timeout(&labelmint_ledger::CurrencyCode::new("EUR").unwrap(), 5)
            .await,
        Err(Error::UnknownVault(_))
    ));
    // USD has a vault but no approved earnings; an unknown currency has no vault.
    let mut u = req(9, 10, 1_000);
    u.currency = usd();
    assert!(l.form_batch(&u).await.unwrap().is_none());
    u.currency = labelmint_ledger::CurrencyCode::new("EUR").unwrap();
    assert!(matches!(
        l.form_batch(&u).await,
        Err(Error::UnknownVault(_))
    ));
}

async fn approve_n_from(l: &Ledger, from: usize, n: usize, amount: u128) -> Vec<EarningId> {
    let mut ids = Vec::new();
    for i in from..from + n {
        let a = l
            .approve_earning(&earning(&format!("t{i}"), "w-t", TON_PROJECT, amount))
            .await
            .unwrap();
        ids.push(a.earning_id);
    }
    ids
}

#[tokio::test]
async fn twenty_concurrent_settlers_never_share_an_earning() {
    let db = TestDb::with_connections(24).await;
    let l = &db.ledger;
    register_all(l).await;
    let ids = approve_n(l, 300, 10).await;
    let tasks: Vec<_> = (0..20u64)
        .map(|q| {
            let l = db.ledger.clone();
            tokio::spawn(async move { l.form_batch(&req(100 + q, 12, 1_000_000)).await })
        })
        .collect();
    let mut batches = Vec::new();
    for t in tasks {
        if let Some(b) = t.await.unwrap().unwrap() {
            batches.push(b);
        }
    }
    let mut seen = HashSet::new();
    let mut total_items = 0;
    for b in &batches {
        let items = l.batch_items(b.id).await.unwrap();
        assert_eq!(items.len(), b.item_count);
        assert_eq!(items.iter().map(|i| i.amount).sum::<u128>(), b.total);
        for i in items {
            assert!(
                seen.insert(i.earning_id),
                "{} is in two batches",
                i.earning_id
            );
            total_items += 1;
        }
    }
    // Every settler got a full batch: 300 earnings were enough for 20 x 12.
    assert_eq!(batches.len(), 20);
    assert_eq!(total_items, 240);
    let batched = db.count("ledger_earnings WHERE state = 'batched'").await;
    assert_eq!(batched, 240);
    let approved: HashSet<EarningId> = ids.iter().copied().filter(|i| !seen.contains(i)).collect();
    assert_eq!(approved.len(), 60);
    // The database agrees: no earning has two holding items.
    assert_eq!(
        db.count(
            "(SELECT earning_id FROM ledger_batch_items WHERE outcome IN ('pending', 'paid') \
              GROUP BY earning_id HAVING count(*) > 1) t"
        )
        .await,
        0
    );
    // And refuses a second live item outright.
    let (batch, earning): (i64, i64) =
        sqlx::query_as("SELECT batch_id, earning_id FROM ledger_batch_items LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let other = batches.iter().find(|b| b.id.0 != batch).unwrap().id.0;
    let err = sqlx::query(
        "INSERT INTO ledger_batch_items (batch_id, earning_id, position) VALUES ($1, $2, 200)",
    )
    .bind(other)
    .bind(earning)
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("ledger_batch_items_one_live"),
        "{err}"
    );
}

#[tokio::test]
async fn the_happy_path_and_idempotent_retries() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let ids = approve_n(l, 3, 50).await;
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();

    assert_eq!(
        l.mark_signed(b.id, [1; 32]).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.mark_signed(b.id, [1; 32]).await.unwrap(),
        Transition::AlreadyApplied
    );
    assert!(matches!(
        l.mark_signed(b.id, [2; 32]).await,
        Err(Error::EvidenceConflict {
            state: BatchState::Signed,
            ..
        })
    ));
    for id in &ids {
        assert_eq!(state_of(l, *id).await, EarningState::Signed);
    }
    assert_eq!(
        l.mark_sent(b.id, [3; 32]).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.mark_sent(b.id, [3; 32]).await.unwrap(),
        Transition::AlreadyApplied
    );
    assert_eq!(l.live_batches(&ton()).await.unwrap().len(), 1);
    assert_eq!(
        l.mark_confirmed(b.id, &evidence(9)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.mark_confirmed(b.id, &evidence(9)).await.unwrap(),
        Transition::AlreadyApplied
    );
    assert!(matches!(
        l.mark_confirmed(b.id, &evidence(8)).await,
        Err(Error::EvidenceConflict { .. })
    ));
    let done = l.batch(b.id).await.unwrap().unwrap();
    assert_eq!(done.state, BatchState::Confirmed);
    assert_eq!(done.signed_hash, Some([1; 32]));
    assert_eq!(done.sent_hash, Some([3; 32]));
    assert_eq!(done.confirmed.unwrap().tx_hash, [9; 32]);
    assert!(l.live_batches(&ton()).await.unwrap().is_empty());
    for id in &ids {
        assert_eq!(state_of(l, *id).await, EarningState::Confirmed);
    }
    assert!(
        l.batch_items(b.id)
            .await
            .unwrap()
            .iter()
            .all(|i| i.outcome == ItemOutcome::Paid)
    );
    // Retrying the earlier steps after confirmation with the same evidence is harmless.
    assert_eq!(
        l.mark_signed(b.id, [1; 32]).await.unwrap(),
        Transition::AlreadyApplied
    );
    assert_eq!(
        l.mark_sent(b.id, [3; 32]).await.unwrap(),
        Transition::AlreadyApplied
    );
    // A paid earning is never batched again.
    assert!(l.form_batch(&req(2, 250, 1_000)).await.unwrap().is_none());
}

/// Every (from, action) pair: which succeed and which are refused, with the states after.
#[tokio::test]
async fn every_batch_transition_legal_and_illegal() {
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Act {
        Sign,
        Send,
        Confirm,
        Expire,
    }
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    db.set_chain_time(10_000).await;
    let mut q = 0u64;
    // Brings a fresh batch to `state`.
    async fn to_state(l: &Ledger, q: &mut u64, state: BatchState) -> BatchId {
        *q += 1;
        l.approve_earning(&earning(&format!("x{q}"), "w", TON_PROJECT, 5))
            .await
            .unwrap();
        let b = l
            .form_batch(&req(*q, 250, 1_000))
            .await
            .unwrap()
            .unwrap()
            .id;
        match state {
            BatchState::Batched => {}
            BatchState::Signed => {
                let _ = l.mark_signed(b, [1; 32]).await.unwrap();
            }
            BatchState::Sent => {
                let _ = l.mark_signed(b, [1; 32]).await.unwrap();
                let _ = l.mark_sent(b, [2; 32]).await.unwrap();
            }
            BatchState::Confirmed => {
                let _ = l.mark_confirmed(b, &evidence(3)).await.unwrap();
            }
            BatchState::Expired => {
                let _ = l.expire_batch(b, 5_000).await.unwrap();
            }
        }
        assert_eq!(batch_state(l, b).await, state);
        b
    }
    use BatchState::*;
    let table: [(BatchState, Act, Option<BatchState>); 20] = [
        (Batched, Act::Sign, Some(Signed)),
        (Batched, Act::Send, None),
        (Batched, Act::Confirm, Some(Confirmed)),
        (Batched, Act::Expire, Some(Expired)),
        (Signed, Act::Sign, Some(Signed)), // same hash: AlreadyApplied
        (Signed, Act::Send, Some(Sent)),
        (Signed, Act::Confirm, Some(Confirmed)),
        (Signed, Act::Expire, Some(Expired)),
        (Sent, Act::Sign, Some(Sent)), // same hash: AlreadyApplied
        (Sent, Act::Send, Some(Sent)), // same hash: AlreadyApplied
        (Sent, Act::Confirm, Some(Confirmed)),
        (Sent, Act::Expire, Some(Expired)),
        (Confirmed, Act::Sign, None),
        (Confirmed, Act::Send, None),
        (Confirmed, Act::Confirm, Some(Confirmed)), // same evidence: AlreadyApplied
        (Confirmed, Act::Expire, None),
        (Expired, Act::Sign, None),
        (Expired, Act::Send, None),
        (Expired, Act::Confirm, None),
        (Expired, Act::Expire, Some(Expired)), // AlreadyApplied
    ];
    for (from, act, want) in table {
        let b = to_state(l, &mut q, from).await;
        let r = match act {
            Act::Sign => l.mark_signed(b, [1; 32]).await,
            Act::Send => l.mark_sent(b, [2; 32]).await,
            Act::Confirm => l.mark_confirmed(b, &evidence(3)).await,
            Act::Expire => l.expire_batch(b, 5_000).await,
        };
        match want {
            Some(to) => {
                let t = r.unwrap_or_else(|e| panic!("{from} {act:?}: {e}"));
                assert_eq!(
                    t == Transition::AlreadyApplied,
                    to == from,
                    "{from} {act:?}"
                );
                assert_eq!(batch_state(l, b).await, to, "{from} {act:?}");
            }
            None => {
                let e = r.expect_err(&format!("{from} {act:?} must be refused"));
                assert!(
                    matches!(e, Error::IllegalBatchTransition { from: f, .. } if f == from),
                    "{from} {act:?}: {e}"
                );
                assert_eq!(
                    batch_state(l, b).await,
                    from,
                    "{from} {act:?} changed nothing"
                );
            }
        }
        // The earnings follow their batch.
        let items = l.batch_items(b).await.unwrap();
        let e = state_of(l, items[0].earning_id).await;
        assert_eq!(
            e,
            EarningState::in_batch(batch_state(l, b).await),
            "{from} {act:?}"
        );
    }
}

#[tokio::test]
async fn the_database_refuses_illegal_transitions_and_edits() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let id = approve_n(l, 1, 5).await[0];
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    for (sql, what) in [
        (
            "UPDATE ledger_batches SET state = 'sent' WHERE id = $1",
            "illegal transition batched -> sent",
        ),
        (
            "UPDATE ledger_batches SET state = 'batched', total = 6 WHERE id = $1",
            "only its state",
        ),
        (
            "UPDATE ledger_batches SET query_id = 99 WHERE id = $1",
            "only its state",
        ),
    ] {
        let err = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(b.id.0)
            .execute(&db.pool)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(what), "{sql}: {err}");
    }
    for (sql, what) in [
        (
            "UPDATE ledger_earnings SET state = 'confirmed' WHERE id = $1 AND false",
            "",
        ),
        (
            "UPDATE ledger_earnings SET state = 'revoked' WHERE id = $1",
            "illegal transition batched -> revoked",
        ),
        (
            "UPDATE ledger_earnings SET amount = 6 WHERE id = $1",
            "only its state",
        ),
        (
            "UPDATE ledger_earnings SET payout_address = '0:' || repeat('9', 64) WHERE id = $1",
            "only its state",
        ),
    ] {
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.get() as i64)
            .execute(&db.pool)
            .await;
        if what.is_empty() {
            r.unwrap();
        } else {
            let err = r.unwrap_err();
            assert!(err.to_string().contains(what), "{sql}: {err}");
        }
    }
    // Item ids stay below 10^17 and amounts positive.
    let err = sqlx::query(
        "INSERT INTO ledger_earnings (id, submission_key, worker, payout_address, project_id, \
             currency, amount, decision_id) VALUES (100000000000000000, 'k', 'w', $1, 101, 'TON', 1, 'd')",
    )
    .bind(crate::support::addr(1).as_str())
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("check"), "{err}");
    let err = sqlx::query(
        "INSERT INTO ledger_earnings (submission_key, worker, payout_address, project_id, \
             currency, amount, decision_id) VALUES ('k2', 'w', $1, 101, 'TON', 0, 'd')",
    )
    .bind(crate::support::addr(1).as_str())
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("check"), "{err}");
    assert_eq!(state_of(l, id).await, EarningState::Batched);
}

#[tokio::test]
async fn expiry_waits_for_chain_time_and_puts_items_back() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let ids = approve_n(l, 3, 40).await;
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    let _ = l.mark_signed(b.id, [4; 32]).await.unwrap();
    let _ = l.mark_sent(b.id, [5; 32]).await.unwrap();

    // Not before valid_until has passed in chain time.
    db.set_chain_time(2_000).await;
    for now in [1_000, 1_059, 1_060] {
        assert!(matches!(
            l.expire_batch(b.id, now).await,
            Err(Error::NotExpired { valid_until: 1_060, chain_now, .. }) if chain_now == now
        ));
    }
    // Not on a chain time the indexer has not reached (with the finality margin).
    db.set_chain_time(1_061 + FINALITY_MARGIN_SECS - 1).await;
    assert!(matches!(
        l.expire_batch(b.id, 1_061).await,
        Err(Error::ChainTimeAhead { claimed: 1_061, .. })
    ));
    assert_eq!(batch_state(l, b.id).await, BatchState::Sent);

    db.set_chain_time(1_061 + FINALITY_MARGIN_SECS).await;
    assert_eq!(
        l.expire_batch(b.id, 1_061).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.expire_batch(b.id, 1_061).await.unwrap(),
        Transition::AlreadyApplied
    );
    assert_eq!(batch_state(l, b.id).await, BatchState::Expired);
    for id in &ids {
        assert_eq!(state_of(l, *id).await, EarningState::Approved);
    }
    // The attempt is kept.
    assert!(
        l.batch_items(b.id)
            .await
            .unwrap()
            .iter()
            .all(|i| i.outcome == ItemOutcome::Expired)
    );
    // A new batch (new query id) takes them.
    let b2 = l.form_batch(&req(2, 250, 1_000)).await.unwrap().unwrap();
    let again: Vec<EarningId> = l
        .batch_items(b2.id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.earning_id)
        .collect();
    assert_eq!(again, ids);
    assert_eq!(
        l.earning_attempts(ids[0]).await.unwrap(),
        vec![(b.id, ItemOutcome::Expired), (b2.id, ItemOutcome::Pending)]
    );
    assert_eq!(
        db.count("ledger_batch_items").await,
        6,
        "both attempts are in the history"
    );
}

#[tokio::test]
async fn a_batch_the_chain_executed_never_expires() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    approve_n(l, 2, 40).await;
    let b = l.form_batch(&req(42, 250, 1_000)).await.unwrap().unwrap();
    let _ = l.mark_signed(b.id, [4; 32]).await.unwrap();
    db.set_chain_time(5_000).await;
    // The indexer saw the vault execute query id 42, though nobody marked it.
    let mut ev = Ev::new(vault_of(&ton()), "ev_batch_executed", 80);
    ev.query_id = Some(42);
    db.insert_event(&ev).await;
    assert!(matches!(
        l.expire_batch(b.id, 4_000).await,
        Err(Error::ExecutedOnChain(id)) if id == b.id
    ));
    assert_eq!(batch_state(l, b.id).await, BatchState::Signed);
}

#[tokio::test]
async fn expiry_needs_the_indexer() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    approve_n(l, 1, 40).await;
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    // No block indexed yet: chain time 0.
    assert!(matches!(
        l.expire_batch(b.id, 2_000).await,
        Err(Error::ChainTimeAhead { indexed: 0, .. })
    ));
    sqlx::query("DROP TABLE events, messages, transactions, blocks, checkpoint CASCADE")
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(matches!(
        l.expire_batch(b.id, 2_000).await,
        Err(Error::IndexerMissing)
    ));
}

#[tokio::test]
async fn a_bounced_item_is_approved_again_and_can_be_paid_again() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let ids = approve_n(l, 2, 40).await;
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    // Not paid yet: a bounce is refused.
    assert!(matches!(
        l.item_bounced(ids[0], &evidence(20)).await,
        Err(Error::IllegalEarningTransition {
            from: EarningState::Batched,
            to: EarningState::Approved,
            ..
        })
    ));
    let _ = l.mark_confirmed(b.id, &evidence(10)).await.unwrap();
    assert_eq!(
        l.item_bounced(ids[0], &evidence(20)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.item_bounced(ids[0], &evidence(20)).await.unwrap(),
        Transition::AlreadyApplied
    );
    assert_eq!(state_of(l, ids[0]).await, EarningState::Approved);
    assert_eq!(state_of(l, ids[1]).await, EarningState::Confirmed);
    let items = l.batch_items(b.id).await.unwrap();
    assert_eq!(items[0].outcome, ItemOutcome::Bounced);
    assert_eq!(items[1].outcome, ItemOutcome::Paid);
    assert_eq!(batch_state(l, b.id).await, BatchState::Confirmed);

    let b2 = l.form_batch(&req(2, 250, 1_000)).await.unwrap().unwrap();
    let items2 = l.batch_items(b2.id).await.unwrap();
    assert_eq!(items2.len(), 1);
    assert_eq!(items2[0].earning_id, ids[0]);
    let _ = l.mark_confirmed(b2.id, &evidence(11)).await.unwrap();
    // A second bounce (another transaction) of the second payment.
    assert_eq!(
        l.item_bounced(ids[0], &evidence(21)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(state_of(l, ids[0]).await, EarningState::Approved);
    assert!(matches!(
        l.item_bounced(EarningId::new(99_999).unwrap(), &evidence(22))
            .await,
        Err(Error::UnknownEarning(_))
    ));
}

/// The migration's triggers and `state.rs` allow exactly the same transitions: every (from, to)
/// pair is tried straight through SQL on rows created in `from`.
#[tokio::test]
async fn the_sql_and_rust_state_tables_agree() {
    let db = TestDb::new().await;
    register_all(&db.ledger).await;
    let mut n = 0;
    for from in EarningState::ALL {
        for to in EarningState::ALL {
            n += 1;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO ledger_earnings (submission_key, worker, payout_address, project_id, \
                     currency, amount, decision_id, state) \
                 VALUES ($1, 'w', $2, 101, 'TON', 1, 'd', $3) RETURNING id",
            )
            .bind(format!("t{n}"))
            .bind(crate::support::addr(1).as_str())
            .bind(from.as_str())
            .fetch_one(&db.pool)
            .await
            .unwrap();
            let r = sqlx::query("UPDATE ledger_earnings SET state = $2 WHERE id = $1")
                .bind(id)
                .bind(to.as_str())
                .execute(&db.pool)
                .await;
            let legal = from == to || from.can_become(to);
            assert_eq!(r.is_ok(), legal, "earning {from} -> {to}: {r:?}");
        }
    }
    for from in BatchState::ALL {
        for to in BatchState::ALL {
            n += 1;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO ledger_batches (vault, currency, query_id, created_at, valid_until, \
                     state, item_count, total) VALUES ($1, 'TON', $2, 1, 2, $3, 1, 1) RETURNING id",
            )
            .bind(vault_of(&ton()).as_str())
            .bind(i64::from(n))
            .bind(from.as_str())
            .fetch_one(&db.pool)
            .await
            .unwrap();
            let r = sqlx::query("UPDATE ledger_batches SET state = $2 WHERE id = $1")
                .bind(id)
                .bind(to.as_str())
                .execute(&db.pool)
                .await;
            let legal = from == to || from.can_become(to);
            assert_eq!(r.is_ok(), legal, "batch {from} -> {to}: {r:?}");
        }
    }
}

#[tokio::test]
async fn the_signers_check_of_a_vault_request() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    approve_n(l, 3, 40).await;
    let b = l.form_batch(&req(5, 250, 1_000)).await.unwrap().unwrap();
    let vault = vault_of(&ton());
    let items: Vec<_> = l
        .batch_items(b.id)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.earning_id, i.payout_address, i.amount))
        .collect();
    let ok = l
        .check_vault_request(&vault, 5, 1_000, &items)
        .await
        .unwrap();
    assert_eq!(ok.id, b.id);
    let refused = |r: Result<labelmint_ledger::Batch, Error>| match r {
        Err(Error::RequestMismatch { reason, .. }) => reason,
        other => panic!("expected a mismatch, got {other:?}"),
    };
    // Another amount, destination, order, item set, created_at or query id: refused.
    let mut more = items.clone();
    more[1].2 += 1;
    assert!(refused(l.check_vault_request(&vault, 5, 1_000, &more).await).contains("item 1"));
    let mut elsewhere = items.clone();
    elsewhere[0].1 = crate::support::addr(66);
    assert!(refused(l.check_vault_request(&vault, 5, 1_000, &elsewhere).await).contains("item 0"));
    let mut swapped = items.clone();
    swapped.swap(0, 2);
    refused(l.check_vault_request(&vault, 5, 1_000, &swapped).await);
    refused(l.check_vault_request(&vault, 5, 1_000, &items[..2]).await);
    assert!(refused(l.check_vault_request(&vault, 5, 999, &items).await).contains("created_at"));
    refused(l.check_vault_request(&vault, 6, 1_000, &items).await);
    refused(
        l.check_vault_request(&vault_of(&usd()), 5, 1_000, &items)
            .await,
    );
    // Signed and sent: still the same request (a retry gets the same answer).
    let _ = l.mark_signed(b.id, [1; 32]).await.unwrap();
    let _ = l.mark_sent(b.id, [2; 32]).await.unwrap();
    assert!(
        l.check_vault_request(&vault, 5, 1_000, &items)
            .await
            .is_ok()
    );
    // Confirmed or expired: never again.
    let _ = l.mark_confirmed(b.id, &evidence(1)).await.unwrap();
    assert!(refused(l.check_vault_request(&vault, 5, 1_000, &items).await).contains("confirmed"));
}
