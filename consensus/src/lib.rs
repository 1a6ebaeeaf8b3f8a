//! # labelmint-consensus — what was earned: labels from many workers' answers
//!
//! Payouts are only as honest as the decision of what was earned. This crate decides each
//! task's label from its workers' answers, learns every worker's reliability (anchored by gold
//! tasks, whose answers are observed truth), says when a task needs more judgments, and turns
//! decided tasks into approved earnings in the ledger, idempotently, each carrying the id of
//! the decision that justifies it.
//!
//! ```text
//!  answers (CSV or Postgres) ──> data::AnswersBuilder: intern names (lexicographic ids), CSR by task / by worker
//!        │
//!        v  decide::run: gold records ──> flag gold failers ──> drop their answers
//!  mv::majority_vote | wv::weighted_vote | ds::dawid_skene (EM, gold clamped, warm start)
//!        │ posteriors per task
//!        v  decide::decide (threshold, min/max overlap)
//!  Decision { label, confidence, judgments, state: decided | needs_more | unresolved | gold }
//!        │ (Postgres: engine::Engine, tables in store)
//!        v
//!  decisions table (append-only, deterministic decision ids) ──> ledger approve_earning
//!        (one approval per agreeing submission, key "submission:<id>")
//! ```
//!
//! ## What it must never do
//!
//! - Never approve a gold task's submissions as ordinary work, nor answers of a flagged
//!   (gold-failing) worker that were not already paid.
//! - Never approve twice: approvals go through the ledger's idempotent `approve_earning` keyed
//!   by the submission; a crash between deciding and approving is repaired by the next run.
//! - Never revoke an approval: a later re-estimate that disagrees is *recorded*.
//! - Never approve for a project that is closing or closed (its remaining budget goes back to
//!   the client): agreeing submissions are held and counted (`StepReport::approvals_held`),
//!   not an error; the ledger's trigger refuses them anyway.
//! - Never use floats for money (prices are integers); floats are only probabilities.
//! - Never depend on input order or thread count: ids are lexicographic, ties go to the
//!   smallest label, sums run in a fixed order (bit-identical with 1 or N threads).
//!
//! ## Modules
//!
//! - [`data`]: [`Answers`] on dense ids and its builder.
//! - [`mv`], [`wv`], [`ds`]: majority vote, reliability-weighted vote, Dawid-Skene.
//! - [`estimate`]: [`Estimate`] (posteriors) and [`WorkerModel`] (confusion matrices).
//! - [`decide`]: [`Policy`], [`Decision`], gold failers, [`run`], [`decision_id`].
//! - [`sim`]: seeded simulated crowds with known truth.
//! - [`csv_io`]: crowd-kit's CSV layout.
//! - [`store`]: Postgres tables (settings, tasks, gold, submissions, decisions, worker stats).
//! - [`engine`]: the incremental engine and its ledger approvals.
//!
//! ## Errors and features
//!
//! One error type, [`Error`] (thiserror), and the [`Result`] alias. No feature flags.
//!
//! ## Example
//!
//! ```
//! use labelmint_consensus::{AnswersBuilder, Method, RunConfig, State, run};
//!
//! let mut b = AnswersBuilder::new();
//! for (w, l) in [("ann", "cat"), ("bob", "cat"), ("cid", "dog")] {
//!     b.answer("img1", w, l);
//! }
//! let answers = b.build()?;
//! let mut cfg = RunConfig::new(Method::MajorityVote);
//! cfg.policy.threshold = 0.6;
//! let out = run(&answers, &cfg, None)?;
//! let d = &out.decisions[0];
//! assert_eq!(answers.labels()[d.label.unwrap() as usize], "cat");
//! assert_eq!(d.state, State::Decided);
//! # Ok::<(), labelmint_consensus::Error>(())
//! ```

pub mod csv_io;
pub mod data;
pub mod decide;
pub mod ds;
pub mod engine;
pub mod error;
pub mod estimate;
pub mod guess;
pub mod mv;
pub mod sim;
pub mod store;
pub mod wv;

pub use data::{Answers, AnswersBuilder, Id};
pub use decide::{
    Decision, GoldPolicy, GoldRecord, Outcome, Policy, RunConfig, State, decide, decision_id,
    gold_records, run, state_for,
};
pub use ds::{DsConfig, ShapeChoice, WorkerShape, choose_shape, dawid_skene, posteriors_under};
pub use engine::{Engine, FailPoint, ReestimateReport, Schedule, StepReport, submission_key};
pub use error::{Error, Result};
pub use estimate::{Estimate, Method, WorkerModel};
pub use mv::majority_vote;
pub use store::{DecisionRow, NewSubmission, ProjectSettings, Store, WorkerStats};
pub use wv::{WvConfig, weighted_vote};
