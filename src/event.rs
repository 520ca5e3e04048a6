//! The event model: what a `decide` produces ([`NewEvent`]), what the log holds and the host
//! stores ([`Event`]), its JSON record, and the checks on names that every event passes.
//! How an event is hashed, and how a stored record is checked, is [`crate::integrity`].
//!
//! ```text
//! id          UUID v7, unique across the log
//! streamId    1..=256 UTF-16 code units, the aggregate's id
//! streamType  the aggregate type, fixed by the stream's first event
//! type        the event type
//! data        a plain JSON object (kept in canonical form)
//! metadata    a plain JSON object (plus commandId when given)
//! timestamp   ms since the epoch, never decreasing along the log
//! version     1, 2, 3... within the stream
//! position    1, 2, 3... within the whole log
//! hash        hex(SHA-256(prevHash ‖ JCS(event without hash)))
//! ```

use serde_json::{Map, Value};

use crate::canonical::{write_i64, write_string, write_u64, CanonicalJson};
use crate::error::ValidationError;

/// Longest stream id, stream type, event type, projection name or command id, counted in
/// UTF-16 code units as JavaScript's `length` counts them.
pub const MAX_NAME_LEN: usize = 256;

/// Largest `data` plus `metadata` of one event, in bytes of canonical JSON (1 MiB).
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// An event's data as a `decide` gives it: a JSON value (it must be an object), or an
/// object already in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    Json(Value),
    Canonical(CanonicalJson),
}

impl From<Value> for EventData {
    fn from(v: Value) -> Self {
        EventData::Json(v)
    }
}

impl From<CanonicalJson> for EventData {
    fn from(v: CanonicalJson) -> Self {
        EventData::Canonical(v)
    }
}

/// An event as a `decide` returns it, before the engine stamps it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub data: EventData,
    /// Extra metadata for this event; merged over the command's metadata.
    pub metadata: Option<Map<String, Value>>,
}

impl NewEvent {
    /// An event of `event_type` with `data` (a JSON object, or canonical JSON).
    pub fn new(event_type: impl Into<String>, data: impl Into<EventData>) -> Self {
        Self {
            event_type: event_type.into(),
            data: data.into(),
            metadata: None,
        }
    }
}

/// A committed (or stored) event with every field of the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// UUID v7, lowercase, hyphenated.
    pub id: String,
    pub stream_id: String,
    pub stream_type: String,
    pub event_type: String,
    pub data: CanonicalJson,
    pub metadata: CanonicalJson,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub version: u64,
    pub position: u64,
    /// 64 lowercase hex characters.
    pub hash: String,
    /// Read form only (never stored, never hashed): the personal-data fields that read as
    /// `null` because their subject was forgotten. Empty in the stored form.
    pub erased: Vec<String>,
}

/// What the host stores: exactly the committed event.
pub type StoredEvent = Event;

impl Event {
    /// The event as a JSON object (the shape JavaScript sees).
    pub fn to_json_string(&self) -> String {
        let mut out = String::with_capacity(256 + self.data.len() + self.metadata.len());
        write_event_record(&mut out, &self.fields(), &self.hash);
        write_erased(&mut out, &self.erased);
        out
    }

    /// The fields that are encoded and hashed (all but the hash).
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            id: &self.id,
            stream_id: &self.stream_id,
            stream_type: &self.stream_type,
            event_type: &self.event_type,
            data: self.data.as_str(),
            metadata: self.metadata.as_str(),
            timestamp: self.timestamp,
            version: self.version,
            position: self.position,
        }
    }

    /// The `commandId` in the metadata, if any.
    pub fn command_id(&self) -> Option<String> {
        command_id_of(&self.metadata)
    }
}

/// Borrowed fields of an event, in one place for encoding (the record here, the hashed
/// canonical text in [`crate::integrity`]).
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'a> {
    pub id: &'a str,
    pub stream_id: &'a str,
    pub stream_type: &'a str,
    pub event_type: &'a str,
    pub data: &'a str,
    pub metadata: &'a str,
    pub timestamp: i64,
    pub version: u64,
    pub position: u64,
}

