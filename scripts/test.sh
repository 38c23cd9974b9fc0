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
"$ROOT/scripts/prerequisites.sh" test

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
# Layout conventions of .editorconfig first: a formatting slip fails fast, before the long build.
dotnet format whitespace Platform.sln --verify-no-changes
dotnet build Platform.sln -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet test Platform.sln -c Release --no-build -nologo "${FILTER[@]}" "$@"
