//! A batch of commands (group commit): decided together, appended in one storage call,
//! settled together.
//!
//! Every command of a batch is decided (`decide.rs`), in arrival order, against the
//! committed state plus the events of the commands before it in the same batch. Its events
//! are stamped (`../stamp.rs`) but nothing is committed: the log, the aggregate caches and the
//! projections change only when the batch is settled (`settle.rs`), after the host has
//! persisted it. Here: the batch, what became of each command ([`Outcome`]), and the one
//! mapping from an outcome to the caller's answer.

mod decide;
mod settle;
mod tentative;

pub use tentative::{Decision, Tentative, TentativeStream};

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use crate::decider::{Aggregate, AnyState};
use crate::error::{Error, StorageError};
use crate::event::Event;
use crate::log::StreamSym;

use super::queue::{PendingExecute, Slot};
use super::stamp::Stamper;
use super::{ExecuteRequest, ExecuteResult};

/// What became of one command in a batch.
pub(super) enum Outcome {
    /// It produced `range` of the batch's events; the stream is then at `version`.
    Events {
        range: Range<usize>,
        version: u64,
    },
    /// `decide` returned no events.
    NoEvents {
        version: u64,
    },
    Rejected(Error),
    /// Same `commandId` as an earlier command of this batch that produced events.
    SameAs(usize),
    /// Its `commandId` was already committed: the first result.
    Done(ExecuteResult),
}

impl Outcome {
    /// Does the answer depend on the state it was decided against? Refusals on business
    /// rules or versions, and no-ops, do; bad input, unknown types and broken invariants
    /// do not.
    fn state_dependent(&self) -> bool {
        matches!(
            self,
            Outcome::NoEvents { .. } | Outcome::Rejected(Error::Domain(_)) | Outcome::Rejected(Error::Concurrency(_))
        )
    }

    /// The caller's answer once the batch is settled (appended, or with nothing to append).
    /// `events` yields the batch's events in order (each command takes its own), `base` is
    /// the head the batch was decided on, `head` the head after it, `earlier` the answers of
    /// the commands before this one.
    fn into_result(
        self,
        events: &mut impl Iterator<Item = Event>,
        base: u64,
        head: u64,
        earlier: &[Result<ExecuteResult, Error>],
    ) -> Result<ExecuteResult, Error> {
        match self {
            Outcome::Events { range, version } => Ok(ExecuteResult {
                events: events.take(range.len()).collect(),
                version,
                position: base + range.end as u64,
            }),
            Outcome::NoEvents { version } => Ok(ExecuteResult {
                events: Vec::new(),
                version,
                position: head,
            }),
            Outcome::Rejected(e) => Err(e),
            Outcome::SameAs(i) => earlier
                .get(i)
                .cloned()
                .unwrap_or_else(|| Err(Error::internal("a repeated commandId refers to no earlier command"))),
            Outcome::Done(r) => Ok(r),
        }
    }

    /// The batch was not appended. `None`: decide the command again. `Some(answer)`: settle
    /// it now — a repeat keeps its first result, and after a storage failure (`failure`) a
    /// command that had events fails with it (the others may have been answered because of
    /// events that will now never exist, so they are decided again).
    fn after_no_append(self, failure: Option<&StorageError>) -> Option<Result<ExecuteResult, Error>> {
        match (self, failure) {
            (Outcome::Done(r), _) => Some(Ok(r)),
            (Outcome::Events { .. } | Outcome::SameAs(_), Some(e)) => Some(Err(e.clone().into())),
            _ => None,
        }
    }
}

/// One command of a batch.
pub(super) struct Entry {
    pub(super) request: ExecuteRequest,
    pub(super) slot: Rc<Slot<ExecuteResult>>,
    pub(super) outcome: Outcome,
}

/// A stream's state while its batch is decided.
struct Overlay {
    sym: Option<StreamSym>,
    stream_type: String,
    aggregate: Rc<dyn Aggregate>,
    /// Committed version when the batch began.
    base_version: u64,
    version: u64,
    /// `None` after a failed `evolve` (rebuilt on next use).
    state: Option<AnyState>,
    /// Snapshots taken on the way (every `snapshotEvery` versions).
    snapshots: Vec<(u64, AnyState)>,
    /// The state is a copy, not the cache's own (a [`Tentative`] batch, never committed).
    detached: bool,
}

/// A decided batch, waiting for the storage.
pub(super) struct Batch {
    pub(super) stamped: Stamper,
    pub(super) entries: Vec<Entry>,
    overlays: HashMap<String, Overlay>,
    /// Its states are copies: it is never committed nor unwound ([`Tentative`]).
    detached: bool,
    /// Keys (subject, generation) its personal data needs that were not fetched yet: the
    /// batch is not appended but decided again once they are (see `pipeline.rs`).
    pub(super) missing_keys: Vec<(String, u32)>,
}

/// A caller's slot and its answer.
pub(super) type Fill = (Rc<Slot<ExecuteResult>>, Result<ExecuteResult, Error>);
pub(super) type Pending = PendingExecute;

impl Batch {
    /// The events to append.
    pub(super) fn events(&self) -> &[Event] {
        &self.stamped.events
    }

    /// The head the batch was decided on (the append's expected position).
    pub(super) fn expected_position(&self) -> u64 {
        self.stamped.base
    }

    /// Does any command's answer depend on the state it was decided against?
    pub(super) fn has_state_dependent_outcomes(&self) -> bool {
        self.entries.iter().any(|e| e.outcome.state_dependent())
    }

    /// Every command fails with `error` (the outcome of the batch is unknown).
    pub(super) fn fail_all(self, error: &Error) -> Vec<Fill> {
        self.entries.into_iter().map(|e| (e.slot, Err(error.clone()))).collect()
    }
}
