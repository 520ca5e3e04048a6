#!/usr/bin/env bash
# Runs the JavaScript tests against the package as a user gets it: `npm pack` of pkg/,
# installed into a fresh consumer project (target/js-consumer), then
#   - tsc --noEmit on tests/js/types.ts and tests/js/server-types.ts, and tsc --checkJs on the
#     package's lib/*.js (the adapters checked against StorageAdapter in index.d.ts),
#   - the npm README's examples and examples/*.mjs,
#   - node --test on tests/js/*.test.mjs (ESM) and *.test.cjs (require),
#   - the browser suites (tests/js/*.browser.mjs) in headless Chromium against the web build,
#     each through node --test too (one test per case; tests/js/support/ launches Chromium).
# Test-only dependencies (fast-check, playwright-core, ...) come from the repository's
# node_modules (scripts/setup.sh installs them) and are linked into the consumer project.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/js-consumer"
rm -rf "$work"
mkdir -p "$work"
tarball=$(cd "$root/pkg" && npm pack --silent --pack-destination "$work" | tail -n1)
cd "$work"
printf '{ "name": "eventjournal-consumer", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --loglevel=error "./$tarball" >/dev/null
for dep in fast-check playwright-core better-sqlite3 fake-indexeddb vite; do
  [ -e "$root/node_modules/$dep" ] && ln -sfn "$root/node_modules/$dep" "node_modules/$dep"
done
# transitive dependencies of the linked packages resolve through the repository's tree
export NODE_PATH="$root/node_modules"
cp -r "$root/tests/js" ./tests
# committed logs the tests open (e.g. the v1 log of the upcaster tests)
cp -r "$root/tests/fixtures" ./fixtures
mkdir -p examples && cp "$root"/examples/*.mjs examples/ 2>/dev/null || true

failures=()
step() { # step NAME COMMAND...: run, remember a failure, go on
  local name=$1; shift
  echo "== $name"
  if ! "$@"; then failures+=("$name"); fi
}

step "TypeScript: tsc --noEmit on tests/js/types.ts and server-types.ts" \
  "$root/node_modules/.bin/tsc" --noEmit --strict --target es2022 --module nodenext --moduleResolution nodenext \
  --skipLibCheck false tests/types.ts tests/server-types.ts
step "TypeScript: tsc --checkJs on the package's lib/*.js and lib/keys/*.js" \
  "$root/node_modules/.bin/tsc" --noEmit --allowJs --checkJs --target es2022 --module esnext --moduleResolution bundler \
  --lib es2022,dom --skipLibCheck false node_modules/eventjournal/lib/*.js node_modules/eventjournal/lib/keys/*.js

node "$root/scripts/readme-examples.mjs" "$root/pkg-template/README.md" readme-examples
run_quiet() { "$@" > /dev/null; }
for f in readme-examples/*.mjs examples/*.mjs; do
  [ -e "$f" ] || continue
  step "example $f" run_quiet node "$f"
done

step "node --test" node --test --test-reporter=spec tests/*.test.mjs tests/*.test.cjs

if [ "${SKIP_BROWSER:-0}" != 1 ]; then
  for f in tests/*.browser.mjs; do
    [ -e "$f" ] || continue
    step "$f (headless Chromium)" node --test --test-reporter=spec "$f"
  done
fi

if [ ${#failures[@]} -gt 0 ]; then
  printf '\nJS tests FAILED:\n'
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
echo "JS tests passed"
