//! The two workloads of `benches/evolve_erase.rs` as plain loops, for instruction counts
//! (`valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'`): the
//! machine is too noisy for wall-clock ratios. Not a criterion bench.
//!
//! `profile_evolve_erase commands plain|sealed [n]`: `n` commands (default 10,000) over 100
//! streams whose event has one personal field, declared or not.
//! `profile_evolve_erase replay none|same|add [events]`: rebuilding both built-in
//! projections over a log of `events` (default 200,000), with an upcaster on every event
//! (keeping the data, or adding a field) or without.
use std::hint::black_box;
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

fn config(keys: bool) -> EngineConfig {
    let mut config = EngineConfig::new(Rc::new(ManualClock::new(1_700_000_000_000.0)));
    if keys {
        config.keys = Some(Rc::new(MemoryKeyStore::new()) as Rc<dyn KeyStore>);
    }
    config
}

struct Profile;

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

fn update(i: usize) -> ExecuteRequest {
    let c = json!({ "type": "update", "email": format!("person{i}@example.org") });
    ExecuteRequest::new(
        "Profile",
        format!("profile_{:03}", i % 100),
        Command::from_value(c).unwrap(),
    )
}

#[inline(never)]
fn measured_commands(e: &Engine<MemoryStorage>, n: usize) {
    for i in 0..n {
        block_on(e.execute(update(i))).unwrap();
    }
}

fn commands(sealed: bool, n: usize) {
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
    let t = std::time::Instant::now();
    measured_commands(&engine, n);
    println!("{n} commands (sealed: {sealed}): {:?}", t.elapsed());
}

thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn same(data: CanonicalJson, _: &EventView<'_>) -> Result<Upcast, StateError> {
    STEPS.with(|s| s.set(s.get() + 1));
    Ok(Upcast::data(data))
}

fn with_currency(data: CanonicalJson, e: &EventView<'_>) -> Result<Upcast, StateError> {
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

fn log(events: usize) -> MemoryStorage {
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

#[inline(never)]
fn measured_replay(e: &Engine<MemoryStorage>) -> u64 {
    black_box(e.replay(None).unwrap()).events_replayed
}

fn replay(step: &str, events: usize) {
    let stored = log(events);
    let mut config = config(false);
    eventjournal::domains::register_builtins(&mut config);
    let up: Option<Rc<dyn Upcaster>> = match step {
        "none" => None,
        "same" => Some(Rc::new(same)),
        "add" => Some(Rc::new(with_currency)),
        other => panic!("unknown step {other}: none, same or add"),
    };
    if let Some(up) = up {
        config.upcasters.push(("money_deposited".into(), 1, up));
        config.upcasters.push(("account_created".into(), 1, Rc::new(same)));
    }
    let e = block_on(Engine::open(stored, config)).unwrap();
    let t = std::time::Instant::now();
    let replayed = measured_replay(&e);
    println!(
        "replay {replayed} events (step: {step}): {:?}, {} steps keeping the data",
        t.elapsed(),
        STEPS.with(|s| s.get())
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let n = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match (args.first().map(String::as_str), args.get(1).map(String::as_str)) {
        (Some("commands"), Some(kind)) => commands(kind == "sealed", n(2, 10_000)),
        (Some("replay"), Some(step)) => replay(step, n(2, 200_000)),
        _ => eprintln!("usage: profile_evolve_erase commands plain|sealed [n] | replay none|same|add [events]"),
    }
}
