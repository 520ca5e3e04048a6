//! The core and the binding, compiled to wasm: run in Node (`wasm-pack test --node`) and in
//! headless Chromium (`wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use eventjournal::clock::ManualClock;
use eventjournal::decider::Command;
use eventjournal::storage::MemoryStorage;
use eventjournal::time_travel::At;
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use serde_json::{json, Value};
use wasm_bindgen_test::*;

fn request(stream_type: &str, id: &str, c: Value) -> ExecuteRequest {
    ExecuteRequest::new(stream_type, id, Command::from_value(c).unwrap())
}

#[wasm_bindgen_test]
fn version_is_exported() {
    assert_eq!(eventjournal::wasm::version(), env!("CARGO_PKG_VERSION"));
}

#[wasm_bindgen_test]
async fn the_seed_demo_runs_in_wasm() {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let engine = Engine::open(MemoryStorage::new(), EngineConfig::new(clock.clone(), 42))
        .await
        .unwrap();
    for c in [
        json!({"type": "create_account", "accountHolder": "John Doe", "initialDeposit": 100000}),
        json!({"type": "deposit", "amount": 50000}),
        json!({"type": "withdraw", "amount": 20000}),
        json!({"type": "deposit", "amount": 30000}),
    ] {
        engine.execute(request("BankAccount", "account_001", c)).await.unwrap();
        clock.advance(1000.0);
    }
    let state: Value =
        serde_json::from_str(&engine.load("BankAccount", "account_001", None).unwrap().unwrap().state).unwrap();
    assert_eq!(state["balance"], json!(160000));
    let past: Value = serde_json::from_str(
        &engine
            .load("BankAccount", "account_001", Some(At::Version(2)))
            .unwrap()
            .unwrap()
            .state,
    )
    .unwrap();
    assert_eq!(past["balance"], json!(100000));
    let err = engine
        .execute(request(
            "BankAccount",
            "account_001",
            json!({"type": "withdraw", "amount": 1_000_000}),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "DOMAIN");
    assert!(engine.verify().unwrap().ok);
    assert_eq!(engine.replay(None).unwrap().events_replayed, 5);
}

#[wasm_bindgen_test]
async fn group_commit_in_wasm() {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let engine = Engine::open(MemoryStorage::new(), EngineConfig::new(clock, 1))
        .await
        .unwrap();
    engine
        .execute(request(
            "BankAccount",
            "a",
            json!({"type": "create_account", "accountHolder": "A"}),
        ))
        .await
        .unwrap();
    let futures: Vec<_> = (1..=100)
        .map(|i| engine.execute(request("BankAccount", "a", json!({"type": "deposit", "amount": i}))))
        .collect();
    for f in futures {
        f.await.unwrap();
    }
    let state: Value = serde_json::from_str(&engine.load("BankAccount", "a", None).unwrap().unwrap().state).unwrap();
    assert_eq!(state["balance"], json!(5050));
}
