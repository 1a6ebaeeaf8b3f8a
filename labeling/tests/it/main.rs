//! labelmint-labeling's integration tests: real Postgres (one scratch database per test), the
//! real consensus engine and ledger; time moves by a [`labelmint_labeling::ManualClock`].

mod budget;
mod concurrency;
mod flow;
mod gold;
mod support;
