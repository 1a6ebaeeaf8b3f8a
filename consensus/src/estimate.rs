//! What every method returns: per-task posteriors over the labels, plus the worker model.

use std::fmt;
use std::str::FromStr;

use crate::data::Id;
use crate::error::Error;

/// A consensus method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Majority vote: confidence is the winning label's share of the votes.
    MajorityVote,
    /// Reliability-weighted vote (one-coin model: a worker's weight is the log-odds of their
    /// estimated accuracy, re-estimated until the labels stop changing).
    WeightedVote,
    /// Dawid-Skene EM with one confusion matrix per worker.
    DawidSkene,
}

impl Method {
    /// The short name used on the command line and in the database (`mv`, `wv`, `ds`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::MajorityVote => "mv",
            Method::WeightedVote => "wv",
            Method::DawidSkene => "ds",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "mv" | "majority" | "majority-vote" => Ok(Method::MajorityVote),
            "wv" | "weighted" | "weighted-vote" => Ok(Method::WeightedVote),
            "ds" | "dawid-skene" => Ok(Method::DawidSkene),
            other => Err(Error::UnknownMethod(other.to_owned())),
        }
    }
}

/// Per-worker confusion matrices and class priors learnt by Dawid-Skene (the warm start of the
/// next run). Workers and labels are named, so a model survives new workers and tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerModel {
    /// Label names (the matrices' row and column order).
    pub labels: Vec<String>,
    /// Worker names (the matrices' order).
    pub workers: Vec<String>,
    /// Class priors, summing to 1.
    pub priors: Vec<f64>,
    /// `confusion[w*K*K + true*K + observed]`: P(worker w answers `observed` | truth `true`);
    /// each row sums to 1.
    pub confusion: Vec<f64>,
}

impl WorkerModel {
    /// Number of labels.
    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }

    /// Worker `w`'s K×K confusion matrix (rows: true label, columns: answered label).
    pub fn matrix(&self, w: usize) -> &[f64] {
        let kk = self.labels.len() * self.labels.len();
        &self.confusion[w * kk..(w + 1) * kk]
    }

    /// Worker `w`'s expected accuracy under the priors: sum_k prior[k] * confusion[k][k].
    pub fn accuracy(&self, w: usize) -> f64 {
        let k = self.labels.len();
        let m = self.matrix(w);
        (0..k).map(|i| self.priors[i] * m[i * k + i]).sum()
    }
}

/// The result of a method over one [`crate::Answers`].
#[derive(Debug, Clone)]
pub struct Estimate {
    /// Which method produced it.
    pub method: Method,
    /// K.
    pub n_labels: usize,
    /// `posteriors[t*K + k]`: P(task t's true label is k | answers); rows sum to 1.
    pub posteriors: Vec<f64>,
    /// Iterations run (1 for majority vote).
    pub iterations: u32,
    /// True when the method stopped by its tolerance rather than its iteration cap.
    pub converged: bool,
    /// The data log-likelihood at the end (Dawid-Skene only).
    pub log_likelihood: Option<f64>,
    /// Per-worker weights (weighted vote only).
    pub weights: Option<Vec<f64>>,
    /// Confusion matrices and priors (Dawid-Skene only).
    pub model: Option<WorkerModel>,
}

impl Estimate {
    /// Task `t`'s posterior row.
    pub fn posterior(&self, t: Id) -> &[f64] {
        let k = self.n_labels;
        &self.posteriors[t as usize * k..(t as usize + 1) * k]
    }

    /// The most probable label of task `t` and its probability; ties go to the smallest label
    /// id (= the lexicographically smallest label). `None` when K is 0.
    pub fn best(&self, t: Id) -> Option<(Id, f64)> {
        argmax(self.posterior(t))
    }
}

/// Index and value of the largest element; the first one on ties.
pub(crate) fn argmax(row: &[f64]) -> Option<(Id, f64)> {
    let mut best: Option<(Id, f64)> = None;
    for (k, &p) in row.iter().enumerate() {
        match best {
            Some((_, b)) if p <= b => {}
            _ => best = Some((k as Id, p)),
        }
    }
    best
}
