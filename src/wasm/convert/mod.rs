//! Conversions between JavaScript values and the core's types.
//!
//! Values cross the boundary as JSON text: `JSON.stringify` on the way in (which rejects
//! cycles and BigInts, and never runs user code but `toJSON` and getters), `serde_json` in
//! Rust, and one `JSON.parse` on the way out (which yields fresh plain objects, so callers
//! can never mutate the engine's state, and `__proto__` keys stay ordinary own properties).
//! Options are read property by property with `Reflect.get` (`options.rs`: the options of
//! each method). Every failure is a typed error.

use js_sys::{Array, Function, Reflect, JSON};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

mod options;

use crate::canonical::MAX_SAFE_INTEGER;
use crate::engine::ExecuteResult;
use crate::error::{Error, StorageError, StorageFailure, ValidationError};
use crate::event::{Event, MAX_EVENT_BYTES};
use crate::forms::ReadEvent;
use crate::integrity::VerifyReport;
use crate::log::Stats;
use crate::projection::ReplayReport;

pub use options::*;

/// Largest command (or `where`, or options) accepted, as JSON text: an event's data and
/// metadata together may be 1 MiB; a command may carry a little more.
pub const MAX_INPUT_BYTES: usize = 2 * MAX_EVENT_BYTES;

pub(super) fn invalid(message: impl Into<String>) -> Error {
    Error::Validation(ValidationError::new(message))
}

/// `JSON.stringify(value)`, with errors that say what could not be converted.
pub fn stringify(value: &JsValue, what: &str) -> Result<String, Error> {
    match JSON::stringify(value) {
        Ok(s) => s
            .as_string()
            .ok_or_else(|| invalid(format!("{what} is missing or not JSON-serializable"))),
        Err(e) => Err(invalid(format!(
            "{what} cannot be converted to JSON: {}",
            super::errors::message_of(&e)
        ))),
    }
}

#[wasm_bindgen]
extern "C" {
    type TextEncoder;
    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<TextEncoder, JsValue>;
    #[wasm_bindgen(method)]
    fn encode(this: &TextEncoder, text: &js_sys::JsString) -> js_sys::Uint8Array;
    #[wasm_bindgen(method, js_name = encodeInto)]
    fn encode_into(this: &TextEncoder, text: &js_sys::JsString, into: &js_sys::Uint8Array) -> Encoded;
    type Encoded;
    #[wasm_bindgen(method, getter)]
    fn read(this: &Encoded) -> f64;
    #[wasm_bindgen(method, getter)]
    fn written(this: &Encoded) -> f64;
}

thread_local! {
    static ENCODER: Option<TextEncoder> = TextEncoder::new().ok();
}

/// `JSON.stringify(value)` for megabytes (a page of stored records), moved into the module
/// as UTF-8 by `TextEncoder.encodeInto` and one copy: several times faster than passing the
/// string, which wasm-bindgen copies character by character (BENCHMARKS.md, scenario 7).
/// `None` if it is not JSON.
fn stringify_large(value: &JsValue) -> Option<String> {
    let text = JSON::stringify(value).ok()?;
    if !JsValue::from(&text).is_string() {
        return None;
    }
    ENCODER.with(|encoder| {
        let Some(encoder) = encoder else {
            return text.as_string();
        };
        // JSON.stringify escapes lone surrogates, so the bytes are the text's exact UTF-8.
        // Most pages are ASCII, one byte per UTF-16 unit: tried first, into a buffer of
        // that size, then copied into the module in one go.
        let units = text.length();
        let buffer = js_sys::Uint8Array::new_with_length(units);
        let done = encoder.encode_into(&text, &buffer);
        if done.read() as u32 == units {
            let written = buffer.subarray(0, done.written() as u32);
            let mut bytes = vec![0u8; written.length() as usize];
            written.copy_to(&mut bytes);
            String::from_utf8(bytes).ok()
        } else {
            String::from_utf8(encoder.encode(&text).to_vec()).ok()
        }
    })
}

/// A JSON value from a JavaScript value (within [`MAX_INPUT_BYTES`]).
pub fn to_value(value: &JsValue, what: &str) -> Result<Value, Error> {
    let text = stringify(value, what)?;
    if text.len() > MAX_INPUT_BYTES {
        return Err(invalid(format!(
            "{what} is {} bytes as JSON; the limit is {MAX_INPUT_BYTES}",
            text.len()
        )));
    }
    serde_json::from_str(&text).map_err(|e| invalid(format!("{what} is not valid JSON: {e}")))
}

