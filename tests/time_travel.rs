//! Time travel against a naive fold: for random histories (a clock that stalls, jumps and
//! goes back), the state at version v equals the fold of the first v events, at timestamp T
//! the fold of the events with timestamp ≤ T, at position p the fold of the events with
//! position ≤ p; the same for projections. Small snapshot intervals exercise the snapshots.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::rc::Rc;

use common::*;
use eventjournal::decider::Decider;
use eventjournal::domains::bank_account::{AccountBalance, BankAccount};
use eventjournal::domains::order::{Order, OrderStatus};
use eventjournal::event::Event;
use eventjournal::log::{EventView, ReadAllOptions, ReadStreamOptions};
use eventjournal::projection::Projection;
use eventjournal::storage::MemoryStorage;
use eventjournal::time_travel::At;
use eventjournal::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
enum Step {
    Bank { account: u8, op: u8, amount: u32 },
    Order { order: u8, op: u8 },
    Clock(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0u8..3, 0u8..4, 1u32..5000).prop_map(|(account, op, amount)| Step::Bank { account, op, amount }),
        3 => (0u8..3, 0u8..5).prop_map(|(order, op)| Step::Order { order, op }),
        3 => prop_oneof![Just(0i64), 1i64..3, 10i64..100_000, -50i64..0].prop_map(Step::Clock),
    ]
}

fn bank_command(op: u8, amount: u32) -> Value {
    match op {
        0 => json!({"type": "create_account", "accountHolder": "H", "initialDeposit": amount}),
        1 => json!({"type": "deposit", "amount": amount}),
        2 => json!({"type": "withdraw", "amount": amount}),
        _ => json!({"type": "close_account"}),
    }
}

fn order_command(op: u8) -> Value {
    match op {
        0 => {
            json!({"type": "place_order", "customerId": "c", "shippingAddress": "a", "items": [{"itemId": "i", "quantity": 2, "price": 150}]})
        }
        1 => json!({"type": "confirm_order"}),
        2 => json!({"type": "ship_order", "trackingNumber": "T"}),
        3 => json!({"type": "deliver_order"}),
        _ => json!({"type": "cancel_order", "reason": "r"}),
    }
}

fn fold<D: Decider>(d: &D, events: &[&Event]) -> Option<String> {
    if events.is_empty() {
        return None;
    }
    let mut s = d.initial_state();
    for e in events {
        s = d.evolve(s, &EventView::of(e)).unwrap();
    }
    Some(serde_json::to_string(&s).unwrap())
}

/// The projection folded over a separately built log holding exactly `events` (a prefix of
/// the real log): no snapshots, no shortcuts.
fn fold_projection<P: Projection>(p: &P, events: &[&Event]) -> String {
    let mut log = eventjournal::log::Log::new();
    for e in events {
        log.append_stored((*e).clone()).unwrap();
    }
    let mut s = p.initial_state();
    let f = p.filter();
    for e in log.range(1, log.head_position()) {
        if f.matches(e.stream_id, e.stream_type, e.event_type) {
            p.evolve(&mut s, &e).unwrap();
        }
    }
    p.state_json(&s).unwrap()
}

