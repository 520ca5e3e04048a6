//! The host's storage callbacks (DESIGN.md §5) as the core's [`Storage`].
//!
//! Each callback may return a value or a Promise, may throw, and may never settle: a throw or
//! a rejection is a `StorageError` carrying the host's error as `cause`; `code: 'CONFLICT'` on
//! `appendEvents` is a conflict; a call that outlives `appendTimeoutMs` is a `StorageError`
//! with `reason: 'timeout'` (its late settlement is ignored; the engine re-reads the head
//! before its next append). Records that are not events are `IntegrityError`s.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, StorageError, StorageFailure};
use crate::event::Event;
use crate::snapshot::Snapshot;
use crate::storage::{AppendError, EphemeralStorage, Storage};
use crate::sync::{OutboxEntry, OutboxStore};

use super::convert::{self, type_of};
use super::errors::{code_of, message_of};

/// The storage an engine uses: none (memory only), or the host's callbacks.
pub enum HostStorage {
    /// No storage given: the engine's log is the only copy.
    Ephemeral(EphemeralStorage),
    Js(JsAdapter),
}

/// A storage object from JavaScript.
pub struct JsAdapter {
    object: JsValue,
    read_events: Function,
    append_events: Function,
    read_snapshot: Option<Function>,
    write_snapshot: Option<Function>,
    scrub: Option<Function>,
    close: Option<Function>,
    watch: Option<Function>,
    /// The outbox of a synced engine (`readOutbox`, `writeOutbox`, `deleteOutbox`).
    outbox: Option<[Function; 3]>,
    timeout_ms: Option<f64>,
    /// The next page, asked for before it is needed (see [`JsAdapter::read_page`]).
    read_ahead: RefCell<Option<ReadAhead>>,
}

/// A `readEvents(after, limit)` call under way, not awaited yet.
struct ReadAhead {
    after: u64,
    limit: u32,
    promise: Promise,
}

pub(super) fn method(object: &JsValue, name: &str) -> Result<Option<Function>, StorageError> {
    let v = Reflect::get(object, &JsValue::from_str(name)).map_err(|e| {
        StorageError::new(
            StorageFailure::Malformed,
            format!("reading storage.{name} failed: {}", message_of(&e)),
        )
        .with_cause(Rc::new(e))
    })?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.dyn_into::<Function>().map(Some).map_err(|v| {
        StorageError::new(
            StorageFailure::Malformed,
            format!("storage.{name} must be a function, got {}", type_of(&v)),
        )
    })
}

impl JsAdapter {
    /// Checks the storage object: `readEvents` and `appendEvents` are required.
    pub fn new(object: JsValue, timeout_ms: Option<f64>) -> Result<Self, StorageError> {
        if !object.is_object() {
            return Err(StorageError::new(
                StorageFailure::Unsupported,
                format!(
                    "storage must be an object with readEvents and appendEvents, got {}",
                    type_of(&object)
                ),
            ));
        }
        let required = |name: &str| {
            method(&object, name)?.ok_or_else(|| {
                StorageError::new(
                    StorageFailure::Unsupported,
                    format!("storage lacks the method {name}()"),
                )
            })
        };
        Ok(JsAdapter {
            read_events: required("readEvents")?,
            append_events: required("appendEvents")?,
            read_snapshot: method(&object, "readSnapshot")?,
            write_snapshot: method(&object, "writeSnapshot")?,
            scrub: method(&object, "scrub")?,
            close: method(&object, "close")?,
            watch: method(&object, "watch")?,
            outbox: match (
                method(&object, "readOutbox")?,
                method(&object, "writeOutbox")?,
                method(&object, "deleteOutbox")?,
            ) {
                (Some(r), Some(w), Some(d)) => Some([r, w, d]),
                _ => None,
            },
            object,
            timeout_ms,
            read_ahead: RefCell::new(None),
        })
    }

    /// `storage.watch(onAppend)`, if the storage has it; returns what it returned.
    pub fn watch(&self, on_append: &Function) -> Option<JsValue> {
        let watch = self.watch.as_ref()?;
        watch.call1(&self.object, on_append).ok()
    }

