//! Gold: mixed in at the project's rate, shaped like any task; workers failing it are cut off
//! and their unpaid answers excluded.

use labelmint_labeling::{Error, TaskSet};

use crate::support::{Env, PROJECT, worker};

const PRICE: u128 = 1_000_000;

#[tokio::test]
async fn gold_failing_workers_are_cut_off_and_their_unpaid_answers_excluded() {
    let env = Env::new(10_000 * PRICE, 6, false).await;
    let mut ts = TaskSet::new(PROJECT, &["cat", "dog"], PRICE);
    ts.overlap = 3;
    ts.max_overlap = 5;
    ts.gold_per_mille = 500;
    ts.max_gold_error = 0.3;
    ts.min_gold_answers = 3;
    env.labeling.put_task_set(&ts).await.expect("task set");
    let gold: Vec<(String, String)> = (0..8)
        .map(|i| (format!("g{i}"), "cat".to_owned()))
        .collect();
    let gold_refs: Vec<(&str, &str)> = gold.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    env.upload(30, &gold_refs).await;
    // Truth: every ordinary task is `dog`, every gold task `cat`. Workers 0..3 are honest;
    // worker 9 answers the wrong label every time.
    let honest = [worker(0), worker(1), worker(2)];
    let spammer = worker(9);
    let mut gold_seen = 0;
    let mut spam_answers = 0;
    let mut spam_ordinary = 0;
    for round in 0..12 {
        for w in honest.iter().chain(std::iter::once(&spammer)) {
            let r = match env.labeling.next(PROJECT, w).await {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(Error::WorkerCutOff { .. }) => {
                    assert_eq!(w, &spammer, "only the spammer is cut off");
                    continue;
                }
                Err(e) => panic!("{e}"),
            };
            // Gold looks the same: the same fields, a payload, the label set.
            assert_eq!(r.labels, ["cat", "dog"]);
            assert_eq!(r.task_type, "classification");
            let is_gold = env.name(r.task_id).await.starts_with('g');
            gold_seen += usize::from(is_gold);
            let label = match (w == &spammer, is_gold) {
                (false, true) | (true, false) => "cat",
                (false, false) | (true, true) => "dog",
            };
            env.labeling
                .submit(r.task_id, w, label)
                .await
                .expect("submit");
            spam_answers += usize::from(w == &spammer);
            spam_ordinary += usize::from(w == &spammer && !is_gold);
        }
        if round % 2 == 1 {
            env.labeling.settle(PROJECT).await.expect("settle");
        }
    }
    env.labeling.settle(PROJECT).await.expect("settle");
    assert!(
        gold_seen >= 10,
        "gold is mixed in at about half the answers: {gold_seen}"
    );
    assert!(matches!(
        env.labeling.next(PROJECT, &spammer).await,
        Err(Error::WorkerCutOff { project: PROJECT })
    ));
    assert!(
        env.labeling
            .is_cut_off(PROJECT, spammer.id())
            .await
            .expect("flag")
    );
    assert!(
        spam_answers < 12,
        "the spammer stopped getting tasks: {spam_answers}"
    );
    let q = env.labeling.worker_quality(PROJECT).await.expect("quality");
    let s = q
        .iter()
        .find(|w| w.worker == spammer.id())
        .expect("spammer");
    assert!(s.cut_off && s.gold_errors >= 3, "{s:?}");
    assert!(
        q.iter()
            .filter(|w| w.worker != spammer.id())
            .all(|w| !w.cut_off)
    );
    // None of the spammer's answers was approved; none of any gold answer either.
    let paid_spam = env
        .count(&format!(
            "SELECT count(*) FROM ledger_earnings WHERE worker = '{}'",
            spammer.id()
        ))
        .await;
    assert_eq!(paid_spam, 0);
    let gold_paid = env
        .count(
            "SELECT count(*) FROM consensus_approvals a JOIN consensus_submissions s \
             ON s.id = a.submission_id JOIN consensus_gold g \
             ON g.project_id = s.project_id AND g.task = s.task",
        )
        .await;
    assert_eq!(gold_paid, 0);
    let excluded = env
        .count("SELECT count(*) FROM consensus_submissions WHERE excluded")
        .await;
    let spam_excluded = env
        .count(&format!(
            "SELECT count(*) FROM consensus_submissions s WHERE s.excluded AND s.worker = '{}' \
             AND NOT EXISTS (SELECT 1 FROM consensus_gold g WHERE g.task = s.task)",
            spammer.id()
        ))
        .await;
    assert_eq!(
        spam_excluded as usize, spam_ordinary,
        "every ordinary answer of the spammer is excluded"
    );
    assert_eq!(excluded, spam_excluded, "nobody else's");
}
