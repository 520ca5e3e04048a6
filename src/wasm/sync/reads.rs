//! A synced engine's `execute` (decided on the optimistic view, the command kept in the
//! outbox) and its optimistic reads (`load`, `readAll`, `readStream`, `streamVersion`,
//! `projection`, `query`; `{ confirmed: true }` or `{ at }` read the engine's own log).
//! Each returns `None` when the engine's own method answers.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::sync::{result_json, Effects, SyncClient};

use super::super::convert::{self, get, is_absent};
use super::super::engine::{in_read_form, when_free, Core, JsEngine};
use super::{after, wake, SyncSide};

/// `{ waitFor }` of `execute`: `'server'` or absent.
fn wait_for(options: &JsValue) -> Result<bool, Error> {
    let v = get(options, "waitFor")?;
    if is_absent(&v) {
        return Ok(false);
    }
    match v.as_string().as_deref() {
        Some("server") => Ok(true),
        _ => Err(Error::validation("waitFor must be 'server' (or absent)")),
    }
}

/// `{ confirmed: true }` of a read: the server's events alone.
fn confirmed_only(options: &JsValue) -> Result<bool, Error> {
    let v = get(options, "confirmed")?;
    if is_absent(&v) {
        return Ok(false);
    }
    v.as_bool()
        .ok_or_else(|| Error::validation("confirmed must be a boolean"))
}

/// The side of a synced engine whose read asks for the optimistic view; `None` for the
/// engine's own read (not synced, or `{ confirmed: true }`, or `{ at }`).
fn optimistic(engine: &JsEngine, options: &JsValue) -> Option<Result<Rc<SyncSide>, Error>> {
    let side = engine.inner.sync.clone()?;
    match confirmed_only(options) {
        Ok(true) => None,
        Ok(false) => match get(options, "at") {
            Ok(at) if is_absent(&at) => Some(Ok(side)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        },
        Err(e) => Some(Err(e)),
    }
}

/// A read of the optimistic view, once the engine is free (one path for every read: the
/// arguments are captured by `f`).
type ReadFn = Box<dyn Fn(&SyncClient, &Core) -> Result<String, Error>>;

fn read(engine: &JsEngine, side: Result<Rc<SyncSide>, Error>, f: Result<ReadFn, Error>) -> Promise {
    let args = side.and_then(|s| f.map(|f| (s, f)));
    engine.spawn(args, |inner, (side, f)| async move {
        let text = when_free(&inner.engine, || f(&side.client, &inner.engine)).await?;
        Ok(convert::parse(&text))
    })
}

/// `execute` on a synced engine (or `waitFor` on one that is not: a `ValidationError`).
pub fn execute(engine: &JsEngine, t: &JsValue, id: &JsValue, command: &JsValue, options: &JsValue) -> Option<Promise> {
    let waiting = wait_for(options);
    let Some(side) = engine.inner.sync.clone() else {
        return match waiting {
            Ok(false) => None,
            Ok(true) => Some(engine.spawn::<(), _>(
                Err(Error::validation("waitFor: 'server' needs an engine opened with sync")),
                |_, ()| async { Ok(JsValue::UNDEFINED) },
            )),
            Err(e) => Some(engine.spawn::<(), _>(Err(e), |_, ()| async { Ok(JsValue::UNDEFINED) })),
        };
    };
    let args = convert::execute_request(t, id, command, options).and_then(|r| Ok((r, waiting?)));
    Some(engine.spawn(args, move |inner, ((request, raw), wait)| {
        // Decided now when the engine is free, so commands keep their call order.
        let begun = (!inner.engine.is_busy()).then(|| side.client.begin_execute(&inner.engine, request.clone()));
        async move {
            let begun = match begun {
                Some(b) => b,
                None => when_free(&inner.engine, || Ok(side.client.begin_execute(&inner.engine, request))).await?,
            };
            let result = side.client.complete_execute(&inner.engine, begun).await;
            wake(&side);
            after(&side, &inner.engine, Effects::default());
            let mut result = result?;
            if !wait {
                if !raw {
                    let events = std::mem::take(&mut result.events);
                    result.events = when_free(&inner.engine, || inner.engine.into_read_form(events)).await?;
                }
                return Ok(convert::parse(&result_json(&result)));
            }
            let confirmed = side.client.settled(&inner.engine, &result.command_id).wait().await?;
            let confirmed = in_read_form(&inner.engine, confirmed, raw).await?;
            Ok(convert::parse(&convert::result_json(&confirmed)))
        }
    }))
}

/// `load` of the optimistic view.
pub fn load(engine: &JsEngine, t: &JsValue, id: &JsValue, options: &JsValue) -> Option<Promise> {
    let side = optimistic(engine, options)?;
    let f = convert::load_args(t, id, options).map(|(t, id, _)| -> ReadFn {
        Box::new(move |client, e| {
            Ok(match client.load(e, &t, &id)? {
                None => "null".to_owned(),
                Some(l) => format!("{{\"state\":{},\"version\":{}}}", l.state, l.version),
            })
        })
    });
    Some(read(engine, side, f))
}

/// `readAll` of the optimistic view.
pub fn read_all(engine: &JsEngine, options: &JsValue) -> Option<Promise> {
    let side = optimistic(engine, options)?;
    let f = convert::read_all_options(options)
        .map(|(opts, raw)| -> ReadFn { Box::new(move |client, e| client.read_all_json(e, &opts, raw)) });
    Some(read(engine, side, f))
}

/// `readStream` of the optimistic view.
pub fn read_stream(engine: &JsEngine, id: &JsValue, options: &JsValue) -> Option<Promise> {
    let side = optimistic(engine, options)?;
    let f = convert::read_stream_args(id, options)
        .map(|(id, opts, raw)| -> ReadFn { Box::new(move |client, e| client.read_stream_json(e, &id, &opts, raw)) });
    Some(read(engine, side, f))
}

/// `streamVersion` of the optimistic view.
pub fn stream_version(engine: &JsEngine, id: &JsValue, options: &JsValue) -> Option<Promise> {
    let side = optimistic(engine, options)?;
    let f = convert::string(id, "streamId")
        .map(|id| -> ReadFn { Box::new(move |client, e| client.stream_version(e, &id).map(|v| v.to_string())) });
    Some(read(engine, side, f))
}

/// `projection` of the optimistic view.
pub fn projection(engine: &JsEngine, name: &JsValue, options: &JsValue) -> Option<Promise> {
    let side = optimistic(engine, options)?;
    let f = convert::projection_args(name, options)
        .map(|(name, _)| -> ReadFn { Box::new(move |client, e| client.projection(e, &name)) });
    Some(read(engine, side, f))
}

/// `query` of the optimistic view (`query(name, where, { confirmed })`).
pub fn query(engine: &JsEngine, name: &JsValue, filter: &JsValue, options: &JsValue) -> Option<Promise> {
    let side = optimistic(engine, options)?;
    let f = convert::query_args(name, filter)
        .map(|(name, filter)| -> ReadFn { Box::new(move |client, e| client.query(e, &name, &filter)) });
    Some(read(engine, side, f))
}
