//! Hand-checked small cases for every algorithm, the state rule, gold failers, decision ids.

use labelmint_consensus::wv::posteriors_with_weights;
use labelmint_consensus::{
    Answers, AnswersBuilder, DsConfig, GoldPolicy, Method, Policy, RunConfig, State, WorkerModel,
    WvConfig, dawid_skene, decision_id, gold_records, majority_vote, posteriors_under, run,
    state_for, weighted_vote,
};

fn build(rows: &[(&str, &str, &str)], gold: &[(&str, &str)], labels: &[&str]) -> Answers {
    let mut b = AnswersBuilder::new().label_set(labels.iter().copied());
    for (t, w, l) in rows {
        b.answer(*t, *w, *l);
    }
    for (t, l) in gold {
        b.gold(*t, *l);
    }
    b.build().expect("answers")
}

fn label_of(a: &Answers, e: &labelmint_consensus::Estimate, task: &str) -> (String, f64) {
    let (l, p) = e.best(a.task_id(task).expect("task")).expect("label");
    (a.labels()[l as usize].clone(), p)
}

#[test]
fn interning_is_lexicographic_and_order_free() {
    let rows = [
        ("t2", "bob", "dog"),
        ("t1", "ann", "cat"),
        ("t1", "bob", "bird"),
    ];
    let a = build(&rows, &[], &["dog", "cat", "bird"]);
    assert_eq!(a.labels(), ["bird", "cat", "dog"]);
    assert_eq!(a.tasks(), ["t1", "t2"]);
    assert_eq!(a.workers(), ["ann", "bob"]);
    let (ws, ls) = a.task_answers(0);
    assert_eq!((ws, ls), (&[0u32, 1][..], &[1u32, 0][..]));
    let (ts, ls) = a.worker_answers(1);
    assert_eq!((ts, ls), (&[0u32, 1][..], &[0u32, 2][..]));
    // A label outside the declared set is refused; conflicting gold too.
    let mut b = AnswersBuilder::new().label_set(["a", "b"]);
    b.answer("t", "w", "c");
    assert!(matches!(
        b.build(),
        Err(labelmint_consensus::Error::UnknownLabel { .. })
    ));
    let mut b = AnswersBuilder::new();
    b.gold("t", "a");
    b.gold("t", "b");
    assert!(matches!(
        b.build(),
        Err(labelmint_consensus::Error::ConflictingGold { .. })
    ));
}

#[test]
fn majority_vote_shares_and_ties() {
    let a = build(
        &[
            ("t1", "w1", "cat"),
            ("t1", "w2", "cat"),
            ("t1", "w3", "dog"),
            ("t2", "w1", "dog"),
            ("t2", "w2", "cat"),
            ("t3", "w3", "dog"),
        ],
        &[("t3", "cat")],
        &["cat", "dog"],
    );
    let e = majority_vote(&a);
    let (l, p) = label_of(&a, &e, "t1");
    assert_eq!(l, "cat");
    assert!((p - 2.0 / 3.0).abs() < 1e-12);
    // 1-1 tie: the lexicographically smallest label, confidence 1/2.
    assert_eq!(label_of(&a, &e, "t2"), ("cat".to_owned(), 0.5));
    // Gold is clamped to the truth whatever the votes.
    assert_eq!(label_of(&a, &e, "t3"), ("cat".to_owned(), 1.0));
}

#[test]
fn weighted_posteriors_are_the_softmax_of_weights() {
    let a = build(
        &[("t", "expert", "a"), ("t", "n1", "b"), ("t", "n2", "b")],
        &[],
        &["a", "b"],
    );
    // Workers are [expert, n1, n2]: scores a = 2.0, b = 0.5 + 0.5 = 1.0.
    let e = posteriors_with_weights(&a, &[2.0, 0.5, 0.5]);
    let (l, p) = label_of(&a, &e, "t");
    assert_eq!(l, "a");
    let expected = 1.0 / (1.0 + (-1.0f64).exp()); // e^2 / (e^2 + e^1)
    assert!((p - expected).abs() < 1e-12, "{p} vs {expected}");
}

