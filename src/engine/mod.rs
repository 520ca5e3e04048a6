//! The engine: the command pipeline of DESIGN.md §1 over a [`Storage`].
//!
//! ```text
//! execute ─► queue ─► decide the batch (pure) ─► stamp ─► storage.append_events  [await]
//!         ─► commit to the log ─► aggregates, projections ─► resolve ─► subscribers
//! ```
//!
//! Nothing is committed before the storage has the events. Commands that arrive while an
//! append is in flight wait in the queue and go to storage together in the next append
//! (group commit), each settling on its own. On a conflict (another writer appended first)
//! the engine reads what was appended, applies it, decides the batch again and retries.
//!
//! The engine is single-threaded and re-entrancy safe: no `RefCell` borrow is held across an
//! `.await`, and subscribers are called only after every borrow is released.

mod batch;
mod queue;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::decider::{Aggregate, Command, Registry};
use crate::error::{ClosedError, ConcurrencyError, Error, StorageError, ValidationError};
use crate::event::{command_id_of, validate_name, Event, EventFilter, ExpectedVersion, MAX_EVENT_BYTES};
use crate::id::IdGenerator;
use crate::integrity::VerifyReport;
use crate::log::{EventView, Log, ReadAllOptions, ReadStreamOptions, Stats, StreamSym};
use crate::projection::{AnyProjection, Projections, ReplayReport, DEFAULT_PROJECTION_SNAPSHOT_EVERY};
use crate::snapshot::{AggregateCache, DEFAULT_SNAPSHOT_EVERY};
use crate::storage::{AppendError, Storage};
use crate::subscription::{Subscriber, Subscriptions};
use crate::time_travel::{log_position_at, stream_version_at, At};

use batch::Pending;
use queue::{IdleWait, Job, LeaderGuard, Queue, Slot, Wait};

/// How an engine is set up.
#[derive(Clone)]
pub struct EngineConfig {
    /// Aggregate snapshot every this many events per stream (default 100; 0 = never).
    pub snapshot_every: u64,
    /// Smallest number of positions between two projection snapshots (default 1024).
    pub projection_snapshot_every: u64,
    /// Appends retried after conflicts before a `ConcurrencyError` (default 16).
    pub max_conflict_retries: u32,
    /// Most commands decided into one append (default 4096).
    pub max_batch_commands: usize,
    /// Events read per `read_events` call (default 10,000).
    pub read_page_size: u32,
    /// Store projection snapshots (through `write_snapshot`) every this many events, and at
    /// close; they are restored at open instead of folding the whole log (default 10,000;
    /// 0 = only at close).
    pub projection_persist_every: u64,
    /// Register the built-in `BankAccount` and `Order` domains and their projections.
    pub builtin_domains: bool,
    pub clock: Rc<dyn Clock>,
    /// Seed of the id generator.
    pub seed: u64,
    /// Projections defined at open (before the log is loaded), so their stored snapshots can
    /// be restored instead of folding the whole log.
    pub projections: Vec<(String, Rc<dyn AnyProjection>)>,
}

impl EngineConfig {
    /// Defaults with the given clock and seed.
    pub fn new(clock: Rc<dyn Clock>, seed: u64) -> Self {
        EngineConfig {
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            projection_snapshot_every: DEFAULT_PROJECTION_SNAPSHOT_EVERY,
            max_conflict_retries: 16,
            max_batch_commands: 4096,
            read_page_size: 10_000,
            projection_persist_every: 10_000,
            builtin_domains: true,
            clock,
            seed,
            projections: Vec::new(),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig::new(Rc::new(crate::clock::SystemClock), crate::id::os_seed())
    }
}

/// A command to execute.
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    pub stream_type: String,
    pub stream_id: String,
    pub command: Command,
    pub expected_version: ExpectedVersion,
    /// Copied into every event's metadata.
    pub metadata: Map<String, Value>,
    /// Idempotency key: a repeat resolves to the first result and appends nothing.
    pub command_id: Option<String>,
}

impl ExecuteRequest {
    /// A request with default options.
    pub fn new(stream_type: impl Into<String>, stream_id: impl Into<String>, command: Command) -> Self {
        ExecuteRequest {
            stream_type: stream_type.into(),
            stream_id: stream_id.into(),
            command,
            expected_version: ExpectedVersion::Any,
            metadata: Map::new(),
            command_id: None,
        }
    }

