//! Dawid-Skene EM with per-worker confusion matrices, anchored by gold tasks.
//!
//! ```text
//!  init: posteriors := majority-vote shares, M-step  (cold start)
//!     or the previous WorkerModel                     (warm start; new workers get the mean matrix)
//!  repeat until max |Δ posterior| < tolerance or max_iterations (ONE pass over the answers):
//!    E-step  post[t][k] ∝ priors[k] · Π_{answers (t,w,l)} confusion[w][k][l]
//!            (probability products while they cannot underflow, log space otherwise)
//!            gold task t: post[t] := one-hot(true label)   (observed truth, every E-step)
//!            and, in the same pass, counts[w][l][k] += post[t][k] per answer (t,w,l)
//!    M-step  priors[k]          = (Σ_t post[t][k] + β) / (T + Kβ)
//!            confusion[w][k][l] = (counts[w][l][k] + α) / (Σ_l … + Kα)
//! ```
//!
//! Determinism: every task's row is computed by one thread, in worker-id order. Counts, prior
//! sums and the log-likelihood are accumulated per fixed chunk of tasks (the partition depends
//! only on the data's shape), then summed over chunks in order. Results are therefore
//! bit-identical whatever rayon's thread count.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::data::{Answers, Id};
use crate::estimate::{Estimate, Method, WorkerModel};
use crate::mv::vote_shares;

/// Tasks per parallel block (fixed: it shapes the order of floating-point sums).
const BLOCK: usize = 2048;

/// Tasks with at most this many answers take the E-step's probability-domain fast path (no
/// exp per label); more answers, gold tasks, or an underflow take the log-space path.
const FAST_MAX_ANSWERS: usize = 24;

/// Dawid-Skene settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DsConfig {
    /// Iteration cap.
    pub max_iterations: u32,
    /// Stop when no posterior moved by more than this in one iteration.
    pub tolerance: f64,
    /// Dirichlet (Laplace) pseudo-count added to every confusion-matrix cell.
    pub smoothing: f64,
    /// Pseudo-count added to every class prior.
    pub prior_smoothing: f64,
    /// Pseudo-answers per true label that pull each worker's confusion matrix towards their
    /// "knows or guesses" matrix ([`crate::guess`]), fitted to the same counts: a worker with
    /// few answers gets a K-parameter model, a worker with many their own full matrix. 0 is
    /// classic Dawid-Skene (Laplace smoothing only). Only for [`WorkerShape::Full`].
    pub shrinkage: f64,
    /// The shape of every worker's confusion matrix; `None` (the default): chosen by evidence
    /// on the project's own answers ([`choose_shape`]).
    pub shape: Option<WorkerShape>,
    /// "Knows or guesses": the Dirichlet prior on a worker's habit ξ, in pseudo-answers per
    /// label spread evenly (a habit must show in more guesses than that to count). 8 was
    /// tuned on the simulated crowds of the comparison (1, 4, 6, 8, 10, 16 tried; 4 lost the
    /// sparse crowd to MACE, 16 the mixed one to GLAD): a development choice made with the
    /// simulated truth, which the engine itself never sees.
    pub habit_prior: f64,
}

/// The shape of a worker's confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerShape {
    /// K×K free cells per worker (classic Dawid-Skene): captures class-dependent confusions,
    /// needs many answers per worker.
    Full,
    /// "Knows or guesses" ([`crate::guess`], MACE's model): θ and a K-label habit ξ; captures
    /// spammers and fixed-label adversaries with K parameters.
    KnowsOrGuesses,
    /// One accuracy per worker, mistakes spread evenly over the other labels.
    OneCoin,
}

impl WorkerShape {
    /// Every shape, simplest first.
    pub const ALL: [WorkerShape; 3] = [
        WorkerShape::OneCoin,
        WorkerShape::KnowsOrGuesses,
        WorkerShape::Full,
    ];

    /// The shapes [`choose_shape`] ranks, simplest first. One-coin is not among them: it is
    /// "knows or guesses" with the habit ξ held uniform, and on every simulated crowd the
    /// free ξ predicted held-out answers far better (adversaries' answers are its habit);
    /// it stays available as a fixed [`DsConfig::shape`].
    pub const CANDIDATES: [WorkerShape; 2] = [WorkerShape::KnowsOrGuesses, WorkerShape::Full];

