#!/usr/bin/env bash
# `make clients-test`: third-party TON clients against a fresh devnet (see README.md here).
#
# Installs, when missing or older than their pinned lists: the Python clients (pytoniq,
# pytonlib with its bundled libtonlibjson, pytest) into .data/venv-clients from PyPI, and
# ton-lite-client with @ton/core/@ton/ton into devnet/tests/clients/js/node_modules from npm.
# Builds the devnet binary (DEVNET_BIN: use that one instead), starts it on a free port with
# a temporary state folder and 400 ms blocks, mints test USD to the faucet (the jetton checks
# read it back), runs the tonlib and pytoniq checks (pytest) and the ton-lite-client checks
# (node --test) one after the other, and stops the devnet. CLIENTS_REPORT=<file> appends one
# JSON line per check (outcome, error) for the README's table.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
HERE="$ROOT/devnet/tests/clients"
VENV="$ROOT/.data/venv-clients"
USD_MINTED=5000000 # 5 test USD (6 decimals)

# Python clients.
if [ ! -f "$VENV/.stamp" ] || [ "$HERE/python/requirements.txt" -nt "$VENV/.stamp" ]; then
  command -v python3 >/dev/null || { echo "python3 is missing" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$HERE/python/requirements.txt"
  touch "$VENV/.stamp"
fi
# JS client.
if [ ! -f "$HERE/js/node_modules/.stamp" ] || [ "$HERE/js/package-lock.json" -nt "$HERE/js/node_modules/.stamp" ]; then
  (cd "$HERE/js" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$HERE/js/node_modules/.stamp"
fi

BIN="${DEVNET_BIN:-}"
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build -q --locked -p labelmint-devnet --bin devnet)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/devnet"
fi

STATE="$(mktemp -d -t labelmint-clients-XXXXXX)"
LOG="$STATE/devnet.log"
"$BIN" --listen 127.0.0.1:0 --block-time 400 --state-dir "$STATE" >"$LOG" 2>&1 &
DEVNET_PID=$!
cleanup() {
  kill "$DEVNET_PID" 2>/dev/null || true
  wait "$DEVNET_PID" 2>/dev/null || true
  rm -rf "$STATE"
}
trap cleanup EXIT
for _ in $(seq 300); do
  [ -s "$STATE/faucet.json" ] && break
  kill -0 "$DEVNET_PID" 2>/dev/null || { cat "$LOG" >&2; echo "the devnet exited" >&2; exit 1; }
  sleep 0.1
done
[ -s "$STATE/faucet.json" ] || { cat "$LOG" >&2; echo "the devnet wrote no faucet.json in 30 s" >&2; exit 1; }
FAUCET="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$STATE/faucet.json")"
"$BIN" --state-dir "$STATE" faucet --to "$FAUCET" --usd "$((USD_MINTED / 1000000))" >/dev/null
# The mint is three transactions over a few blocks (faucet, minter, the new jetton wallet).
"$VENV/bin/python" "$HERE/python/wait_mint.py" "$STATE" "$USD_MINTED"

export DEVNET_STATE_DIR="$STATE" DEVNET_USD_MINTED="$USD_MINTED"
status=0
(cd "$HERE/python" && "$VENV/bin/python" -m pytest -q) || status=$?
(cd "$HERE/js" && node --test --test-concurrency=1 --test-reporter=spec) || status=$?
if [ "$status" -ne 0 ]; then
  echo "devnet log: last lines" >&2
  tail -n 20 "$LOG" >&2
fi
exit "$status"
