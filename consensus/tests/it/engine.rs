//! The Postgres engine with the real ledger: incremental decisions, idempotent approvals
//! under injected crashes, the needs-more loop, gold failers, re-estimates that never revoke.

use labelmint_consensus::sim::{SimConfig, simulate};
use labelmint_consensus::{
    DsConfig, Engine, Error, FailPoint, GoldPolicy, Method, NewSubmission, Policy, ProjectSettings,
    dawid_skene, submission_key,
};
use labelmint_ledger::{BatchRequest, ChainRef, CurrencyCode, EarningState};

use crate::support::{PROJECT, TestDb, address};

fn settings(method: Method, threshold: f64, min: u32, max: u32) -> ProjectSettings {
    ProjectSettings {
        project: PROJECT,
        labels: vec!["dog".into(), "cat".into()],
        method,
        policy: Policy {
            threshold,
            min_overlap: min,
            max_overlap: max,
        },
        gold: GoldPolicy {
            max_error_rate: 0.5,
            min_answers: 3,
        },
        price: 1_000,
    }
}

async fn setup(db: &TestDb, s: &ProjectSettings, tasks: &[&str]) {
    db.store.put_project(s).await.expect("project");
    let tasks: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
    db.store.add_tasks(s.project, &tasks).await.expect("tasks");
}

