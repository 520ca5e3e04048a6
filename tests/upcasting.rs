//! Upcasters: a log written by version 1 of `Customer` (the committed fixture
//! `tests/fixtures/customers-v1.json`, made once by `examples/make_v1_fixture.rs`) opened by
//! the definitions of version 2 (the name split in two) and version 3 (`customer_registered`
//! renamed `customer_joined`, the address an object): state, reads, raw reads, time travel,
//! projections, subscribers, stored snapshots, and every way an upcast can fail.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use common::{block_on, clock, cmd};
use eventjournal::canonical::CanonicalJson;
use eventjournal::decider::{Command, Decider};
use eventjournal::error::{Error, ErrorKind, Rejection, StateError};
use eventjournal::event::{Event, NewEvent};
use eventjournal::filter::EventFilter;
use eventjournal::integrity::decode_records;
use eventjournal::log::{EventView, Log, ReadAllOptions, ReadStreamOptions};
use eventjournal::projection::Projection;
use eventjournal::storage::MemoryStorage;
use eventjournal::subscription::Subscriber;
use eventjournal::time_travel::At;
use eventjournal::upcast::{Upcast, Upcaster};
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use serde_json::{json, Map, Value};

const FIXTURE: &str = include_str!("fixtures/customers-v1.json");

fn fixture() -> Vec<Event> {
    decode_records(FIXTURE, 0).expect("the fixture is a log")
}

fn storage() -> MemoryStorage {
    let s = MemoryStorage::new();
    s.replace_events(fixture());
    s
}

/// The `Customer` aggregate at version 2 (`firstName`, `lastName`) or 3 (`customer_joined`,
/// an address object). Its state is the customer as JSON.
struct Customer {
    version: u32,
}

impl Decider for Customer {
    type State = Value;

    fn initial_state(&self) -> Value {
        json!({ "firstName": null, "lastName": null, "email": null, "address": null })
    }

    fn decide(&self, _: &Value, c: &Command) -> Result<Vec<NewEvent>, Rejection> {
        let get = |k: &str| c.get(k).cloned().unwrap_or(Value::Null);
        let joined = if self.version >= 3 {
            "customer_joined"
        } else {
            "customer_registered"
        };
        Ok(vec![match c.kind() {
            "register" => NewEvent::new(
                joined,
                json!({ "firstName": get("firstName"), "lastName": get("lastName"), "email": get("email") }),
            ),
            "move" => NewEvent::new("customer_moved", json!({ "address": get("address") })),
            other => return Err(Rejection::validation(format!("unknown command {other}"))),
        }])
    }

    fn evolve(&self, mut state: Value, e: &EventView<'_>) -> Result<Value, StateError> {
        let data: Value = e.parse_data()?;
        match e.event_type {
            "customer_registered" | "customer_joined" => {
                for k in ["firstName", "lastName", "email"] {
                    state[k] = data.get(k).cloned().ok_or(format!("{} without {k}", e.event_type))?;
                }
            }
            "customer_moved" => state["address"] = data["address"].clone(),
            _ => {}
        }
        Ok(state)
    }
}

/// A projection that lists who lives where, and the event types it has read; stored under
/// `projection:directory` (so stored snapshots are written and restored).
struct Directory;

impl Projection for Directory {
    type State = Value;

    fn initial_state(&self) -> Value {
        json!({ "people": {}, "types": [] })
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            stream_type: Some("Customer".into()),
            ..EventFilter::default()
        }
    }

    fn evolve(&self, state: &mut Value, e: &EventView<'_>) -> Result<(), StateError> {
        let data: Value = e.parse_data()?;
        let person = &mut state["people"][e.stream_id];
        match e.event_type {
            "customer_registered" | "customer_joined" => {
                person["name"] = json!(format!(
                    "{} {}",
                    data["firstName"].as_str().ok_or("no firstName")?,
                    data["lastName"].as_str().unwrap_or("")
                ));
            }
            "customer_moved" => person["address"] = data["address"].clone(),
            _ => {}
        }
        let mut types: BTreeSet<String> = serde_json::from_value(state["types"].clone()).unwrap_or_default();
        types.insert(e.event_type.to_owned());
        state["types"] = json!(types);
        Ok(())
    }

    fn state_json(&self, state: &Value) -> Result<String, StateError> {
        Ok(state.to_string())
    }

    fn snapshot_key(&self) -> Option<String> {
        Some("projection:directory".into())
    }

    fn state_from_json(&self, json: &str, _: &Log) -> Result<Value, StateError> {
        serde_json::from_str(json).map_err(|e| StateError::new(e.to_string()))
    }
}

