//! [`SyncClient`]: the sync state of one engine — its outbox, its optimistic overlay, the
//! commands it saw refused, who waits on `settled`, and its status — and the operations
//! that do not talk to the server: open, `execute`, `settled`, status, close. Pushing is
//! `push.rs`, the replica `replica.rs`, the optimistic reads `reads.rs`.
//!
//! The client never holds its state's borrow across an `.await`, nor while the engine runs
//! code that may call back (subscribers); a synchronous call into it from inside user code
//! (a `decide`) is a `ValidationError`, like the engine's own re-entrancy rule.

use std::cell::{RefCell, RefMut};
use std::future::Future;
use std::rc::Rc;

use crate::clock::next_timestamp;
use crate::engine::{Slot, Wait};
use crate::error::{ClosedError, Error, NotFoundError, StorageError, StorageFailure};
use crate::storage::Storage;
use crate::{Engine, ExecuteRequest, ExecuteResult};

use super::answer::RemoteError;
use super::outbox::{OutboxEntry, OutboxStore};
use super::overlay::{Decided, Overlay, SyncResult};

/// The last thing that went wrong with sync (`syncState().lastError`).
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A failure of this engine (e.g. an `IntegrityError` for a server whose history forks
    /// from this client's, a `StorageError`).
    Engine(Error),
    /// What the server or the network answered (e.g. `UNAUTHENTICATED`, `NETWORK`).
    Remote(RemoteError),
}

/// `syncState()`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncStatus {
    pub online: bool,
    /// Commands in the outbox the server has not confirmed nor refused.
    pub pending: usize,
    pub confirmed_position: u64,
    pub last_error: Option<Failure>,
}

/// A command the server refused, for `onRejected({ commandId, command, error })`.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub request: ExecuteRequest,
    pub error: Error,
}

/// What an operation leaves for the host to do once it has returned.
#[derive(Debug, Default, Clone)]
pub struct Effects {
    /// Refusals to report (`onRejected`), each once, in order.
    pub rejected: Vec<Rejected>,
    /// Some answers were unknown outcomes: push again after a pause.
    pub retry: bool,
}

/// One outbox entry and what the client knows of it.
pub(super) struct Item {
    pub(super) entry: OutboxEntry,
    /// Written to the storage (only persisted entries are pushed).
    pub(super) persisted: bool,
    /// The server accepted it: its events are on their way.
    pub(super) accepted: bool,
    /// The confirmed log holds it (deleted from the storage next).
    pub(super) confirmed: bool,
    /// What became of it in the overlay.
    pub(super) decided: Decided,
}

impl Item {
    pub(super) fn new(entry: OutboxEntry, persisted: bool) -> Item {
        Item {
            entry,
            persisted,
            accepted: false,
            confirmed: false,
            decided: Decided::Undecidable,
        }
    }

    /// Still waiting for the server (pushed or not).
    pub(super) fn is_pending(&self) -> bool {
        !self.confirmed && self.entry.outcome.is_none()
    }
}

pub(super) struct State {
    /// The outbox, in `seq` order.
    pub(super) items: Vec<Item>,
    pub(super) overlay: Overlay,
    /// Refusals this client reported (for `settled` and repeated `execute`s).
    pub(super) refused: Vec<(String, Error)>,
    next_seq: u64,
    pub(super) online: bool,
    pub(super) last_error: Option<Failure>,
    /// Sync stopped for good (a fork, another protocol version).
    pub(super) stopped: bool,
    pub(super) changed: bool,
    /// Other engine instances on this storage that report their own refusals.
    pub(super) live_issuers: Vec<String>,
    /// Optimistic projection states (JSON) by name, until the next change.
    pub(super) projections: Vec<(String, String)>,
}

