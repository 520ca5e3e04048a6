//! Stamping: turning what a `decide` returned into events of the log. First the decided
//! events are checked and made canonical ([`prepare`]: type name, data, metadata merged with
//! the command's and `commandId`, size); then each gets its id, version, position and
//! timestamp, is turned into its stored form (`crate::forms`: schema version, sealed personal
//! data) and hashed ([`Stamper`]). Nothing here commits anything.

use serde_json::{Map, Value};

use crate::canonical::CanonicalJson;
use crate::error::{Error, ValidationError};
use crate::event::{validate_name, Event, EventData, NewEvent, MAX_EVENT_BYTES};
use crate::forms::{FormError, Forms};
use crate::id::IdGenerator;
use crate::integrity::{event_hash, format_event_id, Hash};
use crate::log::EventView;

use super::ExecuteRequest;

/// A decided event, checked and canonical, waiting for its stamp.
pub(super) struct Prepared {
    event_type: String,
    data: CanonicalJson,
    metadata: CanonicalJson,
}

/// Checks decided events and builds their canonical data and metadata (the command's
/// metadata, overlaid by the event's own, plus `commandId`).
pub(super) fn prepare(decided: Vec<NewEvent>, req: &ExecuteRequest) -> Result<Vec<Prepared>, Error> {
    decided
        .into_iter()
        .enumerate()
        .map(|(i, e)| prepare_one(i, e, req))
        .collect()
}

fn prepare_one(i: usize, e: NewEvent, req: &ExecuteRequest) -> Result<Prepared, Error> {
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
    Ok(Prepared {
        event_type: e.event_type,
        data,
        metadata,
    })
}

/// The events of a batch as they are stamped: positions follow `base` (the head the batch
/// was decided on), hashes chain from the head's hash, and every event of the batch has the
/// batch's timestamp (one clock reading per batch).
pub(super) struct Stamper {
    pub(super) base: u64,
    pub(super) timestamp: i64,
    pub(super) events: Vec<Event>,
    /// Each event's id and hash as bytes (what the log keeps).
    pub(super) raw: Vec<([u8; 16], [u8; 32])>,
    /// Each event's data as decided, when its stored form differs (sealed personal data):
    /// what the batch's folds read, with the subject and key generation it was sealed under.
    plain: Vec<Option<(CanonicalJson, (String, u32))>>,
    prev_hash: Hash,
    scratch: String,
    /// Personal data is sealed (false for a synced engine's pending events: the server
    /// seals what it decides under its own keys, and they stay in memory).
    pub(super) seal: bool,
}

/// Where a command's events start, to roll them back.
#[derive(Clone, Copy)]
pub(super) struct Mark {
    /// Events in the batch at the mark: the index of the command's first event.
    pub(super) len: usize,
    prev_hash: Hash,
}

impl Stamper {
    pub(super) fn new(base: u64, head_hash: Hash, timestamp: i64) -> Self {
        Stamper {
            base,
            timestamp,
            events: Vec::new(),
            raw: Vec::new(),
            plain: Vec::new(),
            prev_hash: head_hash,
            scratch: String::new(),
            seal: true,
        }
    }

    /// Stamps the next event of the batch, version `version` of the request's stream, in
    /// its stored form; returns its index in the batch. Fails, stamping nothing, when the
    /// stored form cannot be made (e.g. a subject's key is not fetched yet).
    pub(super) fn stamp(
        &mut self,
        ids: &mut IdGenerator,
        forms: &mut Forms,
        req: &ExecuteRequest,
        p: Prepared,
        version: u64,
    ) -> Result<usize, FormError> {
        let position = self.base + self.events.len() as u64 + 1;
        let id_bytes = ids.next_id(self.timestamp);
        let mut event = Event {
            id: format_event_id(&id_bytes),
            stream_id: req.stream_id.clone(),
            stream_type: req.stream_type.clone(),
            event_type: p.event_type,
            data: p.data,
            metadata: p.metadata,
            timestamp: self.timestamp,
            version,
            position,
            hash: String::new(),
            erased: Vec::new(),
        };
        let sealed = forms.to_stored_form(&EventView::of(&event), self.seal)?;
        if let Some(metadata) = sealed.metadata {
            event.metadata = metadata;
        }
        let plain = sealed
            .data
            .map(|stored| (std::mem::replace(&mut event.data, stored.data), stored.under));
        let hash = event_hash(&self.prev_hash, &event.fields(), &mut self.scratch);
        event.hash = hash.to_hex();
        self.prev_hash = hash;
        self.raw.push((id_bytes, hash.0));
        self.events.push(event);
        self.plain.push(plain);
        Ok(self.events.len() - 1)
    }

    /// The read form of stamped event `i` (as decided: at its latest version, personal data
    /// in the clear): what the batch's folds see.
    pub(super) fn read_view(&self, i: usize) -> Option<EventView<'_>> {
        let e = EventView::of(self.events.get(i)?);
        Some(match self.plain.get(i) {
            Some(Some((plain, _))) => e.with_form(e.event_type, plain.as_str(), e.metadata, &[]),
            _ => e,
        })
    }

    /// The events of the batch whose personal data was sealed: each one's position and the
    /// subject and key generation it was sealed under.
    pub(super) fn sealed_under(&self) -> impl Iterator<Item = (u64, &(String, u32))> + '_ {
        self.plain
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|(_, under)| (self.base + i as u64 + 1, under)))
    }

    /// The current end of the batch.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            len: self.events.len(),
            prev_hash: self.prev_hash,
        }
    }

    /// Drops every event stamped since `mark`.
    pub(super) fn rollback(&mut self, mark: Mark) {
        self.events.truncate(mark.len);
        self.raw.truncate(mark.len);
        self.plain.truncate(mark.len);
        self.prev_hash = mark.prev_hash;
    }
}
