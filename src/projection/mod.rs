//! Projections: read models folded from the whole log, kept current as events commit.
//!
//! A projection tracks its progress by global **position** (never by timestamp: two events
//! can share a millisecond). It keeps periodic snapshots of its state so that its state as of
//! any position costs at most one snapshot interval of folding, however long the log is.
//! A projection whose `evolve` fails stops at that event; reading it is a
//! [`ProjectionError`] until a replay succeeds.
//!
//! Here: the traits and [`Projections`] (all of an engine's); `slot.rs` is one projection's
//! progress; `query.rs` answers `query(name, where)`; `rows.rs` is the generic row table the
//! built-in projections are made of.

mod query;
pub mod rows;
mod slot;

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::decider::AnyState;
use crate::error::{Error, NotFoundError, ProjectionError, StateError, ValidationError};
use crate::event::{validate_name, Event};
use crate::filter::{CompiledFilter, EventFilter};
use crate::forms::Forms;
use crate::log::{EventView, Log, NameSym, StreamSym, Syms};
use crate::snapshot::Snapshot;

pub use query::{json_eq, query_json, record_matches};
use slot::Slot;

/// Default smallest number of log positions between two projection snapshots.
pub const DEFAULT_PROJECTION_SNAPSHOT_EVERY: u64 = 1024;

/// A typed projection written in Rust.
///
/// ```
/// use eventjournal::error::StateError;
/// use eventjournal::log::EventView;
/// use eventjournal::projection::Projection;
///
/// /// Counts the events of the whole log.
/// struct Count;
/// impl Projection for Count {
///     type State = u64;
///     fn initial_state(&self) -> u64 { 0 }
///     fn evolve(&self, n: &mut u64, _: &EventView<'_>) -> Result<(), StateError> { *n += 1; Ok(()) }
///     fn state_json(&self, n: &u64) -> Result<String, StateError> { Ok(n.to_string()) }
/// }
/// ```
pub trait Projection: 'static {
    type State: Clone + 'static;

    fn initial_state(&self) -> Self::State;

    /// Which events it reads (default: all).
    fn filter(&self) -> EventFilter {
        EventFilter::default()
    }

    /// Folds one event into the state.
    fn evolve(&self, state: &mut Self::State, event: &EventView<'_>) -> Result<(), StateError>;

    /// The state as JSON text.
    fn state_json(&self, state: &Self::State) -> Result<String, StateError>;

    /// A rough size of the state (records held); snapshots are spaced at least four times
    /// this many positions apart, which bounds their memory by the log's length.
    fn weight(&self, _state: &Self::State) -> usize {
        1
    }

    /// The records of a map-shaped state whose fields equal every field of `filter`, as a
    /// JSON array. The default works on `state_json`.
    fn query(&self, state: &Self::State, filter: &Map<String, Value>) -> Result<String, StateError> {
        query_json(&self.state_json(state)?, filter)
    }

    /// The key under which the storage keeps this projection's snapshot (include a version
    /// of the projection's code: a snapshot from other code must not be restored). `None`:
    /// never stored, rebuilt from the log at open.
    fn snapshot_key(&self) -> Option<String> {
        None
    }

    /// A state from the JSON text `state_json` wrote (for stored snapshots); `log` resolves
    /// stream ids to the log's symbols.
    fn state_from_json(&self, _json: &str, _log: &Log) -> Result<Self::State, StateError> {
        Err("this projection cannot restore snapshots".into())
    }
}

