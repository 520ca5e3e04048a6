//! The JavaScript binding (wasm-bindgen). Only this module may use wasm types.

use wasm_bindgen::prelude::*;

/// The version of the eventjournal package, e.g. `"0.1.0"`.
///
/// ```js
/// import { version } from 'eventjournal';
/// console.log(version());
/// ```
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}