    /// Calls a method and awaits its result, with the timeout.
    async fn call(&self, name: &str, f: &Function, args: &Array) -> Result<JsValue, StorageError> {
        call_with_timeout(&format!("storage.{name}"), &self.object, f, args, self.timeout_ms).await
    }

    /// `readEvents(after, limit)`. When the page is full, the page after it is asked for at
    /// once, before this one is decoded, checked and applied: the host reads it (IndexedDB
    /// in its own thread) while the engine works, and the engine's next call takes it. An
    /// append drops it. A page that was not full is the last: the call after it always asks
    /// the host again.
    async fn read_page(&self, after: u64, limit: u32) -> Result<JsValue, StorageError> {
        let what = "storage.readEvents";
        let ahead = self.read_ahead.borrow_mut().take();
        let promise = match ahead {
            Some(a) if a.after == after && a.limit == limit => a.promise,
            _ => self.start_read(after, limit).map_err(|e| failed(what, e))?,
        };
        let value = settle(what, promise, self.timeout_ms).await?;
        if let Some(last) = last_position_of_full_page(&value, limit) {
            if let Ok(promise) = self.start_read(last, limit) {
                *self.read_ahead.borrow_mut() = Some(ReadAhead {
                    after: last,
                    limit,
                    promise,
                });
            }
        }
        Ok(value)
    }

    /// Calls `readEvents(after, limit)`; its promise, with a rejection handler attached (a
    /// read ahead that is dropped and fails is nobody's unhandled rejection).
    fn start_read(&self, after: u64, limit: u32) -> Result<Promise, JsValue> {
        let args = Array::of2(&JsValue::from_f64(after as f64), &JsValue::from_f64(limit as f64));
        let promise = Promise::resolve(&self.read_events.apply(&self.object, &args)?);
        IGNORE.with(|ignore| {
            let _ = promise.catch(ignore);
        });
        Ok(promise)
    }

    /// Forgets the page read ahead (the log is about to change).
    fn drop_read_ahead(&self) {
        self.read_ahead.borrow_mut().take();
    }
}

thread_local! {
    /// A rejection handler that does nothing.
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
}

/// The position of the last record of `page` if it holds `limit` records, as the record
/// says (wrong values only make the read ahead useless: every record is checked anyway).
fn last_position_of_full_page(page: &JsValue, limit: u32) -> Option<u64> {
    let page = page.dyn_ref::<Array>()?;
    if page.length() != limit || limit == 0 {
        return None;
    }
    let last = Reflect::get(&page.get(limit - 1), &JsValue::from_str("position")).ok()?;
    convert::safe_u64(&last, "position").ok()
}

/// Calls `object.f(...args)` and awaits its result for at most `timeout_ms` (`what` names it
/// in errors, e.g. `storage.readEvents`).
pub(super) async fn call_with_timeout(
    what: &str,
    object: &JsValue,
    f: &Function,
    args: &Array,
    timeout_ms: Option<f64>,
) -> Result<JsValue, StorageError> {
    let returned = f.apply(object, args).map_err(|e| failed(what, e))?;
    settle(what, Promise::resolve(&returned), timeout_ms).await
}

/// Awaits what a storage method returned, for at most `timeout_ms`.
async fn settle(what: &str, promise: Promise, timeout_ms: Option<f64>) -> Result<JsValue, StorageError> {
    match timeout_ms {
        Some(ms) if ms > 0.0 => race_timeout(what, promise, ms).await,
        _ => JsFuture::from(promise).await.map_err(|e| failed(what, e)),
    }
}

fn failed(what: &str, e: JsValue) -> StorageError {
    StorageError::new(StorageFailure::Failed, format!("{what} failed: {}", message_of(&e))).with_cause(Rc::new(e))
}

