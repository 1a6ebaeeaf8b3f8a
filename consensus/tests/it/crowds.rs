//! Simulated crowds: the engine must beat majority vote; results are bit-identical whatever
//! the thread count or input order; the "needs more judgments" loop converges.

use labelmint_consensus::sim::{Crowd, SimConfig, simulate};
use labelmint_consensus::{
    Answers, AnswersBuilder, DsConfig, Estimate, Id, Method, Policy, RunConfig, State, WvConfig,
    dawid_skene, majority_vote, run, weighted_vote,
};

fn labels(e: &Estimate, n: usize) -> Vec<Option<Id>> {
    (0..n as Id).map(|t| e.best(t).map(|(l, _)| l)).collect()
}

struct Scores {
    mv: f64,
    wv: f64,
    ds: f64,
}

fn scores(crowd: &Crowd) -> Scores {
    let a = &crowd.answers;
    let n = a.n_tasks();
    Scores {
        mv: crowd.accuracy(&labels(&majority_vote(a), n)),
        wv: crowd.accuracy(&labels(&weighted_vote(a, &WvConfig::default()), n)),
        ds: crowd.accuracy(&labels(&dawid_skene(a, &DsConfig::default(), None), n)),
    }
}

#[test]
fn mixed_crowd_engine_beats_majority_vote() {
    // 70% honest (0.55-0.95), 15% spammers, 10% adversaries, 5% copiers; 5 answers per task.
    let crowd = simulate(&SimConfig::default()).expect("crowd");
    let s = scores(&crowd);
    eprintln!("mixed: mv {:.4} wv {:.4} ds {:.4}", s.mv, s.wv, s.ds);
    assert!(s.ds > s.mv + 0.03, "ds {} vs mv {}", s.ds, s.mv);
    assert!(s.wv > s.mv + 0.03, "wv {} vs mv {}", s.wv, s.mv);
}

#[test]
fn adversaries_and_spammers_do_not_fool_dawid_skene() {
    // A hostile crowd: 30% adversaries (fixed wrong label), 25% spammers.
    let cfg = SimConfig {
        adversaries: 0.30,
        spammers: 0.25,
        copiers: 0.0,
        overlap: 7,
        seed: 11,
        ..SimConfig::default()
    };
    let crowd = simulate(&cfg).expect("crowd");
    let s = scores(&crowd);
    eprintln!("hostile: mv {:.4} wv {:.4} ds {:.4}", s.mv, s.wv, s.ds);
    assert!(s.ds > s.mv + 0.10, "ds {} vs mv {}", s.ds, s.mv);
}

#[test]
fn copiers_of_a_spammer_do_not_fool_dawid_skene() {
    // 30% copiers; their sources include spammers and adversaries.
    let cfg = SimConfig {
        copiers: 0.30,
        spammers: 0.15,
        adversaries: 0.10,
        seed: 12,
        ..SimConfig::default()
    };
    let crowd = simulate(&cfg).expect("crowd");
    assert!(
        crowd
            .kinds
            .iter()
            .filter(|k| matches!(k, labelmint_consensus::sim::WorkerKind::Copier(_)))
            .count()
            >= 25
    );
    let s = scores(&crowd);
    eprintln!("copiers: mv {:.4} wv {:.4} ds {:.4}", s.mv, s.wv, s.ds);
    assert!(s.ds > s.mv + 0.03, "ds {} vs mv {}", s.ds, s.mv);
}

#[test]
fn gold_anchoring_helps_dawid_skene() {
    let base = SimConfig {
        adversaries: 0.30,
        spammers: 0.25,
        copiers: 0.05,
        overlap: 5,
        seed: 5,
        ..SimConfig::default()
    };
    let without = simulate(&base).expect("crowd");
    let with = simulate(&SimConfig {
        gold_tasks: 300,
        ..base
    })
    .expect("crowd");
    // Same crowd and answers; only the gold flags differ.
    assert_eq!(without.truth, with.truth);
    let n = with.answers.n_tasks();
    let d0 = dawid_skene(&without.answers, &DsConfig::default(), None);
    let d1 = dawid_skene(&with.answers, &DsConfig::default(), None);
    let (a0, a1) = (
        with.accuracy(&labels(&d0, n)), // scored on the same non-gold tasks
        with.accuracy(&labels(&d1, n)),
    );
    eprintln!("gold: without {a0:.4} with {a1:.4}");
    assert!(a1 >= a0, "gold made it worse: {a1} < {a0}");
    for t in 0..300 {
        assert_eq!(d1.best(t), Some((with.truth[t as usize], 1.0)));
    }
}

fn bits(e: &Estimate) -> Vec<u64> {
    e.posteriors.iter().map(|p| p.to_bits()).collect()
}

#[test]
fn bit_identical_whatever_the_thread_count() {
    let crowd = simulate(&SimConfig {
        tasks: 9_000, // several parallel blocks
        gold_tasks: 50,
        ..SimConfig::default()
    })
    .expect("crowd");
    let go = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| dawid_skene(&crowd.answers, &DsConfig::default(), None))
    };
    let one = go(1);
    for threads in [2, 3, 8] {
        let other = go(threads);
        assert_eq!(bits(&one), bits(&other), "{threads} threads");
        assert_eq!(one.iterations, other.iterations);
        assert_eq!(
            one.log_likelihood.map(f64::to_bits),
            other.log_likelihood.map(f64::to_bits)
        );
        assert_eq!(one.model, other.model);
    }
}