/// Writes the event as the JSON object JavaScript sees, fields in the contract's order
/// (id, streamId, streamType, type, data, metadata, timestamp, version, position, hash).
pub fn write_event_record(out: &mut String, e: &EventFields<'_>, hash: &str) {
    out.push_str("{\"id\":");
    write_string(out, e.id);
    out.push_str(",\"streamId\":");
    write_string(out, e.stream_id);
    out.push_str(",\"streamType\":");
    write_string(out, e.stream_type);
    out.push_str(",\"type\":");
    write_string(out, e.event_type);
    out.push_str(",\"data\":");
    out.push_str(e.data);
    out.push_str(",\"metadata\":");
    out.push_str(e.metadata);
    out.push_str(",\"timestamp\":");
    write_i64(out, e.timestamp);
    out.push_str(",\"version\":");
    write_u64(out, e.version);
    out.push_str(",\"position\":");
    write_u64(out, e.position);
    out.push_str(",\"hash\":");
    // Escaped like every string: an event decoded from a hostile storage may carry anything.
    write_string(out, hash);
    out.push('}');
}

/// Adds `"erased":[…]` to a record [`write_event_record`] just wrote, when `erased` is not
/// empty (the read form of an event whose subject was forgotten).
pub fn write_erased(out: &mut String, erased: &[String]) {
    if erased.is_empty() || !out.ends_with('}') {
        return;
    }
    out.pop();
    out.push_str(",\"erased\":[");
    for (i, field) in erased.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, field);
    }
    out.push_str("]}");
}

/// The fields of a stored event record, exactly (checked by [`crate::integrity::decode_record`]).
pub const EVENT_FIELDS: [&str; 10] = [
    "id",
    "streamId",
    "streamType",
    "type",
    "data",
    "metadata",
    "timestamp",
    "version",
    "position",
    "hash",
];

/// Reads `commandId` from canonical metadata without parsing it when it cannot be there.
pub fn command_id_of(metadata: &CanonicalJson) -> Option<String> {
    if !metadata.as_str().contains("\"commandId\"") {
        return None;
    }
    match metadata.to_value().get("commandId") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Checks a name (stream id, stream type, event type, projection name, command id):
/// 1..=256 UTF-16 code units.
pub fn validate_name(what: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(format!("{what} must be a non-empty string")));
    }
    let len = utf16_len(value);
    if len > MAX_NAME_LEN {
        return Err(ValidationError::new(format!(
            "{what} must be at most {MAX_NAME_LEN} characters, got {len}"
        )));
    }
    Ok(())
}

/// Which streams a command may write to, by the stream's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpectedVersion {
    /// No check (the default).
    #[default]
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream must have at least one event.
    Exists,
    /// The stream must be at exactly this version (0 = no events).
    Exact(u64),
}

impl ExpectedVersion {
    /// Does a stream at `actual` satisfy this expectation?
    pub fn matches(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exists => actual > 0,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }

    /// The JavaScript spelling: `'any'`, `'no_stream'`, `'exists'` or the number.
    pub fn describe(self) -> String {
        match self {
            ExpectedVersion::Any => "any".into(),
            ExpectedVersion::NoStream => "no_stream".into(),
            ExpectedVersion::Exists => "exists".into(),
            ExpectedVersion::Exact(v) => v.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_counted_in_utf16_units() {
        assert!(validate_name("streamId", "").is_err());
        assert!(validate_name("streamId", &"a".repeat(256)).is_ok());
        assert!(validate_name("streamId", &"a".repeat(257)).is_err());
        // 128 emoji = 256 UTF-16 units: fine; 129 is not.
        assert!(validate_name("streamId", &"😀".repeat(128)).is_ok());
        assert!(validate_name("streamId", &"😀".repeat(129)).is_err());
    }

    #[test]
    fn expected_versions() {
        assert!(ExpectedVersion::Any.matches(7));
        assert!(ExpectedVersion::NoStream.matches(0));
        assert!(!ExpectedVersion::NoStream.matches(1));
        assert!(ExpectedVersion::Exists.matches(1));
        assert!(!ExpectedVersion::Exists.matches(0));
        assert!(ExpectedVersion::Exact(3).matches(3));
        assert!(!ExpectedVersion::Exact(3).matches(2));
    }
}
