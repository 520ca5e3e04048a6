//! Deciding a batch of commands (group commit) and settling it once the storage answers.
//!
//! Every command of a batch is decided, in arrival order, against the committed state plus
//! the events of the commands before it in the same batch. Its events are stamped (id,
//! version, position, timestamp, hash) but nothing is committed: the log, the aggregate
//! caches and the projections change only in [`Core::commit_batch`], after the host has
//! persisted the whole batch.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::canonical::CanonicalJson;
use crate::clock::next_timestamp;
use crate::decider::{Aggregate, AnyState};
use crate::error::{ConcurrencyError, Error, NotFoundError, StorageError, ValidationError};
use crate::event::{validate_name, Event, EventData, EventFields, NewEvent, MAX_EVENT_BYTES};
use crate::integrity::{event_hash, format_event_id, Hash};
use crate::log::{EventView, StreamSym};

use super::queue::Slot;
use super::{CommandRecord, Core, ExecuteRequest, ExecuteResult};

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
    snapshots: Vec<(u64, AnyState)>,
}

pub(super) struct Batch {
    pub(super) expected_position: u64,
    pub(super) events: Vec<Event>,
    /// Each event's id and hash as bytes (what the log keeps).
    raw: Vec<([u8; 16], [u8; 32])>,
    pub(super) entries: Vec<Entry>,
    overlays: HashMap<String, Overlay>,
    prev_hash: Hash,
    timestamp: i64,
    scratch: String,
}

pub(super) type Fill = (Rc<Slot<ExecuteResult>>, Result<ExecuteResult, Error>);
pub(super) type Pending = super::queue::PendingExecute;

impl Core {
    /// Decides and stamps every command (nothing is committed).
    pub(super) fn decide_batch(&mut self, jobs: Vec<Pending>) -> Batch {
        let last = self.log.last_timestamp();
        let mut batch = Batch {
            expected_position: self.log.head_position(),
            events: Vec::with_capacity(jobs.len()),
            raw: Vec::with_capacity(jobs.len()),
            entries: Vec::with_capacity(jobs.len()),
            overlays: HashMap::new(),
            prev_hash: self.log.head_hash(),
            // One clock reading per batch: the clock may be a JavaScript function.
            timestamp: next_timestamp(self.clock.now_ms(), last),
            scratch: String::new(),
        };
        let mut in_batch: HashMap<String, usize> = HashMap::new();
        for (request, slot) in jobs {
            let outcome = self.decide_one(&mut batch, &request, &in_batch);
            if let (Outcome::Events { .. }, Some(cid)) = (&outcome, &request.command_id) {
                in_batch.insert(cid.clone(), batch.entries.len());
            }
            batch.entries.push(Entry { request, slot, outcome });
        }
        batch
    }

    fn decide_one(&mut self, batch: &mut Batch, req: &ExecuteRequest, in_batch: &HashMap<String, usize>) -> Outcome {
        if let Some(cid) = &req.command_id {
            if let Some(record) = self.commands.get(cid) {
                return Outcome::Done(self.result_of(record));
            }
            if let Some(&i) = in_batch.get(cid) {
                return Outcome::SameAs(i);
            }
        }
        match self.decide_events(batch, req) {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Rejected(e),
        }
    }

