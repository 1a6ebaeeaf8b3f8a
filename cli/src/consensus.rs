//! `labelmint consensus ...`: run a method over crowd-kit CSV files, or simulate a crowd.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use labelmint_consensus::csv_io::{
    read_answers, read_gold, write_answers, write_decisions, write_labels,
};
use labelmint_consensus::sim::{SimConfig, simulate};
use labelmint_consensus::{
    AnswersBuilder, Engine, GoldPolicy, Method, Policy, RunConfig, Schedule, State, Store,
    run as run_consensus,
};
use labelmint_ledger::Ledger;

/// Consensus subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Decide every task of an answers CSV (task,worker,label) and write task,label,confidence,state.
    Run(RunArgs),
    /// Write a simulated crowd (answers.csv, gold.csv, truth.csv) into a folder.
    Simulate(SimArgs),
    /// Run the incremental engine on Postgres for one project: decide tasks as answers arrive,
    /// approve earnings in the ledger, re-estimate worker reliability periodically.
    Engine(EngineArgs),
}

/// `labelmint consensus engine`.
#[derive(Debug, Args)]
pub(crate) struct EngineArgs {
    /// Postgres URL (the ledger's and the consensus engine's tables). Prefer DATABASE_URL or
    /// the global --database-url-file: a password in a flag shows in `ps`. Default: as every
    /// other subcommand (DATABASE_URL, --database-url-file, else the `make up` database).
    #[arg(long)]
    database_url: Option<String>,
    /// The project (its on-chain id, as registered in the ledger).
    #[arg(long, env = "LABELMINT_PROJECT")]
    project: u64,
    /// Pause between decision passes, in milliseconds.
    #[arg(long, env = "LABELMINT_CONSENSUS_POLL_MS", default_value_t = 1_000)]
    poll_ms: u64,
    /// Seconds between re-estimates of worker reliability over the whole project.
    #[arg(
        long,
        env = "LABELMINT_CONSENSUS_REESTIMATE_SECS",
        default_value_t = 300
    )]
    reestimate_secs: u64,
    /// One re-estimate pass (learn, decide, approve), print its report and exit.
    #[arg(long)]
    once: bool,
    /// Apply the ledger's and the consensus engine's migrations first.
    #[arg(long)]
    migrate: bool,
}

/// `labelmint consensus run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Answers CSV with columns task, worker, label.
    #[arg(long)]
    input: PathBuf,
    /// Gold CSV with columns task, true_label.
    #[arg(long)]
    gold: Option<PathBuf>,
    /// mv (majority vote), wv (reliability-weighted vote) or ds (Dawid-Skene).
    #[arg(long, default_value = "ds")]
    method: String,
    /// Output CSV (task,label,confidence,state); `-` for stdout.
    #[arg(long, default_value = "-")]
    output: PathBuf,
    /// Confidence at or above which a task is decided.
    #[arg(long, default_value_t = 0.9)]
    threshold: f64,
    /// Judgments needed before a task may be decided.
    #[arg(long, default_value_t = 3)]
    min_overlap: u32,
    /// Judgments after which an undecided task is unresolved.
    #[arg(long, default_value_t = 7)]
    max_overlap: u32,
    /// A worker whose gold error rate is above this is flagged and their answers excluded.
    #[arg(long, default_value_t = 0.5)]
    max_gold_error: f64,
    /// Gold answers needed before a worker can be flagged.
    #[arg(long, default_value_t = 3)]
    min_gold_answers: u32,
    /// Dawid-Skene iteration cap.
    #[arg(long, default_value_t = 500)]
    max_iterations: u32,
    /// Dawid-Skene tolerance (max posterior change).
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
    /// Dawid-Skene Dirichlet pseudo-count per confusion-matrix cell.
    #[arg(long, default_value_t = 1.0)]
    smoothing: f64,
}

/// `labelmint consensus simulate`.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Output folder (created).
    #[arg(long)]
    out: PathBuf,
    /// Tasks.
    #[arg(long, default_value_t = 100_000)]
    tasks: u32,
    /// Workers.
    #[arg(long, default_value_t = 2_000)]
    workers: u32,
    /// Answers per task.
    #[arg(long, default_value_t = 10)]
    overlap: u32,
    /// Labels.
    #[arg(long, default_value_t = 4)]
    labels: u32,
    /// Gold tasks (the first ones).
    #[arg(long, default_value_t = 0)]
    gold_tasks: u32,
    /// Share of spammers.
    #[arg(long, default_value_t = 0.15)]
    spammers: f64,
    /// Share of adversaries.
    #[arg(long, default_value_t = 0.10)]
    adversaries: f64,
    /// Share of copiers.
    #[arg(long, default_value_t = 0.05)]
    copiers: f64,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub(crate) fn run(g: &crate::common::Global, cmd: Command) -> Result<()> {
    match cmd {
        Command::Run(args) => run_cmd(args),
        Command::Simulate(args) => simulate_cmd(args),
        Command::Engine(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let url = match &args.database_url {
                Some(u) => u.clone(),
                None => g.database_url()?,
            };
            rt.block_on(engine_cmd(args, url))
        }
    }
}

