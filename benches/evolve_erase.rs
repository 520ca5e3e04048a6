//! What upcasters and personal data cost (criterion; `make bench`, BENCHMARKS.md):
//!
//! * `erase`: 10,000 commands, each awaited, over 100 streams whose event has one personal
//!   field, with that field declared (sealed with AES-256-GCM under the stream's key, the keys
//!   made beforehand) and without (target: ≤ 1.2× the time); and 1,000 `create_account` on
//!   new accounts, each making a key, with and without a key store (info).
//! * `upcast`: rebuilding both built-in projections over a 200,000-event log, with an
//!   upcaster on every event and without (target: ≤ 1.3× the time): a step that keeps the data
//!   (what the engine's machinery costs), and one that adds a field (a realistic step).

use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
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

/// A profile whose `profile_updated { email, n }` carries one personal field.
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

fn profiles(sealed: bool) -> Engine<MemoryStorage> {
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

fn update(i: usize) -> ExecuteRequest {
    let c = json!({ "type": "update", "email": format!("person{i}@example.org") });
    ExecuteRequest::new(
        "Profile",
        format!("profile_{:03}", i % 100),
        Command::from_value(c).unwrap(),
    )
}

fn erase(c: &mut Criterion) {
    let mut g = c.benchmark_group("erase");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(10);
    for (name, sealed) in [
        ("10k commands, one personal field, plain", false),
        ("10k commands, one personal field, encrypted", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || profiles(sealed),
                |e| {
                    for i in 0..10_000 {
                        block_on(e.execute(update(i))).unwrap();
                    }
                    e
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.throughput(Throughput::Elements(1_000));
    for (name, keys) in [
        ("1k create_account, no key store", false),
        ("1k create_account, a new key each", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut config = config(keys);
                    eventjournal::domains::register_builtins(&mut config);
                    block_on(Engine::open(MemoryStorage::new(), config)).unwrap()
                },
                |e| {
                    for i in 0..1_000 {
                        let c = json!({ "type": "create_account", "accountHolder": format!("Holder {i}"), "initialDeposit": 100 });
                        let r = ExecuteRequest::new("BankAccount", format!("account_{i:04}"), Command::from_value(c).unwrap());
                        block_on(e.execute(r)).unwrap();
                    }
                    e
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// A step that keeps the data as it is.
fn same(data: CanonicalJson, _: &EventView<'_>) -> Result<Upcast, StateError> {
    Ok(Upcast::data(data))
}

/// A step that adds `currency` to a deposit (read with the field reader, written canonical).
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

const EVENTS: usize = 200_000;

/// The events of the log: 1,000 accounts, then deposits round-robin.
fn log() -> MemoryStorage {
    let storage = MemoryStorage::new();
    let mut config = config(false);
    eventjournal::domains::register_builtins(&mut config);
    let e = block_on(Engine::open(storage.clone(), config)).unwrap();
    let mut made = 0;
    while made < EVENTS {
        let burst = (EVENTS - made).min(4096);
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

fn upcast(c: &mut Criterion) {
    let stored = log();
    let mut g = c.benchmark_group("upcast");
    g.throughput(Throughput::Elements(stored.len() as u64));
    g.sample_size(10);
    let steps: [(&str, Option<Rc<dyn Upcaster>>); 3] = [
        ("replay 200k events, no upcaster", None),
        (
            "replay 200k events, a step keeping the data on every event",
            Some(Rc::new(same)),
        ),
        (
            "replay 200k events, a step adding a field on every event",
            Some(Rc::new(with_currency)),
        ),
    ];
    for (name, step) in steps {
        let mut config = config(false);
        eventjournal::domains::register_builtins(&mut config);
        if let Some(step) = step {
            config.upcasters.push(("money_deposited".into(), 1, step));
            config.upcasters.push(("account_created".into(), 1, Rc::new(same)));
        }
        let e = block_on(Engine::open(stored.clone(), config)).unwrap();
        g.bench_function(name, |b| b.iter(|| black_box(e.replay(None).unwrap())));
    }
    g.finish();
}

criterion_group!(benches, erase, upcast);
criterion_main!(benches);
