#!/usr/bin/env bash
# Installs what tests/Deployment.Tests needs on a fresh Debian machine; fast and silent when already set up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v yamllint >/dev/null 2>&1 || apt_install yamllint
command -v node >/dev/null 2>&1 || apt_install nodejs npm

if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup.sh: kubectl (with its built-in kustomize) is required and is not on PATH" >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file.
cd "$here/validate"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
