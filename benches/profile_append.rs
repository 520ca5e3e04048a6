//! A plain loop of deposits for profilers (`perf record`): not a criterion bench.
use std::rc::Rc;

use eventjournal::clock::ManualClock;
use eventjournal::decider::Command;
use eventjournal::storage::MemoryStorage;
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use futures::executor::block_on;
use serde_json::json;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let mut config = EngineConfig::new(clock);
    eventjournal::domains::register_builtins(&mut config);
    let e = block_on(Engine::open(MemoryStorage::new(), config)).unwrap();
    for i in 0..1000 {
        let c = json!({"type": "create_account", "accountHolder": "H", "initialDeposit": 1000});
        block_on(e.execute(ExecuteRequest::new(
            "BankAccount",
            format!("a{i}"),
            Command::from_value(c).unwrap(),
        )))
        .unwrap();
    }
    let t = std::time::Instant::now();
    for i in 0..n {
        let c = Command::from_value(json!({"type": "deposit", "amount": 1})).unwrap();
        block_on(e.execute(ExecuteRequest::new("BankAccount", format!("a{}", i % 1000), c))).unwrap();
    }
    let el = t.elapsed();
    println!(
        "{n} deposits: {:?} ({:.2} µs each)",
        el,
        el.as_secs_f64() * 1e6 / n as f64
    );
    let replays: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let t = std::time::Instant::now();
    let mut replayed = 0;
    for _ in 0..replays {
        replayed += e.replay(None).unwrap().events_replayed;
    }
    let el = t.elapsed();
    println!(
        "replay {replayed} events: {el:?} ({:.1} M events/s)",
        replayed as f64 / el.as_secs_f64() / 1e6
    );
}
