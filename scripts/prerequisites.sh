#!/usr/bin/env bash
# `scripts/prerequisites.sh runtime|test`: checks the Debian packages the platform needs and installs the missing ones.
#   runtime  what `./platform run` and the CLI verbs load: libxgboost0 (gradient-boosted models through XGBoost's C API), and
#            Node.js with npm, which the gateway's build uses once to fetch the dashboard's chart library (`npm ci`)
#   test     the runtime's, plus PostgreSQL (throwaway clusters), yamllint (deployment validation) and Chromium (the
#            dashboard's browser tests drive /usr/bin/chromium with Playwright)
# As root it installs them with apt-get; otherwise it prints the exact command and goes on, so a missing optional
# package shows up as a named, explained failure later rather than a silent one.
set -euo pipefail

what="${1:-runtime}"
need=()
[[ -e /usr/lib/x86_64-linux-gnu/libxgboost.so.0 || -e /usr/lib/aarch64-linux-gnu/libxgboost.so.0 ]] || need+=(libxgboost0)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [[ "$what" == test ]]; then
  command -v initdb >/dev/null 2>&1 || [[ -x /usr/lib/postgresql/15/bin/initdb ]] || need+=(postgresql)
  command -v yamllint >/dev/null 2>&1 || need+=(yamllint)
  [[ -x /usr/bin/chromium ]] || need+=(chromium)
fi
(( ${#need[@]} )) || exit 0

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "platform: installing ${need[*]} (Debian packages)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "platform: missing Debian packages: ${need[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
fi