    /// `full`, `knows-or-guesses`, `one-coin`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerShape::Full => "full",
            WorkerShape::KnowsOrGuesses => "knows-or-guesses",
            WorkerShape::OneCoin => "one-coin",
        }
    }
}

impl Default for DsConfig {
    fn default() -> Self {
        Self {
            max_iterations: 500,
            tolerance: 1e-6,
            smoothing: 1.0,
            prior_smoothing: 1.0,
            shrinkage: 0.0,
            shape: None,
            habit_prior: 8.0,
        }
    }
}

/// Dawid-Skene to convergence; `warm` (a previous run's model) replaces the majority-vote
/// start when its label set matches.
pub fn dawid_skene(answers: &Answers, cfg: &DsConfig, warm: Option<&WorkerModel>) -> Estimate {
    match cfg.shape {
        Some(shape) => fit(answers, cfg, shape, warm),
        None => {
            // The final fit starts from the caller's model or from majority vote, not from
            // the selection's fit: that one stopped early (tolerance 1e-3) on part of the
            // answers, and starting there took more iterations than a cold start (209
            // against 86 on the sparse hostile crowd).
            let choice = select(answers, cfg).0;
            let chosen = DsConfig {
                habit_prior: choice.habit_prior,
                ..*cfg
            };
            fit(answers, &chosen, choice.shape, warm)
        }
    }
}

/// Which worker model the evidence favours ([`choose_shape`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeChoice {
    /// The shape chosen.
    pub shape: WorkerShape,
    /// The habit prior chosen ([`DsConfig::habit_prior`]).
    pub habit_prior: f64,
    /// (shape, habit prior, held-out predictive log-likelihood per scored answer) of each
    /// candidate tried, simplest first (empty: too few held-out answers to judge, the
    /// configured shape is kept).
    pub scores: Vec<(WorkerShape, f64, f64)>,
    /// Held-out answers scored.
    pub scored: usize,
}

/// Held-out answers needed before the evidence may choose (below: classic full matrices).
const MIN_SCORED: usize = 200;

/// Chooses the worker model by evidence, never by truth: one task in five (a hash of its id;
/// gold tasks never; a project above 200,000 answers looks at a hashed sample of its tasks)
/// is held out, each shape is fitted on the other answers, and each
/// held-out answer is predicted from the other answers of its task (`log P(answer | the
/// task's other answers)` under the fitted model; workers are known from their other tasks).
/// From the simplest candidate ("knows or guesses") up, a richer shape is chosen only when it predicts the
/// held-out answers significantly better, task by task. With fewer than 200 held-out
/// answers (or a fixed [`DsConfig::shape`]) nothing is fitted: the configured shape, or
/// `Full`, is kept.
pub fn choose_shape(answers: &Answers, cfg: &DsConfig) -> ShapeChoice {
    select(answers, cfg).0
}

