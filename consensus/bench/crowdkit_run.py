"""Runs one crowd-kit 1.4.2 aggregator on crowd-kit CSV files, or scores decision files.

    crowdkit_run.py run   --method mv|ds|ds-conv|onecoin|glad|mace --answers A.csv [--gold G.csv] --output O.csv

Methods (crowd-kit 1.4.2 defaults unless said): MajorityVote, DawidSkene (n_iter=100, tol=1e-5;
ds-conv: n_iter=1000, tol=1e-9), OneCoinDawidSkene, GLAD, MACE (10 random restarts, seed 0).
Only DawidSkene takes gold (`true_labels`); the others see the gold tasks' answers like any
other task's (their `fit` has no gold argument).
    crowdkit_run.py score --truth T.csv [--gold G.csv] O.csv ...

`run` prints one JSON line: {"method", "fit_seconds"}; peak memory is measured from outside
(/usr/bin/time -v) by compare.sh. `score` prints {"file": accuracy} over non-gold tasks.
"""

import argparse
import json
import sys
import time

import pandas as pd


def run(args):
    from crowdkit.aggregation import GLAD, MACE, DawidSkene, MajorityVote, OneCoinDawidSkene

    answers = pd.read_csv(args.answers, dtype=str)
    gold = None
    if args.gold:
        g = pd.read_csv(args.gold, dtype=str)
        if len(g):
            gold = g.set_index("task")["true_label"]
    if args.method == "mv":
        model = MajorityVote()
    elif args.method == "ds":
        model = DawidSkene(n_iter=100)
    elif args.method == "ds-conv":
        model = DawidSkene(n_iter=1000, tol=1e-9)
    elif args.method == "onecoin":
        model = OneCoinDawidSkene()
    elif args.method == "glad":
        model = GLAD()
    elif args.method == "mace":
        model = MACE()
    else:
        sys.exit(f"unknown method {args.method}")
    start = time.perf_counter()
    if args.method not in ("ds", "ds-conv"):
        labels = model.fit_predict(answers)
    else:
        labels = model.fit_predict(answers, true_labels=gold)
    seconds = time.perf_counter() - start
    iterations = len(getattr(model, "loss_history_", None) or [None])
    out = labels.rename("label").reset_index()
    out.columns = ["task", "label"]
    out.to_csv(args.output, index=False)
    print(json.dumps({"method": args.method, "fit_seconds": seconds, "iterations": iterations}))


def score(args):
    truth = pd.read_csv(args.truth, dtype=str).set_index("task")["true_label"]
    gold_tasks = set()
    if args.gold:
        gold_tasks = set(pd.read_csv(args.gold, dtype=str)["task"])
    truth = truth[~truth.index.isin(gold_tasks)]
    result = {}
    for path in args.files:
        d = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("task")["label"]
        d = d.reindex(truth.index)
        result[path] = float((d == truth).mean())
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--method", required=True)
    r.add_argument("--answers", required=True)
    r.add_argument("--gold")
    r.add_argument("--output", required=True)
    s = sub.add_parser("score")
    s.add_argument("--truth", required=True)
    s.add_argument("--gold")
    s.add_argument("files", nargs="+")
    args = p.parse_args()
    run(args) if args.cmd == "run" else score(args)


if __name__ == "__main__":
    main()
