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
use eventjournal::canonical::CanonicalJson;
use eventjournal::decider::Command;
use eventjournal::error::StateError;
use eventjournal::log::EventView;
use eventjournal::storage::MemoryStorage;
use eventjournal::upcast::{Upcast, Upcaster};
use eventjournal::{Engine, ExecuteRequest};
use futures::executor::block_on;
use serde_json::json;

#[path = "support/evolve_erase.rs"]
mod workloads;
use workloads::{config, log, profiles, replaying, update, with_currency};

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

const EVENTS: usize = 200_000;

/// A step that keeps the data as it is.
fn same(data: CanonicalJson, _: &EventView<'_>) -> Result<Upcast, StateError> {
    Ok(Upcast::data(data))
}

fn upcast(c: &mut Criterion) {
    let stored = log(EVENTS);
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
        let e = replaying(stored.clone(), step, Rc::new(same));
        g.bench_function(name, |b| b.iter(|| black_box(e.replay(None).unwrap())));
    }
    g.finish();
}

criterion_group!(benches, erase, upcast);
criterion_main!(benches);
