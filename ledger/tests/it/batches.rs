//! Batches: formation (oldest first, limits, query ids), 20 concurrent settlers never putting an
//! earning in two live batches, every legal and illegal transition (through the API and straight
//! through SQL), expiry in chain time, bounces.

use std::collections::HashSet;

use labelmint_ledger::{
    AddressCorrection, BatchId, BatchRequest, BatchState, BounceReason, ChainRef, EarningId,
    EarningState, Error, FINALITY_MARGIN_SECS, ItemId, ItemOutcome, Ledger, Transition,
};

use crate::support::{
    Ev, TON_PROJECT, TON_PROJECT_2, TestDb, addr, earning, register_all, ton, usd, vault_of,
};

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
    let got: Vec<EarningId> = items.iter().flat_map(|i| i.earnings.clone()).collect();
    assert_eq!(got, ids[..4].to_vec(), "oldest first, in order");
    assert!(
        items
            .iter()
            .enumerate()
            .all(|(i, it)| it.position == i && it.amount == 100 && it.earnings.len() == 1)
    );
    assert!(items.iter().all(|i| i.outcome == ItemOutcome::Pending));
    assert!(
        items.iter().all(|i| i.bounceable.is_none()),
        "decided later"
    );
    // Item ids are new, ascending in request order, and not the earnings' ids.
    assert!(items.windows(2).all(|w| w[0].item_id < w[1].item_id));
    for id in &got {
        assert_eq!(state_of(l, *id).await, EarningState::Batched);
    }

    let b2 = l.form_batch(&req(8, 250, 350)).await.unwrap().unwrap();
    let items2 = l.batch_items(b2.id).await.unwrap();
    let got2: Vec<Vec<EarningId>> = items2.iter().map(|i| i.earnings.clone()).collect();
    assert_eq!(
        got2,
        vec![vec![ids[4]], vec![more[0], more[1]]],
        "the 10,000 one is skipped; w-t's two earnings are one transfer"
    );
    assert_eq!((b2.total, b2.item_count), (300, 2));
    assert_eq!(items2[1].amount, 200);
    assert!(
        items2[0].item_id > items.last().unwrap().item_id,
        "never reused"
    );
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
    // 300 earnings of 150 workers (two each).
    let mut ids = Vec::new();
    for i in 0..300 {
        let a = l
            .approve_earning(&earning(
                &format!("c{i}"),
                &format!("cw{}", i % 150),
                TON_PROJECT,
                10,
            ))
            .await
            .unwrap();
        ids.push(a.earning_id);
    }
    let form_all = |first_query: u64| {
        (0..20u64)
            .map(|q| {
                let l = db.ledger.clone();
                tokio::spawn(
                    async move { l.form_batch(&req(first_query + q, 12, 1_000_000)).await },
                )
            })
            .collect::<Vec<_>>()
    };
    let mut batches = Vec::new();
    for t in form_all(100) {
        if let Some(b) = t.await.unwrap().unwrap() {
            batches.push(b);
        }
    }
    assert!(!batches.is_empty());
    // Then one settler at a time takes the rest.
    let mut q = 1_000;
    while let Some(b) = l.form_batch(&req(q, 12, 1_000_000)).await.unwrap() {
        batches.push(b);
        q += 1;
    }
    let mut seen = HashSet::new();
    for b in &batches {
        let items = l.batch_items(b.id).await.unwrap();
        assert_eq!(items.len(), b.item_count);
        assert!(b.item_count <= 12);
        assert_eq!(items.iter().map(|i| i.amount).sum::<u128>(), b.total);
        let workers: HashSet<&str> = items.iter().map(|i| i.worker.as_str()).collect();
        assert_eq!(workers.len(), items.len(), "one item per worker in a batch");
        for i in items {
            assert_eq!(i.amount, 10 * i.earnings.len() as u128);
            for e in i.earnings {
                assert!(seen.insert(e), "{e} is in two batches");
            }
        }
    }
    // Every earning was batched exactly once.
    assert_eq!(seen.len(), 300);
    assert_eq!(ids.iter().filter(|i| seen.contains(i)).count(), 300);
    assert_eq!(
        db.count("ledger_earnings WHERE state = 'batched'").await,
        300
    );
    // The database agrees: no earning has two holding attempts.
    assert_eq!(
        db.count(
            "(SELECT earning_id FROM ledger_batch_items WHERE outcome IN ('pending', 'paid') \
              GROUP BY earning_id HAVING count(*) > 1) t"
        )
        .await,
        0
    );
    // And refuses a second live attempt outright.
    let (batch, earning, position): (i64, i64, i32) =
        sqlx::query_as("SELECT batch_id, earning_id, position FROM ledger_batch_items LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let other = batches.iter().find(|b| b.id.0 != batch).unwrap().id.0;
    let err = sqlx::query(
        "INSERT INTO ledger_batch_items (batch_id, earning_id, position) VALUES ($1, $2, $3)",
    )
    .bind(other)
    .bind(earning)
    .bind(position.min(0))
    .execute(&db.pool)
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("ledger_batch_items_one_live") || text.contains("does not belong"),
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
        let e = state_of(l, items[0].earnings[0]).await;
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
        .flat_map(|i| i.earnings.clone())
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
async fn a_bounced_item_is_approved_again_held_and_paid_again_once_released() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let ids = approve_n(l, 2, 40).await;
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    let items = l.batch_items(b.id).await.unwrap();
    let first = items[0].item_id;
    let bounce = |item: ItemId, n: u8| {
        let l = l.clone();
        async move {
            l.item_bounced(item, &evidence(n), BounceReason::PayoutBounced)
                .await
        }
    };
    // Not paid yet: a bounce is refused.
    assert!(matches!(
        bounce(first, 20).await,
        Err(Error::ItemNotPaid {
            outcome: ItemOutcome::Pending,
            ..
        })
    ));
    let _ = l.mark_confirmed(b.id, &evidence(10)).await.unwrap();
    assert_eq!(bounce(first, 20).await.unwrap(), Transition::Applied);
    assert_eq!(bounce(first, 20).await.unwrap(), Transition::AlreadyApplied);
    assert_eq!(state_of(l, ids[0]).await, EarningState::Approved);
    assert_eq!(state_of(l, ids[1]).await, EarningState::Confirmed);
    let items = l.batch_items(b.id).await.unwrap();
    assert_eq!(items[0].outcome, ItemOutcome::Bounced);
    assert_eq!(items[1].outcome, ItemOutcome::Paid);
    assert_eq!(batch_state(l, b.id).await, BatchState::Confirmed);
    let bounces = l.earning_bounces(ids[0]).await.unwrap();
    assert_eq!(bounces.len(), 1);
    assert_eq!(
        (bounces[0].item_id, bounces[0].reason, bounces[0].batch),
        (first, BounceReason::PayoutBounced, b.id)
    );

    // The address is on hold: nothing is batched to it again by itself.
    let holds = l.payout_holds(&ton()).await.unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(
        (
            holds[0].worker.as_str(),
            holds[0].item_id,
            holds[0].bounce_tx
        ),
        ("w0", first, [20; 32])
    );
    assert!(l.form_batch(&req(2, 250, 1_000)).await.unwrap().is_none());
    l.release_payout_hold("w0", &ton(), &addr(1), "admin:test")
        .await
        .unwrap();
    assert!(matches!(
        l.release_payout_hold("w0", &ton(), &addr(1), "admin:test")
            .await,
        Err(Error::NoPayoutHold { .. })
    ));
    assert!(l.payout_holds(&ton()).await.unwrap().is_empty());

    let b2 = l.form_batch(&req(2, 250, 1_000)).await.unwrap().unwrap();
    let items2 = l.batch_items(b2.id).await.unwrap();
    assert_eq!(items2.len(), 1);
    assert_eq!(items2[0].earnings, vec![ids[0]]);
    assert_ne!(items2[0].item_id, first, "a new item id");
    let _ = l.mark_confirmed(b2.id, &evidence(11)).await.unwrap();
    // A second bounce (another transaction) of the second payment.
    assert_eq!(
        bounce(items2[0].item_id, 21).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(state_of(l, ids[0]).await, EarningState::Approved);
    assert_eq!(l.earning_bounces(ids[0]).await.unwrap().len(), 2);
    assert!(matches!(
        bounce(ItemId::new(99_999).unwrap(), 22).await,
        Err(Error::UnknownItem(_))
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
        .map(|i| (i.item_id, i.payout_address, i.amount))
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

/// One worker's earnings over two projects: one transfer; another address of the same worker
/// is another transfer; every item equals its earnings, which the database checks at commit.
#[tokio::test]
async fn a_workers_earnings_across_projects_are_one_transfer() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let mut alice = Vec::new();
    for (i, (p, amount)) in [(TON_PROJECT, 10), (TON_PROJECT_2, 20), (TON_PROJECT, 30)]
        .into_iter()
        .enumerate()
    {
        alice.push(
            l.approve_earning(&earning(&format!("a{i}"), "alice", p, amount))
                .await
                .unwrap()
                .earning_id,
        );
    }
    let bob = l
        .approve_earning(&earning("b0", "bob", TON_PROJECT_2, 5))
        .await
        .unwrap()
        .earning_id;
    let mut elsewhere = earning("a3", "alice", TON_PROJECT, 7);
    elsewhere.payout_address = addr(2);
    let alice_2 = l.approve_earning(&elsewhere).await.unwrap().earning_id;

    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    assert_eq!((b.item_count, b.total), (3, 72));
    let items = l.batch_items(b.id).await.unwrap();
    let view: Vec<(&str, String, u128, Vec<EarningId>)> = items
        .iter()
        .map(|i| {
            (
                i.worker.as_str(),
                i.payout_address.to_string(),
                i.amount,
                i.earnings.clone(),
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![
            ("alice", addr(1).to_string(), 60, alice.clone()),
            ("bob", addr(1).to_string(), 5, vec![bob]),
            ("alice", addr(2).to_string(), 7, vec![alice_2]),
        ]
    );
    // Confirmed together: every earning of every item.
    let _ = l.mark_confirmed(b.id, &evidence(1)).await.unwrap();
    for e in alice.iter().chain([&bob, &alice_2]) {
        assert_eq!(state_of(l, *e).await, EarningState::Confirmed);
    }
    // A bounce of alice's transfer brings all three back, once.
    assert_eq!(
        l.item_bounced(items[0].item_id, &evidence(2), BounceReason::PayoutBounced)
            .await
            .unwrap(),
        Transition::Applied
    );
    for e in &alice {
        assert_eq!(state_of(l, *e).await, EarningState::Approved);
        assert_eq!(l.earning_bounces(*e).await.unwrap().len(), 1);
    }
    assert_eq!(state_of(l, bob).await, EarningState::Confirmed);

    // The database: an item is exactly its earnings; content never changes.
    let tamper = [
        "UPDATE ledger_payout_items SET amount = amount + 1 WHERE id = $1",
        "UPDATE ledger_payout_items SET payout_address = '0:' || repeat('7', 64) WHERE id = $1",
        "UPDATE ledger_payout_items SET outcome = 'paid' WHERE id = $1",
        "UPDATE ledger_payout_items SET bounceable = NOT COALESCE(bounceable, false) WHERE id = $1 AND bounceable IS NOT NULL",
        "DELETE FROM ledger_payout_holds",
    ];
    for sql in tamper {
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(items[0].item_id.get() as i64)
            .execute(&db.pool)
            .await;
        if sql.contains("bounceable IS NOT NULL") {
            // Not decided in this test: nothing to change.
            assert_eq!(r.unwrap().rows_affected(), 0);
            continue;
        }
        assert!(r.is_err(), "{sql} must be refused");
    }
    // An earning in the item of another worker: refused at insert.
    let stray = l
        .approve_earning(&earning("s0", "carol", TON_PROJECT, 1))
        .await
        .unwrap()
        .earning_id;
    let err = sqlx::query(
        "INSERT INTO ledger_batch_items (batch_id, earning_id, position) VALUES ($1, $2, 0)",
    )
    .bind(b.id.0)
    .bind(stray.get() as i64)
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("does not belong"), "{err}");
    // An item whose earnings do not sum to it: refused at commit.
    let mut tx = db.pool.begin().await.unwrap();
    let q: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_batches (vault, currency, query_id, created_at, valid_until, item_count, total) \
         VALUES ($1, 'TON', 99, 1, 2, 1, 2) RETURNING id",
    )
    .bind(vault_of(&ton()).as_str())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO ledger_payout_items (id, batch_id, position, worker, payout_address, currency, amount, earning_count) \
         VALUES (nextval('ledger_payout_item_id_seq'), $1, 0, 'carol', $2, 'TON', 2, 1)",
    )
    .bind(q)
    .bind(addr(1).as_str())
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO ledger_batch_items (batch_id, earning_id, position) VALUES ($1, $2, 0)",
    )
    .bind(q)
    .bind(stray.get() as i64)
    .execute(&mut *tx)
    .await
    .unwrap();
    let err = tx.commit().await.unwrap_err();
    assert!(err.to_string().contains("summing to"), "{err}");
    // Legacy rows are only the migration's.
    let err = sqlx::query(
        "INSERT INTO ledger_payout_items (id, batch_id, position, worker, payout_address, currency, amount, earning_count, legacy) \
         VALUES (5, $1, 9, 'carol', $2, 'TON', 1, 1, true)",
    )
    .bind(b.id.0)
    .bind(addr(1).as_str())
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("legacy"), "{err}");
}

