#!/usr/bin/env bash
# Browser end-to-end tests of the demo page (www/) against the built package (pkg/):
# serves both with scripts/serve.mjs on a free port of 127.0.0.1, runs tests/e2e/*.test.mjs
# (node --test, playwright-core driving Debian's Chromium), then stops the server.
# Screenshots go to target/e2e-artifacts/; docs/screenshot.png is written when it is missing
# or with E2E_UPDATE_DOCS=1. Needs: pkg/ built (make pkg), /usr/bin/chromium (or $CHROMIUM),
# node_modules/playwright-core (scripts/setup.sh). Never downloads a browser.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ ! -f pkg/index.js ] || [ ! -f pkg/web/eventjournal_bg.wasm ]; then
  echo "test-e2e: pkg/ is not built (run make pkg)" >&2; exit 1
fi
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "test-e2e: no Chromium at $CHROMIUM (apt-get install chromium)" >&2; exit 1; }
[ -d node_modules/playwright-core ] || { echo "test-e2e: node_modules/playwright-core is missing (npm ci)" >&2; exit 1; }

export E2E_ARTIFACTS="$root/target/e2e-artifacts"
rm -rf "$E2E_ARTIFACTS"
mkdir -p "$E2E_ARTIFACTS"
server_log="$E2E_ARTIFACTS/server.log"

node scripts/serve.mjs --port 0 --memory > "$server_log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$server_log" | head -n1 || true)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then echo "test-e2e: the demo server did not start:" >&2; cat "$server_log" >&2; exit 1; fi
export E2E_BASE_URL="$url"
echo "== browser end-to-end tests against $E2E_BASE_URL (artifacts: target/e2e-artifacts/)"

node --test --test-reporter=spec --test-concurrency=1 tests/e2e/*.test.mjs
