//! `consensus-compare`: the named simulated crowds of the crowd-kit comparison
//! (`make consensus-compare`, consensus/bench/compare.sh), without the CLI's dependencies.
//!
//! ```text
//! consensus-compare crowds                               the crowd names, one a line
//! consensus-compare simulate NAME DIR                    answers.csv, gold.csv, truth.csv of crowd NAME
//! consensus-compare run ANSWERS GOLD|- OUTPUT [--method ds] [--max-gold-error 1]
//!                                                        decide (crowd-kit layout), one JSON line
//! consensus-compare eval [NAME...]                       ours on the crowds, in process: mv, wv, ds with
//!                                                        each shape fixed and as the evidence chooses (nobody
//!                                                        excluded by gold), accuracy, time; the choice on stderr
//! ```
//!
//! `run` decides like `labelmint consensus run` and prints
//! `{"method", "fit_seconds", "iterations", "flagged"}`; the fit is the aggregation alone
//! (reading and writing the CSV excluded), as crowd-kit's `fit_seconds` in crowdkit_run.py.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use labelmint_consensus::csv_io::{
    read_answers, read_gold, write_answers, write_decisions, write_labels,
};
use labelmint_consensus::sim::{CROWDS, SimConfig, simulate};
use labelmint_consensus::{
    AnswersBuilder, GoldPolicy, Method, RunConfig, WorkerShape, choose_shape, run,
};

type Res<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.first().map(String::as_str) {
        Some("crowds") => {
            for c in CROWDS {
                println!("{c}");
            }
            Ok(())
        }
        Some("simulate") if args.len() == 3 => simulate_cmd(&args[1], Path::new(&args[2])),
        Some("run") if args.len() >= 4 => run_cmd(&args[1..]),
        Some("eval") => eval_cmd(&args[1..]),
        _ => Err("usage: consensus-compare crowds | simulate NAME DIR | run ANSWERS GOLD|- OUTPUT [--method M] [--max-gold-error X] | eval [NAME...]".into()),
    };
    match out {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consensus-compare: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn crowd_config(name: &str) -> Res<SimConfig> {
    SimConfig::crowd(name).ok_or_else(|| format!("unknown crowd {name} (known: {CROWDS:?})"))
}

fn create(path: &Path) -> Res<BufWriter<File>> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| format!("creating {}: {e}", path.display()))
}

fn simulate_cmd(name: &str, dir: &Path) -> Res<()> {
    let crowd = simulate(&crowd_config(name)?).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let a = &crowd.answers;
    let mut w = create(&dir.join("answers.csv"))?;
    write_answers(a, &mut w).map_err(|e| e.to_string())?;
    w.flush().map_err(|e| e.to_string())?;
    let mut w = create(&dir.join("gold.csv"))?;
    write_labels(a, a.gold(), &mut w).map_err(|e| e.to_string())?;
    w.flush().map_err(|e| e.to_string())?;
    let truth: Vec<Option<u32>> = crowd.truth.iter().map(|&t| Some(t)).collect();
    let mut w = create(&dir.join("truth.csv"))?;
    write_labels(a, &truth, &mut w).map_err(|e| e.to_string())?;
    w.flush().map_err(|e| e.to_string())?;
    eprintln!(
        "crowd {name}: {} answers, {} tasks, {} workers, {} labels, {} gold tasks -> {}",
        a.n_answers(),
        a.n_tasks(),
        a.n_workers(),
        a.n_labels(),
        a.n_gold(),
        dir.display()
    );
    Ok(())
}

fn open(path: &str) -> Res<BufReader<File>> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| format!("opening {path}: {e}"))
}

fn run_cmd(args: &[String]) -> Res<()> {
    let (answers_path, gold_path, output) = (&args[0], &args[1], &args[2]);
    let mut method = Method::DawidSkene;
    let mut gold_policy = GoldPolicy::default();
    let mut rest = args[3..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--method" => method = value.parse().map_err(|e| format!("{e}"))?,
            "--max-gold-error" => {
                gold_policy.max_error_rate = value
                    .parse()
                    .map_err(|_| format!("--max-gold-error {value}"))?;
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let mut b = AnswersBuilder::new();
    read_answers(answers_path, open(answers_path)?, &mut b).map_err(|e| e.to_string())?;
    if gold_path != "-" {
        read_gold(gold_path, open(gold_path)?, &mut b).map_err(|e| e.to_string())?;
    }
    let answers = b.build().map_err(|e| e.to_string())?;
    let mut cfg = RunConfig::new(method);
    cfg.gold = gold_policy;
    let started = Instant::now();
    let out = run(&answers, &cfg, None).map_err(|e| e.to_string())?;
    let fit = started.elapsed().as_secs_f64();
    let mut w = create(Path::new(output))?;
    write_decisions(&answers, &out.decisions, &mut w).map_err(|e| e.to_string())?;
    w.flush().map_err(|e| e.to_string())?;
    println!(
        "{{\"method\": \"{method}\", \"fit_seconds\": {fit}, \"iterations\": {}, \"flagged\": {}}}",
        out.estimate.iterations,
        out.flagged.iter().filter(|&&f| f).count()
    );
    Ok(())
}

fn eval_cmd(names: &[String]) -> Res<()> {
    let names: Vec<String> = if names.is_empty() {
        CROWDS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        names.to_vec()
    };
    println!("| crowd | method | accuracy | time | iterations |");
    println!("| --- | --- | --- | --- | --- |");
    for name in &names {
        let crowd = simulate(&crowd_config(name)?).map_err(|e| e.to_string())?;
        let a = &crowd.answers;
        let variants: Vec<(String, RunConfig)> = {
            let mut v = Vec::new();
            for m in [Method::MajorityVote, Method::WeightedVote] {
                let mut c = RunConfig::new(m);
                c.gold.max_error_rate = 1.0;
                v.push((m.to_string(), c));
            }
            for shape in WorkerShape::ALL {
                let mut c = RunConfig::new(Method::DawidSkene);
                c.gold.max_error_rate = 1.0;
                c.ds.shape = Some(shape);
                v.push((format!("ds {}", shape.as_str()), c));
            }
            let mut c = RunConfig::new(Method::DawidSkene);
            c.gold.max_error_rate = 1.0;
            if let Some(h) = std::env::var("HABIT").ok().and_then(|h| h.parse().ok()) {
                c.ds.habit_prior = h;
            }
            v.push(("ds (evidence)".into(), c));
            v
        };
        let choice = choose_shape(a, &RunConfig::new(Method::DawidSkene).ds);
        eprintln!("{name}: {choice:?}");
        for (label, cfg) in variants {
            let t = Instant::now();
            let out = run(a, &cfg, None).map_err(|e| e.to_string())?;
            let secs = t.elapsed().as_secs_f64();
            let labels: Vec<Option<u32>> = out.decisions.iter().map(|d| d.label).collect();
            println!(
                "| {name} | {label} | {:.4} | {secs:.3} s | {} |",
                crowd.accuracy(&labels),
                out.estimate.iterations
            );
        }
    }
    Ok(())
}
