#!/usr/bin/env bash
# The one test command (README quick start, and CI through .ci/run).
#
# Every database test runs on SQLite and on PostgreSQL, and the agent tests run against the real
# Docker engine, so this script first makes sure both are there:
#   * a PostgreSQL server (MAISON_TEST_POSTGRES_URL if you have one, else the local Debian cluster,
#     else a throw-away cluster under target/), with a `maison` role allowed to create databases;
#   * the tiny test image maison-test/busybox (built from Debian's busybox-static by
#     scripts/build-test-image.sh; nothing is pulled).
# Missing PostgreSQL is an error, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "error: $*" >&2; exit 1; }

start_postgres() {
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
    [[ -n "$bindir" ]] || die "PostgreSQL server not found. Install it (Debian: apt-get install postgresql) or set MAISON_TEST_POSTGRES_URL=postgres://user:pass@host:port/db (the user needs CREATEDB)."
    if [[ $(id -u) == 0 ]]; then
        # Root: use the packaged cluster, which runs as the postgres system user.
        local version
        version=$(basename "$(dirname "$bindir")")
        pg_lsclusters -h | grep -q "^$version main" || pg_createcluster "$version" main >/dev/null
        pg_ctlcluster "$version" main start 2>/dev/null || true
        local port
        port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
        for _ in $(seq 50); do runuser -u postgres -- psql -p "$port" -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
        runuser -u postgres -- psql -p "$port" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'maison') THEN
    CREATE ROLE maison LOGIN PASSWORD 'maison' CREATEDB;
  END IF;
END $$;
SQL
        export MAISON_TEST_POSTGRES_URL="postgres://maison:maison@127.0.0.1:$port/postgres"
    else
        # Not root: a private cluster owned by this user, under target/.
        local data=target/maison-pg port=54329
        if [[ ! -d $data ]]; then
            "$bindir/initdb" -D "$data" -U maison --auth=trust >/dev/null
        fi
        "$bindir/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l "$data/log" status >/dev/null 2>&1 \
            || "$bindir/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l "$data/log" -w start >/dev/null
        export MAISON_TEST_POSTGRES_URL="postgres://maison@127.0.0.1:$port/postgres"
    fi
}

if [[ -z "${MAISON_TEST_POSTGRES_URL:-}" ]]; then
    start_postgres
fi
export MAISON_REQUIRE_POSTGRES=1
echo "PostgreSQL for tests: $(sed -E 's#//[^@]*@#//***@#' <<<"$MAISON_TEST_POSTGRES_URL")"

if [[ -x scripts/build-test-image.sh ]]; then
    scripts/build-test-image.sh
fi

# The end-to-end scenarios start the agent, and replicas of the bot, as real processes.
cargo build --locked -p maison-agent --bin maison-agent
cargo build --locked -p maison-bot --bin maison-bot

# Snapshots are reviewed in commits, never rewritten by a test run.
export INSTA_UPDATE=no
cargo test --workspace --locked "$@"
