//! Aggregates and projections written in JavaScript, behind the core's `Aggregate` and
//! `AnyProjection` traits.
//!
//! States are plain JSON held as JavaScript values. `decide` gets a deep copy (so it cannot
//! corrupt the cached state), snapshots are deep copies (so an `evolve` that mutates its
//! argument cannot change history), and states leave the engine as JSON copies.

use js_sys::{Array, Function, Reflect, JSON};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::decider::{Aggregate, AnyState, Command};
use crate::error::{DecideError, Error, Rejection, StateError};
use crate::event::NewEvent;
use crate::filter::EventFilter;
use crate::log::EventView;
use crate::projection::{query_json, AnyProjection};

use super::convert::{self, get, type_of};
use super::errors::{code_of, message_of};

/// A state held as a JavaScript value.
struct JsState(JsValue);

const WRONG_STATE: &str = "internal: state of an unexpected type";

fn js_state(s: &AnyState) -> Result<&JsValue, StateError> {
    s.downcast_ref::<JsState>()
        .map(|s| &s.0)
        .ok_or_else(|| WRONG_STATE.into())
}

/// `structuredClone(v)`, or a JSON round trip where it does not exist.
fn deep_clone(v: &JsValue) -> Result<JsValue, StateError> {
    if !v.is_object() {
        return Ok(v.clone());
    }
    let global = js_sys::global();
    if let Ok(f) = Reflect::get(&global, &JsValue::from_str("structuredClone")).and_then(|f| f.dyn_into::<Function>()) {
        return f.call1(&global, v).map_err(|e| {
            StateError::new(format!(
                "the state cannot be copied (states must be plain JSON): {}",
                message_of(&e)
            ))
        });
    }
    let text = JSON::stringify(v).map_err(|e| StateError::new(message_of(&e)))?;
    JSON::parse(&String::from(text)).map_err(|e| StateError::new(message_of(&e)))
}

/// The initial state: the value (copied) or what the function returns.
fn initial(initial: &JsValue) -> Result<JsValue, StateError> {
    match initial.dyn_ref::<Function>() {
        Some(f) => f
            .call0(&JsValue::UNDEFINED)
            .map_err(|e| StateError::new(format!("initialState() threw: {}", message_of(&e)))),
        None => deep_clone(initial),
    }
}

pub(super) fn event_js(e: &EventView<'_>) -> JsValue {
    let mut text = String::with_capacity(256 + e.data.len() + e.metadata.len());
    e.write_json(&mut text);
    convert::parse(&text)
}

fn state_text(v: &JsValue) -> Result<String, StateError> {
    match JSON::stringify(v) {
        Ok(s) => Ok(s.as_string().unwrap_or_else(|| "null".to_owned())),
        Err(e) => Err(StateError::new(format!(
            "the state is not JSON-serializable: {}",
            message_of(&e)
        ))),
    }
}

/// A definition's initial state, checked once when it is defined.
fn checked_initial(initial_state: &JsValue) -> Result<(), Error> {
    let probe = initial(initial_state).map_err(|e| Error::validation(e.message))?;
    state_text(&probe).map_err(|e| Error::validation(e.message))?;
    Ok(())
}

/// An aggregate type defined with `engine.defineAggregate(type, { initialState, decide, evolve })`.
pub struct JsAggregate {
    initial_state: JsValue,
    decide: Function,
    evolve: Function,
}

impl JsAggregate {
    pub fn from_definition(def: &JsValue) -> Result<Self, Error> {
        convert::options(def, "the aggregate definition")?;
        if def.is_undefined() || def.is_null() {
            return Err(Error::validation(
                "defineAggregate needs { initialState, decide, evolve }",
            ));
        }
        let decide =
            convert::opt_function(def, "decide")?.ok_or_else(|| Error::validation("decide must be a function"))?;
        let evolve =
            convert::opt_function(def, "evolve")?.ok_or_else(|| Error::validation("evolve must be a function"))?;
        let initial_state = get(def, "initialState")?;
        // Check the initial state once, now, rather than on the first command.
        checked_initial(&initial_state)?;
        Ok(JsAggregate {
            initial_state,
            decide,
            evolve,
        })
    }
}

fn decided_events(returned: JsValue) -> Result<Vec<NewEvent>, Rejection> {
    if !Array::is_array(&returned) {
        return Err(Rejection::validation(format!(
            "decide must return an array of {{ type, data, metadata? }} (return [] for no events), got {}",
            type_of(&returned)
        )));
    }
    let value =
        convert::to_value(&returned, "the events decide returned").map_err(|e| Rejection::validation(e.message()))?;
    let Value::Array(items) = value else {
        return Err(Rejection::validation("decide must return an array"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| decided_event(i, item))
        .collect()
}

/// Event `#i` of what `decide` returned: `{ type, data?, metadata? }`.
fn decided_event(i: usize, item: Value) -> Result<NewEvent, Rejection> {
    let Value::Object(mut fields) = item else {
        return Err(Rejection::validation(format!(
            "decide's event #{i} must be an object {{ type, data }}"
        )));
    };
    let Some(Value::String(event_type)) = fields.remove("type") else {
        return Err(Rejection::validation(format!(
            "decide's event #{i} needs a string 'type'"
        )));
    };
    let data = match fields.remove("data") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            return Err(Rejection::validation(format!(
                "decide's event #{i} ('{event_type}'): data must be an object"
            )))
        }
    };
    let metadata = match fields.remove("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            return Err(Rejection::validation(format!(
                "decide's event #{i} ('{event_type}'): metadata must be an object"
            )))
        }
    };
    Ok(NewEvent {
        event_type,
        data: data.into(),
        metadata,
    })
}

