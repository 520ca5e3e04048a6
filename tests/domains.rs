//! The seed's two domains, rule by rule: given these commands, when this one, then these
//! events (or this error).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use eventjournal::storage::MemoryStorage;
use eventjournal::Engine;
use serde_json::{json, Value};

struct Scenario {
    engine: Engine<MemoryStorage>,
    stream_type: &'static str,
    stream_id: &'static str,
}

fn given(stream_type: &'static str, history: &[Value]) -> Scenario {
    let engine = open(MemoryStorage::new());
    for c in history {
        exec(&engine, stream_type, "s1", c.clone()).expect("given command succeeds");
    }
    Scenario {
        engine,
        stream_type,
        stream_id: "s1",
    }
}

impl Scenario {
    fn when(&self, c: Value) -> Result<Vec<(String, Value)>, (String, String)> {
        exec(&self.engine, self.stream_type, self.stream_id, c)
            .map(|r| {
                r.events
                    .into_iter()
                    .map(|e| (e.event_type, serde_json::from_str(e.data.as_str()).unwrap()))
                    .collect()
            })
            .map_err(|e| (e.code().to_owned(), e.message()))
    }

    fn then_events(&self, c: Value, expected: &[(&str, Value)]) {
        let got = self.when(c).expect("command accepted");
        let expected: Vec<(String, Value)> = expected.iter().map(|(t, d)| (t.to_string(), d.clone())).collect();
        assert_eq!(got, expected);
    }

    fn then_error(&self, c: Value, code: &str, message: &str) {
        let before = self.engine.stats().unwrap().total_events;
        let (got_code, got_message) = self.when(c).expect_err("command refused");
        assert_eq!(got_code, code, "{got_message}");
        assert!(
            got_message.contains(message),
            "{got_message:?} should contain {message:?}"
        );
        assert_eq!(
            self.engine.stats().unwrap().total_events,
            before,
            "a refused command appends nothing"
        );
    }

    fn state(&self) -> Value {
        state(&self.engine, self.stream_type, self.stream_id).expect("state")
    }
}

fn create(deposit: u64) -> Value {
    json!({"type": "create_account", "accountHolder": "Alice", "initialDeposit": deposit})
}

// ---------- BankAccount ----------

#[test]
fn create_account_with_and_without_initial_deposit() {
    given("BankAccount", &[]).then_events(
        create(100_000),
        &[
            (
                "account_created",
                json!({"accountHolder": "Alice", "initialDeposit": 100000}),
            ),
            (
                "money_deposited",
                json!({"amount": 100000, "description": "Initial deposit", "balanceAfter": 100000}),
            ),
        ],
    );
    given("BankAccount", &[]).then_events(
        json!({"type": "create_account", "accountHolder": "Bob"}),
        &[("account_created", json!({"accountHolder": "Bob", "initialDeposit": 0}))],
    );
}

#[test]
fn create_account_twice_is_refused() {
    given("BankAccount", &[create(0)]).then_error(create(5), "DOMAIN", "Account already exists");
}

#[test]
fn create_account_validates_input() {
    let s = given("BankAccount", &[]);
    s.then_error(
        json!({"type": "create_account"}),
        "VALIDATION",
        "accountHolder is required",
    );
    s.then_error(
        json!({"type": "create_account", "accountHolder": ""}),
        "VALIDATION",
        "accountHolder must not be empty",
    );
    s.then_error(
        json!({"type": "create_account", "accountHolder": 5}),
        "VALIDATION",
        "accountHolder must be a string",
    );
    s.then_error(
        json!({"type": "create_account", "accountHolder": "A", "initialDeposit": -1}),
        "VALIDATION",
        "initialDeposit",
    );
    s.then_error(
        json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 1.5}),
        "VALIDATION",
        "initialDeposit",
    );
}

#[test]
fn deposit_adds_to_the_balance() {
    let s = given("BankAccount", &[create(100_000)]);
    s.then_events(
        json!({"type": "deposit", "amount": 50_000, "description": "Salary"}),
        &[(
            "money_deposited",
            json!({"amount": 50000, "description": "Salary", "balanceAfter": 150000}),
        )],
    );
    s.then_events(
        json!({"type": "deposit", "amount": 1}),
        &[(
            "money_deposited",
            json!({"amount": 1, "description": "", "balanceAfter": 150001}),
        )],
    );
    assert_eq!(s.state()["balance"], json!(150001));
}

