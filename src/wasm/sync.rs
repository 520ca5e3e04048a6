//! The sync client across the boundary (DESIGN.md §7).
//!
//! Public: `Engine.open({ storage, sync: { url, token, onRejected } })`, `execute` on a synced
//! engine (`{ events, version, position: null, pending: true, commandId }`, and
//! `{ waitFor: 'server' }`), reads with `{ confirmed: true }`, `settled`, `syncState`,
//! `onSyncState`. The semantics are the core's ([`crate::sync`]); HTTP is the package's
//! JavaScript transport (`lib/sync.js`), registered by the entries with `setSyncTransport(
//! { check(options), start(link, options) })`. `start` gets a [`JsSyncLink`]: the internal
//! interface it drives (not in the public typings):
//!
//! | `link.` | does |
//! |---|---|
//! | `position()` | the confirmed head (ask the server for events after it) |
//! | `checkServer(after, afterHash)` | compares the server's hash at `after`; throws `IntegrityError` on a fork (sync stops) |
//! | `receive(events)` | verifies, persists, commits, rebases → `{ applied, gap }` |
//! | `nextBatch(max)` | the next commands to push (wire form) |
//! | `applyResults(body)` | the answer of `POST /v1/commands` → `{ retry }` (reports refusals) |
//! | `requestFailed(status, error)` | a whole request failed → `'retry' \| 'shrink' \| 'stop'` |
//! | `unreachable(message)` | no answer at all (`lastError` is a `NetworkError`) |
//! | `setOnline(online)`, `stopped()`, `issuer()` | |
//! | `refresh()` | follow the storage: commit what another engine replicated, re-read the outbox |
//! | `setLiveIssuers(ids)` | other live engines on this storage report their own refusals |
//! | `keysNeeded(events)` | subjects whose keys sealed values of `events` need (ask `GET /v1/keys`) |
//! | `storeKeys(answer)` | keeps the keys of a `GET /v1/keys` answer in the key store |
//! | `forget(subject)` | the server forgot a subject (`event: forget`): forget it here too |
//!
//! The handle `start` returns has `stop()` (called at close) and `wake()` (called when a new
//! command is in the outbox). A browser's non-syncing tab is an engine whose transport does
//! not connect and calls `link.refresh()` when the storage tells it something moved; the
//! storage's `watch` already does for the log.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::Error;
use crate::sync::{
    parse_results, remote_from_wire, result_json, wire_commands_json, Effects, Failure, RemoteError, SyncClient,
    SyncStatus, Verdict,
};
use crate::ExecuteResult;

use super::convert::{self, get, is_absent, opt_function};
use super::engine::{promise, sync, when_free, Core, Inner, JsEngine};
use super::errors::{console_error, remote_to_js, to_js};

