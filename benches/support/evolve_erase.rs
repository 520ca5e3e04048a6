//! What `benches/evolve_erase.rs` (criterion) and `benches/profile_evolve_erase.rs`
//! (instruction counts) share: the engines, the commands, the log and the upcaster step.
#![allow(dead_code)]

use std::rc::Rc;

use eventjournal::canonical::{CanonicalJson, Field};
use eventjournal::clock::ManualClock;
use eventjournal::decider::{Command, Decider};
use eventjournal::error::{Rejection, StateError};
use eventjournal::event::NewEvent;
use eventjournal::log::EventView;
use eventjournal::personal::{KeyStore, MemoryKeyStore, PersonalData};
use eventjournal::storage::MemoryStorage;
use eventjournal::upcast::{Upcast, Upcaster};
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use futures::executor::block_on;
use serde_json::json;

pub fn config(keys: bool) -> EngineConfig {
    let mut config = EngineConfig::new(Rc::new(ManualClock::new(1_700_000_000_000.0)));
    if keys {
        config.keys = Some(Rc::new(MemoryKeyStore::new()) as Rc<dyn KeyStore>);
    }
    config
}

/// A profile whose `profile_updated { email, n }` carries one personal field.
pub struct Profile;

impl Decider for Profile {
    type State = u64;
    fn initial_state(&self) -> u64 {
        0
    }
    fn decide(&self, n: &u64, c: &Command) -> Result<Vec<NewEvent>, Rejection> {
        let email = c.string("email")?;
        let data = CanonicalJson::from_fields(&mut [("email", Field::Str(email)), ("n", Field::U64(n + 1))])?;
        Ok(vec![NewEvent::new("profile_updated", data)])
    }
    fn evolve(&self, _: u64, e: &EventView<'_>) -> Result<u64, StateError> {
        e.u64_field("n").ok_or_else(|| "no n".into())
    }
}

pub fn profiles(sealed: bool) -> Engine<MemoryStorage> {
    let mut config = config(sealed);
    config.aggregates.push(("Profile".into(), Rc::new(Profile)));
    if sealed {
        let declaration = PersonalData::new(["email"], |e| Ok(e.stream_id.to_owned())).unwrap();
        config.personal_data.push(("profile_updated".into(), declaration));
    }
    let engine = block_on(Engine::open(MemoryStorage::new(), config)).unwrap();
    for i in 0..100 {
        block_on(engine.execute(update(i))).unwrap();
    }
    engine
}

pub fn update(i: usize) -> ExecuteRequest {
    let c = json!({ "type": "update", "email": format!("person{i}@example.org") });
    ExecuteRequest::new(
        "Profile",
        format!("profile_{:03}", i % 100),
        Command::from_value(c).unwrap(),
    )
}

/// A step that adds `currency` to a deposit (read with the field reader, written canonical).
pub fn with_currency(data: CanonicalJson, e: &EventView<'_>) -> Result<Upcast, StateError> {
    let amount = e.u64_field("amount").ok_or("no amount")?;
    let after = e.u64_field("balanceAfter").ok_or("no balanceAfter")?;
    let description = e.str_field("description").unwrap_or_default();
    drop(data);
    let next = CanonicalJson::from_fields(&mut [
        ("amount", Field::U64(amount)),
        ("balanceAfter", Field::U64(after)),
        ("currency", Field::Str("EUR")),
        ("description", Field::Str(&description)),
    ])
    .map_err(|v| StateError::new(v.message))?;
    Ok(Upcast::data(next))
}

/// The events of the log: 1,000 accounts, then deposits round-robin.
pub fn log(events: usize) -> MemoryStorage {
    let storage = MemoryStorage::new();
    let mut config = config(false);
    eventjournal::domains::register_builtins(&mut config);
    let e = block_on(Engine::open(storage.clone(), config)).unwrap();
    let mut made = 0;
    while made < events {
        let burst = (events - made).min(4096);
        let futures: Vec<_> = (0..burst)
            .map(|k| {
                let i = made + k;
                let c = if i < 1000 {
                    json!({ "type": "create_account", "accountHolder": format!("H{i}") })
                } else {
                    json!({ "type": "deposit", "amount": 1 + i % 100 })
                };
                e.execute(ExecuteRequest::new(
                    "BankAccount",
                    format!("account_{:04}", i % 1000),
                    Command::from_value(c).unwrap(),
                ))
            })
            .collect();
        for r in block_on(futures::future::join_all(futures)) {
            r.unwrap();
        }
        made = e.head_position() as usize;
    }
    storage
}

/// An engine over `stored` with the built-in domains and, when given, `step` on every
/// deposit and `same` on every account creation.
pub fn replaying(
    stored: MemoryStorage,
    step: Option<Rc<dyn Upcaster>>,
    same: Rc<dyn Upcaster>,
) -> Engine<MemoryStorage> {
    let mut config = config(false);
    eventjournal::domains::register_builtins(&mut config);
    if let Some(step) = step {
        config.upcasters.push(("money_deposited".into(), 1, step));
        config.upcasters.push(("account_created".into(), 1, same));
    }
    block_on(Engine::open(stored, config)).unwrap()
}