/// A JSON object (map) from a JavaScript object; `null`/`undefined` give an empty map.
pub fn to_map(value: &JsValue, what: &str) -> Result<Map<String, Value>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(Map::new());
    }
    match to_value(value, what)? {
        Value::Object(m) => Ok(m),
        other => Err(invalid(format!(
            "{what} must be a plain object, got {}",
            crate::canonical::kind_of(&other)
        ))),
    }
}

/// `JSON.parse` of text this crate wrote.
pub fn parse(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or(JsValue::NULL)
}

/// A string argument.
pub fn string(value: &JsValue, what: &str) -> Result<String, Error> {
    value
        .as_string()
        .ok_or_else(|| invalid(format!("{what} must be a string, got {}", type_of(value))))
}

/// `typeof`-like description for messages.
pub fn type_of(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if Array::is_array(value) {
        "an array".into()
    } else {
        value.js_typeof().as_string().unwrap_or_else(|| "unknown".into())
    }
}

/// Reads `options[key]` (getters and proxies may throw).
pub fn get(options: &JsValue, key: &str) -> Result<JsValue, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    Reflect::get(options, &JsValue::from_str(key)).map_err(|e| {
        invalid(format!(
            "reading option '{key}' failed: {}",
            super::errors::message_of(&e)
        ))
    })
}

/// Checks that options are an object (or absent).
pub fn options(value: &JsValue, what: &str) -> Result<(), Error> {
    if value.is_undefined() || value.is_null() || (value.is_object() && !Array::is_array(value)) {
        Ok(())
    } else {
        Err(invalid(format!("{what} must be an object, got {}", type_of(value))))
    }
}

pub(super) fn is_absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// A non-negative safe integer option (or `None` when absent).
pub fn opt_u64(options: &JsValue, key: &str) -> Result<Option<u64>, Error> {
    let v = get(options, key)?;
    if is_absent(&v) {
        return Ok(None);
    }
    safe_u64(&v, key).map(Some)
}

/// A non-negative safe integer.
pub fn safe_u64(v: &JsValue, what: &str) -> Result<u64, Error> {
    match v.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f >= 0.0 && f <= MAX_SAFE_INTEGER as f64 => Ok(f as u64),
        _ => Err(invalid(format!(
            "{what} must be a non-negative safe integer, got {}",
            describe(v)
        ))),
    }
}

fn describe(v: &JsValue) -> String {
    if let Some(f) = v.as_f64() {
        let mut out = String::new();
        crate::canonical::write_f64(&mut out, f);
        out
    } else if let Some(s) = v.as_string() {
        format!("{s:?}")
    } else {
        type_of(v)
    }
}

/// A positive safe integer option.
pub fn opt_positive(options: &JsValue, key: &str) -> Result<Option<u64>, Error> {
    match opt_u64(options, key)? {
        Some(0) => Err(invalid(format!("{key} must be a positive integer, got 0"))),
        other => Ok(other),
    }
}

/// A timestamp option: a finite number of ms or a `Date`.
pub fn opt_timestamp(options: &JsValue, key: &str) -> Result<Option<f64>, Error> {
    let v = get(options, key)?;
    if is_absent(&v) {
        return Ok(None);
    }
    timestamp(&v, key).map(Some)
}

pub(super) fn timestamp(v: &JsValue, what: &str) -> Result<f64, Error> {
    let ms = if let Some(d) = v.dyn_ref::<js_sys::Date>() {
        d.get_time()
    } else {
        v.as_f64().unwrap_or(f64::NAN)
    };
    if ms.is_finite() {
        Ok(ms)
    } else {
        Err(invalid(format!(
            "{what} must be a finite number of milliseconds or a Date, got {}",
            describe(v)
        )))
    }
}

/// A string option.
pub fn opt_string(options: &JsValue, key: &str) -> Result<Option<String>, Error> {
    let v = get(options, key)?;
    if is_absent(&v) {
        return Ok(None);
    }
    string(&v, key).map(Some)
}

/// A function option.
pub fn opt_function(options: &JsValue, key: &str) -> Result<Option<Function>, Error> {
    let v = get(options, key)?;
    if is_absent(&v) {
        return Ok(None);
    }
    v.dyn_into::<Function>()
        .map(Some)
        .map_err(|v| invalid(format!("{key} must be a function, got {}", type_of(&v))))
}