/// [`choose_shape`] and the chosen shape's model fitted on the training answers.
fn select(answers: &Answers, cfg: &DsConfig) -> (ShapeChoice, Option<WorkerModel>) {
    let keep = ShapeChoice {
        shape: cfg.shape.unwrap_or(WorkerShape::Full),
        habit_prior: cfg.habit_prior,
        scores: Vec::new(),
        scored: 0,
    };
    let k = answers.n_labels();
    if k < 2 || cfg.shape.is_some() {
        return (keep, None);
    }
    // A large project ranks the shapes on a sample of its tasks (about SELECT_ANSWERS
    // answers; gold tasks always), by a hash of the task id.
    let stride = (answers.n_answers() / SELECT_ANSWERS).max(1) as u64;
    let mut names = Vec::new();
    let mut gold = Vec::new();
    let mut held = Vec::new();
    let mut all = Vec::new();
    let mut train = Vec::new();
    let mut scored = 0;
    for t in 0..answers.n_tasks() as Id {
        let g = answers.gold()[t as usize];
        if g.is_none() && stride > 1 && !task_hash(t, SAMPLE_SALT).is_multiple_of(stride) {
            continue;
        }
        let id = names.len() as Id;
        names.push(answers.tasks()[t as usize].clone());
        gold.push(g);
        let out = g.is_none() && task_hash(t, HOLD_OUT_SALT).is_multiple_of(5);
        held.push(out);
        let (ws, ls) = answers.task_answers(t);
        all.extend(ws.iter().zip(ls).map(|(&w, &l)| (id, w, l)));
        if out {
            if ws.len() >= 2 {
                scored += ws.len();
            }
        } else {
            train.extend(ws.iter().zip(ls).map(|(&w, &l)| (id, w, l)));
        }
    }
    if scored < MIN_SCORED {
        return (keep, None);
    }
    let build = |triples| {
        Answers::from_dense(
            names.clone(),
            answers.workers().to_vec(),
            answers.labels().to_vec(),
            triples,
            gold.clone(),
        )
    };
    let (Ok(sample), Ok(train)) = (build(all), build(train)) else {
        return (keep, None);
    };
    let held_out = |t: Id| held[t as usize];
    let answers = &sample;
    let c = DsConfig {
        tolerance: cfg.tolerance.max(SELECT_TOLERANCE),
        max_iterations: cfg.max_iterations.min(SELECT_MAX_ITERATIONS),
        ..*cfg
    };
    // Simplest first. (A second "knows or guesses" with a 4× stronger habit prior was tried:
    // the held-out likelihood never preferred it, on any crowd.)
    let candidates = WorkerShape::CANDIDATES.map(|shape| (shape, cfg.habit_prior));
    let fits: Vec<(WorkerShape, f64, Option<WorkerModel>, Vec<f64>)> = candidates
        .par_iter()
        .map(|&(shape, habit_prior)| {
            let c = DsConfig { habit_prior, ..c };
            let model = fit(&train, &c, shape, None).model;
            let per_task = model
                .as_ref()
                .map_or_else(Vec::new, |m| held_out_scores(answers, m, &held_out));
            (shape, habit_prior, model, per_task)
        })
        .collect();
    // From the simplest shape up, a richer one must predict significantly better (paired over
    // held-out tasks: mean gain above twice its standard error) to be chosen.
    let mut best = 0;
    for cand in 1..fits.len() {
        if significantly_better(&fits[cand].3, &fits[best].3) {
            best = cand;
        }
    }
    let scores = fits
        .iter()
        .map(|(shape, habit, _, per_task)| {
            (*shape, *habit, per_task.iter().sum::<f64>() / scored as f64)
        })
        .collect();
    let (shape, habit_prior, model, _) = fits.into_iter().nth(best).unwrap_or((
        WorkerShape::Full,
        cfg.habit_prior,
        None,
        Vec::new(),
    ));
    (
        ShapeChoice {
            shape,
            habit_prior,
            scores,
            scored,
        },
        model,
    )
}

/// Whether `a` beats `b` task by task: the mean of the paired differences is above twice its
/// standard error (and positive).
fn significantly_better(a: &[f64], b: &[f64]) -> bool {
    let n = a.len().min(b.len());
    if n < 2 || a.len() != b.len() {
        return false;
    }
    let diffs = a.iter().zip(b).map(|(x, y)| x - y);
    let mean = diffs.clone().sum::<f64>() / n as f64;
    let var = diffs.map(|d| (d - mean) * (d - mean)).sum::<f64>() / (n - 1) as f64;
    mean > 0.0 && mean > 2.0 * (var / n as f64).sqrt()
}

/// The selection fits stop at this tolerance (or the configured one, if looser) or after this
/// many iterations (or the configured cap, if lower): they only have to rank the shapes, and
/// the final fit starts from the winner's model.
const SELECT_TOLERANCE: f64 = 1e-3;
const SELECT_MAX_ITERATIONS: u32 = 20;

/// Answers a large project's shape selection looks at (a sample of its tasks).
const SELECT_ANSWERS: usize = 200_000;
/// Salts of the task hashes: which tasks are sampled, which are held out.
const SAMPLE_SALT: u64 = 0x7361_6d70_6c65;
const HOLD_OUT_SALT: u64 = 0x0068_6f6c_646f_7574;

