//! The "knows or guesses" worker: with probability `θ` the worker knows and answers the true
//! label, otherwise they guess from their own habit `ξ` (a distribution over labels, whatever
//! the truth). `P(answer a | truth k) = θ·[a = k] + (1 - θ)·ξ[a]`.
//!
//! It is the model of MACE (Hovy et al., 2013) and a superset of the one-coin model (ξ
//! uniform): K parameters per worker instead of Dawid-Skene's K(K-1). A spammer is `θ = 0`,
//! ξ uniform; an adversary who always answers `l` is `θ = 0`, ξ = one-hot(l); an honest worker
//! with uniform mistakes is `θ = (Ka - 1)/(K - 1)`, ξ uniform. Dawid-Skene uses it as the
//! centre its confusion matrices are shrunk towards ([`crate::DsConfig::shrinkage`]): a worker
//! with few answers gets this matrix, a worker with many gets their own.
//!
//! Fitting from soft counts `c[k][a]` (expected answers `a` on tasks of truth `k`) is a small
//! EM of its own (which answers on the diagonal were known, which guessed), warm-started from
//! the answer shares; a Beta(1.5, 1.5) prior on θ and a Dirichlet prior on ξ
//! ([`crate::DsConfig::habit_prior`] pseudo-answers per label) keep a worker with few answers
//! from being certain.

/// The Beta prior on θ: this many pseudo-answers, half known, half guessed (Beta(1.5, 1.5)).
const THETA_PRIOR: f64 = 1.0;

/// Inner EM rounds per fit (each is O(K²); the outer EM calls this once per worker per
/// iteration, warm by construction since the counts barely move).
const ROUNDS: usize = 12;

/// Fits θ and ξ to `counts[obs * k + truth]` and writes the model's matrix into `centre`
/// (`[obs * k + truth]`, each truth column summing to 1). `one_coin`: ξ stays uniform (the
/// one-coin model: one accuracy per worker, mistakes spread evenly). `habit_prior`: the
/// Dirichlet prior on ξ, this many pseudo-answers per label spread evenly (a habit must show
/// in more guesses than that to count). Returns θ.
pub fn fit(counts: &[f64], k: usize, one_coin: bool, habit_prior: f64, centre: &mut [f64]) -> f64 {
    let mut total = 0.0;
    let mut diag = 0.0;
    let mut by_obs = [0.0f64; 64];
    let big = k > by_obs.len();
    let mut by_obs_vec = if big { vec![0.0; k] } else { Vec::new() };
    let by_obs: &mut [f64] = if big {
        &mut by_obs_vec
    } else {
        &mut by_obs[..k]
    };
    for obs in 0..k {
        for truth in 0..k {
            let c = counts[obs * k + truth];
            by_obs[obs] += c;
            total += c;
            if obs == truth {
                diag += c;
            }
        }
    }
    let kf = k as f64;
    // Start: θ from the diagonal's excess over chance, ξ the answer shares.
    let mut theta = ((diag / total.max(1e-12) - 1.0 / kf) / (1.0 - 1.0 / kf)).clamp(0.05, 0.95);
    if total <= 0.0 {
        theta = 0.5;
    }
    let mut xi = [0.0f64; 64];
    let mut xi_vec = if big { vec![0.0; k] } else { Vec::new() };
    let xi: &mut [f64] = if big { &mut xi_vec } else { &mut xi[..k] };
    for (x, b) in xi.iter_mut().zip(by_obs.iter()) {
        *x = (b + 1.0) / (total + kf);
    }
    let beta = habit_prior * kf;
    for _ in 0..ROUNDS {
        let mut known = 0.0;
        let mut guessed_total = 0.0;
        for a in 0..k {
            let d = counts[a * k + a];
            let r = theta / (theta + (1.0 - theta) * xi[a]);
            known += d * r;
            let g = by_obs[a] - d * r;
            xi[a] = g;
            guessed_total += g;
        }
        for x in xi.iter_mut() {
            *x = (*x + beta / kf) / (guessed_total + beta);
        }
        theta = (known + THETA_PRIOR / 2.0) / (total + THETA_PRIOR);
        if one_coin {
            xi.fill(1.0 / kf);
        }
    }
    for obs in 0..k {
        for truth in 0..k {
            let known = if obs == truth { theta } else { 0.0 };
            centre[obs * k + truth] = known + (1.0 - theta) * xi[obs];
        }
    }
    theta
}