async fn engine_cmd(a: EngineArgs, url: String) -> Result<()> {
    let masked = crate::common::mask_url(&url);
    let store = tokio::time::timeout(
        crate::common::CONNECT_TIMEOUT + Duration::from_secs(1),
        Store::connect(&url, 4),
    )
    .await
    .map_err(|_| {
        anyhow::anyhow!("connecting to Postgres at {masked}: no answer; is `make up` running?")
    })?
    .with_context(|| format!("connecting to Postgres at {masked}; is `make up` running?"))?;
    let ledger = Ledger::from_pool(store.pool().clone());
    if a.migrate {
        ledger.migrate().await.context("ledger migrations")?;
        store.migrate().await.context("consensus migrations")?;
    }
    if store.project(a.project).await?.is_none() {
        bail!(
            "project {} has no labeling settings (consensus_projects)",
            a.project
        );
    }
    let engine = Engine::new(store, ledger);
    if a.once {
        let r = engine.reestimate(a.project).await?;
        println!("{r:?}");
        return Ok(());
    }
    let schedule = Schedule {
        poll: Duration::from_millis(a.poll_ms),
        reestimate_every: Duration::from_secs(a.reestimate_secs),
    };
    eprintln!(
        "consensus engine on project {}: decisions every {} ms, re-estimates every {} s; Ctrl-C stops",
        a.project, a.poll_ms, a.reestimate_secs
    );
    engine
        .run(a.project, schedule, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn open(path: &Path) -> Result<BufReader<File>> {
    Ok(BufReader::new(
        File::open(path).with_context(|| format!("opening {}", path.display()))?,
    ))
}

fn run_cmd(a: RunArgs) -> Result<()> {
    let method: Method = a.method.parse()?;
    let policy = Policy {
        threshold: a.threshold,
        min_overlap: a.min_overlap,
        max_overlap: a.max_overlap,
    };
    policy.validate()?;
    let started = Instant::now();
    let mut b = AnswersBuilder::new();
    let name = a.input.display().to_string();
    read_answers(&name, open(&a.input)?, &mut b)?;
    if let Some(g) = &a.gold {
        read_gold(&g.display().to_string(), open(g)?, &mut b)?;
    }
    let answers = b.build()?;
    let mut cfg = RunConfig::new(method);
    cfg.policy = policy;
    cfg.gold = GoldPolicy {
        max_error_rate: a.max_gold_error,
        min_answers: a.min_gold_answers,
    };
    cfg.ds.max_iterations = a.max_iterations;
    cfg.ds.tolerance = a.tolerance;
    if !(a.smoothing >= 0.0 && a.tolerance > 0.0) {
        bail!("--smoothing must be >= 0 and --tolerance > 0");
    }
    cfg.ds.smoothing = a.smoothing;
    let read = started.elapsed();
    let out = run_consensus(&answers, &cfg, None)?;
    let decided = started.elapsed() - read;
    if a.output.as_os_str() == "-" {
        let stdout = std::io::stdout();
        write_decisions(&answers, &out.decisions, stdout.lock())?;
    } else {
        let f =
            File::create(&a.output).with_context(|| format!("creating {}", a.output.display()))?;
        let mut w = BufWriter::new(f);
        write_decisions(&answers, &out.decisions, &mut w)?;
        w.flush()?;
    }
    let count = |s: State| out.decisions.iter().filter(|d| d.state == s).count();
    eprintln!(
        "{} answers, {} tasks, {} workers ({} flagged by gold), {} labels; method {}: {} iterations (converged: {}) in {:.3} s (read {:.3} s); decided {}, needs_more {}, unresolved {}, gold {}",
        answers.n_answers(),
        answers.n_tasks(),
        answers.n_workers(),
        out.flagged.iter().filter(|&&f| f).count(),
        answers.n_labels(),
        method,
        out.estimate.iterations,
        out.estimate.converged,
        decided.as_secs_f64(),
        read.as_secs_f64(),
        count(State::Decided),
        count(State::NeedsMore),
        count(State::Unresolved),
        count(State::Gold),
    );
    Ok(())
}

fn simulate_cmd(a: SimArgs) -> Result<()> {
    if a.labels < 2 {
        bail!("--labels must be at least 2");
    }
    if a.workers == 0 || a.tasks == 0 || a.overlap == 0 {
        bail!("--tasks, --workers and --overlap must be positive");
    }
    let crowd = simulate(&SimConfig {
        tasks: a.tasks,
        workers: a.workers,
        labels: a.labels,
        overlap: a.overlap,
        gold_tasks: a.gold_tasks,
        spammers: a.spammers,
        adversaries: a.adversaries,
        copiers: a.copiers,
        seed: a.seed,
        ..SimConfig::default()
    })?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let create = |name: &str| -> Result<BufWriter<File>> {
        let p = a.out.join(name);
        Ok(BufWriter::new(
            File::create(&p).with_context(|| format!("creating {}", p.display()))?,
        ))
    };
    let ans = &crowd.answers;
    let mut w = create("answers.csv")?;
    write_answers(ans, &mut w)?;
    w.flush()?;
    let mut w = create("gold.csv")?;
    write_labels(ans, ans.gold(), &mut w)?;
    w.flush()?;
    let truth: Vec<Option<u32>> = crowd.truth.iter().map(|&t| Some(t)).collect();
    let mut w = create("truth.csv")?;
    write_labels(ans, &truth, &mut w)?;
    w.flush()?;
    eprintln!(
        "wrote {} answers over {} tasks by {} workers ({} gold tasks) to {}",
        ans.n_answers(),
        ans.n_tasks(),
        ans.n_workers(),
        ans.n_gold(),
        a.out.display()
    );
    Ok(())
}
