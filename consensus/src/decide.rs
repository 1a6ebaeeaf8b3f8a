//! From posteriors to decisions: thresholds, overlaps, gold failers, and the whole pipeline.

use sha2::{Digest, Sha256};

use crate::data::{Answers, Id};
use crate::ds::{DsConfig, dawid_skene};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Method, WorkerModel};
use crate::mv::majority_vote;
use crate::wv::{WvConfig, weighted_vote};

/// A project's decision rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Posterior confidence at or above which a task is decided.
    pub threshold: f64,
    /// Judgments needed before a task may be decided.
    pub min_overlap: u32,
    /// Judgments after which an undecided task is given up (unresolved).
    pub max_overlap: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            threshold: 0.9,
            min_overlap: 3,
            max_overlap: 7,
        }
    }
}

impl Policy {
    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<()> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(Error::InvalidConfig(format!(
                "threshold {} outside (0, 1]",
                self.threshold
            )));
        }
        if self.min_overlap == 0 || self.min_overlap > self.max_overlap {
            return Err(Error::InvalidConfig(format!(
                "need 1 <= min_overlap ({}) <= max_overlap ({})",
                self.min_overlap, self.max_overlap
            )));
        }
        Ok(())
    }
}

/// Gold (known-answer) rule: a worker with at least `min_answers` gold answers whose error
/// rate on them is above `max_error_rate` is flagged; their unpaid answers are excluded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoldPolicy {
    /// Largest tolerated error rate on gold tasks.
    pub max_error_rate: f64,
    /// Gold answers needed before a worker can be flagged.
    pub min_answers: u32,
}

impl Default for GoldPolicy {
    fn default() -> Self {
        Self {
            max_error_rate: 0.5,
            min_answers: 3,
        }
    }
}

/// A task's state after a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Confident enough with enough judgments: agreeing submissions earn.
    Decided,
    /// Below the threshold (or under the minimum overlap) and under the maximum overlap: back
    /// to the queue for more judgments.
    NeedsMore,
    /// The maximum overlap is reached without confidence: nobody is paid for it.
    Unresolved,
    /// A gold task: its label is known; never paid as an ordinary task.
    Gold,
}

impl State {
    /// `decided`, `needs_more`, `unresolved`, `gold`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Decided => "decided",
            State::NeedsMore => "needs_more",
            State::Unresolved => "unresolved",
            State::Gold => "gold",
        }
    }
}

/// One task's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Task id.
    pub task: Id,
    /// The decided (or, when not decided, the currently most probable) label; `None` for a
    /// task nobody answered.
    pub label: Option<Id>,
    /// Posterior probability of `label`.
    pub confidence: f64,
    /// Judgments used (answers of non-flagged workers).
    pub judgments: u32,
    /// The task's state.
    pub state: State,
}

/// The state rule, on its own (table-tested).
pub fn state_for(policy: &Policy, is_gold: bool, confidence: f64, judgments: u32) -> State {
    if is_gold {
        State::Gold
    } else if judgments >= policy.min_overlap && confidence >= policy.threshold {
        State::Decided
    } else if judgments < policy.max_overlap {
        State::NeedsMore
    } else {
        State::Unresolved
    }
}

/// Decisions for every task of `answers` under `estimate`.
pub fn decide(answers: &Answers, estimate: &Estimate, policy: &Policy) -> Vec<Decision> {
    (0..answers.n_tasks() as Id)
        .map(|t| {
            let judgments = answers.task_answers(t).0.len() as u32;
            let gold = answers.gold()[t as usize];
            let (label, confidence) = match (gold, estimate.best(t)) {
                (Some(g), _) => (Some(g), 1.0),
                (None, Some((l, p))) if judgments > 0 => (Some(l), p),
                _ => (None, 0.0),
            };
            Decision {
                task: t,
                label,
                confidence,
                judgments,
                state: state_for(policy, gold.is_some(), confidence, judgments),
            }
        })
        .collect()
}

/// A worker's record on gold tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GoldRecord {
    /// Answers on gold tasks.
    pub answers: u32,
    /// Of which wrong.
    pub errors: u32,
}

impl GoldRecord {
    /// True when the record breaks `policy`.
    pub fn fails(&self, policy: &GoldPolicy) -> bool {
        self.answers >= policy.min_answers
            && self.errors as f64 > policy.max_error_rate * self.answers as f64
    }
}

/// Every worker's gold record.
pub fn gold_records(answers: &Answers) -> Vec<GoldRecord> {
    (0..answers.n_workers() as Id)
        .map(|w| {
            let (tasks, labels) = answers.worker_answers(w);
            let mut r = GoldRecord::default();
            for (&t, &l) in tasks.iter().zip(labels) {
                if let Some(g) = answers.gold()[t as usize] {
                    r.answers += 1;
                    r.errors += u32::from(g != l);
                }
            }
            r
        })
        .collect()
}

/// Everything a run needs to know.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunConfig {
    /// The method.
    pub method: Method,
    /// The decision rule.
    pub policy: Policy,
    /// The gold rule.
    pub gold: GoldPolicy,
    /// Dawid-Skene settings.
    pub ds: DsConfig,
    /// Weighted-vote settings.
    pub wv: WvConfig,
}

impl RunConfig {
    /// Defaults with `method`.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            policy: Policy::default(),
            gold: GoldPolicy::default(),
            ds: DsConfig::default(),
            wv: WvConfig::default(),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One decision per task (ids of the input [`Answers`]).
    pub decisions: Vec<Decision>,
    /// The estimate over the answers that were used.
    pub estimate: Estimate,
    /// Gold record per worker.
    pub gold: Vec<GoldRecord>,
    /// Flagged (gold-failing) workers: their answers were excluded.
    pub flagged: Vec<bool>,
    /// The answers actually used (flagged workers' answers removed).
    pub used: Answers,
}

/// The whole pipeline: gold records, flag failers, drop their answers, estimate, decide.
pub fn run(answers: &Answers, cfg: &RunConfig, warm: Option<&WorkerModel>) -> Result<Outcome> {
    cfg.policy.validate()?;
    let gold = gold_records(answers);
    let flagged: Vec<bool> = gold.iter().map(|r| r.fails(&cfg.gold)).collect();
    let used = if flagged.iter().any(|&f| f) {
        answers.without_workers(|w| flagged[w as usize])
    } else {
        answers.clone()
    };
    let estimate = match cfg.method {
        Method::MajorityVote => majority_vote(&used),
        Method::WeightedVote => weighted_vote(&used, &cfg.wv),
        Method::DawidSkene => dawid_skene(&used, &cfg.ds, warm),
    };
    let decisions = decide(&used, &estimate, &cfg.policy);
    Ok(Outcome {
        decisions,
        estimate,
        gold,
        flagged,
        used,
    })
}

/// The deterministic id of a decision: SHA-256 over (project, task, method, the sorted
/// submission ids used, the label, the state), hex. Re-running on the same judgments gives the
/// same id; the state is part of it so that a task that becomes confident with the same
/// judgments (after a re-estimate) gets a new decision.
pub fn decision_id(
    project: &str,
    task: &str,
    method: Method,
    submissions: &[i64],
    label: &str,
    state: &str,
) -> String {
    let mut ids = submissions.to_vec();
    ids.sort_unstable();
    let mut h = Sha256::new();
    h.update(b"labelmint/consensus/decision/v1\0");
    for part in [project, task, method.as_str()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update((ids.len() as u64).to_be_bytes());
    for id in ids {
        h.update(id.to_be_bytes());
    }
    for part in [label, state] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}
