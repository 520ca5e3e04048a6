//! Projection snapshots kept by the storage: written every N events and at close, restored at
//! open (only the events after them are folded), ignored when they do not match the log.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::*;
use eventjournal::error::StateError;
use eventjournal::log::EventView;
use eventjournal::projection::Projection;
use eventjournal::storage::MemoryStorage;
use eventjournal::time_travel::At;
use eventjournal::Engine;
use serde_json::json;

/// Counts events per stream, and counts its own evolve calls.
struct Counting(Rc<Cell<u64>>);

impl Projection for Counting {
    type State = std::collections::BTreeMap<String, u64>;
    fn initial_state(&self) -> Self::State {
        Default::default()
    }
    fn evolve(&self, s: &mut Self::State, e: &EventView<'_>) -> Result<(), StateError> {
        self.0.set(self.0.get() + 1);
        *s.entry(e.stream_id.to_owned()).or_default() += 1;
        Ok(())
    }
    fn state_json(&self, s: &Self::State) -> Result<String, StateError> {
        serde_json::to_string(s).map_err(|e| StateError::new(e.to_string()))
    }
    fn snapshot_key(&self) -> Option<String> {
        Some("projection:counting:v1".into())
    }
    fn state_from_json(&self, json: &str, _log: &eventjournal::log::Log) -> Result<Self::State, StateError> {
        serde_json::from_str(json).map_err(|e| StateError::new(e.to_string()))
    }
}

fn open_counting(storage: &MemoryStorage, persist_every: u64) -> (Engine<MemoryStorage>, Rc<Cell<u64>>) {
    let calls = Rc::new(Cell::new(0));
    let mut cfg = config(clock());
    cfg.projection_persist_every = persist_every;
    cfg.projection_snapshot_every = 64;
    let engine = block_on(Engine::open(storage.clone(), cfg)).unwrap();
    // Defined after open: built from the log at once (stored snapshots are for projections
    // known at open, i.e. the built-in ones); this one checks the storage writes.
    engine
        .define_projection("counting", Rc::new(Counting(calls.clone())))
        .unwrap();
    (engine, calls)
}

fn fill(engine: &Engine<MemoryStorage>, accounts: usize, deposits: usize) {
    for a in 0..accounts {
        let _ = exec(
            engine,
            "BankAccount",
            &format!("a{a}"),
            json!({"type": "create_account", "accountHolder": "H", "initialDeposit": 100}),
        );
    }
    let futures: Vec<_> = (0..deposits)
        .map(|i| {
            engine.execute(req(
                "BankAccount",
                &format!("a{}", i % accounts),
                json!({"type": "deposit", "amount": 1}),
            ))
        })
        .collect();
    for r in block_on(futures::future::join_all(futures)) {
        r.unwrap();
    }
}

#[test]
fn builtin_projection_snapshots_are_written_and_restored() {
    let storage = MemoryStorage::new();
    let mut cfg = config(clock());
    cfg.projection_persist_every = 500;
    let engine = block_on(Engine::open(storage.clone(), cfg.clone())).unwrap();
    fill(&engine, 20, 1500);
    let snap = storage
        .snapshot("projection:account_balance:v1")
        .expect("written every 500 events");
    assert!(snap.position >= 1000);
    let before = engine.projection("account_balance", None).unwrap();
    let past = engine.projection("account_balance", Some(At::Position(300))).unwrap();
    block_on(engine.close()).unwrap();
    let at_close = storage.snapshot("projection:account_balance:v1").unwrap();
    assert_eq!(at_close.position, 1540);
    assert_eq!(storage.snapshot("projection:order_status:v1").unwrap().position, 1540);

    let reopened = block_on(Engine::open(storage.clone(), cfg.clone())).unwrap();
    assert_eq!(reopened.projection("account_balance", None).unwrap(), before);
    // History before the restored point is rebuilt on demand.
    assert_eq!(
        reopened.projection("account_balance", Some(At::Position(300))).unwrap(),
        past
    );
    // And it keeps following new events.
    exec(
        &reopened,
        "BankAccount",
        "a0",
        json!({"type": "deposit", "amount": 1000}),
    )
    .unwrap();
    let now: serde_json::Value = serde_json::from_str(&reopened.projection("account_balance", None).unwrap()).unwrap();
    assert_eq!(now["a0"]["balance"], json!(100 + 75 + 1000));
}