/// The bounceable flags: decided once for an unsigned batch, then fixed.
#[tokio::test]
async fn bounceable_flags_are_decided_once_before_signing() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    approve_n(l, 3, 10).await;
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    let items = l.batch_items(b.id).await.unwrap();
    let flags: Vec<(ItemId, bool)> = items
        .iter()
        .enumerate()
        .map(|(n, i)| (i.item_id, n == 1))
        .collect();
    assert!(matches!(
        l.set_bounceable(b.id, &flags[..2]).await,
        Err(Error::InvalidInput { field: "flags", .. })
    ));
    assert_eq!(
        l.set_bounceable(b.id, &flags).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.set_bounceable(b.id, &flags).await.unwrap(),
        Transition::AlreadyApplied
    );
    let other: Vec<(ItemId, bool)> = flags.iter().map(|(i, f)| (*i, !f)).collect();
    assert!(matches!(
        l.set_bounceable(b.id, &other).await,
        Err(Error::EvidenceConflict { .. })
    ));
    let got: Vec<Option<bool>> = l
        .batch_items(b.id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.bounceable)
        .collect();
    assert_eq!(got, vec![Some(false), Some(true), Some(false)]);
    let err = sqlx::query(
        "UPDATE ledger_payout_items SET bounceable = NOT bounceable WHERE batch_id = $1",
    )
    .bind(b.id.0)
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("decided once"), "{err}");
    // A signed batch whose flags were never decided cannot get them any more.
    approve_n_from(l, 50, 1, 10).await;
    let b2 = l.form_batch(&req(2, 250, 1_000)).await.unwrap().unwrap();
    let _ = l.mark_signed(b2.id, [1; 32]).await.unwrap();
    let items2 = l.batch_items(b2.id).await.unwrap();
    assert!(matches!(
        l.set_bounceable(b2.id, &[(items2[0].item_id, true)]).await,
        Err(Error::IllegalBatchTransition { .. })
    ));
}

