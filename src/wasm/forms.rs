//! Definitions that change how events read, from JavaScript: upcasters
//! (`engine.defineUpcaster(type, { from, up })`), personal data
//! (`engine.definePersonalData(type, { subject, fields })`) and the `{ version }` of an
//! aggregate or projection definition.

use js_sys::Function;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::canonical::{kind_of, CanonicalJson};
use crate::error::{Error, StateError};
use crate::log::EventView;
use crate::personal::PersonalData;
use crate::upcast::{Upcast, Upcaster, MAX_SCHEMA_VERSION};

use super::convert::{self, get, opt_function, opt_strings, options, safe_u64};
use super::errors::message_of;
use super::user_code::event_js;

/// An upcaster written in JavaScript: `up(data, event)` returns the next version's data, or
/// `{ type, data }` to rename the event (into version 1 of `type`).
pub struct JsUpcaster {
    up: Function,
}

/// `{ from, up }`: the version it upcasts from and the step.
pub fn upcaster(def: &JsValue) -> Result<(u32, JsUpcaster), Error> {
    options(def, "the upcaster definition")?;
    let from = get(def, "from")?;
    if convert::is_absent(&from) {
        return Err(Error::validation("defineUpcaster needs { from, up }: from is missing"));
    }
    let from = safe_u64(&from, "from")?;
    if from == 0 || from >= u64::from(MAX_SCHEMA_VERSION) {
        return Err(Error::validation(format!(
            "from must be an integer from 1 to {}, got {from}",
            MAX_SCHEMA_VERSION - 1
        )));
    }
    let up = opt_function(def, "up")?.ok_or_else(|| Error::validation("up must be a function"))?;
    Ok((from as u32, JsUpcaster { up }))
}

impl Upcaster for JsUpcaster {
    fn up(&self, data: CanonicalJson, event: &EventView<'_>) -> Result<Upcast, StateError> {
        let returned = self
            .up
            .call2(&JsValue::UNDEFINED, &convert::parse(data.as_str()), &event_js(event))
            .map_err(|e| StateError::new(format!("up threw: {}", message_of(&e))))?;
        let value = convert::to_value(&returned, "what up returned").map_err(|e| StateError::new(e.message()))?;
        let Value::Object(mut fields) = value else {
            return Err(StateError::new(format!(
                "up must return the next version's data (an object) or {{ type, data }}, got {}",
                kind_of(&value)
            )));
        };
        // Exactly { type: string, data: object } is a rename (to the same type: just data).
        let is_rename = fields.len() == 2
            && fields.get("type").is_some_and(Value::is_string)
            && fields.get("data").is_some_and(Value::is_object);
        if !is_rename {
            return Ok(Upcast::data(Value::Object(fields)));
        }
        let data = fields.remove("data").unwrap_or(Value::Null);
        match fields.remove("type") {
            Some(Value::String(t)) => Ok(Upcast::renamed(t, data)),
            _ => Ok(Upcast::data(data)),
        }
    }
}

/// `{ subject, fields }`: `subject(event)` returns the subject's id (a string); `fields` the
/// names of the event's personal fields.
pub fn personal_data(def: &JsValue) -> Result<PersonalData, Error> {
    options(def, "the personal data definition")?;
    let subject = opt_function(def, "subject")?.ok_or_else(|| Error::validation("subject must be a function"))?;
    if convert::is_absent(&get(def, "fields")?) {
        return Err(Error::validation("fields must be an array of field names"));
    }
    let fields = opt_strings(def, "fields")?;
    let declaration = PersonalData::new(fields, move |e: &EventView<'_>| {
        let returned = subject
            .call1(&JsValue::UNDEFINED, &event_js(e))
            .map_err(|err| StateError::new(format!("it threw: {}", message_of(&err))))?;
        returned
            .as_string()
            .ok_or_else(|| StateError::new(format!("it must return a string, got {}", convert::type_of(&returned))))
    })?;
    Ok(declaration)
}

/// The `{ version }` of a definition (1 when absent).
pub fn definition_version(opts: &JsValue, what: &str) -> Result<u32, Error> {
    options(opts, what)?;
    match convert::opt_positive(opts, "version")? {
        None => Ok(1),
        Some(v) if v <= u64::from(u32::MAX) => Ok(v as u32),
        Some(v) => Err(Error::validation(format!(
            "version must be at most {}, got {v}",
            u32::MAX
        ))),
    }
}
