#!/usr/bin/env bash
# `npm ci` in contracts/ when node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../contracts"
stamp=node_modules/.labelmint-ci-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
fi