    pub fn expected_version(mut self, v: ExpectedVersion) -> Self {
        self.expected_version = v;
        self
    }

    pub fn command_id(mut self, id: impl Into<String>) -> Self {
        self.command_id = Some(id.into());
        self
    }

    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = metadata;
        self
    }

    /// Checks names and sizes, and settles `commandId` between the option and the metadata.
    fn validate(&mut self) -> Result<(), ValidationError> {
        validate_name("streamType", &self.stream_type)?;
        validate_name("streamId", &self.stream_id)?;
        let in_metadata = match self.metadata.get("commandId") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ValidationError::new("metadata.commandId must be a string")),
        };
        match (&self.command_id, in_metadata) {
            (Some(a), Some(b)) if *a != b => {
                return Err(ValidationError::new(format!(
                    "commandId '{a}' differs from metadata.commandId '{b}'"
                )))
            }
            (None, Some(b)) => self.command_id = Some(b),
            _ => {}
        }
        if let Some(cid) = &self.command_id {
            validate_name("commandId", cid)?;
        }
        let size = serde_json::to_string(&self.metadata).map_or(0, |s| s.len());
        if size > MAX_EVENT_BYTES {
            return Err(ValidationError::new(format!(
                "metadata is {size} bytes; the limit is {MAX_EVENT_BYTES}"
            )));
        }
        Ok(())
    }
}

/// What `execute` resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteResult {
    /// The events the command appended (the first result's events for a repeat).
    pub events: Vec<Event>,
    /// The stream's version after the command.
    pub version: u64,
    /// The position of the command's last event (the head, when it appended nothing).
    pub position: u64,
}

/// An aggregate's state, loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The state as JSON text.
    pub state: String,
    pub version: u64,
}

/// A submitted command, to be awaited with [`Engine::outcome`].
pub struct Ticket(Rc<Slot<ExecuteResult>>);

/// Positions of a committed command's events.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommandRecord {
    first: u64,
    last: u64,
}

/// Everything behind the engine's borrow.
pub(crate) struct Core {
    log: Log,
    registry: Registry,
    caches: HashMap<StreamSym, AggregateCache>,
    projections: Projections,
    commands: HashMap<String, CommandRecord>,
    ids: IdGenerator,
    clock: Rc<dyn Clock>,
    snapshot_every: u64,
    /// While opening, projections wait until stored snapshots are known.
    defer_projections: bool,
}

impl Core {
    /// Checks and commits events another writer (or a previous session) appended.
    fn apply_external(&mut self, events: Vec<Event>) -> Result<u64, Error> {
        let first = self.log.head_position() + 1;
        let mut applied = 0u64;
        let mut result = Ok(());
        for e in events {
            let command_id = command_id_of(&e.metadata);
            if let Err(err) = self.log.append_stored(e) {
                result = Err(err);
                break;
            }
            applied += 1;
            let position = self.log.head_position();
            if let Some(view) = self.log.get(position) {
                if let Some(sym) = self.log.stream_sym(view.stream_id) {
                    if let (Some(cache), Some(agg)) = (self.caches.get_mut(&sym), self.registry.get(view.stream_type)) {
                        cache.apply_external(agg.as_ref(), &view, self.snapshot_every);
                    }
                }
            }
            if let Some(cid) = command_id {
                self.commands
                    .entry(cid)
                    .and_modify(|r| {
                        if r.last + 1 == position {
                            r.last = position;
                        }
                    })
                    .or_insert(CommandRecord {
                        first: position,
                        last: position,
                    });
            }
        }
        let head = self.log.head_position();
        if !self.defer_projections {
            self.projections.apply(&self.log, first, head);
        }
        result.map(|()| applied).map_err(Error::from)
    }
}

/// The event-sourcing engine over a storage `S`.
pub struct Engine<S: Storage> {
    storage: S,
    core: RefCell<Core>,
    queue: RefCell<Queue>,
    subscriptions: Subscriptions,
    config: EngineConfig,
    needs_resync: Cell<bool>,
    head: Cell<u64>,
    closed: Cell<bool>,
}

