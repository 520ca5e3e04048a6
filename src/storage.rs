//! The storage the engine persists to before it commits anything: an async trait the host
//! implements (IndexedDB, SQLite, memory), and [`MemoryStorage`].
//!
//! The contract (DESIGN.md §5): `read_events` returns events with position > `after`,
//! ascending, at most `limit`; `append_events` writes the whole batch atomically, and only if
//! the store's last position is `expected_position`, otherwise it writes nothing and answers
//! [`AppendError::Conflict`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Error, StorageError};
use crate::event::Event;
use crate::snapshot::Snapshot;
use crate::sync::{MemoryOutbox, OutboxEntry, OutboxStore};

/// Why an append did not happen.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendError {
    /// Another writer appended first; nothing was written.
    Conflict,
    /// The storage failed; nothing was written (or, after a timeout, the outcome is unknown).
    Failed(StorageError),
}

/// The host's storage, as the engine awaits it.
#[allow(async_fn_in_trait)]
pub trait Storage {
    /// Events with position > `after_position`, ascending, at most `limit` of them. Records
    /// that cannot be read are an [`Error::Integrity`]; a failed call an [`Error::Storage`].
    async fn read_events(&self, after_position: u64, limit: u32) -> Result<Vec<Event>, Error>;

    /// Appends `events` if and only if the last stored position is `expected_position`.
    async fn append_events(&self, events: &[Event], expected_position: u64) -> Result<(), AppendError>;

    /// A snapshot by key.
    async fn read_snapshot(&self, _key: &str) -> Result<Option<Snapshot>, StorageError> {
        Ok(None)
    }

    /// Stores a snapshot (replacing one with the same key).
    async fn write_snapshot(&self, _snapshot: &Snapshot) -> Result<(), StorageError> {
        Ok(())
    }

    /// Makes what was overwritten or deleted unrecoverable from the storage's files (after a
    /// `forget` overwrote the projection snapshots), as far as the storage can. Default:
    /// nothing to do (memory).
    async fn scrub(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Releases the storage.
    async fn close(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// The storage of an engine that keeps its events only in memory and shares them with no
/// one: its log is the store, so nothing is copied. Appends check the head (so the
/// contract holds) and reads find nothing (a new one is empty). `Engine.open()` without a
/// storage uses this; use [`MemoryStorage`] to share a store between engines.
#[derive(Debug, Default)]
pub struct EphemeralStorage {
    head: std::cell::Cell<u64>,
}

impl EphemeralStorage {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for EphemeralStorage {
    async fn read_events(&self, _after_position: u64, _limit: u32) -> Result<Vec<Event>, Error> {
        Ok(Vec::new())
    }

    async fn append_events(&self, events: &[Event], expected_position: u64) -> Result<(), AppendError> {
        if self.head.get() != expected_position {
            return Err(AppendError::Conflict);
        }
        self.head.set(expected_position + events.len() as u64);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct MemoryInner {
    events: Vec<Event>,
    snapshots: HashMap<String, Snapshot>,
    outbox: MemoryOutbox,
}

/// Events in memory. Clones share the same store, like two tabs sharing one database.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    inner: Rc<RefCell<MemoryInner>>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every stored event.
    pub fn events(&self) -> Vec<Event> {
        self.inner.borrow().events.clone()
    }

    /// Number of stored events.
    pub fn len(&self) -> usize {
        self.inner.borrow().events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.borrow().events.is_empty()
    }

    /// Replaces the stored events (for tests that tamper with a log).
    pub fn replace_events(&self, events: Vec<Event>) {
        self.inner.borrow_mut().events = events;
    }

    /// A snapshot by key, synchronously.
    pub fn snapshot(&self, key: &str) -> Option<Snapshot> {
        self.inner.borrow().snapshots.get(key).cloned()
    }

    /// Number of outbox entries (a synced engine's pending commands).
    pub fn outbox_len(&self) -> usize {
        self.inner.borrow().outbox.len()
    }
}

impl OutboxStore for MemoryStorage {
    async fn read_outbox(&self) -> Result<Vec<OutboxEntry>, Error> {
        self.inner.borrow().outbox.read()
    }

    async fn write_outbox(&self, entry: &OutboxEntry) -> Result<(), StorageError> {
        self.inner.borrow_mut().outbox.write(entry);
        Ok(())
    }

    async fn delete_outbox(&self, command_ids: &[String]) -> Result<(), StorageError> {
        self.inner.borrow_mut().outbox.delete(command_ids);
        Ok(())
    }
}

impl Storage for MemoryStorage {
    async fn read_events(&self, after_position: u64, limit: u32) -> Result<Vec<Event>, Error> {
        let inner = self.inner.borrow();
        let start = inner.events.partition_point(|e| e.position <= after_position);
        Ok(inner.events[start..].iter().take(limit as usize).cloned().collect())
    }

    async fn append_events(&self, events: &[Event], expected_position: u64) -> Result<(), AppendError> {
        let mut inner = self.inner.borrow_mut();
        let last = inner.events.last().map_or(0, |e| e.position);
        if last != expected_position {
            return Err(AppendError::Conflict);
        }
        inner.events.extend_from_slice(events);
        Ok(())
    }

    async fn read_snapshot(&self, key: &str) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.inner.borrow().snapshots.get(key).cloned())
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StorageError> {
        self.inner
            .borrow_mut()
            .snapshots
            .insert(snapshot.key.clone(), snapshot.clone());
        Ok(())
    }
}
