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

use serde_json::{Map, Value};

use crate::canonical::{write_i64, write_string, write_u64, CanonicalJson};

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

    /// The entry as the storage keeps it (JSON text).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_json(&mut out, true);
        out
    }

    /// Writes the entry as the storage keeps it (`full`), or the command as
    /// `POST /v1/commands` sends it (`expectedVersion` and `metadata` only when given).
    pub fn write_json(&self, out: &mut String, full: bool) {
        let r = &self.request;
        out.push_str("{\"commandId\":");
        write_string(out, self.command_id());
        out.push_str(",\"streamType\":");
        write_string(out, &r.stream_type);
        out.push_str(",\"streamId\":");
        write_string(out, &r.stream_id);
        out.push_str(",\"command\":");
        write_object(out, r.command.fields());
        if full || r.expected_version != ExpectedVersion::Any {
            out.push_str(",\"expectedVersion\":");
            match r.expected_version {
                ExpectedVersion::Exact(n) => write_u64(out, n),
                other => write_string(out, &other.describe()),
            }
        }
        if full || !r.metadata.is_empty() {
            out.push_str(",\"metadata\":");
            write_object(out, &r.metadata);
        }
        if full {
            out.push_str(",\"seq\":");
            write_u64(out, self.seq);
            out.push_str(",\"issuedAt\":");
            write_i64(out, self.issued_at);
            out.push_str(",\"issuer\":");
            write_string(out, &self.issuer);
            if let Some(error) = &self.outcome {
                out.push_str(",\"outcome\":{\"error\":");
                write_object(out, &refusal_to_wire(error));
                out.push('}');
            }
        }
        out.push('}');
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
        let int = |key: &str| {
            o.get(key)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("{key} must be a non-negative integer")))
        };
        let command_id = text("commandId")?;
        let command = Command::from_value(o.get("command").cloned().unwrap_or(Value::Null))
            .map_err(|e| bad(format!("{command_id}: {}", e.message)))?;
        let metadata = match o.get("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(bad(format!("{command_id}: metadata must be an object"))),
        };
        let expected = expected_from_json(o.get("expectedVersion")).ok_or_else(|| {
            bad(format!(
                "{command_id}: expectedVersion is not 'any', 'no_stream', 'exists' or a number"
            ))
        })?;
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

/// Writes a JSON object (canonical: the engine checked these when they came in).
fn write_object(out: &mut String, map: &Map<String, Value>) {
    match CanonicalJson::from_map(map, "object") {
        Ok(c) => out.push_str(c.as_str()),
        Err(_) => out.push_str("{}"),
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

/// The outbox of [`crate::storage::MemoryStorage`] (and of test storages): entries as the
/// JSON text a storage keeps.
#[derive(Debug, Default, Clone)]
pub struct MemoryOutbox {
    entries: Vec<(String, u64, String)>,
}

impl MemoryOutbox {
    pub fn read(&self) -> Result<Vec<OutboxEntry>, Error> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (_, _, text) in &self.entries {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| StorageError::new(StorageFailure::Malformed, format!("outbox entry: {e}")))?;
            out.push(OutboxEntry::from_json(&value)?);
        }
        Ok(out)
    }

    pub fn write(&mut self, entry: &OutboxEntry) {
        let id = entry.command_id();
        self.entries.retain(|(c, _, _)| c != id);
        let at = self.entries.partition_point(|(_, seq, _)| *seq <= entry.seq);
        self.entries.insert(at, (id.to_owned(), entry.seq, entry.to_json()));
    }

    pub fn delete(&mut self, command_ids: &[String]) {
        self.entries.retain(|(c, _, _)| !command_ids.contains(c));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
