//! The JavaScript binding (wasm-bindgen). Only this module uses wasm types; it converts
//! values, maps errors, and awaits the host's storage Promises. Its TypeScript declarations
//! are written by hand in `pkg-template/index.d.ts`.

mod convert;
mod engine;
mod errors;
mod forms;
mod keys;
mod storage;
mod subscriber;
mod sync;
mod user_code;

use wasm_bindgen::prelude::*;

pub use engine::JsEngine;
pub use errors::set_error_factory;

/// The version of the eventjournal package, e.g. `"0.1.0"`.
#[wasm_bindgen(js_name = version, skip_typescript)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[wasm_bindgen(start)]
fn start() {
    errors::install_panic_hook();
}