thread_local! {
    static TRANSPORT: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Registers the package's sync transport: `{ check(options), start(link, options) }`.
#[wasm_bindgen(js_name = setSyncTransport, skip_typescript)]
pub fn set_sync_transport(transport: JsValue) {
    TRANSPORT.with(|t| *t.borrow_mut() = Some(transport));
}

/// The sync side of a synced engine.
pub struct SyncSide {
    pub client: SyncClient,
    on_rejected: Option<Function>,
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
    transport: JsValue,
    options: JsValue,
    /// What `transport.start` returned: `{ stop(), wake() }`.
    handle: RefCell<JsValue>,
    /// Refusals found at open, reported once the engine is ready.
    opened: RefCell<Effects>,
    /// The state the listeners were last told.
    told: RefCell<Option<SyncStatus>>,
}

/// `options.sync`, checked by the transport.
pub struct SyncOpen {
    transport: JsValue,
    options: JsValue,
    on_rejected: Option<Function>,
}

fn call_method(target: &JsValue, name: &str, args: &Array) -> Result<JsValue, JsValue> {
    let f = Reflect::get(target, &JsValue::from_str(name))?;
    let f: Function = f
        .dyn_into()
        .map_err(|_| JsValue::from_str(&format!("{name} is not a function")))?;
    f.apply(target, args)
}

/// Reads `options.sync` (absent: `None`); the transport checks it (a bad one is a
/// `ValidationError` naming the option).
pub fn open_options(options: &JsValue) -> Result<Option<SyncOpen>, Error> {
    let value = get(options, "sync")?;
    if is_absent(&value) {
        return Ok(None);
    }
    if !value.is_object() || Array::is_array(&value) {
        return Err(Error::validation("sync must be an object: { url, token, onRejected }"));
    }
    let on_rejected =
        opt_function(&value, "onRejected").map_err(|_| Error::validation("sync.onRejected must be a function"))?;
    let transport = TRANSPORT
        .with(|t| t.borrow().clone())
        .ok_or_else(|| Error::validation("sync is not available: this build has no transport"))?;
    let checked = call_method(&transport, "check", &Array::of1(&value))
        .map_err(|e| Error::validation(super::errors::message_of(&e)))?;
    Ok(Some(SyncOpen {
        transport,
        options: checked,
        on_rejected,
    }))
}

/// Starts the client on an opened engine (its outbox read, rebased).
pub async fn attach(engine: &Core, open: SyncOpen) -> Result<Rc<SyncSide>, Error> {
    let (client, effects) = SyncClient::open(engine).await?;
    Ok(Rc::new(SyncSide {
        client,
        on_rejected: open.on_rejected,
        listeners: RefCell::new(Vec::new()),
        next_listener: Cell::new(0),
        transport: open.transport,
        options: open.options,
        handle: RefCell::new(JsValue::UNDEFINED),
        opened: RefCell::new(effects),
        told: RefCell::new(None),
    }))
}

/// Starts the transport once the engine is ready, and reports what open found.
pub fn start(inner: &Rc<Inner>) {
    let Some(side) = &inner.sync else { return };
    let link = JsSyncLink {
        inner: Rc::downgrade(inner),
    };
    match call_method(&side.transport, "start", &Array::of2(&link.into(), &side.options)) {
        Ok(handle) => *side.handle.borrow_mut() = handle,
        Err(e) => console_error("eventjournal: the sync transport failed to start:", &e),
    }
    let effects = std::mem::take(&mut *side.opened.borrow_mut());
    after(side, &inner.engine, effects);
}

/// After a sync operation: reports refusals (`onRejected`, before any `settled` rejects),
/// then tells the `onSyncState` listeners if the state changed.
fn after(side: &SyncSide, engine: &Core, effects: Effects) {
    for r in effects.rejected {
        let Some(f) = &side.on_rejected else { continue };
        let info = Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = Reflect::set(&info, &JsValue::from_str(k), v);
        };
        let req = &r.request;
        set(
            "commandId",
            &JsValue::from_str(req.command_id.as_deref().unwrap_or_default()),
        );
        set("command", &convert::parse(&req.command.to_value().to_string()));
        set("streamType", &JsValue::from_str(&req.stream_type));
        set("streamId", &JsValue::from_str(&req.stream_id));
        set("error", &to_js(&r.error));
        if let Err(e) = f.call1(&JsValue::UNDEFINED, &info) {
            console_error("eventjournal: onRejected threw:", &e);
        }
    }
    if !side.client.take_changed() {
        return;
    }
    let Ok(status) = side.client.status(engine) else { return };
    if side.told.borrow().as_ref() == Some(&status) {
        return;
    }
    *side.told.borrow_mut() = Some(status);
    let Ok(state) = state_js(side, engine) else { return };
    let listeners: Vec<Function> = side.listeners.borrow().iter().map(|(_, f)| f.clone()).collect();
    for f in listeners {
        if let Err(e) = f.call1(&JsValue::UNDEFINED, &state) {
            console_error("eventjournal: an onSyncState listener threw:", &e);
        }
    }
}

/// Tells the transport the outbox has something new to push.
fn wake(side: &SyncSide) {
    let handle = side.handle.borrow().clone();
    if handle.is_object() {
        let _ = call_method(&handle, "wake", &Array::new());
    }
}