fn run(steps: Vec<Step>, probes: Vec<(u8, u64, i64)>) -> Result<(), TestCaseError> {
    let clock = clock();
    let mut cfg = config(clock.clone());
    cfg.snapshot_every = 3;
    cfg.projection_snapshot_every = 4;
    let engine = block_on(Engine::open(MemoryStorage::new(), cfg)).unwrap();
    for s in steps {
        match s {
            Step::Bank { account, op, amount } => {
                let _ = exec(&engine, "BankAccount", &format!("a{account}"), bank_command(op, amount));
            }
            Step::Order { order, op } => {
                let _ = exec(&engine, "Order", &format!("o{order}"), order_command(op));
            }
            Step::Clock(d) => clock.advance(d as f64),
        }
    }
    let log = engine.read_all(&ReadAllOptions::default()).unwrap();
    let head = log.len() as u64;
    let t0 = log.first().map_or(0, |e| e.timestamp);
    let t1 = log.last().map_or(0, |e| e.timestamp);
    for (which, k, dt) in probes {
        let stream = format!("{}{}", if which % 2 == 0 { "a" } else { "o" }, which % 3);
        let stream_type = if which % 2 == 0 { "BankAccount" } else { "Order" };
        let events = engine.read_stream(&stream, &ReadStreamOptions::default()).unwrap();
        let n = events.len() as u64;
        let version = k % (n + 2);
        let position = k % (head + 2);
        let ts = t0 + dt.rem_euclid((t1 - t0) + 3) - 1;
        let naive = |pred: &dyn Fn(&Event) -> bool| -> Option<String> {
            let chosen: Vec<&Event> = events.iter().filter(|e| pred(e)).collect();
            if stream_type == "BankAccount" {
                fold(&BankAccount, &chosen)
            } else {
                fold(&Order, &chosen)
            }
        };
        let load = |at: At| engine.load(stream_type, &stream, Some(at)).unwrap().map(|l| l.state);
        prop_assert_eq!(
            load(At::Version(version)),
            naive(&|e| e.version <= version),
            "version {}",
            version
        );
        prop_assert_eq!(
            load(At::Position(position)),
            naive(&|e| e.position <= position),
            "position {}",
            position
        );
        prop_assert_eq!(
            load(At::Timestamp(ts)),
            naive(&|e| e.timestamp <= ts),
            "timestamp {}",
            ts
        );
        // Projections at a position and at a timestamp.
        let upto_p: Vec<&Event> = log.iter().filter(|e| e.position <= position).collect();
        let upto_t: Vec<&Event> = log.iter().filter(|e| e.timestamp <= ts).collect();
        prop_assert_eq!(
            engine
                .projection("account_balance", Some(At::Position(position)))
                .unwrap(),
            fold_projection(&AccountBalance, &upto_p)
        );
        prop_assert_eq!(
            engine.projection("order_status", Some(At::Position(position))).unwrap(),
            fold_projection(&OrderStatus, &upto_p)
        );
        prop_assert_eq!(
            engine.projection("account_balance", Some(At::Timestamp(ts))).unwrap(),
            fold_projection(&AccountBalance, &upto_t)
        );
        prop_assert_eq!(
            engine.projection("order_status", Some(At::Timestamp(ts))).unwrap(),
            fold_projection(&OrderStatus, &upto_t)
        );
    }
    // Now equals the fold of everything.
    let all: Vec<&Event> = log.iter().collect();
    prop_assert_eq!(
        engine.projection("account_balance", None).unwrap(),
        fold_projection(&AccountBalance, &all)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn time_travel_equals_a_naive_fold(
        steps in prop::collection::vec(step(), 0..80),
        probes in prop::collection::vec((0u8..6, any::<u64>(), any::<i64>()), 1..12),
    ) {
        run(steps, probes)?;
    }
}

#[test]
fn events_sharing_a_millisecond_are_all_in_the_projection() {
    // The seed's projection tracked progress by timestamp and skipped events that shared a
    // millisecond; ours tracks positions.
    let clock = clock();
    let engine = block_on(Engine::open(MemoryStorage::new(), config(clock.clone()))).unwrap();
    for i in 0..20 {
        exec(
            &engine,
            "BankAccount",
            &format!("a{i}"),
            json!({"type": "create_account", "accountHolder": "H", "initialDeposit": 100}),
        )
        .unwrap();
    }
    let p: Value = serde_json::from_str(&engine.projection("account_balance", None).unwrap()).unwrap();
    assert_eq!(p.as_object().unwrap().len(), 20);
    let ts = engine.read_all(&ReadAllOptions::default()).unwrap()[0].timestamp;
    let at_ts: Value =
        serde_json::from_str(&engine.projection("account_balance", Some(At::Timestamp(ts))).unwrap()).unwrap();
    assert_eq!(at_ts, p);
    let _ = Rc::new(());
}
