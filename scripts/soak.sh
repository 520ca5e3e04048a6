#!/usr/bin/env bash
# The long reliability runs (make soak). The bounded forms of the same tests run in make test
# (scripts/test-js.sh picks up tests/js/soak.test.mjs, soak.browser.mjs, crash.browser.mjs).
#
#   1. Node soak on SQLite: SOAK_COMMANDS commands (default 1,000,000), 1% append faults,
#      memory over time, nothing left behind, a fresh engine equal to the final state.
#   2. Browser soak on IndexedDB: SOAK_BROWSER_COMMANDS commands (default 100,000), the same.
#   3. Crash test in Chromium: CRASH_BROWSER_KILLS kills (default 100) per durability.
#
# Like scripts/test-js.sh it runs against the package as a user gets it: `npm pack` of pkg/
# (build it first: make pkg), installed into a fresh consumer project (target/soak-consumer,
# not target/js-consumer, so it can run while make test does). Figures go to stdout and to
# target/reliability/*-long.json. SOAK_ONLY=node|browser|crash runs one of them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$root/pkg/package.json" ] || { echo "pkg/ is missing: run make pkg first" >&2; exit 1; }
work="$root/target/soak-consumer"
rm -rf "$work"
mkdir -p "$work"
tarball=$(cd "$root/pkg" && npm pack --silent --pack-destination "$work" | tail -n1)
cd "$work"
printf '{ "name": "eventjournal-soak", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --loglevel=error "./$tarball" >/dev/null
for dep in playwright-core better-sqlite3; do
  [ -e "$root/node_modules/$dep" ] && ln -sfn "$root/node_modules/$dep" "node_modules/$dep"
done
export NODE_PATH="$root/node_modules"
cp -r "$root/tests/js" ./tests
export RELIABILITY_DIR="$root/target/reliability"
export SOAK_LABEL=long CRASH_LABEL=long
only=${SOAK_ONLY:-}

failures=()
step() { # step NAME COMMAND...: run and time it, remember a failure, go on
  local name=$1; shift
  [ -z "$only" ] || [ "$only" = "${name%% *}" ] || return 0
  echo "== $name"
  local t0=$SECONDS
  if ! "$@"; then failures+=("$name"); fi
  echo "== $name: $((SECONDS - t0)) s"
  echo
}

step "node soak: ${SOAK_COMMANDS:-1000000} commands on SQLite" \
  env SOAK_COMMANDS="${SOAK_COMMANDS:-1000000}" SOAK_SAMPLES="${SOAK_SAMPLES:-40}" \
  node --expose-gc tests/soak/node-soak.mjs
step "browser soak: ${SOAK_BROWSER_COMMANDS:-100000} commands on IndexedDB" \
  env SOAK_BROWSER_COMMANDS="${SOAK_BROWSER_COMMANDS:-100000}" SOAK_SAMPLES="${SOAK_SAMPLES:-40}" \
  node tests/soak.browser.mjs
step "crash test: ${CRASH_BROWSER_KILLS:-100} kills per durability in Chromium" \
  env CRASH_BROWSER_KILLS="${CRASH_BROWSER_KILLS:-100}" node tests/crash.browser.mjs

if [ ${#failures[@]} -gt 0 ]; then
  printf '\nsoak FAILED:\n'
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
echo "soak passed (figures in $RELIABILITY_DIR)"