impl State {
    pub(super) fn item(&self, command_id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.entry.command_id() == command_id)
    }

    pub(super) fn item_mut(&mut self, command_id: &str) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.entry.command_id() == command_id)
    }

    /// A refusal this client reported.
    pub(super) fn refusal(&self, command_id: &str) -> Option<&Error> {
        self.refused.iter().find(|(id, _)| id == command_id).map(|(_, e)| e)
    }

    /// Decides every item again on the confirmed log.
    pub(super) fn redecide<S: Storage>(&mut self, engine: &Engine<S>) -> Result<(), Error> {
        self.overlay = Overlay::build(engine, &mut self.items)?;
        self.touch();
        Ok(())
    }

    /// The engine's error that stopped sync for good (a fork), if any: what `settled`
    /// answers for commands that can no longer be confirmed.
    pub(super) fn stop_error(&self) -> Option<Error> {
        match (&self.stopped, &self.last_error) {
            (true, Some(Failure::Engine(e))) => Some(e.clone()),
            _ => None,
        }
    }

    /// Something `syncState()` or the optimistic view shows changed.
    pub(super) fn touch(&mut self) {
        self.changed = true;
        self.projections.clear();
    }
}

/// The sync client of one engine (see the module's documentation).
pub struct SyncClient {
    issuer: String,
    pub(super) state: RefCell<State>,
    waiters: RefCell<Vec<(String, Rc<Slot<ExecuteResult>>)>>,
}

/// A boxed future: an async helper awaited from several places is compiled once.
pub(super) type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + 'a>>;

/// A synchronous call from inside user code the client is running.
fn reentrant() -> Error {
    Error::validation("re-entrant call: the synced engine cannot be used synchronously from inside decide or evolve")
}

impl SyncClient {
    /// Starts syncing `engine`: reads its storage's outbox, drops the entries the confirmed
    /// log already holds (a crash between replicating and deleting), adopts the refusals
    /// left for an issuer (reported by the returned effects), and decides the rest.
    pub async fn open<S: Storage + OutboxStore>(engine: &Engine<S>) -> Result<(SyncClient, Effects), Error> {
        if !engine.storage().has_outbox() {
            return Err(StorageError::new(
                StorageFailure::Unsupported,
                "sync needs a storage with an outbox (readOutbox, writeOutbox, deleteOutbox); the adapters of the \
                 package have them",
            )
            .into());
        }
        let entries = engine.storage().read_outbox().await?;
        let issuer = engine.new_id()?;
        let next_seq = entries.iter().map(|e| e.seq + 1).max().unwrap_or(1);
        let mut items = entries
            .into_iter()
            .map(|entry| Item::new(entry, true))
            .collect::<Vec<_>>();
        let overlay = Overlay::build(engine, &mut items)?;
        let client = SyncClient {
            issuer,
            state: RefCell::new(State {
                items,
                overlay,
                refused: Vec::new(),
                next_seq,
                online: false,
                last_error: None,
                stopped: false,
                changed: true,
                live_issuers: Vec::new(),
                projections: Vec::new(),
            }),
            waiters: RefCell::new(Vec::new()),
        };
        let confirmed = client.rebase(engine)?;
        client.flush_confirmed(engine, confirmed).await;
        let adopted: Vec<String> = client
            .borrow()?
            .items
            .iter()
            .filter(|i| i.entry.outcome.is_some())
            .map(|i| i.entry.command_id().to_owned())
            .collect();
        let effects = client.report_refusals(engine, adopted).await;
        Ok((client, effects))
    }

