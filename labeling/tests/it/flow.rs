//! One worker's flow: reservation, expiry by the clock, submit / skip / release idempotency,
//! every refusal, uploads that fail whole, the client's views and a worker's balance.

use labelmint_labeling::{Error, Format, TaskSet};
use labelmint_ledger::CurrencyCode;

use crate::support::{Env, PROJECT, T0, worker};

const PRICE: u128 = 1_000_000;

async fn env(tasks: usize, overlap: u32) -> Env {
    let env = Env::new(1_000 * PRICE, 6, false).await;
    let mut ts = TaskSet::new(PROJECT, &["cat", "dog"], PRICE);
    ts.overlap = overlap;
    ts.max_overlap = overlap + 2;
    ts.gold_per_mille = 0;
    env.labeling.put_task_set(&ts).await.expect("task set");
    env.upload(tasks, &[]).await;
    env
}

#[tokio::test]
async fn an_expired_reservation_refuses_the_answer_and_returns_the_task_to_the_pool() {
    let env = env(1, 1).await;
    let (ann, bob) = (worker(1), worker(2));
    let r = env
        .labeling
        .next(PROJECT, &ann)
        .await
        .expect("next")
        .expect("a task");
    assert_eq!(r.expires_ms, T0 + 30 * 60 * 1000, "30 minutes by default");
    // Overlap 1: the task is held, bob gets nothing.
    assert!(
        env.labeling
            .next(PROJECT, &bob)
            .await
            .expect("next")
            .is_none()
    );
    // Asking again returns the same reservation.
    let again = env
        .labeling
        .next(PROJECT, &ann)
        .await
        .expect("next")
        .expect("same");
    assert_eq!(again, r);
    let (_, held) = env.labeling.budget(PROJECT).await.expect("budget");
    assert_eq!(held, PRICE, "one task, one funded answer slot");

    env.clock.advance(30 * 60 * 1000 - 1);
    assert!(
        env.labeling
            .next(PROJECT, &bob)
            .await
            .expect("next")
            .is_none(),
        "1 ms before expiry: still held"
    );
    env.clock.advance(1);
    let b = env
        .labeling
        .next(PROJECT, &bob)
        .await
        .expect("next")
        .expect("back in the pool");
    assert_eq!(b.task_id, r.task_id);
    match env.labeling.submit(r.task_id, &ann, "cat").await {
        Err(Error::ReservationExpired {
            task_id,
            expired_ms,
        }) => {
            assert_eq!(task_id, r.task_id);
            assert_eq!(expired_ms, r.expires_ms);
        }
        other => panic!("expected an expired reservation, got {other:?}"),
    }
    env.labeling
        .submit(b.task_id, &bob, "dog")
        .await
        .expect("bob answers");
    // The expired reservation is recorded by the sweep; the task's one slot is still held.
    assert_eq!(env.labeling.sweep_expired(PROJECT).await.expect("sweep"), 1);
    let (_, held) = env.labeling.budget(PROJECT).await.expect("budget");
    assert_eq!(held, PRICE);
    let report = env.labeling.settle(PROJECT).await.expect("settle");
    assert_eq!(
        (report.decided, report.closed, report.approvals_created),
        (1, 1, 1)
    );
    let (left, held) = env.labeling.budget(PROJECT).await.expect("budget");
    assert_eq!((left, held), (999 * PRICE, 0));
}

