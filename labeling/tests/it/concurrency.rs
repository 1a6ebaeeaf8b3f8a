//! 2,000 simulated workers take and answer tasks with overlap 3 in parallel (tokio tasks
//! against the service), with consensus passes running in the background: no task over its
//! overlap, no worker twice on a task, no reservation lost, every agreeing answer approved
//! exactly once, the budget never exceeded.
//!
//! `make test` runs 2,000 tasks (6,000 answers); `LABELING_TASKS=20000` (`make
//! labeling-load`) runs the full 20,000 (60,000 answers, ~40,000 ledger approvals, 1,000 per
//! ledger transaction). `RUST_LOG=labelmint_labeling=info` prints each pass's timings.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use labelmint_labeling::{Error, TaskSet};
use labelmint_ledger::ProjectId;

use crate::support::{Env, PROJECT, worker};

const PRICE: u128 = 1_000;
const WORKERS: u32 = 2_000;

fn tasks() -> usize {
    std::env::var("LABELING_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_workers_take_and_answer_tasks_with_overlap_three() {
    let n_tasks = tasks();
    // RUST_LOG=labelmint_labeling=info prints each consensus pass with its timings.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    // Enough for every answer and the re-asks (max overlap 4), and not much more.
    let deposit = PRICE * (n_tasks as u128) * 4;
    let env = Env::new(deposit, 24, true).await;
    let mut ts = TaskSet::new(PROJECT, &["a", "b", "c"], PRICE);
    ts.overlap = 3;
    ts.max_overlap = 4;
    ts.gold_per_mille = 0;
    env.labeling.put_task_set(&ts).await.expect("task set");
    env.upload(n_tasks, &[]).await;
    let started = Instant::now();
    let answered = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..WORKERS {
        let labeling = env.labeling.clone();
        let answered = Arc::clone(&answered);
        let pool = env.pool.clone();
        handles.push(tokio::spawn(async move {
            let w = worker(i);
            let mut mine = 0usize;
            loop {
                let r = match labeling.next(PROJECT, &w).await {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => panic!("worker {i}: next: {e}"),
                };
                // Truth: the task's number mod 3; every tenth worker answers one off.
                let n = r.payload["n"].as_u64().expect("n") as usize;
                let truth = ["a", "b", "c"][n % 3];
                let label = if i % 10 == 9 {
                    ["a", "b", "c"][(n + 1) % 3]
                } else {
                    truth
                };
                match labeling.submit(r.task_id, &w, label).await {
                    Ok(s) => assert!(!s.replayed),
                    Err(Error::TaskClosed { .. }) => continue,
                    Err(e) => panic!("worker {i}: submit: {e}"),
                }
                mine += 1;
            }
            drop(pool);
            answered.fetch_add(mine, Ordering::Relaxed);
        }));
    }
    for h in handles {
        h.await.expect("worker task");
    }
    let load = started.elapsed();
    // Finish the consensus: passes until nothing changes and every task is closed.
    for _ in 0..20 {
        let r = env.labeling.settle(PROJECT).await.expect("settle");
        if r.closed == 0 && r.reopened == 0 && r.approvals_created == 0 {
            break;
        }
    }
    let total = answered.load(Ordering::Relaxed);
    eprintln!(
        "{WORKERS} workers, {n_tasks} tasks: {total} answers in {:.1} s ({:.0} answers/s), then settled at {:.1} s",
        load.as_secs_f64(),
        total as f64 / load.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    // No task over its overlap (answers counted twice: the task's counter and the rows).
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_tasks WHERE answers > wanted OR wanted > 4")
            .await,
        0
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM labeling_tasks t WHERE t.answers <> (SELECT count(*) \
             FROM labeling_answers a WHERE a.task_id = t.id AND a.kind = 'answer')"
        )
        .await,
        0
    );
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_answers").await as usize,
        total
    );
    // No worker twice on a task (also a unique key), in labeling and in the engine.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM (SELECT task, worker FROM consensus_submissions \
             GROUP BY 1, 2 HAVING count(*) > 1) d"
        )
        .await,
        0
    );
    assert_eq!(
        env.count("SELECT count(*) FROM consensus_submissions")
            .await as usize,
        total
    );
    // No reservation lost: every one ended in an answer (no expiry: the clock did not move).
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_reservations WHERE state <> 'answered'")
            .await,
        env.count("SELECT count(*) FROM labeling_reservations WHERE state = 'released'")
            .await,
        "only reservations of tasks closed under them were released"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_reservations WHERE state = 'live'")
            .await,
        0
    );
    // Every task decided (each has a 2-of-3 or better majority), all closed.
    let p = env.labeling.progress(PROJECT).await.expect("progress");
    assert_eq!(p.decided as usize, n_tasks, "{p:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM labeling_tasks WHERE state = 'open'")
            .await,
        0
    );
    // Every agreeing answer approved exactly once, nothing else.
    let agreeing = env
        .count(
            "SELECT count(*) FROM consensus_submissions s JOIN (SELECT DISTINCT ON (task) task, \
               label, submission_ids FROM consensus_decisions WHERE kind = 'decision' \
               ORDER BY task, seq DESC) d ON d.task = s.task \
             WHERE s.label = d.label AND s.id = ANY(d.submission_ids)",
        )
        .await;
    assert_eq!(
        env.count("SELECT count(*) FROM ledger_earnings").await,
        agreeing
    );
    assert_eq!(
        env.count("SELECT count(DISTINCT submission_key) FROM ledger_earnings")
            .await,
        agreeing
    );
    // The budget: approved within the deposit; nothing held once everything is closed.
    let funding = env
        .ledger
        .project_funding(ProjectId(PROJECT))
        .await
        .expect("funding");
    assert_eq!(funding.approved, agreeing as u128 * PRICE);
    assert!(funding.approved <= deposit);
    let (left, held) = env.labeling.budget(PROJECT).await.expect("budget");
    assert_eq!((left, held), (deposit - funding.approved, 0));
}