    fn decide_events(&mut self, batch: &mut Batch, req: &ExecuteRequest) -> Result<Outcome, Error> {
        let aggregate = self
            .registry
            .get(&req.stream_type)
            .ok_or_else(|| NotFoundError::stream_type(&req.stream_type))?;
        self.ensure_overlay(batch, req, &aggregate)?;
        let every = self.snapshot_every;
        let overlay = batch
            .overlays
            .get_mut(&req.stream_id)
            .ok_or_else(|| Error::validation("internal: missing overlay"))?;
        if !req.expected_version.matches(overlay.version) {
            return Err(ConcurrencyError {
                message: format!(
                    "stream '{}' is at version {}, expected {}",
                    req.stream_id,
                    overlay.version,
                    req.expected_version.describe()
                ),
                stream_id: req.stream_id.clone(),
                expected: Some(req.expected_version.describe()),
                actual: overlay.version,
            }
            .into());
        }
        let state = overlay
            .state
            .as_ref()
            .ok_or_else(|| Error::domain("internal: aggregate state unavailable"))?;
        let decided = aggregate.decide(state, &req.command)?;
        if decided.is_empty() {
            return Ok(Outcome::NoEvents {
                version: overlay.version,
            });
        }
        let prepared = prepare_events(decided, req)?;

        // Stamp and fold; roll everything of this command back if an evolve fails.
        let start = batch.events.len();
        let saved_hash = batch.prev_hash;
        let saved_snapshots = overlay.snapshots.len();
        let mut state = overlay
            .state
            .take()
            .ok_or_else(|| Error::domain("internal: state taken"))?;
        let mut version = overlay.version;
        for (event_type, data, metadata) in prepared {
            version += 1;
            let position = batch.expected_position + batch.events.len() as u64 + 1;
            let id_bytes = self.ids.next_id(batch.timestamp);
            let id = format_event_id(&id_bytes);
            let fields = EventFields {
                id: &id,
                stream_id: &req.stream_id,
                stream_type: &req.stream_type,
                event_type: &event_type,
                data: data.as_str(),
                metadata: metadata.as_str(),
                timestamp: batch.timestamp,
                version,
                position,
            };
            let hash = event_hash(&batch.prev_hash, &fields, &mut batch.scratch);
            let event = Event {
                id,
                stream_id: req.stream_id.clone(),
                stream_type: req.stream_type.clone(),
                event_type,
                data,
                metadata,
                timestamp: batch.timestamp,
                version,
                position,
                hash: hash.to_hex(),
            };
            let evolved = aggregate.evolve(state, &EventView::of(&event)).and_then(|s| {
                if every > 0 && version % every == 0 {
                    let copy = aggregate.clone_state(&s)?;
                    Ok((s, Some(copy)))
                } else {
                    Ok((s, None))
                }
            });
            match evolved {
                Ok((next, snapshot)) => {
                    state = next;
                    if let Some(copy) = snapshot {
                        overlay.snapshots.push((version, copy));
                    }
                    batch.events.push(event);
                    batch.raw.push((id_bytes, hash.0));
                    batch.prev_hash = hash;
                }
                Err(m) => {
                    batch.events.truncate(start);
                    batch.raw.truncate(start);
                    batch.prev_hash = saved_hash;
                    overlay.snapshots.truncate(saved_snapshots);
                    // `state` was consumed: rebuild it from the cache plus this batch.
                    let rebuilt = self.rebuild_overlay_state(batch, &req.stream_id);
                    if let Some(o) = batch.overlays.get_mut(&req.stream_id) {
                        o.state = rebuilt;
                    }
                    return Err(Error::domain(format!(
                        "{} evolve failed on its own '{}' event: {m}",
                        req.stream_type, event.event_type
                    )));
                }
            }
        }
        overlay.state = Some(state);
        overlay.version = version;
        Ok(Outcome::Events {
            range: start..batch.events.len(),
            version,
        })
    }

    /// Finds or creates the overlay of the request's stream.
    fn ensure_overlay(
        &mut self,
        batch: &mut Batch,
        req: &ExecuteRequest,
        aggregate: &Rc<dyn Aggregate>,
    ) -> Result<(), Error> {
        if let Some(o) = batch.overlays.get(&req.stream_id) {
            if o.stream_type != req.stream_type {
                return Err(wrong_type(&req.stream_id, &o.stream_type, &req.stream_type));
            }
            if o.state.is_some() {
                return Ok(());
            }
            let rebuilt = self.rebuild_overlay_state(batch, &req.stream_id);
            let o = batch
                .overlays
                .get_mut(&req.stream_id)
                .ok_or_else(|| Error::domain("internal: overlay"))?;
            o.state = rebuilt;
            return o.state.as_ref().map(|_| ()).ok_or_else(|| {
                Error::domain(format!(
                    "{} state of '{}' could not be rebuilt",
                    req.stream_type, req.stream_id
                ))
            });
        }
        if let Some(t) = self.log.stream_type_of(&req.stream_id) {
            if t != req.stream_type {
                return Err(wrong_type(&req.stream_id, t, &req.stream_type));
            }
        }
        let sym = self.log.stream_sym(&req.stream_id);
        let (version, state) = match sym {
            Some(sym) => {
                let cache = self.caches.entry(sym).or_default();
                cache
                    .ensure_current(&self.log, sym, aggregate.as_ref(), self.snapshot_every)
                    .map_err(|m| Error::domain(format!("{}: {m}", req.stream_type)))?;
                cache
                    .take_current()
                    .ok_or_else(|| Error::domain("internal: no current state"))?
            }
            None => (
                0,
                aggregate
                    .initial_state()
                    .map_err(|m| Error::domain(format!("{} initialState failed: {m}", req.stream_type)))?,
            ),
        };
        batch.overlays.insert(
            req.stream_id.clone(),
            Overlay {
                sym,
                stream_type: req.stream_type.clone(),
                aggregate: aggregate.clone(),
                base_version: version,
                version,
                state: Some(state),
                snapshots: Vec::new(),
            },
        );
        Ok(())
    }

