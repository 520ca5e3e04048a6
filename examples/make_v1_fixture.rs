//! Writes `tests/fixtures/customers-v1.json`: a log written by version 1 of a `Customer`
//! aggregate, which the upcaster tests (Rust and JavaScript) open with later versions.
//! Run once, by hand, and commit the file (the tests never regenerate it):
//!
//! ```sh
//! cargo run --example make_v1_fixture
//! ```
//!
//! Version 1: `register { name, email }` → `customer_registered { name, email }`,
//! `move { address }` → `customer_moved { address }` (a string). A fixed clock: one second
//! per command from 2023-11-14T22:13:20Z.

use std::rc::Rc;

use eventjournal::clock::ManualClock;
use eventjournal::decider::{Command, Decider};
use eventjournal::error::{Rejection, StateError};
use eventjournal::event::NewEvent;
use eventjournal::log::EventView;
use eventjournal::storage::MemoryStorage;
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use serde_json::{json, Value};

struct CustomerV1;

impl Decider for CustomerV1 {
    type State = Value;

    fn initial_state(&self) -> Value {
        json!({ "name": null, "email": null, "address": null })
    }

    fn decide(&self, _: &Value, c: &Command) -> Result<Vec<NewEvent>, Rejection> {
        let field = |k: &str| {
            c.get(k)
                .cloned()
                .ok_or_else(|| Rejection::validation(format!("{k} is required")))
        };
        Ok(vec![match c.kind() {
            "register" => NewEvent::new(
                "customer_registered",
                json!({ "name": field("name")?, "email": field("email")? }),
            ),
            "move" => NewEvent::new("customer_moved", json!({ "address": field("address")? })),
            other => return Err(Rejection::validation(format!("unknown command {other}"))),
        }])
    }

    fn evolve(&self, mut state: Value, e: &EventView<'_>) -> Result<Value, StateError> {
        let data: Value = e.parse_data()?;
        match e.event_type {
            "customer_registered" => {
                state["name"] = data["name"].clone();
                state["email"] = data["email"].clone();
            }
            "customer_moved" => state["address"] = data["address"].clone(),
            _ => {}
        }
        Ok(state)
    }
}

fn main() {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let mut config = EngineConfig::new(clock.clone());
    config.aggregates.push(("Customer".into(), Rc::new(CustomerV1)));
    let storage = MemoryStorage::new();
    let commands = [
        (
            "c1",
            json!({ "type": "register", "name": "Ada Lovelace", "email": "ada@example.org" }),
        ),
        (
            "c2",
            json!({ "type": "register", "name": "Charles Babbage", "email": "charles@example.org" }),
        ),
        (
            "c1",
            json!({ "type": "move", "address": "12 St James's Square, London" }),
        ),
        (
            "c3",
            json!({ "type": "register", "name": "Grace Hopper", "email": "grace@example.org" }),
        ),
        ("c2", json!({ "type": "move", "address": "1 Dorset Street, London" })),
        ("c1", json!({ "type": "move", "address": "Ockham Park, Surrey" })),
    ];
    futures::executor::block_on(async {
        let engine = Engine::open(storage.clone(), config).await.expect("open");
        for (id, command) in commands {
            let command = Command::from_value(command).expect("command");
            engine
                .execute(ExecuteRequest::new("Customer", id, command))
                .await
                .expect("execute");
            clock.advance(1000.0);
        }
    });
    let records: Vec<Value> = storage
        .events()
        .iter()
        .map(|e| serde_json::from_str(&e.to_json_string()).expect("record"))
        .collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/customers-v1.json");
    let text = serde_json::to_string_pretty(&records).expect("json") + "\n";
    std::fs::write(path, text).expect("write the fixture");
    println!("wrote {path}: {} events", records.len());
}
