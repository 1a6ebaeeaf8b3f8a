//! The project lifecycle: active -> closing (request_close: no new earnings) -> closed
//! (ev_closed), enforced in Rust and by the database; what the payout signer reads to decide a
//! close (`close_facts`).

use labelmint_ledger::{Error, ProjectState, Transition};

use crate::support::*;

/// Writes an `ev_release` of `amount` with its `seqno` in the event's fields (as the indexer
/// writes them: integers as strings).
async fn release_event(db: &TestDb, seqno: u32, amount: u128) {
    let ev = Ev::new(escrow_of(TON_PROJECT), "ev_release", amount);
    let at = db.insert_event(&ev).await;
    sqlx::query(
        "UPDATE events SET fields = jsonb_build_object('seqno', $2::text) WHERE tx_hash = $1",
    )
    .bind(at.tx_hash.to_vec())
    .bind(seqno.to_string())
    .execute(&db.pool)
    .await
    .expect("seqno field");
}

#[tokio::test]
async fn a_closing_project_takes_no_new_earnings_and_never_goes_back() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    assert_eq!(
        l.project_state(TON_PROJECT).await.unwrap(),
        ProjectState::Active
    );
    let first = l
        .approve_earning(&earning("s1", "ann", TON_PROJECT, 300))
        .await
        .unwrap();

    // Who asks is checked; an unknown project is named.
    assert!(matches!(
        l.request_close(TON_PROJECT, "").await,
        Err(Error::InvalidInput { field: "by", .. })
    ));
    assert!(matches!(
        l.request_close(labelmint_ledger::ProjectId(999), "admin:ops")
            .await,
        Err(Error::UnknownProject(_))
    ));

    assert_eq!(
        l.request_close(TON_PROJECT, "client:0:c1").await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        l.request_close(TON_PROJECT, "admin:ops").await.unwrap(),
        Transition::AlreadyApplied
    );
    assert_eq!(
        l.project_state(TON_PROJECT).await.unwrap(),
        ProjectState::Closing
    );
    let by: String = sqlx::query_scalar(
        "SELECT close_requested_by FROM ledger_projects WHERE project_id = $1::text::numeric",
    )
    .bind(TON_PROJECT.0.to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(by, "client:0:c1", "the first request stays recorded");

    // No new earning...
    match l
        .approve_earning(&earning("s2", "ben", TON_PROJECT, 200))
        .await
    {
        Err(Error::ProjectNotActive { project, state }) => {
            assert_eq!(project, TON_PROJECT);
            assert_eq!(state, ProjectState::Closing);
        }
        other => panic!("expected ProjectNotActive, got {other:?}"),
    }
    // ...but the retry of an approval made before is answered, and other projects go on.
    let again = l
        .approve_earning(&earning("s1", "ann", TON_PROJECT, 300))
        .await
        .unwrap();
    assert_eq!(again.earning_id, first.earning_id);
    assert!(!again.newly_created);
    l.approve_earning(&earning("s3", "cid", TON_PROJECT_2, 100))
        .await
        .unwrap();
    assert_eq!(l.releasable(TON_PROJECT).await.unwrap(), 300);

    // The database refuses what goes around the crate: a new earning, a way back to active.
    let direct = sqlx::query(
        "INSERT INTO ledger_earnings (submission_key, worker, payout_address, project_id, \
             currency, amount, decision_id) \
         VALUES ('raw', 'eve', $1, $2::text::numeric, 'TON', 5, 'd')",
    )
    .bind(addr(1).as_str())
    .bind(TON_PROJECT.0.to_string())
    .execute(&db.pool)
    .await
    .expect_err("insert into a closing project");
    assert!(
        direct.to_string().contains("takes no new earnings"),
        "{direct}"
    );
    let back = sqlx::query(
        "UPDATE ledger_projects SET state = 'active' WHERE project_id = $1::text::numeric",
    )
    .bind(TON_PROJECT.0.to_string())
    .execute(&db.pool)
    .await
    .expect_err("closing -> active");
    assert!(back.to_string().contains("illegal transition"), "{back}");
    let rewrite = sqlx::query(
        "UPDATE ledger_projects SET close_requested_by = 'admin:someone-else' \
         WHERE project_id = $1::text::numeric",
    )
    .bind(TON_PROJECT.0.to_string())
    .execute(&db.pool)
    .await
    .expect_err("rewrite the close request");
    assert!(rewrite.to_string().contains("recorded once"), "{rewrite}");
}

#[tokio::test]
async fn ev_closed_closes_the_project_from_closing_and_from_active() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let _ = l.request_close(TON_PROJECT, "admin:ops").await.unwrap();
    let mut closed = Ev::new(escrow_of(TON_PROJECT), "ev_closed", 0);
    closed.amount = None;
    db.insert_event(&closed).await;
    // The client's refund at the deadline closes an active escrow as well.
    let mut closed2 = Ev::new(escrow_of(TON_PROJECT_2), "ev_closed", 0);
    closed2.amount = None;
    db.insert_event(&closed2).await;
    let report = l.ingest_chain_events(100).await.unwrap();
    assert_eq!(report.seen, 2);
    for p in [TON_PROJECT, TON_PROJECT_2] {
        assert_eq!(l.project_state(p).await.unwrap(), ProjectState::Closed);
    }
    assert!(matches!(
        l.request_close(TON_PROJECT, "admin:ops").await,
        Err(Error::IllegalProjectTransition {
            from: ProjectState::Closed,
            to: ProjectState::Closing,
            ..
        })
    ));
    assert!(matches!(
        l.approve_earning(&earning("late", "ann", TON_PROJECT_2, 1))
            .await,
        Err(Error::ProjectNotActive {
            state: ProjectState::Closed,
            ..
        })
    ));
    let facts = l.close_facts(TON_PROJECT).await.unwrap();
    assert_eq!(facts.state, ProjectState::Closed);
    assert!(facts.closed_on_chain);
}

#[tokio::test]
async fn close_facts_name_the_released_seqnos_and_the_chain_time() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    db.set_chain_time(1_000).await;
    l.approve_earning(&earning("a", "ann", TON_PROJECT, 300))
        .await
        .unwrap();
    l.approve_earning(&earning("b", "ben", TON_PROJECT, 200))
        .await
        .unwrap();
    let facts = l.close_facts(TON_PROJECT).await.unwrap();
    assert_eq!(facts.state, ProjectState::Active);
    assert_eq!(facts.funding.releasable, 500);
    assert_eq!(facts.released_seqnos, Some(vec![]));
    assert_eq!(facts.chain_time, Some(1_000));
    assert!(!facts.closed_on_chain);

    db.insert_event(&Ev::new(escrow_of(TON_PROJECT), "ev_deposit", 10_000))
        .await;
    release_event(&db, 3, 300).await;
    release_event(&db, 4, 100).await;
    l.ingest_chain_events(100).await.unwrap();
    db.set_chain_time(2_000).await;
    let facts = l.close_facts(TON_PROJECT).await.unwrap();
    assert_eq!(facts.funding.released, 400);
    assert_eq!(facts.funding.releasable, 100);
    assert_eq!(facts.released_seqnos, Some(vec![3, 4]));
    assert_eq!(facts.chain_time, Some(2_000));

    // A posted release whose event has no seqno: the list is unknown, not empty.
    db.insert_event(&Ev::new(escrow_of(TON_PROJECT), "ev_release", 50))
        .await;
    l.ingest_chain_events(100).await.unwrap();
    assert_eq!(
        l.close_facts(TON_PROJECT).await.unwrap().released_seqnos,
        None
    );
}
