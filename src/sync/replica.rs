//! The replica: the server's events, verified before anything is written, persisted through
//! the engine's storage, committed, then the outbox rebased on them.
//!
//! ```text
//! receive(events) ─► drop what the log has (same hash; another hash is a fork)
//!                 ─► check the rest continues the log (position, chain, versions, ...)
//!                 ─► storage.appendEvents(events, head)   [CONFLICT: another engine on this
//!                      storage wrote first — read it and compare]
//!                 ─► commit (aggregates, projections, subscribers) ─► rebase
//! ```
//!
//! A server whose history disagrees with what this client verified (a different hash at a
//! position both have, a chain that does not continue this one, an `afterHash` that differs)
//! is an `IntegrityError` in `syncState().lastError`: sync stops, local data stays as it was.

use std::collections::HashMap;

use crate::error::{Error, IntegrityError, StorageError, StorageFailure};
use crate::event::Event;
use crate::integrity::{check_next, ChainTip, Checked, Hash};
use crate::log::Log;
use crate::storage::{AppendError, Storage};
use crate::Engine;

use super::client::{Boxed, Failure, SyncClient};
use super::outbox::OutboxStore;
use super::overlay::Decided;

/// How many times a server batch is retried after another engine on the same storage
/// appended first.
const MAX_CONFLICTS: u32 = 16;

/// What `receive` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Received {
    /// Events committed.
    pub applied: u64,
    /// The batch does not start right after the confirmed head: fetch from the head again.
    pub gap: bool,
}

/// The log plus the records of a batch already checked on top of it.
struct BatchTip<'a> {
    log: &'a Log,
    position: u64,
    hash: Hash,
    timestamp: i64,
    streams: HashMap<String, (u64, String)>,
}

impl ChainTip for BatchTip<'_> {
    fn head_position(&self) -> u64 {
        self.position
    }
    fn head_hash(&self) -> Hash {
        self.hash
    }
    fn last_timestamp(&self) -> i64 {
        self.timestamp
    }
    fn stream_version(&self, stream_id: &str) -> u64 {
        self.streams
            .get(stream_id)
            .map_or_else(|| self.log.stream_version(stream_id), |s| s.0)
    }
    fn stream_type_of(&self, stream_id: &str) -> Option<&str> {
        match self.streams.get(stream_id) {
            Some((_, t)) => Some(t),
            None => self.log.stream_type_of(stream_id),
        }
    }
}

/// Checks that `events` continue `log` as [`check_next`] checks a stored record, without
/// changing anything.
pub fn verify_batch(log: &Log, events: &[Event]) -> Result<Vec<Checked>, IntegrityError> {
    let mut tip = BatchTip {
        log,
        position: log.head_position(),
        hash: log.head_hash(),
        timestamp: log.last_timestamp(),
        streams: HashMap::new(),
    };
    let mut scratch = String::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let checked = check_next(&tip, e, &mut scratch)?;
        tip.position = e.position;
        tip.hash = checked.hash;
        tip.timestamp = e.timestamp;
        tip.streams
            .insert(e.stream_id.clone(), (e.version, e.stream_type.clone()));
        out.push(checked);
    }
    Ok(out)
}

/// Drops the events the log already has; a different hash at a position the log has is a
/// fork.
fn new_part<S: Storage>(engine: &Engine<S>, events: Vec<Event>) -> Result<Vec<Event>, Error> {
    let head = engine.head_position();
    let mut fresh = Vec::with_capacity(events.len());
    for e in events {
        if e.position > head || e.position == 0 {
            fresh.push(e);
            continue;
        }
        let ours = engine.hash_at(e.position)?;
        if ours.map(|h| h.to_hex()).as_deref() != Some(e.hash.as_str()) {
            return Err(IntegrityError::at(
                e.position,
                "the server sent an event that differs from the one this client verified: its history forks",
            )
            .into());
        }
    }
    Ok(fresh)
}

impl SyncClient {
    /// The server says its event at `after` (the position this client asked from) has the
    /// hash `after_hash` (`None`: its log ends before `after`). Anything but this client's
    /// own hash there is a fork: sync stops.
    pub fn check_server<S: Storage>(
        &self,
        engine: &Engine<S>,
        after: u64,
        after_hash: Option<&str>,
    ) -> Result<(), Error> {
        self.check_running()?;
        let Some(ours) = engine.hash_at(after)? else {
            return Ok(()); // past this client's head: nothing to compare
        };
        let problem = match after_hash {
            None => "the server's log ends before this position, which this client verified",
            Some(h) if h != ours.to_hex() => "the server's event there differs from the one this client verified",
            Some(_) => {
                self.succeeded();
                return Ok(());
            }
        };
        Err(self.fork(IntegrityError::at(
            after,
            format!("{problem}: the server's history forks from this client's (sync stopped, local data kept)"),
        )))
    }

    fn fork(&self, e: IntegrityError) -> Error {
        let e = Error::from(e);
        self.fail(Failure::Engine(e.clone()), true);
        e
    }