/// splitmix64 of a task id and a salt (deterministic, independent of the answers).
fn task_hash(t: Id, salt: u64) -> u64 {
    let mut z = (u64::from(t) ^ salt).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// For every held-out task with at least two answers (in task order), the sum over its answers
/// of `log P(answer | the task's other answers)` under `model` (ids of `answers`).
fn held_out_scores(
    answers: &Answers,
    model: &WorkerModel,
    held_out: &(dyn Fn(Id) -> bool + Sync),
) -> Vec<f64> {
    let k = answers.n_labels();
    let log_prior: Vec<f64> = model.priors.iter().map(|p| p.max(1e-300).ln()).collect();
    let mut out = Vec::new();
    let mut all = vec![0.0; k];
    let mut without = vec![0.0; k];
    for t in 0..answers.n_tasks() as Id {
        if !held_out(t) {
            continue;
        }
        let (ws, ls) = answers.task_answers(t);
        if ws.len() < 2 {
            continue;
        }
        all.copy_from_slice(&log_prior);
        for (&w, &l) in ws.iter().zip(ls) {
            let m = model.matrix(w as usize);
            for (truth, a) in all.iter_mut().enumerate() {
                *a += m[truth * k + l as usize].max(1e-300).ln();
            }
        }
        let lse_all = log_sum_exp(&all);
        let mut task = 0.0;
        for (&w, &l) in ws.iter().zip(ls) {
            let m = model.matrix(w as usize);
            for (truth, (o, a)) in without.iter_mut().zip(&all).enumerate() {
                *o = a - m[truth * k + l as usize].max(1e-300).ln();
            }
            task += lse_all - log_sum_exp(&without);
        }
        out.push(task);
    }
    out
}

fn log_sum_exp(row: &[f64]) -> f64 {
    let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if mx == f64::NEG_INFINITY {
        return mx;
    }
    mx + row.iter().map(|x| (x - mx).exp()).sum::<f64>().ln()
}

/// EM with a fixed worker shape.
fn fit(
    answers: &Answers,
    cfg: &DsConfig,
    shape: WorkerShape,
    warm: Option<&WorkerModel>,
) -> Estimate {
    let k = answers.n_labels();
    let (t_n, w_n) = (answers.n_tasks(), answers.n_workers());
    let mut post = vec![0.0; t_n * k];
    let mut next = vec![0.0; t_n * k];
    // Probabilities: confusion `[worker][observed][truth]` and class priors.
    let mut conf = vec![0.0; w_n * k * k];
    let mut prior = vec![0.0; k];
    let warm = warm.filter(|m| m.labels.as_slice() == answers.labels() && k > 0);
    match warm {
        Some(model) => warm_model(answers, model, &mut conf, &mut prior),
        None => {
            post = vote_shares(answers);
            m_step(answers, cfg, shape, &post, &mut conf, &mut prior);
        }
    }
    // Each iteration is ONE pass over the answers: the E-step of a chunk of tasks also
    // scatters the new posteriors into that chunk's confusion counts (the next M-step).
    let chunks = Chunks::new(t_n, w_n, k, answers.n_answers());
    let mut counts = vec![0.0; chunks.count * (w_n * k * k).max(1)];
    let mut prior_sums = vec![0.0; chunks.count * k];
    let mut iterations = 0;
    let mut converged = k == 0;
    let mut ll = 0.0;
    while !converged && iterations < cfg.max_iterations {
        iterations += 1;
        let (l, delta) = e_step_fused(
            answers,
            &chunks,
            (&conf, &prior),
            &post,
            &mut next,
            (&mut counts, &mut prior_sums),
        );
        ll = l;
        std::mem::swap(&mut post, &mut next);
        // The model the new posteriors imply: after the last iteration, the one returned.
        m_from_counts(
            (cfg, shape),
            k,
            w_n,
            &chunks,
            &counts,
            &prior_sums,
            &mut conf,
            &mut prior,
        );
        converged = delta < cfg.tolerance;
    }
    let model = WorkerModel {
        labels: answers.labels().to_vec(),
        workers: answers.workers().to_vec(),
        priors: prior,
        confusion: to_confusion(&conf, w_n, k),
    };
    Estimate {
        method: Method::DawidSkene,
        n_labels: k,
        posteriors: post,
        iterations,
        converged,
        log_likelihood: Some(ll),
        weights: None,
        model: Some(model),
    }
}

/// One E-step over a given model only (no learning): the posteriors of `answers` under
/// `model` (workers unknown to the model get its mean matrix), gold clamped. This is how
/// tasks are decided incrementally between full re-estimates.
pub fn posteriors_under(answers: &Answers, model: &WorkerModel) -> Option<Estimate> {
    let k = answers.n_labels();
    if model.labels.as_slice() != answers.labels() || k == 0 {
        return None;
    }
    let mut conf = vec![0.0; answers.n_workers() * k * k];
    let mut prior = vec![0.0; k];
    warm_model(answers, model, &mut conf, &mut prior);
    let prev = vec![0.0; answers.n_tasks() * k];
    let mut post = vec![0.0; answers.n_tasks() * k];
    let (ll, _) = e_step(answers, &conf, &prior, &prev, &mut post);
    Some(Estimate {
        method: Method::DawidSkene,
        n_labels: k,
        posteriors: post,
        iterations: 0,
        converged: true,
        log_likelihood: Some(ll),
        weights: None,
        model: None,
    })
}

/// Fills the (transposed) confusion matrices and the priors from a named model.
fn warm_model(answers: &Answers, model: &WorkerModel, conf: &mut [f64], prior: &mut [f64]) {
    let k = answers.n_labels();
    let kk = k * k;
    let by_name: HashMap<&str, usize> = model
        .workers
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut mean = vec![0.0; kk];
    if model.workers.is_empty() {
        // No one known yet: a mildly diagonal matrix.
        for a in 0..k {
            for b in 0..k {
                mean[a * k + b] = if a == b {
                    0.7
                } else {
                    0.3 / (k.max(2) - 1) as f64
                };
            }
        }
    } else {
        for w in 0..model.workers.len() {
            for (m, c) in mean.iter_mut().zip(model.matrix(w)) {
                *m += c;
            }
        }
        for m in mean.iter_mut() {
            *m /= model.workers.len() as f64;
        }
    }
    for (w, name) in answers.workers().iter().enumerate() {
        let m = by_name
            .get(name.as_str())
            .map_or(mean.as_slice(), |&i| model.matrix(i));
        let out = &mut conf[w * kk..(w + 1) * kk];
        for truth in 0..k {
            for obs in 0..k {
                out[obs * k + truth] = m[truth * k + obs].max(1e-300);
            }
        }
    }
    for (lp, p) in prior.iter_mut().zip(&model.priors) {
        *lp = p.max(1e-300);
    }
}

fn to_confusion(conf: &[f64], w_n: usize, k: usize) -> Vec<f64> {
    let kk = k * k;
    let mut out = vec![0.0; w_n * kk];
    for w in 0..w_n {
        for truth in 0..k {
            for obs in 0..k {
                out[w * kk + truth * k + obs] = conf[w * kk + obs * k + truth];
            }
        }
    }
    out
}

/// M-step: smoothed confusion matrices (stored transposed: `[w][obs][truth]`, so an answer's
/// K terms are contiguous in the E-step) and priors.
fn m_step(
    answers: &Answers,
    cfg: &DsConfig,
    shape: WorkerShape,
    post: &[f64],
    conf: &mut [f64],
    prior: &mut [f64],
) {
    let k = answers.n_labels();
    let kk = k * k;
    conf.par_chunks_mut(kk).enumerate().for_each(|(w, out)| {
        // counts[obs*k + truth]
        out.fill(if raw_counts(cfg, shape) {
            0.0
        } else {
            cfg.smoothing
        });
        let (tasks, labels) = answers.worker_answers(w as Id);
        // counts[obs][truth] += post[t][truth] for each answer (t, obs).
        let pairs = tasks
            .iter()
            .zip(labels)
            .map(|(&t, &l)| (t as usize * k, l as usize * k));
        accumulate::<false>(k, out, post, pairs);
        finish_worker(cfg, shape, out, k);
    });
    let blocks: Vec<Vec<f64>> = post
        .par_chunks(BLOCK * k)
        .map(|chunk| {
            let mut s = vec![0.0; k];
            for row in chunk.chunks(k) {
                for (a, b) in s.iter_mut().zip(row) {
                    *a += b;
                }
            }
            s
        })
        .collect();
    let mut sums = vec![cfg.prior_smoothing; k];
    for b in &blocks {
        for (a, x) in sums.iter_mut().zip(b) {
            *a += x;
        }
    }
    let total: f64 = sums.iter().sum();
    for (p, s) in prior.iter_mut().zip(&sums) {
        *p = s / total;
    }
}

/// E-step into `next`; returns (log-likelihood, max |next - prev|).
fn e_step(
    answers: &Answers,
    conf: &[f64],
    prior: &[f64],
    prev: &[f64],
    next: &mut [f64],
) -> (f64, f64) {
    let k = answers.n_labels();
    if k == 0 {
        return (0.0, 0.0);
    }
    let kk = k * k;
    let model = RowModel { k, kk, conf, prior };
    let blocks: Vec<(f64, f64)> = next
        .par_chunks_mut(BLOCK * k)
        .enumerate()
        .map(|(b, chunk)| {
            let mut ll = 0.0;
            let mut delta: f64 = 0.0;
            for (i, row) in chunk.chunks_mut(k).enumerate() {
                let t = b * BLOCK + i;
                ll += e_row(answers, &model, t, row);
                let old = &prev[t * k..(t + 1) * k];
                for (r, o) in row.iter().zip(old) {
                    delta = delta.max((r - o).abs());
                }
            }
            (ll, delta)
        })
        .collect();
    let mut ll = 0.0;
    let mut delta: f64 = 0.0;
    for (l, d) in blocks {
        ll += l;
        delta = delta.max(d);
    }
    (ll, delta)
}

/// A model ready for the E-step: probabilities, confusion stored `[worker][observed][truth]`
/// (the log-space fallback takes their logs as it goes).
struct RowModel<'a> {
    k: usize,
    kk: usize,
    conf: &'a [f64],
    prior: &'a [f64],
}