impl<S: Storage> Engine<S> {
    /// Opens an engine: reads every stored event (checking each record and the chain) and
    /// builds the projections.
    pub async fn open(storage: S, config: EngineConfig) -> Result<Self, Error> {
        let mut registry = Registry::default();
        let mut projections = Projections::new(config.projection_snapshot_every);
        let log = Log::new();
        if config.builtin_domains {
            crate::domains::register(&mut registry, &mut projections, &log)?;
        }
        for (name, projection) in &config.projections {
            projections.define(name, projection.clone(), &log)?;
        }
        let engine = Engine {
            storage,
            core: RefCell::new(Core {
                log,
                registry,
                caches: HashMap::new(),
                projections,
                commands: HashMap::new(),
                ids: IdGenerator::new(config.seed),
                clock: config.clock.clone(),
                snapshot_every: config.snapshot_every,
                defer_projections: true,
            }),
            queue: RefCell::new(Queue::default()),
            subscriptions: Subscriptions::default(),
            config,
            needs_resync: Cell::new(false),
            head: Cell::new(0),
            closed: Cell::new(false),
        };
        engine.read_new_events().await?;
        engine.restore_projections().await?;
        Ok(engine)
    }

    /// Builds the projections after the initial load, from stored snapshots where they match.
    async fn restore_projections(&self) -> Result<(), Error> {
        let keys = self.core()?.projections.snapshot_keys();
        let mut found = HashMap::new();
        for (_, key) in keys {
            // A snapshot that cannot be read is simply rebuilt from the log.
            if let Ok(Some(snapshot)) = self.storage.read_snapshot(&key).await {
                found.insert(key, snapshot);
            }
        }
        let mut core = self.core_mut()?;
        let core = &mut *core;
        core.defer_projections = false;
        core.projections.build_with_snapshots(&core.log, &found)
    }

    /// Writes the projection snapshots that are due (failures only mean a longer next open).
    async fn persist_snapshots(&self, every: u64) {
        let due = match self.core.try_borrow_mut() {
            Ok(mut core) => {
                let core = &mut *core;
                core.projections.snapshots_due(&core.log, every)
            }
            Err(_) => return,
        };
        for snapshot in due {
            let _ = self.storage.write_snapshot(&snapshot).await;
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.closed.get() {
            Err(ClosedError.into())
        } else {
            Ok(())
        }
    }

    fn core(&self) -> Result<std::cell::Ref<'_, Core>, Error> {
        self.check_open()?;
        self.core.try_borrow().map_err(|_| Error::Busy)
    }

