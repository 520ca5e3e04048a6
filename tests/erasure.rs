//! Crypto-shredding in the core: declared personal data is stored encrypted (the chain
//! covers the ciphertext), reads decrypt, `forget` erases for good (and keeps `verify()`
//! true), a wrong key or a tampered value is an error and never garbage.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::rc::Rc;

use common::{block_on, clock, cmd};
use eventjournal::decider::{Command, Decider};
use eventjournal::error::{ErrorKind, Rejection, StateError, StorageError, StorageFailure};
use eventjournal::event::{Event, NewEvent};
use eventjournal::log::{EventView, ReadAllOptions};
use eventjournal::personal::{Key, KeyFuture, KeyStore, MemoryKeyStore, PersonalData};
use eventjournal::storage::MemoryStorage;
use eventjournal::{domains, Engine, EngineConfig, ExecuteRequest};
use serde_json::{json, Value};

fn config(keys: Option<Rc<dyn KeyStore>>) -> EngineConfig {
    let mut config = EngineConfig::new(clock());
    config.keys = keys;
    domains::register_builtins(&mut config);
    config
}

fn open(storage: &MemoryStorage, keys: &MemoryKeyStore) -> Engine<MemoryStorage> {
    block_on(Engine::open(storage.clone(), config(Some(Rc::new(keys.clone()))))).expect("open")
}

fn exec(engine: &Engine<MemoryStorage>, t: &str, id: &str, c: Value) -> Vec<Event> {
    block_on(engine.execute(ExecuteRequest::new(t, id, cmd(c))))
        .expect("execute")
        .events
}

fn create(engine: &Engine<MemoryStorage>, id: &str, holder: &str) {
    exec(
        engine,
        "BankAccount",
        id,
        json!({ "type": "create_account", "accountHolder": holder, "initialDeposit": 500 }),
    );
}

fn order(engine: &Engine<MemoryStorage>, id: &str, customer: &str, address: &str) {
    exec(
        engine,
        "Order",
        id,
        json!({ "type": "place_order", "customerId": customer, "items": [{ "itemId": "i", "quantity": 1, "price": 5 }], "shippingAddress": address }),
    );
}

/// The subjects' key names in a key store (without the snapshot key's).
fn subjects(keys: &MemoryKeyStore) -> Vec<String> {
    keys.names().into_iter().filter(|n| !n.starts_with('\u{1f}')).collect()
}

/// Everything the storage holds, events and snapshots, as text.
fn stored_text(storage: &MemoryStorage) -> String {
    let mut text: String = storage.events().iter().map(Event::to_json_string).collect();
    for key in ["projection:account_balance:v1", "projection:order_status:v1"] {
        if let Some(s) = storage.snapshot(key) {
            text.push_str(&s.state);
        }
    }
    text
}

fn read_all(engine: &Engine<MemoryStorage>) -> Vec<Value> {
    engine
        .read_all(&ReadAllOptions::default())
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(&e.to_json_string()).unwrap())
        .collect()
}

fn holder(engine: &Engine<MemoryStorage>, id: &str) -> Value {
    let state: Value = serde_json::from_str(&engine.load("BankAccount", id, None).unwrap().unwrap().state).unwrap();
    state["accountHolder"].clone()
}

fn balance_row(engine: &Engine<MemoryStorage>, id: &str) -> Value {
    let p: Value = serde_json::from_str(&engine.projection("account_balance", None).unwrap()).unwrap();
    p[id].clone()
}

