//! [`EventView`]: a borrowed view of one event, committed in the log or still pending in a
//! batch. Deciders, projections and subscribers read events through it; committed views
//! also carry the log's interned names ([`Syms`]) for fast matching and keys.

use std::borrow::Cow;
use std::rc::Rc;

use serde::de::DeserializeOwned;

use super::{NameSym, StreamSym};
use crate::canonical::CanonicalJson;
use crate::error::StateError;
use crate::event::{write_erased, write_event_record, Event, EventFields};
use crate::integrity::{format_event_id, Hash};

/// A borrowed view of one event, whether committed in the log or still pending in a batch.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    pub stream_id: &'a str,
    pub stream_type: &'a str,
    pub event_type: &'a str,
    /// Canonical JSON object text.
    pub data: &'a str,
    /// Canonical JSON object text.
    pub metadata: &'a str,
    pub timestamp: i64,
    pub version: u64,
    pub position: u64,
    pub(super) id: IdRef<'a>,
    pub(super) hash: HashRef<'a>,
    /// Where the event sits in the log (`None` while it is pending in a batch).
    pub(super) syms: Option<Syms<'a>>,
    /// Read form only: the personal-data fields that read as `null` because their subject
    /// was forgotten (see [`crate::forms`]).
    pub erased: &'a [String],
}

/// The event-type symbol of a view whose type was renamed by an upcaster: filters compare
/// its type by name.
pub const RENAMED: NameSym = NameSym::MAX;

/// A committed event's interned names, for fast matching and keys.
#[derive(Debug, Clone, Copy)]
pub struct Syms<'a> {
    pub stream: StreamSym,
    /// The log's shared copy of the stream id (cloning it does not allocate).
    pub stream_id: &'a Rc<str>,
    pub stream_type: NameSym,
    pub event_type: NameSym,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum IdRef<'a> {
    Bytes(&'a [u8; 16]),
    Text(&'a str),
}

#[derive(Debug, Clone, Copy)]
pub(super) enum HashRef<'a> {
    Bytes(&'a [u8; 32]),
    Text(&'a str),
}

impl<'a> EventView<'a> {
    /// A view of an owned event (one not yet in the log).
    pub fn of(e: &'a Event) -> Self {
        EventView {
            stream_id: &e.stream_id,
            stream_type: &e.stream_type,
            event_type: &e.event_type,
            data: e.data.as_str(),
            metadata: e.metadata.as_str(),
            timestamp: e.timestamp,
            version: e.version,
            position: e.position,
            id: IdRef::Text(&e.id),
            hash: HashRef::Text(&e.hash),
            syms: None,
            erased: &e.erased,
        }
    }

    /// The same event in another form (its read form: upcast, decrypted): the given type,
    /// data, metadata and erased fields, everything else as it is. A changed type is marked
    /// [`RENAMED`] for filters.
    pub fn with_form<'b>(
        &self,
        event_type: &'b str,
        data: &'b str,
        metadata: &'b str,
        erased: &'b [String],
    ) -> EventView<'b>
    where
        'a: 'b,
    {
        // The same text (most often the very same slice) is no rename.
        let renamed = !std::ptr::eq(event_type, self.event_type) && event_type != self.event_type;
        EventView {
            event_type,
            data,
            metadata,
            erased,
            syms: self.syms.map(|s| Syms {
                event_type: if renamed { RENAMED } else { s.event_type },
                ..s
            }),
            ..*self
        }
    }

    /// The interned names of a committed event (`None` while it is pending).
    pub fn syms(&self) -> Option<Syms<'a>> {
        self.syms
    }

    /// The view with provisional symbols: a pending event folded into a copy of a projection
    /// whose rows are keyed by stream symbol (see `Projections::with_pending`).
    pub fn with_syms(mut self, syms: Syms<'a>) -> Self {
        self.syms = Some(syms);
        self
    }

    /// The raw JSON text of a top-level field of `data` (see [`crate::canonical::field`]).
    pub fn field(&self, key: &str) -> Option<&'a str> {
        crate::canonical::field(self.data, key)
    }

    /// A field of `data` that is a non-negative safe integer.
    pub fn u64_field(&self, key: &str) -> Option<u64> {
        self.field(key).and_then(crate::canonical::as_u64)
    }

    /// A field of `data` that is a string.
    pub fn str_field(&self, key: &str) -> Option<Cow<'a, str>> {
        self.field(key).and_then(crate::canonical::as_str)
    }

    /// The event id (lowercase hyphenated UUID).
    pub fn id(&self) -> String {
        match self.id {
            IdRef::Bytes(b) => format_event_id(b),
            IdRef::Text(s) => s.to_owned(),
        }
    }

    /// The event id, borrowed when the view holds it as text (a pending event's).
    pub fn id_text(&self) -> Cow<'a, str> {
        match self.id {
            IdRef::Bytes(b) => Cow::Owned(format_event_id(b)),
            IdRef::Text(s) => Cow::Borrowed(s),
        }
    }

    /// The hash as 64 hex characters.
    pub fn hash_hex(&self) -> String {
        match self.hash {
            HashRef::Bytes(b) => Hash(*b).to_hex(),
            HashRef::Text(s) => s.to_owned(),
        }
    }

    /// The hash the event carries (`None` if its text is not 64 lowercase hex characters).
    pub fn stored_hash(&self) -> Option<Hash> {
        match self.hash {
            HashRef::Bytes(b) => Some(Hash(*b)),
            HashRef::Text(s) => Hash::from_hex(s),
        }
    }

    /// Deserializes `data` into a typed payload.
    pub fn parse_data<T: DeserializeOwned>(&self) -> Result<T, StateError> {
        serde_json::from_str(self.data).map_err(|e| {
            StateError::new(format!(
                "event {} ({}) has unexpected data: {e}",
                self.position, self.event_type
            ))
        })
    }

    /// The fields used for encoding and hashing, without the id (see [`EventView::id`]).
    pub fn fields(&self) -> EventFields<'a> {
        EventFields {
            id: "",
            stream_id: self.stream_id,
            stream_type: self.stream_type,
            event_type: self.event_type,
            data: self.data,
            metadata: self.metadata,
            timestamp: self.timestamp,
            version: self.version,
            position: self.position,
        }
    }

    /// Writes the event as JSON (with its hash) to `out`.
    pub fn write_json(&self, out: &mut String) {
        let id = self.id();
        let hash = self.hash_hex();
        write_event_record(
            out,
            &EventFields {
                id: &id,
                ..self.fields()
            },
            &hash,
        );
        write_erased(out, self.erased);
    }

    /// An owned copy.
    pub fn to_event(&self) -> Event {
        Event {
            id: self.id(),
            stream_id: self.stream_id.to_owned(),
            stream_type: self.stream_type.to_owned(),
            event_type: self.event_type.to_owned(),
            // The view's text is canonical: it came from a CanonicalJson.
            data: CanonicalJson::from_trusted(self.data),
            metadata: CanonicalJson::from_trusted(self.metadata),
            timestamp: self.timestamp,
            version: self.version,
            position: self.position,
            hash: self.hash_hex(),
            erased: self.erased.to_vec(),
        }
    }
}
