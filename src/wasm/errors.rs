//! Errors across the boundary: every failure becomes a JavaScript `Error` with a stable
//! `name` and `code` (and `cause`, `reason`, `position`, ... where they apply). The package's
//! entry registers a factory that builds its exported error classes (so `instanceof` works);
//! without one, plain `Error` objects carry the same fields.
//!
//! The table of names and codes (DESIGN.md §4), one row per kind of the core's errors:
//!
//! | kind | `name` | `code` |
//! |---|---|---|
//! | Validation | `ValidationError` | `VALIDATION` |
//! | Domain | `DomainError` | `DOMAIN` |
//! | Concurrency | `ConcurrencyError` | `CONCURRENCY` |
//! | Storage | `StorageError` | `STORAGE` |
//! | Integrity | `IntegrityError` | `INTEGRITY` |
//! | NotFound | `NotFoundError` | `NOT_FOUND` |
//! | Projection | `ProjectionError` | `PROJECTION` |
//! | Closed | `ClosedError` | `CLOSED` |
//! | Forbidden | `ForbiddenError` | `FORBIDDEN` |
//! | Internal | `InternalError` | `INTERNAL` |
//!
//! (`ForbiddenError` is a sync server's refusal, as a synced engine reports it.)
//! The same names are the classes of `pkg-template/lib/errors.js`.

use std::cell::RefCell;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::{Error, ErrorKind};

/// The `name` and `code` JavaScript sees for each kind of error.
pub fn name_and_code(kind: ErrorKind) -> (&'static str, &'static str) {
    match kind {
        ErrorKind::Validation => ("ValidationError", "VALIDATION"),
        ErrorKind::Domain => ("DomainError", "DOMAIN"),
        ErrorKind::Concurrency => ("ConcurrencyError", "CONCURRENCY"),
        ErrorKind::Storage => ("StorageError", "STORAGE"),
        ErrorKind::Integrity => ("IntegrityError", "INTEGRITY"),
        ErrorKind::NotFound => ("NotFoundError", "NOT_FOUND"),
        ErrorKind::Projection => ("ProjectionError", "PROJECTION"),
        ErrorKind::Closed => ("ClosedError", "CLOSED"),
        ErrorKind::Forbidden => ("ForbiddenError", "FORBIDDEN"),
        ErrorKind::Internal => ("InternalError", "INTERNAL"),
    }
}

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
    static PANICKED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Registers `(name, message, props) => Error`, used for every error the engine throws.
#[wasm_bindgen(js_name = setErrorFactory, skip_typescript)]
pub fn set_error_factory(factory: JsValue) {
    let f = factory.dyn_into::<Function>().ok();
    FACTORY.with(|cell| *cell.borrow_mut() = f);
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail; ignore the impossible error.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn props_of(e: &Error) -> Object {
    let props = Object::new();
    set(&props, "code", &JsValue::from_str(name_and_code(e.kind()).1));
    match e {
        Error::Storage(s) => {
            set(&props, "reason", &JsValue::from_str(s.reason.as_str()));
            if let Some(cause) = s.cause.as_ref().and_then(|c| c.downcast_ref::<JsValue>()) {
                set(&props, "cause", cause);
            }
        }
        Error::Integrity(i) => set(&props, "position", &JsValue::from_f64(i.position as f64)),
        Error::Projection(p) => {
            set(&props, "position", &JsValue::from_f64(p.position as f64));
            set(&props, "projection", &JsValue::from_str(&p.projection));
            set(&props, "cause", &JsValue::from_str(&p.cause));
        }
        Error::Concurrency(c) => {
            set(&props, "streamId", &JsValue::from_str(&c.stream_id));
            set(&props, "actualVersion", &JsValue::from_f64(c.actual as f64));
            if let Some(expected) = &c.expected {
                let v = expected
                    .parse::<f64>()
                    .map_or_else(|_| JsValue::from_str(expected), JsValue::from_f64);
                set(&props, "expectedVersion", &v);
            }
        }
        Error::NotFound(n) => set(&props, "what", &JsValue::from_str(&n.name)),
        _ => {}
    }
    props
}

/// The JavaScript error for an engine error.
pub fn to_js(e: &Error) -> JsValue {
    let name = JsValue::from_str(name_and_code(e.kind()).0);
    let message = JsValue::from_str(&e.message());
    let props = props_of(e);
    let factory = FACTORY.with(|cell| cell.borrow().clone());
    if let Some(f) = factory {
        if let Ok(err) = f.call3(&JsValue::UNDEFINED, &name, &message, &props) {
            if err.is_object() {
                return err;
            }
        }
    }
    let err: JsValue = js_sys::Error::new(&e.message()).into();
    set(&err, "name", &name);
    let _ = Object::assign(&err.clone().unchecked_into(), &props);
    err
}

/// The JavaScript error for what a sync server or the network reported (`syncState().
/// lastError`): the package's class of that `name` (e.g. `UnauthenticatedError`), with its
/// `code` and HTTP `status`.
pub fn remote_to_js(name: &str, code: &str, message: &str, status: Option<u16>) -> JsValue {
    let props = Object::new();
    set(&props, "code", &JsValue::from_str(code));
    if let Some(s) = status {
        set(&props, "status", &JsValue::from_f64(f64::from(s)));
    }
    let factory = FACTORY.with(|cell| cell.borrow().clone());
    if let Some(f) = factory {
        if let Ok(err) = f.call3(
            &JsValue::UNDEFINED,
            &JsValue::from_str(name),
            &JsValue::from_str(message),
            &props,
        ) {
            if err.is_object() {
                return err;
            }
        }
    }
    let err: JsValue = js_sys::Error::new(message).into();
    set(&err, "name", &JsValue::from_str(name));
    let _ = Object::assign(&err.clone().unchecked_into(), &props);
    err
}

/// A JavaScript error value's message (for errors thrown by user code).
pub fn message_of(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    if let Some(s) = value.as_string() {
        return s;
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// The `code` property of a thrown value, if it has a string one.
pub fn code_of(value: &JsValue) -> Option<String> {
    if !value.is_object() {
        return None;
    }
    Reflect::get(value, &JsValue::from_str("code"))
        .ok()
        .and_then(|c| c.as_string())
}

/// Installs the panic hook: a panic is logged with its message and every later call fails
/// with an `InternalError` naming it (a panic in wasm leaves the module unusable).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        PANICKED.with(|cell| *cell.borrow_mut() = Some(message.clone()));
        console_error(
            "eventjournal: internal error (a bug; please report it):",
            &JsValue::from_str(&message),
        );
    }));
}

/// Fails with an `InternalError` if an earlier call panicked.
pub fn check_alive() -> Result<(), JsValue> {
    let panicked = PANICKED.with(|cell| cell.borrow().clone());
    match panicked {
        None => Ok(()),
        Some(message) => Err(to_js(&Error::internal(format!(
            "eventjournal crashed earlier and must be reloaded: {message}"
        )))),
    }
}

/// Reports an error to `console.error` (panics, and listener errors nobody handles).
pub fn console_error(prefix: &str, value: &JsValue) {
    let Ok(console) = Reflect::get(&js_sys::global(), &JsValue::from_str("console")) else {
        return;
    };
    let error = Reflect::get(&console, &JsValue::from_str("error")).ok();
    if let Some(f) = error.and_then(|e| e.dyn_into::<Function>().ok()) {
        let _ = f.call2(&console, &JsValue::from_str(prefix), value);
    }
}
