//! The arguments and options of each `Engine` method, read and checked when the method is
//! called (a later change to the caller's objects does not matter). Every failure is a
//! `ValidationError` naming the option, except a storage object that is not one (a
//! `StorageError`, DESIGN.md §5).

use std::rc::Rc;

use js_sys::{Array, Function};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{
    get, invalid, is_absent, opt_function, opt_positive, opt_string, opt_strings, opt_timestamp, opt_u64, options,
    safe_u64, string, timestamp, to_map, to_value, type_of,
};
use crate::canonical::MAX_SAFE_INTEGER;
use crate::clock::Clock;
use crate::decider::Command;
use crate::engine::{EngineConfig, ExecuteRequest};
use crate::error::Error;
use crate::event::ExpectedVersion;
use crate::filter::EventFilter;
use crate::log::{Direction, ReadAllOptions, ReadStreamOptions};
use crate::storage::EphemeralStorage;
use crate::time_travel::At;
use crate::wasm::keys::JsKeyStore;
use crate::wasm::storage::{HostStorage, JsAdapter};

/// Milliseconds from `Date.now()` or from the caller's `clock`.
enum JsClock {
    Now,
    Custom(Function),
}

impl Clock for JsClock {
    fn now_ms(&self) -> f64 {
        match self {
            JsClock::Now => js_sys::Date::now(),
            // A clock that throws or returns a non-number reads as NaN: the timestamp is held
            // at the last one.
            JsClock::Custom(f) => f
                .call0(&JsValue::UNDEFINED)
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::NAN),
        }
    }
}

/// What `Engine.open(options)` asks for.
pub struct OpenOptions {
    pub storage: HostStorage,
    pub config: EngineConfig,
}

/// `{ storage, keys, snapshotEvery, projectionSnapshotEvery, clock, appendTimeoutMs }`.
pub fn open_options(opts: &JsValue) -> Result<OpenOptions, Error> {
    options(opts, "Engine.open options")?;
    let snapshot_every = opt_positive(opts, "snapshotEvery")?;
    let timeout_ms = append_timeout(&get(opts, "appendTimeoutMs")?)?;
    let clock = match opt_function(opts, "clock")? {
        Some(f) => JsClock::Custom(f),
        None => JsClock::Now,
    };
    let storage_value = get(opts, "storage")?;
    let storage = if is_absent(&storage_value) {
        HostStorage::Ephemeral(EphemeralStorage::new())
    } else {
        HostStorage::Js(JsAdapter::new(storage_value, timeout_ms)?)
    };
    let mut config = EngineConfig::new(Rc::new(clock));
    let keys_value = get(opts, "keys")?;
    if !is_absent(&keys_value) {
        config.keys = Some(Rc::new(JsKeyStore::new(keys_value, timeout_ms)?));
    }
    if let Some(n) = snapshot_every {
        config.snapshot_every = n;
    }
    if let Some(n) = opt_positive(opts, "projectionSnapshotEvery")? {
        config.projection_snapshot_every = n;
    }
    Ok(OpenOptions { storage, config })
}

/// `appendTimeoutMs`: default 10 s; 0 or `Infinity` = no timeout.
fn append_timeout(v: &JsValue) -> Result<Option<f64>, Error> {
    if is_absent(v) {
        return Ok(Some(10_000.0));
    }
    match v.as_f64() {
        Some(ms) if ms >= 0.0 && !ms.is_nan() => Ok((ms > 0.0 && ms.is_finite()).then_some(ms)),
        _ => Err(invalid("appendTimeoutMs must be a non-negative number of milliseconds")),
    }
}

/// `execute(streamType, streamId, command, { expectedVersion, metadata, commandId, raw })`:
/// the request, and whether the answer's events are in stored form.
pub fn execute_request(
    stream_type: &JsValue,
    stream_id: &JsValue,
    command: &JsValue,
    opts: &JsValue,
) -> Result<(ExecuteRequest, bool), Error> {
    let stream_type = string(stream_type, "streamType")?;
    let stream_id = string(stream_id, "streamId")?;
    let command = Command::from_value(to_value(command, "command")?)?;
    options(opts, "execute options")?;
    let mut request = ExecuteRequest::new(stream_type, stream_id, command);
    request.expected_version = expected_version(&get(opts, "expectedVersion")?)?;
    request.metadata = to_map(&get(opts, "metadata")?, "metadata")?;
    request.command_id = opt_string(opts, "commandId")?;
    Ok((request, raw(opts)?))
}

/// The `raw` option: `true` reads the stored form (default `false`).
fn raw(opts: &JsValue) -> Result<bool, Error> {
    let v = get(opts, "raw")?;
    if is_absent(&v) {
        return Ok(false);
    }
    v.as_bool()
        .ok_or_else(|| invalid(format!("raw must be a boolean, got {}", type_of(&v))))
}

/// `readStream(streamId, { fromVersion, direction, limit, raw })`.
pub fn read_stream_args(stream_id: &JsValue, opts: &JsValue) -> Result<(String, ReadStreamOptions, bool), Error> {
    let id = string(stream_id, "streamId")?;
    options(opts, "readStream options")?;
    let direction = match opt_string(opts, "direction")?.as_deref() {
        None | Some("forward") => Direction::Forward,
        Some("backward") => Direction::Backward,
        Some(other) => {
            return Err(invalid(format!(
                "direction must be 'forward' or 'backward', got {other:?}"
            )))
        }
    };
    let read = ReadStreamOptions {
        from_version: opt_u64(opts, "fromVersion")?,
        direction,
        limit: opt_positive(opts, "limit")?.map(|n| n as usize),
    };
    Ok((id, read, raw(opts)?))
}

