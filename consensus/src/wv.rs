//! Reliability-weighted vote (one-coin model).
//!
//! A worker's accuracy `a` is estimated as the Laplace-smoothed share of their answers that
//! agree with the current labels (gold tasks: with the truth); their weight is the log-odds
//! `ln((K-1) a / (1-a))`, floored at 0 (a worker no better than chance does not vote). Under
//! the one-coin model the posterior of label k is the softmax of the summed weights of the
//! answers for k. Labels start from majority vote and are re-estimated until they stop
//! changing or `max_iterations` is reached.

use crate::data::{Answers, Id};
use crate::estimate::{Estimate, Method, argmax};
use crate::mv::vote_shares;

/// Weighted-vote settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WvConfig {
    /// Iteration cap.
    pub max_iterations: u32,
    /// Laplace pseudo-count for the accuracy estimate.
    pub smoothing: f64,
}

impl Default for WvConfig {
    fn default() -> Self {
        Self {
            max_iterations: 50,
            smoothing: 1.0,
        }
    }
}

/// Reliability-weighted vote.
pub fn weighted_vote(answers: &Answers, cfg: &WvConfig) -> Estimate {
    let k = answers.n_labels();
    let mut post = vote_shares(answers);
    let mut labels: Vec<Option<Id>> = labels_of(answers, &post, k);
    let mut weights = vec![0.0; answers.n_workers()];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < cfg.max_iterations {
        iterations += 1;
        for (w, weight) in weights.iter_mut().enumerate() {
            let (tasks, ls) = answers.worker_answers(w as Id);
            let agree = tasks
                .iter()
                .zip(ls)
                .filter(|&(&t, &l)| labels[t as usize] == Some(l))
                .count() as f64;
            let acc = (agree + cfg.smoothing) / (tasks.len() as f64 + 2.0 * cfg.smoothing);
            *weight = weight_of_accuracy(acc, k);
        }
        weighted_posteriors(answers, &weights, &mut post);
        let next = labels_of(answers, &post, k);
        let same = next == labels;
        labels = next;
        if same {
            converged = true;
            break;
        }
    }
    Estimate {
        method: Method::WeightedVote,
        n_labels: k,
        posteriors: post,
        iterations,
        converged,
        log_likelihood: None,
        weights: Some(weights),
        model: None,
    }
}

fn labels_of(answers: &Answers, post: &[f64], k: usize) -> Vec<Option<Id>> {
    (0..answers.n_tasks())
        .map(|t| argmax(&post[t * k..(t + 1) * k]).map(|(l, _)| l))
        .collect()
}

fn weighted_posteriors(answers: &Answers, weights: &[f64], post: &mut [f64]) {
    let k = answers.n_labels();
    if k == 0 {
        return;
    }
    for (t, row) in post.chunks_mut(k).enumerate() {
        row.fill(0.0);
        if let Some(g) = answers.gold()[t] {
            row[g as usize] = 1.0;
            continue;
        }
        let (ws, ls) = answers.task_answers(t as Id);
        for (&w, &l) in ws.iter().zip(ls) {
            row[l as usize] += weights[w as usize];
        }
        softmax(row);
    }
}

/// In-place softmax (max-shifted).
pub(crate) fn softmax(row: &mut [f64]) {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - m).exp();
        sum += *x;
    }
    for x in row.iter_mut() {
        *x /= sum;
    }
}

/// The weighted-vote posteriors under given per-worker weights (no learning): how tasks are
/// decided incrementally between re-estimates. `weights[w]` for every worker id of `answers`.
pub fn posteriors_with_weights(answers: &Answers, weights: &[f64]) -> Estimate {
    let mut post = vote_shares(answers);
    weighted_posteriors(answers, weights, &mut post);
    Estimate {
        method: Method::WeightedVote,
        n_labels: answers.n_labels(),
        posteriors: post,
        iterations: 0,
        converged: true,
        log_likelihood: None,
        weights: Some(weights.to_vec()),
        model: None,
    }
}

/// The accuracy a weight stands for (inverse of the log-odds weight).
pub fn accuracy_of_weight(weight: f64, n_labels: usize) -> f64 {
    let e = weight.exp();
    e / ((n_labels.max(2) - 1) as f64 + e)
}

/// The weight of an accuracy: `ln((K-1) a / (1-a))`, floored at 0.
pub fn weight_of_accuracy(accuracy: f64, n_labels: usize) -> f64 {
    let a = accuracy.clamp(1e-9, 1.0 - 1e-9);
    (((n_labels.max(2) - 1) as f64) * a / (1.0 - a))
        .ln()
        .max(0.0)
}
