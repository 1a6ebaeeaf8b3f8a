//! The `labelmint` binary end to end: crowd-kit CSV in, decisions out, clear errors; the money
//! subcommands against a seeded scratch database (`money`).

mod api_key;
mod devnet;
mod money;
mod settle;
mod support;

use std::path::Path;
use std::process::{Command, Output};

fn labelmint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labelmint"))
        .args(args)
        .output()
        .expect("run labelmint")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn consensus_run_writes_crowd_kit_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("answers.csv");
    std::fs::write(
        &input,
        "task,worker,label\nt1,w1,cat\nt1,w2,cat\nt1,w3,dog\nt2,w1,dog\ng1,w1,cat\n",
    )
    .expect("write");
    let gold = dir.path().join("gold.csv");
    std::fs::write(&gold, "task,true_label\ng1,cat\n").expect("write");
    let output = dir.path().join("decisions.csv");
    let out = labelmint(&[
        "consensus",
        "run",
        "--input",
        path(&input),
        "--gold",
        path(&gold),
        "--method",
        "mv",
        "--threshold",
        "0.6",
        "--min-overlap",
        "3",
        "--max-overlap",
        "5",
        "--output",
        path(&output),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&output).expect("read"),
        "task,label,confidence,state\ng1,cat,1.000000,gold\nt1,cat,0.666667,decided\nt2,dog,1.000000,needs_more\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("decided 1, needs_more 1"));
}

#[test]
fn simulate_then_dawid_skene_beats_majority_vote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let out = labelmint(&[
        "consensus",
        "simulate",
        "--out",
        path(d),
        "--tasks",
        "1500",
        "--workers",
        "60",
        "--overlap",
        "5",
        "--seed",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth: std::collections::HashMap<String, String> =
        std::fs::read_to_string(d.join("truth.csv"))
            .expect("truth")
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(','))
            .map(|(t, l)| (t.to_owned(), l.to_owned()))
            .collect();
    assert_eq!(truth.len(), 1500);
    let mut acc = Vec::new();
    for method in ["mv", "ds"] {
        let o = d.join(format!("{method}.csv"));
        let out = labelmint(&[
            "consensus",
            "run",
            "--input",
            path(&d.join("answers.csv")),
            "--method",
            method,
            "--output",
            path(&o),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&o).expect("decisions");
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 1500);
        let right = rows
            .iter()
            .filter(|r| {
                let f: Vec<&str> = r.split(',').collect();
                truth.get(f[0]).map(String::as_str) == Some(f[1])
            })
            .count();
        acc.push(right as f64 / 1500.0);
    }
    assert!(acc[1] > acc[0] + 0.02, "ds {} vs mv {}", acc[1], acc[0]);
}

#[test]
fn clear_errors_and_non_zero_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "task,worker,answer\nt1,w1,cat\n").expect("write");
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "task,worker,label\nt1,w1,cat\n").expect("write");
    let cases: [(&[&str], &str); 5] = [
        (
            &["consensus", "run", "--input", path(&bad)],
            "missing column `label`",
        ),
        (&["consensus", "run", "--input", path(&empty)], "no rows"),
        (
            &["consensus", "run", "--input", path(&good), "--method", "em"],
            "unknown method `em`",
        ),
        (
            &["consensus", "run", "--input", "/nonexistent/a.csv"],
            "opening /nonexistent/a.csv",
        ),
        (
            &[
                "consensus",
                "run",
                "--input",
                path(&good),
                "--min-overlap",
                "9",
                "--max-overlap",
                "3",
            ],
            "min_overlap",
        ),
    ];
    for (args, message) in cases {
        let out = labelmint(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.starts_with("labelmint: error:"), "{stderr}");
    }
}

#[test]
fn engine_needs_a_reachable_database() {
    let out = labelmint(&[
        "consensus",
        "engine",
        "--database-url",
        "postgres://nobody:nothing@127.0.0.1:1/none",
        "--project",
        "7",
        "--once",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connecting to Postgres"), "{stderr}");
}
