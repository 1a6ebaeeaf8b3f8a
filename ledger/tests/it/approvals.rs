//! Approvals: idempotent per submission (also under 50 racing callers), conflicting content
//! refused, input checks, re-estimates recorded and never applied, revocation only before
//! batching, registrations idempotent.

use labelmint_ledger::{
    Account, BatchRequest, Currency, EarningState, Error, Project, RawAddress, Reestimate,
    Transition,
};

use crate::support::{
    TON_PROJECT, TestDb, USD_PROJECT, addr, earning, escrow_of, register_all, ton, usd,
};

#[tokio::test]
async fn approving_twice_creates_one_earning_and_one_entry() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let e = earning("sub-1", "alice", TON_PROJECT, 1_500);
    let first = l.approve_earning(&e).await.unwrap();
    assert!(first.newly_created);
    let second = l.approve_earning(&e).await.unwrap();
    assert!(!second.newly_created);
    assert_eq!(first.earning_id, second.earning_id);

    let stored = l.earning(first.earning_id).await.unwrap().unwrap();
    assert_eq!(stored.state, EarningState::Approved);
    assert_eq!(stored.amount, 1_500);
    assert_eq!(stored.currency, ton());
    assert_eq!(stored.decision_id, "decision-of-sub-1");
    assert_eq!(
        l.earning_by_submission("sub-1").await.unwrap().unwrap().id,
        first.earning_id
    );
    assert_eq!(db.count("ledger_earnings").await, 1);
    assert_eq!(
        db.count("ledger_journal_entries WHERE kind = 'approve'")
            .await,
        1
    );
    // client:101 debit, payable:alice credit.
    assert_eq!(
        l.balance(&Account::Client(TON_PROJECT), &ton())
            .await
            .unwrap(),
        1_500
    );
    assert_eq!(
        l.balance(&Account::Payable("alice".into()), &ton())
            .await
            .unwrap(),
        -1_500
    );
}

#[tokio::test]
async fn fifty_concurrent_approvals_of_one_submission_make_one_row() {
    let db = TestDb::with_connections(12).await;
    register_all(&db.ledger).await;
    let e = earning("sub-race", "bob", TON_PROJECT, 7);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let l = db.ledger.clone();
            let e = e.clone();
            tokio::spawn(async move { l.approve_earning(&e).await })
        })
        .collect();
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let a = t.await.unwrap().unwrap();
        ids.push(a.earning_id);
        created += usize::from(a.newly_created);
    }
    assert_eq!(created, 1, "exactly one caller created it");
    assert!(ids.iter().all(|i| *i == ids[0]));
    assert_eq!(db.count("ledger_earnings").await, 1);
    assert_eq!(db.count("ledger_journal_entries").await, 1);
    assert_eq!(db.count("ledger_journal_lines").await, 2);
}

#[tokio::test]
async fn same_key_with_different_content_is_refused_and_names_the_fields() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let e = earning("sub-2", "carol", TON_PROJECT, 100);
    let a = l.approve_earning(&e).await.unwrap();

    let mut other = e.clone();
    other.amount = 101;
    other.decision_id = "decision-2b".into();
    match l.approve_earning(&other).await {
        Err(Error::ApprovalConflict {
            submission_key,
            existing,
            fields,
        }) => {
            assert_eq!(submission_key, "sub-2");
            assert_eq!(existing, a.earning_id);
            assert_eq!(fields, vec!["amount", "decision_id"]);
        }
        other => panic!("expected ApprovalConflict, got {other:?}"),
    }
    let mut moved = e.clone();
    moved.payout_address = addr(9);
    moved.worker = "mallory".into();
    assert!(matches!(
        l.approve_earning(&moved).await,
        Err(Error::ApprovalConflict { ref fields, .. }) if fields == &vec!["worker", "payout_address"]
    ));
    // Nothing changed.
    let stored = l.earning(a.earning_id).await.unwrap().unwrap();
    assert_eq!((stored.amount, stored.worker.as_str()), (100, "carol"));
    assert_eq!(db.count("ledger_journal_entries").await, 1);
}