#[test]
fn deposit_amounts_must_be_positive_safe_integers() {
    let s = given("BankAccount", &[create(0)]);
    for bad in [
        json!(0),
        json!(-5),
        json!(1.25),
        json!(9007199254740992u64),
        json!(1e300),
        json!("10"),
        json!(null),
    ] {
        s.then_error(json!({"type": "deposit", "amount": bad}), "VALIDATION", "amount");
    }
    s.then_error(json!({"type": "deposit"}), "VALIDATION", "amount is required");
    s.then_error(
        json!({"type": "deposit", "amount": 5, "description": 7}),
        "VALIDATION",
        "description must be a string",
    );
}

#[test]
fn deposit_needs_an_active_account() {
    given("BankAccount", &[]).then_error(
        json!({"type": "deposit", "amount": 5}),
        "DOMAIN",
        "Account does not exist",
    );
    given("BankAccount", &[create(0), json!({"type": "close_account"})]).then_error(
        json!({"type": "deposit", "amount": 5}),
        "DOMAIN",
        "Account is closed",
    );
}

#[test]
fn withdraw_takes_from_the_balance_but_not_more() {
    let s = given("BankAccount", &[create(10_000)]);
    s.then_events(
        json!({"type": "withdraw", "amount": 2_500, "description": "ATM"}),
        &[(
            "money_withdrawn",
            json!({"amount": 2500, "description": "ATM", "balanceAfter": 7500}),
        )],
    );
    s.then_error(
        json!({"type": "withdraw", "amount": 7_501}),
        "DOMAIN",
        "Insufficient funds",
    );
    s.then_events(
        json!({"type": "withdraw", "amount": 7_500}),
        &[(
            "money_withdrawn",
            json!({"amount": 7500, "description": "", "balanceAfter": 0}),
        )],
    );
    s.then_error(json!({"type": "withdraw", "amount": 0}), "VALIDATION", "amount");
}

#[test]
fn close_account_records_the_final_balance() {
    let s = given("BankAccount", &[create(4_200)]);
    s.then_events(
        json!({"type": "close_account"}),
        &[("account_closed", json!({"finalBalance": 4200}))],
    );
    let st = s.state();
    assert_eq!(st["isActive"], json!(false));
    assert!(st["closedAt"].is_number());
    s.then_error(json!({"type": "close_account"}), "DOMAIN", "Account is closed");
    s.then_error(json!({"type": "withdraw", "amount": 1}), "DOMAIN", "Account is closed");
}

#[test]
fn account_state_has_the_contract_shape() {
    let s = given("BankAccount", &[create(100)]);
    let st = s.state();
    let keys: Vec<&String> = st.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "accountHolder",
            "accountId",
            "balance",
            "closedAt",
            "createdAt",
            "isActive"
        ]
    );
    assert_eq!(st["accountId"], json!("s1"));
    assert_eq!(st["accountHolder"], json!("Alice"));
    assert_eq!(st["balance"], json!(100));
    assert_eq!(st["isActive"], json!(true));
    assert_eq!(st["createdAt"], json!(1_700_000_000_000i64));
    assert_eq!(st["closedAt"], Value::Null);
}

#[test]
fn unknown_bank_command_is_a_validation_error() {
    given("BankAccount", &[]).then_error(
        json!({"type": "rob_bank"}),
        "VALIDATION",
        "unknown BankAccount command 'rob_bank'",
    );
}

// ---------- Order ----------

fn place() -> Value {
    json!({"type": "place_order", "customerId": "c1", "shippingAddress": "1 Main St",
           "items": [{"itemId": "book", "quantity": 2, "price": 1500}, {"itemId": "pen", "quantity": 1, "price": 250}]})
}