/// A worker's address corrected: their approved earnings (every project) get it, recorded; a
/// live batch's earnings are left alone; the database refuses any other address change.
#[tokio::test]
async fn a_payout_address_is_corrected_per_worker_and_currency_and_recorded() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let in_batch = l
        .approve_earning(&earning("d0", "dana", TON_PROJECT, 10))
        .await
        .unwrap()
        .earning_id;
    let b = l.form_batch(&req(1, 250, 1_000)).await.unwrap().unwrap();
    let mut waiting = Vec::new();
    for (i, p) in [TON_PROJECT, TON_PROJECT_2].into_iter().enumerate() {
        waiting.push(
            l.approve_earning(&earning(&format!("d{}", i + 1), "dana", p, 20))
                .await
                .unwrap()
                .earning_id,
        );
    }
    let usd_one = l
        .approve_earning(&earning("d9", "dana", crate::support::USD_PROJECT, 30))
        .await
        .unwrap()
        .earning_id;
    let fix = |to: u8| AddressCorrection {
        worker: "dana".into(),
        currency: ton(),
        new_address: addr(to),
        corrected_by: "admin:test".into(),
        reason: "the worker pasted a contract address".into(),
    };
    // Straight SQL cannot change an address.
    let err = sqlx::query("UPDATE ledger_earnings SET payout_address = $2 WHERE id = $1")
        .bind(waiting[0].get() as i64)
        .bind(addr(9).as_str())
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("recorded correction"), "{err}");

    let rec = l.correct_payout_address(&fix(9)).await.unwrap();
    assert!(rec.id.is_some());
    assert_eq!(
        rec.corrected,
        vec![(waiting[0], addr(1)), (waiting[1], addr(1))]
    );
    assert_eq!(rec.in_flight, 1);
    for e in &waiting {
        let e = l.earning(*e).await.unwrap().unwrap();
        assert_eq!(
            (e.payout_address, e.state),
            (addr(9), EarningState::Approved)
        );
        assert_eq!(
            l.address_corrections(e.id).await.unwrap(),
            vec![(rec.id.unwrap(), addr(1), addr(9), "admin:test".to_string())]
        );
    }
    // The live batch's earning and the USD one are untouched.
    assert_eq!(
        l.earning(in_batch).await.unwrap().unwrap().payout_address,
        addr(1)
    );
    assert_eq!(
        l.earning(usd_one).await.unwrap().unwrap().payout_address,
        addr(1)
    );
    // Again: nothing to change, nothing recorded.
    let again = l.correct_payout_address(&fix(9)).await.unwrap();
    assert_eq!((again.id, again.corrected.len()), (None, 0));
    // Bad input.
    let mut bad = fix(9);
    bad.new_address =
        labelmint_ledger::RawAddress::parse(&format!("-1:{}", "ab".repeat(32))).unwrap();
    assert!(matches!(
        l.correct_payout_address(&bad).await,
        Err(Error::InvalidInput {
            field: "new_address",
            ..
        })
    ));
    let mut bad = fix(9);
    bad.corrected_by = String::new();
    assert!(matches!(
        l.correct_payout_address(&bad).await,
        Err(Error::InvalidInput {
            field: "corrected_by",
            ..
        })
    ));
    // The correction history is append-only.
    assert!(
        sqlx::query("DELETE FROM ledger_address_corrections")
            .execute(&db.pool)
            .await
            .is_err()
    );
    // The next batch pays the corrected earnings in one transfer to the new address.
    let b2 = l.form_batch(&req(2, 250, 1_000)).await.unwrap().unwrap();
    let items = l.batch_items(b2.id).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            &items[0].payout_address,
            items[0].amount,
            &items[0].earnings
        ),
        (&addr(9), 40, &waiting)
    );
    assert_eq!(batch_state(l, b.id).await, BatchState::Batched);
}