#[tokio::test]
async fn bad_approvals_are_refused() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let zero = earning("z", "w", TON_PROJECT, 0);
    assert!(matches!(
        l.approve_earning(&zero).await,
        Err(Error::InvalidInput {
            field: "amount",
            ..
        })
    ));
    let huge = earning("h", "w", TON_PROJECT, 1u128 << 120);
    assert!(matches!(
        l.approve_earning(&huge).await,
        Err(Error::InvalidInput {
            field: "amount",
            ..
        })
    ));
    let mut master = earning("m", "w", TON_PROJECT, 5);
    master.payout_address = RawAddress::from_parts(-1, &[1; 32]);
    assert!(matches!(
        l.approve_earning(&master).await,
        Err(Error::InvalidInput {
            field: "payout_address",
            ..
        })
    ));
    let mut empty = earning("", "w", TON_PROJECT, 5);
    empty.submission_key.clear();
    assert!(matches!(
        l.approve_earning(&empty).await,
        Err(Error::InvalidInput {
            field: "submission_key",
            ..
        })
    ));
    let unknown = earning("u", "w", labelmint_ledger::ProjectId(999), 5);
    assert!(matches!(
        l.approve_earning(&unknown).await,
        Err(Error::UnknownProject(p)) if p.0 == 999
    ));
    assert!(RawAddress::parse("0:xyz").is_err());
    assert!(RawAddress::parse("EQabc").is_err());
    assert_eq!(
        RawAddress::parse(&format!("0:{}", "AB".repeat(32)))
            .unwrap()
            .as_str(),
        format!("0:{}", "ab".repeat(32))
    );
    assert_eq!(db.count("ledger_earnings").await, 0);
}

#[tokio::test]
async fn earnings_take_their_projects_currency() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let a = l
        .approve_earning(&earning("usd-1", "dan", USD_PROJECT, 2_000_000))
        .await
        .unwrap();
    assert_eq!(
        l.earning(a.earning_id).await.unwrap().unwrap().currency,
        usd()
    );
    // The database refuses an earning whose currency is not its project's, whoever writes it.
    let err = sqlx::query(
        "INSERT INTO ledger_earnings (submission_key, worker, payout_address, project_id, \
             currency, amount, decision_id) VALUES ('x', 'w', $1, 201, 'TON', 1, 'd')",
    )
    .bind(addr(1).as_str())
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not the currency"), "{err}");
}

#[tokio::test]
async fn reestimates_are_recorded_and_never_change_the_earning() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let a = l
        .approve_earning(&earning("sub-r", "erin", TON_PROJECT, 500))
        .await
        .unwrap();
    let r = Reestimate {
        submission_key: "sub-r".into(),
        decision_id: "decision-r2".into(),
        amount: 0,
        note: "consensus changed after a new vote".into(),
    };
    let rec = l.record_reestimate(&r).await.unwrap();
    assert!(rec.newly_recorded);
    assert_eq!(rec.earning_id, a.earning_id);
    assert_eq!(rec.earning_state, EarningState::Approved);
    let again = l.record_reestimate(&r).await.unwrap();
    assert!(!again.newly_recorded);
    assert_eq!(
        l.reestimates(a.earning_id).await.unwrap(),
        vec![(
            "decision-r2".to_owned(),
            0,
            "consensus changed after a new vote".to_owned()
        )]
    );
    let e = l.earning(a.earning_id).await.unwrap().unwrap();
    assert_eq!((e.amount, e.state), (500, EarningState::Approved));
    let missing = Reestimate {
        submission_key: "nope".into(),
        ..r.clone()
    };
    assert!(matches!(
        l.record_reestimate(&missing).await,
        Err(Error::UnknownEarning(_))
    ));
}