fn split_name(data: CanonicalJson, _: &EventView<'_>) -> Result<Upcast, StateError> {
    let mut m = data.to_map();
    let name = m
        .remove("name")
        .and_then(|n| n.as_str().map(str::to_owned))
        .ok_or("no name")?;
    let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
    m.insert("firstName".into(), json!(first));
    m.insert("lastName".into(), json!(last));
    Ok(Upcast::data(Value::Object(m)))
}

fn rename_joined(data: CanonicalJson, _: &EventView<'_>) -> Result<Upcast, StateError> {
    Ok(Upcast::renamed("customer_joined", data))
}

fn address_object(data: CanonicalJson, _: &EventView<'_>) -> Result<Upcast, StateError> {
    let address = data.to_value()["address"].clone();
    Ok(Upcast::data(json!({ "address": { "line": address, "country": "GB" } })))
}

/// The upcasters of version `v` (2 or 3).
fn upcasters(v: u32) -> Vec<(String, u32, Rc<dyn Upcaster>)> {
    let mut out: Vec<(String, u32, Rc<dyn Upcaster>)> = vec![("customer_registered".into(), 1, Rc::new(split_name))];
    if v >= 3 {
        out.push(("customer_registered".into(), 2, Rc::new(rename_joined)));
        out.push(("customer_moved".into(), 1, Rc::new(address_object)));
    }
    out
}

/// An engine at version `v` over `storage`, its upcasters given at open (or after, with
/// `define_upcaster`, when `at_open` is false).
fn open_at(storage: MemoryStorage, v: u32, at_open: bool) -> Engine<MemoryStorage> {
    let mut config = EngineConfig::new(clock());
    config
        .aggregates
        .push(("Customer".into(), Rc::new(Customer { version: v })));
    config.projections.push(("directory".into(), Rc::new(Directory)));
    if at_open {
        config.upcasters = upcasters(v);
    }
    let engine = block_on(Engine::open(storage, config)).expect("open");
    if !at_open {
        for (t, from, up) in upcasters(v) {
            engine.define_upcaster(&t, from, up).expect("define_upcaster");
        }
    }
    engine
}

fn load(engine: &Engine<MemoryStorage>, id: &str, at: Option<At>) -> Result<Option<Value>, Error> {
    engine
        .load("Customer", id, at)
        .map(|l| l.map(|l| serde_json::from_str(&l.state).expect("state")))
}

fn directory(engine: &Engine<MemoryStorage>, at: Option<At>) -> Result<Value, Error> {
    engine
        .projection("directory", at)
        .map(|s| serde_json::from_str(&s).expect("json"))
}

