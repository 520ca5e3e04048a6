//! `SyncLink`: the internal interface the package's sync transport (`lib/sync.js`) drives;
//! the table of its methods is in the module's documentation (`src/wasm/sync/mod.rs`).

use std::rc::{Rc, Weak};

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::sync::{parse_results, remote_from_wire, wire_commands_json, Effects, RemoteError, Verdict};

use super::super::convert;
use super::super::engine::{promise, sync, Inner};
use super::{after, wake, SyncSide};

/// The internal interface of the package's sync transport (see the module's documentation).
#[wasm_bindgen(js_name = SyncLink, skip_typescript)]
pub struct JsSyncLink {
    pub(super) inner: Weak<Inner>,
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
        promise(Box::pin(async move {
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
        }))
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
        promise(Box::pin(async move {
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
        }))
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
        promise(Box::pin(async move {
            let (inner, side) = got?;
            let effects = side.client.refresh(&inner.engine).await;
            after(&side, &inner.engine, effects.clone().unwrap_or_default());
            wake(&side);
            effects?;
            Ok(JsValue::UNDEFINED)
        }))
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
        promise(Box::pin(async move {
            let (inner, side) = got?;
            let answer = convert::to_value(&answer, "the server's keys")?;
            let n = side.client.store_keys(&inner.engine, &answer).await?;
            Ok(JsValue::from_f64(n as f64))
        }))
    }

    /// The server forgot `subject` (SSE `event: forget`): this engine forgets it too.
    #[wasm_bindgen(js_name = forget)]
    pub fn forget(&self, subject: JsValue) -> Promise {
        let got = self.get().and_then(|g| Ok((g, convert::string(&subject, "subject")?)));
        promise(Box::pin(async move {
            let ((inner, side), subject) = got?;
            let r = side.client.forget(&inner.engine, &subject).await;
            after_op(&side, &inner);
            r?;
            Ok(JsValue::UNDEFINED)
        }))
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
