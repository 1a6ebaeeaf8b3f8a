#!/usr/bin/env bash
# A private SoftHSM2 token store for the PKCS#11 tests and local runs: no system token store is
# touched.
#
#   scripts/softhsm.sh          install softhsm2 if missing, create the store and the test token
#                               if absent; prints SOFTHSM2_CONF=..., LABELMINT_PKCS11_MODULE=...,
#                               LABELMINT_PKCS11_TOKEN=..., LABELMINT_PKCS11_PIN=... (last lines)
#   scripts/softhsm.sh env      print those lines only (nothing installed or created)
#   scripts/softhsm.sh reset    delete the token store (all test keys)
#
# Idempotent and safe to run concurrently (flock). The store lives in <repo>/.data/softhsm
# (git-ignored) with its own softhsm2.conf; point SOFTHSM2_CONF at it (eval the output, or
# `export $(scripts/softhsm.sh | grep =)`). The token "labelmint-test" has THROWAWAY PINs: it is
# for tests and local runs only, never for a real key. CI runs this as root on a fresh machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STORE="${LABELMINT_SOFTHSM_DIR:-$ROOT/.data/softhsm}"
CONF="$STORE/softhsm2.conf"
TOKEN="labelmint-test"
# THROWAWAY test PINs (the token holds only test keys).
SO_PIN="THROWAWAY-so-pin"
USER_PIN="THROWAWAY-user-pin"

module() {
    for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
             /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
        if [ -f "$m" ]; then echo "$m"; return; fi
    done
    echo /usr/lib/softhsm/libsofthsm2.so
}

print_env() {
    echo "SOFTHSM2_CONF=$CONF"
    echo "LABELMINT_PKCS11_MODULE=$(module)"
    echo "LABELMINT_PKCS11_TOKEN=$TOKEN"
    echo "LABELMINT_PKCS11_PIN=$USER_PIN"
}

install_softhsm() {
    if command -v softhsm2-util >/dev/null 2>&1 && [ -f "$(module)" ]; then return; fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "softhsm2 is missing and we are not root: install it first (apt-get install softhsm2)" >&2
        exit 1
    fi
    echo "installing softhsm2" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends softhsm2 >/dev/null
}

setup() {
    mkdir -p "$STORE/tokens"
    chmod 700 "$STORE"
    if [ ! -s "$CONF" ]; then
        cat > "$CONF.tmp" <<CONF
# Written by scripts/softhsm.sh: the project's private SoftHSM2 store (THROWAWAY test token).
directories.tokendir = $STORE/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
        mv "$CONF.tmp" "$CONF"
    fi
    export SOFTHSM2_CONF="$CONF"
    if ! softhsm2-util --show-slots 2>/dev/null | grep -Eq "Label:[[:space:]]+$TOKEN[[:space:]]*$"; then
        softhsm2-util --init-token --free --label "$TOKEN" --so-pin "$SO_PIN" --pin "$USER_PIN" >&2
    fi
}

case "${1:-start}" in
    start)
        install_softhsm
        mkdir -p "$STORE"
        exec 9>"$STORE.lock"
        flock 9
        setup
        flock -u 9
        print_env
        ;;
    env)
        print_env
        ;;
    reset)
        rm -rf "$STORE" "$STORE.lock"
        echo "softhsm store $STORE removed" >&2
        ;;
    *)
        echo "usage: $0 [start|env|reset]" >&2
        exit 2
        ;;
esac
