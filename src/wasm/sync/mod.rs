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
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::Error;
use crate::sync::{Effects, Failure, SyncClient, SyncStatus};

mod link;
mod reads;

pub use link::JsSyncLink;
pub use reads::{execute, load, projection, query, read_all, read_stream, stream_version};

use super::convert::{self, get, is_absent, opt_function};
use super::engine::{in_read_form, sync, Core, Inner, JsEngine};
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
            let result = in_read_form(&inner.engine, result, false).await?;
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