/// `{ online, pending, confirmedPosition, lastError }`.
fn state_js(side: &SyncSide, engine: &Core) -> Result<JsValue, Error> {
    let s = side.client.status(engine)?;
    let out = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&out, &JsValue::from_str(k), v);
    };
    set("online", &JsValue::from_bool(s.online));
    set("pending", &JsValue::from_f64(s.pending as f64));
    set("confirmedPosition", &JsValue::from_f64(s.confirmed_position as f64));
    let error = match &s.last_error {
        None => JsValue::NULL,
        Some(Failure::Engine(e)) => to_js(e),
        Some(Failure::Remote(r)) => remote_to_js(&r.name, &r.code, &r.message, r.status),
    };
    set("lastError", &error);
    Ok(out.into())
}

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
                    result.events = when_free(&inner.engine, || inner.engine.read_form(&result.events)).await?;
                }
                return Ok(convert::parse(&result_json(&result)));
            }
            let mut confirmed = side.client.settled(&inner.engine, &result.command_id).wait().await?;
            if !raw {
                confirmed.events = when_free(&inner.engine, || inner.engine.read_form(&confirmed.events)).await?;
            }
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

/// What the storage's `watch` triggers: a synced engine follows the storage and rebases.
pub async fn catch_up(inner: &Rc<Inner>) {
    match &inner.sync {
        None => {
            let _ = inner.engine.catch_up().await;
        }
        Some(side) => {
            let effects = side.client.refresh(&inner.engine).await.unwrap_or_default();
            after(side, &inner.engine, effects);
        }
    }
}

/// At close: the transport stops and `settled` waiters get a `ClosedError`.
pub fn close(inner: &Inner) {
    let Some(side) = &inner.sync else { return };
    let handle = side.handle.replace(JsValue::UNDEFINED);
    if handle.is_object() {
        let _ = call_method(&handle, "stop", &Array::new());
    }
    side.client.close();
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// Resolves with the server's `{ events, version, position }` once it confirmed the
    /// command, or rejects with its refusal; an unknown id is a `NotFoundError`.
    #[wasm_bindgen(js_name = settled)]
    pub fn settled(&self, command_id: JsValue) -> Promise {
        let id = convert::string(&command_id, "commandId");
        self.spawn(id, |inner, id| async move {
            let result = match &inner.sync {
                Some(side) => side.client.settled(&inner.engine, &id).wait().await?,
                None => inner
                    .engine
                    .committed_result(&id)?
                    .ok_or_else(|| Error::from(crate::error::NotFoundError::command(&id)))?,
            };
            let result = ExecuteResult {
                events: when_free(&inner.engine, || inner.engine.read_form(&result.events)).await?,
                ..result
            };
            Ok(convert::parse(&convert::result_json(&result)))
        })
    }

    /// `{ online, pending, confirmedPosition, lastError }` of a synced engine.
    #[wasm_bindgen(js_name = syncState)]
    pub fn sync_state(&self) -> Result<JsValue, JsValue> {
        let side = sync(self.side())?;
        sync(state_js(&side, &self.inner.engine))
    }

    /// Calls `listener(state)` on every change of `syncState()`; returns the unsubscribe
    /// function.
    #[wasm_bindgen(js_name = onSyncState)]
    pub fn on_sync_state(&self, listener: JsValue) -> Result<JsValue, JsValue> {
        let side = sync(self.side())?;
        let f: Function = sync(
            listener
                .dyn_into()
                .map_err(|v| Error::validation(format!("listener must be a function, got {}", convert::type_of(&v)))),
        )?;
        let id = side.next_listener.get() + 1;
        side.next_listener.set(id);
        side.listeners.borrow_mut().push((id, f));
        let weak = Rc::downgrade(&side);
        let off = Closure::<dyn FnMut()>::new(move || {
            if let Some(side) = weak.upgrade() {
                side.listeners.borrow_mut().retain(|(i, _)| *i != id);
            }
        });
        Ok(off.into_js_value())
    }
}

impl JsEngine {
    fn side(&self) -> Result<Rc<SyncSide>, Error> {
        if self.inner.engine.is_closed() {
            return Err(crate::error::ClosedError.into());
        }
        self.inner
            .sync
            .clone()
            .ok_or_else(|| Error::validation("this engine was opened without sync"))
    }
}

/// The internal interface of the package's sync transport (see the module's documentation).
#[wasm_bindgen(js_name = SyncLink, skip_typescript)]
pub struct JsSyncLink {
    inner: Weak<Inner>,
}

