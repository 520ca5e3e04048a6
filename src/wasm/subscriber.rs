//! Subscriptions from JavaScript: `engine.subscribe(listener, options)`.
//!
//! The listener is called with each event, in position order, only after the engine has
//! released its state (so it may call the engine). A listener that throws, or returns a
//! Promise that rejects, is reported to `options.onError(error, event)` (or `console.error`)
//! and delivery goes on.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::event::Event;
use crate::subscription::Subscriber;

use super::convert;
use super::errors::console_error;

pub struct JsSubscriber {
    listener: Function,
    on_error: Option<Function>,
    /// `{ raw: true }`: the events in their stored form.
    raw: bool,
}

impl JsSubscriber {
    pub fn new(listener: Function, on_error: Option<Function>, raw: bool) -> Self {
        JsSubscriber {
            listener,
            on_error,
            raw,
        }
    }

    fn report(&self, error: &JsValue, event: &JsValue) {
        report(&self.on_error, error, event)
    }
}

fn report(on_error: &Option<Function>, error: &JsValue, event: &JsValue) {
    match on_error {
        Some(f) => {
            if let Err(e) = f.call2(&JsValue::UNDEFINED, error, event) {
                console_error("eventjournal: onError threw while reporting a listener error:", &e);
            }
        }
        None => console_error("eventjournal: a subscriber threw (pass onError to handle it):", error),
    }
}

impl Subscriber for JsSubscriber {
    fn raw(&self) -> bool {
        self.raw
    }

    /// An event that cannot be read (a missing or failing upcaster, a value that does not
    /// decrypt): reported to `onError(error, event)` with the event as stored; delivery stops
    /// before it.
    fn failed(&self, error: &crate::error::Error, event: &Event) {
        let stored = convert::parse(&event.to_json_string());
        self.report(&super::errors::to_js(error), &stored);
    }

    fn deliver(&self, events: &[Event]) {
        let batch = convert::parse(&convert::events_json(events));
        let Ok(batch) = batch.dyn_into::<Array>() else { return };
        for event in batch.iter() {
            match self.listener.call1(&JsValue::UNDEFINED, &event) {
                Ok(returned) => {
                    if let Some(promise) = returned.dyn_ref::<Promise>() {
                        // An async listener: report its rejection, do not wait for it.
                        let on_error = self.on_error.clone();
                        let ev = event.clone();
                        let handler =
                            Closure::once(move |error: JsValue| report(&on_error, &error, &ev)).into_js_value();
                        if let Ok(catch) = js_sys::Reflect::get(promise, &JsValue::from_str("catch")) {
                            if let Some(catch) = catch.dyn_ref::<Function>() {
                                let _ = catch.call1(promise, &handler);
                            }
                        }
                    }
                }
                Err(error) => self.report(&error, &event),
            }
        }
    }
}