/// The object-safe form of a projection, as the engine holds it; the JavaScript binding
/// implements it for `engine.defineProjection(...)`.
pub trait AnyProjection {
    fn initial_state(&self) -> Result<AnyState, StateError>;
    fn filter(&self) -> EventFilter;
    fn evolve(&self, state: &mut AnyState, event: &EventView<'_>) -> Result<(), StateError>;
    fn clone_state(&self, state: &AnyState) -> Result<AnyState, StateError>;
    fn state_json(&self, state: &AnyState) -> Result<String, StateError>;
    fn weight(&self, state: &AnyState) -> usize;
    fn query(&self, state: &AnyState, filter: &Map<String, Value>) -> Result<String, StateError>;
    fn snapshot_key(&self) -> Option<String> {
        None
    }
    fn state_from_json(&self, _json: &str, _log: &Log) -> Result<AnyState, StateError> {
        Err("this projection cannot restore snapshots".into())
    }
}

const WRONG_STATE: &str = "internal: projection state of an unexpected type";

fn typed<P: Projection>(state: &AnyState) -> Result<&P::State, StateError> {
    state.downcast_ref::<P::State>().ok_or_else(|| WRONG_STATE.into())
}

impl<P: Projection> AnyProjection for P {
    fn initial_state(&self) -> Result<AnyState, StateError> {
        Ok(AnyState::new(Projection::initial_state(self)))
    }

    fn filter(&self) -> EventFilter {
        Projection::filter(self)
    }

    fn evolve(&self, state: &mut AnyState, event: &EventView<'_>) -> Result<(), StateError> {
        let s = state.downcast_mut::<P::State>().ok_or(WRONG_STATE)?;
        Projection::evolve(self, s, event)
    }

    fn clone_state(&self, state: &AnyState) -> Result<AnyState, StateError> {
        Ok(AnyState::new(typed::<P>(state)?.clone()))
    }

    fn state_json(&self, state: &AnyState) -> Result<String, StateError> {
        Projection::state_json(self, typed::<P>(state)?)
    }

    fn weight(&self, state: &AnyState) -> usize {
        typed::<P>(state).map_or(1, |s| Projection::weight(self, s))
    }

    fn query(&self, state: &AnyState, filter: &Map<String, Value>) -> Result<String, StateError> {
        Projection::query(self, typed::<P>(state)?, filter)
    }

    fn snapshot_key(&self) -> Option<String> {
        Projection::snapshot_key(self)
    }

    fn state_from_json(&self, json: &str, log: &Log) -> Result<AnyState, StateError> {
        Projection::state_from_json(self, json, log).map(AnyState::new)
    }
}

/// All projections of an engine.
pub struct Projections {
    slots: Vec<Slot>,
    by_name: HashMap<String, usize>,
    base_interval: u64,
    /// What events read as changed (an upcaster was defined): every projection is folded
    /// again from the log on its next use.
    stale: bool,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    /// Events of the log read (once, however many projections read them).
    pub events_replayed: u64,
    pub projections_rebuilt: u64,
}

impl Projections {
    pub fn new(base_interval: u64) -> Self {
        Projections {
            slots: Vec::new(),
            by_name: HashMap::new(),
            base_interval: base_interval.max(1),
            stale: false,
        }
    }

    /// Defines a projection (`version`: its definition's version, 1 by default) and builds
    /// it from the whole log. A name already defined may be defined again only with another
    /// version: the new definition replaces the old one, and is built from the log.
    pub fn define(
        &mut self,
        name: &str,
        projection: Rc<dyn AnyProjection>,
        version: u32,
        log: &Log,
        forms: &Forms,
    ) -> Result<(), Error> {
        validate_name("projection name", name)?;
        let existing = self.by_name.get(name).copied();
        if let Some(i) = existing {
            if self.slots[i].version == version {
                return Err(ValidationError::new(format!(
                    "projection '{name}' is already defined (version {version}; give another {{ version }} to replace it)"
                ))
                .into());
            }
        }
        self.ensure_built(log, forms);
        let slot = Slot::new(name, projection, version)?.folded(log, forms, log.head_position(), self.base_interval)?;
        match existing {
            Some(i) => self.slots[i] = slot,
            None => {
                self.by_name.insert(name.to_owned(), self.slots.len());
                self.slots.push(slot);
            }
        }
        Ok(())
    }