#[test]
fn weighted_vote_learns_from_gold_who_to_trust() {
    // Gold shows that "good" is always right and "b1", "b2" always answer "b".
    let mut rows = Vec::new();
    let mut gold = Vec::new();
    for i in 0..6 {
        let t = format!("g{i}");
        let truth = if i % 2 == 0 { "a" } else { "b" };
        gold.push((t.clone(), truth));
        rows.push((t.clone(), "good", truth));
        rows.push((t.clone(), "b1", "b"));
        rows.push((t, "b2", "b"));
    }
    rows.push(("x".into(), "good", "a"));
    rows.push(("x".into(), "b1", "b"));
    rows.push(("x".into(), "b2", "b"));
    let rows: Vec<(&str, &str, &str)> = rows.iter().map(|(t, w, l)| (t.as_str(), *w, *l)).collect();
    let gold: Vec<(&str, &str)> = gold.iter().map(|(t, l)| (t.as_str(), *l)).collect();
    let a = build(&rows, &gold, &["a", "b"]);
    assert_eq!(label_of(&a, &majority_vote(&a), "x").0, "b");
    let wv = weighted_vote(&a, &WvConfig::default());
    let w = wv.weights.as_ref().expect("weights");
    let good = a.worker_id("good").expect("good") as usize;
    let b1 = a.worker_id("b1").expect("b1") as usize;
    // good: 7/7 agreements -> (7+1)/(7+2); b1: 3 right of 7 (+ x) -> weight 0.
    assert!((w[good] - ((8.0 / 9.0) / (1.0 / 9.0f64)).ln()).abs() < 1e-9);
    assert_eq!(w[b1], 0.0);
    assert_eq!(label_of(&a, &wv, "x").0, "a");
    // Dawid-Skene reaches the same conclusion through the confusion matrices.
    let ds = dawid_skene(&a, &DsConfig::default(), None);
    let (l, p) = label_of(&a, &ds, "x");
    assert_eq!(l, "a");
    assert!(p > 0.8, "{p}");
}

#[test]
fn dawid_skene_e_step_by_hand() {
    // K = 2, priors 1/2. Worker A: P(a|a)=0.9, P(b|a)=0.1, P(a|b)=0.2, P(b|b)=0.8.
    // Worker B: P(a|a)=0.6, P(b|a)=0.4, P(a|b)=0.4, P(b|b)=0.6.
    // Task: A says a, B says b. P(a) ∝ .5*.9*.4 = .18, P(b) ∝ .5*.2*.6 = .06 -> 0.75.
    let a = build(&[("t", "A", "a"), ("t", "B", "b")], &[], &["a", "b"]);
    let model = WorkerModel {
        labels: vec!["a".into(), "b".into()],
        workers: vec!["A".into(), "B".into()],
        priors: vec![0.5, 0.5],
        confusion: vec![0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.4, 0.6],
    };
    let e = posteriors_under(&a, &model).expect("same labels");
    let (l, p) = label_of(&a, &e, "t");
    assert_eq!(l, "a");
    assert!((p - 0.75).abs() < 1e-12, "{p}");
    // A worker unknown to the model gets the mean matrix: C says b with P(b|a)=.25,
    // P(b|b)=.7: P(a) ∝ .18*.25 = .045, P(b) ∝ .06*.7 = .042.
    let a2 = build(
        &[("t", "A", "a"), ("t", "B", "b"), ("t", "C", "b")],
        &[],
        &["a", "b"],
    );
    let e2 = posteriors_under(&a2, &model).expect("same labels");
    let (_, p2) = label_of(&a2, &e2, "t");
    assert!((p2 - 0.045 / 0.087).abs() < 1e-12, "{p2}");
}

#[test]
fn dawid_skene_m_step_matches_its_posteriors() {
    // The returned model is the smoothed M-step of the returned posteriors: check worker by
    // worker, cell by cell, by recomputing the counts here.
    let rows = [
        ("t1", "w1", "a"),
        ("t1", "w2", "a"),
        ("t1", "w3", "b"),
        ("t2", "w1", "b"),
        ("t2", "w2", "b"),
        ("t2", "w3", "b"),
        ("t3", "w1", "a"),
        ("t3", "w2", "b"),
        ("t3", "w3", "a"),
        ("t4", "w1", "a"),
        ("t4", "w3", "a"),
    ];
    let a = build(&rows, &[("t4", "a")], &["a", "b"]);
    let cfg = DsConfig::default();
    let e = dawid_skene(&a, &cfg, None);
    assert!(e.converged);
    let m = e.model.as_ref().expect("model");
    for w in 0..a.n_workers() as u32 {
        let mut counts = [[cfg.smoothing; 2]; 2];
        let (ts, ls) = a.worker_answers(w);
        for (&t, &l) in ts.iter().zip(ls) {
            for (k, row) in counts.iter_mut().enumerate() {
                row[l as usize] += e.posterior(t)[k];
            }
        }
        for (k, row) in counts.iter().enumerate() {
            let total: f64 = row.iter().sum();
            for (l, c) in row.iter().enumerate() {
                let got = m.matrix(w as usize)[k * 2 + l];
                assert!((got - c / total).abs() < 1e-9, "w{w} {k}->{l}: {got}");
            }
        }
    }
    // Gold task t4 stays clamped.
    assert_eq!(e.posterior(a.task_id("t4").expect("t4")), [1.0, 0.0]);
}

