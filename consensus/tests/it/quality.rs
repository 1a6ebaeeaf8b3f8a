//! Consensus quality against crowd-kit 1.4.2, pinned: on every named crowd of the comparison
//! (`SimConfig::crowd`, the same seeds), Dawid-Skene with its evidence-chosen worker shape is
//! at least as accurate as the best of crowd-kit's DawidSkene, OneCoinDawidSkene, GLAD and
//! MACE on the same answers. The crowd-kit figures are constants recorded by
//! `make consensus-compare` (consensus/bench/compare.sh, crowd-kit==1.4.2 from PyPI, default
//! parameters; DawidSkene gets the gold tasks as `true_labels`) on 2026-12-03; the table of
//! every method is in consensus/README.md. Accuracy is over non-gold tasks; gold is used the
//! way crowd-kit uses it (clamped, nobody excluded: `max_error_rate = 1`).

use labelmint_consensus::sim::{CROWDS, SimConfig, simulate};
use labelmint_consensus::{
    AnswersBuilder, Id, Method, RunConfig, WorkerShape, choose_shape, guess, run,
};

/// (crowd, best crowd-kit accuracy rounded up to 4 decimals, which crowd-kit method reached
/// it), from `CROWDKIT_REUSE=0 make consensus-compare` (consensus/bench/compare.sh) on
/// 2026-12-03; the scores are in .data/consensus-compare/<crowd>/scores.json.
const CROWDKIT_BEST: &[(&str, f64, &str)] = &[
    ("mixed", 0.9164, "GLAD and OneCoinDawidSkene"),
    ("hostile", 0.8228, "GLAD"),
    ("spam-adv-skew-gold", 0.8253, "GLAD"),
    ("skewed", 0.9472, "OneCoinDawidSkene"),
    ("confusions", 0.9674, "DawidSkene"),
    ("sparse", 0.8220, "MACE"),
    ("sparse-hostile-gold", 0.7838, "GLAD"),
    ("binary-skewed", 0.9278, "DawidSkene"),
];

fn ours(name: &str) -> (f64, WorkerShape) {
    let crowd = simulate(&SimConfig::crowd(name).expect("a named crowd")).expect("crowd");
    let mut cfg = RunConfig::new(Method::DawidSkene);
    cfg.gold.max_error_rate = 1.0;
    let out = run(&crowd.answers, &cfg, None).expect("run");
    let labels: Vec<Option<Id>> = out.decisions.iter().map(|d| d.label).collect();
    let shape = choose_shape(&crowd.answers, &cfg.ds).shape;
    (crowd.accuracy(&labels), shape)
}

fn at_least_crowdkit(name: &str) {
    let &(_, best, by) = CROWDKIT_BEST
        .iter()
        .find(|(n, _, _)| *n == name)
        .expect("a recorded figure");
    let (acc, shape) = ours(name);
    eprintln!(
        "{name}: ours {acc:.4} ({}) vs crowd-kit's best {best:.4} ({by})",
        shape.as_str()
    );
    assert!(
        acc >= best,
        "{name}: ours {acc:.4} below crowd-kit's {best:.4} ({by})"
    );
}

#[test]
fn every_named_crowd_has_a_recorded_crowdkit_figure() {
    let recorded: Vec<&str> = CROWDKIT_BEST.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(recorded, CROWDS);
}

#[test]
fn mixed_at_least_crowdkit() {
    at_least_crowdkit("mixed");
}

#[test]
fn hostile_at_least_crowdkit() {
    at_least_crowdkit("hostile");
}

#[test]
fn spammers_adversaries_skewed_priors_and_gold_at_least_crowdkit() {
    at_least_crowdkit("spam-adv-skew-gold");
}

#[test]
fn skewed_at_least_crowdkit() {
    at_least_crowdkit("skewed");
}

#[test]
fn class_dependent_confusions_at_least_crowdkit() {
    at_least_crowdkit("confusions");
}

#[test]
fn sparse_at_least_crowdkit() {
    at_least_crowdkit("sparse");
}

#[test]
fn sparse_hostile_gold_at_least_crowdkit() {
    at_least_crowdkit("sparse-hostile-gold");
}

#[test]
fn binary_skewed_at_least_crowdkit() {
    at_least_crowdkit("binary-skewed");
}

#[test]
fn the_evidence_picks_full_matrices_only_for_class_dependent_confusions() {
    for name in ["confusions", "sparse", "spam-adv-skew-gold"] {
        let crowd = simulate(&SimConfig::crowd(name).expect("crowd")).expect("crowd");
        let choice = choose_shape(&crowd.answers, &RunConfig::new(Method::DawidSkene).ds);
        eprintln!("{name}: {choice:?}");
        let want = if name == "confusions" {
            WorkerShape::Full
        } else {
            WorkerShape::KnowsOrGuesses
        };
        assert_eq!(choice.shape, want, "{name}");
        assert_eq!(choice.scores.len(), WorkerShape::CANDIDATES.len());
        assert!(choice.scored > 2_000, "{}", choice.scored);
    }
}

#[test]
fn a_tiny_project_keeps_full_matrices() {
    // Too few held-out answers to judge: nothing is fitted, the configured (classic) shape.
    let mut b = AnswersBuilder::new();
    for t in 0..20 {
        for w in ["ann", "bob", "cid"] {
            b.answer(format!("t{t:02}"), w, if t % 3 == 0 { "a" } else { "b" });
        }
    }
    let a = b.build().expect("answers");
    let choice = choose_shape(&a, &RunConfig::new(Method::DawidSkene).ds);
    assert_eq!(choice.shape, WorkerShape::Full);
    assert!(choice.scores.is_empty());
}

#[test]
fn knows_or_guesses_fits_spammers_adversaries_and_honest_workers() {
    // counts[obs * k + truth], K = 4, 400 answers, 100 per true label.
    let k = 4;
    let mut centre = vec![0.0; k * k];
    // An adversary: always label 2.
    let mut adversary = vec![0.0; k * k];
    for truth in 0..k {
        adversary[2 * k + truth] = 100.0;
    }
    let theta = guess::fit(&adversary, k, false, 4.0, &mut centre);
    assert!(theta < 0.02, "{theta}");
    for truth in 0..k {
        assert!(centre[2 * k + truth] > 0.95, "{centre:?}");
    }
    // An honest worker right 70% of the time, mistakes spread evenly: θ = (4·0.7 - 1)/3.
    let mut honest = vec![0.0; k * k];
    for truth in 0..k {
        for obs in 0..k {
            honest[obs * k + truth] = if obs == truth { 70.0 } else { 10.0 };
        }
    }
    let theta = guess::fit(&honest, k, false, 4.0, &mut centre);
    assert!((theta - 0.6).abs() < 0.01, "{theta}");
    for truth in 0..k {
        let p = centre[truth * k + truth];
        assert!((p - 0.7).abs() < 0.01, "{p}");
        let column: f64 = (0..k).map(|obs| centre[obs * k + truth]).sum();
        assert!((column - 1.0).abs() < 1e-12);
    }
    // A spammer: uniform answers whatever the truth.
    let spammer = vec![25.0; k * k];
    let theta = guess::fit(&spammer, k, true, 4.0, &mut centre);
    assert!(theta < 0.05, "{theta}");
    for c in &centre {
        assert!((c - 0.25).abs() < 0.03, "{c}");
    }
}
