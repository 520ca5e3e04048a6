//! [`Core`]: everything behind the engine's borrow — the log, the aggregate types and their
//! state caches, the projections, the index of committed command ids, the id generator and
//! the clock — and how events another writer appended are committed.

use std::collections::HashMap;
use std::rc::Rc;

use crate::clock::Clock;
use crate::decider::Registry;
use crate::error::Error;
use crate::event::{command_id_of, Event};
use crate::forms::Forms;
use crate::id::IdGenerator;
use crate::integrity::Checked;
use crate::log::{Log, StreamSym};
use crate::projection::Projections;
use crate::snapshot::AggregateCache;

use super::ExecuteResult;

/// Positions of a committed command's events.
#[derive(Debug, Clone, Copy)]
pub(super) struct CommandRecord {
    pub(super) first: u64,
    pub(super) last: u64,
}

/// Everything behind the engine's borrow.
pub(crate) struct Core {
    pub(super) log: Log,
    pub(super) registry: Registry,
    /// Per stream: the current state and one every `snapshot_every` versions.
    pub(super) caches: HashMap<StreamSym, AggregateCache>,
    pub(super) projections: Projections,
    /// Upcasters, personal data and keys: how stored events read (`crate::forms`).
    pub(super) forms: Forms,
    /// Committed command ids and where their events are.
    pub(super) commands: HashMap<String, CommandRecord>,
    pub(super) ids: IdGenerator,
    pub(super) clock: Rc<dyn Clock>,
    pub(super) snapshot_every: u64,
    /// While opening, projections wait until stored snapshots are known.
    pub(super) defer_projections: bool,
}

impl Core {
    /// Checks and commits events another writer (or a previous session) appended; returns
    /// how many were applied. The first bad record stops it with an `IntegrityError`.
    pub(super) fn apply_external(&mut self, events: Vec<Event>) -> Result<u64, Error> {
        self.apply_with(events.into_iter().map(|e| (e, None)))
    }

    /// Commits events already checked against the log ([`crate::integrity::check_next`],
    /// each with what the check found); returns how many were applied.
    pub(super) fn apply_checked(&mut self, events: Vec<(Event, Checked)>) -> Result<u64, Error> {
        self.apply_with(events.into_iter().map(|(e, c)| (e, Some(c))))
    }

    /// Appends each event to the log (checking the unchecked ones), keeping the caches, the
    /// command index and the projections current.
    fn apply_with(&mut self, events: impl Iterator<Item = (Event, Option<Checked>)>) -> Result<u64, Error> {
        let first = self.log.head_position() + 1;
        let mut result = Ok(());
        for (e, checked) in events {
            let command_id = command_id_of(&e.metadata);
            match checked {
                Some(c) => self.log.append_raw(&e, c.id, c.hash.0),
                None => {
                    if let Err(err) = self.log.append_stored(e) {
                        result = Err(err);
                        break;
                    }
                }
            }
            let position = self.log.head_position();
            self.forms.note_committed(&self.log, position, position);
            self.fold_into_cache(position);
            if let Some(cid) = command_id {
                self.record_command(cid, position);
            }
        }
        let head = self.log.head_position();
        if !self.defer_projections {
            self.projections.apply(&self.log, &self.forms, first, head);
        }
        result.map(|()| head + 1 - first).map_err(Error::from)
    }

    /// Keeps a cached aggregate state current with the event just committed at `position`
    /// (an event that cannot be read drops the state: the error is reported on next use).
    fn fold_into_cache(&mut self, position: u64) {
        let Some(view) = self.log.get(position) else { return };
        let Some(sym) = view.syms().map(|s| s.stream) else {
            return;
        };
        let Some(agg) = self.registry.get(view.stream_type) else {
            return;
        };
        if !self.caches.contains_key(&sym) {
            return;
        }
        match self.forms.to_read_form(view) {
            Ok(read) => {
                if let Some(cache) = self.caches.get_mut(&sym) {
                    cache.apply_external(agg.as_ref(), &read.view(), self.snapshot_every);
                }
            }
            Err(_) => {
                self.caches.remove(&sym);
            }
        }
    }

    /// Notes that the event at `position` belongs to command `cid` (a command's events are
    /// consecutive).
    fn record_command(&mut self, cid: String, position: u64) {
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

    /// The result of a committed command, for a repeated `commandId`.
    pub(super) fn result_of(&self, record: &CommandRecord) -> ExecuteResult {
        let events: Vec<Event> = self
            .log
            .range(record.first, record.last)
            .map(|e| e.to_event())
            .collect();
        ExecuteResult {
            version: events.last().map_or(0, |e| e.version),
            position: record.last,
            events,
        }
    }
}
