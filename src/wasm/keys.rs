//! A key store from JavaScript (`Engine.open({ keys })`) as the core's [`KeyStore`]: an
//! object with `getKey(name)`, `createKey(name, key)` and `deleteKey(name)`, and optionally
//! `getKeys(names)`, `scrub()` and `close()` (called by `engine.close()`). Keys cross as `Uint8Array`s of 32 bytes. Each call may
//! return a value or a Promise, may throw, and fails after `appendTimeoutMs` like the
//! storage's calls; every failure is a `StorageError` with the host's error as `cause`.

use js_sys::{Array, Function, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::error::{StorageError, StorageFailure};
use crate::personal::{Key, KeyFuture, KeyStore};

use super::convert::type_of;
use super::storage::{call_with_timeout, method};

/// A key store object from JavaScript.
pub struct JsKeyStore {
    object: JsValue,
    get_key: Function,
    create_key: Function,
    delete_key: Function,
    get_keys: Option<Function>,
    scrub: Option<Function>,
    close: Option<Function>,
    timeout_ms: Option<f64>,
}

fn unsupported(message: String) -> StorageError {
    StorageError::new(StorageFailure::Unsupported, message)
}

fn malformed(message: String) -> StorageError {
    StorageError::new(StorageFailure::Malformed, message)
}

impl JsKeyStore {
    /// Checks the object: `getKey`, `createKey` and `deleteKey` are required.
    pub fn new(object: JsValue, timeout_ms: Option<f64>) -> Result<Self, StorageError> {
        if !object.is_object() {
            return Err(unsupported(format!(
                "keys must be a key store (an object with getKey, createKey and deleteKey), got {}",
                type_of(&object)
            )));
        }
        let required = |name: &str| {
            method(&object, name)?.ok_or_else(|| unsupported(format!("the key store lacks the method {name}()")))
        };
        Ok(JsKeyStore {
            get_key: required("getKey")?,
            create_key: required("createKey")?,
            delete_key: required("deleteKey")?,
            get_keys: method(&object, "getKeys")?,
            scrub: method(&object, "scrub")?,
            close: method(&object, "close")?,
            object,
            timeout_ms,
        })
    }

    async fn call(&self, name: &str, f: &Function, args: &Array) -> Result<JsValue, StorageError> {
        call_with_timeout(&format!("keys.{name}"), &self.object, f, args, self.timeout_ms).await
    }
}

/// A key as JavaScript gave it: a `Uint8Array` (or `ArrayBuffer` view) of 32 bytes; `None`
/// for `undefined` or `null` when `absent_ok`.
fn key_from_js(v: &JsValue, what: &str, absent_ok: bool) -> Result<Option<Key>, StorageError> {
    if absent_ok && (v.is_undefined() || v.is_null()) {
        return Ok(None);
    }
    let bytes = v.dyn_ref::<Uint8Array>().ok_or_else(|| {
        malformed(format!(
            "{what} must resolve to a Uint8Array of 32 bytes, got {}",
            type_of(v)
        ))
    })?;
    if bytes.length() != 32 {
        return Err(malformed(format!(
            "{what} must resolve to a key of 32 bytes, got {} bytes",
            bytes.length()
        )));
    }
    let mut key = [0u8; 32];
    bytes.copy_to(&mut key);
    Ok(Some(key))
}

impl KeyStore for JsKeyStore {
    fn get_key<'a>(&'a self, name: &'a str) -> KeyFuture<'a, Option<Key>> {
        Box::pin(async move {
            let v = self
                .call("getKey", &self.get_key, &Array::of1(&JsValue::from_str(name)))
                .await?;
            key_from_js(&v, "keys.getKey", true)
        })
    }

    fn create_key<'a>(&'a self, name: &'a str, key: Key) -> KeyFuture<'a, Key> {
        Box::pin(async move {
            let fresh = Uint8Array::from(&key[..]);
            let v = self
                .call(
                    "createKey",
                    &self.create_key,
                    &Array::of2(&JsValue::from_str(name), &fresh),
                )
                .await?;
            key_from_js(&v, "keys.createKey", false)?
                .ok_or_else(|| malformed("keys.createKey resolved to no key".into()))
        })
    }

    fn delete_key<'a>(&'a self, name: &'a str) -> KeyFuture<'a, ()> {
        Box::pin(async move {
            self.call("deleteKey", &self.delete_key, &Array::of1(&JsValue::from_str(name)))
                .await
                .map(|_| ())
        })
    }

    fn get_keys<'a>(&'a self, names: &'a [String]) -> KeyFuture<'a, Vec<Option<Key>>> {
        Box::pin(async move {
            let Some(f) = &self.get_keys else {
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    out.push(self.get_key(name).await?);
                }
                return Ok(out);
            };
            let list: Array = names.iter().map(|n| JsValue::from_str(n)).collect();
            let v = self.call("getKeys", f, &Array::of1(&list)).await?;
            if !Array::is_array(&v) {
                return Err(malformed(format!(
                    "keys.getKeys must resolve to an array, got {}",
                    type_of(&v)
                )));
            }
            Array::from(&v)
                .iter()
                .map(|k| key_from_js(&k, "keys.getKeys", true))
                .collect()
        })
    }

    fn scrub(&self) -> KeyFuture<'_, ()> {
        Box::pin(async move {
            match &self.scrub {
                Some(f) => self.call("scrub", f, &Array::new()).await.map(|_| ()),
                None => Ok(()),
            }
        })
    }

    fn close(&self) -> KeyFuture<'_, ()> {
        Box::pin(async move {
            match &self.close {
                Some(f) => self.call("close", f, &Array::new()).await.map(|_| ()),
                None => Ok(()),
            }
        })
    }
}
