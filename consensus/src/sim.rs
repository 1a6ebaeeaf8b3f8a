//! Seeded simulated crowds with known truth (tests, the benchmark, the crowd-kit comparison).
//!
//! Worker kinds: honest (accuracy drawn uniformly in `[honest_min, honest_max]`, mistakes
//! uniform over the wrong labels), spammers (uniformly random labels), adversaries (always
//! the same label, so wrong on every task of another class) and copiers (they answer exactly
//! what another worker, their source, answers or would answer on the task). Each task gets
//! `overlap` distinct workers drawn uniformly (or along a long tail of activity). Class priors
//! may be skewed and honest mistakes may favour the next label. Everything flows from `seed` (ChaCha8), so one
//! seed is one crowd.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Answers, Id};
use crate::error::Result;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Tasks.
    pub tasks: u32,
    /// Workers.
    pub workers: u32,
    /// Labels (K).
    pub labels: u32,
    /// Answers per task.
    pub overlap: u32,
    /// Tasks whose true label is given as gold (the first ones).
    pub gold_tasks: u32,
    /// Share of spammers.
    pub spammers: f64,
    /// Share of adversaries.
    pub adversaries: f64,
    /// Share of copiers.
    pub copiers: f64,
    /// Honest accuracy range.
    pub honest_min: f64,
    /// Honest accuracy range.
    pub honest_max: f64,
    /// The seed.
    pub seed: u64,
    /// Class priors: P(true label k) ∝ `prior_ratio^k` (1 = uniform; 0.5 with 4 labels gives
    /// 0.53 / 0.27 / 0.13 / 0.07).
    pub prior_ratio: f64,
    /// Share of an honest worker's mistakes that go to the next label (`truth + 1 mod K`)
    /// rather than uniformly to the wrong labels: class-dependent confusion, which a full
    /// confusion matrix captures and a one-coin model does not.
    pub neighbour_errors: f64,
    /// Worker activity: worker `i` (in a shuffled order) is drawn for a task with weight
    /// `(i+1)^-activity_skew` (0 = uniform). A long tail of workers who answer only a few
    /// tasks each: sparse overlap between workers.
    pub activity_skew: f64,
}

impl Default for SimConfig {
    /// A mixed crowd: 70% honest (0.55-0.95), 15% spammers, 10% adversaries, 5% copiers.
    fn default() -> Self {
        Self {
            tasks: 2_000,
            workers: 100,
            labels: 4,
            overlap: 5,
            gold_tasks: 0,
            spammers: 0.15,
            adversaries: 0.10,
            copiers: 0.05,
            honest_min: 0.55,
            honest_max: 0.95,
            seed: 7,
            prior_ratio: 1.0,
            neighbour_errors: 0.0,
            activity_skew: 0.0,
        }
    }
}

impl SimConfig {
    /// The benchmark crowd: 1,000,000 answers over 100,000 tasks and 2,000 workers.
    pub fn benchmark() -> Self {
        Self {
            tasks: 100_000,
            workers: 2_000,
            overlap: 10,
            ..Self::default()
        }
    }

    /// The named crowds of the comparison with crowd-kit (`make consensus-compare`), in
    /// [`CROWDS`] order; `None` for an unknown name. Each is 5,000 tasks with 4 labels
    /// (`binary-skewed`: 2) drawn from one seed, so ours and crowd-kit's see the same answers
    /// (small enough for crowd-kit's GLAD, which needs minutes per 25,000 answers).
    pub fn crowd(name: &str) -> Option<Self> {
        let base = Self {
            tasks: 5_000,
            workers: 100,
            overlap: 5,
            ..Self::default()
        };
        let c = match name {
            // 70% honest (0.55-0.95), 15% spammers, 10% adversaries, 5% copiers.
            "mixed" => base,
            // 30% adversaries (one fixed label), 25% spammers (random labels).
            "hostile" => Self {
                adversaries: 0.30,
                spammers: 0.25,
                copiers: 0.0,
                seed: 11,
                ..base
            },
            // The crowd: many spammers and adversaries, skewed class priors, 5% gold.
            "spam-adv-skew-gold" => Self {
                spammers: 0.30,
                adversaries: 0.20,
                copiers: 0.0,
                prior_ratio: 0.4,
                gold_tasks: 250,
                seed: 15,
                ..base
            },
            // The mixed crowd with strongly skewed classes (0.70 / 0.21 / 0.06 / 0.02).
            "skewed" => Self {
                prior_ratio: 0.3,
                seed: 16,
                ..base
            },
            // Honest workers confuse each label with the next one (80% of their mistakes).
            "confusions" => Self {
                neighbour_errors: 0.8,
                spammers: 0.10,
                adversaries: 0.05,
                copiers: 0.0,
                seed: 17,
                ..base
            },
            // 1,000 workers with a long tail of activity (weights (i+1)^-0.8), 3 answers per
            // task: most workers answer a handful of tasks.
            "sparse" => Self {
                workers: 1_000,
                overlap: 3,
                activity_skew: 0.8,
                seed: 18,
                ..base
            },
            // Sparse, hostile, skewed and with 5% gold.
            "sparse-hostile-gold" => Self {
                workers: 1_000,
                overlap: 4,
                activity_skew: 0.8,
                spammers: 0.25,
                adversaries: 0.20,
                copiers: 0.0,
                prior_ratio: 0.5,
                gold_tasks: 250,
                seed: 19,
                ..base
            },
            // Two labels, 80% / 20%.
            "binary-skewed" => Self {
                labels: 2,
                prior_ratio: 0.25,
                seed: 20,
                ..base
            },
            _ => return None,
        };
        Some(c)
    }
}

