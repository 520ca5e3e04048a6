//! The `Engine` class JavaScript sees (DESIGN.md §4).
//!
//! Every method that reads or writes the log returns a Promise; `defineAggregate`,
//! `defineProjection` and `subscribe` are synchronous. Arguments are converted and checked
//! when the method is called (`convert/options.rs`), and every failure is a typed `Error`,
//! never a panic. Each asynchronous method is the same three steps, written once in
//! [`JsEngine::spawn`] and [`JsEngine::read`]: parse the arguments (a failure rejects),
//! run against the engine once it is free, turn the answer into a fresh JavaScript value.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

use crate::domains;
use crate::engine::Engine as CoreEngine;
use crate::error::Error;
use crate::ExecuteResult;

use super::convert::{self, OpenOptions};
use super::errors::{check_alive, to_js};
use super::forms::{definition_version, personal_data, upcaster};
use super::storage::HostStorage;
use super::subscriber::JsSubscriber;
use super::user_code::{JsAggregate, JsProjection};

pub(super) type Core = CoreEngine<HostStorage>;

/// The callback handed to `storage.watch`.
type OnAppend = Closure<dyn FnMut(JsValue)>;

pub(super) struct Inner {
    pub(super) engine: Core,
    /// What `storage.watch` returned (called on close to stop watching).
    unwatch: RefCell<Option<JsValue>>,
    /// The callback given to `storage.watch`; kept alive as long as the engine.
    _on_append: RefCell<Option<OnAppend>>,
    catching_up: Cell<bool>,
    /// The sync client of an engine opened with `sync` (`sync.rs`).
    pub(super) sync: Option<Rc<super::sync::SyncSide>>,
}

/// An event-sourcing engine. Open one with `await Engine.open(options)`.
#[wasm_bindgen(js_name = Engine, skip_typescript)]
pub struct JsEngine {
    pub(super) inner: Rc<Inner>,
}

/// Yields to the JavaScript event loop once (a resolved promise's microtask).
async fn yield_now() {
    let _ = JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await;
}

/// Runs `f` now if the engine is free, else after the current synchronous call into user
/// code has returned (a read from inside `decide`, `evolve` or a listener).
pub(super) async fn when_free<R>(engine: &Core, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
    while engine.is_busy() {
        yield_now().await;
    }
    f()
}

/// A command's answer with its events in read form once the engine is free (only those
/// whose read form differs are replaced), or as stored with `raw`.
pub(super) async fn in_read_form(engine: &Core, mut result: ExecuteResult, raw: bool) -> Result<ExecuteResult, Error> {
    if !raw {
        let events = std::mem::take(&mut result.events);
        result.events = when_free(engine, || engine.into_read_form(events)).await?;
    }
    Ok(result)
}

/// A Promise of `f`'s answer; an `Error` becomes the rejection's typed JavaScript error.
/// (One instance for every method: the future is boxed, so the wrapper is not compiled again
/// for each method's future; see BENCHMARKS.md, target 10.)
pub(super) fn promise(f: Answer) -> Promise {
    if let Err(e) = check_alive() {
        return Promise::reject(&e);
    }
    future_to_promise(async move { f.await.map_err(|e| to_js(&e)) })
}

/// What an asynchronous method resolves to, boxed.
pub(super) type Answer = Pin<Box<dyn Future<Output = Result<JsValue, Error>>>>;

/// A read's work: JSON text from the engine once it is free.
type ReadJob = Box<dyn Fn(&Core) -> Result<String, Error>>;

pub(super) fn sync<T>(r: Result<T, Error>) -> Result<T, JsValue> {
    check_alive()?;
    r.map_err(|e| to_js(&e))
}

impl JsEngine {
    /// Rejects at once if the arguments are bad; else calls `f` now (so commands keep their
    /// call order) and resolves to what its future gives.
    pub(super) fn spawn<A, Fut>(&self, args: Result<A, Error>, f: impl FnOnce(Rc<Inner>, A) -> Fut) -> Promise
    where
        Fut: Future<Output = Result<JsValue, Error>> + 'static,
    {
        if let Err(e) = check_alive() {
            return Promise::reject(&e);
        }
        match args {
            Ok(args) => promise(Box::pin(f(self.inner.clone(), args))),
            Err(e) => Promise::reject(&to_js(&e)),
        }
    }

