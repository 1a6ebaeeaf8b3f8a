#!/usr/bin/env bash
# Accuracy, time and peak memory of labelmint's consensus next to crowd-kit 1.4.2 (MajorityVote,
# DawidSkene with its default n_iter=100 and to convergence) on the same simulated answers.
#
#   consensus/bench/compare-benchmark.sh [tasks workers overlap seed gold_tasks]   (default 100000 2000 10 7 0)
#
# Creates a Python venv in .data/venv-crowdkit (git-ignored) with crowd-kit==1.4.2 from PyPI,
# builds the `labelmint` CLI in release, writes the crowd with `labelmint consensus simulate`,
# runs every method in its own process under /usr/bin/time -v (peak RSS = max resident set of
# that process, data loading included), REPEAT times (default 3; crowd-kit's run to convergence
# once) keeping the median, and prints a markdown table. Nothing here is part of the
# Rust build or of `make test`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TASKS="${1:-100000}"; WORKERS="${2:-2000}"; OVERLAP="${3:-10}"; SEED="${4:-7}"; GOLD="${5:-0}"
VENV="$ROOT/.data/venv-crowdkit"
WORK="$ROOT/.data/consensus-bench/t${TASKS}-w${WORKERS}-o${OVERLAP}-s${SEED}-g${GOLD}"
HERE="$ROOT/consensus/bench"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import crowdkit' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q crowd-kit==1.4.2
fi
[ -x /usr/bin/time ] || { echo "compare.sh needs GNU time (apt-get install time)" >&2; exit 1; }

cd "$ROOT"
# LABELMINT_BIN: an already built release `labelmint` (skips the build).
BIN="${LABELMINT_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release --locked -q -p labelmint-cli
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/labelmint"
fi
mkdir -p "$WORK"
"$BIN" consensus simulate --out "$WORK" --tasks "$TASKS" --workers "$WORKERS" \
  --overlap "$OVERLAP" --seed "$SEED" --gold-tasks "$GOLD"
GOLDARG=()
[ "$GOLD" -gt 0 ] && GOLDARG=(--gold "$WORK/gold.csv")

peak() { awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1"; }
# The median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
REPEAT="${REPEAT:-3}"

ROWS=()
# crowd-kit: MajorityVote and DawidSkene with its defaults REPEAT times (median), DawidSkene to
# convergence once (it takes minutes).
for m in mv ds ds-conv; do
  n=$REPEAT; [ "$m" = ds-conv ] && n=1
  fits=(); walls=()
  for _ in $(seq "$n"); do
    /usr/bin/time -v -o "$WORK/ck-$m.time" "$VENV/bin/python" "$HERE/crowdkit_run.py" run \
      --method "$m" --answers "$WORK/answers.csv" "${GOLDARG[@]}" --output "$WORK/ck-$m.csv" \
      > "$WORK/ck-$m.json"
    fits+=("$("$VENV/bin/python" -c "import json,sys;print(json.load(open(sys.argv[1]))['fit_seconds'])" "$WORK/ck-$m.json")")
    walls+=("$(wall "$WORK/ck-$m.time" | awk -F: '{print $1*60+$2}')")
  done
  its=$("$VENV/bin/python" -c "import json,sys;print(json.load(open(sys.argv[1])).get('iterations', '?'))" "$WORK/ck-$m.json")
  case $m in mv) name="crowd-kit MajorityVote";; ds) name="crowd-kit DawidSkene (default n_iter=100, tol=1e-5; $its iterations)";; *) name="crowd-kit DawidSkene (n_iter=1000, tol=1e-9; $its iterations)";; esac
  ROWS+=("$name|$WORK/ck-$m.csv|$(printf '%.2f s' "$(median "${fits[@]}")")|$(printf '%.2f s' "$(median "${walls[@]}")")|$(peak "$WORK/ck-$m.time")|$n")
done
# labelmint: mv, wv, ds (default gold policy: gold failers excluded) and, with gold, ds with
# gold clamped but nobody excluded (--max-gold-error 1: the same use of gold as crowd-kit's).
CASES=(mv wv ds)
[ "$GOLD" -gt 0 ] && CASES+=(ds-noexclude)
for c in "${CASES[@]}"; do
  m=${c%-noexclude}; extra=(); [ "$c" = ds-noexclude ] && extra=(--max-gold-error 1)
  fits=(); walls=()
  for _ in $(seq "$REPEAT"); do
    /usr/bin/time -v -o "$WORK/lm-$c.time" "$BIN" consensus run --input "$WORK/answers.csv" \
      "${GOLDARG[@]}" --method "$m" "${extra[@]}" --output "$WORK/lm-$c.csv" 2> "$WORK/lm-$c.log"
    fits+=("$(sed -n 's/.* in \([0-9.]*\) s (read.*/\1/p' "$WORK/lm-$c.log")")
    walls+=("$(wall "$WORK/lm-$c.time" | awk -F: '{print $1*60+$2}')")
  done
  iters=$(sed -n 's/.*: \([0-9]*\) iterations.*/\1/p' "$WORK/lm-$c.log")
  flagged=$(sed -n 's/.*workers (\([0-9]*\) flagged.*/\1/p' "$WORK/lm-$c.log")
  case $c in
    mv) name="labelmint mv";;
    wv) name="labelmint wv ($iters rounds)";;
    ds) name="labelmint ds (to convergence, max Δposterior < 1e-6; $iters iterations)";;
    *) name="labelmint ds, gold clamped, nobody excluded ($iters iterations)";;
  esac
  [ "$GOLD" -gt 0 ] && [ "$c" != ds-noexclude ] && name="$name, $flagged gold failers excluded"
  ROWS+=("$name|$WORK/lm-$c.csv|$(printf '%.3f s' "$(median "${fits[@]}")")|$(printf '%.2f s' "$(median "${walls[@]}")")|$(peak "$WORK/lm-$c.time")|$REPEAT")
done

FILES=(); for r in "${ROWS[@]}"; do IFS='|' read -r _ f _ _ _ _ <<<"$r"; FILES+=("$f"); done
"$VENV/bin/python" "$HERE/crowdkit_run.py" score --truth "$WORK/truth.csv" "${GOLDARG[@]}" "${FILES[@]}" > "$WORK/scores.json"

echo
echo "$(wc -l < "$WORK/answers.csv") answer rows (+header), $TASKS tasks, $WORKERS workers, overlap $OVERLAP, seed $SEED, $GOLD gold tasks; $(nproc) cores"
echo
echo "| method | accuracy (non-gold tasks) | aggregation time (fit) | process wall time (CSV read + write incl.) | peak RSS of the process | runs (median) |"
echo "| --- | --- | --- | --- | --- | --- |"
for r in "${ROWS[@]}"; do
  IFS='|' read -r name f fit w p n <<<"$r"
  acc=$("$VENV/bin/python" -c "import json,sys;print('%.4f' % json.load(open(sys.argv[1]))[sys.argv[2]])" "$WORK/scores.json" "$f")
  echo "| $name | $acc | $fit | $w | $p | $n |"
done
