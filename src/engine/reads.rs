//! Reads: streams and the log, an aggregate's state now or in the past, projections and
//! their queries, replays, figures, and the chain's verification. All synchronous, over
//! what is committed.

use serde_json::{Map, Value};

use crate::error::{Error, NotFoundError};
use crate::event::{validate_name, Event};
use crate::forms::ReadEvent;
use crate::integrity::{self, VerifyReport};
use crate::log::{EventView, ReadAllOptions, ReadStreamOptions, Stats};
use crate::projection::ReplayReport;
use crate::storage::Storage;
use crate::time_travel::{log_position_at, stream_version_at, At};

use super::{reentrant, Engine, Loaded};

impl<S: Storage> Engine<S> {
    /// Reads a stream, in read form (upcast, personal data opened).
    pub fn read_stream(&self, stream_id: &str, opts: &ReadStreamOptions) -> Result<Vec<Event>, Error> {
        self.with_read_stream(stream_id, opts, false, to_events)
    }

    /// Reads the log, in read form (upcast, personal data opened); type filters apply to
    /// the read form.
    pub fn read_all(&self, opts: &ReadAllOptions) -> Result<Vec<Event>, Error> {
        self.with_read_all(opts, false, to_events)
    }

    /// Events (e.g. a command's, from [`Engine::execute`], which are in stored form) in
    /// their read form. Works after `close` too: a command accepted before it still gets its
    /// answer (the definitions and keys stay in memory).
    pub fn read_form(&self, events: &[Event]) -> Result<Vec<Event>, Error> {
        self.into_read_form(events.to_vec())
    }

    /// [`Engine::read_form`] of events the caller gives away: only those whose read form
    /// differs are replaced (a command's answer usually has none, and is not copied).
    pub fn into_read_form(&self, mut events: Vec<Event>) -> Result<Vec<Event>, Error> {
        if events.is_empty() {
            return Ok(events);
        }
        let core = self.core.try_borrow().map_err(|_| reentrant())?;
        for e in events.iter_mut() {
            let changed = {
                let read = core.forms.read(EventView::of(e))?;
                read.is_changed().then(|| read.view().to_event())
            };
            if let Some(changed) = changed {
                *e = changed;
            }
        }
        Ok(events)
    }

    /// Reads the log in its stored form (what is hashed and persisted).
    pub fn read_all_raw(&self, opts: &ReadAllOptions) -> Result<Vec<Event>, Error> {
        self.with_read_all(opts, true, to_events)
    }

    /// Calls `f` with the events a `read_all` would return (`raw`: in stored form), without
    /// copies where the read form is the stored one.
    pub fn with_read_all<R>(
        &self,
        opts: &ReadAllOptions,
        raw: bool,
        f: impl FnOnce(&[ReadEvent<'_>]) -> R,
    ) -> Result<R, Error> {
        let core = self.core()?;
        Ok(f(&core.forms.read_all(&core.log, opts, raw)?))
    }

    /// Calls `f` with the events a `read_stream` would return (`raw`: in stored form).
    pub fn with_read_stream<R>(
        &self,
        stream_id: &str,
        opts: &ReadStreamOptions,
        raw: bool,
        f: impl FnOnce(&[ReadEvent<'_>]) -> R,
    ) -> Result<R, Error> {
        validate_name("streamId", stream_id)?;
        let core = self.core()?;
        let views = core.log.read_stream(stream_id, opts);
        let read: Vec<ReadEvent<'_>> = if raw {
            views.into_iter().map(ReadEvent::raw).collect()
        } else {
            views
                .into_iter()
                .map(|v| core.forms.read(v))
                .collect::<Result<_, _>>()?
        };
        Ok(f(&read))
    }

    /// The stream's version (0 when it has no events).
    pub fn stream_version(&self, stream_id: &str) -> Result<u64, Error> {
        validate_name("streamId", stream_id)?;
        Ok(self.core()?.log.stream_version(stream_id))
    }

    /// An aggregate's state now or at a point in history; `None` when no event qualifies.
    /// An aggregate that cannot fold its own stream is an `InternalError` (a bug in it).
    pub fn load(&self, stream_type: &str, stream_id: &str, at: Option<At>) -> Result<Option<Loaded>, Error> {
        validate_name("streamType", stream_type)?;
        validate_name("streamId", stream_id)?;
        let mut core = self.core_mut()?;
        let core = &mut *core;
        let aggregate = core
            .registry
            .get(stream_type)
            .ok_or_else(|| NotFoundError::stream_type(stream_type))?;
        let Some(sym) = core.log.stream_sym(stream_id) else {
            return Ok(None);
        };
        if let Some(t) = core.log.stream_type_of(stream_id).filter(|t| *t != stream_type) {
            return Err(Error::validation(format!(
                "stream '{stream_id}' is a {t} stream, not a {stream_type} stream"
            )));
        }
        let version = match at {
            Some(at) => stream_version_at(&core.log, sym, at),
            None => core.log.version_of(sym),
        };
        if version == 0 {
            return Ok(None);
        }
        let state = core
            .caches
            .entry(sym)
            .or_default()
            .state_at(
                &core.log,
                &core.forms,
                sym,
                aggregate.as_ref(),
                core.snapshot_every,
                version,
            )
            .map_err(|e| e.into_error(stream_type, stream_id))?;
        let state = aggregate
            .state_json(&state)
            .map_err(|m| Error::internal(format!("{stream_type} '{stream_id}': {m}")))?;
        Ok(Some(Loaded { state, version }))
    }

    /// A projection's state (JSON text), now or at a position or timestamp.
    pub fn projection(&self, name: &str, at: Option<At>) -> Result<String, Error> {
        let mut core = self.core_mut()?;
        let core = &mut *core;
        let position = at.map(|at| log_position_at(&core.log, at)).transpose()?;
        core.projections.state_json(name, position, &core.log, &core.forms)
    }

    /// Records of a map-shaped projection whose fields equal every field of `filter`
    /// (JSON array text).
    pub fn query(&self, name: &str, filter: &Map<String, Value>) -> Result<String, Error> {
        let mut core = self.core_mut()?;
        let core = &mut *core;
        core.projections.query(name, filter, &core.log, &core.forms)
    }

    /// Rebuilds one projection or all of them from the whole log.
    pub fn replay(&self, name: Option<&str>) -> Result<ReplayReport, Error> {
        let mut core = self.core_mut()?;
        let core = &mut *core;
        core.projections.replay(name, &core.log, &core.forms)
    }

    /// Figures about the log.
    pub fn stats(&self) -> Result<Stats, Error> {
        Ok(self.core()?.log.stats())
    }

    /// Recomputes the hash chain of the whole log.
    pub fn verify(&self) -> Result<VerifyReport, Error> {
        Ok(integrity::verify(&self.core()?.log))
    }

    /// Names of the aggregate types and projections.
    pub fn definitions(&self) -> Result<(Vec<String>, Vec<String>), Error> {
        let core = self.core()?;
        Ok((core.registry.names(), core.projections.names()))
    }
}

fn to_events(read: &[ReadEvent<'_>]) -> Vec<Event> {
    read.iter().map(|r| r.view().to_event()).collect()
}