/// Task `t`'s posterior into `row` (gold clamped); returns its log-likelihood term.
#[inline]
fn e_row(answers: &Answers, m: &RowModel<'_>, t: usize, row: &mut [f64]) -> f64 {
    let (k, kk) = (m.k, m.kk);
    let (ws, ls) = answers.task_answers(t as Id);
    // Answer (w, obs) contributes row confusion[w][obs][..] (indexed by truth).
    let pairs = || {
        ws.iter()
            .zip(ls)
            .map(|(&w, &l)| (w as usize * kk + l as usize * k, 0))
    };
    let gold = answers.gold()[t];
    // Fast path: a product of probabilities, exact while it cannot underflow (few answers;
    // every smoothed cell is far above 1e-280^(1/FAST_MAX_ANSWERS)).
    if ws.len() <= FAST_MAX_ANSWERS {
        row.copy_from_slice(m.prior);
        accumulate::<true>(k, row, m.conf, pairs());
        if let Some(g) = gold {
            let p = row[g as usize];
            if p > 1e-280 && p.is_finite() {
                row.fill(0.0);
                row[g as usize] = 1.0;
                return p.ln();
            }
        } else {
            let sum: f64 = row.iter().sum();
            if sum > 1e-280 && sum.is_finite() {
                for r in row.iter_mut() {
                    *r /= sum;
                }
                return sum.ln();
            }
        }
    }
    // Log space: row[truth] = log prior + Σ log confusion[w][obs][truth].
    for (r, p) in row.iter_mut().zip(m.prior) {
        *r = p.ln();
    }
    for (from, _) in pairs() {
        for (r, c) in row.iter_mut().zip(&m.conf[from..from + k]) {
            *r += c.ln();
        }
    }
    if let Some(g) = gold {
        let ll = row[g as usize];
        row.fill(0.0);
        row[g as usize] = 1.0;
        return ll;
    }
    let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if mx == f64::NEG_INFINITY {
        // Impossible under every label (only with smoothing 0): uniform.
        row.fill(1.0 / k as f64);
        return 0.0;
    }
    let mut sum = 0.0;
    for r in row.iter_mut() {
        *r = (*r - mx).exp();
        sum += *r;
    }
    for r in row.iter_mut() {
        *r /= sum;
    }
    mx + sum.ln()
}

