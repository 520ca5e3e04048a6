//! A model of the sync protocol for the client core's tests: a server that is a real engine
//! over `MemoryStorage` answering pushes as `POST /v1/commands` does (through the wire form:
//! refusals remembered by the process, forgotten by a restart), and clients that are synced
//! engines over their own storage, driven the way the JavaScript transport drives them.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use eventjournal::clock::ManualClock;
use eventjournal::error::{Error, ErrorKind, StorageError, StorageFailure};
use eventjournal::event::Event;
use eventjournal::storage::{AppendError, MemoryStorage, Storage};
use eventjournal::sync::{
    parse_results, wire_commands_json, Effects, OutboxEntry, OutboxStore, PushResult, SyncClient, SyncResult,
};
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use serde_json::{json, Value};

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// Polls a future once: `Some` when it is ready.
pub fn now<F: std::future::Future>(f: F) -> Option<F::Output> {
    use std::task::{Context, Poll};
    let mut f = Box::pin(f);
    let waker = futures::task::noop_waker();
    match f.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

pub fn config(clock: &Rc<ManualClock>) -> EngineConfig {
    let mut config = EngineConfig::new(clock.clone());
    eventjournal::domains::register_builtins(&mut config);
    config.snapshot_every = 3;
    config
}

/// A memory storage (events, outbox) with faults on demand.
#[derive(Clone, Default)]
pub struct ClientStorage {
    pub inner: MemoryStorage,
    pub fail_outbox_writes: Rc<Cell<u32>>,
    pub fail_outbox_deletes: Rc<Cell<u32>>,
    pub fail_appends: Rc<Cell<u32>>,
    pub no_outbox: bool,
}

fn injected(what: &str) -> StorageError {
    StorageError::new(StorageFailure::Failed, format!("injected {what} failure"))
}

fn take(n: &Cell<u32>) -> bool {
    let left = n.get();
    if left > 0 {
        n.set(left - 1);
    }
    left > 0
}

impl Storage for ClientStorage {
    async fn read_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, Error> {
        self.inner.read_events(after, limit).await
    }
    async fn append_events(&self, events: &[Event], expected: u64) -> Result<(), AppendError> {
        if take(&self.fail_appends) {
            return Err(AppendError::Failed(injected("append")));
        }
        self.inner.append_events(events, expected).await
    }
}

impl OutboxStore for ClientStorage {
    fn has_outbox(&self) -> bool {
        !self.no_outbox
    }
    async fn read_outbox(&self) -> Result<Vec<OutboxEntry>, Error> {
        self.inner.read_outbox().await
    }
    async fn write_outbox(&self, entry: &OutboxEntry) -> Result<(), StorageError> {
        if take(&self.fail_outbox_writes) {
            return Err(injected("outbox write"));
        }
        self.inner.write_outbox(entry).await
    }
    async fn delete_outbox(&self, ids: &[String]) -> Result<(), StorageError> {
        if take(&self.fail_outbox_deletes) {
            return Err(injected("outbox delete"));
        }
        self.inner.delete_outbox(ids).await
    }
}

/// The server: an engine, and the refusals this process gave (forgotten by a restart).
pub struct Server {
    pub clock: Rc<ManualClock>,
    pub engine: Engine<MemoryStorage>,
    pub storage: MemoryStorage,
    refusals: RefCell<HashMap<String, Value>>,
}

const CACHED: [&str; 4] = ["DOMAIN", "VALIDATION", "CONCURRENCY", "NOT_FOUND"];

/// An engine error in the server's wire form.
fn wire_error(e: &Error) -> Value {
    let code = match e.kind() {
        ErrorKind::Domain => "DOMAIN",
        ErrorKind::Validation => "VALIDATION",
        ErrorKind::Concurrency => "CONCURRENCY",
        ErrorKind::NotFound => "NOT_FOUND",
        ErrorKind::Storage => "STORAGE",
        _ => "INTERNAL",
    };
    let mut v = json!({ "name": "X", "code": code, "message": e.message() });
    if let Error::Concurrency(c) = e {
        v["streamId"] = json!(c.stream_id);
        v["actualVersion"] = json!(c.actual);
    }
    v
}

impl Server {
    pub fn new() -> Server {
        Server::on(MemoryStorage::new())
    }

    fn on(storage: MemoryStorage) -> Server {
        let clock = Rc::new(ManualClock::new(1_000_000.0));
        let engine = block_on(Engine::open(storage.clone(), config(&clock))).unwrap();
        Server {
            clock,
            engine,
            storage,
            refusals: RefCell::new(HashMap::new()),
        }
    }

    /// The process restarts on the same log: its refusal cache is gone.
    pub fn restart(&mut self) {
        *self = Server::on(self.storage.clone());
    }

    /// `POST /v1/commands`: the batch submitted in order (one group commit), answered as the
    /// server answers, then classified by the client's parser.
    pub fn push(&self, entries: &[OutboxEntry]) -> Vec<PushResult> {
        self.clock.advance(1.0);
        let mut tickets = Vec::new();
        for e in entries {
            let wire: Value = serde_json::from_str(&wire_commands_json(std::slice::from_ref(e))).unwrap();
            let w = &wire[0];
            let id = e.command_id().to_owned();
            if let Some(known) = self.refusals.borrow().get(&id) {
                tickets.push((id, Err(known.clone())));
                continue;
            }
            let mut req = ExecuteRequest::new(
                w["streamType"].as_str().unwrap(),
                w["streamId"].as_str().unwrap(),
                eventjournal::decider::Command::from_value(w["command"].clone()).unwrap(),
            )
            .expected_version(e.request.expected_version)
            .metadata(e.request.metadata.clone());
            req.command_id = Some(id.clone());
            tickets.push((id, Ok(self.engine.submit(req))));
        }
        let mut results = Vec::new();
        for (id, t) in tickets {
            let r = match t {
                Err(known) => json!({ "commandId": id, "ok": false, "error": known }),
                Ok(ticket) => match block_on(self.engine.outcome(ticket)) {
                    Ok(r) => json!({ "commandId": id, "ok": true, "version": r.version, "position": r.position }),
                    Err(e) => {
                        let error = wire_error(&e);
                        if CACHED.contains(&error["code"].as_str().unwrap()) {
                            self.refusals.borrow_mut().insert(id.clone(), error.clone());
                        }
                        json!({ "commandId": id, "ok": false, "error": error })
                    }
                },
            };
            results.push(r);
        }
        parse_results(&json!({ "results": results })).unwrap()
    }

    /// `GET /v1/events?after=`: up to `limit` events and the hash at `after`.
    pub fn events(&self, after: u64, limit: usize) -> (Vec<Event>, Option<String>) {
        let events = self
            .engine
            .read_all(&eventjournal::log::ReadAllOptions {
                from_position: after,
                limit: Some(limit),
                ..Default::default()
            })
            .unwrap();
        let hash = self.engine.hash_at(after).unwrap().map(|h| h.to_hex());
        (events, hash)
    }

    pub fn head_hash(&self) -> String {
        self.engine.stats().unwrap().head_hash
    }

    pub fn command_ids(&self) -> Vec<String> {
        self.engine
            .read_all(&Default::default())
            .unwrap()
            .iter()
            .filter_map(Event::command_id)
            .collect()
    }
}

/// The refusals reported to a client (`onRejected`): command id and kind, in order.
pub type Reports = Rc<RefCell<Vec<(String, ErrorKind)>>>;

/// A client: a synced engine over its own storage, and what it was told.
pub struct Client {
    pub clock: Rc<ManualClock>,
    pub storage: ClientStorage,
    pub engine: Engine<ClientStorage>,
    pub sync: SyncClient,
    /// Every refusal reported to this client (`onRejected`), in order.
    pub rejected: Reports,
}

impl Client {
    pub fn open(storage: ClientStorage, rejected: Reports) -> Client {
        Client::try_open(storage, rejected).unwrap()
    }

    pub fn try_open(storage: ClientStorage, rejected: Reports) -> Result<Client, Error> {
        let clock = Rc::new(ManualClock::new(2_000_000.0));
        let engine = block_on(Engine::open(storage.clone(), config(&clock)))?;
        let (sync, effects) = block_on(SyncClient::open(&engine))?;
        let client = Client {
            clock,
            storage,
            engine,
            sync,
            rejected,
        };
        client.report(effects);
        Ok(client)
    }

    pub fn new() -> Client {
        Client::open(ClientStorage::default(), Rc::default())
    }

    /// The same storage, a new engine (a reload).
    pub fn reload(self) -> Client {
        let Client { storage, rejected, .. } = self;
        Client::open(storage, rejected)
    }

    fn report(&self, effects: Effects) {
        for r in effects.rejected {
            let id = r.request.command_id.clone().unwrap();
            self.rejected.borrow_mut().push((id, r.error.kind()));
        }
    }

    pub fn execute(
        &self,
        stream_type: &str,
        stream_id: &str,
        command: Value,
        id: Option<&str>,
    ) -> Result<SyncResult, Error> {
        self.clock.advance(1.0);
        let mut req = ExecuteRequest::new(
            stream_type,
            stream_id,
            eventjournal::decider::Command::from_value(command).unwrap(),
        );
        req.command_id = id.map(str::to_owned);
        block_on(self.sync.execute(&self.engine, req))
    }

    /// One push of up to `max` commands; the answer is lost when `lose`.
    pub fn push(&self, server: &Server, max: usize, lose: bool) -> usize {
        let batch = self.sync.next_batch(max).unwrap();
        if batch.is_empty() {
            return 0;
        }
        let results = server.push(&batch);
        if !lose {
            let effects = block_on(self.sync.apply_results(&self.engine, results)).unwrap();
            self.report(effects);
        }
        batch.len()
    }

    /// Fetches up to `limit` events after the client's head, checks `afterHash`, receives them.
    pub fn pull(&self, server: &Server, limit: usize) -> Result<u64, Error> {
        let after = self.engine.head_position();
        let (events, hash) = server.events(after, limit);
        self.sync.check_server(&self.engine, after, hash.as_deref())?;
        Ok(block_on(self.sync.receive(&self.engine, events))?.applied)
    }

    /// Pushes and pulls until the outbox is empty and the log is the server's.
    pub fn drain(&self, server: &Server) {
        for _ in 0..1000 {
            let pushed = self.push(server, 50, false);
            let pulled = self.pull(server, 10_000).unwrap();
            if pushed == 0 && pulled == 0 && self.sync.status(&self.engine).unwrap().pending == 0 {
                return;
            }
        }
        panic!("the client did not drain");
    }

    pub fn head_hash(&self) -> String {
        self.engine.stats().unwrap().head_hash
    }
}
