//! `consensus-bench`: Dawid-Skene to convergence on a simulated crowd (default: 1,000,000
//! answers over 100,000 tasks and 2,000 workers), with time, peak memory (VmHWM) and accuracy
//! next to majority vote and weighted vote. Release only:
//! `cargo run --release -p labelmint-consensus --bin consensus-bench -- [tasks workers overlap seed]`.

use std::time::Instant;

use labelmint_consensus::sim::{SimConfig, simulate};
use labelmint_consensus::{
    DsConfig, Estimate, WvConfig, dawid_skene, majority_vote, weighted_vote,
};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn labels(e: &Estimate, n: usize) -> Vec<Option<u32>> {
    (0..n as u32).map(|t| e.best(t).map(|(l, _)| l)).collect()
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let mut cfg = SimConfig::benchmark();
    if let Some(&t) = args.first() {
        cfg.tasks = t as u32;
    }
    if let Some(&w) = args.get(1) {
        cfg.workers = w as u32;
    }
    if let Some(&o) = args.get(2) {
        cfg.overlap = o as u32;
    }
    if let Some(&s) = args.get(3) {
        cfg.seed = s;
    }
    let t0 = Instant::now();
    let crowd = match simulate(&cfg) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("simulate: {e}");
            std::process::exit(1);
        }
    };
    let a = &crowd.answers;
    println!(
        "crowd: {} answers, {} tasks, {} workers, {} labels, seed {} (simulated in {:.2} s); threads {}",
        a.n_answers(),
        a.n_tasks(),
        a.n_workers(),
        a.n_labels(),
        cfg.seed,
        t0.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    println!("| method | accuracy | time | iterations | peak memory (VmHWM, process) |");
    println!("| --- | --- | --- | --- | --- |");
    let t = Instant::now();
    let mv = majority_vote(a);
    let mv_time = t.elapsed().as_secs_f64();
    println!(
        "| labelmint mv | {:.4} | {:.3} s | 1 | {:.0} MiB |",
        crowd.accuracy(&labels(&mv, a.n_tasks())),
        mv_time,
        peak_rss_mib()
    );
    let t = Instant::now();
    let wv = weighted_vote(a, &WvConfig::default());
    let wv_time = t.elapsed().as_secs_f64();
    println!(
        "| labelmint wv | {:.4} | {:.3} s | {} | {:.0} MiB |",
        crowd.accuracy(&labels(&wv, a.n_tasks())),
        wv_time,
        wv.iterations,
        peak_rss_mib()
    );
    let t = Instant::now();
    let ds = dawid_skene(a, &DsConfig::default(), None);
    let ds_time = t.elapsed().as_secs_f64();
    println!(
        "| labelmint ds (to convergence, tol 1e-6) | {:.4} | {:.3} s | {} (converged: {}) | {:.0} MiB |",
        crowd.accuracy(&labels(&ds, a.n_tasks())),
        ds_time,
        ds.iterations,
        ds.converged,
        peak_rss_mib()
    );
    // Warm start: the same answers again from the model just learnt (the periodic re-estimate).
    let t = Instant::now();
    let warm = dawid_skene(a, &DsConfig::default(), ds.model.as_ref());
    println!(
        "| labelmint ds, warm start from the previous model | {:.4} | {:.3} s | {} | {:.0} MiB |",
        crowd.accuracy(&labels(&warm, a.n_tasks())),
        t.elapsed().as_secs_f64(),
        warm.iterations,
        peak_rss_mib()
    );
}