async fn sub(db: &TestDb, task: &str, worker: &str, label: &str) -> i64 {
    let byte = worker
        .bytes()
        .fold(1u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    db.store
        .submit(&NewSubmission {
            project: PROJECT,
            task: task.into(),
            worker: worker.into(),
            payout_address: address(byte),
            label: label.into(),
        })
        .await
        .expect("submit")
}

async fn earning(db: &TestDb, id: i64) -> Option<labelmint_ledger::Earning> {
    db.ledger
        .earning_by_submission(&submission_key(id))
        .await
        .expect("ledger")
}

#[tokio::test]
async fn decides_as_soon_as_overlap_is_reached_and_approves_once() {
    let db = TestDb::new().await;
    setup(
        &db,
        &settings(Method::MajorityVote, 0.6, 3, 5),
        &["t1", "t2"],
    )
    .await;
    let a = sub(&db, "t1", "ann", "cat").await;
    let b = sub(&db, "t1", "bob", "cat").await;
    let c = sub(&db, "t1", "cid", "dog").await;
    let d = sub(&db, "t2", "ann", "dog").await;
    // Submitting the same answer again is idempotent; another answer is refused.
    assert_eq!(sub(&db, "t1", "ann", "cat").await, a);
    assert!(
        db.store
            .submit(&NewSubmission {
                project: PROJECT,
                task: "t1".into(),
                worker: "ann".into(),
                payout_address: address(1),
                label: "dog".into(),
            })
            .await
            .is_err()
    );
    let engine = db.engine();
    let r = engine.process(PROJECT).await.expect("process");
    assert_eq!((r.decided, r.needs_more, r.decisions_written), (1, 0, 1));
    assert_eq!((r.approvals_created, r.approvals_existing), (2, 0));
    assert_eq!(
        db.store
            .task_state(PROJECT, "t1")
            .await
            .expect("state")
            .as_deref(),
        Some("decided")
    );
    assert_eq!(
        db.store
            .task_state(PROJECT, "t2")
            .await
            .expect("state")
            .as_deref(),
        Some("open")
    );
    // The decision explains itself: label, confidence, judgments, posterior per label.
    let rows = db.store.decisions(PROJECT, "t1").await.expect("decisions");
    assert_eq!(rows.len(), 1);
    let dec = &rows[0];
    assert_eq!(
        (dec.label.as_deref(), dec.state.as_str()),
        (Some("cat"), "decided")
    );
    assert_eq!(dec.submission_ids, vec![a, b, c]);
    assert!((dec.confidence - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(dec.posterior.len(), 2); // [cat, dog]
    assert!((dec.posterior[0] - 2.0 / 3.0).abs() < 1e-12);
    // Agreeing submissions earn the price, with the decision id; the other does not.
    for id in [a, b] {
        let e = earning(&db, id).await.expect("approved");
        assert_eq!(
            (e.amount, e.decision_id.as_str()),
            (1_000, dec.decision_id.as_str())
        );
        assert_eq!(e.state, EarningState::Approved);
    }
    assert!(earning(&db, c).await.is_none());
    assert!(earning(&db, d).await.is_none());
    // Running again changes nothing.
    let r = engine.process(PROJECT).await.expect("process again");
    assert_eq!(
        (r.decided, r.decisions_written, r.approvals_created),
        (0, 0, 0)
    );
    // A late answer on a decided task is neither used nor paid.
    let late = sub(&db, "t1", "dan", "cat").await;
    sub(&db, "t2", "bob", "dog").await;
    sub(&db, "t2", "cid", "dog").await;
    let r = engine.process(PROJECT).await.expect("process t2");
    assert_eq!((r.decided, r.approvals_created), (1, 3));
    assert!(earning(&db, late).await.is_none());
    assert_eq!(db.count("SELECT count(*) FROM ledger_earnings").await, 5);
    // Decisions are append-only.
    let err = sqlx::query("DELETE FROM consensus_decisions")
        .execute(db.store.pool())
        .await;
    assert!(err.is_err());
}

/// A simulated crowd into Postgres; returns the crowd.
async fn load_crowd(
    db: &TestDb,
    s: &ProjectSettings,
    cfg: &SimConfig,
) -> labelmint_consensus::sim::Crowd {
    let crowd = simulate(cfg).expect("crowd");
    let a = &crowd.answers;
    let tasks: Vec<String> = a.tasks().to_vec();
    let mut s = s.clone();
    s.labels = a.labels().to_vec();
    db.store.put_project(&s).await.expect("project");
    db.store.add_tasks(PROJECT, &tasks).await.expect("tasks");
    for t in 0..a.n_tasks() as u32 {
        let (ws, ls) = a.task_answers(t);
        for (&w, &l) in ws.iter().zip(ls) {
            sub(
                db,
                &a.tasks()[t as usize],
                &a.workers()[w as usize],
                &a.labels()[l as usize],
            )
            .await;
        }
    }
    crowd
}

const AGREEING: &str = "WITH latest AS (SELECT DISTINCT ON (task) task, label, state, submission_ids \
     FROM consensus_decisions WHERE kind = 'decision' ORDER BY task, seq DESC) \
     SELECT count(*) FROM latest l JOIN consensus_submissions s \
     ON s.task = l.task AND s.id = ANY(l.submission_ids) AND s.label = l.label \
     WHERE l.state = 'decided'";

async fn assert_exactly_one_approval_per_agreeing_submission(db: &TestDb) -> i64 {
    let agreeing = db.count(AGREEING).await;
    assert!(agreeing > 0);
    assert_eq!(
        db.count("SELECT count(*) FROM ledger_earnings").await,
        agreeing
    );
    assert_eq!(
        db.count("SELECT count(DISTINCT submission_key) FROM ledger_earnings")
            .await,
        agreeing
    );
    assert_eq!(
        db.count("SELECT count(*) FROM consensus_approvals").await,
        agreeing
    );
    // Every earning carries the decision that justifies it.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM ledger_earnings e JOIN consensus_approvals a \
             ON e.submission_key = 'submission:' || a.submission_id AND e.decision_id = a.decision_id \
             JOIN consensus_decisions d ON d.decision_id = a.decision_id AND d.state = 'decided'"
        )
        .await,
        agreeing
    );
    agreeing
}

#[tokio::test]
async fn crash_between_decisions_and_approvals_is_repaired_exactly_once() {
    let db = TestDb::new().await;
    let s = settings(Method::DawidSkene, 0.9, 3, 7);
    let cfg = SimConfig {
        tasks: 150,
        workers: 15,
        overlap: 4,
        seed: 3,
        ..SimConfig::default()
    };
    load_crowd(&db, &s, &cfg).await;
    let crashing = db.engine().with_fail_point(Some(FailPoint::AfterDecisions));
    let err = crashing.process(PROJECT).await.unwrap_err();
    assert!(matches!(err, Error::Injected(_)), "{err}");
    let decided = db
        .count("SELECT count(*) FROM consensus_tasks WHERE state = 'decided'")
        .await;
    assert!(decided > 50, "{decided}");
    assert_eq!(db.count("SELECT count(*) FROM ledger_earnings").await, 0);
    // The same engine crashing again decides nothing new (same decision ids).
    let rows = db.count("SELECT count(*) FROM consensus_decisions").await;
    assert!(crashing.process(PROJECT).await.is_err());
    assert_eq!(
        db.count("SELECT count(*) FROM consensus_decisions").await,
        rows
    );
    // A healthy run approves every agreeing submission once.
    let r = db.engine().process(PROJECT).await.expect("rerun");
    let n = assert_exactly_one_approval_per_agreeing_submission(&db).await;
    assert_eq!((r.approvals_created as i64, r.approvals_existing), (n, 0));
    let r = db.engine().process(PROJECT).await.expect("third run");
    assert_eq!(
        (
            r.approvals_created,
            r.approvals_existing,
            r.decisions_written
        ),
        (0, 0, 0)
    );
    assert_exactly_one_approval_per_agreeing_submission(&db).await;
}

#[tokio::test]
async fn crash_after_the_ledger_approved_is_repaired_exactly_once() {
    let db = TestDb::new().await;
    let s = settings(Method::WeightedVote, 0.9, 3, 7);
    let cfg = SimConfig {
        tasks: 120,
        workers: 12,
        overlap: 4,
        seed: 4,
        ..SimConfig::default()
    };
    load_crowd(&db, &s, &cfg).await;
    let crashing = db
        .engine()
        .with_fail_point(Some(FailPoint::AfterFirstLedgerApproval));
    assert!(matches!(
        crashing.process(PROJECT).await,
        Err(Error::Injected(_))
    ));
    assert_eq!(db.count("SELECT count(*) FROM ledger_earnings").await, 1);
    assert_eq!(
        db.count("SELECT count(*) FROM consensus_approvals").await,
        0
    );
    let r = db.engine().process(PROJECT).await.expect("rerun");
    let n = assert_exactly_one_approval_per_agreeing_submission(&db).await;
    // The ledger already had the first one: it answered "not new" with the same earning.
    assert_eq!(
        (r.approvals_created as i64, r.approvals_existing),
        (n - 1, 1)
    );
}

#[tokio::test]
async fn needs_more_judgments_until_decided_or_unresolved() {
    let db = TestDb::new().await;
    setup(
        &db,
        &settings(Method::MajorityVote, 0.9, 3, 5),
        &["t1", "t2"],
    )
    .await;
    for (w, l) in [("a", "cat"), ("b", "cat"), ("c", "dog")] {
        sub(&db, "t1", w, l).await;
    }
    for w in ["a", "b", "c"] {
        sub(&db, "t2", w, "dog").await;
    }
    let engine = db.engine();
    let r = engine.process(PROJECT).await.expect("process");
    assert_eq!((r.decided, r.needs_more, r.approvals_created), (1, 1, 3));
    let state = |t: &'static str| {
        let store = db.store.clone();
        async move {
            store
                .task_state(PROJECT, t)
                .await
                .expect("state")
                .expect("task")
        }
    };
    assert_eq!(state("t1").await, "needs_more");
    sub(&db, "t1", "d", "cat").await; // 3/4 = 0.75: still below 0.9, under 5
    let r = engine.process(PROJECT).await.expect("process");
    assert_eq!((r.needs_more, r.decisions_written), (1, 1));
    assert_eq!(state("t1").await, "needs_more");
    sub(&db, "t1", "e", "cat").await; // 4/5 = 0.8 at the maximum overlap
    let r = engine.process(PROJECT).await.expect("process");
    assert_eq!(r.unresolved, 1);
    assert_eq!(state("t1").await, "unresolved");
    let rows = db.store.decisions(PROJECT, "t1").await.expect("rows");
    let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["needs_more", "needs_more", "unresolved"]);
    assert_eq!(rows[2].submission_ids.len(), 5);
    // Nobody is paid for an unresolved task.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM consensus_approvals a JOIN consensus_submissions s \
                  ON s.id = a.submission_id WHERE s.task = 't1'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn gold_failers_unpaid_answers_are_excluded_paid_ones_stand() {
    let db = TestDb::new().await;
    setup(
        &db,
        &settings(Method::MajorityVote, 0.6, 2, 5),
        &["t0", "t1"],
    )
    .await;
    for g in ["g1", "g2", "g3"] {
        db.store.add_gold(PROJECT, g, "cat").await.expect("gold");
    }
    // Gold tasks can't be re-labelled, and a decided task can't become gold.
    assert!(db.store.add_gold(PROJECT, "g1", "dog").await.is_err());
    // Before the liar is caught: t0 is decided with the liar's answer, and the liar is paid.
    let liar_t0 = sub(&db, "t0", "liar", "dog").await;
    sub(&db, "t0", "pia", "dog").await;
    sub(&db, "g1", "liar", "dog").await;
    sub(&db, "g1", "pia", "cat").await;
    let r = db.engine().process(PROJECT).await.expect("process");
    assert_eq!(
        (r.decided, r.flagged_workers, r.approvals_created),
        (1, 0, 2)
    );
    assert!(earning(&db, liar_t0).await.is_some());
    assert!(db.store.add_gold(PROJECT, "t0", "cat").await.is_err());
    // The liar fails two more gold tasks and answers t1.
    sub(&db, "g2", "liar", "dog").await;
    sub(&db, "g3", "liar", "dog").await;
    let liar_t1 = sub(&db, "t1", "liar", "dog").await;
    sub(&db, "t1", "pia", "cat").await;
    sub(&db, "t1", "quo", "cat").await;
    let r = db.engine().process(PROJECT).await.expect("process");
    assert_eq!((r.flagged_workers, r.excluded_submissions), (1, 1));
    assert_eq!((r.decided, r.approvals_created), (1, 2));
    let stats = db
        .store
        .worker_stats(PROJECT, "liar")
        .await
        .expect("stats")
        .expect("liar");
    assert!(stats.flagged);
    assert_eq!((stats.gold_answers, stats.gold_errors), (3, 3));
    let t1 = db.store.decisions(PROJECT, "t1").await.expect("rows");
    assert_eq!(t1[0].submission_ids.len(), 2); // the liar's answer was not a judgment
    assert!(!t1[0].submission_ids.contains(&liar_t1));
    assert_eq!(t1[0].confidence, 1.0);
    assert!(earning(&db, liar_t1).await.is_none());
    // What was approved before stays approved.
    assert_eq!(
        earning(&db, liar_t0).await.expect("stands").state,
        EarningState::Approved
    );
    // Gold tasks are never decided nor paid.
    assert_eq!(
        db.count("SELECT count(*) FROM consensus_decisions WHERE task LIKE 'g%'")
            .await,
        0
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM consensus_approvals a JOIN consensus_submissions s \
                  ON s.id = a.submission_id WHERE s.task LIKE 'g%'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn reestimate_of_a_paid_decision_is_recorded_never_revoked() {
    let db = TestDb::new().await;
    setup(&db, &settings(Method::MajorityVote, 0.6, 3, 9), &["t1"]).await;
    let a = sub(&db, "t1", "a", "cat").await;
    let b = sub(&db, "t1", "b", "cat").await;
    sub(&db, "t1", "c", "dog").await;
    let r = db.engine().process(PROJECT).await.expect("process");
    assert_eq!(r.approvals_created, 2);
    // Pay both earnings: a batch, confirmed by (test) chain evidence.
    let batch = db
        .ledger
        .form_batch(&BatchRequest {
            currency: CurrencyCode::ton(),
            max_items: 250,
            max_total: 1_000_000,
            query_id: 1,
            created_at: 1_790_000_000,
            valid_until: 1_790_000_060,
        })
        .await
        .expect("batch")
        .expect("items");
    let applied = db
        .ledger
        .mark_confirmed(
            batch.id,
            &ChainRef {
                tx_hash: [7; 32],
                msg_idx: 0,
                lt: 1_000,
                now: 1_790_000_010,
            },
        )
        .await
        .expect("confirmed");
    assert_eq!(applied, labelmint_ledger::Transition::Applied);
    // Later answers outvote the decision: a re-estimate would say "dog".
    for w in ["d", "e", "f"] {
        sub(&db, "t1", w, "dog").await;
    }
    let r = db.engine().reestimate(PROJECT).await.expect("reestimate");
    assert_eq!((r.flips, r.reestimates_recorded), (1, 2));
    assert_eq!(r.step.approvals_created, 0);
    for id in [a, b] {
        let e = earning(&db, id).await.expect("earning");
        assert_eq!(e.state, EarningState::Confirmed, "never revoked");
        let recs = db.ledger.reestimates(e.id).await.expect("reestimates");
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].1, 0);
        assert!(recs[0].2.contains("now `dog`"), "{}", recs[0].2);
    }
    let rows = db.store.decisions(PROJECT, "t1").await.expect("rows");
    let kinds: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.kind.as_str(), r.label.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [("decision", Some("cat")), ("reestimate", Some("dog"))]
    );
    assert_eq!(
        db.store
            .task_state(PROJECT, "t1")
            .await
            .expect("s")
            .as_deref(),
        Some("decided")
    );
    // Idempotent: the same re-estimate again records nothing new.
    let r = db.engine().reestimate(PROJECT).await.expect("again");
    assert_eq!((r.flips, r.reestimates_recorded), (1, 0));
    assert_eq!(
        db.store.decisions(PROJECT, "t1").await.expect("rows").len(),
        2
    );
    assert_eq!(db.count("SELECT count(*) FROM ledger_earnings").await, 2);
}

