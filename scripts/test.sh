#!/usr/bin/env bash
# `./platform test [--fast] [extra dotnet test args]`: installs what the tests need when it is missing
# (Debian packages, npm packages of the deployment validation), starts a throwaway PostgreSQL cluster as the
# postgres user, runs the whole suite (slow tests included unless --fast), and stops the cluster.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FILTER=()
if [[ "${1:-}" == "--fast" ]]; then FILTER=(--filter "Category!=Slow"); shift; fi

# --- Debian packages -------------------------------------------------------------------------------
need=()
command -v initdb >/dev/null 2>&1 || [[ -x /usr/lib/postgresql/15/bin/initdb ]] || need+=(postgresql)
[[ -e /usr/lib/x86_64-linux-gnu/libxgboost.so.0 || -e /usr/lib/aarch64-linux-gnu/libxgboost.so.0 ]] || need+=(libxgboost0)
command -v yamllint >/dev/null 2>&1 || need+=(yamllint)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if (( ${#need[@]} )); then
  echo "test: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- Throwaway PostgreSQL ------------------------------------------------------------------------------
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
PGDIR="$(mktemp -d /tmp/platform-pg.XXXXXX)"
chown postgres:postgres "$PGDIR"
PGPORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
cleanup() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust --no-sync >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -w -l "$PGDIR/log" \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
export PLATFORM_TEST_POSTGRES="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres;Pooling=true"
echo "test: PostgreSQL on port $PGPORT" >&2

# --- Project-specific set-up ------------------------------------------------------------------------
for setup in tests/*/setup.sh; do
  [[ -x "$setup" ]] && "$setup"
done

# --- The suite ----------------------------------------------------------------------------------------
dotnet build Platform.sln -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet test Platform.sln -c Release --no-build -nologo "${FILTER[@]}" "$@"