    fn core_mut(&self) -> Result<std::cell::RefMut<'_, Core>, Error> {
        self.check_open()?;
        self.core.try_borrow_mut().map_err(|_| Error::Busy)
    }

    /// The storage the engine writes to.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Adds an aggregate type (e.g. one defined in JavaScript).
    pub fn define_aggregate(&self, name: &str, aggregate: Rc<dyn Aggregate>) -> Result<(), Error> {
        self.core_mut()?.registry.register(name, aggregate)?;
        Ok(())
    }

    /// Adds a projection and builds it from the whole log.
    pub fn define_projection(&self, name: &str, projection: Rc<dyn AnyProjection>) -> Result<(), Error> {
        let mut core = self.core_mut()?;
        let core = &mut *core;
        core.projections.define(name, projection, &core.log)
    }

    /// Decides and appends a command; resolves once its events are durable.
    pub fn execute(
        &self,
        request: ExecuteRequest,
    ) -> impl std::future::Future<Output = Result<ExecuteResult, Error>> + '_ {
        let ticket = self.submit(request);
        self.outcome(ticket)
    }

    /// Queues a command now (so commands keep their call order and join the next append),
    /// to be awaited with [`Engine::outcome`].
    pub fn submit(&self, mut request: ExecuteRequest) -> Ticket {
        let slot: Rc<Slot<ExecuteResult>> = Slot::new();
        match self.check_open().and_then(|()| request.validate().map_err(Error::from)) {
            Err(e) => slot.fill(Err(e)),
            Ok(()) => self
                .queue
                .borrow_mut()
                .jobs
                .push_back(Job::Execute(request, slot.clone())),
        }
        Ticket(slot)
    }

    /// The outcome of a submitted command.
    pub async fn outcome(&self, ticket: Ticket) -> Result<ExecuteResult, Error> {
        self.settle(&ticket.0).await
    }

    /// Reads what other writers appended to the storage (e.g. when told by `watch`), and
    /// returns how many events were applied.
    pub fn catch_up(&self) -> impl std::future::Future<Output = Result<u64, Error>> + '_ {
        let slot: Rc<Slot<u64>> = Slot::new();
        match self.check_open() {
            Err(e) => slot.fill(Err(e)),
            Ok(()) => self.queue.borrow_mut().jobs.push_back(Job::Sync(slot.clone())),
        }
        async move { self.settle(&slot).await }
    }

    /// Waits for `slot`, leading the queue whenever nobody else does.
    async fn settle<T>(&self, slot: &Slot<T>) -> Result<T, Error> {
        loop {
            if let Some(result) = slot.take() {
                return result;
            }
            let lead = {
                let mut q = self.queue.borrow_mut();
                !std::mem::replace(&mut q.leader, true)
            };
            if lead {
                let _guard = LeaderGuard { queue: &self.queue };
                self.drive(&|| slot.is_filled()).await;
                continue;
            }
            Wait::new(slot).await;
        }
    }

    /// Processes batches until `done` or the queue is empty.
    async fn drive(&self, done: &dyn Fn() -> bool) {
        while !done() {
            let (executes, syncs) = self.queue.borrow_mut().take(self.config.max_batch_commands);
            if executes.is_empty() && syncs.is_empty() {
                return;
            }
            if !syncs.is_empty() || self.needs_resync.get() {
                let result = self.read_new_events().await;
                for s in syncs {
                    s.fill(result.clone());
                }
            }
            if !executes.is_empty() {
                self.process(executes).await;
            }
        }
    }

    /// Decides, appends and commits one batch (retrying after conflicts).
    async fn process(&self, mut executes: Vec<Pending>) {
        let mut conflicts = 0u32;
        loop {
            let batch = match self.core.try_borrow_mut() {
                Ok(mut core) => core.decide_batch(executes),
                Err(_) => {
                    fill_all(executes, &Error::Busy);
                    return;
                }
            };
            if batch.events.is_empty() {
                // Refusals and no-ops are only final if the state they were decided on is the
                // latest: another writer may have appended. (An append proves it by itself.)
                if batch.has_state_dependent_outcomes() {
                    match self.read_new_events().await {
                        Ok(0) => {}
                        Ok(_) => match self.core.try_borrow_mut() {
                            Ok(mut core) => {
                                executes = core.abandon_batch_entries(batch);
                                continue;
                            }
                            Err(_) => { /* cannot happen between awaits; answer as decided */ }
                        },
                        Err(e) => {
                            // Another writer may have changed what these answers rest on.
                            fill(batch.into_fills_unconfirmed(&e));
                            self.needs_resync.set(true);
                            return;
                        }
                    }
                }
                fill(batch.into_fills_without_events());
                return;
            }
            let appended = self.storage.append_events(&batch.events, batch.expected_position).await;
            // Settle under the borrow, then release it before anything else is awaited.
            let pending: Vec<Pending> = {
                let Ok(mut core) = self.core.try_borrow_mut() else {
                    // Cannot happen between awaits; if it did, the outcome is unknown to the
                    // callers and the next batch re-reads the head.
                    self.needs_resync.set(true);
                    let pending = batch.entries.into_iter().map(|e| (e.request, e.slot)).collect();
                    fill_all(pending, &Error::Busy);
                    return;
                };
                match appended {
                    Ok(()) => {
                        let fills = core.commit_batch(batch);
                        self.head.set(core.log.head_position());
                        drop(core);
                        fill(fills);
                        Vec::new()
                    }
                    Err(AppendError::Failed(error)) => {
                        let (again, fills) = core.fail_batch(batch, error);
                        drop(core);
                        self.needs_resync.set(true);
                        self.queue.borrow_mut().push_front(again);
                        fill(fills);
                        return;
                    }
                    Err(AppendError::Conflict) => core.abandon_batch_entries(batch),
                }
            };
            if pending.is_empty() {
                // Committed (or a conflict that left nothing to retry).
                self.pump_subscriptions();
                if self.config.projection_persist_every > 0 {
                    self.persist_snapshots(self.config.projection_persist_every).await;
                }
                return;
            }
            conflicts += 1;
            if conflicts > self.config.max_conflict_retries {
                let n = self.config.max_conflict_retries;
                for (req, slot) in pending {
                    slot.fill(Err(ConcurrencyError {
                        message: format!(
                            "gave up on stream '{}' after {n} retries: other writers kept appending first",
                            req.stream_id
                        ),
                        stream_id: req.stream_id.clone(),
                        expected: Some(req.expected_version.describe()),
                        actual: self.stream_version(&req.stream_id).unwrap_or(0),
                    }
                    .into()));
                }
                return;
            }
            if let Err(e) = self.read_new_events().await {
                fill_all(pending, &e);
                return;
            }
            executes = pending;
        }
    }

    /// Reads every event after the head from the storage and commits it.
    async fn read_new_events(&self) -> Result<u64, Error> {
        let mut total = 0;
        loop {
            let after = self.core.try_borrow().map_err(|_| Error::Busy)?.log.head_position();
            let page = self.storage.read_events(after, self.config.read_page_size).await?;
            if page.is_empty() {
                break;
            }
            let applied = {
                let mut core = self.core.try_borrow_mut().map_err(|_| Error::Busy)?;
                let r = core.apply_external(page);
                self.head.set(core.log.head_position());
                r
            };
            self.pump_subscriptions();
            total += applied?;
        }
        self.needs_resync.set(false);
        Ok(total)
    }

    /// Delivers committed events to subscribers that have not seen them. Returns false if it
    /// could not finish because the engine is busy (call it again later).
    pub fn pump_subscriptions(&self) -> bool {
        self.subscriptions
            .pump(&|f: &mut dyn FnMut(&Log)| match self.core.try_borrow() {
                Ok(core) => {
                    f(&core.log);
                    true
                }
                Err(_) => false,
            })
    }

    /// Subscribes from `from_position` (default: the head). Events are delivered by
    /// [`Engine::pump_subscriptions`], which the engine calls after every commit.
    pub fn subscribe(
        &self,
        subscriber: Rc<dyn Subscriber>,
        filter: EventFilter,
        from_position: Option<u64>,
    ) -> Result<u64, Error> {
        self.check_open()?;
        let cursor = from_position.unwrap_or_else(|| self.head.get());
        Ok(self.subscriptions.add(subscriber, filter, cursor))
    }

    /// Ends a subscription; true if it existed.
    pub fn unsubscribe(&self, id: u64) -> bool {
        self.subscriptions.remove(id)
    }

    /// Reads a stream.
    pub fn read_stream(&self, stream_id: &str, opts: &ReadStreamOptions) -> Result<Vec<Event>, Error> {
        validate_name("streamId", stream_id)?;
        let core = self.core()?;
        Ok(core
            .log
            .read_stream(stream_id, opts)
            .iter()
            .map(EventView::to_event)
            .collect())
    }

    /// Reads the log.
    pub fn read_all(&self, opts: &ReadAllOptions) -> Result<Vec<Event>, Error> {
        let core = self.core()?;
        Ok(core.log.read_all(opts).iter().map(EventView::to_event).collect())
    }

    /// Calls `f` with views of the events a `read_all` would return (no copies).
    pub fn with_read_all<R>(&self, opts: &ReadAllOptions, f: impl FnOnce(&[EventView<'_>]) -> R) -> Result<R, Error> {
        let core = self.core()?;
        Ok(f(&core.log.read_all(opts)))
    }

    /// Calls `f` with views of the events a `read_stream` would return (no copies).
    pub fn with_read_stream<R>(
        &self,
        stream_id: &str,
        opts: &ReadStreamOptions,
        f: impl FnOnce(&[EventView<'_>]) -> R,
    ) -> Result<R, Error> {
        validate_name("streamId", stream_id)?;
        let core = self.core()?;
        Ok(f(&core.log.read_stream(stream_id, opts)))
    }

    /// The stream's version (0 when it has no events).
    pub fn stream_version(&self, stream_id: &str) -> Result<u64, Error> {
        validate_name("streamId", stream_id)?;
        Ok(self.core()?.log.stream_version(stream_id))
    }

    /// An aggregate's state now or at a point in history; `None` when no event qualifies.
    pub fn load(&self, stream_type: &str, stream_id: &str, at: Option<At>) -> Result<Option<Loaded>, Error> {
        validate_name("streamType", stream_type)?;
        validate_name("streamId", stream_id)?;
        let mut core = self.core_mut()?;
        let core = &mut *core;
        let aggregate = core
            .registry
            .get(stream_type)
            .ok_or_else(|| crate::error::NotFoundError::stream_type(stream_type))?;
        let Some(sym) = core.log.stream_sym(stream_id) else {
            return Ok(None);
        };
        if let Some(t) = core.log.stream_type_of(stream_id) {
            if t != stream_type {
                return Err(Error::validation(format!(
                    "stream '{stream_id}' is a {t} stream, not a {stream_type} stream"
                )));
            }
        }
        let version = match at {
            Some(at) => stream_version_at(&core.log, sym, at),
            None => core.log.version_of(sym),
        };
        if version == 0 {
            return Ok(None);
        }
        let cache = core.caches.entry(sym).or_default();
        let fail = |m: String| Error::domain(format!("{stream_type}: {m}"));
        let state = cache
            .state_at(&core.log, sym, aggregate.as_ref(), core.snapshot_every, version)
            .map_err(fail)?;
        let state = aggregate.state_json(&state).map_err(fail)?;
        Ok(Some(Loaded { state, version }))
    }

    /// A projection's state (JSON text), now or at a position or timestamp.
    pub fn projection(&self, name: &str, at: Option<At>) -> Result<String, Error> {
        let mut core = self.core_mut()?;
        let core = &mut *core;
        let position = match at {
            Some(at) => Some(log_position_at(&core.log, at)?),
            None => None,
        };
        core.projections.state_json(name, position, &core.log)
    }

    /// Records of a map-shaped projection whose fields equal every field of `filter`
    /// (JSON array text).
    pub fn query(&self, name: &str, filter: &Map<String, Value>) -> Result<String, Error> {
        self.core()?.projections.query(name, filter)
    }

    /// Rebuilds one projection or all of them from the whole log.
    pub fn replay(&self, name: Option<&str>) -> Result<ReplayReport, Error> {
        let mut core = self.core_mut()?;
        let core = &mut *core;
        core.projections.replay(name, &core.log)
    }

    /// Figures about the log.
    pub fn stats(&self) -> Result<Stats, Error> {
        Ok(self.core()?.log.stats())
    }

    /// Recomputes the hash chain of the whole log.
    pub fn verify(&self) -> Result<VerifyReport, Error> {
        Ok(self.core()?.log.verify())
    }

    /// Names of the aggregate types and projections.
    pub fn definitions(&self) -> Result<(Vec<String>, Vec<String>), Error> {
        let core = self.core()?;
        Ok((core.registry.names(), core.projections.names()))
    }

    /// Number of live subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }

    /// The head position as last committed.
    pub fn head_position(&self) -> u64 {
        self.head.get()
    }

    /// True once `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Lets queued commands finish, then closes the storage. Later calls fail with
    /// `ClosedError`; closing twice is harmless.
    pub async fn close(&self) -> Result<(), Error> {
        if self.closed.replace(true) {
            return Ok(());
        }
        loop {
            let (empty, leader) = {
                let q = self.queue.borrow();
                (q.jobs.is_empty(), q.leader)
            };
            if empty && !leader {
                break;
            }
            if !leader {
                self.queue.borrow_mut().leader = true;
                let _guard = LeaderGuard { queue: &self.queue };
                self.drive(&|| false).await;
                continue;
            }
            IdleWait {
                queue: &self.queue,
                registered: false,
            }
            .await;
        }
        self.persist_snapshots(0).await;
        self.storage.close().await.map_err(|e: StorageError| Error::Storage(e))
    }
}

fn fill(fills: Vec<batch::Fill>) {
    for (slot, result) in fills {
        slot.fill(result);
    }
}

fn fill_all(pending: Vec<Pending>, error: &Error) {
    for (_, slot) in pending {
        slot.fill(Err(error.clone()));
    }
}
