//! The optimistic overlay: the outbox's commands decided, in order, on the confirmed log plus
//! the commands before them — one [`Tentative`] batch of the engine, so a pending command is
//! decided, stamped and folded exactly as `execute` would. The optimistic view is "the
//! confirmed log plus this batch"; a rebase is a new overlay on the new confirmed head.
//!
//! A command the client can no longer decide (it would be refused now) stays in the outbox
//! with no optimistic events: the server decides.

use std::ops::Range;

use crate::engine::{Decision, Tentative};
use crate::error::Error;
use crate::event::Event;
use crate::storage::Storage;
use crate::{Engine, ExecuteRequest, ExecuteResult};

use super::client::Item;

/// What became of one outbox entry in the overlay.
#[derive(Debug, Clone)]
pub(super) enum Decided {
    /// Its optimistic events are `events()[range]`; its stream is then at `version`.
    Events { range: Range<usize>, version: u64 },
    /// It decided no events; its stream is at `version`.
    NoEvents { version: u64 },
    /// The client would refuse it now: no optimistic events, the server decides.
    Undecidable,
    /// The confirmed log holds its `commandId`.
    Confirmed,
}

/// What `execute` resolves to on a synced engine.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncResult {
    /// Pending events (no position, no hash), or the confirmed ones.
    pub events: Vec<Event>,
    pub version: u64,
    /// `None` while pending.
    pub position: Option<u64>,
    pub pending: bool,
    pub command_id: String,
}

impl SyncResult {
    /// A command the confirmed log holds.
    pub fn confirmed(r: ExecuteResult, command_id: String) -> Self {
        SyncResult {
            events: r.events,
            version: r.version,
            position: Some(r.position),
            pending: false,
            command_id,
        }
    }
}

/// The outbox's commands decided on the confirmed log.
pub(super) struct Overlay {
    tentative: Tentative,
}

impl Overlay {
    /// The items (those without an outcome) decided in order on the confirmed head; each
    /// item's `decided` says what became of it.
    pub(super) fn build<S: Storage>(engine: &Engine<S>, items: &mut [Item]) -> Result<Overlay, Error> {
        let mut overlay = Overlay {
            tentative: engine.tentative()?,
        };
        for item in items.iter_mut() {
            item.decided = match &item.entry.outcome {
                Some(_) => Decided::Undecidable,
                None => overlay
                    .decide(engine, &item.entry.request, item.entry.issued_at as f64)
                    .unwrap_or(Decided::Undecidable),
            };
        }
        Ok(overlay)
    }

    /// Decides one more command at the end (a refusal leaves the overlay as it was). The
    /// caller keeps `commandId`s unique.
    pub(super) fn decide<S: Storage>(
        &mut self,
        engine: &Engine<S>,
        request: &ExecuteRequest,
        timestamp_ms: f64,
    ) -> Result<Decided, Error> {
        let decided = match engine.decide_tentative(&mut self.tentative, request, timestamp_ms) {
            Decision::Events { range, version } => Decided::Events { range, version },
            Decision::NoEvents { version } => Decided::NoEvents { version },
            Decision::Committed(_) => Decided::Confirmed,
            Decision::Refused(e) => return Err(e),
        };
        Ok(decided)
    }

    /// Every optimistic event, in order.
    pub(super) fn events(&self) -> &[Event] {
        self.tentative.events()
    }

    /// The tentative batch (for optimistic reads).
    pub(super) fn tentative(&self) -> &Tentative {
        &self.tentative
    }

    /// The optimistic version of a stream, if the overlay decided commands for it.
    pub(super) fn stream_version(&self, stream_id: &str) -> Option<u64> {
        self.tentative.stream(stream_id).map(|s| s.version)
    }

    /// An item's answer while it is pending: its optimistic events (none when undecidable).
    pub(super) fn pending_result(&self, item: &Item) -> SyncResult {
        let entry = &item.entry;
        let (events, version) = match &item.decided {
            Decided::Events { range, version } => (
                self.events()
                    .get(range.clone())
                    .map(<[Event]>::to_vec)
                    .unwrap_or_default(),
                *version,
            ),
            Decided::NoEvents { version } => (Vec::new(), *version),
            _ => (Vec::new(), self.stream_version(&entry.request.stream_id).unwrap_or(0)),
        };
        SyncResult {
            events,
            version,
            position: None,
            pending: true,
            command_id: entry.command_id().to_owned(),
        }
    }
}
