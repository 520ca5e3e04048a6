//! Deciders: the pure domain logic of an aggregate type.
//!
//! A decider has an initial state, a `decide` that turns a command and the current state into
//! new events (or refuses), and an `evolve` that folds one event into the state. Both are
//! synchronous and pure; the engine does all I/O around them.
//!
//! Typed Rust deciders implement [`Decider`]; the registry holds them through the
//! object-safe [`Aggregate`], which is also what the JavaScript binding implements for
//! aggregates defined with `engine.defineAggregate(...)`.

use std::any::Any;
use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::canonical::kind_of;
use crate::error::{DecideError, Rejection, StateError, ValidationError};
use crate::event::{validate_name, NewEvent};
use crate::log::EventView;

/// A command: a JSON object with a string `type`, e.g. `{ type: 'deposit', amount: 5000 }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    kind: String,
    fields: Map<String, Value>,
}

impl Command {
    /// Checks that `value` is an object with a non-empty string `type`.
    pub fn from_value(value: Value) -> Result<Command, ValidationError> {
        let Value::Object(fields) = value else {
            return Err(ValidationError::new(format!(
                "command must be an object with a string 'type', got {}",
                kind_of(&value)
            )));
        };
        let kind = match fields.get("type") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(ValidationError::new(format!(
                    "command.type must be a string, got {}",
                    kind_of(other)
                )))
            }
            None => return Err(ValidationError::new("command.type is missing")),
        };
        validate_name("command.type", &kind)?;
        Ok(Command { kind, fields })
    }

    /// The command's `type`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// A field of the command.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// All fields (including `type`).
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The command as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    /// A required non-empty string field.
    pub fn string(&self, field: &str) -> Result<&str, Rejection> {
        match self.fields.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(Value::String(_)) => Err(Rejection::validation(format!("{field} must not be empty"))),
            Some(other) => Err(Rejection::validation(format!(
                "{field} must be a string, got {}",
                kind_of(other)
            ))),
            None => Err(Rejection::validation(format!("{field} is required"))),
        }
    }

    /// An optional string field (default when missing or null).
    pub fn string_or<'a>(&'a self, field: &str, default: &'a str) -> Result<&'a str, Rejection> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(Rejection::validation(format!(
                "{field} must be a string, got {}",
                kind_of(other)
            ))),
        }
    }
}

impl From<Command> for Value {
    fn from(c: Command) -> Value {
        Value::Object(c.fields)
    }
}

/// A typed decider for an aggregate type written in Rust.
///
/// ```
/// use eventjournal::decider::{Command, Decider};
/// use eventjournal::error::{Rejection, StateError};
/// use eventjournal::event::NewEvent;
/// use eventjournal::log::EventView;
/// use serde_json::json;
///
/// struct Counter;
/// impl Decider for Counter {
///     type State = u64;
///     fn initial_state(&self) -> u64 { 0 }
///     fn decide(&self, _: &u64, c: &Command) -> Result<Vec<NewEvent>, Rejection> {
///         match c.kind() {
///             "increment" => Ok(vec![NewEvent::new("incremented", json!({}))]),
///             other => Err(Rejection::validation(format!("unknown command {other}"))),
///         }
///     }
///     fn evolve(&self, n: u64, _: &EventView<'_>) -> Result<u64, StateError> { Ok(n + 1) }
/// }
/// ```
pub trait Decider: 'static {
    /// The aggregate's state; plain data (it is snapshotted and returned as JSON).
    type State: Clone + Serialize + 'static;

    /// The state of a stream without events.
    fn initial_state(&self) -> Self::State;

    /// Decides the events for `command` (pure).
    fn decide(&self, state: &Self::State, command: &Command) -> Result<Vec<NewEvent>, Rejection>;

    /// Folds one event into the state (pure). An error means the event cannot be applied
    /// (e.g. its data does not have the expected shape).
    fn evolve(&self, state: Self::State, event: &EventView<'_>) -> Result<Self::State, StateError>;

    /// The state as JSON text (what `load` returns). The default writes it with serde_json;
    /// the built-in deciders write theirs with the canonical writer (tests check that both
    /// agree), so that the wasm module carries one JSON writer (BENCHMARKS.md target 10).
    fn state_to_json(state: &Self::State) -> Result<String, StateError> {
        serde_json::to_string(state).map_err(|e| StateError::new(e.to_string()))
    }
}

/// A type-erased aggregate state.
pub struct AnyState(Box<dyn Any>);

