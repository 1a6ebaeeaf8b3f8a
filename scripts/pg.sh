#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests and `make up`: no system service is assumed.
#
#   scripts/pg.sh            install postgresql-15 if missing, init and start the cluster, create
#                            the role and the databases; prints ADMIN_DATABASE_URL=... and then
#                            DATABASE_URL=... as its last line
#   scripts/pg.sh stop       stop the cluster (the data stays)
#   scripts/pg.sh url        print the URL of the database `make up` writes (labelmint_up): what
#                            the services and the `labelmint` CLI use by default, and what to
#                            paste to read what `make up` did (psql "$(scripts/pg.sh url)")
#   scripts/pg.sh up-url     the same (the older name)
#   scripts/pg.sh admin-url  print the URL of the cluster's admin database (labelmint): tests
#                            create and drop their scratch databases from it, and `make up`
#                            creates (or, for a new devnet chain, re-creates) labelmint_up from it
#
# Idempotent: a running cluster is left alone. The data lives in <repo>/.data/pg (git-ignored),
# owned by the `postgres` OS user (initdb refuses to run as root), listening on 127.0.0.1 only,
# on a private port (PGPORT, default 54329). CI runs this as root on a fresh machine.
# When the checkout sits where the postgres user cannot enter (under /root, mode 700), the data
# goes to /var/lib/postgresql/labelmint/<hash of the checkout path> instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_VERSION="${PG_VERSION:-15}"
PGPORT="${PGPORT:-54329}"
ROLE="labelmint"
# The admin database (scratch databases are created from it) and the database `make up`
# writes (stack::database::DEFAULT_DATABASE; the default of labelmint-up and labelmint-cli).
ADMIN_DB="labelmint"
UP_DB="labelmint_up"
# The private cluster's fixed local password (127.0.0.1 only): not a secret.
PASSWORD="labelmint"
ADMIN_URL="postgres://$ROLE:$PASSWORD@127.0.0.1:$PGPORT/$ADMIN_DB"
UP_URL="postgres://$ROLE:$PASSWORD@127.0.0.1:$PGPORT/$UP_DB"

bindir() { echo "/usr/lib/postgresql/$PG_VERSION/bin"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the `postgres` OS user (or as ourselves when we are not root).
as_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_pg() {
    if [ -x "$(bindir)/pg_ctl" ]; then return; fi
    if ! is_root; then
        echo "postgresql-$PG_VERSION is missing and we are not root: install it first" >&2
        exit 1
    fi
    echo "installing postgresql-$PG_VERSION" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # postgresql-common would create and start a system cluster: we only want the binaries.
    # (A drop-in, not an edit of the package's conffile, so dpkg asks nothing.)
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/labelmint-no-main-cluster.conf
    apt-get install -y -qq --no-install-recommends "postgresql-$PG_VERSION" >/dev/null
}

# Sets BASE (data, socket, log live under it) and creates it with the right owner.
locate() {
    BASE="$ROOT/.data"
    if is_root; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        mkdir -p "$BASE"
        chmod o+x "$BASE"
        if ! runuser -u postgres -- test -x "$BASE"; then
            BASE="/var/lib/postgresql/labelmint/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
            install -d -o postgres -g postgres -m 755 /var/lib/postgresql/labelmint
        fi
    fi
    DATA="$BASE/pg"
    RUN="$BASE/pg-run"    # socket and server log
    LOG="$RUN/postgres.log"
    # Unix socket paths are limited to 107 bytes: a deep checkout uses a folder in /tmp.
    SOCK="$RUN"
    if [ ${#SOCK} -gt 80 ]; then SOCK="/tmp/labelmint-pg-$PGPORT"; fi
}

running() { [ -s "$DATA/PG_VERSION" ] && as_pg "$(bindir)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start_pg() {
    locate
    if is_root; then
        install -d -o postgres -g postgres -m 700 "$RUN" "$SOCK"
    else
        install -d -m 700 "$RUN" "$SOCK"
    fi
    if [ ! -s "$DATA/PG_VERSION" ]; then
        if is_root; then install -d -o postgres -g postgres -m 700 "$DATA"; else install -d -m 700 "$DATA"; fi
        as_pg "$(bindir)/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        # Socket connections (the postgres user, this script) trusted; TCP needs the password.
        cat > "$DATA/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
HBA
    fi
    if ! running; then
        if (exec 3<>"/dev/tcp/127.0.0.1/$PGPORT") 2>/dev/null; then
            echo "pg.sh: 127.0.0.1:$PGPORT is already taken (another Postgres, e.g. of another checkout:" >&2
            echo "       run 'scripts/pg.sh stop' there), or choose another port: PGPORT=54330 make test" >&2
            exit 1
        fi
        # Settings on the command line, not in postgresql.conf: the port or folder may change.
        # authentication_timeout 5 s (default 60): a test whose runtime stops mid-connect (its
        # scratch database dropped while a pool was reconnecting) leaves a backend in
        # "authentication", and DROP DATABASE waits for every backend to absorb its barrier:
        # 60 s per such test. Local password auth takes milliseconds.
        as_pg "$(bindir)/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $SOCK -c max_connections=200 -c authentication_timeout=5s" \
            start >/dev/null
    fi
    psql_su() { as_pg "$(bindir)/psql" -h "$SOCK" -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
    if [ "$(psql_su -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
        # CREATEDB: the tests create and drop one database each.
        psql_su -d postgres -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
    fi
    # CREATEROLE: the migrations create the payout signer's NOLOGIN role (labelmint_signer)
    # and make the migrating user a member (ledger and payout-signer migrations "signer_role").
    psql_su -d postgres -c "ALTER ROLE $ROLE CREATEROLE"
    # DROP DATABASE ... WITH (FORCE) of a scratch database must be able to end every session
    # in it, including background workers of other roles: without this, dropped test and bench
    # databases were sometimes left behind.
    psql_su -d postgres -c "GRANT pg_signal_backend TO $ROLE" 2>/dev/null || true
    # Both databases exist whenever the cluster runs: a reader of `url` (the CLI, psql) finds
    # labelmint_up even before the first `make up` (empty until then; make up migrates it).
    for db in "$ADMIN_DB" "$UP_DB"; do
        if [ "$(psql_su -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
            psql_su -d postgres -c "CREATE DATABASE $db OWNER $ROLE"
        fi
    done
}

case "${1:-start}" in
    start)
        install_pg
        start_pg
        echo "ADMIN_DATABASE_URL=$ADMIN_URL"
        echo "DATABASE_URL=$UP_URL"
        ;;
    stop)
        locate
        if [ -x "$(bindir)/pg_ctl" ] && running; then
            as_pg "$(bindir)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
            echo "postgres stopped" >&2
        fi
        ;;
    url|up-url)
        echo "$UP_URL"
        ;;
    admin-url)
        echo "$ADMIN_URL"
        ;;
    *)
        echo "usage: $0 [start|stop|url|up-url|admin-url]" >&2
        exit 2
        ;;
esac
