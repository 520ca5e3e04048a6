//! Snapshots: saved states that bound how many events a load or a time-travel query folds.
//!
//! * Aggregates: [`AggregateCache`] keeps, per stream, the state after every `N`th version
//!   (`snapshotEvery`, default 100) and the current state, so a command never refolds its
//!   stream and a load at any version folds at most `N - 1` events.
//! * Projections: [`SnapshotSeries`] of states by position (see `projection/slot.rs`).
//! * The host: [`Snapshot`] is what `readSnapshot`/`writeSnapshot` store.

use crate::decider::{Aggregate, AnyState};
use crate::error::{Error, StateError};
use crate::forms::{FormError, Forms};
use crate::log::{EventView, Log, StreamSym};

/// Default `snapshotEvery`.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 100;

/// States keyed by a growing number (a version or a position).
#[derive(Debug)]
pub struct SnapshotSeries<T> {
    entries: Vec<(u64, T)>,
}

impl<T> Default for SnapshotSeries<T> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<T> SnapshotSeries<T> {
    /// Adds a state at `key`, which must be above every key already there.
    pub fn push(&mut self, key: u64, state: T) {
        debug_assert!(self.entries.last().is_none_or(|(k, _)| *k < key));
        self.entries.push((key, state));
    }

    /// The newest entry at or before `key`.
    pub fn at_or_before(&self, key: u64) -> Option<&(u64, T)> {
        let i = self.entries.partition_point(|(k, _)| *k <= key);
        i.checked_sub(1).map(|i| &self.entries[i])
    }

    /// The newest entry.
    pub fn last(&self) -> Option<&(u64, T)> {
        self.entries.last()
    }

