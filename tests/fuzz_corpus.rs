//! The fuzz targets' committed corpora, replayed as regression tests on the host with
//! stable Rust (the fuzzers themselves run with `make fuzz`).

#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/harness.rs"]
mod harness;

use std::fs;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| run(&bytes));
        assert!(result.is_ok(), "{target}: {} makes the harness panic", path.display());
        n += 1;
    }
    assert!(n > 0, "{target}: the corpus is empty");
}

#[test]
fn stored_events_corpus() {
    replay("stored_events", harness::stored_events);
}

#[test]
fn canonical_corpus() {
    replay("canonical", harness::canonical);
}

#[test]
fn command_corpus() {
    replay("command", harness::command);
}

#[test]
fn snapshot_corpus() {
    replay("snapshot", harness::snapshot);
}
