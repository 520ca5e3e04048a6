//! Deciding a batch: each command, in arrival order, against the committed state plus the
//! events of the commands before it (kept per stream in an [`Overlay`]), then stamped and
//! folded into that overlay. A command whose own events cannot be folded is rolled back.

use std::collections::HashMap;
use std::rc::Rc;

use crate::clock::next_timestamp;
use crate::decider::{Aggregate, AnyState};
use crate::error::{ConcurrencyError, Error, NotFoundError};
use crate::forms::FormError;
use crate::log::StreamSym;
use crate::snapshot::evolve_step;
use crate::snapshot::FoldError;

use super::super::core::Core;
use super::super::stamp::{prepare, Prepared, Stamper};
use super::super::ExecuteRequest;
use super::{Batch, Entry, Outcome, Overlay, Pending};

impl Core {
    /// Decides and stamps every command (nothing is committed).
    pub(in crate::engine) fn decide_batch(&mut self, jobs: Vec<Pending>) -> Batch {
        // One clock reading per batch: the clock may be a JavaScript function.
        let timestamp = next_timestamp(self.clock.now_ms(), self.log.last_timestamp());
        let mut batch = Batch {
            stamped: Stamper::new(self.log.head_position(), self.log.head_hash(), timestamp),
            entries: Vec::with_capacity(jobs.len()),
            overlays: HashMap::new(),
            detached: false,
            missing_keys: Vec::new(),
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

    /// A repeated `commandId` answers with the first result; anything else is decided.
    pub(super) fn decide_one(
        &mut self,
        batch: &mut Batch,
        req: &ExecuteRequest,
        in_batch: &HashMap<String, usize>,
    ) -> Outcome {
        if let Some(cid) = &req.command_id {
            if let Some(record) = self.commands.get(cid) {
                return Outcome::Done(self.result_of(record));
            }
            if let Some(&i) = in_batch.get(cid) {
                return Outcome::SameAs(i);
            }
        }
        self.decide_events(batch, req).unwrap_or_else(Outcome::Rejected)
    }

    /// Checks the expected version, decides, and stamps and folds the events.
    fn decide_events(&mut self, batch: &mut Batch, req: &ExecuteRequest) -> Result<Outcome, Error> {
        let aggregate = self
            .registry
            .get(&req.stream_type)
            .ok_or_else(|| NotFoundError::stream_type(&req.stream_type))?;
        let Batch {
            stamped,
            overlays,
            detached,
            missing_keys,
            ..
        } = batch;
        let overlay = self.overlay(overlays, stamped, req, &aggregate, *detached)?;
        check_expected_version(req, overlay.version)?;
        let state = overlay.state.as_ref().ok_or_else(lost_state)?;
        let decided = aggregate.decide(state, &req.command)?;
        if decided.is_empty() {
            return Ok(Outcome::NoEvents {
                version: overlay.version,
            });
        }
        let prepared = prepare(decided, req)?;
        self.stamp_and_fold(stamped, overlay, req, prepared)
            .map_err(|e| match e {
                Stop::Failed(e) => e,
                Stop::NeedsKey { subject, gen } => {
                    // The batch is decided again once the key is fetched (see `Batch::missing_keys`).
                    missing_keys.push((subject, gen));
                    Error::internal("a key of personal data was not fetched yet")
                }
            })
    }

    /// Stamps a command's events and folds them into its stream's overlay; if an `evolve`
    /// fails, every event of the command is rolled back and the overlay rebuilt.
    fn stamp_and_fold(
        &mut self,
        stamped: &mut Stamper,
        overlay: &mut Overlay,
        req: &ExecuteRequest,
        prepared: Vec<Prepared>,
    ) -> Result<Outcome, Stop> {
        let mark = stamped.mark();
        let saved_snapshots = overlay.snapshots.len();
        let aggregate = overlay.aggregate.clone();
        let mut state = overlay.state.take().ok_or_else(lost_state)?;
        let mut version = overlay.version;
        for p in prepared {
            version += 1;
            let folded = stamped
                .stamp(&mut self.ids, &mut self.forms, req, p, version)
                .map_err(Stop::from)
                .and_then(|i| {
                    let event = stamped.read_view(i).ok_or_else(lost_state)?;
                    evolve_step(aggregate.as_ref(), state, &event, self.snapshot_every).map_err(|m| {
                        Stop::Failed(Error::internal(format!(
                            "{} evolve failed on its own '{}' event: {m}",
                            req.stream_type, event.event_type
                        )))
                    })
                });
            match folded {
                Ok((next, snapshot)) => {
                    state = next;
                    overlay.snapshots.extend(snapshot.map(|copy| (version, copy)));
                }
                Err(stop) => {
                    overlay.snapshots.truncate(saved_snapshots);
                    stamped.rollback(mark);
                    // `state` was consumed: rebuild it from the cache plus this batch.
                    overlay.state = self.rebuild_state(overlay, stamped, &req.stream_id);
                    return Err(stop);
                }
            }
        }
        overlay.state = Some(state);
        overlay.version = version;
        Ok(Outcome::Events {
            range: mark.len..stamped.events.len(),
            version,
        })
    }

    /// The overlay of the request's stream, created from the committed state on first use.
    fn overlay<'o>(
        &mut self,
        overlays: &'o mut HashMap<String, Overlay>,
        stamped: &Stamper,
        req: &ExecuteRequest,
        aggregate: &Rc<dyn Aggregate>,
        detached: bool,
    ) -> Result<&'o mut Overlay, Error> {
        if !overlays.contains_key(&req.stream_id) {
            let overlay = self.new_overlay(req, aggregate, detached)?;
            overlays.insert(req.stream_id.clone(), overlay);
        }
        let o = overlays
            .get_mut(&req.stream_id)
            .ok_or_else(|| Error::internal("the overlay of a decided stream is missing"))?;
        if o.stream_type != req.stream_type {
            return Err(wrong_type(&req.stream_id, &o.stream_type, &req.stream_type));
        }
        if o.state.is_none() {
            let rebuilt = self.rebuild_state(o, stamped, &req.stream_id).ok_or_else(|| {
                Error::internal(format!(
                    "{} state of '{}' could not be rebuilt",
                    req.stream_type, req.stream_id
                ))
            })?;
            o.state = Some(rebuilt);
        }
        Ok(o)
    }

