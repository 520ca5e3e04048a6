//! The outbox: the commands a synced engine accepted and the server has not yet answered
//! for good, persisted in the engine's storage before `execute` resolves (so a reload or a
//! crash loses none), pushed in order, and removed once the server's log holds them or the
//! server refused them.
//!
//! An entry as the storage keeps it (JSON, one per `commandId`, read back in `seq` order):
//!
//! ```text
//! { commandId, seq, streamType, streamId, command, expectedVersion, metadata,
//!   issuedAt, issuer, outcome? }
//! ```
//!
//! `issuer` is the id of the engine instance that issued the command; `outcome`
//! (`{ error: { name, code, message, ... } }`) is a refusal written for an issuer that is
//! alive elsewhere (another tab), which reports it and deletes the entry.

use serde_json::{json, Map, Value};

use crate::decider::Command;
use crate::error::{Error, StorageError, StorageFailure};
use crate::event::ExpectedVersion;
use crate::ExecuteRequest;

use super::answer::{refusal_from_wire, refusal_to_wire};

/// One command of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// The command as `execute` was given it; `command_id` is always set.
    pub request: ExecuteRequest,
    /// Order of the outbox (increasing in issue order).
    pub seq: u64,
    /// When it was issued (ms since the epoch): the timestamp of its optimistic events.
    pub issued_at: i64,
    /// The engine instance that issued it.
    pub issuer: String,
    /// A final refusal kept for its issuer to report.
    pub outcome: Option<Error>,
}

impl OutboxEntry {
    /// The command id.
    pub fn command_id(&self) -> &str {
        self.request.command_id.as_deref().unwrap_or_default()
    }

    /// The entry as the storage keeps it.
    pub fn to_json(&self) -> Value {
        let r = &self.request;
        let mut v = json!({
            "commandId": self.command_id(),
            "seq": self.seq,
            "streamType": r.stream_type,
            "streamId": r.stream_id,
            "command": r.command.to_value(),
            "expectedVersion": expected_to_json(r.expected_version),
            "metadata": Value::Object(r.metadata.clone()),
            "issuedAt": self.issued_at,
            "issuer": self.issuer,
        });
        if let (Some(error), Value::Object(map)) = (&self.outcome, &mut v) {
            map.insert("outcome".into(), json!({ "error": refusal_to_wire(error) }));
        }
        v
    }

    /// An entry read back from the storage; anything malformed is a `StorageError`
    /// (`reason: 'malformed'`) naming the field.
    pub fn from_json(value: &Value) -> Result<OutboxEntry, StorageError> {
        let bad = |m: String| StorageError::new(StorageFailure::Malformed, format!("outbox entry: {m}"));
        let Value::Object(o) = value else {
            return Err(bad("not an object".into()));
        };
        let text = |key: &str| match o.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(bad(format!("{key} must be a non-empty string"))),
        };
        let int = |key: &str| o.get(key).and_then(Value::as_u64).ok_or_else(|| bad(format!("{key} must be a non-negative integer")));
        let command_id = text("commandId")?;
        let command = Command::from_value(o.get("command").cloned().unwrap_or(Value::Null))
            .map_err(|e| bad(format!("{command_id}: {}", e.message)))?;
        let metadata = match o.get("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(bad(format!("{command_id}: metadata must be an object"))),
        };
        let expected = expected_from_json(o.get("expectedVersion"))
            .ok_or_else(|| bad(format!("{command_id}: expectedVersion is not 'any', 'no_stream', 'exists' or a number")))?;
        let outcome = match o.get("outcome") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.get("error")
                    .and_then(refusal_from_wire)
                    .ok_or_else(|| bad(format!("{command_id}: outcome is not a refusal")))?,
            ),
        };
        let mut request = ExecuteRequest::new(text("streamType")?, text("streamId")?, command)
            .expected_version(expected)
            .metadata(metadata);
        request.command_id = Some(command_id);
        Ok(OutboxEntry {
            request,
            seq: int("seq")?,
            issued_at: int("issuedAt")? as i64,
            issuer: text("issuer")?,
            outcome,
        })
    }
}

/// `'any'`, `'no_stream'`, `'exists'` or the version.
pub fn expected_to_json(v: ExpectedVersion) -> Value {
    match v {
        ExpectedVersion::Exact(n) => json!(n),
        other => Value::String(other.describe()),
    }
}

fn expected_from_json(v: Option<&Value>) -> Option<ExpectedVersion> {
    match v {
        None | Some(Value::Null) => Some(ExpectedVersion::Any),
        Some(Value::String(s)) => match s.as_str() {
            "any" => Some(ExpectedVersion::Any),
            "no_stream" => Some(ExpectedVersion::NoStream),
            "exists" => Some(ExpectedVersion::Exists),
            _ => None,
        },
        Some(n) => n.as_u64().map(ExpectedVersion::Exact),
    }
}

/// Where a synced engine keeps its outbox: optional methods of the storage, needed only with
/// sync (`readOutbox`, `writeOutbox`, `deleteOutbox` of a JavaScript adapter).
#[allow(async_fn_in_trait)]
pub trait OutboxStore {
    /// False when the storage cannot keep an outbox (then the engine cannot sync).
    fn has_outbox(&self) -> bool {
        true
    }

    /// Every entry, in `seq` order.
    async fn read_outbox(&self) -> Result<Vec<OutboxEntry>, Error>;

    /// Inserts the entry, or replaces the one with its `commandId`.
    async fn write_outbox(&self, entry: &OutboxEntry) -> Result<(), StorageError>;

    /// Deletes the entries with these `commandId`s (unknown ones are ignored).
    async fn delete_outbox(&self, command_ids: &[String]) -> Result<(), StorageError>;
}

/// The outbox of [`crate::storage::MemoryStorage`] (and of test storages): entries as JSON.
#[derive(Debug, Default, Clone)]
pub struct MemoryOutbox {
    entries: Vec<Value>,
}

impl MemoryOutbox {
    pub fn read(&self) -> Result<Vec<OutboxEntry>, Error> {
        let mut out: Vec<OutboxEntry> = self
            .entries
            .iter()
            .map(OutboxEntry::from_json)
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    pub fn write(&mut self, entry: &OutboxEntry) {
        let id = entry.command_id();
        self.entries.retain(|e| e.get("commandId").and_then(Value::as_str) != Some(id));
        self.entries.push(entry.to_json());
    }

    pub fn delete(&mut self, command_ids: &[String]) {
        self.entries.retain(|e| {
            let id = e.get("commandId").and_then(Value::as_str).unwrap_or_default();
            !command_ids.iter().any(|c| c == id)
        });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