#[test]
fn personal_data_is_stored_encrypted_and_read_in_the_clear() {
    let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
    let engine = open(&storage, &keys);
    create(&engine, "account_001", "Ada Lovelace");
    order(&engine, "order_1", "cust_1", "12 St James's Square");
    let stored = stored_text(&storage);
    assert!(
        !stored.contains("Ada Lovelace") && !stored.contains("St James"),
        "{stored}"
    );
    assert!(stored.contains("\"$encrypted\""));
    let raw = engine.read_all_raw(&ReadAllOptions::default()).unwrap();
    let envelope = raw[0].data.to_value()["accountHolder"]["$encrypted"].clone();
    assert_eq!(envelope["subject"], "account_001");
    assert_eq!(envelope["v"], 1);
    assert_eq!(
        raw[2].data.to_value()["shippingAddress"]["$encrypted"]["subject"],
        "cust_1"
    );
    // Reads, states and projections see the plaintext.
    let read = read_all(&engine);
    assert_eq!(read[0]["data"]["accountHolder"], "Ada Lovelace");
    assert!(read[0].get("erased").is_none());
    assert_eq!(read[2]["data"]["shippingAddress"], "12 St James's Square");
    assert_eq!(holder(&engine, "account_001"), "Ada Lovelace");
    assert_eq!(balance_row(&engine, "account_001")["accountHolder"], "Ada Lovelace");
    assert!(engine.verify().unwrap().ok);
    assert_eq!(subjects(&keys), ["account_001", "cust_1"]);
}

#[test]
fn forget_erases_for_good_and_keeps_the_chain() {
    let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
    let engine = open(&storage, &keys);
    create(&engine, "account_001", "Ada Lovelace");
    create(&engine, "account_002", "Grace Hopper");
    order(&engine, "order_1", "cust_1", "12 St James's Square");
    block_on(engine.close()).unwrap();
    // Stored snapshots are sealed under the snapshot key.
    let before = storage.snapshot("projection:account_balance:v1").unwrap();
    assert!(
        before.state.contains("\"$encrypted\"") && !before.state.contains("Ada"),
        "{}",
        before.state
    );
    assert_eq!(keys.names()[0], "\u{1f}snapshots");
    let engine = open(&storage, &keys);
    block_on(engine.forget("account_001")).unwrap();
    let read = read_all(&engine);
    assert_eq!(read[0]["data"]["accountHolder"], Value::Null);
    assert_eq!(read[0]["erased"], json!(["accountHolder"]));
    assert_eq!(holder(&engine, "account_001"), Value::Null);
    assert_eq!(balance_row(&engine, "account_001")["accountHolder"], Value::Null);
    assert_eq!(balance_row(&engine, "account_001")["balance"], 500);
    // Other subjects are intact; the chain still verifies; the snapshot was overwritten.
    assert_eq!(holder(&engine, "account_002"), "Grace Hopper");
    assert_eq!(read[4]["data"]["shippingAddress"], "12 St James's Square");
    assert!(engine.verify().unwrap().ok);
    let stored = stored_text(&storage);
    assert!(!stored.contains("Ada Lovelace"), "{stored}");
    assert_ne!(storage.snapshot("projection:account_balance:v1").unwrap(), before);
    assert_eq!(subjects(&keys), ["account_002", "cust_1"]);
    assert_eq!(
        keys.names()[0],
        "\u{1f}snapshots\u{1f}2",
        "the snapshot key was replaced"
    );
    // A copy of the old snapshot left somewhere no longer opens: put back, it is ignored.
    block_on(eventjournal::storage::Storage::write_snapshot(&storage, &before)).unwrap();
    drop(engine);
    let engine = open(&storage, &keys);
    assert_eq!(balance_row(&engine, "account_001")["accountHolder"], Value::Null);
    assert_eq!(balance_row(&engine, "account_002")["accountHolder"], "Grace Hopper");
    // Reopened: still forgotten, and the engine still works on the account.
    drop(engine);
    let engine = open(&storage, &keys);
    assert_eq!(holder(&engine, "account_001"), Value::Null);
    assert_eq!(read_all(&engine)[0]["erased"], json!(["accountHolder"]));
    exec(
        &engine,
        "BankAccount",
        "account_001",
        json!({ "type": "deposit", "amount": 5 }),
    );
    assert_eq!(balance_row(&engine, "account_001")["balance"], 505);
    // Forgetting again is harmless.
    block_on(engine.forget("account_001")).unwrap();
    assert!(engine.verify().unwrap().ok);
}