#[test]
fn a_snapshot_that_does_not_match_the_log_is_ignored() {
    let storage = MemoryStorage::new();
    let engine = block_on(Engine::open(storage.clone(), config(clock()))).unwrap();
    fill(&engine, 5, 100);
    let before = engine.projection("account_balance", None).unwrap();
    block_on(engine.close()).unwrap();
    let mut snap = storage.snapshot("projection:account_balance:v1").unwrap();
    // A forged state with a wrong hash, and one at a position past the log.
    snap.state =
        r#"{"a0":{"accountId":"a0","accountHolder":"Mallory","balance":999999,"isActive":true,"lastUpdated":0}}"#
            .into();
    snap.hash = "0".repeat(64);
    block_on(eventjournal::storage::Storage::write_snapshot(&storage, &snap)).unwrap();
    let reopened = block_on(Engine::open(storage.clone(), config(clock()))).unwrap();
    assert_eq!(reopened.projection("account_balance", None).unwrap(), before);
    let mut far = snap.clone();
    far.position = 10_000;
    block_on(eventjournal::storage::Storage::write_snapshot(&storage, &far)).unwrap();
    let reopened = block_on(Engine::open(storage.clone(), config(clock()))).unwrap();
    assert_eq!(reopened.projection("account_balance", None).unwrap(), before);
    // Unreadable state: ignored too.
    let mut garbage = storage.snapshot("projection:order_status:v1").unwrap();
    garbage.state = "[1,2,3]".into();
    block_on(eventjournal::storage::Storage::write_snapshot(&storage, &garbage)).unwrap();
    assert!(block_on(Engine::open(storage, config(clock()))).is_ok());
}

#[test]
fn reopening_folds_only_the_events_after_the_snapshot() {
    let storage = MemoryStorage::new();
    let open_with = |calls: &Rc<Cell<u64>>| {
        let mut cfg = config(clock());
        cfg.projection_persist_every = 100;
        cfg.projections = vec![(
            "counting".into(),
            Rc::new(Counting(calls.clone())) as Rc<dyn eventjournal::projection::AnyProjection>,
        )];
        block_on(Engine::open(storage.clone(), cfg)).unwrap()
    };
    let first_calls = Rc::new(Cell::new(0));
    let engine = open_with(&first_calls);
    fill(&engine, 4, 996);
    assert_eq!(first_calls.get(), 1004);
    let full = engine.projection("counting", None).unwrap();
    let past = engine.projection("counting", Some(At::Position(555))).unwrap();
    block_on(engine.close()).unwrap();

    let calls = Rc::new(Cell::new(0));
    let reopened = open_with(&calls);
    assert_eq!(
        calls.get(),
        0,
        "restored from the snapshot at the head: no evolve at open"
    );
    assert_eq!(reopened.projection("counting", None).unwrap(), full);
    exec(&reopened, "BankAccount", "a1", json!({"type": "deposit", "amount": 1})).unwrap();
    assert_eq!(calls.get(), 1);
    // Without close: the last stored snapshot is older; only the tail is folded.
    drop(reopened);
    let calls = Rc::new(Cell::new(0));
    let again = open_with(&calls);
    assert_eq!(calls.get(), 1, "only the event after the stored snapshot");
    // Time travel before the restored point rebuilds history once, correctly.
    assert_eq!(again.projection("counting", Some(At::Position(555))).unwrap(), past);
}

#[test]
fn user_projections_with_a_key_are_persisted_too() {
    let storage = MemoryStorage::new();
    let (engine, calls) = open_counting(&storage, 100);
    fill(&engine, 3, 300);
    assert_eq!(calls.get(), 306);
    block_on(engine.close()).unwrap();
    let snap = storage.snapshot("projection:counting:v1").expect("stored at close");
    assert_eq!(snap.position, 306);
    let stored: std::collections::BTreeMap<String, u64> = serde_json::from_str(&snap.state).unwrap();
    assert_eq!(stored.values().sum::<u64>(), 306);
}