impl JsSyncLink {
    fn get(&self) -> Result<(Rc<Inner>, Rc<SyncSide>), Error> {
        let inner = self.inner.upgrade().ok_or(crate::error::ClosedError)?;
        if inner.engine.is_closed() {
            return Err(crate::error::ClosedError.into());
        }
        let side = inner
            .sync
            .clone()
            .ok_or_else(|| Error::internal("a sync link without sync"))?;
        Ok((inner, side))
    }
}

#[wasm_bindgen(js_class = SyncLink)]
impl JsSyncLink {
    /// The confirmed head position.
    #[wasm_bindgen(js_name = position)]
    pub fn position(&self) -> f64 {
        self.get().map_or(0.0, |(i, _)| i.engine.head_position() as f64)
    }

    /// This engine instance's id.
    #[wasm_bindgen(js_name = issuer)]
    pub fn issuer(&self) -> String {
        self.get()
            .map(|(_, s)| s.client.issuer().to_owned())
            .unwrap_or_default()
    }

    /// True once sync stopped for good (a fork, another protocol version) or the engine closed.
    #[wasm_bindgen(js_name = stopped)]
    pub fn stopped(&self) -> bool {
        self.get().map_or(true, |(_, s)| s.client.is_stopped())
    }

    /// The server's hash at `after` (`null`: its log ends before); throws the
    /// `IntegrityError` of a fork.
    #[wasm_bindgen(js_name = checkServer)]
    pub fn check_server(&self, after: JsValue, after_hash: JsValue) -> Result<(), JsValue> {
        let (inner, side) = sync(self.get())?;
        let after = sync(convert::safe_u64(&after, "after"))?;
        let r = side
            .client
            .check_server(&inner.engine, after, after_hash.as_string().as_deref());
        after_op(&side, &inner);
        sync(r)
    }

    /// Verifies, persists and commits the server's events; `{ applied, gap }`.
    #[wasm_bindgen(js_name = receive)]
    pub fn receive(&self, events: JsValue) -> Promise {
        let got = self.get();
        promise(async move {
            let (inner, side) = got?;
            let decoded = convert::stored_events(&events, inner.engine.head_position());
            let result = match decoded {
                Ok(events) => side.client.receive(&inner.engine, events).await,
                Err(e) => {
                    side.client
                        .unreachable(&format!("the server sent malformed events: {}", e.message()));
                    Err(e)
                }
            };
            after_op(&side, &inner);
            let r = result?;
            Ok(convert::parse(&format!(
                "{{\"applied\":{},\"gap\":{}}}",
                r.applied, r.gap
            )))
        })
    }

    /// The next commands to push (an array in the wire form).
    #[wasm_bindgen(js_name = nextBatch)]
    pub fn next_batch(&self, max: JsValue) -> Result<JsValue, JsValue> {
        let (_, side) = sync(self.get())?;
        let max = sync(convert::safe_u64(&max, "max"))?.max(1) as usize;
        let batch = sync(side.client.next_batch(max))?;
        Ok(convert::parse(&wire_commands_json(&batch)))
    }

    /// Applies the answer of `POST /v1/commands`; `{ retry }`.
    #[wasm_bindgen(js_name = applyResults)]
    pub fn apply_results(&self, body: JsValue) -> Promise {
        let got = self.get();
        promise(async move {
            let (inner, side) = got?;
            let parsed = convert::to_value(&body, "the server's answer")
                .ok()
                .and_then(|v| parse_results(&v));
            let Some(results) = parsed else {
                let e = RemoteError::new("INTERNAL", "the server's answer to POST /v1/commands is malformed");
                side.client.request_failed(200, e);
                after_op(&side, &inner);
                return Ok(convert::parse("{\"retry\":true}"));
            };
            let effects = side.client.apply_results(&inner.engine, results).await;
            let retry = effects.as_ref().map_or(true, |e| e.retry);
            after(&side, &inner.engine, effects.unwrap_or_default());
            inner.engine.pump_subscriptions();
            Ok(convert::parse(&format!("{{\"retry\":{retry}}}")))
        })
    }