    /// An overlay at the stream's committed state (taken out of its cache while the batch
    /// is decided; a copy of it for a detached batch).
    fn new_overlay(
        &mut self,
        req: &ExecuteRequest,
        aggregate: &Rc<dyn Aggregate>,
        detached: bool,
    ) -> Result<Overlay, Error> {
        if let Some(t) = self.log.stream_type_of(&req.stream_id) {
            if t != req.stream_type {
                return Err(wrong_type(&req.stream_id, t, &req.stream_type));
            }
        }
        let sym = self.log.stream_sym(&req.stream_id);
        let internal =
            |m: crate::error::StateError| Error::internal(format!("{} '{}': {m}", req.stream_type, req.stream_id));
        let (version, state) = match sym {
            Some(sym) => self
                .committed_state(sym, aggregate.as_ref(), detached)
                .map_err(|e| e.into_error(&req.stream_type, &req.stream_id))?,
            None => (
                0,
                aggregate
                    .initial_state()
                    .map_err(|m| internal(m.context("initialState failed")))?,
            ),
        };
        Ok(Overlay {
            sym,
            stream_type: req.stream_type.clone(),
            aggregate: aggregate.clone(),
            base_version: version,
            version,
            state: Some(state),
            snapshots: Vec::new(),
            detached,
        })
    }

    /// The stream's committed version and state: taken out of its cache, or copied from it
    /// (`copy`).
    fn committed_state(
        &mut self,
        sym: StreamSym,
        agg: &dyn Aggregate,
        copy: bool,
    ) -> Result<(u64, AnyState), FoldError> {
        let version = self.log.version_of(sym);
        let cache = self.caches.entry(sym).or_default();
        if copy {
            let state = cache.state_at(&self.log, &self.forms, sym, agg, self.snapshot_every, version)?;
            return Ok((version, state));
        }
        cache.ensure_current(&self.log, &self.forms, sym, agg, self.snapshot_every)?;
        cache
            .take_current()
            .ok_or_else(|| FoldError::State("the aggregate cache has no current state".into()))
    }

    /// The committed state of a stream plus the batch's events for it so far.
    fn rebuild_state(&mut self, overlay: &Overlay, stamped: &Stamper, stream_id: &str) -> Option<AnyState> {
        let agg = overlay.aggregate.clone();
        let mut state = match overlay.sym {
            Some(sym) => self.committed_state(sym, agg.as_ref(), overlay.detached).ok()?.1,
            None => agg.initial_state().ok()?,
        };
        for i in (0..stamped.events.len()).filter(|&i| stamped.events[i].stream_id == stream_id) {
            state = agg.evolve(state, &stamped.read_view(i)?).ok()?;
        }
        Some(state)
    }
}

fn lost_state() -> Error {
    Error::internal("the overlay lost its state")
}

/// Why a command's events were not stamped and folded.
enum Stop {
    Failed(Error),
    /// The stored form needs the key of `subject`'s generation `gen`, not fetched yet.
    NeedsKey {
        subject: String,
        gen: u32,
    },
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

impl From<FormError> for Stop {
    fn from(e: FormError) -> Self {
        match e {
            FormError::MissingKey { subject, gen } => Stop::NeedsKey { subject, gen },
            other => Stop::Failed(other.into_error()),
        }
    }
}

fn check_expected_version(req: &ExecuteRequest, actual: u64) -> Result<(), ConcurrencyError> {
    if req.expected_version.matches(actual) {
        return Ok(());
    }
    Err(ConcurrencyError {
        message: format!(
            "stream '{}' is at version {actual}, expected {}",
            req.stream_id,
            req.expected_version.describe()
        ),
        stream_id: req.stream_id.clone(),
        expected: Some(req.expected_version.describe()),
        actual,
    })
}

fn wrong_type(stream_id: &str, actual: &str, asked: &str) -> Error {
    Error::validation(format!(
        "stream '{stream_id}' is a {actual} stream; a {asked} command cannot be applied to it"
    ))
}
