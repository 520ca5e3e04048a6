//! The narrow hooks the sync client (`src/sync/`) uses, and nothing else does: an engine
//! that syncs never appends events it decided itself; its log is the server's, and its
//! own commands stay in a [`Tentative`] batch on top of it until the server's events
//! arrive. Here: checking and naming requests, committed results, tentative batches and the
//! optimistic reads over them, leading the queue while a server batch is persisted, and
//! committing events already checked.

use serde_json::{Map, Value};

use crate::error::{Error, NotFoundError};
use crate::event::{validate_name, Event};
use crate::integrity::{format_event_id, Checked, Hash};
use crate::log::Log;
use crate::storage::Storage;

use super::batch::{Decision, Tentative};
use super::queue::{IdleWait, LeaderGuard, Queue};
use super::{Engine, ExecuteRequest, ExecuteResult, Loaded};

impl<S: Storage> Engine<S> {
    /// Checks a request as `execute` does (names, sizes, `commandId` against the metadata).
    pub fn check_request(&self, request: &mut ExecuteRequest) -> Result<(), Error> {
        self.check_open()?;
        request.validate().map_err(Error::from)
    }

    /// A fresh UUID v7 (e.g. a `commandId` for a command given none).
    pub fn new_id(&self) -> Result<String, Error> {
        let mut core = self.core_mut()?;
        let now = crate::clock::next_timestamp(core.clock.now_ms(), 0);
        Ok(format_event_id(&core.ids.next_id(now)))
    }

    /// The clock's reading, in ms since the epoch.
    pub fn now_ms(&self) -> f64 {
        self.config.clock.now_ms()
    }

    /// The first result of a committed `commandId`, if the log holds it.
    pub fn committed_result(&self, command_id: &str) -> Result<Option<ExecuteResult>, Error> {
        let core = self.core()?;
        Ok(core.commands.get(command_id).map(|r| core.result_of(r)))
    }

    /// An empty tentative batch on the committed head.
    pub fn tentative(&self) -> Result<Tentative, Error> {
        Ok(self.core()?.tentative())
    }

    /// Decides `request` at the end of `t` (see [`Tentative`]).
    pub fn decide_tentative(&self, t: &mut Tentative, request: &ExecuteRequest, timestamp_ms: f64) -> Decision {
        match self.core_mut() {
            Ok(mut core) => core.decide_tentative(t, request, timestamp_ms),
            Err(e) => Decision::Refused(e),
        }
    }

    /// An aggregate's state at the end of `t` (the committed one for a stream `t` did not
    /// touch); `None` when the stream has no events.
    pub fn load_tentative(&self, t: &Tentative, stream_type: &str, stream_id: &str) -> Result<Option<Loaded>, Error> {
        let Some(s) = t.stream(stream_id) else {
            return self.load(stream_type, stream_id, None);
        };
        validate_name("streamType", stream_type)?;
        if self.core()?.registry.get(stream_type).is_none() {
            return Err(NotFoundError::stream_type(stream_type).into());
        }
        if s.stream_type != stream_type {
            return Err(Error::validation(format!(
                "stream '{stream_id}' is a {} stream, not a {stream_type} stream",
                s.stream_type
            )));
        }
        if s.version == 0 {
            return Ok(None);
        }
        let state = s
            .aggregate
            .state_json(s.state)
            .map_err(|m| Error::internal(format!("{stream_type} '{stream_id}': {m}")))?;
        Ok(Some(Loaded {
            state,
            version: s.version,
        }))
    }

    /// A projection's state with `pending` events folded into a copy (JSON text).
    pub fn projection_with(&self, name: &str, pending: &[Event]) -> Result<String, Error> {
        let core = self.core()?;
        let (projection, state) = core.projections.with_pending(name, &core.log, pending)?;
        projection
            .state_json(&state)
            .map_err(|m| crate::error::ProjectionError::new(name, core.log.head_position(), m.message).into())
    }

    /// `query` over a projection's state with `pending` events folded into a copy.
    pub fn query_with(&self, name: &str, filter: &Map<String, Value>, pending: &[Event]) -> Result<String, Error> {
        let core = self.core()?;
        let (projection, state) = core.projections.with_pending(name, &core.log, pending)?;
        projection
            .query(&state, filter)
            .map_err(|m| Error::validation(format!("query on '{name}': {m}")))
    }

    /// Calls `f` with the committed log.
    pub fn with_log<R>(&self, f: impl FnOnce(&Log) -> R) -> Result<R, Error> {
        Ok(f(&self.core()?.log))
    }

    /// The hash of the committed event at `position` (the genesis hash for 0).
    pub fn hash_at(&self, position: u64) -> Result<Option<Hash>, Error> {
        let core = self.core()?;
        if position == 0 {
            return Ok(Some(crate::integrity::GENESIS));
        }
        Ok(core.log.get(position).and_then(|e| e.stored_hash()))
    }

    /// Waits until the caller leads the queue: until the guard is dropped, no batch, no
    /// catch-up and no close runs (they wait their turn).
    pub(crate) async fn lead(&self) -> LeaderGuard<'_> {
        loop {
            if let Some(guard) = Queue::try_lead(&self.queue) {
                return guard;
            }
            IdleWait::new(&self.queue).await;
        }
    }

    /// Reads what other writers appended (the caller leads the queue).
    pub(crate) async fn read_new_events_led(&self) -> Result<u64, Error> {
        self.read_new_events().await
    }

    /// Commits events checked against the committed log (and persisted), then delivers
    /// them to subscribers. Returns how many were committed.
    pub(crate) fn commit_checked(&self, events: Vec<(Event, Checked)>) -> Result<u64, Error> {
        let applied = {
            let mut core = self.core_mut()?;
            let r = core.apply_checked(events);
            self.head.set(core.log.head_position());
            r
        };
        self.pump_subscriptions();
        applied
    }
}

/// Personal data on a synced engine: the keys are the server's (`GET /v1/keys`).
impl<S: Storage> Engine<S> {
    /// The subjects whose keys the sealed values of `events` need and this engine has not
    /// fetched yet (none without a key store: receiving them then fails, see
    /// [`Engine::fetch_keys_of`]).
    pub fn unknown_key_subjects(&self, events: &[Event]) -> Result<Vec<String>, Error> {
        if self.config.keys.is_none() {
            return Ok(Vec::new());
        }
        let core = self.core()?;
        let mut subjects: Vec<String> = Vec::new();
        for (subject, _, _) in core.forms.unknown_keys(events) {
            if !subjects.contains(&subject) {
                subjects.push(subject);
            }
        }
        Ok(subjects)
    }

    /// Stores a key the server handed over under its key-store name (an existing key wins).
    pub async fn store_key(&self, name: &str, key: crate::personal::Key) -> Result<(), Error> {
        self.check_open()?;
        let store = self.key_store("keys from the server")?;
        store.create_key(name, key).await?;
        Ok(())
    }

    /// Fetches from the key store the keys `events` need, before they are committed (a key
    /// the store lacks: those values read as erased). Without a key store, events holding
    /// sealed values are a `ValidationError` naming `keys`.
    pub(crate) async fn fetch_keys_of(&self, events: &[Event]) -> Result<super::forms::Fetched, Error> {
        self.fetch_read_keys(events).await
    }

    /// Checks, once committed, that the fetched keys open the values sealed under them.
    pub(crate) fn check_keys_of(&self, fetched: &super::forms::Fetched) -> Result<(), Error> {
        self.check_read_keys(fetched)
    }
}