#[test]
fn state_rule_table() {
    let p = Policy {
        threshold: 0.9,
        min_overlap: 3,
        max_overlap: 5,
    };
    let table = [
        // (gold, confidence, judgments, expected)
        (false, 0.95, 3, State::Decided),
        (false, 0.90, 3, State::Decided),
        (false, 0.95, 2, State::NeedsMore),
        (false, 0.80, 4, State::NeedsMore),
        (false, 0.80, 5, State::Unresolved),
        (false, 0.99, 5, State::Decided),
        (false, 0.00, 0, State::NeedsMore),
        (true, 0.30, 9, State::Gold),
    ];
    for (gold, c, j, want) in table {
        assert_eq!(state_for(&p, gold, c, j), want, "{gold} {c} {j}");
    }
    assert!(
        Policy {
            min_overlap: 4,
            max_overlap: 3,
            ..p
        }
        .validate()
        .is_err()
    );
    assert!(
        Policy {
            threshold: 1.5,
            ..p
        }
        .validate()
        .is_err()
    );
}

#[test]
fn gold_failers_are_flagged_and_excluded() {
    // "liar" answers 3 gold tasks, all wrong; "ok" answers them right; both answer x, y.
    let mut rows = vec![];
    for g in ["g1", "g2", "g3"] {
        rows.push((g, "ok", "a"));
        rows.push((g, "liar", "b"));
    }
    rows.extend([
        ("x", "ok", "a"),
        ("x", "liar", "b"),
        ("x", "p", "a"),
        ("y", "liar", "b"),
    ]);
    let a = build(&rows, &[("g1", "a"), ("g2", "a"), ("g3", "a")], &["a", "b"]);
    let recs = gold_records(&a);
    let liar = a.worker_id("liar").expect("liar") as usize;
    assert_eq!((recs[liar].answers, recs[liar].errors), (3, 3));
    let mut cfg = RunConfig::new(Method::MajorityVote);
    cfg.policy = Policy {
        threshold: 0.9,
        min_overlap: 2,
        max_overlap: 4,
    };
    cfg.gold = GoldPolicy {
        max_error_rate: 0.5,
        min_answers: 3,
    };
    let out = run(&a, &cfg, None).expect("run");
    assert!(out.flagged[liar]);
    assert_eq!(out.flagged.iter().filter(|&&f| f).count(), 1);
    let x = &out.decisions[a.task_id("x").expect("x") as usize];
    // The liar's "b" is not a judgment: 2 judgments, both "a": decided.
    assert_eq!((x.judgments, x.state), (2, State::Decided));
    assert_eq!(x.confidence, 1.0);
    let y = &out.decisions[a.task_id("y").expect("y") as usize];
    assert_eq!((y.judgments, y.label, y.state), (0, None, State::NeedsMore));
    for g in ["g1", "g2", "g3"] {
        assert_eq!(
            out.decisions[a.task_id(g).expect("g") as usize].state,
            State::Gold
        );
    }
    // With min_answers above 3 nobody is flagged.
    cfg.gold.min_answers = 4;
    assert!(!run(&a, &cfg, None).expect("run").flagged[liar]);
}

#[test]
fn decision_ids_are_deterministic() {
    let a = decision_id("7", "t1", Method::DawidSkene, &[3, 1, 2], "cat", "decided");
    let b = decision_id("7", "t1", Method::DawidSkene, &[1, 2, 3], "cat", "decided");
    assert_eq!(a, b);
    assert_eq!(a.len(), 64);
    for other in [
        decision_id("7", "t1", Method::DawidSkene, &[1, 2, 3], "dog", "decided"),
        decision_id("7", "t1", Method::DawidSkene, &[1, 2], "cat", "decided"),
        decision_id(
            "7",
            "t1",
            Method::MajorityVote,
            &[1, 2, 3],
            "cat",
            "decided",
        ),
        decision_id("7", "t2", Method::DawidSkene, &[1, 2, 3], "cat", "decided"),
        decision_id("8", "t1", Method::DawidSkene, &[1, 2, 3], "cat", "decided"),
        decision_id(
            "7",
            "t1",
            Method::DawidSkene,
            &[1, 2, 3],
            "cat",
            "needs_more",
        ),
        // No ambiguity from concatenation.
        decision_id("7", "t1", Method::DawidSkene, &[1, 2, 3], "ca", "tdecided"),
    ] {
        assert_ne!(a, other);
    }
}