    /// Moves every entry of `later` (all keys above this series') to the end.
    pub fn append(&mut self, mut later: SnapshotSeries<T>) {
        self.entries.append(&mut later.entries);
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A snapshot as the host stores it (opaque to the host, found again by `key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// e.g. `"projection:account_balance"`.
    pub key: String,
    /// Position of the last event the state includes.
    pub position: u64,
    /// Hash of that event: a snapshot that does not match the log is ignored.
    pub hash: String,
    /// The versions it was built under (the projection's, the upcasters', the forgotten
    /// subjects'): a snapshot built under others is ignored.
    pub versions: String,
    /// The state as JSON text.
    pub state: String,
}

impl Snapshot {
    /// A snapshot that holds nothing and matches no log, to overwrite one under `key`.
    pub fn tombstone(key: String) -> Self {
        Snapshot {
            key,
            position: 0,
            hash: String::new(),
            versions: String::new(),
            state: "null".to_owned(),
        }
    }
}

/// Per-stream aggregate states: the current one and one every `N` versions.
///
/// Invariant: `snapshots` holds the state after every multiple of `N` up to `covered`, and
/// `current`, when present, is the state at version `covered`.
#[derive(Debug, Default)]
pub struct AggregateCache {
    snapshots: SnapshotSeries<AnyState>,
    covered: u64,
    current: Option<AnyState>,
}

/// Folds one event into an aggregate's state and, when the event's version is a multiple of
/// `every` (0 = never), also gives a copy of the new state for the stream's snapshots. The
/// one place where "evolve, then snapshot every N" is written.
pub fn evolve_step(
    agg: &dyn Aggregate,
    state: AnyState,
    event: &EventView<'_>,
    every: u64,
) -> Result<(AnyState, Option<AnyState>), StateError> {
    let next = agg.evolve(state, event)?;
    let snapshot = if every > 0 && event.version % every == 0 {
        Some(agg.clone_state(&next)?)
    } else {
        None
    };
    Ok((next, snapshot))
}

/// Why a stream could not be folded: its aggregate failed, or an event could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum FoldError {
    State(StateError),
    Form(FormError),
}

impl From<StateError> for FoldError {
    fn from(e: StateError) -> Self {
        FoldError::State(e)
    }
}

impl FoldError {
    /// The error a load or a command reports: an aggregate that cannot fold its own stream
    /// is an `InternalError` (a bug in it); an event that cannot be read says why itself.
    pub fn into_error(self, stream_type: &str, stream_id: &str) -> Error {
        match self {
            FoldError::State(m) => Error::internal(format!("{stream_type} '{stream_id}': {m}")),
            FoldError::Form(f) => f.into_error(),
        }
    }
}

/// Folds the stored `events` into `state` with [`evolve_step`] (each in its read form),
/// handing each snapshot to `on_snapshot`.
pub fn fold_stream<'a>(
    agg: &dyn Aggregate,
    mut state: AnyState,
    events: impl Iterator<Item = EventView<'a>>,
    forms: &Forms,
    every: u64,
    mut on_snapshot: impl FnMut(u64, AnyState),
) -> Result<AnyState, FoldError> {
    for stored in events {
        let read = forms.to_read_form(stored).map_err(FoldError::Form)?;
        let e = read.view();
        let (next, snapshot) = evolve_step(agg, state, &e, every).map_err(|m| {
            m.context(format_args!(
                "evolve failed at version {} of stream '{}'",
                e.version, e.stream_id
            ))
        })?;
        state = next;
        if let Some(copy) = snapshot {
            on_snapshot(e.version, copy);
        }
    }
    Ok(state)
}

impl AggregateCache {
    /// Brings `current` to the stream's last version.
    pub fn ensure_current(
        &mut self,
        log: &Log,
        forms: &Forms,
        sym: StreamSym,
        agg: &dyn Aggregate,
        every: u64,
    ) -> Result<(), FoldError> {
        let head = log.version_of(sym);
        if self.current.is_some() && self.covered == head {
            return Ok(());
        }
        let (start, state) = match self.current.take() {
            Some(state) => (self.covered, state),
            None => match self.snapshots.at_or_before(self.covered) {
                Some((v, s)) => (*v, agg.clone_state(s)?),
                None => (0, agg.initial_state()?),
            },
        };
        let snapshots = &mut self.snapshots;
        let covered = self.covered;
        let state = fold_stream(
            agg,
            state,
            log.stream_range(sym, start + 1, head),
            forms,
            every,
            |v, s| {
                if v > covered {
                    snapshots.push(v, s);
                }
            },
        )?;
        self.covered = head;
        self.current = Some(state);
        Ok(())
    }

    /// A copy of the state after `version` (≤ the stream's version), folding at most
    /// `every - 1` events from the nearest snapshot.
    pub fn state_at(
        &mut self,
        log: &Log,
        forms: &Forms,
        sym: StreamSym,
        agg: &dyn Aggregate,
        every: u64,
        version: u64,
    ) -> Result<AnyState, FoldError> {
        self.ensure_current(log, forms, sym, agg, every)?;
        if version >= self.covered {
            let current = self
                .current
                .as_ref()
                .ok_or_else(|| StateError::new("no current state after ensure_current"))?;
            return Ok(agg.clone_state(current)?);
        }
        let (start, state) = match self.snapshots.at_or_before(version) {
            Some((v, s)) => (*v, agg.clone_state(s)?),
            None => (0, agg.initial_state()?),
        };
        fold_stream(
            agg,
            state,
            log.stream_range(sym, start + 1, version),
            forms,
            0,
            |_, _| {},
        )
    }

    /// Moves the current state out (to decide a batch); `None` if it is not cached.
    pub fn take_current(&mut self) -> Option<(u64, AnyState)> {
        self.current.take().map(|s| (self.covered, s))
    }

    /// Puts back the state at `version` together with the snapshots taken on the way.
    pub fn put_current(&mut self, version: u64, state: AnyState, snapshots: Vec<(u64, AnyState)>) {
        for (v, s) in snapshots {
            if v > self.covered {
                self.snapshots.push(v, s);
            }
        }
        self.covered = self.covered.max(version);
        if version == self.covered {
            self.current = Some(state);
        }
    }

    /// Applies an event appended by another writer, if the cache is current. A failure
    /// drops the current state: it is refolded, and the error reported, on the next use.
    pub fn apply_external(&mut self, agg: &dyn Aggregate, event: &EventView<'_>, every: u64) {
        let Some(state) = self.current.take() else {
            return;
        };
        if event.version != self.covered + 1 {
            return;
        }
        if let Ok((next, snapshot)) = evolve_step(agg, state, event, every) {
            if let Some(copy) = snapshot {
                self.snapshots.push(event.version, copy);
            }
            self.covered = event.version;
            self.current = Some(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_finds_newest_at_or_before() {
        let mut s = SnapshotSeries::default();
        s.push(10, "a");
        s.push(20, "b");
        assert_eq!(s.at_or_before(9), None);
        assert_eq!(s.at_or_before(10).map(|e| e.1), Some("a"));
        assert_eq!(s.at_or_before(19).map(|e| e.1), Some("a"));
        assert_eq!(s.at_or_before(25).map(|e| e.1), Some("b"));
    }
}