#[tokio::test]
async fn submit_skip_release_are_idempotent_and_refuse_what_they_must() {
    let env = env(3, 2).await;
    let (ann, bob, cid) = (worker(1), worker(2), worker(3));
    let r = env
        .labeling
        .next(PROJECT, &ann)
        .await
        .expect("next")
        .expect("task");
    // Malformed or foreign input.
    assert!(matches!(
        env.labeling.submit(r.task_id, &ann, "cow").await,
        Err(Error::LabelNotInSet { .. })
    ));
    assert!(matches!(
        env.labeling.submit(424_242, &ann, "cat").await,
        Err(Error::UnknownTask { task_id: 424_242 })
    ));
    assert!(matches!(
        env.labeling.submit(r.task_id, &bob, "cat").await,
        Err(Error::NotHolder { .. })
    ));
    // The same answer twice is one submission; another label is refused.
    let s1 = env
        .labeling
        .submit(r.task_id, &ann, "cat")
        .await
        .expect("submit");
    let s2 = env
        .labeling
        .submit(r.task_id, &ann, "cat")
        .await
        .expect("again");
    assert!(!s1.replayed && s2.replayed);
    assert_eq!(s1.submission_id, s2.submission_id);
    assert!(matches!(
        env.labeling.submit(r.task_id, &ann, "dog").await,
        Err(Error::AnswerConflict { .. })
    ));
    assert_eq!(
        env.count("SELECT count(*) FROM consensus_submissions")
            .await,
        1
    );
    // No reservation at all (the task is free but bob never asked).
    let second = env
        .labeling
        .next(PROJECT, &ann)
        .await
        .expect("next")
        .expect("another");
    assert_ne!(
        second.task_id, r.task_id,
        "never a task the worker answered"
    );
    assert!(matches!(
        env.labeling.submit(second.task_id, &cid, "cat").await,
        Err(Error::NotHolder { .. })
    ));
    // Skip: never offered again to ann; skipping twice is one skip; answering after it refused.
    env.labeling.skip(second.task_id, &ann).await.expect("skip");
    env.labeling
        .skip(second.task_id, &ann)
        .await
        .expect("skip again");
    assert!(matches!(
        env.labeling.submit(second.task_id, &ann, "cat").await,
        Err(Error::AlreadyDone {
            what: "skipped",
            ..
        })
    ));
    let third = env
        .labeling
        .next(PROJECT, &ann)
        .await
        .expect("next")
        .expect("third");
    assert!(third.task_id != r.task_id && third.task_id != second.task_id);
    // Release: back to the pool, ann may get it again; releasing twice is a no-op.
    env.labeling
        .release(third.task_id, &ann)
        .await
        .expect("release");
    env.labeling
        .release(third.task_id, &ann)
        .await
        .expect("release again");
    let again = env
        .labeling
        .next(PROJECT, &ann)
        .await
        .expect("next")
        .expect("again");
    assert_eq!(again.task_id, third.task_id);
    assert!(matches!(
        env.labeling.release(r.task_id, &bob).await,
        Err(Error::NoReservation { .. })
    ));
    // History: the worker sees only their own events.
    let h = env
        .labeling
        .history(third.task_id, Some(ann.id()))
        .await
        .expect("history");
    let events: Vec<&str> = h.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["released", "reserved", "reserved"]);
    let (_, held) = env.labeling.budget(PROJECT).await.expect("budget");
    assert_eq!(
        held,
        6 * PRICE,
        "3 tasks of 2 funded slots; skips and releases keep the slots"
    );
}