/// The fixed partition of tasks for the fused E+M pass. It depends only on the data's shape
/// (never on the thread count), so sums over chunks in chunk order are deterministic.
struct Chunks {
    /// Number of chunks.
    count: usize,
    /// Tasks per chunk (the last may be shorter).
    tasks: usize,
}

/// Most chunks (each holds a copy of all confusion counts).
const MAX_CHUNKS: usize = 16;
/// Budget for all chunks' counts together, in cells (32 MiB of f64).
const COUNT_CELLS_BUDGET: usize = 4 << 20;

impl Chunks {
    fn new(t_n: usize, w_n: usize, k: usize, n_answers: usize) -> Self {
        let cells = (w_n * k * k).max(1);
        // Each chunk zeroes and sums all the counts once per iteration: with many workers
        // and few answers (a sparse crowd) that would cost more than the E-step itself, so a
        // chunk must carry at least half as many answer cells (answers × K) as it has counts.
        let by_answers = (n_answers * k / (2 * cells)).max(1);
        let count = (COUNT_CELLS_BUDGET / cells)
            .min(by_answers)
            .clamp(1, MAX_CHUNKS)
            .min(t_n.max(1));
        let tasks = t_n.div_ceil(count).max(1);
        Self { count, tasks }
    }
}

/// E-step into `next` and, in the same pass, each chunk's confusion counts
/// (`counts[chunk][w][obs][truth] += post[t][truth]`) and prior sums. Returns
/// (log-likelihood, max |next - prev|).
fn e_step_fused(
    answers: &Answers,
    chunks: &Chunks,
    (conf, prior): (&[f64], &[f64]),
    prev: &[f64],
    next: &mut [f64],
    (counts, prior_sums): (&mut [f64], &mut [f64]),
) -> (f64, f64) {
    let k = answers.n_labels();
    let kk = k * k;
    let w_n = answers.n_workers();
    let model = RowModel { k, kk, conf, prior };
    let per_chunk: Vec<(f64, f64)> = next
        .par_chunks_mut(chunks.tasks * k)
        .zip(counts.par_chunks_mut((w_n * kk).max(1)))
        .zip(prior_sums.par_chunks_mut(k))
        .enumerate()
        .map(|(c, ((rows, cnt), psum))| {
            cnt.fill(0.0);
            psum.fill(0.0);
            let mut ll = 0.0;
            let mut delta: f64 = 0.0;
            for (i, row) in rows.chunks_mut(k).enumerate() {
                let t = c * chunks.tasks + i;
                ll += e_row(answers, &model, t, row);
                for ((r, o), s) in row
                    .iter()
                    .zip(&prev[t * k..(t + 1) * k])
                    .zip(psum.iter_mut())
                {
                    delta = delta.max((r - o).abs());
                    *s += r;
                }
                let (ws, ls) = answers.task_answers(t as Id);
                let pairs = ws
                    .iter()
                    .zip(ls)
                    .map(|(&w, &l)| (0, w as usize * kk + l as usize * k));
                accumulate::<false>(k, cnt, row, pairs);
            }
            (ll, delta)
        })
        .collect();
    let mut ll = 0.0;
    let mut delta: f64 = 0.0;
    for (l, d) in per_chunk {
        ll += l;
        delta = delta.max(d);
    }
    (ll, delta)
}

