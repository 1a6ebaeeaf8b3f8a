//! Majority vote.

use crate::data::{Answers, Id};
use crate::estimate::{Estimate, Method};

/// Majority vote: each task's posterior is the share of its votes per label (uniform when it
/// has none); gold tasks are clamped to their true label.
pub fn majority_vote(answers: &Answers) -> Estimate {
    Estimate {
        method: Method::MajorityVote,
        n_labels: answers.n_labels(),
        posteriors: vote_shares(answers),
        iterations: 1,
        converged: true,
        log_likelihood: None,
        weights: None,
        model: None,
    }
}

/// Vote shares per task (gold clamped), `T*K` row-major.
pub(crate) fn vote_shares(answers: &Answers) -> Vec<f64> {
    let k = answers.n_labels();
    let mut post = vec![0.0; answers.n_tasks() * k];
    for (t, row) in post.chunks_mut(k.max(1)).enumerate() {
        if k == 0 {
            break;
        }
        if let Some(g) = answers.gold()[t] {
            row[g as usize] = 1.0;
            continue;
        }
        let (_, labels) = answers.task_answers(t as Id);
        if labels.is_empty() {
            row.fill(1.0 / k as f64);
            continue;
        }
        for &l in labels {
            row[l as usize] += 1.0;
        }
        let n = labels.len() as f64;
        for p in row.iter_mut() {
            *p /= n;
        }
    }
    post
}
