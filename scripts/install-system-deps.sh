#!/usr/bin/env bash
# Install and start what the test suite needs from Debian, when it is missing:
#   chromium    - the browser the Playwright tests drive (Playwright's own download does
#                 not work everywhere; Debian's package does);
#   postgresql  - the consent API's tests run on PostgreSQL as well as SQLite: a running
#                 cluster with a role 'consent' (password 'consent') and a database 'consent_test';
#   nginx       - the production test serves the site through deploy/nginx (started by the
#                 test itself on loopback; the package's own service is left as Debian sets it);
#   wrk         - the load generator of bench/bench_api.py, whose smoke run is in the suite;
#   npm         - installs esbuild, which checks the widget's committed bundle (tests/widget/test_bundle.py).
set -euo pipefail

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-system-deps: not root and no sudo: install chromium, postgresql and nginx yourself" >&2
    exit 0
  fi
fi

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v npm >/dev/null 2>&1 || need+=(npm)  # esbuild (the widget's bundler) and the widget bench

if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: no apt-get here; install ${need[*]} yourself" >&2
    exit 0
  fi
  echo "install-system-deps: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# A running PostgreSQL cluster with the test role and database.
if ! pg_lsclusters -h | awk '{print $4}' | grep -qx online; then
  read -r version cluster _ < <(pg_lsclusters -h | head -n 1) || true
  if [ -z "${version:-}" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    cluster=main
    $sudo pg_createcluster "$version" "$cluster" >/dev/null
  fi
  $sudo pg_ctlcluster "$version" "$cluster" start
fi
psql_as_postgres() { $sudo -u postgres psql -qtAX "$@" 2>/dev/null || su postgres -c "psql -qtAX $(printf '%q ' "$@")"; }
if [ "$(psql_as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'consent'")" != "1" ]; then
  psql_as_postgres -c "CREATE ROLE consent LOGIN PASSWORD 'consent' CREATEDB"
fi
if [ "$(psql_as_postgres -c "SELECT 1 FROM pg_database WHERE datname = 'consent_test'")" != "1" ]; then
  psql_as_postgres -c "CREATE DATABASE consent_test OWNER consent"
fi