/// M-step from the chunks' counts (summed in chunk order): smoothed confusion matrices (log,
/// `[w][obs][truth]`) and log priors.
#[allow(clippy::too_many_arguments)]
fn m_from_counts(
    (cfg, shape): (&DsConfig, WorkerShape),
    k: usize,
    w_n: usize,
    chunks: &Chunks,
    counts: &[f64],
    prior_sums: &[f64],
    conf: &mut [f64],
    prior: &mut [f64],
) {
    let kk = k * k;
    if kk == 0 {
        return;
    }
    conf.par_chunks_mut(kk).enumerate().for_each(|(w, out)| {
        out.fill(if raw_counts(cfg, shape) {
            0.0
        } else {
            cfg.smoothing
        });
        let stride = (w_n * kk).max(1);
        for c in 0..chunks.count {
            let base = c * stride + w * kk;
            for (o, x) in out.iter_mut().zip(&counts[base..base + kk]) {
                *o += x;
            }
        }
        finish_worker(cfg, shape, out, k);
    });
    let mut sums = vec![cfg.prior_smoothing; k];
    for c in 0..chunks.count {
        for (a, x) in sums.iter_mut().zip(&prior_sums[c * k..(c + 1) * k]) {
            *a += x;
        }
    }
    let total: f64 = sums.iter().sum();
    for (p, s) in prior.iter_mut().zip(&sums) {
        *p = s / total;
    }
}