/// Awaits `promise` for at most `ms`; the timer is cleared either way.
async fn race_timeout(what: &str, promise: Promise, ms: f64) -> Result<JsValue, StorageError> {
    let global = js_sys::global();
    let set_timeout = Reflect::get(&global, &JsValue::from_str("setTimeout"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    let clear_timeout = Reflect::get(&global, &JsValue::from_str("clearTimeout"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    let Some(set_timeout) = set_timeout else {
        return JsFuture::from(promise).await.map_err(|e| failed(what, e));
    };
    let marker: JsValue = Object::new().into();
    let mut timer = JsValue::UNDEFINED;
    let timeout = Promise::new(&mut |resolve, _reject| {
        let fire = resolve.bind1(&JsValue::UNDEFINED, &marker);
        timer = set_timeout
            .call2(&global, &fire, &JsValue::from_f64(ms))
            .unwrap_or(JsValue::UNDEFINED);
    });
    let race = Promise::race(&Array::of2(&promise, &timeout));
    let result = JsFuture::from(race).await;
    if let Some(clear) = clear_timeout {
        let _ = clear.call1(&global, &timer);
    }
    match result {
        Ok(v) if v == marker => Err(StorageError::new(
            StorageFailure::Timeout,
            format!(
                "{what} did not settle within {} ms; its outcome is unknown (retrying with the same commandId is safe)",
                ms as u64
            ),
        )),
        Ok(v) => Ok(v),
        Err(e) => Err(failed(what, e)),
    }
}

impl Storage for HostStorage {
    async fn read_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, Error> {
        match self {
            HostStorage::Ephemeral(m) => m.read_events(after, limit).await,
            HostStorage::Js(js) => {
                let value = js.read_page(after, limit).await?;
                convert::stored_events(&value, after)
            }
        }
    }

    async fn append_events(&self, events: &[Event], expected: u64) -> Result<(), AppendError> {
        match self {
            HostStorage::Ephemeral(m) => m.append_events(events, expected).await,
            HostStorage::Js(js) => {
                js.drop_read_ahead();
                let batch = convert::parse(&convert::events_json(events));
                let args = Array::of2(&batch, &JsValue::from_f64(expected as f64));
                match js.call("appendEvents", &js.append_events, &args).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.reason == StorageFailure::Failed && is_conflict(&e) => Err(AppendError::Conflict),
                    Err(e) => Err(AppendError::Failed(e)),
                }
            }
        }
    }

    async fn read_snapshot(&self, key: &str) -> Result<Option<Snapshot>, StorageError> {
        match self {
            HostStorage::Ephemeral(m) => m.read_snapshot(key).await,
            HostStorage::Js(js) => {
                let Some(f) = &js.read_snapshot else { return Ok(None) };
                let value = js.call("readSnapshot", f, &Array::of1(&JsValue::from_str(key))).await?;
                Ok(snapshot_from_js(&value))
            }
        }
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StorageError> {
        match self {
            HostStorage::Ephemeral(m) => m.write_snapshot(snapshot).await,
            HostStorage::Js(js) => {
                let Some(f) = &js.write_snapshot else { return Ok(()) };
                js.call("writeSnapshot", f, &Array::of1(&snapshot_to_js(snapshot)))
                    .await
                    .map(|_| ())
            }
        }
    }

    async fn scrub(&self) -> Result<(), StorageError> {
        match self {
            HostStorage::Ephemeral(m) => m.scrub().await,
            HostStorage::Js(js) => {
                let Some(f) = &js.scrub else { return Ok(()) };
                js.call("scrub", f, &Array::new()).await.map(|_| ())
            }
        }
    }

    async fn close(&self) -> Result<(), StorageError> {
        match self {
            HostStorage::Ephemeral(m) => m.close().await,
            HostStorage::Js(js) => {
                js.drop_read_ahead();
                let Some(f) = &js.close else { return Ok(()) };
                js.call("close", f, &Array::new()).await.map(|_| ())
            }
        }
    }
}

fn is_conflict(e: &StorageError) -> bool {
    e.cause
        .as_ref()
        .and_then(|c| c.downcast_ref::<JsValue>())
        .and_then(code_of)
        .is_some_and(|c| c == "CONFLICT")
}

/// `{ key, position, hash, versions, state }` with `state` a JSON value.
fn snapshot_to_js(s: &Snapshot) -> JsValue {
    let mut text = String::with_capacity(s.state.len() + 160);
    text.push_str("{\"key\":");
    crate::canonical::write_string(&mut text, &s.key);
    text.push_str(",\"position\":");
    crate::canonical::write_u64(&mut text, s.position);
    text.push_str(",\"hash\":");
    crate::canonical::write_string(&mut text, &s.hash);
    text.push_str(",\"versions\":");
    crate::canonical::write_string(&mut text, &s.versions);
    text.push_str(",\"state\":");
    text.push_str(&s.state);
    text.push('}');
    convert::parse(&text)
}

/// A stored snapshot; anything malformed is treated as absent (it is rebuilt).
fn snapshot_from_js(v: &JsValue) -> Option<Snapshot> {
    if !v.is_object() {
        return None;
    }
    let key = Reflect::get(v, &JsValue::from_str("key")).ok()?.as_string()?;
    let position = convert::safe_u64(&Reflect::get(v, &JsValue::from_str("position")).ok()?, "position").ok()?;
    let hash = Reflect::get(v, &JsValue::from_str("hash")).ok()?.as_string()?;
    // A snapshot written before versions were recorded matches nothing (it is rebuilt).
    let versions = Reflect::get(v, &JsValue::from_str("versions"))
        .ok()?
        .as_string()
        .unwrap_or_default();
    let state = convert::stringify(&Reflect::get(v, &JsValue::from_str("state")).ok()?, "snapshot state").ok()?;
    Some(Snapshot {
        key,
        position,
        hash,
        versions,
        state,
    })
}

impl OutboxStore for HostStorage {
    fn has_outbox(&self) -> bool {
        matches!(self, HostStorage::Js(JsAdapter { outbox: Some(_), .. }))
    }

    async fn read_outbox(&self) -> Result<Vec<OutboxEntry>, Error> {
        let (js, [read, _, _]) = outbox_of(self)?;
        let value = js.call("readOutbox", read, &Array::new()).await?;
        if !Array::is_array(&value) {
            return Err(StorageError::new(
                StorageFailure::Malformed,
                format!(
                    "readOutbox must resolve to an array of entries, got {}",
                    type_of(&value)
                ),
            )
            .into());
        }
        let text = convert::stringify(&value, "the outbox")
            .map_err(|e| StorageError::new(StorageFailure::Malformed, format!("readOutbox: {}", e.message())))?;
        let entries: Vec<serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| StorageError::new(StorageFailure::Malformed, format!("readOutbox: {e}")))?;
        // In `seq` order, as the contract says.
        Ok(entries
            .iter()
            .map(OutboxEntry::from_json)
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn write_outbox(&self, entry: &OutboxEntry) -> Result<(), StorageError> {
        let (js, [_, write, _]) = outbox_of(self)?;
        let value = convert::parse(&entry.to_json());
        js.call("writeOutbox", write, &Array::of1(&value)).await.map(|_| ())
    }

    async fn delete_outbox(&self, command_ids: &[String]) -> Result<(), StorageError> {
        let (js, [_, _, delete]) = outbox_of(self)?;
        let ids: Array = command_ids.iter().map(|id| JsValue::from_str(id)).collect();
        js.call("deleteOutbox", delete, &Array::of1(&ids)).await.map(|_| ())
    }
}

/// The adapter and its outbox methods, or a `StorageError` (`unsupported`).
fn outbox_of(storage: &HostStorage) -> Result<(&JsAdapter, &[Function; 3]), StorageError> {
    match storage {
        HostStorage::Js(js @ JsAdapter { outbox: Some(f), .. }) => Ok((js, f)),
        _ => Err(StorageError::new(
            StorageFailure::Unsupported,
            "this storage keeps no outbox (readOutbox, writeOutbox, deleteOutbox)",
        )),
    }
}
