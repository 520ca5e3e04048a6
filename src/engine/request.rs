//! What a caller hands the engine ([`ExecuteRequest`]) and what it gets back
//! ([`ExecuteResult`], [`Loaded`]).

use serde_json::{Map, Value};

use crate::decider::Command;
use crate::error::ValidationError;
use crate::event::{validate_name, Event, ExpectedVersion, MAX_EVENT_BYTES};

/// A command to execute.
///
/// ```
/// use eventjournal::{decider::Command, event::ExpectedVersion, ExecuteRequest};
/// let command = Command::from_value(serde_json::json!({"type": "deposit", "amount": 500})).unwrap();
/// let request = ExecuteRequest::new("BankAccount", "account_001", command)
///     .expected_version(ExpectedVersion::Exact(2))
///     .command_id("deposit-1");
/// assert_eq!(request.command_id.as_deref(), Some("deposit-1"));
/// ```
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    pub stream_type: String,
    pub stream_id: String,
    pub command: Command,
    pub expected_version: ExpectedVersion,
    /// Copied into every event's metadata.
    pub metadata: Map<String, Value>,
    /// Idempotency key: a repeat resolves to the first result and appends nothing.
    pub command_id: Option<String>,
}

impl ExecuteRequest {
    /// A request with default options.
    pub fn new(stream_type: impl Into<String>, stream_id: impl Into<String>, command: Command) -> Self {
        ExecuteRequest {
            stream_type: stream_type.into(),
            stream_id: stream_id.into(),
            command,
            expected_version: ExpectedVersion::Any,
            metadata: Map::new(),
            command_id: None,
        }
    }

    pub fn expected_version(mut self, v: ExpectedVersion) -> Self {
        self.expected_version = v;
        self
    }

    pub fn command_id(mut self, id: impl Into<String>) -> Self {
        self.command_id = Some(id.into());
        self
    }

    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = metadata;
        self
    }

    /// Checks names and sizes, and settles `commandId` between the option and the metadata.
    pub(super) fn validate(&mut self) -> Result<(), ValidationError> {
        validate_name("streamType", &self.stream_type)?;
        validate_name("streamId", &self.stream_id)?;
        let in_metadata = match self.metadata.get("commandId") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ValidationError::new("metadata.commandId must be a string")),
        };
        match (&self.command_id, in_metadata) {
            (Some(a), Some(b)) if *a != b => {
                return Err(ValidationError::new(format!(
                    "commandId '{a}' differs from metadata.commandId '{b}'"
                )))
            }
            (None, Some(b)) => self.command_id = Some(b),
            _ => {}
        }
        if let Some(cid) = &self.command_id {
            validate_name("commandId", cid)?;
        }
        let size = crate::canonical::CanonicalJson::from_map(&self.metadata, "metadata").map_or(0, |m| m.len());
        if size > MAX_EVENT_BYTES {
            return Err(ValidationError::new(format!(
                "metadata is {size} bytes; the limit is {MAX_EVENT_BYTES}"
            )));
        }
        Ok(())
    }
}

/// What `execute` resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteResult {
    /// The events the command appended (the first result's events for a repeat).
    pub events: Vec<Event>,
    /// The stream's version after the command.
    pub version: u64,
    /// The position of the command's last event (the head, when it appended nothing).
    pub position: u64,
}

/// An aggregate's state, loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The state as JSON text.
    pub state: String,
    pub version: u64,
}