    /// This engine instance's id (the `issuer` of its outbox entries).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(super) fn borrow(&self) -> Result<RefMut<'_, State>, Error> {
        self.state.try_borrow_mut().map_err(|_| reentrant())
    }

    /// Decides `request` on the optimistic state now (so commands keep their call order), then
    /// writes it to the outbox and resolves: `{ events, version, position: None, pending }`.
    /// A refusal rejects at once and queues nothing; a `commandId` already confirmed or in the
    /// outbox answers its first result.
    pub fn execute<'a, S: Storage + OutboxStore>(
        &'a self,
        engine: &'a Engine<S>,
        request: ExecuteRequest,
    ) -> impl Future<Output = Result<SyncResult, Error>> + 'a {
        let begun = self.begin_execute(engine, request);
        self.complete_execute(engine, begun)
    }

    /// The synchronous half of [`SyncClient::execute`]: decides the command (call it when
    /// the command is issued).
    pub fn begin_execute<S: Storage>(&self, engine: &Engine<S>, mut request: ExecuteRequest) -> Result<Begun, Error> {
        self.start_execute(engine, &mut request).map(Begun)
    }

    /// The asynchronous half of [`SyncClient::execute`]: writes the entry and answers.
    pub async fn complete_execute<S: Storage + OutboxStore>(
        &self,
        engine: &Engine<S>,
        begun: Result<Begun, Error>,
    ) -> Result<SyncResult, Error> {
        let (entry, result) = match begun?.0 {
            Started::Answered(result) => return Ok(result),
            Started::Queued(entry, result) => (entry, result),
        };
        let written = engine.storage().write_outbox(&entry).await;
        self.finish_execute(engine, entry.command_id(), written)?;
        Ok(result)
    }

    fn start_execute<S: Storage>(&self, engine: &Engine<S>, request: &mut ExecuteRequest) -> Result<Started, Error> {
        engine.check_request(request)?;
        let command_id = match &request.command_id {
            Some(id) => id.clone(),
            None => engine.new_id()?,
        };
        request.command_id = Some(command_id.clone());
        if let Some(r) = engine.committed_result(&command_id)? {
            return Ok(Started::Answered(SyncResult::confirmed(r, command_id)));
        }
        let mut state = self.borrow()?;
        if let Some(item) = state.item(&command_id) {
            return match &item.entry.outcome {
                Some(e) => Err(e.clone()),
                None => Ok(Started::Answered(state.overlay.pending_result(item))),
            };
        }
        if let Some(e) = state.refusal(&command_id) {
            return Err(e.clone());
        }
        let issued_at = next_timestamp(engine.now_ms(), 0);
        let decided = state.overlay.decide(engine, request, issued_at as f64)?;
        if let Decided::Confirmed = decided {
            return Err(Error::internal("a commandId was confirmed while it was decided"));
        }
        let seq = state.next_seq.max((issued_at.max(0) as u64).saturating_mul(1000));
        state.next_seq = seq + 1;
        let entry = OutboxEntry {
            request: request.clone(),
            seq,
            issued_at,
            issuer: self.issuer.clone(),
            outcome: None,
        };
        let item = Item {
            decided,
            ..Item::new(entry.clone(), false)
        };
        let result = state.overlay.pending_result(&item);
        state.items.push(item);
        state.touch();
        Ok(Started::Queued(Box::new(entry), result))
    }

    /// The entry is in the storage (it may be pushed), or it could not be written: then it
    /// leaves the overlay and `execute` rejects.
    fn finish_execute<S: Storage>(
        &self,
        engine: &Engine<S>,
        command_id: &str,
        written: Result<(), StorageError>,
    ) -> Result<(), Error> {
        let mut state = self.borrow()?;
        match written {
            Ok(()) => {
                if let Some(item) = state.item_mut(command_id) {
                    item.persisted = true;
                }
                state.touch();
                Ok(())
            }
            Err(e) => {
                state.items.retain(|i| i.entry.command_id() != command_id);
                state.redecide(engine)?;
                Err(e.into())
            }
        }
    }

    /// Resolves with the server's `{ events, version, position }` once the confirmed log holds
    /// `command_id`, or rejects with the server's refusal; an id this engine never issued
    /// (neither confirmed nor in the outbox) is a `NotFoundError`.
    pub fn settled<S: Storage>(&self, engine: &Engine<S>, command_id: &str) -> Settled {
        Settled(self.wait_for(engine, command_id))
    }

    fn wait_for<S: Storage>(&self, engine: &Engine<S>, command_id: &str) -> Rc<Slot<ExecuteResult>> {
        let slot: Rc<Slot<ExecuteResult>> = Slot::new();
        let known = engine
            .committed_result(command_id)
            .and_then(|r| Ok((r, self.borrow()?)));
        let (committed, state) = match known {
            Err(e) => {
                slot.fill(Err(e));
                return slot;
            }
            Ok(k) => k,
        };
        if let Some(r) = committed {
            slot.fill(Ok(r));
            return slot;
        }
        let stopped = state.stop_error();
        match state.item(command_id) {
            Some(Item {
                entry: OutboxEntry { outcome: Some(e), .. },
                ..
            }) => slot.fill(Err(e.clone())),
            Some(_) => match stopped {
                Some(e) => slot.fill(Err(e)),
                None => self.waiters.borrow_mut().push((command_id.to_owned(), slot.clone())),
            },
            None => match state.refusal(command_id) {
                Some(e) => slot.fill(Err(e.clone())),
                None => slot.fill(Err(NotFoundError::command(command_id).into())),
            },
        }
        slot
    }

    /// Settles everyone waiting on `command_id`.
    pub(super) fn settle(&self, command_id: &str, result: &Result<ExecuteResult, Error>) {
        let mut slots = Vec::new();
        self.waiters.borrow_mut().retain(|(id, slot)| {
            let mine = id == command_id;
            if mine {
                slots.push(slot.clone());
            }
            !mine
        });
        for slot in slots {
            slot.fill(result.clone());
        }
    }

    /// `syncState()`.
    pub fn status<S: Storage>(&self, engine: &Engine<S>) -> Result<SyncStatus, Error> {
        let state = self.borrow()?;
        Ok(SyncStatus {
            online: state.online,
            pending: state.items.iter().filter(|i| i.is_pending()).count(),
            confirmed_position: engine.head_position(),
            last_error: state.last_error.clone(),
        })
    }

    /// True (once) when `status` changed since the last call.
    pub fn take_changed(&self) -> bool {
        self.state
            .try_borrow_mut()
            .map(|mut s| std::mem::take(&mut s.changed))
            .unwrap_or(false)
    }

    /// The transport is connected (the live channel answered) or not.
    pub fn set_online(&self, online: bool) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            if s.online != online {
                s.online = online;
                s.changed = true;
            }
        }
    }

    /// Other engine instances on this storage that are alive and report their own refusals
    /// (the seam of a browser's tabs: one syncs, the others follow the storage). Refusals of
    /// commands they issued are left in the outbox as an `outcome` for them.
    pub fn set_live_issuers(&self, issuers: impl IntoIterator<Item = String>) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.live_issuers = issuers.into_iter().filter(|i| *i != self.issuer).collect();
        }
    }

    /// True once sync stopped for good (a fork, another protocol version).
    pub fn is_stopped(&self) -> bool {
        self.state.try_borrow().map(|s| s.stopped).unwrap_or(false)
    }

    /// Records what went wrong; `stop` ends syncing for good: then whoever waits on
    /// `settled` gets the engine's error (an `IntegrityError` of a fork) rather than waiting
    /// for an answer that cannot come; the commands stay in the outbox.
    pub(super) fn fail(&self, failure: Failure, stop: bool) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            if s.stopped {
                return;
            }
            s.last_error = Some(failure);
            s.stopped = stop;
            s.online = s.online && !stop;
            s.changed = true;
        }
        let stopped = self.state.try_borrow().ok().and_then(|s| s.stop_error());
        if let Some(e) = stopped {
            let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
            for (_, slot) in waiters {
                slot.fill(Err(e.clone()));
            }
        }
    }

    /// A request to the server succeeded: the last error (unless sync stopped) is gone.
    pub(super) fn succeeded(&self) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            if !s.stopped && s.last_error.is_some() {
                s.last_error = None;
                s.changed = true;
            }
        }
    }

    /// The error of an operation after sync stopped.
    pub(super) fn check_running(&self) -> Result<(), Error> {
        let state = self.borrow()?;
        if !state.stopped {
            return Ok(());
        }
        Err(match &state.last_error {
            Some(Failure::Engine(e)) => e.clone(),
            _ => Error::validation("sync stopped"),
        })
    }

    /// The engine closes: everyone waiting on `settled` gets a `ClosedError`.
    pub fn close(&self) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for (_, slot) in waiters {
            slot.fill(Err(ClosedError.into()));
        }
    }
}

/// A command decided by [`SyncClient::begin_execute`], to be completed.
pub struct Begun(Started);

/// What `settled` waits for.
pub struct Settled(Rc<Slot<ExecuteResult>>);

impl Settled {
    /// The server's result, or its refusal.
    pub async fn wait(self) -> Result<ExecuteResult, Error> {
        loop {
            if let Some(result) = self.0.take() {
                return result;
            }
            Wait::new(&self.0).await;
        }
    }
}

enum Started {
    /// Answered without a new entry (a repeated `commandId`).
    Answered(SyncResult),
    /// A new entry, decided, to be written.
    Queued(Box<OutboxEntry>, SyncResult),
}
