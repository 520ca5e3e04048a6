//! The event model: what a `decide` produces ([`NewEvent`]), what the log holds and the host
//! stores ([`Event`]), and the checks on names that every event passes.
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

use crate::canonical::{kind_of, write_i64, write_string, write_u64, CanonicalJson, MAX_SAFE_INTEGER};
use crate::error::{Error, IntegrityError, StorageError, StorageFailure, ValidationError};

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
}

/// What the host stores: exactly the committed event.
pub type StoredEvent = Event;

impl Event {
    /// The event as a JSON object (the shape JavaScript sees).
    pub fn to_json_string(&self) -> String {
        let mut out = String::with_capacity(256 + self.data.len() + self.metadata.len());
        write_event_record(
            &mut out,
            &EventFields {
                id: &self.id,
                stream_id: &self.stream_id,
                stream_type: &self.stream_type,
                event_type: &self.event_type,
                data: self.data.as_str(),
                metadata: self.metadata.as_str(),
                timestamp: self.timestamp,
                version: self.version,
                position: self.position,
            },
            &self.hash,
        );
        out
    }

    /// The `commandId` in the metadata, if any.
    pub fn command_id(&self) -> Option<String> {
        command_id_of(&self.metadata)
    }
}

/// Borrowed fields of an event, in one place for encoding.
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

/// Writes the canonical (JCS) text of an event without its hash: the bytes the hash chain
/// hashes. Keys in sorted order; data and metadata are already canonical.
pub fn write_canonical_event(out: &mut String, e: &EventFields<'_>) {
    out.push_str("{\"data\":");
    out.push_str(e.data);
    out.push_str(",\"id\":");
    write_string(out, e.id);
    out.push_str(",\"metadata\":");
    out.push_str(e.metadata);
    out.push_str(",\"position\":");
    write_u64(out, e.position);
    out.push_str(",\"streamId\":");
    write_string(out, e.stream_id);
    out.push_str(",\"streamType\":");
    write_string(out, e.stream_type);
    out.push_str(",\"timestamp\":");
    write_i64(out, e.timestamp);
    out.push_str(",\"type\":");
    write_string(out, e.event_type);
    out.push_str(",\"version\":");
    write_u64(out, e.version);
    out.push('}');
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

/// The fields of a stored event record, exactly.
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

/// Decodes what a storage returned (JSON text of an array of records) into events. Text that
/// is not a JSON array is a `StorageError` (malformed); a record that is not an event is an
/// `IntegrityError` naming the position it should have had (`after + index + 1`).
pub fn stored_events_from_json(text: &str, after: u64) -> Result<Vec<Event>, Error> {
    let records: Vec<Value> = serde_json::from_str(text).map_err(|e| {
        StorageError::new(
            StorageFailure::Malformed,
            format!("readEvents returned something that is not a JSON array of records: {e}"),
        )
    })?;
    records
        .into_iter()
        .enumerate()
        .map(|(i, r)| Event::from_stored(r, after.saturating_add(i as u64 + 1)).map_err(Error::from))
        .collect()
}

impl Event {
    /// Decodes one stored record: an object with exactly the ten fields of the right types.
    /// Content (ids, hashes, versions, the chain) is checked when the log appends it.
    pub fn from_stored(value: Value, expected_position: u64) -> Result<Event, IntegrityError> {
        let bad = |m: String| IntegrityError::at(expected_position, m);
        let Value::Object(mut fields) = value else {
            return Err(bad(format!(
                "stored record is {}, not an event object",
                kind_of(&value)
            )));
        };
        if let Some(extra) = fields.keys().find(|k| !EVENT_FIELDS.contains(&k.as_str())) {
            return Err(bad(format!(
                "stored record has an unexpected field '{}'",
                truncated(extra)
            )));
        }
        let mut take = |k: &str| {
            fields
                .remove(k)
                .ok_or_else(|| bad(format!("stored record lacks the field '{k}'")))
        };
        let text = |k: &str, v: Value| match v {
            Value::String(s) => Ok(s),
            other => Err(bad(format!("field '{k}' must be a string, got {}", kind_of(&other)))),
        };
        let int = |k: &str, v: Value, min: i64| -> Result<i64, IntegrityError> {
            let n = v
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64);
            match n {
                Some(f) if f as i64 >= min => Ok(f as i64),
                _ => Err(bad(format!(
                    "field '{k}' must be an integer ≥ {min}, got {}",
                    truncated(&v.to_string())
                ))),
            }
        };
        let object = |k: &str, v: Value| -> Result<CanonicalJson, IntegrityError> {
            CanonicalJson::from_value(&v, &format!("field '{k}'")).map_err(|e| bad(e.message))
        };
        let id = text("id", take("id")?)?;
        let stream_id = text("streamId", take("streamId")?)?;
        let stream_type = text("streamType", take("streamType")?)?;
        let event_type = text("type", take("type")?)?;
        let data = object("data", take("data")?)?;
        let metadata = object("metadata", take("metadata")?)?;
        let timestamp = int("timestamp", take("timestamp")?, 0)?;
        let version = int("version", take("version")?, 1)? as u64;
        let position = int("position", take("position")?, 1)? as u64;
        let hash = text("hash", take("hash")?)?;
        if data.len() + metadata.len() > MAX_EVENT_BYTES {
            return Err(bad(format!(
                "stored record's data and metadata exceed {MAX_EVENT_BYTES} bytes"
            )));
        }
        Ok(Event {
            id,
            stream_id,
            stream_type,
            event_type,
            data,
            metadata,
            timestamp,
            version,
            position,
            hash,
        })
    }
}

/// At most 80 characters of `s`, for messages about hostile input.
fn truncated(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

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

/// Which events a projection or subscription wants. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Event types; empty = every type.
    pub types: Vec<String>,
    /// Only events of streams of this type.
    pub stream_type: Option<String>,
    /// Only events of this stream.
    pub stream_id: Option<String>,
}

impl EventFilter {
    /// Does an event with these names pass?
    pub fn matches(&self, stream_id: &str, stream_type: &str, event_type: &str) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == event_type))
            && self.stream_type.as_deref().is_none_or(|t| t == stream_type)
            && self.stream_id.as_deref().is_none_or(|s| s == stream_id)
    }

    /// True when the filter lets everything through.
    pub fn is_all(&self) -> bool {
        self.types.is_empty() && self.stream_type.is_none() && self.stream_id.is_none()
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

    #[test]
    fn event_json_is_canonical_without_hash() {
        let fields = EventFields {
            id: "0190b3c4-0000-7000-8000-000000000000",
            stream_id: "acc\"1",
            stream_type: "BankAccount",
            event_type: "money_deposited",
            data: r#"{"amount":5}"#,
            metadata: "{}",
            timestamp: 1_700_000_000_000,
            version: 2,
            position: 9,
        };
        let mut s = String::new();
        write_canonical_event(&mut s, &fields);
        let v: Value = serde_json::from_str(&s).unwrap();
        let mut again = String::new();
        crate::canonical::write_value(&mut again, &v, 0).unwrap();
        assert_eq!(s, again);
    }
}
