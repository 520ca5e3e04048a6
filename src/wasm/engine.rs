//! The `Engine` class JavaScript sees (DESIGN.md §4).
//!
//! Every method that reads or writes the log returns a Promise; `defineAggregate`,
//! `defineProjection` and `subscribe` are synchronous. Arguments are converted and checked
//! when the method is called (a later change to the caller's objects does not matter), and
//! every failure is a typed `Error`, never a panic.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

use crate::clock::Clock;
use crate::decider::Command;
use crate::engine::{Engine as CoreEngine, EngineConfig, ExecuteRequest, ExecuteResult};
use crate::error::Error;
use crate::log::{Direction, ReadAllOptions, ReadStreamOptions};
use crate::storage::EphemeralStorage;

use super::convert::{self, get, opt_positive, opt_string, opt_timestamp, opt_u64};
use super::errors::{check_alive, to_js};
use super::storage::{HostStorage, JsAdapter};
use super::subscriber::JsSubscriber;
use super::user_code::{JsAggregate, JsProjection};

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

fn random_seed() -> u64 {
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) ^ lo ^ (js_sys::Date::now() as u64)
}

/// The callback handed to `storage.watch`.
type OnAppend = Closure<dyn FnMut(JsValue)>;

struct Inner {
    engine: CoreEngine<HostStorage>,
    /// What `storage.watch` returned (called on close to stop watching).
    unwatch: RefCell<Option<JsValue>>,
    /// The callback given to `storage.watch`; kept alive as long as the engine.
    _on_append: RefCell<Option<OnAppend>>,
    catching_up: Cell<bool>,
}

/// An event-sourcing engine. Open one with `await Engine.open(options)`.
#[wasm_bindgen(js_name = Engine, skip_typescript)]
pub struct JsEngine {
    inner: Rc<Inner>,
}

fn reject(e: Error) -> Promise {
    Promise::reject(&to_js(&e))
}

/// Runs `f` now if the engine is free, else after the current synchronous call into user
/// code has returned (a read from inside `decide`, `evolve` or a listener).
async fn when_free<R>(f: impl Fn() -> Result<R, Error>) -> Result<R, Error> {
    loop {
        match f() {
            Err(Error::Busy) => {
                let _ = JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await;
            }
            other => return other,
        }
    }
}

fn promise<F>(f: F) -> Promise
where
    F: Future<Output = Result<JsValue, Error>> + 'static,
{
    if let Err(e) = check_alive() {
        return Promise::reject(&e);
    }
    future_to_promise(async move { f.await.map_err(|e| to_js(&e)) })
}

fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

fn result_json(r: &ExecuteResult) -> String {
    let events = convert::events_json(&r.events);
    format!(
        "{{\"events\":{events},\"version\":{},\"position\":{}}}",
        r.version, r.position
    )
}