    /// The committed state of a stream plus the batch's events for it so far.
    fn rebuild_overlay_state(&mut self, batch: &Batch, stream_id: &str) -> Option<AnyState> {
        let overlay = batch.overlays.get(stream_id)?;
        let agg = overlay.aggregate.clone();
        let mut state = match overlay.sym {
            Some(sym) => {
                let cache = self.caches.entry(sym).or_default();
                cache
                    .ensure_current(&self.log, sym, agg.as_ref(), self.snapshot_every)
                    .ok()?;
                cache.take_current()?.1
            }
            None => agg.initial_state().ok()?,
        };
        for e in batch.events.iter().filter(|e| e.stream_id == stream_id) {
            state = agg.evolve(state, &EventView::of(e)).ok()?;
        }
        Some(state)
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

    /// The storage has the batch: commit it and compute every command's result.
    pub(super) fn commit_batch(&mut self, batch: Batch) -> Vec<Fill> {
        let Batch {
            expected_position,
            events,
            raw,
            entries,
            overlays,
            ..
        } = batch;
        let head_after = expected_position + events.len() as u64;
        for (event, (id, hash)) in events.iter().zip(&raw) {
            self.log.append_raw(event, *id, *hash);
        }
        // Each command's events move into its result (their ranges follow each other).
        let mut owned = events.into_iter();
        let mut results: Vec<Result<ExecuteResult, Error>> = Vec::with_capacity(entries.len());
        for entry in &entries {
            let result = match &entry.outcome {
                Outcome::Events { range, version } => {
                    if let Some(cid) = &entry.request.command_id {
                        self.commands.insert(
                            cid.clone(),
                            CommandRecord {
                                first: expected_position + range.start as u64 + 1,
                                last: expected_position + range.end as u64,
                            },
                        );
                    }
                    Ok(ExecuteResult {
                        events: owned.by_ref().take(range.len()).collect(),
                        version: *version,
                        position: expected_position + range.end as u64,
                    })
                }
                Outcome::NoEvents { version } => Ok(ExecuteResult {
                    events: Vec::new(),
                    version: *version,
                    position: head_after,
                }),
                Outcome::Rejected(e) => Err(e.clone()),
                Outcome::SameAs(i) => results
                    .get(*i)
                    .cloned()
                    .unwrap_or_else(|| Err(Error::validation("internal: duplicate command"))),
                Outcome::Done(r) => Ok(r.clone()),
            };
            results.push(result);
        }
        for (stream_id, overlay) in overlays {
            let Some(sym) = self.log.stream_sym(&stream_id) else {
                continue;
            };
            if let Some(state) = overlay.state {
                self.caches
                    .entry(sym)
                    .or_default()
                    .put_current(overlay.version, state, overlay.snapshots);
            }
        }
        self.projections.apply(&self.log, expected_position + 1, head_after);
        entries.into_iter().map(|e| e.slot).zip(results).collect()
    }

    /// The batch was not appended: put back the states of untouched streams, forget the
    /// others (they are rebuilt from snapshots), and hand the commands back.
    pub(super) fn abandon_batch(&mut self, batch: Batch) -> Vec<Entry> {
        for (_, overlay) in batch.overlays {
            let (Some(sym), Some(state)) = (overlay.sym, overlay.state) else {
                continue;
            };
            if overlay.version == overlay.base_version {
                self.caches
                    .entry(sym)
                    .or_default()
                    .put_current(overlay.version, state, Vec::new());
            }
        }
        batch.entries
    }

    /// Abandons a batch and returns its commands to be decided again (repeats settle now).
    pub(super) fn abandon_batch_entries(&mut self, batch: Batch) -> Vec<Pending> {
        let mut pending = Vec::new();
        for entry in self.abandon_batch(batch) {
            match entry.outcome {
                Outcome::Done(r) => entry.slot.fill(Ok(r)),
                _ => pending.push((entry.request, entry.slot)),
            }
        }
        pending
    }

    /// The storage failed: commands with events fail with `error`; the others (refused or
    /// no-op, possibly because of events that will now never exist) are decided again.
    pub(super) fn fail_batch(&mut self, batch: Batch, error: StorageError) -> (Vec<Pending>, Vec<Fill>) {
        let entries = self.abandon_batch(batch);
        let failed: Vec<bool> = entries
            .iter()
            .map(|e| matches!(e.outcome, Outcome::Events { .. }))
            .collect();
        let mut again = Vec::new();
        let mut fills = Vec::new();
        for entry in entries {
            match entry.outcome {
                Outcome::Events { .. } => fills.push((entry.slot, Err(error.clone().into()))),
                Outcome::SameAs(i) if failed.get(i).copied().unwrap_or(false) => {
                    fills.push((entry.slot, Err(error.clone().into())))
                }
                Outcome::Done(r) => fills.push((entry.slot, Ok(r))),
                _ => again.push((entry.request, entry.slot)),
            }
        }
        (again, fills)
    }
}

impl Batch {
    /// Does any command's outcome depend on the state it was decided against?
    pub(super) fn has_state_dependent_outcomes(&self) -> bool {
        self.entries.iter().any(|e| state_dependent(&e.outcome))
    }