#[test]
fn a_forgotten_customer_who_comes_back_gets_a_new_key() {
    let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
    let engine = open(&storage, &keys);
    order(&engine, "order_1", "cust_1", "Old Road 1");
    block_on(engine.forget("cust_1")).unwrap();
    order(&engine, "order_2", "cust_1", "New Road 2");
    let check = |engine: &Engine<MemoryStorage>| {
        let read = read_all(engine);
        assert_eq!(read[0]["data"]["shippingAddress"], Value::Null);
        assert_eq!(read[0]["erased"], json!(["shippingAddress"]));
        assert_eq!(read[1]["data"]["shippingAddress"], "New Road 2");
        assert!(read[1].get("erased").is_none());
    };
    check(&engine);
    assert_eq!(subjects(&keys), ["cust_1\u{1f}2"]);
    drop(engine);
    let engine = open(&storage, &keys);
    check(&engine);
    block_on(engine.forget("cust_1")).unwrap();
    assert!(subjects(&keys).is_empty());
    assert_eq!(read_all(&engine)[1]["data"]["shippingAddress"], Value::Null);
}

#[test]
fn a_wrong_key_is_an_integrity_error_never_garbage() {
    let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
    let engine = open(&storage, &keys);
    create(&engine, "account_001", "Ada Lovelace");
    create(&engine, "account_002", "Grace Hopper");
    drop(engine);
    keys.set_key("account_002", [42; 32]);
    let Err(e) = block_on(Engine::open(storage.clone(), config(Some(Rc::new(keys.clone()))))) else {
        panic!("a wrong key must not open");
    };
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(
        e.message().contains("position 3") && e.message().contains("account_002"),
        "{}",
        e.message()
    );
}

#[test]
fn a_tampered_ciphertext_is_caught_by_the_chain() {
    let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
    let engine = open(&storage, &keys);
    create(&engine, "account_001", "Ada Lovelace");
    drop(engine);
    let mut events = storage.events();
    let text = events[0].data.as_str().replace("\"data\":\"", "\"data\":\"A");
    events[0].data = eventjournal::canonical::CanonicalJson::parse(&text, "data").unwrap();
    storage.replace_events(events);
    let Err(e) = block_on(Engine::open(storage, config(Some(Rc::new(keys))))) else {
        panic!("a tampered value must not open");
    };
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(e.message().contains("hash does not match"), "{}", e.message());
}