fn rebuild(a: &Answers, reverse: bool) -> Answers {
    let mut rows = Vec::new();
    for t in 0..a.n_tasks() as Id {
        let (ws, ls) = a.task_answers(t);
        for (&w, &l) in ws.iter().zip(ls) {
            rows.push((t, w, l));
        }
    }
    if reverse {
        rows.reverse();
    }
    let mut b = AnswersBuilder::new();
    for (t, w, l) in rows {
        b.answer(
            a.tasks()[t as usize].clone(),
            a.workers()[w as usize].clone(),
            a.labels()[l as usize].clone(),
        );
    }
    for (t, g) in a.gold().iter().enumerate() {
        if let Some(g) = g {
            b.gold(a.tasks()[t].clone(), a.labels()[*g as usize].clone());
        }
    }
    b.build().expect("rebuild")
}

#[test]
fn same_result_whatever_the_input_order() {
    let crowd = simulate(&SimConfig {
        tasks: 600,
        gold_tasks: 20,
        ..SimConfig::default()
    })
    .expect("crowd");
    let fwd = rebuild(&crowd.answers, false);
    let rev = rebuild(&crowd.answers, true);
    for method in [
        Method::MajorityVote,
        Method::WeightedVote,
        Method::DawidSkene,
    ] {
        let cfg = RunConfig::new(method);
        let a = run(&fwd, &cfg, None).expect("run");
        let b = run(&rev, &cfg, None).expect("run");
        assert_eq!(bits(&a.estimate), bits(&b.estimate), "{method}");
        assert_eq!(a.decisions, b.decisions, "{method}");
    }
}

#[test]
fn warm_start_converges_faster_to_the_same_labels() {
    let crowd = simulate(&SimConfig::default()).expect("crowd");
    let a = &crowd.answers;
    let cold = dawid_skene(a, &DsConfig::default(), None);
    let warm = dawid_skene(a, &DsConfig::default(), cold.model.as_ref());
    assert!(cold.converged && warm.converged);
    assert!(
        warm.iterations < cold.iterations,
        "{} vs {}",
        warm.iterations,
        cold.iterations
    );
    let n = a.n_tasks();
    assert_eq!(labels(&cold, n), labels(&warm, n));
}

#[test]
fn needs_more_judgments_loop() {
    // Start every task with 3 answers; while a task needs more, ask one more (new) worker;
    // stop at 9. Every task ends decided or unresolved, and decided tasks are accurate.
    let crowd = simulate(&SimConfig {
        tasks: 800,
        workers: 80,
        overlap: 3,
        spammers: 0.2,
        adversaries: 0.1,
        copiers: 0.0,
        seed: 21,
        ..SimConfig::default()
    })
    .expect("crowd");
    let a0 = &crowd.answers;
    let mut rows: Vec<(Id, Id, Id)> = Vec::new();
    for t in 0..a0.n_tasks() as Id {
        let (ws, ls) = a0.task_answers(t);
        rows.extend(ws.iter().zip(ls).map(|(&w, &l)| (t, w, l)));
    }
    let policy = Policy {
        threshold: 0.95,
        min_overlap: 3,
        max_overlap: 9,
    };
    let mut cfg = RunConfig::new(Method::DawidSkene);
    cfg.policy = policy;
    let mut rounds = 0;
    let mut first_needs_more = None;
    // As in the engine, decided and unresolved are final: those tasks get no more answers.
    let mut done: Vec<Option<labelmint_consensus::Decision>> = vec![None; a0.n_tasks()];
    loop {
        let answers = Answers::from_dense(
            a0.tasks().to_vec(),
            a0.workers().to_vec(),
            a0.labels().to_vec(),
            rows.clone(),
            a0.gold().to_vec(),
        )
        .expect("answers");
        let out = run(&answers, &cfg, None).expect("run");
        let mut pending = Vec::new();
        for d in out.decisions {
            if done[d.task as usize].is_some() {
                continue;
            }
            if d.state == State::NeedsMore {
                pending.push(d.task);
            } else {
                let t = d.task as usize;
                done[t] = Some(d);
            }
        }
        first_needs_more.get_or_insert(pending.len());
        if pending.is_empty() {
            break;
        }
        rounds += 1;
        assert!(rounds <= 6, "the loop must end by max_overlap");
        for t in pending {
            let (ws, _) = answers.task_answers(t);
            // The next worker who has not answered this task yet (deterministic).
            let n = a0.n_workers() as Id;
            let w = (0..n)
                .map(|i| (t * 7 + i * 13 + rounds) % n)
                .find(|w| !ws.contains(w))
                .expect("a free worker");
            rows.push((t, w, crowd.answer(w, t)));
        }
    }
    let done: Vec<labelmint_consensus::Decision> = done.into_iter().flatten().collect();
    assert_eq!(done.len(), a0.n_tasks());
    let first = first_needs_more.unwrap_or(0);
    assert!(
        first > 50,
        "the loop was exercised: {first} tasks needed more"
    );
    let decided: Vec<_> = done.iter().filter(|d| d.state == State::Decided).collect();
    let unresolved = done.iter().filter(|d| d.state == State::Unresolved).count();
    assert_eq!(decided.len() + unresolved, done.len());
    assert!(done.iter().all(|d| d.judgments <= 9));
    assert!(
        done.iter()
            .filter(|d| d.state == State::Unresolved)
            .all(|d| d.judgments == 9)
    );
    let right = decided
        .iter()
        .filter(|d| d.label == Some(crowd.truth[d.task as usize]))
        .count();
    let acc = right as f64 / decided.len() as f64;
    eprintln!(
        "needs-more loop: {first} first needed more, {rounds} rounds, {} decided ({acc:.4} right), {unresolved} unresolved",
        decided.len()
    );
    assert!(acc > 0.95, "{acc}");
}