    /// Verifies, persists and commits a batch of the server's events (in position order;
    /// those the log has are compared and skipped), then rebases the outbox on them.
    pub async fn receive<S: Storage + OutboxStore>(
        &self,
        engine: &Engine<S>,
        events: Vec<Event>,
    ) -> Result<Received, Error> {
        self.check_running()?;
        let lead = engine.lead().await;
        let mut events = events;
        let mut received = Received::default();
        let mut conflicts = 0;
        loop {
            let fresh = new_part(engine, events).map_err(|e| match e {
                Error::Integrity(i) => self.fork(i),
                other => other,
            })?;
            let Some(first) = fresh.first() else { break };
            let head = engine.head_position();
            if first.position != head + 1 {
                received.gap = true;
                break;
            }
            let checked = engine
                .with_log(|log| verify_batch(log, &fresh))?
                .map_err(|e| self.fork(e))?;
            // The keys its sealed personal data needs (the transport stored the server's).
            let fetched = engine.fetch_keys_of(&fresh).await.map_err(|e| self.keys_failed(e))?;
            match engine.storage().append_events(&fresh, head).await {
                Ok(()) => {
                    received.applied += fresh.len() as u64;
                    engine.commit_checked(fresh.into_iter().zip(checked).collect())?;
                    engine.check_keys_of(&fetched).map_err(|e| self.keys_failed(e))?;
                    break;
                }
                Err(AppendError::Conflict) if conflicts < MAX_CONFLICTS => {
                    // Another engine on this storage (another tab) wrote first: read what it
                    // wrote, then compare.
                    conflicts += 1;
                    engine.read_new_events_led().await?;
                    events = fresh;
                }
                Err(AppendError::Conflict) => {
                    let e = StorageError::new(StorageFailure::Failed, "other writers kept appending to this storage");
                    return Err(self.storage_failed(e));
                }
                Err(AppendError::Failed(e)) => return Err(self.storage_failed(e)),
            }
        }
        drop(lead);
        if received.applied > 0 {
            let confirmed = self.rebase(engine)?;
            self.flush_confirmed(engine, confirmed).await;
        }
        self.succeeded();
        Ok(received)
    }

    /// The keys of the server's personal data could not be had: without a key store
    /// (`ValidationError`) sync stops (this engine cannot hold the server's log); a key
    /// store that failed is retried.
    fn keys_failed(&self, e: Error) -> Error {
        let stop = matches!(e, Error::Validation(_));
        self.fail(Failure::Engine(e.clone()), stop);
        e
    }

    fn storage_failed(&self, e: StorageError) -> Error {
        let e = Error::from(e);
        self.fail(Failure::Engine(e.clone()), false);
        e
    }

    /// After the confirmed log moved: entries it now holds are confirmed (their `settled`
    /// resolves), the others are decided again on it. Returns the ids to delete from the
    /// storage ([`SyncClient::flush_confirmed`]).
    pub(super) fn rebase<S: Storage>(&self, engine: &Engine<S>) -> Result<Vec<String>, Error> {
        let mut confirmed = Vec::new();
        {
            let mut state = self.borrow()?;
            state.redecide(engine)?;
            for item in state.items.iter_mut() {
                if let Decided::Confirmed = item.decided {
                    item.confirmed = true;
                }
                if item.confirmed {
                    confirmed.push(item.entry.command_id().to_owned());
                }
            }
        }
        for id in &confirmed {
            if let Some(r) = engine.committed_result(id)? {
                self.settle(id, &Ok(r));
            }
        }
        Ok(confirmed)
    }

    /// Deletes confirmed entries from the storage, then from memory (a failure keeps them for
    /// the next rebase; they are never pushed again).
    pub(super) fn flush_confirmed<'a, S: Storage + OutboxStore>(
        &'a self,
        engine: &'a Engine<S>,
        ids: Vec<String>,
    ) -> Boxed<'a, ()> {
        // Boxed: awaited from three places, compiled once.
        Box::pin(async move {
            if ids.is_empty() {
                return;
            }
            if engine.storage().delete_outbox(&ids).await.is_ok() {
                if let Ok(mut state) = self.borrow() {
                    state
                        .items
                        .retain(|i| !(i.confirmed && ids.iter().any(|id| id == i.entry.command_id())));
                    state.touch();
                }
            }
        })
    }

    /// Follows the storage (the seam of an engine that does not sync itself, e.g. a tab that
    /// is not the syncing one): commits what was appended to the log, reads the outbox again
    /// (entries other engines added or removed), reports the refusals left for this engine,
    /// and rebases.
    pub async fn refresh<S: Storage + OutboxStore>(&self, engine: &Engine<S>) -> Result<super::Effects, Error> {
        engine.catch_up().await?;
        let stored = engine.storage().read_outbox().await?;
        let (gone, mine) = {
            let mut state = self.borrow()?;
            let gone = super::push::merge_stored(&mut state, stored);
            let mine: Vec<String> = state
                .items
                .iter()
                .filter(|i| i.entry.outcome.is_some() && i.entry.issuer == self.issuer())
                .map(|i| i.entry.command_id().to_owned())
                .collect();
            (gone, mine)
        };
        // Entries another engine removed because the log holds them. That engine appended
        // their events before deleting them: one not in the log read above is in it now.
        if gone
            .iter()
            .any(|id| !matches!(engine.committed_result(id), Ok(Some(_))))
        {
            engine.catch_up().await?;
        }
        for id in gone {
            if let Some(r) = engine.committed_result(&id)? {
                self.settle(&id, &Ok(r));
            }
        }
        let confirmed = self.rebase(engine)?;
        self.flush_confirmed(engine, confirmed).await;
        Ok(self.report_refusals(engine, mine).await)
    }
}
