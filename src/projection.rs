//! Projections: read models folded from the whole log, kept current as events commit.
//!
//! A projection tracks its progress by global **position** (never by timestamp: two events
//! can share a millisecond). It keeps periodic snapshots of its state so that its state as of
//! any position costs at most one snapshot interval of folding, however long the log is.
//! A projection whose `evolve` fails stops at that event; reading it is a
//! [`ProjectionError`] until a replay succeeds.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::decider::AnyState;
use crate::error::{Error, NotFoundError, ProjectionError, ValidationError};
use crate::event::{validate_name, EventFilter};
use crate::log::{EventView, Log, NameSym};
use crate::snapshot::{Snapshot, SnapshotSeries};

/// Default smallest number of log positions between two projection snapshots.
pub const DEFAULT_PROJECTION_SNAPSHOT_EVERY: u64 = 1024;

/// A typed projection written in Rust.
pub trait Projection: 'static {
    type State: Clone + 'static;

    fn initial_state(&self) -> Self::State;

    /// Which events it reads (default: all).
    fn filter(&self) -> EventFilter {
        EventFilter::default()
    }

    /// Folds one event into the state.
    fn evolve(&self, state: &mut Self::State, event: &EventView<'_>) -> Result<(), String>;

    /// The state as JSON text.
    fn state_json(&self, state: &Self::State) -> Result<String, String>;

    /// A rough size of the state (records held); snapshots are spaced at least four times
    /// this many positions apart, which bounds their memory by the log's length.
    fn weight(&self, _state: &Self::State) -> usize {
        1
    }

    /// The records of a map-shaped state whose fields equal every field of `filter`, as a
    /// JSON array. The default works on `state_json`.
    fn query(&self, state: &Self::State, filter: &Map<String, Value>) -> Result<String, String> {
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
    fn state_from_json(&self, _json: &str, _log: &Log) -> Result<Self::State, String> {
        Err("this projection cannot restore snapshots".to_owned())
    }
}

/// The object-safe form of a projection, as the engine holds it; the JavaScript binding
/// implements it for `engine.defineProjection(...)`.
pub trait AnyProjection {
    fn initial_state(&self) -> Result<AnyState, String>;
    fn filter(&self) -> EventFilter;
    fn evolve(&self, state: &mut AnyState, event: &EventView<'_>) -> Result<(), String>;
    fn clone_state(&self, state: &AnyState) -> Result<AnyState, String>;
    fn state_json(&self, state: &AnyState) -> Result<String, String>;
    fn weight(&self, state: &AnyState) -> usize;
    fn query(&self, state: &AnyState, filter: &Map<String, Value>) -> Result<String, String>;
    fn snapshot_key(&self) -> Option<String> {
        None
    }
    fn state_from_json(&self, _json: &str, _log: &Log) -> Result<AnyState, String> {
        Err("this projection cannot restore snapshots".to_owned())
    }
}

const WRONG_STATE: &str = "internal: projection state of an unexpected type";

impl<P: Projection> AnyProjection for P {
    fn initial_state(&self) -> Result<AnyState, String> {
        Ok(AnyState::new(Projection::initial_state(self)))
    }

    fn filter(&self) -> EventFilter {
        Projection::filter(self)
    }

    fn evolve(&self, state: &mut AnyState, event: &EventView<'_>) -> Result<(), String> {
        let s = state.downcast_mut::<P::State>().ok_or(WRONG_STATE)?;
        Projection::evolve(self, s, event)
    }

    fn clone_state(&self, state: &AnyState) -> Result<AnyState, String> {
        let s = state.downcast_ref::<P::State>().ok_or(WRONG_STATE)?;
        Ok(AnyState::new(s.clone()))
    }

    fn state_json(&self, state: &AnyState) -> Result<String, String> {
        let s = state.downcast_ref::<P::State>().ok_or(WRONG_STATE)?;
        Projection::state_json(self, s)
    }

    fn weight(&self, state: &AnyState) -> usize {
        state
            .downcast_ref::<P::State>()
            .map_or(1, |s| Projection::weight(self, s))
    }

    fn query(&self, state: &AnyState, filter: &Map<String, Value>) -> Result<String, String> {
        let s = state.downcast_ref::<P::State>().ok_or(WRONG_STATE)?;
        Projection::query(self, s, filter)
    }

    fn snapshot_key(&self) -> Option<String> {
        Projection::snapshot_key(self)
    }

    fn state_from_json(&self, json: &str, log: &Log) -> Result<AnyState, String> {
        Projection::state_from_json(self, json, log).map(AnyState::new)
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Does `record` have every field of `filter` with an equal value?
pub fn record_matches(record: &Value, filter: &Map<String, Value>) -> bool {
    match record {
        Value::Object(fields) => filter
            .iter()
            .all(|(k, want)| fields.get(k).is_some_and(|got| json_eq(got, want))),
        _ => false,
    }
}

/// Runs a query over a map-shaped state given as JSON text.
pub fn query_json(state_json: &str, filter: &Map<String, Value>) -> Result<String, String> {
    let state: Value = serde_json::from_str(state_json).map_err(|e| e.to_string())?;
    let Value::Object(records) = state else {
        return Err("query needs a projection whose state is a map (object) of records".to_owned());
    };
    let hits: Vec<&Value> = records.values().filter(|r| record_matches(r, filter)).collect();
    serde_json::to_string(&hits).map_err(|e| e.to_string())
}

/// A filter resolved against the log's interned names (so matching compares integers).
struct Compiled {
    /// `None`: every type. `Some(list)`: these types only (an unknown name matches nothing).
    types: Option<Vec<NameSym>>,
    /// `None`: every stream type. `Some(None)`: a stream type the log has never seen.
    stream_type: Option<Option<NameSym>>,
}

impl Compiled {
    fn new(filter: &EventFilter, log: &Log) -> Self {
        Compiled {
            types: (!filter.types.is_empty()).then(|| filter.types.iter().filter_map(|t| log.name_sym(t)).collect()),
            stream_type: filter.stream_type.as_deref().map(|t| log.name_sym(t)),
        }
    }

    fn matches(&self, filter: &EventFilter, e: &EventView<'_>) -> bool {
        let Some(syms) = e.syms() else {
            return filter.matches(e.stream_id, e.stream_type, e.event_type);
        };
        self.types.as_ref().is_none_or(|ts| ts.contains(&syms.event_type))
            && self.stream_type.is_none_or(|st| st == Some(syms.stream_type))
            && filter.stream_id.as_deref().is_none_or(|id| id == e.stream_id)
    }
}

struct Slot {
    name: String,
    projection: Rc<dyn AnyProjection>,
    filter: EventFilter,
    state: AnyState,
    /// Last position applied (or skipped by the filter).
    position: u64,
    failure: Option<ProjectionError>,
    snapshots: SnapshotSeries<AnyState>,
    since_snapshot: u64,
    dirty: bool,
    /// The state was restored from a stored snapshot at this position: the in-memory
    /// snapshots only cover positions from here on (history is rebuilt on first need).
    history_from: u64,
    /// Position of the last snapshot written to the storage.
    persisted: u64,
}

impl Slot {
    fn new(name: &str, projection: Rc<dyn AnyProjection>) -> Result<Slot, Error> {
        let state = projection
            .initial_state()
            .map_err(|m| ProjectionError::new(name, 0, format!("initialState failed: {m}")))?;
        Ok(Slot {
            name: name.to_owned(),
            filter: projection.filter(),
            projection,
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

    fn apply(&mut self, e: &EventView<'_>, base_interval: u64, compiled: &Compiled) {
        if self.failure.is_some() || e.position <= self.position {
            return;
        }
        if compiled.matches(&self.filter, e) {
            if let Err(cause) = self.projection.evolve(&mut self.state, e) {
                self.failure = Some(ProjectionError::new(&self.name, e.position, cause));
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

    fn rebuild(&mut self, log: &Log, base_interval: u64) -> Result<(), Error> {
        let fresh = Slot::new(&self.name, self.projection.clone())?;
        *self = fresh;
        let compiled = Compiled::new(&self.filter, log);
        for e in log.range(1, log.head_position()) {
            self.apply(&e, base_interval, &compiled);
            if self.failure.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Rebuilds the in-memory snapshots before the restored point (once).
    fn rebuild_history(&mut self, log: &Log, base_interval: u64) -> Result<(), Error> {
        if self.history_from == 0 {
            return Ok(());
        }
        let mut probe = Slot::new(&self.name, self.projection.clone())?;
        let compiled = Compiled::new(&probe.filter, log);
        for e in log.range(1, self.history_from) {
            probe.apply(&e, base_interval, &compiled);
            if let Some(f) = probe.failure {
                return Err(f.into());
            }
        }
        let mut merged = probe.snapshots;
        merged.append(std::mem::take(&mut self.snapshots));
        self.snapshots = merged;
        self.history_from = 0;
        Ok(())
    }

    /// The state after `position`, computed from the nearest snapshot.
    fn state_at(&self, log: &Log, position: u64) -> Result<AnyState, Error> {
        let fail = |m: String| Error::from(ProjectionError::new(&self.name, position, m));
        let (start, mut state) = match self.snapshots.at_or_before(position) {
            Some((p, s)) => (*p, self.projection.clone_state(s).map_err(fail)?),
            None => (0, self.projection.initial_state().map_err(fail)?),
        };
        let compiled = Compiled::new(&self.filter, log);
        for e in log.range(start + 1, position) {
            if compiled.matches(&self.filter, &e) {
                self.projection
                    .evolve(&mut state, &e)
                    .map_err(|m| Error::from(ProjectionError::new(&self.name, e.position, m)))?;
            }
        }
        Ok(state)
    }
}

/// All projections of an engine.
pub struct Projections {
    slots: Vec<Slot>,
    by_name: HashMap<String, usize>,
    base_interval: u64,
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
        }
    }

    /// Defines a projection and builds it from the whole log.
    pub fn define(&mut self, name: &str, projection: Rc<dyn AnyProjection>, log: &Log) -> Result<(), Error> {
        validate_name("projection name", name)?;
        if self.by_name.contains_key(name) {
            return Err(ValidationError::new(format!("projection '{name}' is already defined")).into());
        }
        let mut slot = Slot::new(name, projection)?;
        slot.rebuild(log, self.base_interval)?;
        self.by_name.insert(name.to_owned(), self.slots.len());
        self.slots.push(slot);
        Ok(())
    }

    /// Applies newly committed events (in position order) to every projection.
    pub fn apply(&mut self, log: &Log, from: u64, to: u64) {
        if from > to {
            return;
        }
        let compiled: Vec<Compiled> = self.slots.iter().map(|s| Compiled::new(&s.filter, log)).collect();
        for e in log.range(from, to) {
            for (slot, c) in self.slots.iter_mut().zip(&compiled) {
                slot.apply(&e, self.base_interval, c);
            }
        }
    }

    /// Rebuilds one projection (or all) from the whole log.
    pub fn replay(&mut self, name: Option<&str>, log: &Log) -> Result<ReplayReport, Error> {
        let targets: Vec<usize> = match name {
            Some(n) => vec![self.index(n)?],
            None => (0..self.slots.len()).collect(),
        };
        let fresh: Result<Vec<Slot>, Error> = targets
            .iter()
            .map(|&i| Slot::new(&self.slots[i].name, self.slots[i].projection.clone()))
            .collect();
        for (&i, slot) in targets.iter().zip(fresh?) {
            self.slots[i] = slot;
        }
        // One pass over the log feeds every projection being rebuilt.
        let compiled: Vec<Compiled> = targets
            .iter()
            .map(|&i| Compiled::new(&self.slots[i].filter, log))
            .collect();
        for e in log.range(1, log.head_position()) {
            for (&i, c) in targets.iter().zip(&compiled) {
                self.slots[i].apply(&e, self.base_interval, c);
            }
        }
        for &i in &targets {
            if let Some(f) = &self.slots[i].failure {
                return Err(f.clone().into());
            }
        }
        Ok(ReplayReport {
            events_replayed: log.head_position(),
            projections_rebuilt: targets.len() as u64,
        })
    }

    fn index(&self, name: &str) -> Result<usize, Error> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| NotFoundError::projection(name).into())
    }

    /// The state as JSON text, now or as of `position`.
    pub fn state_json(&mut self, name: &str, at: Option<u64>, log: &Log) -> Result<String, Error> {
        let index = self.index(name)?;
        let base_interval = self.base_interval;
        let slot = &mut self.slots[index];
        if at.is_some_and(|p| p < slot.history_from) {
            slot.rebuild_history(log, base_interval)?;
        }
        let slot = &self.slots[index];
        let position = at.unwrap_or(u64::MAX).min(log.head_position());
        let to_json = |p: &dyn AnyProjection, s: &AnyState| {
            p.state_json(s)
                .map_err(|m| Error::from(ProjectionError::new(name, position, m)))
        };
        if let Some(f) = &slot.failure {
            if position >= f.position {
                return Err(f.clone().into());
            }
        } else if position >= slot.position {
            return to_json(slot.projection.as_ref(), &slot.state);
        }
        let state = slot.state_at(log, position)?;
        to_json(slot.projection.as_ref(), &state)
    }

    /// Records of a map-shaped projection matching `filter`, as a JSON array.
    pub fn query(&self, name: &str, filter: &Map<String, Value>) -> Result<String, Error> {
        let slot = &self.slots[self.index(name)?];
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

    /// Builds every projection from the log, starting from a stored snapshot where one is
    /// given and matches the log (same hash at its position); the others from the start.
    pub fn build_with_snapshots(&mut self, log: &Log, snapshots: &HashMap<String, Snapshot>) -> Result<(), Error> {
        let base_interval = self.base_interval;
        let mut from = Vec::with_capacity(self.slots.len());
        for slot in &mut self.slots {
            let mut start = 0;
            if let Some(snap) = slot.projection.snapshot_key().and_then(|k| snapshots.get(&k)) {
                let matches = snap.position <= log.head_position()
                    && log.get(snap.position).is_some_and(|e| e.hash_hex() == snap.hash);
                if matches {
                    if let Ok(state) = slot.projection.state_from_json(&snap.state, log) {
                        slot.state = state;
                        slot.position = snap.position;
                        slot.history_from = snap.position;
                        slot.persisted = snap.position;
                        start = snap.position;
                    }
                }
            }
            from.push(start);
        }
        let lowest = from.iter().copied().min().unwrap_or(0);
        let compiled: Vec<Compiled> = self.slots.iter().map(|s| Compiled::new(&s.filter, log)).collect();
        for e in log.range(lowest + 1, log.head_position()) {
            for ((slot, start), c) in self.slots.iter_mut().zip(&from).zip(&compiled) {
                if e.position > *start {
                    slot.apply(&e, base_interval, c);
                }
            }
        }
        Ok(())
    }

    /// Snapshots to store: projections with a key that moved at least `every` positions
    /// since their last stored snapshot (any movement when `every` is 0). Marks them stored.
    pub fn snapshots_due(&mut self, log: &Log, every: u64) -> Vec<Snapshot> {
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
                state,
            });
            slot.persisted = slot.position;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_matches_every_field_by_value() {
        let state = json!({
            "o1": {"customerId": "c1", "status": "placed", "totalAmount": 100},
            "o2": {"customerId": "c2", "status": "placed", "totalAmount": 100.0},
            "o3": {"customerId": "c1", "status": "shipped"},
        })
        .to_string();
        let filter = |v: Value| v.as_object().unwrap().clone();
        let hits: Vec<Value> =
            serde_json::from_str(&query_json(&state, &filter(json!({"customerId": "c1"}))).unwrap()).unwrap();
        assert_eq!(hits.len(), 2);
        let hits: Vec<Value> =
            serde_json::from_str(&query_json(&state, &filter(json!({"totalAmount": 100}))).unwrap()).unwrap();
        assert_eq!(hits.len(), 2);
        let hits: Vec<Value> = serde_json::from_str(&query_json(&state, &filter(json!({}))).unwrap()).unwrap();
        assert_eq!(hits.len(), 3);
        assert!(query_json("[1,2]", &filter(json!({}))).is_err());
    }
}