#[tokio::test]
async fn revocation_only_before_batching() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let keep = l
        .approve_earning(&earning("k", "fay", TON_PROJECT, 300))
        .await
        .unwrap();
    let gone = l
        .approve_earning(&earning("g", "fay", TON_PROJECT, 200))
        .await
        .unwrap();
    assert_eq!(
        l.revoke_earning(gone.earning_id, "decision-g2")
            .await
            .unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.revoke_earning(gone.earning_id, "decision-g2")
            .await
            .unwrap(),
        Transition::AlreadyApplied
    );
    assert_eq!(
        l.earning(gone.earning_id).await.unwrap().unwrap().state,
        EarningState::Revoked
    );
    // The reversing entry: fay is owed only the kept earning; releasable counts it alone.
    assert_eq!(
        l.balance(&Account::Payable("fay".into()), &ton())
            .await
            .unwrap(),
        -300
    );
    assert_eq!(l.releasable(TON_PROJECT).await.unwrap(), 300);

    let batch = l
        .form_batch(&BatchRequest {
            currency: ton(),
            max_items: 250,
            max_total: 1_000,
            query_id: 1,
            created_at: 100,
            valid_until: 200,
        })
        .await
        .unwrap()
        .expect("a batch");
    let items = l.batch_items(batch.id).await.unwrap();
    assert_eq!(items.len(), 1, "a revoked earning is never batched");
    assert_eq!(items[0].earnings, vec![keep.earning_id]);
    match l.revoke_earning(keep.earning_id, "decision-k2").await {
        Err(Error::IllegalEarningTransition { from, to, .. }) => {
            assert_eq!((from, to), (EarningState::Batched, EarningState::Revoked));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Re-estimating a batched earning is recorded with its state; the earning stands.
    let rec = l
        .record_reestimate(&Reestimate {
            submission_key: "k".into(),
            decision_id: "decision-k2".into(),
            amount: 10,
            note: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(rec.earning_state, EarningState::Batched);
}

#[tokio::test]
async fn registrations_are_idempotent_and_conflicts_refused() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    // Again: no-op.
    register_all(l).await;
    let p = l.project(TON_PROJECT).await.unwrap().unwrap();
    assert_eq!(p.escrow, escrow_of(TON_PROJECT));
    assert_eq!(
        l.project_by_escrow(&escrow_of(TON_PROJECT)).await.unwrap(),
        Some(p.clone())
    );
    let moved = Project {
        escrow: addr(77),
        ..p
    };
    assert!(matches!(
        l.register_project(&moved).await,
        Err(Error::RegistrationConflict {
            what: "project",
            ..
        })
    ));
    assert!(matches!(
        l.register_currency(&Currency {
            code: ton(),
            decimals: 6,
            jetton_master: None
        })
        .await,
        Err(Error::RegistrationConflict {
            what: "currency",
            ..
        })
    ));
    assert!(matches!(
        l.register_project(&Project {
            id: labelmint_ledger::ProjectId(5),
            escrow: addr(5),
            currency: labelmint_ledger::CurrencyCode::new("EUR").unwrap(),
            client: addr(6),
        })
        .await,
        Err(Error::UnknownCurrency(_))
    ));
}

#[tokio::test]
async fn a_batch_approves_like_single_calls_in_one_transaction() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    // One approved before, singly: the batch answers it "not new" with the same earning.
    let before = l
        .approve_earning(&earning("sub-b0", "alice", TON_PROJECT, 10))
        .await
        .unwrap();
    let batch: Vec<_> = (0..5)
        .map(|i| earning(&format!("sub-b{i}"), "alice", TON_PROJECT, 10))
        .chain([earning("sub-b9", "bob", TON_PROJECT, 30)])
        .collect();
    let first = l.approve_earnings(&batch).await.unwrap();
    assert_eq!(first.len(), 6);
    assert_eq!(first[0].earning_id, before.earning_id);
    assert!(!first[0].newly_created);
    assert!(first[1..].iter().all(|a| a.newly_created));
    // The retry creates nothing and answers the same earnings, in order.
    let again = l.approve_earnings(&batch).await.unwrap();
    assert!(again.iter().all(|a| !a.newly_created));
    assert_eq!(
        again.iter().map(|a| a.earning_id).collect::<Vec<_>>(),
        first.iter().map(|a| a.earning_id).collect::<Vec<_>>()
    );
    for (a, e) in first.iter().zip(&batch) {
        let stored = l.earning(a.earning_id).await.unwrap().unwrap();
        assert_eq!(stored.submission_key, e.submission_key);
        assert_eq!(stored.amount, e.amount);
        assert_eq!(stored.state, EarningState::Approved);
    }
    assert_eq!(db.count("ledger_earnings").await, 6);
    assert_eq!(
        db.count("ledger_journal_entries WHERE kind = 'approve'")
            .await,
        6
    );
    assert_eq!(
        db.count("ledger_journal_lines l JOIN ledger_journal_entries e ON e.id = l.entry_id WHERE e.kind = 'approve'")
            .await,
        12
    );
    assert_eq!(
        l.balance(&Account::Client(TON_PROJECT), &ton())
            .await
            .unwrap(),
        80
    );
    assert_eq!(
        l.balance(&Account::Payable("bob".into()), &ton())
            .await
            .unwrap(),
        -30
    );
    // Different content under a known key is refused; one project per batch.
    let other = earning("sub-b9", "bob", TON_PROJECT, 31);
    assert!(matches!(
        l.approve_earnings(&[other]).await,
        Err(Error::ApprovalConflict { .. })
    ));
    let mixed = [
        earning("sub-m1", "carol", TON_PROJECT, 1),
        earning("sub-m2", "carol", USD_PROJECT, 1),
    ];
    assert!(l.approve_earnings(&mixed).await.is_err());
    // A key twice in one batch (here with two amounts) is refused whole, never collapsed.
    let twice = [
        earning("sub-t1", "carol", TON_PROJECT, 1),
        earning("sub-t1", "carol", TON_PROJECT, 2),
    ];
    assert!(matches!(
        l.approve_earnings(&twice).await,
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(db.count("ledger_earnings").await, 6);
}