    /// A whole request failed with HTTP `status` and the body's `{ name, code, message }`
    /// (if any): `'retry'`, `'shrink'` (send smaller batches) or `'stop'`.
    #[wasm_bindgen(js_name = requestFailed)]
    pub fn request_failed(&self, status: JsValue, error: JsValue) -> String {
        let Ok((inner, side)) = self.get() else {
            return "stop".into();
        };
        let status = status.as_f64().unwrap_or(0.0).clamp(0.0, 999.0) as u16;
        let body = convert::to_value(&error, "error").unwrap_or(serde_json::Value::Null);
        let remote = remote_from_wire(&body, Some(status));
        let verdict = side.client.request_failed(status, remote);
        after_op(&side, &inner);
        match verdict {
            Verdict::Retry => "retry",
            Verdict::Shrink => "shrink",
            Verdict::Stop => "stop",
        }
        .into()
    }

    /// The server could not be reached.
    #[wasm_bindgen(js_name = unreachable)]
    pub fn unreachable(&self, message: JsValue) {
        if let Ok((inner, side)) = self.get() {
            let message = message
                .as_string()
                .unwrap_or_else(|| "the server could not be reached".into());
            side.client.unreachable(&message);
            after_op(&side, &inner);
        }
    }

    /// The live channel is connected (or not).
    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(&self, online: bool) {
        if let Ok((inner, side)) = self.get() {
            side.client.set_online(online);
            after_op(&side, &inner);
        }
    }

    /// Follows the storage (see the module's documentation).
    #[wasm_bindgen(js_name = refresh)]
    pub fn refresh(&self) -> Promise {
        let got = self.get();
        promise(async move {
            let (inner, side) = got?;
            let effects = side.client.refresh(&inner.engine).await;
            after(&side, &inner.engine, effects.clone().unwrap_or_default());
            wake(&side);
            effects?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The subjects whose keys the sealed personal data of `events` (the server's, in
    /// stored form) needs and this engine lacks: ask `GET /v1/keys` for them, then
    /// `storeKeys(answer)`, before `receive(events)`. Empty without a key store.
    #[wasm_bindgen(js_name = keysNeeded)]
    pub fn keys_needed(&self, events: JsValue) -> Result<JsValue, JsValue> {
        let (inner, side) = sync(self.get())?;
        let events = sync(convert::stored_events(&events, inner.engine.head_position()))?;
        let subjects = sync(side.client.keys_needed(&inner.engine, &events))?;
        Ok(subjects.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into())
    }

    /// Stores the keys of a `GET /v1/keys` answer in the engine's key store.
    #[wasm_bindgen(js_name = storeKeys)]
    pub fn store_keys(&self, answer: JsValue) -> Promise {
        let got = self.get();
        promise(async move {
            let (inner, side) = got?;
            let answer = convert::to_value(&answer, "the server's keys")?;
            let n = side.client.store_keys(&inner.engine, &answer).await?;
            Ok(JsValue::from_f64(n as f64))
        })
    }

    /// The server forgot `subject` (SSE `event: forget`): this engine forgets it too.
    #[wasm_bindgen(js_name = forget)]
    pub fn forget(&self, subject: JsValue) -> Promise {
        let got = self.get().and_then(|g| Ok((g, convert::string(&subject, "subject")?)));
        promise(async move {
            let ((inner, side), subject) = got?;
            let r = side.client.forget(&inner.engine, &subject).await;
            after_op(&side, &inner);
            r?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The ids of the other live engine instances on this storage.
    #[wasm_bindgen(js_name = setLiveIssuers)]
    pub fn set_live_issuers(&self, ids: JsValue) -> Result<(), JsValue> {
        let (_, side) = sync(self.get())?;
        if !Array::is_array(&ids) {
            return sync(Err(Error::validation(
                "setLiveIssuers(ids): ids must be an array of strings",
            )));
        }
        let ids: Vec<String> = Array::from(&ids).iter().filter_map(|v| v.as_string()).collect();
        side.client.set_live_issuers(ids);
        Ok(())
    }
}

/// After an operation without refusals: the listeners hear of any change.
fn after_op(side: &SyncSide, inner: &Inner) {
    after(side, &inner.engine, Effects::default());
}