#[test]
fn place_order_totals_the_items() {
    given("Order", &[]).then_events(
        place(),
        &[(
            "order_placed",
            json!({"customerId": "c1", "shippingAddress": "1 Main St", "totalAmount": 3250,
                   "items": [{"itemId": "book", "quantity": 2, "price": 1500}, {"itemId": "pen", "quantity": 1, "price": 250}]}),
        )],
    );
    given("Order", &[place()]).then_error(place(), "DOMAIN", "Order already exists");
}

#[test]
fn place_order_validates_items() {
    let s = given("Order", &[]);
    let with_items =
        |items: Value| json!({"type": "place_order", "customerId": "c1", "shippingAddress": "x", "items": items});
    s.then_error(with_items(json!([])), "VALIDATION", "at least one item");
    s.then_error(with_items(json!("book")), "VALIDATION", "items must be an array");
    s.then_error(
        with_items(json!([{"itemId": "a", "quantity": 0, "price": 1}])),
        "VALIDATION",
        "items[0].quantity",
    );
    s.then_error(
        with_items(json!([{"itemId": "a", "quantity": 1.5, "price": 1}])),
        "VALIDATION",
        "items[0].quantity",
    );
    s.then_error(
        with_items(json!([{"itemId": "a", "quantity": 1, "price": -1}])),
        "VALIDATION",
        "items[0].price",
    );
    s.then_error(
        with_items(json!([{"quantity": 1, "price": 1}])),
        "VALIDATION",
        "items[0].itemId",
    );
    s.then_error(with_items(json!([5])), "VALIDATION", "items[0] must be an object");
    s.then_error(
        with_items(json!([{"itemId": "a", "quantity": 9007199254740991u64, "price": 2}])),
        "VALIDATION",
        "largest safe amount",
    );
    s.then_error(
        json!({"type": "place_order", "customerId": "c1", "items": [{"itemId": "a", "quantity": 1, "price": 1}]}),
        "VALIDATION",
        "shippingAddress is required",
    );
    s.then_error(
        json!({"type": "place_order", "shippingAddress": "x", "items": [{"itemId": "a", "quantity": 1, "price": 1}]}),
        "VALIDATION",
        "customerId is required",
    );
    // A free item is fine.
    s.then_events(with_items(json!([{"itemId": "gift", "quantity": 1, "price": 0}])), &[(
        "order_placed",
        json!({"customerId": "c1", "shippingAddress": "x", "totalAmount": 0, "items": [{"itemId": "gift", "quantity": 1, "price": 0}]}),
    )]);
}

#[test]
fn order_lifecycle_happy_path() {
    let s = given("Order", &[place()]);
    s.then_events(json!({"type": "confirm_order"}), &[("order_confirmed", json!({}))]);
    s.then_events(
        json!({"type": "ship_order", "trackingNumber": "TRK123"}),
        &[("order_shipped", json!({"trackingNumber": "TRK123"}))],
    );
    s.then_events(json!({"type": "deliver_order"}), &[("order_delivered", json!({}))]);
    let st = s.state();
    assert_eq!(st["status"], json!("delivered"));
    assert_eq!(st["totalAmount"], json!(3250));
    for k in ["createdAt", "confirmedAt", "shippedAt", "deliveredAt"] {
        assert!(st[k].is_number(), "{k}");
    }
    assert_eq!(st["cancelledAt"], Value::Null);
    let keys: Vec<&String> = st.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cancelledAt",
            "confirmedAt",
            "createdAt",
            "customerId",
            "deliveredAt",
            "items",
            "orderId",
            "shippedAt",
            "shippingAddress",
            "status",
            "totalAmount"
        ]
    );
}