/// The names [`SimConfig::crowd`] knows, in the order of the comparison's tables.
pub const CROWDS: &[&str] = &[
    "mixed",
    "hostile",
    "spam-adv-skew-gold",
    "skewed",
    "confusions",
    "sparse",
    "sparse-hostile-gold",
    "binary-skewed",
];

/// A simulated worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WorkerKind {
    /// Right with this probability, otherwise a uniformly drawn wrong label.
    Honest(f64),
    /// Uniformly random.
    Spammer,
    /// Always this label.
    Adversary(Id),
    /// Answers what this other worker answers.
    Copier(Id),
}

/// A simulated crowd.
#[derive(Debug, Clone)]
pub struct Crowd {
    /// The answers (gold included as configured).
    pub answers: Answers,
    /// The true label of every task.
    pub truth: Vec<Id>,
    /// Every worker's kind.
    pub kinds: Vec<WorkerKind>,
    /// The seed it was drawn from.
    pub seed: u64,
    /// [`SimConfig::neighbour_errors`] of the crowd (what honest workers' mistakes look like).
    pub neighbour_errors: f64,
}

impl Crowd {
    /// What worker `w` answers (or would answer) on task `t`: the "needs more judgments" loop
    /// asks for more answers on demand.
    pub fn answer(&self, w: Id, t: Id) -> Id {
        let k = self.answers.n_labels() as u32;
        answer_of(
            &self.kinds,
            self.seed,
            w as usize,
            t,
            self.truth[t as usize],
            k,
            self.neighbour_errors,
        )
    }

    /// Share of non-gold tasks where `labels[t]` is the truth (tasks with `None` count as wrong).
    pub fn accuracy(&self, labels: &[Option<Id>]) -> f64 {
        let gold = self.answers.gold();
        let (mut right, mut n) = (0u64, 0u64);
        for (t, l) in labels.iter().enumerate() {
            if gold[t].is_some() {
                continue;
            }
            n += 1;
            right += u64::from(*l == Some(self.truth[t]));
        }
        if n == 0 { 1.0 } else { right as f64 / n as f64 }
    }
}