    /// Every projection is folded again from the log on its next use (events read
    /// differently now).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Folds every projection again if they are stale.
    fn ensure_built(&mut self, log: &Log, forms: &Forms) {
        if std::mem::take(&mut self.stale) {
            let _ = self.rebuild(0..self.slots.len(), log, forms);
        }
    }

    /// Applies newly committed events (in position order) to every projection.
    pub fn apply(&mut self, log: &Log, forms: &Forms, from: u64, to: u64) {
        if self.stale {
            // Folding everything again includes these events.
            return self.ensure_built(log, forms);
        }
        self.feed(log, forms, from, to, 0..self.slots.len());
    }

    /// One pass over positions `from..=to` feeds the slots `targets` (each skips what it has
    /// already read): each event is made into its read form once, for every slot. Their
    /// filters are compiled once for the pass.
    fn feed(&mut self, log: &Log, forms: &Forms, from: u64, to: u64, targets: Range<usize>) {
        if from > to || targets.is_empty() {
            return;
        }
        let slots = &mut self.slots[targets];
        // Lent out of the slots for the pass (a move, not a copy).
        let filters: Vec<EventFilter> = slots.iter_mut().map(|s| std::mem::take(&mut s.filter)).collect();
        let compiled: Vec<CompiledFilter<'_>> = filters.iter().map(|f| f.compile(log)).collect();
        for e in log.range(from, to) {
            // Made into its read form only when a slot reads it (or an upcaster may rename it).
            let wanted = forms.has_upcasters(&e)
                || slots
                    .iter()
                    .zip(&compiled)
                    .any(|(s, c)| s.failure.is_none() && e.position > s.position && c.matches(&e));
            let read = if wanted {
                forms.to_read_form(e)
            } else {
                Ok(crate::forms::ReadEvent::raw(e))
            };
            match read {
                Ok(read) => {
                    let view = read.view();
                    for (slot, c) in slots.iter_mut().zip(&compiled) {
                        slot.apply(&view, self.base_interval, c);
                    }
                }
                Err(error) => {
                    for (slot, c) in slots.iter_mut().zip(&compiled) {
                        slot.fail_on(&e, &error, c, forms);
                    }
                }
            }
        }
        drop(compiled);
        for (slot, filter) in slots.iter_mut().zip(filters) {
            slot.filter = filter;
        }
    }

    /// Rebuilds one projection (or all) from the whole log.
    pub fn replay(&mut self, name: Option<&str>, log: &Log, forms: &Forms) -> Result<ReplayReport, Error> {
        let targets = match name {
            Some(n) => self.index(n).map(|i| i..i + 1)?,
            None => 0..self.slots.len(),
        };
        self.ensure_built(log, forms);
        self.rebuild(targets.clone(), log, forms)?;
        if let Some(f) = self.slots[targets.clone()].iter().find_map(|s| s.failure.as_ref()) {
            return Err(f.clone().into());
        }
        Ok(ReplayReport {
            events_replayed: log.head_position(),
            projections_rebuilt: targets.len() as u64,
        })
    }

    /// Folds the slots `targets` again from the whole log (failures stay in the slots).
    fn rebuild(&mut self, targets: Range<usize>, log: &Log, forms: &Forms) -> Result<(), Error> {
        let fresh: Vec<Slot> = self.slots[targets.clone()]
            .iter()
            .map(Slot::fresh)
            .collect::<Result<_, Error>>()?;
        for (slot, fresh) in self.slots[targets.clone()].iter_mut().zip(fresh) {
            *slot = fresh;
        }
        self.feed(log, forms, 1, log.head_position(), targets);
        Ok(())
    }