#[tokio::test]
async fn dawid_skene_in_postgres_learns_then_warm_starts() {
    let db = TestDb::new().await;
    let s = settings(Method::DawidSkene, 0.9, 3, 9);
    let cfg = SimConfig {
        tasks: 250,
        workers: 20,
        overlap: 5,
        seed: 9,
        ..SimConfig::default()
    };
    let crowd = load_crowd(&db, &s, &cfg).await;
    let engine: Engine = db.engine();
    let r = engine.process(PROJECT).await.expect("process");
    assert_eq!(r.model_version, 1);
    assert!(r.decided > 150, "{}", r.decided);
    // The stored model is the one the library learns on the same answers.
    let cold = dawid_skene(&crowd.answers, &DsConfig::default(), None);
    let m = cold.model.as_ref().expect("model");
    let w0 = &crowd.answers.workers()[0];
    let stats = db
        .store
        .worker_stats(PROJECT, w0)
        .await
        .expect("stats")
        .expect("w0");
    let stored = stats.confusion.expect("confusion");
    for (x, y) in stored.iter().zip(m.matrix(0)) {
        assert!((x - y).abs() < 1e-12);
    }
    let r2 = engine.reestimate(PROJECT).await.expect("reestimate");
    assert_eq!(r2.step.model_version, 2);
    assert!(r2.converged);
    assert!(
        r2.iterations < cold.iterations,
        "warm {} vs cold {}",
        r2.iterations,
        cold.iterations
    );
    // Decided tasks are right.
    let rows = sqlx::query_as::<_, (String, String)>(
        "SELECT DISTINCT ON (task) task, label FROM consensus_decisions \
         WHERE state = 'decided' AND kind = 'decision' ORDER BY task, seq DESC",
    )
    .fetch_all(db.store.pool())
    .await
    .expect("rows");
    let a = &crowd.answers;
    let right = rows
        .iter()
        .filter(|(t, l)| {
            let t = a.task_id(t).expect("task");
            a.labels()[crowd.truth[t as usize] as usize] == *l
        })
        .count();
    assert!(
        right as f64 / rows.len() as f64 > 0.95,
        "{right}/{}",
        rows.len()
    );
}