    /// The state could not be confirmed (the storage read failed): state-dependent answers
    /// become that storage error; the others stand.
    pub(super) fn into_fills_unconfirmed(self, error: &Error) -> Vec<Fill> {
        let unconfirmed = |outcome: &Outcome| state_dependent(outcome);
        let flags: Vec<bool> = self.entries.iter().map(|e| unconfirmed(&e.outcome)).collect();
        self.into_fills_without_events()
            .into_iter()
            .zip(flags)
            .map(|((slot, result), unsure)| {
                if unsure {
                    (slot, Err(error.clone()))
                } else {
                    (slot, result)
                }
            })
            .collect()
    }

    /// Settles a batch that has no events to append (every command was refused, a no-op, or
    /// a repeat).
    pub(super) fn into_fills_without_events(self) -> Vec<Fill> {
        let head = self.expected_position;
        self.entries
            .into_iter()
            .map(|entry| {
                let result = match entry.outcome {
                    Outcome::NoEvents { version } => Ok(ExecuteResult {
                        events: Vec::new(),
                        version,
                        position: head,
                    }),
                    Outcome::Rejected(e) => Err(e),
                    Outcome::Done(r) => Ok(r),
                    Outcome::Events { .. } | Outcome::SameAs(_) => {
                        Err(Error::validation("internal: events in an empty batch"))
                    }
                };
                (entry.slot, result)
            })
            .collect()
    }
}

/// Refusals on business rules or versions, and no-ops, depend on the state decided against;
/// bad input and unknown types do not.
fn state_dependent(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::NoEvents { .. } | Outcome::Rejected(Error::Domain(_)) | Outcome::Rejected(Error::Concurrency(_))
    )
}

fn wrong_type(stream_id: &str, actual: &str, asked: &str) -> Error {
    Error::validation(format!(
        "stream '{stream_id}' is a {actual} stream; a {asked} command cannot be applied to it"
    ))
}

/// Checks decided events and builds their canonical data and metadata (the command's
/// metadata, overlaid by the event's own, plus `commandId`).
fn prepare_events(
    decided: Vec<NewEvent>,
    req: &ExecuteRequest,
) -> Result<Vec<(String, CanonicalJson, CanonicalJson)>, Error> {
    let mut out = Vec::with_capacity(decided.len());
    for (i, e) in decided.into_iter().enumerate() {
        validate_name("event type", &e.event_type).map_err(|v| {
            ValidationError::new(format!(
                "{} decided an event #{i} with a bad type: {}",
                req.stream_type, v.message
            ))
        })?;
        let data = match e.data {
            EventData::Json(v) => CanonicalJson::from_value(&v, "event data")?,
            EventData::Canonical(c) => c,
        };
        let metadata = match (&e.metadata, req.metadata.is_empty(), &req.command_id) {
            (None, true, None) => CanonicalJson::empty_object(),
            _ => {
                let mut merged: Map<String, Value> = req.metadata.clone();
                if let Some(own) = e.metadata {
                    merged.extend(own);
                }
                if let Some(cid) = &req.command_id {
                    merged.insert("commandId".to_owned(), Value::String(cid.clone()));
                }
                CanonicalJson::from_map(&merged, "event metadata")?
            }
        };
        let size = data.len() + metadata.len();
        if size > MAX_EVENT_BYTES {
            return Err(Error::validation(format!(
                "event '{}' is {size} bytes of data and metadata; the limit is {MAX_EVENT_BYTES}",
                e.event_type
            )));
        }
        out.push((e.event_type, data, metadata));
    }
    Ok(out)
}
