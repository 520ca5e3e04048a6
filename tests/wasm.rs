//! The core and the binding, compiled to wasm: run in Node (`wasm-pack test --node`) and in
//! headless Chromium (`wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use eventjournal::clock::ManualClock;
use eventjournal::decider::Command;
use eventjournal::storage::MemoryStorage;
use eventjournal::time_travel::At;
use eventjournal::{domains, Engine, EngineConfig, ErrorKind, ExecuteRequest};
use serde_json::{json, Value};
use wasm_bindgen_test::*;

/// The built-in domains and a manual clock.
fn config(clock: Rc<ManualClock>) -> EngineConfig {
    let mut config = EngineConfig::new(clock);
    domains::register_builtins(&mut config);
    config
}

fn request(stream_type: &str, id: &str, c: Value) -> ExecuteRequest {
    ExecuteRequest::new(stream_type, id, Command::from_value(c).unwrap())
}

#[wasm_bindgen_test]
fn version_is_exported() {
    assert_eq!(eventjournal::wasm::version(), env!("CARGO_PKG_VERSION"));
}

#[wasm_bindgen_test]
async fn the_seed_demo_runs_in_wasm() {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let engine = Engine::open(MemoryStorage::new(), config(clock.clone())).await.unwrap();
    for c in [
        json!({"type": "create_account", "accountHolder": "John Doe", "initialDeposit": 100000}),
        json!({"type": "deposit", "amount": 50000}),
        json!({"type": "withdraw", "amount": 20000}),
        json!({"type": "deposit", "amount": 30000}),
    ] {
        engine.execute(request("BankAccount", "account_001", c)).await.unwrap();
        clock.advance(1000.0);
    }
    let state: Value =
        serde_json::from_str(&engine.load("BankAccount", "account_001", None).unwrap().unwrap().state).unwrap();
    assert_eq!(state["balance"], json!(160000));
    let past: Value = serde_json::from_str(
        &engine
            .load("BankAccount", "account_001", Some(At::Version(2)))
            .unwrap()
            .unwrap()
            .state,
    )
    .unwrap();
    assert_eq!(past["balance"], json!(100000));
    let err = engine
        .execute(request(
            "BankAccount",
            "account_001",
            json!({"type": "withdraw", "amount": 1_000_000}),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Domain);
    assert!(engine.verify().unwrap().ok);
    assert_eq!(engine.replay(None).unwrap().events_replayed, 5);
}

#[wasm_bindgen_test]
async fn group_commit_in_wasm() {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let engine = Engine::open(MemoryStorage::new(), config(clock)).await.unwrap();
    engine
        .execute(request(
            "BankAccount",
            "a",
            json!({"type": "create_account", "accountHolder": "A"}),
        ))
        .await
        .unwrap();
    let futures: Vec<_> = (1..=100)
        .map(|i| engine.execute(request("BankAccount", "a", json!({"type": "deposit", "amount": i}))))
        .collect();
    for f in futures {
        f.await.unwrap();
    }
    let state: Value = serde_json::from_str(&engine.load("BankAccount", "a", None).unwrap().unwrap().state).unwrap();
    assert_eq!(state["balance"], json!(5050));
}

// ---- the binding itself: the `Engine` class JavaScript sees ----

use eventjournal::wasm::JsEngine;
use js_sys::{Function, Promise, Reflect, JSON};
// Engines are driven through JavaScript (as users do): `call` invokes their methods.
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn js(text: &str) -> JsValue {
    JSON::parse(text).unwrap()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

async fn resolve(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

/// Calls `engine[method](...args)` in JavaScript and awaits it.
async fn call(engine: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = get(engine, method).dyn_into().unwrap();
    let arr = js_sys::Array::new();
    for a in args {
        arr.push(a);
    }
    let out = f.apply(engine, &arr)?;
    match out.dyn_ref::<Promise>() {
        Some(p) => resolve(p.clone()).await,
        None => Ok(out),
    }
}

#[wasm_bindgen_test]
async fn the_js_engine_executes_loads_and_maps_errors() {
    let engine = resolve(JsEngine::open(JsValue::UNDEFINED)).await.unwrap();
    let r = call(
        &engine,
        "execute",
        &[
            "BankAccount".into(),
            "a".into(),
            js(r#"{"type":"create_account","accountHolder":"A","initialDeposit":500}"#),
            JsValue::UNDEFINED,
        ],
    )
    .await
    .unwrap();
    assert_eq!(get(&r, "version").as_f64(), Some(2.0));
    let loaded = call(
        &engine,
        "load",
        &["BankAccount".into(), "a".into(), js(r#"{"at":{"version":1}}"#)],
    )
    .await
    .unwrap();
    assert_eq!(get(&get(&loaded, "state"), "balance").as_f64(), Some(0.0));
    for (args, code) in [
        (
            vec![
                JsValue::from_f64(5.0),
                "a".into(),
                js(r#"{"type":"deposit","amount":1}"#),
            ],
            "VALIDATION",
        ),
        (
            vec![
                "BankAccount".into(),
                "a".into(),
                js(r#"{"type":"withdraw","amount":501}"#),
            ],
            "DOMAIN",
        ),
        (vec!["Nope".into(), "a".into(), js(r#"{"type":"x"}"#)], "NOT_FOUND"),
        (vec!["BankAccount".into(), "a".into(), JsValue::NULL], "VALIDATION"),
    ] {
        let err = call(&engine, "execute", &args).await.unwrap_err();
        assert!(err.is_instance_of::<js_sys::Error>());
        assert_eq!(get(&err, "code").as_string().as_deref(), Some(code));
    }
    let stats = call(&engine, "stats", &[]).await.unwrap();
    assert_eq!(get(&stats, "totalEvents").as_f64(), Some(2.0));
    call(&engine, "close", &[]).await.unwrap();
    let err = call(&engine, "stats", &[]).await.unwrap_err();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("CLOSED"));
}

#[wasm_bindgen_test]
async fn a_js_storage_and_a_js_aggregate_work_through_the_binding() {
    let make = Function::new_no_args(
        r#"
        const events = [];
        return {
          readEvents: async (after, limit) => events.slice(after, after + limit),
          appendEvents: async (batch, expected) => {
            if ((events.length ? events[events.length - 1].position : 0) !== expected) throw Object.assign(new Error('conflict'), { code: 'CONFLICT' });
            events.push(...batch);
          },
          events,
        };
        "#,
    );
    let storage = make.call0(&JsValue::UNDEFINED).unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"storage".into(), &storage).unwrap();
    let engine = resolve(JsEngine::open(options.into())).await.unwrap();
    let def = Function::new_no_args(
        r#"return { initialState: { n: 0 }, decide: (s, c) => [{ type: 'added', data: { by: c.by } }], evolve: (s, e) => ({ n: s.n + e.data.by }) };"#,
    )
    .call0(&JsValue::UNDEFINED)
    .unwrap();
    call(&engine, "defineAggregate", &["Counter".into(), def])
        .await
        .unwrap();
    for by in [1.0, 2.0, 3.0] {
        call(
            &engine,
            "execute",
            &[
                "Counter".into(),
                "c".into(),
                js(&format!(r#"{{"type":"add","by":{by}}}"#)),
                JsValue::UNDEFINED,
            ],
        )
        .await
        .unwrap();
    }
    let loaded = call(&engine, "load", &["Counter".into(), "c".into(), JsValue::UNDEFINED])
        .await
        .unwrap();
    assert_eq!(get(&get(&loaded, "state"), "n").as_f64(), Some(6.0));
    let stored = get(&storage, "events");
    assert_eq!(js_sys::Array::from(&stored).length(), 3);
    let verify = call(&engine, "verify", &[]).await.unwrap();
    assert_eq!(get(&verify, "ok").as_bool(), Some(true));
}

/// A JS aggregate whose `evolve` cannot fold its own event: an `InternalError` (a bug in the
/// aggregate, never a refusal), and nothing is appended. A read from inside `decide` waits
/// until the engine is free instead of failing.
#[wasm_bindgen_test]
async fn broken_invariants_are_internal_errors_and_reads_wait_for_a_busy_engine() {
    let engine = resolve(JsEngine::open(JsValue::UNDEFINED)).await.unwrap();
    let def = Function::new_with_args(
        "engine",
        r#"return {
          initialState: { n: 0 },
          decide: (s, c) => { globalThis.__ejStats = engine.stats(); return [{ type: c.type, data: {} }]; },
          evolve: (s, e) => { if (e.type === 'broken') throw new Error('cannot fold'); return { n: s.n + 1 }; },
        };"#,
    )
    .call1(&JsValue::UNDEFINED, &engine)
    .unwrap();
    call(&engine, "defineAggregate", &["Fragile".into(), def])
        .await
        .unwrap();
    call(
        &engine,
        "execute",
        &[
            "Fragile".into(),
            "f".into(),
            js(r#"{"type":"fine"}"#),
            JsValue::UNDEFINED,
        ],
    )
    .await
    .unwrap();
    // The stats promise made inside decide resolves (it does not reject) once decide has
    // returned: before or after the event is committed.
    let stats = resolve(get(&js_sys::global(), "__ejStats").dyn_into().unwrap())
        .await
        .unwrap();
    let total = get(&stats, "totalEvents").as_f64();
    assert!(total == Some(0.0) || total == Some(1.0), "{total:?}");
    let err = call(
        &engine,
        "execute",
        &[
            "Fragile".into(),
            "f".into(),
            js(r#"{"type":"broken"}"#),
            JsValue::UNDEFINED,
        ],
    )
    .await
    .unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("INTERNAL"));
    assert_eq!(get(&err, "name").as_string().as_deref(), Some("InternalError"));
    let message = get(&err, "message").as_string().unwrap();
    assert!(
        message.contains("Fragile evolve failed on its own 'broken' event: cannot fold"),
        "{message}"
    );
    let version = call(&engine, "streamVersion", &["f".into()]).await.unwrap();
    assert_eq!(version.as_f64(), Some(1.0));
}

/// Personal data and upcasters through the binding: a key store written in JavaScript (its
/// keys cross as `Uint8Array`s), a JS upcaster, `forget`, raw reads and the typed errors of
/// bad definitions; in Node and in Chromium (getrandom is `crypto.getRandomValues`).
#[wasm_bindgen_test]
async fn a_js_key_store_and_a_js_upcaster_through_the_binding() {
    let keys = Function::new_no_args(
        r#"
        const keys = new Map();
        return {
          keys,
          getKey: async (name) => keys.get(name),
          createKey: async (name, key) => { if (!keys.has(name)) keys.set(name, key); return keys.get(name); },
          deleteKey: async (name) => { keys.delete(name); },
        };
        "#,
    )
    .call0(&JsValue::UNDEFINED)
    .unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"keys".into(), &keys).unwrap();
    let engine = resolve(JsEngine::open(options.into())).await.unwrap();
    let create = js(r#"{"type":"create_account","accountHolder":"Ada","initialDeposit":5}"#);
    call(
        &engine,
        "execute",
        &["BankAccount".into(), "a1".into(), create, JsValue::UNDEFINED],
    )
    .await
    .unwrap();
    let key = get(&keys, "keys");
    let key: js_sys::Map = key.dyn_into().unwrap();
    let stored = key.get(&"a1".into());
    assert_eq!(stored.dyn_into::<js_sys::Uint8Array>().unwrap().length(), 32);
    let raw = call(&engine, "readAll", &[js(r#"{"raw":true}"#)]).await.unwrap();
    let first = js_sys::Array::from(&raw).get(0);
    let holder = get(&get(&first, "data"), "accountHolder");
    assert_eq!(
        get(&get(&holder, "$encrypted"), "subject").as_string().as_deref(),
        Some("a1")
    );
    let up = Function::new_no_args("return { from: 1, up: (d) => ({ ...d, currency: 'EUR' }) };")
        .call0(&JsValue::UNDEFINED)
        .unwrap();
    call(&engine, "defineUpcaster", &["money_deposited".into(), up])
        .await
        .unwrap();
    call(&engine, "forget", &["a1".into()]).await.unwrap();
    let read = js_sys::Array::from(&call(&engine, "readAll", &[JsValue::UNDEFINED]).await.unwrap());
    let created = read.get(0);
    assert!(get(&get(&created, "data"), "accountHolder").is_null());
    assert_eq!(
        JSON::stringify(&get(&created, "erased")).unwrap(),
        "[\"accountHolder\"]"
    );
    assert_eq!(
        get(&get(&read.get(1), "data"), "currency").as_string().as_deref(),
        Some("EUR")
    );
    assert!(!key.has(&"a1".into()));
    for (method, args) in [
        ("defineUpcaster", vec!["t".into(), js(r#"{"from":0}"#)]),
        ("defineUpcaster", vec!["t".into(), JsValue::from_f64(1.0)]),
        ("definePersonalData", vec!["t".into(), js(r#"{"fields":["x"]}"#)]),
        ("forget", vec![JsValue::from_f64(1.0)]),
        ("exportKeys", vec!["a1".into()]),
    ] {
        let err = call(&engine, method, &args).await.unwrap_err();
        assert_eq!(get(&err, "code").as_string().as_deref(), Some("VALIDATION"), "{method}");
    }
    let bad = js_sys::Object::new();
    Reflect::set(&bad, &"keys".into(), &js(r#"{"getKey":1}"#)).unwrap();
    let err = resolve(JsEngine::open(bad.into())).await.unwrap_err();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("STORAGE"));
}