    /// A read: `f` answers JSON text once the engine is free; resolves to its value.
    fn read<A: 'static>(
        &self,
        args: Result<A, Error>,
        f: impl Fn(&Core, &A) -> Result<String, Error> + 'static,
    ) -> Promise {
        self.read_job(args.map(|args| Box::new(move |engine: &Core| f(engine, &args)) as ReadJob))
    }

    /// [`JsEngine::read`]'s one instance, whatever the arguments.
    fn read_job(&self, job: Result<ReadJob, Error>) -> Promise {
        self.spawn(job, |inner, job| async move {
            let text = when_free(&inner.engine, || job(&inner.engine)).await?;
            Ok(convert::parse(&text))
        })
    }
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// Opens an engine over `options.storage` (default: in memory), reading and checking every
    /// stored event. The built-in domains are always defined.
    #[wasm_bindgen(js_name = open)]
    pub fn open(options: JsValue) -> Promise {
        promise(Box::pin(async move {
            let OpenOptions { storage, mut config } = convert::open_options(&options)?;
            let sync_options = super::sync::open_options(&options)?;
            domains::register_builtins(&mut config);
            let engine = CoreEngine::open(storage, config).await?;
            let sync = match sync_options {
                None => None,
                Some(o) => match super::sync::attach(&engine, o).await {
                    Ok(side) => Some(side),
                    Err(e) => {
                        let _ = engine.close().await;
                        return Err(e);
                    }
                },
            };
            let inner = Rc::new(Inner {
                engine,
                unwatch: RefCell::new(None),
                _on_append: RefCell::new(None),
                catching_up: Cell::new(false),
                sync,
            });
            watch(&inner);
            super::sync::start(&inner);
            Ok(JsEngine { inner }.into())
        }))
    }

    /// Decides and persists a command; resolves to `{ events, version, position }` (the
    /// events in read form, or as stored with `{ raw: true }`).
    #[wasm_bindgen(js_name = execute)]
    pub fn execute(&self, stream_type: JsValue, stream_id: JsValue, command: JsValue, options: JsValue) -> Promise {
        if let Some(p) = super::sync::execute(self, &stream_type, &stream_id, &command, &options) {
            return p;
        }
        let request = convert::execute_request(&stream_type, &stream_id, &command, &options);
        self.spawn(request, |inner, (request, raw)| {
            let ticket = inner.engine.submit(request);
            async move {
                let result = inner.engine.outcome(ticket).await?;
                let result = in_read_form(&inner.engine, result, raw).await?;
                Ok(convert::parse(&convert::result_json(&result)))
            }
        })
    }

    /// Defines an aggregate type in JavaScript: `{ initialState, decide, evolve }`, and
    /// `{ version }` (default 1): a type defined again with another version replaces it.
    #[wasm_bindgen(js_name = defineAggregate)]
    pub fn define_aggregate(&self, stream_type: JsValue, definition: JsValue, options: JsValue) -> Result<(), JsValue> {
        sync((|| {
            let name = convert::string(&stream_type, "streamType")?;
            let aggregate = JsAggregate::from_definition(&definition)?;
            let version = definition_version(&options, "defineAggregate options")?;
            self.inner
                .engine
                .define_aggregate_version(&name, Rc::new(aggregate), version)
        })())
    }

    /// Defines a projection in JavaScript: `{ initialState, evolve, filter? }`, and
    /// `{ version }` (default 1); it is built from the whole log at once, then kept current.
    #[wasm_bindgen(js_name = defineProjection)]
    pub fn define_projection(&self, name: JsValue, definition: JsValue, options: JsValue) -> Result<(), JsValue> {
        sync((|| {
            let name = convert::string(&name, "projection name")?;
            let projection = JsProjection::from_definition(&definition)?;
            let version = definition_version(&options, "defineProjection options")?;
            self.inner
                .engine
                .define_projection_version(&name, Rc::new(projection), version)
        })())
    }

    /// Upcasts events of `type` from version `from` to `from + 1`: `{ from, up }`.
    #[wasm_bindgen(js_name = defineUpcaster)]
    pub fn define_upcaster(&self, event_type: JsValue, definition: JsValue) -> Result<(), JsValue> {
        sync((|| {
            let event_type = convert::string(&event_type, "type")?;
            let (from, up) = upcaster(&definition)?;
            self.inner.engine.define_upcaster(&event_type, from, Rc::new(up))
        })())
    }

    /// Declares the personal data of events of `type`: `{ subject, fields }`.
    #[wasm_bindgen(js_name = definePersonalData)]
    pub fn define_personal_data(&self, event_type: JsValue, definition: JsValue) -> Result<(), JsValue> {
        sync((|| {
            let event_type = convert::string(&event_type, "type")?;
            let declaration = personal_data(&definition)?;
            self.inner.engine.define_personal_data(&event_type, declaration)
        })())
    }

    /// Forgets a subject: deletes its keys; its personal data reads as `null` from now on.
    #[wasm_bindgen(js_name = forget)]
    pub fn forget(&self, subject: JsValue) -> Promise {
        self.spawn(convert::string(&subject, "subject"), |inner, subject| async move {
            inner.engine.forget(&subject).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The data keys of `subjects` the engine holds (for a sync server's `GET /v1/keys`):
    /// `{ keys: { [name]: base64 }, forgotten: [subject] }`.
    #[wasm_bindgen(js_name = exportKeys)]
    pub fn export_keys(&self, subjects: JsValue) -> Promise {
        let subjects = convert::string_list(&subjects, "subjects");
        self.read(subjects, |e, subjects| {
            e.export_keys(subjects).map(|x| convert::key_export_json(&x))
        })
    }

    /// Events of one stream: `{ fromVersion, direction, limit, raw }`.
    #[wasm_bindgen(js_name = readStream)]
    pub fn read_stream(&self, stream_id: JsValue, options: JsValue) -> Promise {
        if let Some(p) = super::sync::read_stream(self, &stream_id, &options) {
            return p;
        }
        self.read(convert::read_stream_args(&stream_id, &options), |e, (id, opts, raw)| {
            e.with_read_stream(id, opts, *raw, convert::views_json)
        })
    }

    /// Events of the whole log: `{ fromPosition, limit, types, streamType, fromTimestamp, toTimestamp, raw }`.
    #[wasm_bindgen(js_name = readAll)]
    pub fn read_all(&self, options: JsValue) -> Promise {
        if let Some(p) = super::sync::read_all(self, &options) {
            return p;
        }
        self.read(convert::read_all_options(&options), |e, (opts, raw)| {
            e.with_read_all(opts, *raw, convert::views_json)
        })
    }

    /// The stream's version (0 when it has no events).
    #[wasm_bindgen(js_name = streamVersion)]
    pub fn stream_version(&self, stream_id: JsValue, options: JsValue) -> Promise {
        if let Some(p) = super::sync::stream_version(self, &stream_id, &options) {
            return p;
        }
        self.read(convert::string(&stream_id, "streamId"), |e, id| {
            e.stream_version(id).map(|v| v.to_string())
        })
    }

    /// An aggregate's `{ state, version }` now or `{ at: { version | position | timestamp } }`;
    /// `null` when no event qualifies.
    #[wasm_bindgen(js_name = load)]
    pub fn load(&self, stream_type: JsValue, stream_id: JsValue, options: JsValue) -> Promise {
        if let Some(p) = super::sync::load(self, &stream_type, &stream_id, &options) {
            return p;
        }
        self.read(
            convert::load_args(&stream_type, &stream_id, &options),
            |e, (t, id, at)| {
                Ok(match e.load(t, id, *at)? {
                    None => "null".to_owned(),
                    Some(l) => format!("{{\"state\":{},\"version\":{}}}", l.state, l.version),
                })
            },
        )
    }

    /// A projection's state, now or `{ at: { position | timestamp } }`.
    #[wasm_bindgen(js_name = projection)]
    pub fn projection(&self, name: JsValue, options: JsValue) -> Promise {
        if let Some(p) = super::sync::projection(self, &name, &options) {
            return p;
        }
        self.read(convert::projection_args(&name, &options), |e, (name, at)| {
            e.projection(name, *at)
        })
    }

    /// Records of a map-shaped projection whose fields equal every field of `where`.
    #[wasm_bindgen(js_name = query)]
    pub fn query(&self, name: JsValue, filter: JsValue, options: JsValue) -> Promise {
        if let Some(p) = super::sync::query(self, &name, &filter, &options) {
            return p;
        }
        self.read(convert::query_args(&name, &filter), |e, (name, filter)| {
            e.query(name, filter)
        })
    }

    /// Calls `listener(event)` for each committed event after `fromPosition` (default: the
    /// head), in order, filtered by `types`, `streamId`, `streamType`. Returns `{ unsubscribe }`.
    #[wasm_bindgen(js_name = subscribe)]
    pub fn subscribe(&self, listener: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        let args = sync(convert::subscribe_args(listener, &options))?;
        let subscriber = Rc::new(JsSubscriber::new(args.listener, args.on_error, args.raw));
        let id = sync(self.inner.engine.subscribe(subscriber, args.filter, args.from_position))?;
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
        self.read(convert::replay_name(&name), |e, name| {
            e.replay(name.as_deref()).map(|r| convert::replay_json(&r))
        })
    }

    /// `{ totalEvents, totalStreams, eventTypeDistribution, headPosition, headHash }`.
    #[wasm_bindgen(js_name = stats)]
    pub fn stats(&self) -> Promise {
        self.read(Ok(()), |e, ()| e.stats().map(|s| convert::stats_json(&s)))
    }

    /// Recomputes the hash chain: `{ ok, checked, firstBadPosition }`.
    #[wasm_bindgen(js_name = verify)]
    pub fn verify(&self) -> Promise {
        self.read(Ok(()), |e, ()| e.verify().map(|r| convert::verify_json(&r)))
    }

    /// Finishes queued commands, stops watching and closes the storage. Closing twice is
    /// harmless; any other call afterwards rejects with `ClosedError`.
    #[wasm_bindgen(js_name = close)]
    pub fn close(&self) -> Promise {
        self.spawn(Ok(()), |inner, ()| async move {
            let was_closed = inner.engine.is_closed();
            super::sync::close(&inner);
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
            yield_now().await;
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
            super::sync::catch_up(&inner).await;
            inner.catching_up.set(false);
            // Anything that arrived meanwhile.
            super::sync::catch_up(&inner).await;
        });
    });
    let f: &Function = on_append.as_ref().unchecked_ref();
    let unwatch = adapter.watch(f);
    *inner.unwatch.borrow_mut() = unwatch;
    *inner._on_append.borrow_mut() = Some(on_append);
}
