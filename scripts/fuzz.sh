#!/usr/bin/env bash
# Bounded fuzzing of every decoder of outside data (`make fuzz`): each target in fuzz/ runs
# for FUZZ_SECONDS (default 60) with libFuzzer, starting from the committed corpus
# (fuzz/corpus/<target>, replayed by `cargo test --test fuzz_corpus` under `make test`).
# New inputs go to target/fuzz-corpus/<target>; a crash leaves its input in
# fuzz/artifacts/<target>/ and fails the run. Figures go to target/reliability/fuzz.json.
# cargo-fuzz drives rustc's sanitizer flags, which need RUSTC_BOOTSTRAP=1 on stable Rust.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
secs=${FUZZ_SECONDS:-60}
want=0.13.2
if ! { command -v cargo-fuzz >/dev/null && [ "$(cargo fuzz --version | awk '{print $2}')" = "$want" ]; }; then
  cargo install cargo-fuzz --version "$want" --locked
fi
mkdir -p target/reliability
results=()
for t in stored_events canonical command snapshot; do
  mkdir -p "target/fuzz-corpus/$t"
  log="target/reliability/fuzz-$t.log"
  echo "== fuzz $t for ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz "$t" "target/fuzz-corpus/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 | tee "$log" | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY" || true
  if grep -q "SUMMARY: libFuzzer" "$log" || ! grep -q "Done [0-9]* runs" "$log"; then
    echo "fuzz $t FAILED: see $log and fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(grep -o "Done [0-9]* runs" "$log" | awk '{print $2}')
  results+=("\"$t\": {\"seconds\": $secs, \"runs\": $runs, \"crashes\": 0}")
done
printf '{ %s }\n' "$(IFS=,; echo "${results[*]}")" > target/reliability/fuzz.json
cat target/reliability/fuzz.json