fn types(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

fn by_types(types: &[&str]) -> ReadAllOptions {
    ReadAllOptions {
        filter: EventFilter {
            types: types.iter().map(|t| t.to_string()).collect(),
            ..EventFilter::default()
        },
        ..ReadAllOptions::default()
    }
}

#[test]
fn a_v1_log_reads_at_version_2() {
    for at_open in [true, false] {
        let engine = open_at(storage(), 2, at_open);
        assert_eq!(
            load(&engine, "c1", None).unwrap(),
            Some(
                json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.org", "address": "Ockham Park, Surrey" })
            )
        );
        let c1 = engine.read_stream("c1", &ReadStreamOptions::default()).unwrap();
        assert_eq!(
            c1[0].data.to_value(),
            json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.org" })
        );
        assert_eq!(c1[0].metadata.as_str(), r#"{"schemaVersion":2}"#);
        assert_eq!(c1[1].metadata.as_str(), "{}", "customer_moved is still at version 1");
        // Raw reads are the stored form, byte for byte.
        let raw: Vec<String> = engine
            .read_all_raw(&ReadAllOptions::default())
            .unwrap()
            .iter()
            .map(Event::to_json_string)
            .collect();
        let stored: Vec<String> = fixture().iter().map(Event::to_json_string).collect();
        assert_eq!(raw, stored);
        // Time travel folds upcast events too.
        assert_eq!(
            load(&engine, "c1", Some(At::Version(1))).unwrap().unwrap()["address"],
            Value::Null
        );
        assert_eq!(
            load(&engine, "c1", Some(At::Position(3))).unwrap().unwrap()["address"],
            "12 St James's Square, London"
        );
        let now = directory(&engine, None).unwrap();
        assert_eq!(now["people"]["c3"]["name"], "Grace Hopper");
        assert_eq!(now["types"], json!(["customer_moved", "customer_registered"]));
        let then = directory(&engine, Some(At::Position(2))).unwrap();
        assert_eq!(then["people"]["c2"], json!({ "name": "Charles Babbage" }));
        assert!(then["people"].get("c3").is_none());
        assert!(engine.verify().unwrap().ok);
    }
}

#[test]
fn a_v1_log_reads_at_version_3_through_a_rename() {
    let engine = open_at(storage(), 3, false);
    let joined = engine.read_all(&by_types(&["customer_joined"])).unwrap();
    assert_eq!(
        joined.iter().map(|e| e.stream_id.as_str()).collect::<Vec<_>>(),
        ["c1", "c2", "c3"]
    );
    // Renamed into version 1 of `customer_joined`, its latest: no schemaVersion.
    assert_eq!(joined[0].metadata.as_str(), "{}");
    assert_eq!(joined[0].data.to_value()["firstName"], "Ada");
    assert!(engine.read_all(&by_types(&["customer_registered"])).unwrap().is_empty());
    assert_eq!(
        engine.read_all_raw(&by_types(&["customer_registered"])).unwrap().len(),
        3
    );
    assert_eq!(
        engine.read_all(&by_types(&["customer_joined"])).unwrap().len(),
        engine
            .read_all(&ReadAllOptions {
                limit: Some(3),
                ..by_types(&["customer_joined"])
            })
            .unwrap()
            .len()
    );
    let moved = engine.read_all(&by_types(&["customer_moved"])).unwrap();
    assert_eq!(moved[0].metadata.as_str(), r#"{"schemaVersion":2}"#);
    assert_eq!(
        moved[0].data.to_value(),
        json!({ "address": { "line": "12 St James's Square, London", "country": "GB" } })
    );
    let c2 = load(&engine, "c2", None).unwrap().unwrap();
    assert_eq!(c2["firstName"], "Charles");
    assert_eq!(c2["address"]["line"], "1 Dorset Street, London");
    let now = directory(&engine, None).unwrap();
    assert_eq!(now["types"], json!(["customer_joined", "customer_moved"]));
    // Subscribers see the read form, filtered by the renamed type.
    let seen = Rc::new(Seen::default());
    engine
        .subscribe(
            seen.clone(),
            EventFilter {
                types: vec!["customer_joined".into()],
                ..EventFilter::default()
            },
            Some(0),
        )
        .unwrap();
    engine.pump_subscriptions();
    assert_eq!(seen.types(), ["customer_joined"; 3]);
}

#[derive(Default)]
struct Seen {
    events: RefCell<Vec<Event>>,
    failures: RefCell<Vec<Error>>,
}

impl Seen {
    fn types(&self) -> Vec<String> {
        self.events.borrow().iter().map(|e| e.event_type.clone()).collect()
    }
}

impl Subscriber for Seen {
    fn deliver(&self, events: &[Event]) {
        self.events.borrow_mut().extend_from_slice(events);
    }
    fn failed(&self, error: &Error, event: &Event) {
        assert_eq!(event.metadata.as_str(), "{}", "the event as stored");
        self.failures.borrow_mut().push(error.clone());
    }
}

#[test]
fn new_events_are_stored_at_their_latest_version() {
    let storage = storage();
    let engine = open_at(storage.clone(), 3, true);
    let exec = |id: &str, c: Value| block_on(engine.execute(ExecuteRequest::new("Customer", id, cmd(c)))).unwrap();
    exec(
        "c1",
        json!({ "type": "move", "address": { "line": "Horsley Towers", "country": "GB" } }),
    );
    exec(
        "c4",
        json!({ "type": "register", "firstName": "Alan", "lastName": "Turing", "email": "alan@example.org" }),
    );
    let stored = storage.events();
    assert_eq!(stored[6].metadata.as_str(), r#"{"schemaVersion":2}"#);
    assert_eq!(stored[7].event_type, "customer_joined");
    assert_eq!(stored[7].metadata.as_str(), "{}");
    drop(engine);
    let again = open_at(storage, 3, false);
    assert_eq!(
        load(&again, "c1", None).unwrap().unwrap()["address"]["line"],
        "Horsley Towers"
    );
    assert_eq!(
        types(&again.read_stream("c4", &ReadStreamOptions::default()).unwrap()),
        ["customer_joined"]
    );
    assert!(again.verify().unwrap().ok);
}

#[test]
fn stored_snapshots_built_under_other_versions_are_never_used() {
    let storage = storage();
    let engine = open_at(storage.clone(), 2, true);
    block_on(engine.close()).unwrap();
    let snapshot = storage.snapshot("projection:directory").expect("written at close");
    assert_eq!(
        snapshot.versions,
        "projection=1;upcasters=customer_registered:2;erased=none"
    );
    // A snapshot under the same versions is used (a marker put in it shows through).
    let mut marked = snapshot.clone();
    marked.state = json!({ "people": {}, "types": ["from the snapshot"] }).to_string();
    block_on(eventjournal::storage::Storage::write_snapshot(&storage, &marked)).unwrap();
    let same = open_at(storage.clone(), 2, true);
    assert_eq!(directory(&same, None).unwrap()["types"], json!(["from the snapshot"]));
    drop(same);
    // Under version 3 (other upcasters) it is not: the projection is folded from the log.
    let v3 = open_at(storage.clone(), 3, true);
    assert_eq!(
        directory(&v3, None).unwrap()["types"],
        json!(["customer_joined", "customer_moved"])
    );
    block_on(v3.close()).unwrap();
    let rewritten = storage.snapshot("projection:directory").unwrap();
    assert!(
        rewritten.versions.contains("customer_registered:3"),
        "{}",
        rewritten.versions
    );
    // Upcasters defined after open: the restored snapshot was built under none, so it is
    // dropped when they are defined.
    let late = open_at(storage, 2, false);
    assert_eq!(
        directory(&late, None).unwrap()["types"],
        json!(["customer_moved", "customer_registered"])
    );
}

#[test]
fn a_step_this_engine_lacks_is_a_clear_error_naming_type_version_and_position() {
    let storage = storage();
    let v3 = open_at(storage.clone(), 3, true);
    block_on(v3.execute(ExecuteRequest::new(
        "Customer",
        "c1",
        cmd(json!({ "type": "move", "address": { "line": "Horsley Towers" } })),
    )))
    .unwrap();
    drop(v3);
    // Version 2 knows customer_moved up to version 1; position 7 was stored at version 2.
    let v2 = open_at(storage, 2, true);
    let e = load(&v2, "c1", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    for part in ["'customer_moved'", "schemaVersion 2", "position 7", "up to version 1"] {
        assert!(e.message().contains(part), "{}", e.message());
    }
    assert_eq!(load(&v2, "c2", None).unwrap().unwrap()["firstName"], "Charles");
    let Err(Error::Projection(p)) = directory(&v2, None) else {
        panic!("the projection must stop at the event it cannot read")
    };
    assert_eq!(p.position, 7);
    assert!(p.message.contains("schemaVersion 2"), "{}", p.message);
    assert_eq!(
        v2.read_all(&ReadAllOptions::default()).unwrap_err().kind(),
        ErrorKind::Internal
    );
    assert_eq!(v2.read_all_raw(&ReadAllOptions::default()).unwrap().len(), 7);
    let e = block_on(v2.execute(ExecuteRequest::new(
        "Customer",
        "c1",
        cmd(json!({ "type": "move", "address": "x" })),
    )))
    .unwrap_err();
    assert!(e.message().contains("position 7"), "{}", e.message());
}

#[test]
fn a_failing_upcaster_is_a_clear_error_and_never_a_skipped_event() {
    let mut config = EngineConfig::new(clock());
    config
        .aggregates
        .push(("Customer".into(), Rc::new(Customer { version: 2 })));
    config.projections.push(("directory".into(), Rc::new(Directory)));
    let engine = block_on(Engine::open(storage(), config)).unwrap();
    let seen = Rc::new(Seen::default());
    engine.subscribe(seen.clone(), EventFilter::default(), Some(0)).unwrap();
    engine
        .define_upcaster(
            "customer_registered",
            1,
            Rc::new(|d: CanonicalJson, e: &EventView<'_>| {
                if e.stream_id == "c2" {
                    Err("Babbage has no first name".into())
                } else {
                    split_name(d, e)
                }
            }),
        )
        .unwrap();
    engine.pump_subscriptions();
    let e = load(&engine, "c2", None).unwrap_err();
    for part in [
        "'customer_registered'",
        "schemaVersion 1",
        "position 2",
        "Babbage has no first name",
    ] {
        assert!(e.message().contains(part), "{}", e.message());
    }
    assert_eq!(load(&engine, "c1", None).unwrap().unwrap()["firstName"], "Ada");
    let Err(Error::Projection(p)) = directory(&engine, None) else {
        panic!("the projection must stop")
    };
    assert_eq!(p.position, 2);
    // The subscriber was delivered the first event, then told once.
    assert_eq!(seen.events.borrow().len(), 1);
    engine.pump_subscriptions();
    assert_eq!(seen.failures.borrow().len(), 1);
    assert!(seen.failures.borrow()[0].message().contains("position 2"));
}

#[test]
fn chains_without_gaps_and_versioned_definitions() {
    let engine = open_at(storage(), 2, false);
    let up: Rc<dyn Upcaster> = Rc::new(split_name);
    let gap = engine.define_upcaster("customer_moved", 2, up.clone()).unwrap_err();
    assert_eq!(gap.kind(), ErrorKind::Validation);
    assert!(gap.message().contains("gap"), "{}", gap.message());
    let twice = engine.define_upcaster("customer_registered", 1, up).unwrap_err();
    assert_eq!(twice.kind(), ErrorKind::Validation);
    // The same aggregate version again is refused; another one replaces it.
    let again = engine
        .define_aggregate_version("Customer", Rc::new(Customer { version: 2 }), 1)
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Validation);
    assert_eq!(load(&engine, "c1", None).unwrap().unwrap()["firstName"], "Ada");
    engine
        .define_aggregate_version("Customer", Rc::new(Renamer), 2)
        .unwrap();
    assert_eq!(
        load(&engine, "c1", None).unwrap().unwrap(),
        json!(3),
        "the new definition folds"
    );
    assert_eq!(
        engine
            .define_projection_version("directory", Rc::new(Directory), 1)
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    engine
        .define_projection_version("directory", Rc::new(Counter), 2)
        .unwrap();
    assert_eq!(directory(&engine, None).unwrap(), json!(6));
}

/// Counts the events of a stream (a second definition of `Customer`).
struct Renamer;

impl Decider for Renamer {
    type State = u64;
    fn initial_state(&self) -> u64 {
        0
    }
    fn decide(&self, _: &u64, _: &Command) -> Result<Vec<NewEvent>, Rejection> {
        Ok(Vec::new())
    }
    fn evolve(&self, n: u64, _: &EventView<'_>) -> Result<u64, StateError> {
        Ok(n + 1)
    }
}

/// Counts the events of the log (a second definition of `directory`).
struct Counter;

impl Projection for Counter {
    type State = u64;
    fn initial_state(&self) -> u64 {
        0
    }
    fn evolve(&self, n: &mut u64, _: &EventView<'_>) -> Result<(), StateError> {
        *n += 1;
        Ok(())
    }
    fn state_json(&self, n: &u64) -> Result<String, StateError> {
        Ok(n.to_string())
    }
}

#[test]
fn decided_events_cannot_claim_reserved_names() {
    let engine = open_at(storage(), 3, true);
    let mut metadata = Map::new();
    metadata.insert("schemaVersion".into(), json!(1));
    let e = block_on(engine.execute(
        ExecuteRequest::new("Customer", "c9", cmd(json!({ "type": "move", "address": "x" }))).metadata(metadata),
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(e.message().contains("schemaVersion"), "{}", e.message());
    let e = block_on(engine.execute(ExecuteRequest::new(
        "Customer",
        "c9",
        cmd(json!({ "type": "move", "address": { "$encrypted": 1 } })),
    )))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(engine.stream_version("c9").unwrap(), 0);
}