/// splitmix64: a per-(seed, worker, task) random stream without storing per-worker RNGs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Salt of the draw that sends an honest mistake to the next label.
const NEIGHBOUR: u64 = 0x6E65_6967_6862_6F75;

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Simulates a crowd. Names are zero-padded (`t0000042`, `w01234`, `l2`) so that lexicographic
/// ids equal the simulator's indices.
pub fn simulate(cfg: &SimConfig) -> Result<Crowd> {
    let k = cfg.labels.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let truth: Vec<Id> = if cfg.prior_ratio == 1.0 {
        (0..cfg.tasks).map(|_| rng.gen_range(0..k)).collect()
    } else {
        let weights: Vec<f64> = (0..k).map(|l| cfg.prior_ratio.powi(l as i32)).collect();
        let total: f64 = weights.iter().sum();
        (0..cfg.tasks)
            .map(|_| {
                let mut u = rng.r#gen::<f64>() * total;
                for (l, w) in weights.iter().enumerate() {
                    if u < *w {
                        return l as Id;
                    }
                    u -= w;
                }
                k - 1
            })
            .collect()
    };
    let n_spam = (cfg.spammers * cfg.workers as f64).round() as u32;
    let n_adv = (cfg.adversaries * cfg.workers as f64).round() as u32;
    let n_copy = (cfg.copiers * cfg.workers as f64).round() as u32;
    let n_honest = cfg.workers.saturating_sub(n_spam + n_adv + n_copy);
    let mut kinds = Vec::with_capacity(cfg.workers as usize);
    for _ in 0..n_honest {
        kinds.push(WorkerKind::Honest(
            rng.gen_range(cfg.honest_min..=cfg.honest_max),
        ));
    }
    for _ in 0..n_spam {
        kinds.push(WorkerKind::Spammer);
    }
    for _ in 0..n_adv {
        kinds.push(WorkerKind::Adversary(rng.gen_range(0..k)));
    }
    for _ in 0..n_copy.min(cfg.workers - kinds.len() as u32) {
        kinds.push(WorkerKind::Copier(0));
    }
    // Shuffle kinds over worker ids (so id order says nothing about the kind), then give each
    // copier a source among the non-copiers.
    for i in (1..kinds.len()).rev() {
        let j = rng.gen_range(0..=i);
        kinds.swap(i, j);
    }
    let originals: Vec<Id> = (0..kinds.len() as Id)
        .filter(|&w| !matches!(kinds[w as usize], WorkerKind::Copier(_)))
        .collect();
    for kind in kinds.iter_mut() {
        if let WorkerKind::Copier(src) = kind
            && !originals.is_empty()
        {
            *src = originals[rng.gen_range(0..originals.len())];
        }
    }
    let answer = |w: usize, t: u32| -> Id {
        answer_of(
            &kinds,
            cfg.seed,
            w,
            t,
            truth[t as usize],
            k,
            cfg.neighbour_errors,
        )
    };
    let overlap = cfg.overlap.min(cfg.workers) as usize;
    let mut triples = Vec::with_capacity(cfg.tasks as usize * overlap);
    if cfg.activity_skew > 0.0 {
        // Worker at rank i (a shuffled order) is drawn with weight (i+1)^-skew; distinct
        // workers per task by rejection.
        let mut order: Vec<usize> = (0..cfg.workers as usize).collect();
        for i in (1..order.len()).rev() {
            let j = rng.gen_range(0..=i);
            order.swap(i, j);
        }
        let mut cumulative = Vec::with_capacity(order.len());
        let mut total = 0.0;
        for i in 0..order.len() {
            total += ((i + 1) as f64).powf(-cfg.activity_skew);
            cumulative.push(total);
        }
        let mut chosen = Vec::with_capacity(overlap);
        for t in 0..cfg.tasks {
            chosen.clear();
            while chosen.len() < overlap {
                let u = rng.r#gen::<f64>() * total;
                let i = cumulative.partition_point(|&c| c <= u).min(order.len() - 1);
                if !chosen.contains(&order[i]) {
                    chosen.push(order[i]);
                }
            }
            for &w in &chosen {
                triples.push((t, w as Id, answer(w, t)));
            }
        }
    } else {
        for t in 0..cfg.tasks {
            for w in sample(&mut rng, cfg.workers as usize, overlap).into_iter() {
                triples.push((t, w as Id, answer(w, t)));
            }
        }
    }
    let tasks = (0..cfg.tasks).map(|t| format!("t{t:07}")).collect();
    let workers = (0..cfg.workers).map(|w| format!("w{w:05}")).collect();
    let labels = (0..k).map(|l| format!("l{l}")).collect();
    let gold = (0..cfg.tasks)
        .map(|t| (t < cfg.gold_tasks).then(|| truth[t as usize]))
        .collect();
    let answers = Answers::from_dense(tasks, workers, labels, triples, gold)?;
    Ok(Crowd {
        answers,
        truth,
        kinds,
        seed: cfg.seed,
        neighbour_errors: cfg.neighbour_errors,
    })
}

fn answer_of(
    kinds: &[WorkerKind],
    seed: u64,
    w: usize,
    t: u32,
    truth: Id,
    k: u32,
    neighbour_errors: f64,
) -> Id {
    let mut w = w;
    // Follow copy chains (bounded: a cycle of copiers answers like a spammer).
    for _ in 0..8 {
        match kinds[w] {
            WorkerKind::Copier(src) if (src as usize) < kinds.len() && src as usize != w => {
                w = src as usize;
            }
            _ => break,
        }
    }
    let r = mix(seed ^ mix(((w as u64) << 32) | t as u64));
    match kinds[w] {
        WorkerKind::Honest(acc) => {
            if unit(r) < acc {
                truth
            } else if neighbour_errors > 0.0 && unit(mix(r ^ NEIGHBOUR)) < neighbour_errors {
                (truth + 1) % k
            } else {
                let wrong = (mix(r) % (k as u64 - 1)) as Id;
                if wrong >= truth { wrong + 1 } else { wrong }
            }
        }
        WorkerKind::Adversary(l) => l,
        WorkerKind::Spammer | WorkerKind::Copier(_) => (mix(r) % k as u64) as Id,
    }
}
