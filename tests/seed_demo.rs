//! The seed's demo, end to end: a bank account, an order, time travel, replay and stats.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use eventjournal::error::ErrorKind;
use eventjournal::log::ReadStreamOptions;
use eventjournal::storage::MemoryStorage;
use eventjournal::time_travel::At;
use eventjournal::Engine;
use serde_json::{json, Value};

#[test]
fn the_seed_demo() {
    let clock = clock();
    let storage = MemoryStorage::new();
    let engine = block_on(Engine::open(storage.clone(), config(clock.clone()))).unwrap();

    // Bank account: 1,000.00 opening deposit, +500.00, -200.00, +300.00.
    exec(
        &engine,
        "BankAccount",
        "account_001",
        json!({"type": "create_account", "accountHolder": "John Doe", "initialDeposit": 100000}),
    )
    .unwrap();
    clock.advance(60_000.0);
    let before_deposits = eventjournal::clock::Clock::now_ms(&*clock);
    clock.advance(60_000.0);
    exec(
        &engine,
        "BankAccount",
        "account_001",
        json!({"type": "deposit", "amount": 50000, "description": "Salary"}),
    )
    .unwrap();
    exec(
        &engine,
        "BankAccount",
        "account_001",
        json!({"type": "withdraw", "amount": 20000, "description": "Rent"}),
    )
    .unwrap();
    let last = exec(
        &engine,
        "BankAccount",
        "account_001",
        json!({"type": "deposit", "amount": 30000, "description": "Bonus"}),
    )
    .unwrap();
    assert_eq!(last.version, 5);
    let account = state(&engine, "BankAccount", "account_001").unwrap();
    assert_eq!(account["balance"], json!(160000));
    assert_eq!(account["accountHolder"], json!("John Doe"));
    assert_eq!(account["isActive"], json!(true));

    // An overdraft is refused.
    let err = exec(
        &engine,
        "BankAccount",
        "account_001",
        json!({"type": "withdraw", "amount": 1_000_000}),
    )
    .unwrap_err();
    assert_eq!(
        (err.kind(), err.message().as_str()),
        (ErrorKind::Domain, "Insufficient funds")
    );

    // Order: placed, confirmed, shipped.
    exec(&engine, "Order", "order_001", json!({"type": "place_order", "customerId": "customer_123", "shippingAddress": "123 Main St, Springfield",
        "items": [{"itemId": "item_001", "quantity": 2, "price": 2999}, {"itemId": "item_002", "quantity": 1, "price": 4999}]})).unwrap();
    exec(&engine, "Order", "order_001", json!({"type": "confirm_order"})).unwrap();
    exec(
        &engine,
        "Order",
        "order_001",
        json!({"type": "ship_order", "trackingNumber": "TRACK123"}),
    )
    .unwrap();
    let order = state(&engine, "Order", "order_001").unwrap();
    assert_eq!(order["status"], json!("shipped"));
    assert_eq!(order["totalAmount"], json!(10997));
    let err = exec(&engine, "Order", "order_001", json!({"type": "confirm_order"})).unwrap_err();
    assert_eq!(err.message(), "Cannot confirm order in status: shipped");

    // Projections.
    let balances = projection(&engine, "account_balance");
    assert_eq!(balances["account_001"]["balance"], json!(160000));
    let orders = projection(&engine, "order_status");
    assert_eq!(orders["order_001"]["status"], json!("shipped"));
    let by_customer: Vec<Value> = serde_json::from_str(
        &engine
            .query(
                "order_status",
                json!({"customerId": "customer_123"}).as_object().unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(by_customer.len(), 1);

    // Time travel: before the deposits, after the opening deposit only.
    let at = |a: At| -> Value {
        serde_json::from_str(
            &engine
                .load("BankAccount", "account_001", Some(a))
                .unwrap()
                .unwrap()
                .state,
        )
        .unwrap()
    };
    assert_eq!(at(At::Version(2))["balance"], json!(100000));
    assert_eq!(at(At::Version(1))["balance"], json!(0));
    assert_eq!(at(At::Version(3))["balance"], json!(150000));
    assert_eq!(at(At::Version(4))["balance"], json!(130000));
    assert_eq!(at(At::Timestamp(before_deposits as i64))["balance"], json!(100000));
    assert_eq!(at(At::Position(2))["balance"], json!(100000));
    let past: Value =
        serde_json::from_str(&engine.projection("account_balance", Some(At::Position(2))).unwrap()).unwrap();
    assert_eq!(past["account_001"]["balance"], json!(100000));

    // Event history.
    let history = engine
        .read_stream("account_001", &ReadStreamOptions::default())
        .unwrap();
    let summary: Vec<(u64, &str)> = history.iter().map(|e| (e.version, e.event_type.as_str())).collect();
    assert_eq!(
        summary,
        [
            (1, "account_created"),
            (2, "money_deposited"),
            (3, "money_deposited"),
            (4, "money_withdrawn"),
            (5, "money_deposited")
        ]
    );

    // Replay and stats.
    let replay = engine.replay(None).unwrap();
    assert_eq!((replay.events_replayed, replay.projections_rebuilt), (8, 2));
    assert_eq!(projection(&engine, "account_balance"), balances);
    let stats = engine.stats().unwrap();
    assert_eq!(
        (stats.total_events, stats.total_streams, stats.head_position),
        (8, 2, 8)
    );
    let dist: Vec<(&str, u64)> = stats
        .event_type_distribution
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        dist,
        [
            ("account_created", 1),
            ("money_deposited", 3),
            ("money_withdrawn", 1),
            ("order_confirmed", 1),
            ("order_placed", 1),
            ("order_shipped", 1)
        ]
    );
    assert_eq!(
        stats.head_hash,
        history.last().map(|_| storage.events()[7].hash.clone()).unwrap()
    );
    assert!(engine.verify().unwrap().ok);

    // Reopen: everything comes back from storage.
    let reopened = block_on(Engine::open(storage, config(clock))).unwrap();
    assert_eq!(reopened.stats().unwrap(), stats);
    assert_eq!(projection(&reopened, "account_balance"), balances);
    assert_eq!(state(&reopened, "Order", "order_001").unwrap(), order);
}
