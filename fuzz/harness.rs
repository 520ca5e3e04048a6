//! The fuzz harnesses: one function per decoder of outside data. Each may be given any bytes;
//! a panic is a finding. Used by the libFuzzer targets (`make fuzz`) and, over the committed
//! corpora, by `cargo test --test fuzz_corpus` (under `make test`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::rc::Rc;

use eventjournal::canonical::{write_value, CanonicalJson};
use eventjournal::clock::ManualClock;
use eventjournal::decider::Command;
use eventjournal::error::Error;
use eventjournal::event::ExpectedVersion;
use eventjournal::forms::Forms;
use eventjournal::integrity::{decode_record, decode_records, verify};
use eventjournal::log::Log;
use eventjournal::projection::Projections;
use eventjournal::snapshot::Snapshot;
use eventjournal::storage::MemoryStorage;
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use serde_json::Value;

fn text(data: &[u8]) -> Option<&str> {
    // Inputs over 1 MiB cannot add coverage here and only slow the fuzzer down.
    if data.len() > 1 << 20 {
        return None;
    }
    std::str::from_utf8(data).ok()
}

/// What a storage's `readEvents` returns, decoded and appended to a log with every check:
/// only typed errors, and whatever is accepted verifies and round-trips exactly.
pub fn stored_events(data: &[u8]) {
    let Some(text) = text(data) else { return };
    match decode_records(text, 0) {
        Ok(events) => {
            let mut log = Log::new();
            for e in events {
                // decode(encode(e)) == e
                let again = serde_json::from_str::<Value>(&e.to_json_string()).expect("our own JSON parses");
                let decoded = decode_record(again, e.position).expect("our own record decodes");
                assert_eq!(decoded, e, "decode(encode(e)) == e");
                if log.append_stored(e).is_err() {
                    break;
                }
            }
            assert!(verify(&log).ok, "an accepted log verifies");
        }
        Err(Error::Storage(_)) | Err(Error::Integrity(_)) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

/// Canonical JSON (the bytes the hash chain hashes): canonicalizing is idempotent, and the
/// canonical text parses back to the same canonical text.
pub fn canonical(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let mut first = String::new();
    if write_value(&mut first, &value, 0).is_err() {
        return; // nested too deeply: refused, not a crash
    }
    let reparsed: Value = serde_json::from_str(&first).expect("canonical text is JSON");
    let mut second = String::new();
    write_value(&mut second, &reparsed, 0).expect("same depth");
    assert_eq!(first, second, "canonicalization is idempotent");
    if value.is_object() {
        let c = CanonicalJson::from_value(&value, "data").expect("objects canonicalize");
        assert_eq!(c.as_str(), first);
        let parsed = CanonicalJson::parse(c.as_str(), "data").expect("canonical parses");
        assert_eq!(parsed, c);
    }
}

fn config() -> EngineConfig {
    let mut config = EngineConfig::new(Rc::new(ManualClock::new(1_700_000_000_000.0)));
    eventjournal::domains::register_builtins(&mut config);
    config
}

fn engine() -> Engine<MemoryStorage> {
    futures::executor::block_on(Engine::open(MemoryStorage::new(), config())).expect("open")
}

/// A command envelope as the binding converts it from JavaScript:
/// `{ streamType, streamId, command, expectedVersion, metadata, commandId }`, executed twice
/// against both domains (so a second command meets an existing stream).
pub fn command(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(Value::Object(envelope)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let engine = engine();
    let seed =
        Command::from_value(serde_json::json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 100}))
            .unwrap();
    futures::executor::block_on(engine.execute(ExecuteRequest::new("BankAccount", "acc", seed))).unwrap();
    for _ in 0..2 {
        let Some(command) = envelope.get("command").cloned() else {
            return;
        };
        let command = match Command::from_value(command) {
            Ok(c) => c,
            Err(_) => return,
        };
        let s = |k: &str, d: &str| envelope.get(k).and_then(Value::as_str).unwrap_or(d).to_owned();
        let mut request = ExecuteRequest::new(s("streamType", "BankAccount"), s("streamId", "acc"), command);
        request.expected_version = match envelope.get("expectedVersion") {
            Some(Value::Number(n)) => ExpectedVersion::Exact(n.as_u64().unwrap_or(0)),
            Some(Value::String(x)) if x == "no_stream" => ExpectedVersion::NoStream,
            Some(Value::String(x)) if x == "exists" => ExpectedVersion::Exists,
            _ => ExpectedVersion::Any,
        };
        if let Some(Value::Object(m)) = envelope.get("metadata") {
            request.metadata = m.clone();
        }
        request.command_id = envelope.get("commandId").and_then(Value::as_str).map(str::to_owned);
        match futures::executor::block_on(engine.execute(request)) {
            Ok(r) => assert!(r.position <= engine.head_position()),
            Err(Error::Internal(e)) => panic!("a broken invariant reached a caller: {}", e.message),
            Err(_) => {}
        }
    }
    assert!(engine.verify().unwrap().ok);
    for t in ["BankAccount", "Order"] {
        let _ = engine.load(t, "acc", None);
    }
    let _ = engine.projection("account_balance", None).unwrap();
}

/// A snapshot from the storage: restored only if it matches the log; a bad one is ignored
/// and the projections are rebuilt (never a crash, never a failed open).
pub fn snapshot(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let state = fields.get("state").map(|v| v.to_string()).unwrap_or_default();
    let position = fields.get("position").and_then(Value::as_u64).unwrap_or(1);
    let hash = fields
        .get("hash")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // A small real log to restore against.
    let engine = engine();
    for i in 0..3 {
        let c = Command::from_value(
            serde_json::json!({"type": "create_account", "accountHolder": format!("H{i}"), "initialDeposit": 10}),
        )
        .unwrap();
        futures::executor::block_on(engine.execute(ExecuteRequest::new("BankAccount", format!("a{i}"), c))).unwrap();
    }
    let events = engine.read_all(&Default::default()).unwrap();
    let mut log = Log::new();
    for e in events.iter().cloned() {
        log.append_stored(e).unwrap();
    }
    // Use the real hash of `position` half of the time, so restores actually happen.
    let hash = if position % 2 == 0 {
        events
            .get(position as usize % events.len())
            .map_or(hash.clone(), |e| e.hash.clone())
    } else {
        hash
    };
    let mut snapshots = HashMap::new();
    for key in ["projection:account_balance:v1", "projection:order_status:v1"] {
        snapshots.insert(
            key.to_owned(),
            Snapshot {
                key: key.to_owned(),
                position,
                hash: hash.clone(),
                // What an engine without upcasters or forgotten subjects builds under.
                versions: "projection=1;upcasters=;erased=none".to_owned(),
                state: state.clone(),
            },
        );
    }
    let forms = Forms::default();
    let mut projections = Projections::new(16);
    for (name, projection) in config().projections {
        projections.define(&name, projection, 1, &Log::new(), &forms).unwrap();
    }
    projections.build_with_snapshots(&log, &forms, &snapshots);
    let _ = projections.state_json("account_balance", None, &log, &forms);
    let _ = projections.state_json("account_balance", Some(1), &log, &forms);
    let _ = projections.query("order_status", &serde_json::Map::new(), &log, &forms);
}
