//! One projection inside the engine: its state, how far it has read (by position), its
//! in-memory snapshots for time travel, and its failure, if any.

use std::rc::Rc;

use super::AnyProjection;
use crate::decider::AnyState;
use crate::error::{Error, ProjectionError};
use crate::filter::{CompiledFilter, EventFilter};
use crate::forms::{FormError, Forms};
use crate::log::{EventView, Log};
use crate::snapshot::SnapshotSeries;

pub(super) struct Slot {
    pub(super) name: String,
    pub(super) projection: Rc<dyn AnyProjection>,
    /// The definition's version (`defineProjection(name, definition, { version })`).
    pub(super) version: u32,
    pub(super) filter: EventFilter,
    pub(super) state: AnyState,
    /// Last position applied (or skipped by the filter).
    pub(super) position: u64,
    pub(super) failure: Option<ProjectionError>,
    pub(super) snapshots: SnapshotSeries<AnyState>,
    since_snapshot: u64,
    dirty: bool,
    /// The state was restored from a stored snapshot at this position: the in-memory
    /// snapshots only cover positions from here on (history is rebuilt on first need).
    pub(super) history_from: u64,
    /// Position of the last snapshot written to the storage.
    pub(super) persisted: u64,
}

impl Slot {
    pub(super) fn new(name: &str, projection: Rc<dyn AnyProjection>, version: u32) -> Result<Slot, Error> {
        let state = projection
            .initial_state()
            .map_err(|m| ProjectionError::new(name, 0, format!("initialState failed: {m}")))?;
        Ok(Slot {
            name: name.to_owned(),
            filter: projection.filter(),
            projection,
            version,
            state,
            position: 0,
            failure: None,
            snapshots: SnapshotSeries::default(),
            since_snapshot: 0,
            dirty: false,
            history_from: 0,
            persisted: 0,
        })
    }

    /// A fresh slot for the same projection (its state back to the initial one).
    pub(super) fn fresh(&self) -> Result<Slot, Error> {
        Slot::new(&self.name, self.projection.clone(), self.version)
    }

    /// Folds one committed event (the next position), then snapshots when due: at least
    /// `base_interval` positions apart, and four times the state's weight.
    pub(super) fn apply(&mut self, e: &EventView<'_>, base_interval: u64, filter: &CompiledFilter<'_>) {
        if self.failure.is_some() || e.position <= self.position {
            return;
        }
        if filter.matches(e) {
            if let Err(cause) = self.projection.evolve(&mut self.state, e) {
                self.failure = Some(ProjectionError::new(&self.name, e.position, cause.message));
                return;
            }
            self.dirty = true;
        }
        self.position = e.position;
        self.since_snapshot += 1;
        if self.dirty {
            let interval = base_interval.max(4 * self.projection.weight(&self.state) as u64);
            if self.since_snapshot >= interval {
                if let Ok(copy) = self.projection.clone_state(&self.state) {
                    self.snapshots.push(e.position, copy);
                }
                self.since_snapshot = 0;
                self.dirty = false;
            }
        }
    }

    /// An event whose read form could not be made (`error`): the projection stops there if
    /// it may read it (its filter, by stream and stream type, takes the event, and by type
    /// takes the stored type or one an upcaster may rename), else skips it.
    pub(super) fn fail_on(&mut self, e: &EventView<'_>, error: &FormError, filter: &CompiledFilter<'_>, forms: &Forms) {
        if self.failure.is_some() || e.position <= self.position {
            return;
        }
        if self.may_read(e, filter, forms) {
            self.failure = Some(error.for_projection(&self.name, e.position));
        } else {
            self.position = e.position;
        }
    }

    /// Might this projection read the stored event `e` once in read form?
    fn may_read(&self, e: &EventView<'_>, filter: &CompiledFilter<'_>, forms: &Forms) -> bool {
        let by_stream = EventFilter {
            types: Vec::new(),
            ..self.filter.clone()
        };
        filter.matches(e)
            || (by_stream.matches(e.stream_id, e.stream_type, e.event_type) && forms.upcasters.has(e.event_type))
    }

    /// Folds the log's positions `1..=to` into a fresh copy of this projection; stops at the
    /// first failure.
    pub(super) fn folded(&self, log: &Log, forms: &Forms, to: u64, base_interval: u64) -> Result<Slot, Error> {
        let mut slot = self.fresh()?;
        let filter = slot.filter.clone();
        let compiled = filter.compile(log);
        for e in log.range(1, to) {
            match forms.to_read_form(e) {
                Ok(r) => slot.apply(&r.view(), base_interval, &compiled),
                Err(err) => slot.fail_on(&e, &err, &compiled, forms),
            }
            if slot.failure.is_some() {
                break;
            }
        }
        Ok(slot)
    }

    /// Rebuilds the in-memory snapshots before the restored point (once).
    pub(super) fn rebuild_history(&mut self, log: &Log, forms: &Forms, base_interval: u64) -> Result<(), Error> {
        if self.history_from == 0 {
            return Ok(());
        }
        let probe = self.folded(log, forms, self.history_from, base_interval)?;
        if let Some(f) = probe.failure {
            return Err(f.into());
        }
        let mut merged = probe.snapshots;
        merged.append(std::mem::take(&mut self.snapshots));
        self.snapshots = merged;
        self.history_from = 0;
        Ok(())
    }

    /// The state after `position`, computed from the nearest snapshot.
    pub(super) fn state_at(&self, log: &Log, forms: &Forms, position: u64) -> Result<AnyState, Error> {
        let fail = |at: u64, m: crate::error::StateError| Error::from(ProjectionError::new(&self.name, at, m.message));
        let (start, mut state) = match self.snapshots.at_or_before(position) {
            Some((p, s)) => (*p, self.projection.clone_state(s).map_err(|m| fail(position, m))?),
            None => (0, self.projection.initial_state().map_err(|m| fail(position, m))?),
        };
        let compiled = self.filter.compile(log);
        for stored in log.range(start + 1, position) {
            let read = match forms.to_read_form(stored) {
                Ok(read) => read,
                Err(_) if !self.may_read(&stored, &compiled, forms) => continue,
                Err(err) => return Err(err.for_projection(&self.name, stored.position).into()),
            };
            let e = read.view();
            if compiled.matches(&e) {
                self.projection
                    .evolve(&mut state, &e)
                    .map_err(|m| fail(e.position, m))?;
            }
        }
        Ok(state)
    }
}