/// Whether the M-step collects raw counts (a structured shape or shrinkage adds its own
/// pseudo-counts) rather than Laplace-smoothed ones.
fn raw_counts(cfg: &DsConfig, shape: WorkerShape) -> bool {
    shape != WorkerShape::Full || cfg.shrinkage > 0.0
}

/// A worker's counts `[obs][truth]` -> P(obs | truth). `Full` without shrinkage: the
/// counts carry their Laplace pseudo-counts already. `Full` with shrinkage: add `shrinkage`
/// pseudo-answers per true label spread as the worker's "knows or guesses" matrix, and the
/// Laplace pseudo-count. A structured shape: the matrix of that shape fitted to the counts.
fn finish_worker(cfg: &DsConfig, shape: WorkerShape, out: &mut [f64], k: usize) {
    if raw_counts(cfg, shape) {
        let mut small = [0.0f64; 256];
        let mut large = Vec::new();
        let centre: &mut [f64] = if k * k <= small.len() {
            &mut small[..k * k]
        } else {
            large.resize(k * k, 0.0);
            &mut large
        };
        crate::guess::fit(
            out,
            k,
            shape == WorkerShape::OneCoin,
            cfg.habit_prior,
            centre,
        );
        if shape == WorkerShape::Full {
            for (o, c) in out.iter_mut().zip(centre.iter()) {
                *o += cfg.shrinkage * c + cfg.smoothing;
            }
        } else {
            for (o, c) in out.iter_mut().zip(centre.iter()) {
                *o = c.max(1e-300);
            }
        }
    }
    normalize(out, k);
}

/// Counts `[obs][truth]` -> P(obs | truth), each truth column normalised.
fn normalize(out: &mut [f64], k: usize) {
    for truth in 0..k {
        let total: f64 = (0..k).map(|obs| out[obs * k + truth]).sum();
        for obs in 0..k {
            out[obs * k + truth] /= total;
        }
    }
}

/// `dst[to..to+K] += src[from..from+K]` (`MUL`: `*=`) for every `(from, to)` of `pairs`, in order.
/// Specialised for small K (unrolled, no bounds checks); the additions happen in the same
/// order either way, so results never depend on the specialisation.
fn accumulate<const MUL: bool>(
    k: usize,
    dst: &mut [f64],
    src: &[f64],
    pairs: impl Iterator<Item = (usize, usize)>,
) {
    match k {
        2 => accumulate_k::<MUL, 2>(dst, src, pairs),
        3 => accumulate_k::<MUL, 3>(dst, src, pairs),
        4 => accumulate_k::<MUL, 4>(dst, src, pairs),
        5 => accumulate_k::<MUL, 5>(dst, src, pairs),
        6 => accumulate_k::<MUL, 6>(dst, src, pairs),
        8 => accumulate_k::<MUL, 8>(dst, src, pairs),
        _ => {
            for (from, to) in pairs {
                for (d, s) in dst[to..to + k].iter_mut().zip(&src[from..from + k]) {
                    if MUL {
                        *d *= s;
                    } else {
                        *d += s;
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn accumulate_k<const MUL: bool, const K: usize>(
    dst: &mut [f64],
    src: &[f64],
    pairs: impl Iterator<Item = (usize, usize)>,
) {
    for (from, to) in pairs {
        let (Some(s), Some(d)) = (src.get(from..from + K), dst.get_mut(to..to + K)) else {
            continue;
        };
        let (Ok(s), Ok(d)) = (<&[f64; K]>::try_from(s), <&mut [f64; K]>::try_from(d)) else {
            continue;
        };
        for j in 0..K {
            if MUL {
                d[j] *= s[j];
            } else {
                d[j] += s[j];
            }
        }
    }
}