#[tokio::test]
async fn the_run_loop_decides_approves_and_reestimates_until_shutdown() {
    let db = TestDb::new().await;
    setup(
        &db,
        &settings(Method::WeightedVote, 0.6, 3, 7),
        &["t1", "t2"],
    )
    .await;
    for w in ["a", "b", "c"] {
        sub(&db, "t1", w, "cat").await;
    }
    let engine = db.engine();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let schedule = labelmint_consensus::Schedule {
        poll: std::time::Duration::from_millis(20),
        reestimate_every: std::time::Duration::from_millis(200),
    };
    let task = tokio::spawn(async move {
        engine
            .run(PROJECT, schedule, async {
                let _ = stopped.await;
            })
            .await
    });
    // Answers arriving while it runs are decided and paid without anyone calling it.
    let wait_for = |sql: &'static str, want: i64| {
        let pool = db.store.pool().clone();
        async move {
            for _ in 0..500 {
                let n: i64 = sqlx::query_scalar(sql)
                    .fetch_one(&pool)
                    .await
                    .expect("count");
                if n >= want {
                    return n;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            panic!("timed out waiting for {sql} >= {want}");
        }
    };
    wait_for("SELECT count(*) FROM ledger_earnings", 3).await;
    for w in ["a", "b", "c"] {
        sub(&db, "t2", w, "dog").await;
    }
    wait_for("SELECT count(*) FROM ledger_earnings", 6).await;
    // Periodic re-estimates bump the model version.
    wait_for("SELECT coalesce(max(version), 0) FROM consensus_models", 2).await;
    stop.send(()).expect("stop");
    task.await.expect("join").expect("run");
    assert_eq!(db.count("SELECT count(*) FROM ledger_earnings").await, 6);
}

#[tokio::test]
async fn a_closing_project_gets_decisions_but_no_new_earnings() {
    let db = TestDb::new().await;
    setup(
        &db,
        &settings(Method::MajorityVote, 0.6, 3, 5),
        &["t1", "t2"],
    )
    .await;
    for w in ["ann", "bob", "cid"] {
        sub(&db, "t1", w, "cat").await;
    }
    let engine = db.engine();
    let r = engine.process(PROJECT).await.expect("process t1");
    assert_eq!((r.approvals_created, r.approvals_held), (3, 0));

    // The client closes the project; later agreeing answers are decided but not paid.
    let closing = db
        .ledger
        .request_close(labelmint_ledger::ProjectId(PROJECT), "client")
        .await
        .expect("close requested");
    assert_eq!(closing, labelmint_ledger::Transition::Applied);
    let late: Vec<i64> = {
        let mut v = Vec::new();
        for w in ["ann", "bob", "cid"] {
            v.push(sub(&db, "t2", w, "dog").await);
        }
        v
    };
    let r = engine
        .process(PROJECT)
        .await
        .expect("no error for a closing project");
    assert_eq!(
        (r.decided, r.approvals_created, r.approvals_held),
        (1, 0, 3)
    );
    for id in late {
        assert!(earning(&db, id).await.is_none(), "submission {id} was paid");
    }
    assert_eq!(db.count("SELECT count(*) FROM ledger_earnings").await, 3);
    // Running again holds them again, still without an error and without earnings.
    let r = engine.process(PROJECT).await.expect("process again");
    assert_eq!((r.approvals_created, r.approvals_held), (0, 3));
    assert_eq!(db.count("SELECT count(*) FROM ledger_earnings").await, 3);
}