    fn index(&self, name: &str) -> Result<usize, Error> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| NotFoundError::projection(name).into())
    }

    /// The state as JSON text, now or as of `position`.
    pub fn state_json(&mut self, name: &str, at: Option<u64>, log: &Log, forms: &Forms) -> Result<String, Error> {
        let index = self.index(name)?;
        self.ensure_built(log, forms);
        let base_interval = self.base_interval;
        let slot = &mut self.slots[index];
        if at.is_some_and(|p| p < slot.history_from) {
            slot.rebuild_history(log, forms, base_interval)?;
        }
        let slot = &self.slots[index];
        let position = at.unwrap_or(u64::MAX).min(log.head_position());
        let to_json = |s: &AnyState| {
            slot.projection
                .state_json(s)
                .map_err(|m| Error::from(ProjectionError::new(name, position, m.message)))
        };
        if let Some(f) = &slot.failure {
            if position >= f.position {
                return Err(f.clone().into());
            }
        } else if position >= slot.position {
            return to_json(&slot.state);
        }
        to_json(&slot.state_at(log, forms, position)?)
    }

    /// A copy of a projection's current state with `pending` events (decided, not in the log)
    /// folded in, and the projection: the sync client's optimistic view.
    pub fn with_pending(
        &self,
        name: &str,
        log: &Log,
        pending: &[Event],
    ) -> Result<(Rc<dyn AnyProjection>, AnyState), Error> {
        let slot = &self.slots[self.index(name)?];
        if let Some(f) = &slot.failure {
            return Err(f.clone().into());
        }
        let fail = |at: u64, m: StateError| Error::from(ProjectionError::new(name, at, m.message));
        let mut state = slot
            .projection
            .clone_state(&slot.state)
            .map_err(|m| fail(slot.position, m))?;
        // Streams the log does not have yet get symbols past the log's (this copy only).
        let mut fresh: Vec<Rc<str>> = Vec::new();
        let streams: Vec<(StreamSym, Rc<str>)> = pending
            .iter()
            .map(|e| {
                log.stream_rc(&e.stream_id).unwrap_or_else(|| {
                    let at = fresh.iter().position(|s| **s == *e.stream_id).unwrap_or_else(|| {
                        fresh.push(Rc::from(e.stream_id.as_str()));
                        fresh.len() - 1
                    });
                    (log.stream_count() as StreamSym + at as StreamSym, fresh[at].clone())
                })
            })
            .collect();
        for (e, (stream, stream_id)) in pending.iter().zip(&streams) {
            if !slot.filter.matches(&e.stream_id, &e.stream_type, &e.event_type) {
                continue;
            }
            let unknown = NameSym::MAX;
            let view = EventView::of(e).with_syms(Syms {
                stream: *stream,
                stream_id,
                stream_type: log.name_sym(&e.stream_type).unwrap_or(unknown),
                event_type: log.name_sym(&e.event_type).unwrap_or(unknown),
            });
            slot.projection
                .evolve(&mut state, &view)
                .map_err(|m| fail(e.position, m))?;
        }
        Ok((slot.projection.clone(), state))
    }

    /// Records of a map-shaped projection matching `filter`, as a JSON array.
    pub fn query(
        &mut self,
        name: &str,
        filter: &Map<String, Value>,
        log: &Log,
        forms: &Forms,
    ) -> Result<String, Error> {
        let index = self.index(name)?;
        self.ensure_built(log, forms);
        let slot = &self.slots[index];
        if let Some(f) = &slot.failure {
            return Err(f.clone().into());
        }
        slot.projection
            .query(&slot.state, filter)
            .map_err(|m| ValidationError::new(format!("query on '{name}': {m}")).into())
    }

    /// Keys of the projections whose snapshots the storage may keep.
    pub fn snapshot_keys(&self) -> Vec<(String, String)> {
        self.slots
            .iter()
            .filter_map(|s| s.projection.snapshot_key().map(|k| (s.name.clone(), k)))
            .collect()
    }

    /// What a stored snapshot of `slot` records it was built under: the projection's
    /// version, the upcasters of every type, the subjects forgotten. One built under others
    /// is never used.
    fn versions(slot: &Slot, forms: &Forms) -> String {
        format!(
            "projection={};upcasters={};erased={}",
            slot.version,
            forms.upcasters.fingerprint(),
            forms.ring.erased_digest()
        )
    }

    /// Builds every projection from the log, starting from a stored snapshot where one is
    /// given, matches the log (same hash at its position) and was built under the same
    /// versions; the others from the start.
    pub fn build_with_snapshots(&mut self, log: &Log, forms: &Forms, snapshots: &HashMap<String, Snapshot>) {
        self.stale = false;
        for slot in &mut self.slots {
            let Some(snap) = slot.projection.snapshot_key().and_then(|k| snapshots.get(&k)) else {
                continue;
            };
            let matches = snap.position <= log.head_position()
                && snap.versions == Self::versions(slot, forms)
                && log.get(snap.position).is_some_and(|e| e.hash_hex() == snap.hash);
            if !matches {
                continue;
            }
            if let Ok(state) = slot.projection.state_from_json(&snap.state, log) {
                slot.state = state;
                slot.position = snap.position;
                slot.history_from = snap.position;
                slot.persisted = snap.position;
            }
        }
        // Each slot skips the positions its snapshot covers.
        let lowest = self.slots.iter().map(|s| s.position).min().unwrap_or(0);
        self.feed(log, forms, lowest + 1, log.head_position(), 0..self.slots.len());
    }

    /// Snapshots to store: projections with a key that moved at least `every` positions
    /// since their last stored snapshot (any movement when `every` is 0). Marks them stored.
    pub fn snapshots_due(&mut self, log: &Log, forms: &Forms, every: u64) -> Vec<Snapshot> {
        self.ensure_built(log, forms);
        let mut out = Vec::new();
        for slot in &mut self.slots {
            let Some(key) = slot.projection.snapshot_key() else {
                continue;
            };
            if slot.failure.is_some() || slot.position == 0 || slot.position < slot.persisted + every.max(1) {
                continue;
            }
            let (Some(event), Ok(state)) = (log.get(slot.position), slot.projection.state_json(&slot.state)) else {
                continue;
            };
            out.push(Snapshot {
                key,
                position: slot.position,
                hash: event.hash_hex(),
                versions: Self::versions(slot, forms),
                state,
            });
            slot.persisted = slot.position;
        }
        out
    }

    /// A snapshot for every key a projection stores under, to overwrite what the storage
    /// holds (after a `forget`): the current state, or, for a projection that has none to
    /// store (stopped, or empty), a snapshot that matches no log (`position` 0).
    pub fn snapshots_to_overwrite(&mut self, log: &Log, forms: &Forms) -> Vec<Snapshot> {
        self.ensure_built(log, forms);
        let mut out = Vec::new();
        for slot in &mut self.slots {
            let Some(key) = slot.projection.snapshot_key() else {
                continue;
            };
            let current = match (&slot.failure, log.get(slot.position)) {
                (None, Some(event)) if slot.position > 0 => slot
                    .projection
                    .state_json(&slot.state)
                    .ok()
                    .map(|state| (event.hash_hex(), state)),
                _ => None,
            };
            out.push(match current {
                Some((hash, state)) => {
                    slot.persisted = slot.position;
                    Snapshot {
                        key,
                        position: slot.position,
                        hash,
                        versions: Self::versions(slot, forms),
                        state,
                    }
                }
                None => Snapshot::tombstone(key),
            });
        }
        out
    }

    /// Names of all projections, in definition order.
    pub fn names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    /// Position each projection has reached.
    pub fn position_of(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).map(|&i| self.slots[i].position)
    }

    /// Number of snapshots a projection holds (for tests and stats).
    pub fn snapshot_count(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).map(|&i| self.slots[i].snapshots.len())
    }
}
