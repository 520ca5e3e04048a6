//! Native benchmarks of the core (criterion): what the engine costs without the wasm
//! boundary. `make bench` runs them and writes the figures into BENCHMARKS.md.
//!
//! * append: 10,000 deposits over 100 accounts, each awaited / in bursts of 1,000;
//! * replay: rebuilding both built-in projections over 1,000,000 events;
//! * load: an account at a random version of a 100,000-event stream;
//! * projection: `account_balance` at a random position of a 1,000,000-event log.

use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eventjournal::clock::ManualClock;
use eventjournal::decider::Command;
use eventjournal::storage::MemoryStorage;
use eventjournal::time_travel::At;
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use futures::executor::block_on;
use serde_json::json;

fn engine() -> Engine<MemoryStorage> {
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let mut config = EngineConfig::new(clock);
    eventjournal::domains::register_builtins(&mut config);
    block_on(Engine::open(MemoryStorage::new(), config)).unwrap()
}

fn deposit(account: usize, amount: u64) -> ExecuteRequest {
    ExecuteRequest::new(
        "BankAccount",
        format!("account_{account:04}"),
        Command::from_value(json!({"type": "deposit", "amount": amount})).unwrap(),
    )
}

fn with_accounts(n: usize) -> Engine<MemoryStorage> {
    let e = engine();
    let futures: Vec<_> = (0..n)
        .map(|i| {
            let c = json!({"type": "create_account", "accountHolder": format!("Holder {i}"), "initialDeposit": 1000});
            e.execute(ExecuteRequest::new(
                "BankAccount",
                format!("account_{i:04}"),
                Command::from_value(c).unwrap(),
            ))
        })
        .collect();
    for r in block_on(futures::future::join_all(futures)) {
        r.unwrap();
    }
    e
}

/// An engine whose log holds `total` events: 1,000 accounts, then deposits round-robin,
/// with one order stream per 100 events so both projections have work.
fn big_log(total: usize) -> Engine<MemoryStorage> {
    let e = with_accounts(1000);
    let mut made = 2000;
    let mut i = 0usize;
    while made < total {
        let burst = (total - made).min(4096);
        let futures: Vec<_> = (0..burst)
            .map(|k| {
                i += 1;
                if k % 100 == 0 {
                    let c = json!({"type": "place_order", "customerId": format!("c{}", i % 50), "shippingAddress": "1 Main St",
                        "items": [{"itemId": "sku-1", "quantity": 1, "price": 999}]});
                    e.execute(ExecuteRequest::new("Order", format!("order_{i}"), Command::from_value(c).unwrap()))
                } else {
                    e.execute(deposit(i % 1000, 1 + (i % 100) as u64))
                }
            })
            .collect();
        for r in block_on(futures::future::join_all(futures)) {
            r.unwrap();
        }
        made += burst;
    }
    e
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(10);
    g.bench_function("10k deposits, each awaited", |b| {
        b.iter_batched(
            || with_accounts(100),
            |e| {
                for i in 0..10_000 {
                    block_on(e.execute(deposit(i % 100, 1))).unwrap();
                }
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("10k deposits, bursts of 1000", |b| {
        b.iter_batched(
            || with_accounts(100),
            |e| {
                for burst in 0..10 {
                    let futures: Vec<_> = (0..1000)
                        .map(|i| e.execute(deposit((burst * 1000 + i) % 100, 1)))
                        .collect();
                    for r in block_on(futures::future::join_all(futures)) {
                        r.unwrap();
                    }
                }
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn replay(c: &mut Criterion) {
    let e = big_log(1_000_000);
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(1_000_000));
    g.sample_size(10);
    g.bench_function("both projections over 1M events", |b| {
        b.iter(|| black_box(e.replay(None).unwrap()))
    });
    g.finish();
    let mut g = c.benchmark_group("projection_at");
    g.sample_size(50);
    let mut seed = 12345u64;
    g.bench_function("account_balance at a random position of 1M", |b| {
        b.iter(|| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let p = 1 + (seed >> 33) % 1_000_000;
            black_box(e.projection("account_balance", Some(At::Position(p))).unwrap())
        })
    });
    g.finish();
}

fn load(c: &mut Criterion) {
    let e = with_accounts(1);
    let mut left = 100_000 - 2;
    while left > 0 {
        let n = left.min(4096);
        let futures: Vec<_> = (0..n).map(|_| e.execute(deposit(0, 1))).collect();
        for r in block_on(futures::future::join_all(futures)) {
            r.unwrap();
        }
        left -= n;
    }
    assert_eq!(e.stream_version("account_0000").unwrap(), 100_000);
    e.load("BankAccount", "account_0000", None).unwrap();
    let mut g = c.benchmark_group("load");
    g.sample_size(50);
    let mut seed = 99u64;
    g.bench_function("account at a random version of 100k", |b| {
        b.iter(|| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = 1 + (seed >> 33) % 100_000;
            black_box(e.load("BankAccount", "account_0000", Some(At::Version(v))).unwrap())
        })
    });
    g.bench_function("account now (cached)", |b| {
        b.iter(|| black_box(e.load("BankAccount", "account_0000", None).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, append, replay, load);
criterion_main!(benches);
