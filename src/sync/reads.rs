//! Optimistic reads: confirmed plus pending. Aggregates are the confirmed state plus the
//! stream's pending events (the overlay's state); projections a copy of the confirmed state
//! with the pending events folded in (computed on demand, kept until the next change);
//! events read the confirmed ones, then the pending ones (`position: null`). Time travel,
//! `stats`, `verify` and subscribers read the confirmed log only (the engine's own reads).
//! With no pending event every read is the confirmed one.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::event::Event;
use crate::forms::ReadEvent;
use crate::log::{Direction, ReadAllOptions, ReadStreamOptions};
use crate::storage::Storage;
use crate::{Engine, Loaded};

use super::client::SyncClient;
use super::json::write_pending_event;

/// An event of an optimistic read.
enum Read<'a, 'v> {
    Confirmed(&'a ReadEvent<'v>),
    Pending(&'a Event),
}

/// Writes events as a JSON array.
fn events_json<'a, 'v: 'a>(events: impl Iterator<Item = Read<'a, 'v>>) -> String {
    let mut out = String::from("[");
    for (i, e) in events.enumerate() {
        if i > 0 {
            out.push(',');
        }
        match e {
            Read::Confirmed(v) => v.view().write_json(&mut out),
            Read::Pending(e) => write_pending_event(&mut out, e),
        }
    }
    out.push(']');
    out
}

/// Confirmed views, then pending events.
fn confirmed_then_pending(views: &[ReadEvent<'_>], pending: &[&Event]) -> String {
    events_json(
        views
            .iter()
            .map(Read::Confirmed)
            .chain(pending.iter().map(|e| Read::Pending(e))),
    )
}

/// Pending events as a read returns them: in read form (personal data in the clear), or as
/// stored (`raw`).
fn pending_form<S: Storage>(engine: &Engine<S>, pending: &[Event], raw: bool) -> Result<Vec<Event>, Error> {
    if raw {
        Ok(pending.to_vec())
    } else {
        engine.read_form(pending)
    }
}

impl SyncClient {
    /// An aggregate's optimistic state (`None` when the stream has no events).
    pub fn load<S: Storage>(
        &self,
        engine: &Engine<S>,
        stream_type: &str,
        stream_id: &str,
    ) -> Result<Option<Loaded>, Error> {
        let state = self.borrow()?;
        engine.load_tentative(state.overlay.tentative(), stream_type, stream_id)
    }

    /// A stream's optimistic version.
    pub fn stream_version<S: Storage>(&self, engine: &Engine<S>, stream_id: &str) -> Result<u64, Error> {
        let confirmed = engine.stream_version(stream_id)?;
        Ok(self.borrow()?.overlay.stream_version(stream_id).unwrap_or(confirmed))
    }

    /// A projection's optimistic state (JSON text).
    pub fn projection<S: Storage>(&self, engine: &Engine<S>, name: &str) -> Result<String, Error> {
        let mut state = self.borrow()?;
        if state.overlay.events().is_empty() {
            return engine.projection(name, None);
        }
        if let Some((_, json)) = state.projections.iter().find(|(n, _)| n == name) {
            return Ok(json.clone());
        }
        let json = engine.projection_with(name, &engine.read_form(state.overlay.events())?)?;
        state.projections.push((name.to_owned(), json.clone()));
        Ok(json)
    }

    /// `query` over a projection's optimistic state (JSON array text).
    pub fn query<S: Storage>(
        &self,
        engine: &Engine<S>,
        name: &str,
        filter: &Map<String, Value>,
    ) -> Result<String, Error> {
        let state = self.borrow()?;
        if state.overlay.events().is_empty() {
            return engine.query(name, filter);
        }
        engine.query_with(name, filter, &engine.read_form(state.overlay.events())?)
    }

    /// `readAll`: the confirmed events, then the pending ones that pass the filter (JSON).
    pub fn read_all_json<S: Storage>(
        &self,
        engine: &Engine<S>,
        opts: &ReadAllOptions,
        raw: bool,
    ) -> Result<String, Error> {
        let state = self.borrow()?;
        let events = pending_form(engine, state.overlay.events(), raw)?;
        engine.with_read_all(opts, raw, |views| {
            let room = opts.limit.unwrap_or(usize::MAX).saturating_sub(views.len());
            let f = &opts.filter;
            let pending: Vec<&Event> = events
                .iter()
                .filter(|e| f.matches(&e.stream_id, &e.stream_type, &e.event_type))
                .filter(|e| opts.from_timestamp.is_none_or(|t| e.timestamp >= t))
                .filter(|e| opts.to_timestamp.is_none_or(|t| e.timestamp <= t))
                .take(room)
                .collect();
            confirmed_then_pending(views, &pending)
        })
    }

    /// `readStream`: forward, the confirmed events then the pending ones; backward, the
    /// pending ones (newest first) then the confirmed ones. Versions are the optimistic ones.
    pub fn read_stream_json<S: Storage>(
        &self,
        engine: &Engine<S>,
        stream_id: &str,
        opts: &ReadStreamOptions,
        raw: bool,
    ) -> Result<String, Error> {
        let state = self.borrow()?;
        let events = pending_form(engine, state.overlay.events(), raw)?;
        let mine: Vec<&Event> = events.iter().filter(|e| e.stream_id == stream_id).collect();
        let limit = opts.limit.unwrap_or(usize::MAX);
        match opts.direction {
            Direction::Forward => engine.with_read_stream(stream_id, opts, raw, |views| {
                let from = opts.from_version.unwrap_or(0);
                let room = limit.saturating_sub(views.len());
                let pending: Vec<&Event> = mine.into_iter().filter(|e| e.version > from).take(room).collect();
                confirmed_then_pending(views, &pending)
            }),
            Direction::Backward => {
                let before = opts.from_version.unwrap_or(u64::MAX);
                let pending: Vec<&Event> = mine
                    .into_iter()
                    .rev()
                    .filter(|e| e.version < before)
                    .take(limit)
                    .collect();
                let rest = ReadStreamOptions {
                    limit: opts.limit.map(|n| n - pending.len()),
                    ..opts.clone()
                };
                if rest.limit == Some(0) {
                    return Ok(events_json(pending.iter().map(|e| Read::Pending(e))));
                }
                engine.with_read_stream(stream_id, &rest, raw, |views| {
                    events_json(
                        pending
                            .iter()
                            .map(|e| Read::Pending(e))
                            .chain(views.iter().map(Read::Confirmed)),
                    )
                })
            }
        }
    }
}
