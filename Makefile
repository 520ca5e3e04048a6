# eventjournal: every command a user or CI needs. Each target installs what is missing first
# (scripts/setup.sh, idempotent and version-checked), so a fresh clone needs only these.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
PORT ?= 8080

.PHONY: help setup test test-rust test-wasm test-js test-e2e lint pkg demo server bench bench-quick bench-server bench-deps fuzz soak clean

help:
	@echo "make test   install what is missing, then run every test"
	@echo "make demo   install what is missing, build, serve the demo and its sync server (SQLite in target/demo-data/) on http://127.0.0.1:$(PORT)"
	@echo "make server build, run the sync server on SQLite (target/server-data/app.db), port $(PORT)"
	@echo "make bench  run the benchmarks and rewrite BENCHMARKS.md"
	@echo "make bench-quick  the speed regression guard: ratios of scenarios 1, 1b, 6, 7, 8 (prints only)"
	@echo "make bench-server PostgreSQL vs Emmett and the sync server end to end (scenarios 11, 12; rewrites their section)"
	@echo "make pkg    build the npm package into pkg/"
	@echo "make fuzz   fuzz every decoder of outside data (60 s per target)"
	@echo "make soak   the long reliability runs (crashes, soak)"

setup:
	@scripts/setup.sh

lint: setup
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib --test wasm -- -D warnings

test-rust: setup
	cargo test

pkg: setup
	rm -rf pkg
	wasm-pack build --release --target web --out-dir pkg/web --out-name eventjournal --no-pack
	wasm-pack build --release --target nodejs --out-dir pkg/node --out-name eventjournal --no-pack
	node scripts/build-pkg.mjs
	@printf 'pkg/web/eventjournal_bg.wasm: %s bytes, %s bytes gzip -9\n' \
		"$$(wc -c < pkg/web/eventjournal_bg.wasm)" "$$(gzip -9 -c pkg/web/eventjournal_bg.wasm | wc -c)"

test-wasm: setup
	wasm-pack test --node -- --test wasm
	WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome -- --test wasm

# The npm package as a user installs it: Node (ESM, require), TypeScript, README examples,
# and the contract suite in headless Chromium.
test-js: pkg
	scripts/test-js.sh

# The demo page in a real browser.
test-e2e: pkg
	@if [ -x scripts/test-e2e.sh ]; then scripts/test-e2e.sh; else echo "no e2e tests yet"; fi

test: lint test-rust pkg test-wasm test-js test-e2e
	@echo "all tests passed"

# The demo page and the sync server it syncs with (one port; ?client=b is a second client).
demo: pkg
	node scripts/serve.mjs --port $(PORT)

# The sync server as `npx eventjournal-server` runs it, on a development database.
server: pkg
	node pkg/bin/eventjournal-server.mjs --db target/server-data/app.db --port $(PORT)

# The long reliability runs: crashes in a real browser, soak tests (see RELIABILITY.md).
soak: pkg
	scripts/soak.sh

# Bounded libFuzzer runs of every decoder of outside data (60 s per target).
fuzz: setup
	scripts/fuzz.sh

# Native criterion benches, then the package against its peers in Node and Chromium
# (benches/js); both rewrite their section of BENCHMARKS.md. Never part of `make test`.
bench: pkg
	cargo bench --bench core --bench evolve_erase
	node scripts/bench-report.mjs
	npm ci --prefix benches/js --no-audit --no-fund --loglevel=error
	node benches/js/run.mjs

# benches/js's dependencies (the peers, playwright-core, @sqlite.org/sqlite-wasm), installed only
# when missing or older than the lockfile.
bench-deps:
	@[ benches/js/node_modules/.package-lock.json -nt benches/js/package-lock.json ] || \
		npm ci --prefix benches/js --no-audit --no-fund --loglevel=error

# The speed regression guard, run before stopping (about 1-2 min on a quiet machine once pkg/
# is built): one short run of scenarios 1 (and 1b), 6, 7 and 8 on the freshly built pkg/,
# printed, nothing written. Fails only when the harness fails, never on a missed target.
bench-quick: pkg bench-deps
	node benches/js/run.mjs --quick --only 1,6,7,8 --no-write

# Issue 11's benchmarks alone (about 40 min): eventjournal on PostgreSQL vs Emmett's PostgreSQL
# event store, and the sync server end to end (a throwaway PostgreSQL cluster, fsync on, started
# by the harness). Rewrites only the server section of BENCHMARKS.md; `make bench` runs them too.
bench-server: pkg bench-deps
	node benches/js/run.mjs --only 11,12

clean:
	cargo clean
	rm -rf pkg node_modules
