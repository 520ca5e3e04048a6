//! Shared helpers for the core's integration tests: a scriptable storage, a manual clock, a
//! tiny test aggregate, and a single-threaded executor.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use eventjournal::clock::ManualClock;
use eventjournal::decider::{Command, Decider};
use eventjournal::error::{Error, Rejection, StateError, StorageError, StorageFailure};
use eventjournal::event::{Event, NewEvent};
use eventjournal::log::EventView;
use eventjournal::storage::{AppendError, MemoryStorage, Storage};
use eventjournal::{Engine, EngineConfig, ExecuteRequest, ExecuteResult};
use serde_json::{json, Value};

pub fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// A gate appends can be held at, to observe what queues up behind an in-flight append.
#[derive(Default)]
pub struct Gate {
    open: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Gate {
    pub fn open(&self) {
        self.open.set(true);
        for w in self.waiters.borrow_mut().drain(..) {
            w.wake();
        }
    }
    pub fn close(&self) {
        self.open.set(false);
    }
    fn wait(&self) -> GateWait<'_> {
        GateWait { gate: self }
    }
}

struct GateWait<'a> {
    gate: &'a Gate,
}

impl Future for GateWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.gate.open.get() {
            Poll::Ready(())
        } else {
            self.gate.waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// A memory storage with faults on demand: failing appends, failing reads, a gate, and a
/// record of every append's batch size.
#[derive(Clone, Default)]
pub struct TestStorage {
    pub inner: MemoryStorage,
    pub fail_appends: Rc<Cell<u32>>,
    /// Fail after writing (the outcome the engine sees is a failure, the events are stored).
    pub fail_after_write: Rc<Cell<u32>>,
    pub fail_reads: Rc<Cell<u32>>,
    pub batch_sizes: Rc<RefCell<Vec<usize>>>,
    pub conflicts: Rc<Cell<u32>>,
    pub gate: Option<Rc<Gate>>,
    pub closed: Rc<Cell<bool>>,
}

impl TestStorage {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn sharing(inner: &MemoryStorage) -> Self {
        TestStorage {
            inner: inner.clone(),
            ..Self::default()
        }
    }
    pub fn with_gate(mut self, gate: Rc<Gate>) -> Self {
        self.gate = Some(gate);
        self
    }
}

impl Storage for TestStorage {
    async fn read_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, Error> {
        if self.fail_reads.get() > 0 {
            self.fail_reads.set(self.fail_reads.get() - 1);
            return Err(StorageError::new(StorageFailure::Failed, "injected read failure").into());
        }
        self.inner.read_events(after, limit).await
    }

    async fn append_events(&self, events: &[Event], expected: u64) -> Result<(), AppendError> {
        if let Some(g) = &self.gate {
            g.wait().await;
        }
        self.batch_sizes.borrow_mut().push(events.len());
        if self.fail_appends.get() > 0 {
            self.fail_appends.set(self.fail_appends.get() - 1);
            return Err(AppendError::Failed(
                StorageError::new(StorageFailure::Failed, "injected append failure")
                    .with_cause(Rc::new("disk on fire")),
            ));
        }
        let r = self.inner.append_events(events, expected).await;
        if r == Err(AppendError::Conflict) {
            self.conflicts.set(self.conflicts.get() + 1);
        }
        if r.is_ok() && self.fail_after_write.get() > 0 {
            self.fail_after_write.set(self.fail_after_write.get() - 1);
            return Err(AppendError::Failed(StorageError::new(
                StorageFailure::Timeout,
                "injected timeout after write",
            )));
        }
        r
    }

    async fn close(&self) -> Result<(), StorageError> {
        self.closed.set(true);
        Ok(())
    }
}

/// An engine configuration with the built-in domains and the given clock.
pub fn config(clock: Rc<ManualClock>) -> EngineConfig {
    let mut config = EngineConfig::new(clock);
    eventjournal::domains::register_builtins(&mut config);
    config
}

pub fn clock() -> Rc<ManualClock> {
    Rc::new(ManualClock::new(1_700_000_000_000.0))
}

pub fn open<S: Storage>(storage: S) -> Engine<S> {
    block_on(Engine::open(storage, config(clock()))).expect("open")
}

pub fn cmd(v: Value) -> Command {
    Command::from_value(v).expect("command")
}

pub fn req(stream_type: &str, stream_id: &str, v: Value) -> ExecuteRequest {
    ExecuteRequest::new(stream_type, stream_id, cmd(v))
}

pub fn exec<S: Storage>(
    engine: &Engine<S>,
    stream_type: &str,
    stream_id: &str,
    v: Value,
) -> Result<ExecuteResult, Error> {
    block_on(engine.execute(req(stream_type, stream_id, v)))
}

pub fn state<S: Storage>(engine: &Engine<S>, stream_type: &str, stream_id: &str) -> Option<Value> {
    engine
        .load(stream_type, stream_id, None)
        .expect("load")
        .map(|l| serde_json::from_str(&l.state).expect("state json"))
}

pub fn projection<S: Storage>(engine: &Engine<S>, name: &str) -> Value {
    serde_json::from_str(&engine.projection(name, None).expect("projection")).expect("json")
}

/// A generic test aggregate: `{ type: 'append', n, refuse }` appends `n` events `item`
/// (data `{ i }`) or refuses; its state counts the events and sums `i`.
pub struct Tally {
    pub evolves: Rc<Cell<u64>>,
}

impl Tally {
    pub fn new() -> (Self, Rc<Cell<u64>>) {
        let c = Rc::new(Cell::new(0));
        (Tally { evolves: c.clone() }, c)
    }
}

impl Decider for Tally {
    type State = (u64, u64);
    fn initial_state(&self) -> (u64, u64) {
        (0, 0)
    }
    fn decide(&self, _state: &(u64, u64), c: &Command) -> Result<Vec<NewEvent>, Rejection> {
        if c.get("refuse") == Some(&json!(true)) {
            return Err(Rejection::domain("refused"));
        }
        let n = c.get("n").and_then(Value::as_u64).unwrap_or(1);
        Ok((0..n).map(|i| NewEvent::new("item", json!({ "i": i }))).collect())
    }
    fn evolve(&self, (count, sum): (u64, u64), e: &EventView<'_>) -> Result<(u64, u64), StateError> {
        self.evolves.set(self.evolves.get() + 1);
        let v: Value = e.parse_data()?;
        Ok((count + 1, sum + v["i"].as_u64().unwrap_or(0)))
    }
}

/// Checks what every log must satisfy: gapless positions and versions, non-decreasing
/// timestamps, and a chain that verifies.
pub fn assert_log_invariants(events: &[Event]) {
    let mut versions = std::collections::HashMap::new();
    let mut last_ts = i64::MIN;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions are gapless");
        let v = versions.entry(e.stream_id.clone()).or_insert(0u64);
        *v += 1;
        assert_eq!(e.version, *v, "versions are gapless");
        assert!(e.timestamp >= last_ts, "timestamps never decrease");
        last_ts = e.timestamp;
    }
}