/// `readAll({ fromPosition, limit, types, streamType, fromTimestamp, toTimestamp, raw })`.
pub fn read_all_options(opts: &JsValue) -> Result<(ReadAllOptions, bool), Error> {
    options(opts, "readAll options")?;
    let from_ts = opt_timestamp(opts, "fromTimestamp")?;
    let to_ts = opt_timestamp(opts, "toTimestamp")?;
    let read = ReadAllOptions {
        from_position: opt_u64(opts, "fromPosition")?.unwrap_or(0),
        limit: opt_positive(opts, "limit")?.map(|n| n as usize),
        filter: EventFilter {
            types: opt_strings(opts, "types")?,
            stream_type: opt_string(opts, "streamType")?,
            stream_id: None,
        },
        from_timestamp: from_ts.map(|t| t.ceil() as i64),
        to_timestamp: to_ts.map(|t| t.floor() as i64),
    };
    Ok((read, raw(opts)?))
}

/// `load(streamType, streamId, { at })`.
pub fn load_args(
    stream_type: &JsValue,
    stream_id: &JsValue,
    opts: &JsValue,
) -> Result<(String, String, Option<At>), Error> {
    let t = string(stream_type, "streamType")?;
    let id = string(stream_id, "streamId")?;
    options(opts, "load options")?;
    Ok((t, id, at(opts)?))
}

/// `projection(name, { at })`.
pub fn projection_args(name: &JsValue, opts: &JsValue) -> Result<(String, Option<At>), Error> {
    let name = string(name, "projection name")?;
    options(opts, "projection options")?;
    Ok((name, at(opts)?))
}

/// `query(name, where)`.
pub fn query_args(name: &JsValue, filter: &JsValue) -> Result<(String, Map<String, Value>), Error> {
    let name = string(name, "projection name")?;
    options(filter, "query filter")?;
    Ok((name, to_map(filter, "query filter")?))
}

/// `replay(name?)`.
pub fn replay_name(name: &JsValue) -> Result<Option<String>, Error> {
    if is_absent(name) {
        return Ok(None);
    }
    string(name, "projection name").map(Some)
}

/// What `subscribe(listener, options)` asks for.
pub struct SubscribeOptions {
    pub listener: Function,
    pub filter: EventFilter,
    pub from_position: Option<u64>,
    pub on_error: Option<Function>,
    /// The events in their stored form.
    pub raw: bool,
}

/// `subscribe(listener, { fromPosition, types, streamId, streamType, onError, raw })`.
pub fn subscribe_args(listener: JsValue, opts: &JsValue) -> Result<SubscribeOptions, Error> {
    let listener = listener
        .dyn_into::<Function>()
        .map_err(|v| invalid(format!("listener must be a function, got {}", type_of(&v))))?;
    options(opts, "subscribe options")?;
    Ok(SubscribeOptions {
        listener,
        filter: filter(opts)?,
        from_position: opt_u64(opts, "fromPosition")?,
        on_error: opt_function(opts, "onError")?,
        raw: raw(opts)?,
    })
}

/// `expectedVersion`: `'any'`, `'no_stream'`, `'exists'` or a non-negative integer.
pub fn expected_version(v: &JsValue) -> Result<ExpectedVersion, Error> {
    if is_absent(v) {
        return Ok(ExpectedVersion::Any);
    }
    if let Some(s) = v.as_string() {
        return match s.as_str() {
            "any" => Ok(ExpectedVersion::Any),
            "no_stream" => Ok(ExpectedVersion::NoStream),
            "exists" => Ok(ExpectedVersion::Exists),
            other => Err(invalid(format!(
                "expectedVersion must be 'any', 'no_stream', 'exists' or a version number, got {other:?}"
            ))),
        };
    }
    if v.as_f64().is_some() {
        return safe_u64(v, "expectedVersion").map(ExpectedVersion::Exact);
    }
    Err(invalid(format!(
        "expectedVersion must be 'any', 'no_stream', 'exists' or a version number, got {}",
        type_of(v)
    )))
}

/// `{ at: { version } | { position } | { timestamp } }` (or no `at`).
pub fn at(opts: &JsValue) -> Result<Option<At>, Error> {
    let at = get(opts, "at")?;
    if is_absent(&at) {
        return Ok(None);
    }
    if !at.is_object() || Array::is_array(&at) {
        return Err(invalid(format!(
            "at must be {{ version }}, {{ position }} or {{ timestamp }}, got {}",
            type_of(&at)
        )));
    }
    let version = get(&at, "version")?;
    let position = get(&at, "position")?;
    let ts = get(&at, "timestamp")?;
    let given = [&version, &position, &ts].iter().filter(|v| !is_absent(v)).count();
    if given != 1 {
        return Err(invalid("at must have exactly one of version, position or timestamp"));
    }
    if !is_absent(&version) {
        return Ok(Some(At::Version(safe_u64(&version, "at.version")?)));
    }
    if !is_absent(&position) {
        return Ok(Some(At::Position(safe_u64(&position, "at.position")?)));
    }
    let ms = timestamp(&ts, "at.timestamp")?;
    Ok(Some(At::Timestamp(
        ms.floor().clamp(-(MAX_SAFE_INTEGER as f64), MAX_SAFE_INTEGER as f64) as i64,
    )))
}

/// `{ types, streamType, streamId }` filters.
pub fn filter(opts: &JsValue) -> Result<EventFilter, Error> {
    Ok(EventFilter {
        types: opt_strings(opts, "types")?,
        stream_type: opt_string(opts, "streamType")?,
        stream_id: opt_string(opts, "streamId")?,
    })
}