impl AnyState {
    pub fn new<T: Any>(value: T) -> Self {
        AnyState(Box::new(value))
    }

    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }

    pub fn downcast_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.0.downcast_mut()
    }

    pub fn downcast<T: Any>(self) -> Result<T, AnyState> {
        self.0.downcast::<T>().map(|b| *b).map_err(AnyState)
    }
}

impl std::fmt::Debug for AnyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnyState")
    }
}

/// The object-safe form of a decider, as the engine's registry holds it. A [`StateError`]
/// from any of these is a bug in the aggregate (the engine reports an `InternalError`).
pub trait Aggregate {
    fn initial_state(&self) -> Result<AnyState, StateError>;
    /// Decides the events for `command`; a refusal, or a state it cannot use.
    fn decide(&self, state: &AnyState, command: &Command) -> Result<Vec<NewEvent>, DecideError>;
    fn evolve(&self, state: AnyState, event: &EventView<'_>) -> Result<AnyState, StateError>;
    /// An independent copy (for snapshots).
    fn clone_state(&self, state: &AnyState) -> Result<AnyState, StateError>;
    /// The state as JSON text.
    fn state_json(&self, state: &AnyState) -> Result<String, StateError>;
}

const WRONG_STATE: &str = "internal: aggregate state of an unexpected type";

impl<D: Decider> Aggregate for D {
    fn initial_state(&self) -> Result<AnyState, StateError> {
        Ok(AnyState::new(Decider::initial_state(self)))
    }

    fn decide(&self, state: &AnyState, command: &Command) -> Result<Vec<NewEvent>, DecideError> {
        let state = state
            .downcast_ref::<D::State>()
            .ok_or_else(|| DecideError::internal(WRONG_STATE))?;
        Ok(Decider::decide(self, state, command)?)
    }

    fn evolve(&self, state: AnyState, event: &EventView<'_>) -> Result<AnyState, StateError> {
        let state = state.downcast::<D::State>().map_err(|_| StateError::new(WRONG_STATE))?;
        Decider::evolve(self, state, event).map(AnyState::new)
    }

    fn clone_state(&self, state: &AnyState) -> Result<AnyState, StateError> {
        state
            .downcast_ref::<D::State>()
            .map(|s| AnyState::new(s.clone()))
            .ok_or_else(|| StateError::new(WRONG_STATE))
    }

    fn state_json(&self, state: &AnyState) -> Result<String, StateError> {
        let state = state
            .downcast_ref::<D::State>()
            .ok_or_else(|| StateError::new(WRONG_STATE))?;
        D::state_to_json(state)
    }
}

/// Aggregate types by name (the `streamType` of their streams), with the version of each
/// definition.
#[derive(Default, Clone)]
pub struct Registry {
    by_name: HashMap<String, (Rc<dyn Aggregate>, u32)>,
}

impl Registry {
    /// Adds an aggregate type (version 1). A name that is already taken is a
    /// [`ValidationError`].
    pub fn register(&mut self, name: &str, aggregate: Rc<dyn Aggregate>) -> Result<(), ValidationError> {
        self.register_version(name, aggregate, 1).map(|_| ())
    }

    /// Adds an aggregate type at a definition `version`. A name already defined may be
    /// defined again only with another version, which replaces it (returns true: the
    /// states built under the old definition must be dropped).
    pub fn register_version(
        &mut self,
        name: &str,
        aggregate: Rc<dyn Aggregate>,
        version: u32,
    ) -> Result<bool, ValidationError> {
        validate_name("streamType", name)?;
        let replaced = match self.by_name.get(name) {
            Some((_, v)) if *v == version => {
                return Err(ValidationError::new(format!(
                    "aggregate type '{name}' is already defined (version {version}; give another {{ version }} to replace it)"
                )))
            }
            Some(_) => true,
            None => false,
        };
        self.by_name.insert(name.to_owned(), (aggregate, version));
        Ok(replaced)
    }

    /// The aggregate type called `name`.
    pub fn get(&self, name: &str) -> Option<Rc<dyn Aggregate>> {
        self.by_name.get(name).map(|(a, _)| a.clone())
    }

    /// Names of all aggregate types, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_need_a_string_type() {
        assert!(Command::from_value(json!({"type": "deposit"})).is_ok());
        assert!(Command::from_value(json!({"type": 5})).is_err());
        assert!(Command::from_value(json!({})).is_err());
        assert!(Command::from_value(json!("deposit")).is_err());
        assert!(Command::from_value(json!({"type": ""})).is_err());
    }
}