/// A database made before aggregation: its batches' items (item id = earning id, an earning
/// re-batched after an expiry under the same id) become legacy payout items with exactly those
/// ids; new items get ids above them; a bounce of a legacy item finds the paid one.
#[tokio::test]
async fn batches_made_before_aggregation_keep_their_item_ids() {
    let db = TestDb::at_ledger_version(20261201000001).await;
    let l = &db.ledger;
    register_all(l).await;
    let ids = approve_n(l, 3, 40).await;
    // The earlier scheme, written as it wrote it: batch 1 (all three) expired, batch 2 (the
    // first two) paid, earning 3 approved again.
    let mut batches = Vec::new();
    for (q, state, n) in [(1, "expired", 3), (2, "confirmed", 2)] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ledger_batches (vault, currency, query_id, created_at, valid_until, state, item_count, total) \
             VALUES ($1, 'TON', $2, 1000, 1060, $3, $4, $5) RETURNING id",
        )
        .bind(vault_of(&ton()).as_str())
        .bind(q)
        .bind(state)
        .bind(n)
        .bind(40 * n as i64)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        batches.push(id);
        for (pos, e) in ids[..n as usize].iter().enumerate() {
            sqlx::query(
                "INSERT INTO ledger_batch_items (batch_id, earning_id, position, outcome) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(e.get() as i64)
            .bind(pos as i32)
            .bind(if state == "expired" { "expired" } else { "paid" })
            .execute(&db.pool)
            .await
            .unwrap();
        }
    }
    sqlx::query("UPDATE ledger_earnings SET state = 'batched' WHERE id = ANY($1)")
        .bind(ids[..2].iter().map(|e| e.get() as i64).collect::<Vec<_>>())
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE ledger_earnings SET state = 'confirmed' WHERE id = ANY($1)")
        .bind(ids[..2].iter().map(|e| e.get() as i64).collect::<Vec<_>>())
        .execute(&db.pool)
        .await
        .unwrap();

    db.finish().await;
    let legacy = l.batch_items(BatchId(batches[1])).await.unwrap();
    assert_eq!(
        legacy
            .iter()
            .map(|i| (i.item_id.get(), i.earnings.clone(), i.outcome, i.bounceable))
            .collect::<Vec<_>>(),
        vec![
            (ids[0].get(), vec![ids[0]], ItemOutcome::Paid, Some(false)),
            (ids[1].get(), vec![ids[1]], ItemOutcome::Paid, Some(false)),
        ]
    );
    assert_eq!(l.batch_items(BatchId(batches[0])).await.unwrap().len(), 3);
    // New items: ids above every legacy id.
    let b = l.form_batch(&req(3, 250, 1_000)).await.unwrap().unwrap();
    let items = l.batch_items(b.id).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].earnings, vec![ids[2]]);
    assert!(items[0].item_id.get() > ids[2].get());
    // The first earning's id names two legacy items (expired, paid): its bounce is the paid one.
    assert_eq!(
        l.item_bounced(
            ItemId::new(ids[0].get()).unwrap(),
            &evidence(7),
            BounceReason::PayoutBounced
        )
        .await
        .unwrap(),
        Transition::Applied
    );
    assert_eq!(state_of(l, ids[0]).await, EarningState::Approved);
    let bounces = l.earning_bounces(ids[0]).await.unwrap();
    assert_eq!(bounces.len(), 1);
    assert_eq!(bounces[0].batch, BatchId(batches[1]));
}