impl Aggregate for JsAggregate {
    fn initial_state(&self) -> Result<AnyState, StateError> {
        initial(&self.initial_state).map(|v| AnyState::new(JsState(v)))
    }

    /// A thrown error is a refusal: a `ValidationError` if its `code` says so, else a
    /// `DomainError`. A state that cannot be copied is the aggregate's bug.
    fn decide(&self, state: &AnyState, command: &Command) -> Result<Vec<NewEvent>, DecideError> {
        let state = deep_clone(js_state(state)?)?;
        let command = convert::parse(&crate::canonical::to_text(&command.to_value()).unwrap_or_default());
        match self.decide.call2(&JsValue::UNDEFINED, &state, &command) {
            Ok(returned) => Ok(decided_events(returned)?),
            Err(thrown) => {
                let message = message_of(&thrown);
                match code_of(&thrown).as_deref() {
                    Some("VALIDATION") => Err(DecideError::validation(message)),
                    Some("INTERNAL") => Err(DecideError::internal(message)),
                    _ => Err(DecideError::domain(message)),
                }
            }
        }
    }

    fn evolve(&self, state: AnyState, event: &EventView<'_>) -> Result<AnyState, StateError> {
        let state = state.downcast::<JsState>().map_err(|_| StateError::new(WRONG_STATE))?;
        let next = self
            .evolve
            .call2(&JsValue::UNDEFINED, &state.0, &event_js(event))
            .map_err(|e| StateError::new(message_of(&e)))?;
        if next.is_undefined() {
            return Err("evolve must return the next state (it returned undefined)".into());
        }
        Ok(AnyState::new(JsState(next)))
    }

    fn clone_state(&self, state: &AnyState) -> Result<AnyState, StateError> {
        deep_clone(js_state(state)?).map(|v| AnyState::new(JsState(v)))
    }

    fn state_json(&self, state: &AnyState) -> Result<String, StateError> {
        state_text(js_state(state)?)
    }
}

/// A projection defined with `engine.defineProjection(name, { initialState, evolve, filter })`.
pub struct JsProjection {
    initial_state: JsValue,
    evolve: Function,
    filter: EventFilter,
    /// Size of the state, as JSON, when it was last copied for a snapshot: snapshots are
    /// spaced in proportion (see `weight`), which keeps their memory linear in the log even
    /// when the state grows with it.
    last_size: std::cell::Cell<usize>,
}

impl JsProjection {
    pub fn from_definition(def: &JsValue) -> Result<Self, Error> {
        convert::options(def, "the projection definition")?;
        if def.is_undefined() || def.is_null() {
            return Err(Error::validation(
                "defineProjection needs { initialState, evolve, filter? }",
            ));
        }
        let evolve =
            convert::opt_function(def, "evolve")?.ok_or_else(|| Error::validation("evolve must be a function"))?;
        let initial_state = get(def, "initialState")?;
        checked_initial(&initial_state)?;
        let filter_value = get(def, "filter")?;
        convert::options(&filter_value, "filter")?;
        Ok(JsProjection {
            initial_state,
            evolve,
            filter: convert::filter(&filter_value)?,
            last_size: std::cell::Cell::new(0),
        })
    }
}

impl AnyProjection for JsProjection {
    fn initial_state(&self) -> Result<AnyState, StateError> {
        initial(&self.initial_state).map(|v| AnyState::new(JsState(v)))
    }

    fn filter(&self) -> EventFilter {
        self.filter.clone()
    }

    fn evolve(&self, state: &mut AnyState, event: &EventView<'_>) -> Result<(), StateError> {
        let current = js_state(state)?.clone();
        let next = self
            .evolve
            .call2(&JsValue::UNDEFINED, &current, &event_js(event))
            .map_err(|e| StateError::new(message_of(&e)))?;
        if next.is_undefined() {
            return Err("evolve must return the next state (it returned undefined)".into());
        }
        *state = AnyState::new(JsState(next));
        Ok(())
    }

    fn clone_state(&self, state: &AnyState) -> Result<AnyState, StateError> {
        // A JSON round trip: the copy, and the state's size for `weight`.
        let text = state_text(js_state(state)?)?;
        self.last_size.set(self.last_size.get().max(text.len()));
        JSON::parse(&text)
            .map(|v| AnyState::new(JsState(v)))
            .map_err(|e| StateError::new(message_of(&e)))
    }

    fn state_json(&self, state: &AnyState) -> Result<String, StateError> {
        state_text(js_state(state)?)
    }

    /// About one "record" per 64 bytes of the state's JSON at the last snapshot.
    fn weight(&self, _state: &AnyState) -> usize {
        self.last_size.get() / 64
    }

    fn query(&self, state: &AnyState, filter: &Map<String, Value>) -> Result<String, StateError> {
        query_json(&self.state_json(state)?, filter)
    }
}
