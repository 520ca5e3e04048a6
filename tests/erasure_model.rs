//! A property test of crypto-shredding: random histories of accounts and orders (their
//! `accountHolder` and `shippingAddress` are personal data) with random forgets, returning
//! customers and reopens. Every read (the log, each account's state, the projection) must
//! equal a model in which the values of a subject written before it was forgotten are
//! `null` (and listed in `erased`), and every other value is as written; the chain always
//! verifies.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashMap;
use std::rc::Rc;

use common::{block_on, clock, cmd};
use eventjournal::log::ReadAllOptions;
use eventjournal::personal::MemoryKeyStore;
use eventjournal::storage::MemoryStorage;
use eventjournal::{domains, Engine, EngineConfig, ExecuteRequest};
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
enum Op {
    Create { account: u8, holder: u8 },
    Deposit { account: u8 },
    Order { customer: u8, address: u8 },
    ForgetAccount { account: u8 },
    ForgetCustomer { customer: u8 },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4u8, 0..50u8).prop_map(|(account, holder)| Op::Create { account, holder }),
        2 => (0..4u8).prop_map(|account| Op::Deposit { account }),
        3 => (0..3u8, 0..50u8).prop_map(|(customer, address)| Op::Order { customer, address }),
        1 => (0..4u8).prop_map(|account| Op::ForgetAccount { account }),
        1 => (0..3u8).prop_map(|customer| Op::ForgetCustomer { customer }),
        1 => Just(Op::Reopen),
    ]
}

/// What the model expects of one event with personal data.
struct Expected {
    field: &'static str,
    subject: String,
    value: Value,
    erased: bool,
}

#[derive(Default)]
struct Model {
    /// By position (1-based, index + 1): the event's personal field, if it has one.
    events: Vec<Option<Expected>>,
    /// Accounts created: the position of `account_created`.
    accounts: HashMap<String, usize>,
    orders: u32,
}

impl Model {
    fn forget(&mut self, subject: &str) {
        for e in self.events.iter_mut().flatten() {
            if e.subject == subject {
                e.erased = true;
            }
        }
    }
}

fn open(storage: &MemoryStorage, keys: &MemoryKeyStore) -> Engine<MemoryStorage> {
    let mut config = EngineConfig::new(clock());
    config.keys = Some(Rc::new(keys.clone()));
    config.snapshot_every = 3;
    config.projection_persist_every = 5;
    domains::register_builtins(&mut config);
    block_on(Engine::open(storage.clone(), config)).expect("open")
}

fn execute(engine: &Engine<MemoryStorage>, t: &str, id: &str, c: Value) -> usize {
    let r = block_on(engine.execute(ExecuteRequest::new(t, id, cmd(c)))).expect("execute");
    r.events.len()
}

fn apply(
    op: &Op,
    engine: &mut Engine<MemoryStorage>,
    model: &mut Model,
    storage: &MemoryStorage,
    keys: &MemoryKeyStore,
) {
    match op {
        Op::Create { account, holder } => {
            let id = format!("account_{account}");
            if model.accounts.contains_key(&id) {
                return;
            }
            let name = format!("Holder {holder}");
            let n = execute(
                engine,
                "BankAccount",
                &id,
                json!({ "type": "create_account", "accountHolder": name, "initialDeposit": 10 }),
            );
            model.accounts.insert(id.clone(), model.events.len() + 1);
            model.events.push(Some(Expected {
                field: "accountHolder",
                subject: id,
                value: json!(name),
                erased: false,
            }));
            model.events.extend((1..n).map(|_| None));
        }
        Op::Deposit { account } => {
            let id = format!("account_{account}");
            if model.accounts.contains_key(&id) {
                execute(engine, "BankAccount", &id, json!({ "type": "deposit", "amount": 1 }));
                model.events.push(None);
            }
        }
        Op::Order { customer, address } => {
            model.orders += 1;
            let address = json!({ "street": format!("{address} Main Street"), "city": "Springfield" });
            execute(
                engine,
                "Order",
                &format!("order_{}", model.orders),
                json!({ "type": "place_order", "customerId": format!("cust_{customer}"), "items": [{ "itemId": "i", "quantity": 1, "price": 3 }], "shippingAddress": address }),
            );
            model.events.push(Some(Expected {
                field: "shippingAddress",
                subject: format!("cust_{customer}"),
                value: address,
                erased: false,
            }));
        }
        Op::ForgetAccount { account } => {
            let subject = format!("account_{account}");
            block_on(engine.forget(&subject)).expect("forget");
            model.forget(&subject);
        }
        Op::ForgetCustomer { customer } => {
            let subject = format!("cust_{customer}");
            block_on(engine.forget(&subject)).expect("forget");
            model.forget(&subject);
        }
        Op::Reopen => {
            block_on(engine.close()).expect("close");
            *engine = open(storage, keys);
        }
    }
}

fn check(engine: &Engine<MemoryStorage>, model: &Model, storage: &MemoryStorage) -> Result<(), TestCaseError> {
    let events = engine.read_all(&ReadAllOptions::default()).expect("read_all");
    prop_assert_eq!(events.len(), model.events.len());
    for (e, expected) in events.iter().zip(&model.events) {
        let Some(x) = expected else {
            prop_assert!(e.erased.is_empty());
            continue;
        };
        let data = e.data.to_value();
        let want = if x.erased { Value::Null } else { x.value.clone() };
        prop_assert_eq!(&data[x.field], &want, "position {}", e.position);
        let erased: Vec<&str> = if x.erased { vec![x.field] } else { vec![] };
        prop_assert_eq!(e.erased.iter().map(String::as_str).collect::<Vec<_>>(), erased);
        // What is stored never holds the plaintext.
        let stored = storage.events()[e.position as usize - 1].data.to_value();
        prop_assert!(stored[x.field]["$encrypted"].is_object());
    }
    let balances: Value =
        serde_json::from_str(&engine.projection("account_balance", None).expect("projection")).unwrap();
    for (id, &position) in &model.accounts {
        let Some(x) = &model.events[position - 1] else {
            unreachable!("account_created has personal data")
        };
        let want = if x.erased { Value::Null } else { x.value.clone() };
        let state: Value = serde_json::from_str(&engine.load("BankAccount", id, None).unwrap().unwrap().state).unwrap();
        prop_assert_eq!(&state["accountHolder"], &want, "{}", id);
        prop_assert_eq!(&balances[id]["accountHolder"], &want, "{}", id);
        if x.erased {
            // A stored snapshot has the erased holder as null (or has no row for it yet).
            if let Some(snapshot) = storage.snapshot("projection:account_balance:v1") {
                let rows: Value = serde_json::from_str(&snapshot.state).unwrap();
                let row = &rows[id.as_str()]["accountHolder"];
                prop_assert!(row.is_null(), "{} in {}", row, snapshot.state);
            }
        }
    }
    prop_assert!(engine.verify().unwrap().ok);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn every_read_equals_the_model_where_forgotten_fields_are_null(ops in prop::collection::vec(op(), 1..40)) {
        let (storage, keys) = (MemoryStorage::new(), MemoryKeyStore::new());
        let mut engine = open(&storage, &keys);
        let mut model = Model::default();
        for op in &ops {
            apply(op, &mut engine, &mut model, &storage, &keys);
            check(&engine, &model, &storage)?;
        }
        block_on(engine.close()).expect("close");
        let engine = open(&storage, &keys);
        check(&engine, &model, &storage)?;
    }
}