#[tokio::test]
async fn a_bad_row_loads_nothing_and_names_its_line() {
    let env = env(2, 1).await;
    let before = env.count("SELECT count(*) FROM labeling_tasks").await;
    let body = b"{\"name\":\"n1\"}\n{\"name\":\"n2\",\"gold_label\":\"cow\"}\n";
    match env.labeling.upload(PROJECT, Format::JsonLines, body).await {
        Err(Error::BadRow { line, reason }) => {
            assert_eq!(line, 2);
            assert!(reason.contains("cow"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A name the project already has is a bad row too.
    let csv = b"name,url\nfresh,a\nt00001,b\n";
    match env.labeling.upload(PROJECT, Format::Csv, csv).await {
        Err(Error::BadRow { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_tasks").await,
        before
    );
    assert_eq!(
        env.count("SELECT count(*) FROM consensus_tasks").await,
        before
    );
    let loaded = env
        .labeling
        .upload(
            PROJECT,
            Format::Csv,
            b"name,url,gold_label\nc1,a,\nc2,b,dog\n",
        )
        .await
        .expect("csv");
    assert_eq!(loaded, 2);
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_tasks WHERE gold")
            .await,
        1
    );
    assert_eq!(env.count("SELECT count(*) FROM consensus_gold").await, 1);
}

#[tokio::test]
async fn views_export_and_the_workers_balance() {
    let env = env(4, 2).await;
    let ws = [worker(1), worker(2)];
    // Both answer every task; they disagree on the last one (needs more: majority 0.5 < 0.6).
    for w in &ws {
        while let Some(r) = env.labeling.next(PROJECT, w).await.expect("next") {
            let name = env.name(r.task_id).await;
            let label = if name == "t00003" && w == &ws[1] {
                "dog"
            } else {
                "cat"
            };
            env.labeling
                .submit(r.task_id, w, label)
                .await
                .expect("submit");
        }
    }
    let report = env.labeling.settle(PROJECT).await.expect("settle");
    assert_eq!(
        (report.decided, report.needs_more, report.reopened),
        (3, 1, 1)
    );
    let p = env.labeling.progress(PROJECT).await.expect("progress");
    assert_eq!((p.tasks, p.decided, p.needs_more, p.answers), (4, 3, 1, 8));
    let q = env.labeling.worker_quality(PROJECT).await.expect("quality");
    assert_eq!(q.len(), 2);
    assert!(q.iter().all(|w| w.agreement == Some(1.0)), "{q:?}");
    assert_eq!(
        env.labeling.estimated_accuracy(PROJECT).await.expect("acc"),
        Some(1.0)
    );
    let labels = env.labeling.decided_labels(PROJECT).await.expect("labels");
    assert_eq!(labels.len(), 3);
    let jsonl = labelmint_labeling::to_json_lines(&labels);
    assert_eq!(jsonl.lines().count(), 3);
    assert!(
        jsonl.starts_with("{\"name\":\"t00000\",\"label\":\"cat\""),
        "{jsonl}"
    );
    let csv = labelmint_labeling::to_csv(&labels).expect("csv");
    assert!(
        csv.starts_with("name,label,confidence,answers\nt00000,cat,1.000000,2\n"),
        "{csv}"
    );
    // A third worker breaks the tie on t00003.
    let cid = worker(3);
    let r = env
        .labeling
        .next(PROJECT, &cid)
        .await
        .expect("next")
        .expect("the reopened task");
    assert_eq!(env.name(r.task_id).await, "t00003");
    env.labeling
        .submit(r.task_id, &cid, "cat")
        .await
        .expect("submit");
    env.labeling.settle(PROJECT).await.expect("settle");
    assert_eq!(env.labeling.progress(PROJECT).await.expect("p").decided, 4);

    // Balances: ann 4 approvals, bob 3 (his `dog` disagreed), cid 1.
    let ton = CurrencyCode::ton();
    let b = env.labeling.balances(ws[0].id()).await.expect("balance");
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].currency.as_str(), b[0].approved, b[0].decimals),
        ("TON", 4 * PRICE, 9)
    );
    env.labeling
        .set_minimum_payout(&ton, 2 * PRICE)
        .await
        .expect("minimum");
    assert!(
        matches!(
            env.labeling.request_withdrawal(cid.id(), &ton).await,
            Err(Error::Withdrawal(_))
        ),
        "below the minimum"
    );
    assert_eq!(
        env.labeling
            .request_withdrawal(ws[0].id(), &ton)
            .await
            .expect("w"),
        4 * PRICE
    );
    assert_eq!(
        env.labeling
            .request_withdrawal(ws[0].id(), &ton)
            .await
            .expect("w"),
        4 * PRICE
    );
    env.labeling
        .set_threshold(ws[1].id(), &ton, Some(3 * PRICE))
        .await
        .expect("threshold");
    assert!(
        env.labeling
            .set_threshold(cid.id(), &ton, Some(PRICE))
            .await
            .is_err()
    );
    let due = env.labeling.due_earnings(&ton).await.expect("due");
    assert_eq!(
        due.len(),
        7,
        "ann's request (4) and bob's threshold (3); cid is below"
    );
    let bal = env.labeling.balances(ws[0].id()).await.expect("b");
    assert_eq!(bal[0].requested, Some(4 * PRICE));
}