fn sync<T>(r: Result<T, Error>) -> Result<T, JsValue> {
    check_alive()?;
    r.map_err(|e| to_js(&e))
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// Opens an engine over `options.storage` (default: in memory), reading and checking every
    /// stored event.
    #[wasm_bindgen(js_name = open)]
    pub fn open(options: JsValue) -> Promise {
        promise(async move {
            convert::options(&options, "Engine.open options")?;
            let snapshot_every = opt_positive(&options, "snapshotEvery")?;
            let timeout = get(&options, "appendTimeoutMs")?;
            let timeout_ms = if timeout.is_undefined() || timeout.is_null() {
                Some(10_000.0)
            } else {
                match timeout.as_f64() {
                    Some(ms) if ms >= 0.0 && !ms.is_nan() => (ms > 0.0 && ms.is_finite()).then_some(ms),
                    _ => {
                        return Err(Error::validation(
                            "appendTimeoutMs must be a non-negative number of milliseconds",
                        ))
                    }
                }
            };
            let clock = match convert::opt_function(&options, "clock")? {
                Some(f) => JsClock::Custom(f),
                None => JsClock::Now,
            };
            let storage_value = get(&options, "storage")?;
            let storage = if storage_value.is_undefined() || storage_value.is_null() {
                HostStorage::Ephemeral(EphemeralStorage::new())
            } else {
                HostStorage::Js(JsAdapter::new(storage_value, timeout_ms)?)
            };
            let mut config = EngineConfig::new(Rc::new(clock), random_seed());
            if let Some(n) = snapshot_every {
                config.snapshot_every = n;
            }
            if let Some(n) = opt_positive(&options, "projectionSnapshotEvery")? {
                config.projection_snapshot_every = n;
            }
            let engine = CoreEngine::open(storage, config).await?;
            let inner = Rc::new(Inner {
                engine,
                unwatch: RefCell::new(None),
                _on_append: RefCell::new(None),
                catching_up: Cell::new(false),
            });
            watch(&inner);
            Ok(JsEngine { inner }.into())
        })
    }

    /// Decides and persists a command; resolves to `{ events, version, position }`.
    #[wasm_bindgen(js_name = execute)]
    pub fn execute(&self, stream_type: JsValue, stream_id: JsValue, command: JsValue, options: JsValue) -> Promise {
        let request = (|| -> Result<ExecuteRequest, Error> {
            let stream_type = convert::string(&stream_type, "streamType")?;
            let stream_id = convert::string(&stream_id, "streamId")?;
            let command = Command::from_value(convert::to_value(&command, "command")?)?;
            convert::options(&options, "execute options")?;
            let mut request = ExecuteRequest::new(stream_type, stream_id, command);
            request.expected_version = convert::expected_version(&get(&options, "expectedVersion")?)?;
            request.metadata = convert::to_map(&get(&options, "metadata")?, "metadata")?;
            request.command_id = opt_string(&options, "commandId")?;
            Ok(request)
        })();
        let request = match request {
            Ok(r) => r,
            Err(e) => return reject(e),
        };
        if let Err(e) = check_alive() {
            return Promise::reject(&e);
        }
        let ticket = self.inner.engine.submit(request);
        let inner = self.inner.clone();
        promise(async move {
            let result = inner.engine.outcome(ticket).await?;
            Ok(convert::parse(&result_json(&result)))
        })
    }

    /// Defines an aggregate type in JavaScript: `{ initialState, decide, evolve }`.
    #[wasm_bindgen(js_name = defineAggregate)]
    pub fn define_aggregate(&self, stream_type: JsValue, definition: JsValue) -> Result<(), JsValue> {
        sync((|| {
            let name = convert::string(&stream_type, "streamType")?;
            let aggregate = JsAggregate::from_definition(&definition)?;
            self.inner.engine.define_aggregate(&name, Rc::new(aggregate))
        })())
    }

    /// Defines a projection in JavaScript: `{ initialState, evolve, filter? }`; it is built
    /// from the whole log at once, then kept current.
    #[wasm_bindgen(js_name = defineProjection)]
    pub fn define_projection(&self, name: JsValue, definition: JsValue) -> Result<(), JsValue> {
        sync((|| {
            let name = convert::string(&name, "projection name")?;
            let projection = JsProjection::from_definition(&definition)?;
            self.inner.engine.define_projection(&name, Rc::new(projection))
        })())
    }

    /// Events of one stream: `{ fromVersion, direction, limit }`.
    #[wasm_bindgen(js_name = readStream)]
    pub fn read_stream(&self, stream_id: JsValue, options: JsValue) -> Promise {
        let parsed = (|| -> Result<(String, ReadStreamOptions), Error> {
            let id = convert::string(&stream_id, "streamId")?;
            convert::options(&options, "readStream options")?;
            let direction = match opt_string(&options, "direction")?.as_deref() {
                None | Some("forward") => Direction::Forward,
                Some("backward") => Direction::Backward,
                Some(other) => {
                    return Err(Error::validation(format!(
                        "direction must be 'forward' or 'backward', got {other:?}"
                    )))
                }
            };
            let opts = ReadStreamOptions {
                from_version: opt_u64(&options, "fromVersion")?,
                direction,
                limit: opt_positive(&options, "limit")?.map(|n| n as usize),
            };
            Ok((id, opts))
        })();
        let (id, opts) = match parsed {
            Ok(p) => p,
            Err(e) => return reject(e),
        };
        let inner = self.inner.clone();
        promise(async move {
            let text = when_free(|| inner.engine.with_read_stream(&id, &opts, views_json)).await?;
            Ok(convert::parse(&text))
        })
    }

    /// Events of the whole log: `{ fromPosition, limit, types, streamType, fromTimestamp, toTimestamp }`.
    #[wasm_bindgen(js_name = readAll)]
    pub fn read_all(&self, options: JsValue) -> Promise {
        let parsed = (|| -> Result<ReadAllOptions, Error> {
            convert::options(&options, "readAll options")?;
            let from_ts = opt_timestamp(&options, "fromTimestamp")?;
            let to_ts = opt_timestamp(&options, "toTimestamp")?;
            Ok(ReadAllOptions {
                from_position: opt_u64(&options, "fromPosition")?.unwrap_or(0),
                limit: opt_positive(&options, "limit")?.map(|n| n as usize),
                types: convert::opt_strings(&options, "types")?,
                stream_type: opt_string(&options, "streamType")?,
                from_timestamp: from_ts.map(|t| t.ceil() as i64),
                to_timestamp: to_ts.map(|t| t.floor() as i64),
            })
        })();
        let opts = match parsed {
            Ok(p) => p,
            Err(e) => return reject(e),
        };
        let inner = self.inner.clone();
        promise(async move {
            let text = when_free(|| inner.engine.with_read_all(&opts, views_json)).await?;
            Ok(convert::parse(&text))
        })
    }

    /// The stream's version (0 when it has no events).
    #[wasm_bindgen(js_name = streamVersion)]
    pub fn stream_version(&self, stream_id: JsValue) -> Promise {
        let id = match convert::string(&stream_id, "streamId") {
            Ok(id) => id,
            Err(e) => return reject(e),
        };
        let inner = self.inner.clone();
        promise(async move { Ok(number(when_free(|| inner.engine.stream_version(&id)).await?)) })
    }

    /// An aggregate's `{ state, version }` now or `{ at: { version | position | timestamp } }`;
    /// `null` when no event qualifies.
    #[wasm_bindgen(js_name = load)]
    pub fn load(&self, stream_type: JsValue, stream_id: JsValue, options: JsValue) -> Promise {
        let parsed = (|| {
            let t = convert::string(&stream_type, "streamType")?;
            let id = convert::string(&stream_id, "streamId")?;
            convert::options(&options, "load options")?;
            Ok((t, id, convert::at(&options)?))
        })();
        let (t, id, at) = match parsed {
            Ok(p) => p,
            Err(e) => return reject(e),
        };
        let inner = self.inner.clone();
        promise(async move {
            match when_free(|| inner.engine.load(&t, &id, at)).await? {
                None => Ok(JsValue::NULL),
                Some(l) => Ok(convert::parse(&format!(
                    "{{\"state\":{},\"version\":{}}}",
                    l.state, l.version
                ))),
            }
        })
    }

    /// A projection's state, now or `{ at: { position | timestamp } }`.
    #[wasm_bindgen(js_name = projection)]
    pub fn projection(&self, name: JsValue, options: JsValue) -> Promise {
        let parsed = (|| {
            let name = convert::string(&name, "projection name")?;
            convert::options(&options, "projection options")?;
            Ok((name, convert::at(&options)?))
        })();
        let (name, at) = match parsed {
            Ok(p) => p,
            Err(e) => return reject(e),
        };
        let inner = self.inner.clone();
        promise(async move { Ok(convert::parse(&when_free(|| inner.engine.projection(&name, at)).await?)) })
    }

    /// Records of a map-shaped projection whose fields equal every field of `where`.
    #[wasm_bindgen(js_name = query)]
    pub fn query(&self, name: JsValue, filter: JsValue) -> Promise {
        let parsed = (|| {
            let name = convert::string(&name, "projection name")?;
            convert::options(&filter, "query filter")?;
            Ok((name, convert::to_map(&filter, "query filter")?))
        })();
        let (name, filter) = match parsed {
            Ok(p) => p,
            Err(e) => return reject(e),
        };
        let inner = self.inner.clone();
        promise(async move { Ok(convert::parse(&when_free(|| inner.engine.query(&name, &filter)).await?)) })
    }

    /// Calls `listener(event)` for each committed event after `fromPosition` (default: the
    /// head), in order, filtered by `types`, `streamId`, `streamType`. Returns `{ unsubscribe }`.
    #[wasm_bindgen(js_name = subscribe)]
    pub fn subscribe(&self, listener: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        let (listener, filter, from, on_error) = sync((|| {
            let listener = listener
                .dyn_into::<Function>()
                .map_err(|v| Error::validation(format!("listener must be a function, got {}", convert::type_of(&v))))?;
            convert::options(&options, "subscribe options")?;
            Ok((
                listener,
                convert::filter(&options)?,
                opt_u64(&options, "fromPosition")?,
                convert::opt_function(&options, "onError")?,
            ))
        })())?;
        let subscriber = Rc::new(JsSubscriber::new(listener, on_error));
        let id = sync(self.inner.engine.subscribe(subscriber, filter, from))?;
        schedule_pump(&self.inner);
        let weak = Rc::downgrade(&self.inner);
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.engine.unsubscribe(id);
            }
        });
        let handle = Object::new();
        let _ = Reflect::set(&handle, &JsValue::from_str("unsubscribe"), &unsubscribe.into_js_value());
        Ok(handle.into())
    }

    /// Rebuilds one projection, or all: `{ eventsReplayed, projectionsRebuilt }`.
    #[wasm_bindgen(js_name = replay)]
    pub fn replay(&self, name: JsValue) -> Promise {
        let name = if name.is_undefined() || name.is_null() {
            None
        } else {
            match convert::string(&name, "projection name") {
                Ok(n) => Some(n),
                Err(e) => return reject(e),
            }
        };
        let inner = self.inner.clone();
        promise(async move {
            let r = when_free(|| inner.engine.replay(name.as_deref())).await?;
            Ok(convert::parse(&format!(
                "{{\"eventsReplayed\":{},\"projectionsRebuilt\":{}}}",
                r.events_replayed, r.projections_rebuilt
            )))
        })
    }

    /// `{ totalEvents, totalStreams, eventTypeDistribution, headPosition, headHash }`.
    #[wasm_bindgen(js_name = stats)]
    pub fn stats(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let s = when_free(|| inner.engine.stats()).await?;
            let dist = serde_json::to_string(&s.event_type_distribution).unwrap_or_else(|_| "{}".into());
            Ok(convert::parse(&format!(
                "{{\"totalEvents\":{},\"totalStreams\":{},\"eventTypeDistribution\":{dist},\"headPosition\":{},\"headHash\":\"{}\"}}",
                s.total_events, s.total_streams, s.head_position, s.head_hash
            )))
        })
    }

    /// Recomputes the hash chain: `{ ok, checked, firstBadPosition }`.
    #[wasm_bindgen(js_name = verify)]
    pub fn verify(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let r = when_free(|| inner.engine.verify()).await?;
            let bad = r.first_bad_position.map_or("null".to_owned(), |p| p.to_string());
            Ok(convert::parse(&format!(
                "{{\"ok\":{},\"checked\":{},\"firstBadPosition\":{bad}}}",
                r.ok, r.checked
            )))
        })
    }

    /// Finishes queued commands, stops watching and closes the storage. Closing twice is
    /// harmless; any other call afterwards rejects with `ClosedError`.
    #[wasm_bindgen(js_name = close)]
    pub fn close(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let was_closed = inner.engine.is_closed();
            inner.engine.close().await?;
            if !was_closed {
                if let Some(unwatch) = inner.unwatch.borrow_mut().take() {
                    if let Some(f) = unwatch.dyn_ref::<Function>() {
                        let _ = f.call0(&JsValue::UNDEFINED);
                    }
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}

fn views_json(views: &[crate::log::EventView<'_>]) -> String {
    let mut out = String::with_capacity(views.len() * 320 + 2);
    out.push('[');
    for (i, v) in views.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        v.write_json(&mut out);
    }
    out.push(']');
    out
}

/// Delivers pending events to subscribers in a microtask (never inside `subscribe`).
fn schedule_pump(inner: &Rc<Inner>) {
    let weak: Weak<Inner> = Rc::downgrade(inner);
    spawn_local(async move {
        for _ in 0..1000 {
            let Some(inner) = weak.upgrade() else { return };
            if inner.engine.pump_subscriptions() {
                return;
            }
            drop(inner);
            let _ = JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await;
        }
    });
}

/// Subscribes to the storage's `watch`, if any: another writer's append makes the engine
/// catch up (projections, subscribers and loads then see it).
fn watch(inner: &Rc<Inner>) {
    let HostStorage::Js(adapter) = inner.engine.storage() else {
        return;
    };
    let weak = Rc::downgrade(inner);
    let on_append = Closure::<dyn FnMut(JsValue)>::new(move |last: JsValue| {
        let Some(inner) = weak.upgrade() else { return };
        if inner.engine.is_closed() {
            return;
        }
        if let Some(last) = last.as_f64() {
            if last <= inner.engine.head_position() as f64 {
                return;
            }
        }
        if inner.catching_up.replace(true) {
            return;
        }
        spawn_local(async move {
            let _ = inner.engine.catch_up().await;
            inner.catching_up.set(false);
            // Anything that arrived meanwhile.
            let _ = inner.engine.catch_up().await;
        });
    });
    let f: &Function = on_append.as_ref().unchecked_ref();
    let unwatch = adapter.watch(f);
    *inner.unwatch.borrow_mut() = unwatch;
    *inner._on_append.borrow_mut() = Some(on_append);
}
