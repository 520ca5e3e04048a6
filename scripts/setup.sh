#!/usr/bin/env bash
# Installs everything eventjournal needs to build and test, idempotently.
# Every step checks the version already present and costs nothing when it matches.
# Facts behind the pins: ../shared/TOOLCHAIN.md (see README "Toolchain").
set -euo pipefail

WASM_PACK_VERSION=0.15.1
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
: "${WASM_BINDGEN_VERSION:?could not read the pinned wasm-bindgen version from Cargo.toml}"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

export PATH="$HOME/.cargo/bin:$PATH"

# 1. Rust target for wasm
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for comp in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$comp"; then
    log "adding rust component $comp"
    rustup component add "$comp"
  fi
done

# 2. wasm-bindgen-cli, equal to the crate pinned in Cargo.toml (to the patch)
if ! { have wasm-bindgen && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WASM_BINDGEN_VERSION" ]; }; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: its lockfile pins a crate version the registry lacks (TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# 3. wasm-pack
if ! { have wasm-pack && [ "$(wasm-pack --version | awk '{print $2}')" = "$WASM_PACK_VERSION" ]; }; then
  log "installing wasm-pack $WASM_PACK_VERSION (a few minutes, once)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
fi

# 4. Node dev tools (binaryen's wasm-opt, typescript, playwright-core, fast-check, ...)
#    pinned in package-lock.json, installed into ./node_modules.
have node || { echo "node (>= 20) is required" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "node >= 20 is required, found $(node --version)" >&2; exit 1; }
stamp=node_modules/.eventjournal-lock-hash
want=$(sha256sum package-lock.json | awk '{print $1}')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing node dev dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
opt_version=$(node_modules/.bin/wasm-opt --version 2>/dev/null | awk '{print $3}')
[ "$opt_version" = "132" ] || { echo "expected binaryen wasm-opt 132 in node_modules, found '${opt_version}'" >&2; exit 1; }

# 5. Chromium + chromedriver from Debian (never a downloaded browser)
if [ "${SKIP_BROWSER:-0}" != 1 ]; then
  if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } ; then
    log "installing chromium and chromium-driver from Debian"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver
  fi
  cv=$(/usr/bin/chromium --version 2>/dev/null | grep -o '[0-9]*\.' | head -n1)
  dv=$(/usr/bin/chromedriver --version | grep -o '[0-9]*\.' | head -n1)
  [ "$cv" = "$dv" ] || { echo "chromium ($cv) and chromedriver ($dv) major versions differ" >&2; exit 1; }
fi
# 6. PostgreSQL server binaries for the tests' throwaway clusters (tests/js/support/postgres.mjs
#    runs initdb/pg_ctl itself; no system cluster is used). Debian's `postgresql`; majors
#    PG_MIN..PG_MAX are accepted (15 is the one on these machines and the one tested).
PG_MIN=13
PG_MAX=17
pg_bin_dir() { # the newest Debian server, else one on PATH (the test helper looks in the same order)
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -n -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }
  done
  if have initdb && have pg_ctl && have postgres; then dirname "$(command -v postgres)"; fi
}
if [ "${SKIP_POSTGRES:-0}" != 1 ]; then
  if [ -z "$(pg_bin_dir)" ]; then
    log "installing postgresql from Debian"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
  fi
  pg_dir=$(pg_bin_dir)
  [ -n "$pg_dir" ] || { echo "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found after installing postgresql" >&2; exit 1; }
  pg_major=$("$pg_dir/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\.[0-9].*/\1/p')
  { [ -n "$pg_major" ] && [ "$pg_major" -ge "$PG_MIN" ] && [ "$pg_major" -le "$PG_MAX" ]; } \
    || { echo "PostgreSQL $PG_MIN..$PG_MAX is required for the tests, found '$("$pg_dir/postgres" --version)' in $pg_dir" >&2; exit 1; }
  # initdb and postgres refuse to run as root: the tests then run them as the 'postgres' user.
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "running as root, the PostgreSQL tests need the unprivileged user 'postgres' (the postgresql package creates it)" >&2; exit 1
  fi
fi
log "toolchain ready"