#[test]
fn order_transitions_out_of_order_are_refused() {
    given("Order", &[place()]).then_error(
        json!({"type": "ship_order", "trackingNumber": "T"}),
        "DOMAIN",
        "Cannot ship order in status: placed",
    );
    given("Order", &[place()]).then_error(
        json!({"type": "deliver_order"}),
        "DOMAIN",
        "Cannot deliver order in status: placed",
    );
    given("Order", &[place(), json!({"type": "confirm_order"})]).then_error(
        json!({"type": "confirm_order"}),
        "DOMAIN",
        "Cannot confirm order in status: confirmed",
    );
    let delivered = [
        place(),
        json!({"type": "confirm_order"}),
        json!({"type": "ship_order", "trackingNumber": "T"}),
        json!({"type": "deliver_order"}),
    ];
    given("Order", &delivered).then_error(
        json!({"type": "cancel_order", "reason": "late"}),
        "DOMAIN",
        "Cannot cancel order in status: delivered",
    );
    given("Order", &[]).then_error(json!({"type": "confirm_order"}), "DOMAIN", "Order does not exist");
    given("Order", &[place()]).then_error(
        json!({"type": "ship_order"}),
        "VALIDATION",
        "trackingNumber is required",
    );
    given("Order", &[place()]).then_error(
        json!({"type": "refund"}),
        "VALIDATION",
        "unknown Order command 'refund'",
    );
}

#[test]
fn orders_can_be_cancelled_until_delivered() {
    for history in [
        vec![place()],
        vec![place(), json!({"type": "confirm_order"})],
        vec![
            place(),
            json!({"type": "confirm_order"}),
            json!({"type": "ship_order", "trackingNumber": "T"}),
        ],
    ] {
        let s = given("Order", &history);
        s.then_events(
            json!({"type": "cancel_order", "reason": "changed my mind"}),
            &[("order_cancelled", json!({"reason": "changed my mind"}))],
        );
        assert_eq!(s.state()["status"], json!("cancelled"));
        s.then_error(
            json!({"type": "cancel_order"}),
            "DOMAIN",
            "Cannot cancel order in status: cancelled",
        );
    }
}

// ---------- projections ----------

#[test]
fn account_balance_projection_follows_every_account() {
    let engine = open(MemoryStorage::new());
    exec(&engine, "BankAccount", "a1", create(1_000)).unwrap();
    exec(
        &engine,
        "BankAccount",
        "a2",
        json!({"type": "create_account", "accountHolder": "Bob"}),
    )
    .unwrap();
    exec(&engine, "BankAccount", "a1", json!({"type": "withdraw", "amount": 400})).unwrap();
    exec(&engine, "BankAccount", "a2", json!({"type": "close_account"})).unwrap();
    let p = projection(&engine, "account_balance");
    assert_eq!(
        p,
        json!({
            "a1": {"accountId": "a1", "accountHolder": "Alice", "balance": 600, "isActive": true, "lastUpdated": 1_700_000_000_000i64},
            "a2": {"accountId": "a2", "accountHolder": "Bob", "balance": 0, "isActive": false, "lastUpdated": 1_700_000_000_000i64},
        })
    );
    let active: Vec<Value> = serde_json::from_str(
        &engine
            .query("account_balance", json!({"isActive": true}).as_object().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["accountId"], json!("a1"));
}

#[test]
fn order_status_projection_and_queries() {
    let engine = open(MemoryStorage::new());
    for (id, customer) in [("o1", "c1"), ("o2", "c2"), ("o3", "c1")] {
        let mut p = place();
        p["customerId"] = json!(customer);
        exec(&engine, "Order", id, p).unwrap();
    }
    exec(&engine, "Order", "o1", json!({"type": "confirm_order"})).unwrap();
    exec(&engine, "Order", "o3", json!({"type": "cancel_order", "reason": "x"})).unwrap();
    let by = |f: Value| -> Vec<String> {
        let rows: Vec<Value> =
            serde_json::from_str(&engine.query("order_status", f.as_object().unwrap()).unwrap()).unwrap();
        rows.iter().map(|r| r["orderId"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(by(json!({"customerId": "c1"})), ["o1", "o3"]);
    assert_eq!(by(json!({"status": "placed"})), ["o2"]);
    assert_eq!(by(json!({"customerId": "c1", "status": "cancelled"})), ["o3"]);
    assert_eq!(by(json!({"customerId": "nobody"})), Vec::<String>::new());
    let row = &projection(&engine, "order_status")["o1"];
    assert_eq!(row["status"], json!("confirmed"));
    assert_eq!(row["totalAmount"], json!(3250));
    let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "createdAt",
            "customerId",
            "lastUpdated",
            "orderId",
            "status",
            "totalAmount"
        ]
    );
}
