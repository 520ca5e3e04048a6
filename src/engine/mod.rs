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
//! Read in this order: `request.rs` (what goes in and out), `pipeline.rs` (submit, settle,
//! drive, process), `queue.rs` (group commit and its leader), `batch/` (decide a batch,
//! settle it), `stamp.rs` (ids, positions, hashes), `core.rs` (the state behind the borrow),
//! `reads.rs` (everything that only reads). This file: configuration, opening, definitions,
//! subscriptions and closing.
//!
//! The engine knows no domain: aggregate types and projections are given to it
//! ([`EngineConfig::aggregates`], [`Engine::define_aggregate`]; the built-in ones are
//! [`crate::domains::register_builtins`]). It is single-threaded and re-entrancy safe: no
//! `RefCell` borrow is held across an `.await`, and subscribers are called only after every
//! borrow is released.

mod batch;
mod core;
mod forms;
mod hooks;
mod pipeline;
mod queue;
mod reads;
mod request;
mod stamp;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::clock::Clock;
use crate::decider::{Aggregate, Registry};
use crate::error::{ClosedError, Error};
use crate::filter::EventFilter;
use crate::forms::Forms;
use crate::id::IdGenerator;
use crate::log::Log;
use crate::personal::{KeyStore, PersonalData};
use crate::projection::{AnyProjection, Projections, DEFAULT_PROJECTION_SNAPSHOT_EVERY};
use crate::snapshot::DEFAULT_SNAPSHOT_EVERY;
use crate::storage::Storage;
use crate::subscription::{Subscriber, Subscriptions};
use crate::upcast::Upcaster;

use self::core::Core;
use queue::{IdleWait, Queue};

pub use batch::{Decision, Tentative, TentativeStream};
pub use forms::KeyExport;
pub use pipeline::Ticket;
pub(crate) use queue::{Slot, Wait};
pub use request::{ExecuteRequest, ExecuteResult, Loaded};

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
    pub clock: Rc<dyn Clock>,
    /// Aggregate types defined at open (before the log is loaded), by stream type.
    pub aggregates: Vec<(String, Rc<dyn Aggregate>)>,
    /// Projections defined at open (before the log is loaded), so their stored snapshots can
    /// be restored instead of folding the whole log.
    pub projections: Vec<(String, Rc<dyn AnyProjection>)>,
    /// The key store of personal data (none: nothing is encrypted, and a log that holds
    /// encrypted values cannot be opened).
    pub keys: Option<Rc<dyn KeyStore>>,
    /// Upcasters defined at open (type, `from`, step), so stored projection snapshots built
    /// under them can be restored.
    pub upcasters: Vec<(String, u32, Rc<dyn Upcaster>)>,
    /// Personal data declared at open (needs `keys`).
    pub personal_data: Vec<(String, PersonalData)>,
}

impl EngineConfig {
    /// Defaults with the given clock, and nothing defined.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        EngineConfig {
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            projection_snapshot_every: DEFAULT_PROJECTION_SNAPSHOT_EVERY,
            max_conflict_retries: 16,
            max_batch_commands: 4096,
            read_page_size: 10_000,
            projection_persist_every: 10_000,
            clock,
            aggregates: Vec::new(),
            projections: Vec::new(),
            keys: None,
            upcasters: Vec::new(),
            personal_data: Vec::new(),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Default for EngineConfig {
    /// Defaults with the system clock, and nothing defined.
    fn default() -> Self {
        EngineConfig::new(Rc::new(crate::clock::SystemClock))
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

/// A synchronous call from inside user code the engine is running.
fn reentrant() -> Error {
    Error::validation(
        "re-entrant call: the engine cannot be used synchronously from inside decide, evolve or a \
         projection; call it after they return",
    )
}

impl<S: Storage> Engine<S> {
    /// Opens an engine: defines the configured aggregates and projections, reads every stored
    /// event (checking each record and the chain) and builds the projections.
    pub async fn open(storage: S, config: EngineConfig) -> Result<Self, Error> {
        let mut registry = Registry::default();
        for (name, aggregate) in &config.aggregates {
            registry.register(name, aggregate.clone())?;
        }
        let log = Log::new();
        let forms = Forms::configured(&config)?;
        let mut projections = Projections::new(config.projection_snapshot_every);
        for (name, projection) in &config.projections {
            projections.define(name, projection.clone(), 1, &log, &forms)?;
        }
        let engine = Engine {
            storage,
            core: RefCell::new(Core {
                log,
                registry,
                caches: HashMap::new(),
                projections,
                forms,
                commands: HashMap::new(),
                ids: IdGenerator::from_platform()?,
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
            // A snapshot that cannot be read (or opened) is simply rebuilt from the log.
            if let Ok(Some(snapshot)) = self.storage.read_snapshot(&key).await {
                if let Some(snapshot) = self.opened(snapshot).await {
                    found.insert(key, snapshot);
                }
            }
        }
        let mut core = self.core_mut()?;
        let core = &mut *core;
        core.defer_projections = false;
        core.projections.build_with_snapshots(&core.log, &core.forms, &found);
        Ok(())
    }

    /// Writes the projection snapshots that are due (failures only mean a longer next open).
    async fn persist_snapshots(&self, every: u64) {
        let due = match self.core.try_borrow_mut() {
            Ok(mut core) => {
                let core = &mut *core;
                core.projections.snapshots_due(&core.log, &core.forms, every)
            }
            Err(_) => return,
        };
        let Ok(due) = self.sealed(due).await else { return };
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
        self.core.try_borrow().map_err(|_| reentrant())
    }

    fn core_mut(&self) -> Result<std::cell::RefMut<'_, Core>, Error> {
        self.check_open()?;
        self.core.try_borrow_mut().map_err(|_| reentrant())
    }

    /// True while the engine is running user code (a `decide`, `evolve` or projection) and
    /// cannot be called synchronously; asynchronous callers wait until it is free.
    pub fn is_busy(&self) -> bool {
        self.core.try_borrow_mut().is_err()
    }

    /// The storage the engine writes to.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Adds an aggregate type (e.g. one defined in JavaScript), at definition version 1.
    pub fn define_aggregate(&self, name: &str, aggregate: Rc<dyn Aggregate>) -> Result<(), Error> {
        self.define_aggregate_version(name, aggregate, 1)
    }

    /// Adds a projection (definition version 1) and builds it from the whole log.
    pub fn define_projection(&self, name: &str, projection: Rc<dyn AnyProjection>) -> Result<(), Error> {
        self.define_projection_version(name, projection, 1)
    }

    /// Delivers committed events to subscribers that have not seen them. Returns false if it
    /// could not finish because the engine is busy (call it again later).
    pub fn pump_subscriptions(&self) -> bool {
        self.subscriptions
            .pump(&|f: &mut dyn FnMut(&Log, &Forms)| match self.core.try_borrow() {
                Ok(core) => {
                    f(&core.log, &core.forms);
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
        while !self.queue.borrow().is_idle() {
            if let Some(_lead) = Queue::try_lead(&self.queue) {
                self.drive(&|| false).await;
                continue;
            }
            IdleWait::new(&self.queue).await;
        }
        self.persist_snapshots(0).await;
        let closed = self.storage.close().await.map_err(Error::Storage);
        if let Some(keys) = &self.config.keys {
            keys.close().await?;
        }
        closed
    }
}