/// A list of strings option (a single string is accepted as a list of one).
pub fn opt_strings(options: &JsValue, key: &str) -> Result<Vec<String>, Error> {
    let v = get(options, key)?;
    if is_absent(&v) {
        return Ok(Vec::new());
    }
    if let Some(s) = v.as_string() {
        return Ok(vec![s]);
    }
    if !Array::is_array(&v) {
        return Err(invalid(format!(
            "{key} must be an array of strings, got {}",
            type_of(&v)
        )));
    }
    let arr: Array = v.unchecked_into();
    let mut out = Vec::with_capacity(arr.length() as usize);
    for (i, item) in arr.iter().enumerate() {
        out.push(string(&item, &format!("{key}[{i}]"))?);
    }
    Ok(out)
}

/// An array of strings (`what` names it in errors).
pub fn string_list(value: &JsValue, what: &str) -> Result<Vec<String>, Error> {
    if !Array::is_array(value) {
        return Err(invalid(format!(
            "{what} must be an array of strings, got {}",
            type_of(value)
        )));
    }
    Array::from(value)
        .iter()
        .enumerate()
        .map(|(i, v)| string(&v, &format!("{what}[{i}]")))
        .collect()
}

/// `{ keys: { [name]: base64 }, forgotten: [subject] }`.
pub fn key_export_json(x: &crate::engine::KeyExport) -> String {
    let mut out = String::from("{\"keys\":{");
    for (i, (name, key)) in x.keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::canonical::write_string(&mut out, name);
        out.push_str(":\"");
        crate::personal::envelope::encode_base64(key, &mut out);
        out.push('"');
    }
    out.push_str("},\"forgotten\":[");
    for (i, subject) in x.forgotten.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::canonical::write_string(&mut out, subject);
    }
    out.push_str("]}");
    out
}

/// Events as the host's `readEvents` returned them. Anything but an array is a
/// `StorageError`; a record that is not an event is an `IntegrityError` naming its position.
pub fn stored_events(value: &JsValue, after: u64) -> Result<Vec<Event>, Error> {
    if !Array::is_array(value) {
        return Err(StorageError::new(
            StorageFailure::Malformed,
            format!("readEvents must resolve to an array of events, got {}", type_of(value)),
        )
        .into());
    }
    let text = stringify_large(value).ok_or_else(|| {
        StorageError::new(
            StorageFailure::Malformed,
            "readEvents returned records that are not JSON",
        )
    })?;
    crate::integrity::decode_records(&text, after)
}

/// A JSON array of events, for `JSON.parse`.
pub fn events_json(events: &[Event]) -> String {
    let mut out = String::with_capacity(events.len() * 320 + 2);
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&e.to_json_string());
    }
    out.push(']');
    out
}

/// A JSON array of events as read (each in the form it was read in).
pub fn views_json(events: &[ReadEvent<'_>]) -> String {
    let mut out = String::with_capacity(events.len() * 320 + 2);
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        e.view().write_json(&mut out);
    }
    out.push(']');
    out
}

/// `{ events, version, position }` of `execute`.
pub fn result_json(r: &ExecuteResult) -> String {
    let events = events_json(&r.events);
    format!(
        "{{\"events\":{events},\"version\":{},\"position\":{}}}",
        r.version, r.position
    )
}

/// `{ totalEvents, totalStreams, eventTypeDistribution, headPosition, headHash }`.
pub fn stats_json(s: &Stats) -> String {
    let mut dist = String::from("{");
    for (t, n) in &s.event_type_distribution {
        if dist.len() > 1 {
            dist.push(',');
        }
        crate::canonical::write_string(&mut dist, t);
        dist.push(':');
        crate::canonical::write_u64(&mut dist, *n);
    }
    dist.push('}');
    format!(
        "{{\"totalEvents\":{},\"totalStreams\":{},\"eventTypeDistribution\":{dist},\"headPosition\":{},\"headHash\":\"{}\"}}",
        s.total_events, s.total_streams, s.head_position, s.head_hash
    )
}

/// `{ ok, checked, firstBadPosition }`.
pub fn verify_json(r: &VerifyReport) -> String {
    let bad = r.first_bad_position.map_or("null".to_owned(), |p| p.to_string());
    format!(
        "{{\"ok\":{},\"checked\":{},\"firstBadPosition\":{bad}}}",
        r.ok, r.checked
    )
}

/// `{ eventsReplayed, projectionsRebuilt }`.
pub fn replay_json(r: &ReplayReport) -> String {
    format!(
        "{{\"eventsReplayed\":{},\"projectionsRebuilt\":{}}}",
        r.events_replayed, r.projections_rebuilt
    )
}