#[test]
fn without_a_key_store() {
    // Built-ins store plaintext, as before.
    let storage = MemoryStorage::new();
    let plain = block_on(Engine::open(storage.clone(), config(None))).unwrap();
    create(&plain, "account_001", "Ada Lovelace");
    assert!(stored_text(&storage).contains("Ada Lovelace"));
    let e = plain
        .define_personal_data(
            "account_created",
            PersonalData::new(["accountHolder"], |_| Ok("s".into())).unwrap(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(e.message().contains("`keys`"), "{}", e.message());
    assert_eq!(
        block_on(plain.forget("account_001")).unwrap_err().kind(),
        ErrorKind::Validation
    );
    // Declared at open without keys.
    let mut with_declaration = config(None);
    with_declaration
        .personal_data
        .push(("x".into(), PersonalData::new(["a"], |_| Ok("s".into())).unwrap()));
    let Err(e) = block_on(Engine::open(MemoryStorage::new(), with_declaration)) else {
        panic!("personal data without keys must not open");
    };
    assert!(e.message().contains("`keys`"));
    // A log that holds encrypted values, opened without its key store.
    let sealed = MemoryStorage::new();
    create(&open(&sealed, &MemoryKeyStore::new()), "account_001", "Ada Lovelace");
    let Err(e) = block_on(Engine::open(sealed, config(None))) else {
        panic!("an encrypted log must not open without keys");
    };
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(
        e.message().contains("`keys`") && e.message().contains("position 1"),
        "{}",
        e.message()
    );
}

/// A note-taking aggregate whose notes are personal data of their author.
struct Notes;

impl Decider for Notes {
    type State = Vec<Value>;
    fn initial_state(&self) -> Vec<Value> {
        Vec::new()
    }
    fn decide(&self, _: &Vec<Value>, c: &Command) -> Result<Vec<NewEvent>, Rejection> {
        Ok(vec![NewEvent::new("noted", c.to_value())])
    }
    fn evolve(&self, mut notes: Vec<Value>, e: &EventView<'_>) -> Result<Vec<Value>, StateError> {
        notes.push(e.parse_data()?);
        Ok(notes)
    }
}

#[test]
fn user_declared_personal_data_and_bad_subjects() {
    let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
    let engine = open(&storage, &keys);
    engine.define_aggregate("Notes", Rc::new(Notes)).unwrap();
    engine
        .define_personal_data(
            "noted",
            PersonalData::new(["text", "phone"], |e| {
                e.str_field("author")
                    .map(|a| a.into_owned())
                    .ok_or_else(|| "no author".into())
            })
            .unwrap(),
        )
        .unwrap();
    exec(
        &engine,
        "Notes",
        "n1",
        json!({ "type": "note", "author": "bob", "text": "call me", "phone": 123 }),
    );
    let raw = storage.events()[0].data.to_value();
    assert_eq!(raw["author"], "bob");
    assert_eq!(raw["type"], "note");
    assert!(raw["text"]["$encrypted"].is_object() && raw["phone"]["$encrypted"].is_object());
    let state: Value = serde_json::from_str(&engine.load("Notes", "n1", None).unwrap().unwrap().state).unwrap();
    assert_eq!(state[0]["phone"], 123);
    for (bad, why) in [
        (json!({ "type": "note", "text": "x" }), "no author"),
        (json!({ "type": "note", "author": "", "text": "x" }), "non-empty"),
        (json!({ "type": "note", "author": "a\u{1f}2", "text": "x" }), "U+001F"),
    ] {
        let e = block_on(engine.execute(ExecuteRequest::new("Notes", "n2", cmd(bad)))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert!(e.message().contains(why), "{}", e.message());
    }
    assert_eq!(engine.stream_version("n2").unwrap(), 0);
}

/// A key store that fails every call.
struct Broken;

impl KeyStore for Broken {
    fn get_key<'a>(&'a self, _: &'a str) -> KeyFuture<'a, Option<Key>> {
        Box::pin(async { Err(StorageError::new(StorageFailure::Failed, "the key vault is down")) })
    }
    fn create_key<'a>(&'a self, _: &'a str, _: Key) -> KeyFuture<'a, Key> {
        Box::pin(async { Err(StorageError::new(StorageFailure::Failed, "the key vault is down")) })
    }
    fn delete_key<'a>(&'a self, _: &'a str) -> KeyFuture<'a, ()> {
        Box::pin(async { Err(StorageError::new(StorageFailure::Failed, "the key vault is down")) })
    }
}

#[test]
fn a_failing_key_store_commits_nothing() {
    let storage = MemoryStorage::new();
    let engine = block_on(Engine::open(storage.clone(), config(Some(Rc::new(Broken))))).unwrap();
    let e = block_on(engine.execute(ExecuteRequest::new(
        "BankAccount",
        "account_001",
        cmd(json!({ "type": "create_account", "accountHolder": "Ada", "initialDeposit": 5 })),
    )))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(e.message().contains("key vault"), "{}", e.message());
    assert!(storage.is_empty());
    // Commands without personal data go on.
    engine.define_aggregate("Notes", Rc::new(Notes)).unwrap();
    assert_eq!(
        exec(&engine, "Notes", "n1", json!({ "type": "note", "text": "x" })).len(),
        1
    );
    assert_eq!(storage.len(), 1);
}

#[test]
fn another_writer_s_personal_data_is_read_with_keys_fetched_on_the_way() {
    let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
    let a = open(&storage, &keys);
    let b = open(&storage, &keys);
    create(&a, "account_001", "Ada Lovelace");
    assert_eq!(block_on(b.catch_up()).unwrap(), 2);
    assert_eq!(holder(&b, "account_001"), "Ada Lovelace");
    assert_eq!(balance_row(&b, "account_001")["accountHolder"], "Ada Lovelace");
    // b writes for the same subject with the key a made.
    exec(
        &b,
        "BankAccount",
        "account_001",
        json!({ "type": "deposit", "amount": 1 }),
    );
    assert_eq!(subjects(&keys), ["account_001"]);
    block_on(a.catch_up()).unwrap();
    assert!(a.verify().unwrap().ok);
    assert_eq!(holder(&a, "account_001"), "Ada Lovelace");
}

/// One command whose events need many new keys: each round fetches one more, the command
/// goes through; a key store that keeps nothing fails the command (no endless rounds).
struct Guests;

impl Decider for Guests {
    type State = ();
    fn initial_state(&self) {}
    fn decide(&self, _: &(), c: &Command) -> Result<Vec<NewEvent>, Rejection> {
        let n = c.get("n").and_then(Value::as_u64).unwrap_or(1);
        Ok((0..n)
            .map(|i| {
                NewEvent::new(
                    "guest_invited",
                    json!({ "guest": format!("g{i}"), "email": format!("g{i}@x.org") }),
                )
            })
            .collect())
    }
    fn evolve(&self, _: (), _: &EventView<'_>) -> Result<(), StateError> {
        Ok(())
    }
}

/// A key store that forgets every key at once.
struct Amnesic;

impl KeyStore for Amnesic {
    fn get_key<'a>(&'a self, _: &'a str) -> KeyFuture<'a, Option<Key>> {
        Box::pin(async { Ok(None) })
    }
    fn create_key<'a>(&'a self, _: &'a str, key: Key) -> KeyFuture<'a, Key> {
        Box::pin(async move { Ok(key) })
    }
    fn delete_key<'a>(&'a self, _: &'a str) -> KeyFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

#[test]
fn a_command_with_many_new_subjects_and_a_store_that_keeps_nothing() {
    let invite = |keys: Rc<dyn KeyStore>| {
        let engine = block_on(Engine::open(MemoryStorage::new(), config(Some(keys)))).unwrap();
        engine.define_aggregate("Party", Rc::new(Guests)).unwrap();
        engine
            .define_personal_data(
                "guest_invited",
                PersonalData::new(["email"], |e| Ok(e.str_field("guest").unwrap_or_default().into_owned())).unwrap(),
            )
            .unwrap();
        let r = block_on(engine.execute(ExecuteRequest::new(
            "Party",
            "p1",
            cmd(json!({ "type": "invite", "n": 8 })),
        )));
        (engine, r)
    };
    let keys = MemoryKeyStore::new();
    let (engine, r) = invite(Rc::new(keys.clone()));
    assert_eq!(r.unwrap().events.len(), 8);
    assert_eq!(subjects(&keys).len(), 8);
    assert_eq!(read_all(&engine)[7]["data"]["email"], "g7@x.org");
    let (engine, r) = invite(Rc::new(Amnesic));
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(e.message().contains("does not keep"), "{}", e.message());
    assert_eq!(engine.stream_version("p1").unwrap(), 0);
}

/// Records what a subscriber is delivered, in its read form or (`raw`) its stored form.
struct Seen {
    raw: bool,
    events: std::cell::RefCell<Vec<Event>>,
}

impl eventjournal::subscription::Subscriber for Seen {
    fn deliver(&self, events: &[Event]) {
        self.events.borrow_mut().extend_from_slice(events);
    }

    fn raw(&self) -> bool {
        self.raw
    }
}

#[test]
fn a_raw_subscriber_gets_the_stored_form_the_others_the_read_form() {
    let storage = MemoryStorage::new();
    let keys = MemoryKeyStore::new();
    let engine = open(&storage, &keys);
    let seen = |raw| {
        Rc::new(Seen {
            raw,
            events: std::cell::RefCell::new(Vec::new()),
        })
    };
    let (plain, raw) = (seen(false), seen(true));
    let filter = eventjournal::filter::EventFilter::default();
    engine.subscribe(plain.clone(), filter.clone(), Some(0)).unwrap();
    engine.subscribe(raw.clone(), filter, Some(0)).unwrap();
    create(&engine, "acc1", "Ada Lovelace");
    engine.pump_subscriptions();
    let holder =
        |s: &Seen| serde_json::from_str::<Value>(s.events.borrow()[0].data.as_str()).unwrap()["accountHolder"].clone();
    assert_eq!(holder(&plain), json!("Ada Lovelace"));
    assert_eq!(holder(&raw)["$encrypted"]["subject"], json!("acc1"));
    assert_eq!(
        *raw.events.borrow(),
        engine.read_all_raw(&ReadAllOptions::default()).unwrap(),
        "the events as stored and hashed"
    );
}
