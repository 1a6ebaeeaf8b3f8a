#!/usr/bin/env bash
# Consensus quality against crowd-kit 1.4.2's strongest aggregators on every named simulated
# crowd (consensus/src/sim.rs, SimConfig::crowd): one markdown table per crowd with accuracy
# and time of crowd-kit's DawidSkene, OneCoinDawidSkene, GLAD and MACE and of ours.
#
#   consensus/bench/compare.sh [CROWD...]          (default: every crowd, `consensus-compare crowds`)
#
# The same seed makes the same answers for both: `consensus-compare simulate` writes them once
# (crowd-kit's CSV layout) and every method reads that file. Creates a Python venv in
# .data/venv-crowdkit (git-ignored) with crowd-kit==1.4.2 from PyPI; builds the
# `consensus-compare` binary in release. Every method runs in its own process; "fit" is the
# aggregation call alone (no CSV), "wall" the whole process. crowd-kit runs once per crowd
# (GLAD needs minutes); ours REPEAT times (default 3), median. CROWDKIT_REUSE=1 reuses
# crowd-kit's outputs of an earlier run on the same answers file. Only DawidSkene of
# crowd-kit takes gold (`true_labels`); ours clamps gold tasks to their label. Accuracy is
# over non-gold tasks. The 1M-answer benchmark (time and memory next to crowd-kit's MV and DS)
# is consensus/bench/compare-benchmark.sh. Nothing here is part of the Rust build or of
# `make test`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.data/venv-crowdkit"
HERE="$ROOT/consensus/bench"
REPEAT="${REPEAT:-3}"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import crowdkit' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q crowd-kit==1.4.2
fi
[ -x /usr/bin/time ] || { echo "compare.sh needs GNU time (apt-get install time)" >&2; exit 1; }

cd "$ROOT"
BIN="${CONSENSUS_COMPARE_BIN:-}"
if [ -z "$BIN" ]; then
  "${CARGO:-cargo}" build --release --locked -q -p labelmint-consensus --bin consensus-compare
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/consensus-compare"
fi
CROWDS=("$@")
[ ${#CROWDS[@]} -eq 0 ] && mapfile -t CROWDS < <("$BIN" crowds)

wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1" | awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
json() { "$VENV/bin/python" -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "crowd-kit 1.4.2 against labelmint-consensus, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
for crowd in "${CROWDS[@]}"; do
  WORK="$ROOT/.data/consensus-compare/$crowd"
  mkdir -p "$WORK"
  "$BIN" simulate "$crowd" "$WORK" 2> "$WORK/simulate.log"
  GOLD=$(($(wc -l < "$WORK/gold.csv") - 1))
  ROWS=()
  for m in ds onecoin glad mace; do
    out="$WORK/ck-$m"
    sum=$(sha256sum < "$WORK/answers.csv")
    if ! { [ "${CROWDKIT_REUSE:-0}" = 1 ] && [ -s "$out.json" ] && [ "$(cat "$out.sum" 2>/dev/null)" = "$sum" ]; }; then
      GOLDARG=(); [ "$m" = ds ] && [ "$GOLD" -gt 0 ] && GOLDARG=(--gold "$WORK/gold.csv")
      /usr/bin/time -v -o "$out.time" "$VENV/bin/python" "$HERE/crowdkit_run.py" run \
        --method "$m" --answers "$WORK/answers.csv" "${GOLDARG[@]}" --output "$out.csv" > "$out.json"
      echo "$sum" > "$out.sum"
    fi
    case $m in
      ds) name="crowd-kit DawidSkene"; [ "$GOLD" -eq 0 ] || name="$name (gold as true_labels)";;
      onecoin) name="crowd-kit OneCoinDawidSkene";;
      glad) name="crowd-kit GLAD";;
      mace) name="crowd-kit MACE";;
    esac
    ROWS+=("$name|$out.csv|$(json "$out.json" fit_seconds)|$(wall "$out.time")|1")
  done
  CASES=(ds)
  [ "$GOLD" -gt 0 ] && CASES+=(ds-all)
  CASES+=(wv mv)
  for c in "${CASES[@]}"; do
    out="$WORK/lm-$c"; m=${c%-all}; extra=(); [ "$c" = ds-all ] && extra=(--max-gold-error 1)
    GOLDARG=-; [ "$GOLD" -gt 0 ] && GOLDARG="$WORK/gold.csv"
    fits=(); walls=()
    for _ in $(seq "$REPEAT"); do
      /usr/bin/time -v -o "$out.time" "$BIN" run "$WORK/answers.csv" "$GOLDARG" "$out.csv" \
        --method "$m" "${extra[@]}" > "$out.json"
      fits+=("$(json "$out.json" fit_seconds)"); walls+=("$(wall "$out.time")")
    done
    flagged=$(json "$out.json" flagged)
    case $c in
      ds) name="labelmint ds"; [ "$GOLD" -eq 0 ] || name="$name, gold clamped, default gold policy ($flagged gold failers excluded)";;
      ds-all) name="labelmint ds, gold clamped, nobody excluded";;
      wv) name="labelmint wv";;
      mv) name="labelmint mv";;
    esac
    ROWS+=("$name|$out.csv|$(median "${fits[@]}")|$(median "${walls[@]}")|$REPEAT")
  done
  FILES=(); for r in "${ROWS[@]}"; do IFS='|' read -r _ f _ _ _ <<<"$r"; FILES+=("$f"); done
  GOLDSCORE=(); [ "$GOLD" -gt 0 ] && GOLDSCORE=(--gold "$WORK/gold.csv")
  "$VENV/bin/python" "$HERE/crowdkit_run.py" score --truth "$WORK/truth.csv" "${GOLDSCORE[@]}" "${FILES[@]}" > "$WORK/scores.json"
  ckds=$(json "$WORK/ck-ds.json" fit_seconds)
  echo
  echo "### $crowd"
  echo
  echo "$(sed 's/^crowd [^:]*: //; s/ -> .*//' "$WORK/simulate.log")"
  echo
  echo "| method | accuracy (non-gold tasks) | fit | crowd-kit DS fit / this fit | process wall | runs (median) |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r name f fit w n <<<"$r"
    acc=$("$VENV/bin/python" -c "import json,sys;print('%.4f' % json.load(open(sys.argv[1]))[sys.argv[2]])" "$WORK/scores.json" "$f")
    ratio=$(awk -v a="$ckds" -v b="$fit" 'BEGIN { if (b <= 0) print "-"; else { r = a / b; if (r >= 10) printf "%.0f×", r; else if (r >= 0.1) printf "%.1f×", r; else printf "%.3f×", r } }')
    fitf=$(awk -v x="$fit" 'BEGIN { if (x < 1) printf "%.3f s", x; else printf "%.2f s", x }')
    wallf=$(printf '%.2f s' "$w")
    echo "| $name | $acc | $fitf | $ratio | $wallf | $n |"
  done
done
