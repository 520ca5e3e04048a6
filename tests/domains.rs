//! The seed's two domains, rule by rule, with the decider test kit (`eventjournal::testing`):
//! given these events, when this command, then these events (or this error). No engine: pure
//! `decide` and `evolve`. The projections, which need the log, run on an engine at the end.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use common::*;
use eventjournal::decider::Aggregate;
use eventjournal::domains::bank_account::BankAccount;
use eventjournal::domains::order::Order;
use eventjournal::event::NewEvent;
use eventjournal::storage::MemoryStorage;
use eventjournal::testing::{event, DeciderSpec};
use eventjournal::ErrorKind::{Domain, Validation};
use serde_json::{json, Value};

const T: i64 = 1_700_000_000_000;

// ---------- BankAccount ----------

fn bank() -> DeciderSpec {
    DeciderSpec::of::<BankAccount>().stream("BankAccount", "s1").at(T)
}

fn create(deposit: u64) -> Value {
    json!({"type": "create_account", "accountHolder": "Alice", "initialDeposit": deposit})
}

fn created(holder: &str, initial: u64) -> NewEvent {
    event(
        "account_created",
        json!({"accountHolder": holder, "initialDeposit": initial}),
    )
}

fn deposited(amount: u64, description: &str, after: u64) -> NewEvent {
    event(
        "money_deposited",
        json!({"amount": amount, "description": description, "balanceAfter": after}),
    )
}

fn withdrawn(amount: u64, description: &str, after: u64) -> NewEvent {
    event(
        "money_withdrawn",
        json!({"amount": amount, "description": description, "balanceAfter": after}),
    )
}

/// An account opened with `balance`.
fn account(balance: u64) -> DeciderSpec {
    let mut history = vec![created("Alice", balance)];
    if balance > 0 {
        history.push(deposited(balance, "Initial deposit", balance));
    }
    bank().given(history)
}

#[test]
fn create_account_with_and_without_initial_deposit() {
    bank().when(create(100_000)).then([
        created("Alice", 100_000),
        deposited(100_000, "Initial deposit", 100_000),
    ]);
    bank()
        .when(json!({"type": "create_account", "accountHolder": "Bob"}))
        .then([created("Bob", 0)]);
}

#[test]
fn create_account_twice_is_refused() {
    account(0)
        .when(create(5))
        .then_error_containing(Domain, "Account already exists");
}

#[test]
fn create_account_validates_input() {
    let s = bank();
    for (command, message) in [
        (json!({"type": "create_account"}), "accountHolder is required"),
        (
            json!({"type": "create_account", "accountHolder": ""}),
            "accountHolder must not be empty",
        ),
        (
            json!({"type": "create_account", "accountHolder": 5}),
            "accountHolder must be a string",
        ),
        (
            json!({"type": "create_account", "accountHolder": "A", "initialDeposit": -1}),
            "initialDeposit",
        ),
        (
            json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 1.5}),
            "initialDeposit",
        ),
    ] {
        s.when(command).then_error_containing(Validation, message);
    }
}

#[test]
fn deposit_adds_to_the_balance() {
    let s = account(100_000)
        .when(json!({"type": "deposit", "amount": 50_000, "description": "Salary"}))
        .then([deposited(50_000, "Salary", 150_000)])
        .when(json!({"type": "deposit", "amount": 1}))
        .then([deposited(1, "", 150_001)]);
    assert_eq!(s.state()["balance"], json!(150_001));
}

#[test]
fn deposit_amounts_must_be_positive_safe_integers() {
    let s = account(0);
    for bad in [
        json!(0),
        json!(-5),
        json!(1.25),
        json!(9007199254740992u64),
        json!(1e300),
        json!("10"),
        json!(null),
    ] {
        s.when(json!({"type": "deposit", "amount": bad}))
            .then_error_containing(Validation, "amount");
    }
    s.when(json!({"type": "deposit"}))
        .then_error_containing(Validation, "amount is required");
    s.when(json!({"type": "deposit", "amount": 5, "description": 7}))
        .then_error_containing(Validation, "description must be a string");
}

#[test]
fn deposit_needs_an_active_account() {
    bank()
        .when(json!({"type": "deposit", "amount": 5}))
        .then_error_containing(Domain, "Account does not exist");
    account(0)
        .given([event("account_closed", json!({"finalBalance": 0}))])
        .when(json!({"type": "deposit", "amount": 5}))
        .then_error_containing(Domain, "Account is closed");
}

#[test]
fn withdraw_takes_from_the_balance_but_not_more() {
    let s = account(10_000)
        .when(json!({"type": "withdraw", "amount": 2_500, "description": "ATM"}))
        .then([withdrawn(2_500, "ATM", 7_500)]);
    s.when(json!({"type": "withdraw", "amount": 7_501}))
        .then_error_containing(Domain, "Insufficient funds");
    s.when(json!({"type": "withdraw", "amount": 0}))
        .then_error_containing(Validation, "amount");
    let empty = s
        .when(json!({"type": "withdraw", "amount": 7_500}))
        .then([withdrawn(7_500, "", 0)]);
    assert_eq!(empty.state()["balance"], json!(0));
}

#[test]
fn close_account_records_the_final_balance() {
    let s = account(4_200)
        .when(json!({"type": "close_account"}))
        .then([event("account_closed", json!({"finalBalance": 4200}))]);
    let st = s.state();
    assert_eq!(st["isActive"], json!(false));
    assert_eq!(st["closedAt"], json!(T));
    s.when(json!({"type": "close_account"}))
        .then_error_containing(Domain, "Account is closed");
    s.when(json!({"type": "withdraw", "amount": 1}))
        .then_error_containing(Domain, "Account is closed");
}

#[test]
fn account_state_has_the_contract_shape() {
    let st = account(100).state();
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
    assert_eq!(st["createdAt"], json!(T));
    assert_eq!(st["closedAt"], Value::Null);
}

#[test]
fn unknown_bank_command_is_a_validation_error() {
    bank()
        .when(json!({"type": "rob_bank"}))
        .then_error_containing(Validation, "unknown BankAccount command 'rob_bank'");
    bank()
        .when(json!({"amount": 5}))
        .then_error_containing(Validation, "command.type is missing");
}

// ---------- Order ----------

fn order() -> DeciderSpec {
    DeciderSpec::of::<Order>().stream("Order", "o1").at(T)
}

fn items() -> Value {
    json!([{"itemId": "book", "quantity": 2, "price": 1500}, {"itemId": "pen", "quantity": 1, "price": 250}])
}

fn place() -> Value {
    json!({"type": "place_order", "customerId": "c1", "shippingAddress": "1 Main St", "items": items()})
}

fn placed() -> NewEvent {
    event(
        "order_placed",
        json!({"customerId": "c1", "shippingAddress": "1 Main St", "totalAmount": 3250, "items": items()}),
    )
}

fn confirmed() -> NewEvent {
    event("order_confirmed", json!({}))
}

fn shipped() -> NewEvent {
    event("order_shipped", json!({"trackingNumber": "T"}))
}

#[test]
fn place_order_totals_the_items() {
    order().when(place()).then([placed()]);
    order()
        .given([placed()])
        .when(place())
        .then_error_containing(Domain, "Order already exists");
}

#[test]
fn place_order_validates_items() {
    let s = order();
    let with_items =
        |items: Value| json!({"type": "place_order", "customerId": "c1", "shippingAddress": "x", "items": items});
    for (items, message) in [
        (json!([]), "at least one item"),
        (json!("book"), "items must be an array"),
        (json!([{"itemId": "a", "quantity": 0, "price": 1}]), "items[0].quantity"),
        (
            json!([{"itemId": "a", "quantity": 1.5, "price": 1}]),
            "items[0].quantity",
        ),
        (json!([{"itemId": "a", "quantity": 1, "price": -1}]), "items[0].price"),
        (json!([{"quantity": 1, "price": 1}]), "items[0].itemId"),
        (json!([5]), "items[0] must be an object"),
        (
            json!([{"itemId": "a", "quantity": 9007199254740991u64, "price": 2}]),
            "largest safe amount",
        ),
    ] {
        s.when(with_items(items)).then_error_containing(Validation, message);
    }
    s.when(json!({"type": "place_order", "customerId": "c1", "items": [{"itemId": "a", "quantity": 1, "price": 1}]}))
        .then_error_containing(Validation, "shippingAddress is required");
    s.when(
        json!({"type": "place_order", "shippingAddress": "x", "items": [{"itemId": "a", "quantity": 1, "price": 1}]}),
    )
    .then_error_containing(Validation, "customerId is required");
    // A free item is fine.
    let gift = json!([{"itemId": "gift", "quantity": 1, "price": 0}]);
    s.when(with_items(gift.clone())).then([event(
        "order_placed",
        json!({"customerId": "c1", "shippingAddress": "x", "totalAmount": 0, "items": gift}),
    )]);
}

#[test]
fn order_lifecycle_happy_path() {
    let s = order()
        .given([placed()])
        .when(json!({"type": "confirm_order"}))
        .then([confirmed()])
        .when(json!({"type": "ship_order", "trackingNumber": "TRK123"}))
        .then([event("order_shipped", json!({"trackingNumber": "TRK123"}))])
        .when(json!({"type": "deliver_order"}))
        .then([event("order_delivered", json!({}))]);
    let st = s.state();
    assert_eq!(st["status"], json!("delivered"));
    assert_eq!(st["totalAmount"], json!(3250));
    assert_eq!(st["orderId"], json!("o1"));
    for k in ["createdAt", "confirmedAt", "shippedAt", "deliveredAt"] {
        assert_eq!(st[k], json!(T), "{k}");
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
    let refused = |history: Vec<NewEvent>, command: Value, message: &str| {
        order()
            .given(history)
            .when(command)
            .then_error_containing(Domain, message);
    };
    refused(
        vec![placed()],
        json!({"type": "ship_order", "trackingNumber": "T"}),
        "Cannot ship order in status: placed",
    );
    refused(
        vec![placed()],
        json!({"type": "deliver_order"}),
        "Cannot deliver order in status: placed",
    );
    refused(
        vec![placed(), confirmed()],
        json!({"type": "confirm_order"}),
        "Cannot confirm order in status: confirmed",
    );
    refused(
        vec![placed(), confirmed(), shipped(), event("order_delivered", json!({}))],
        json!({"type": "cancel_order", "reason": "late"}),
        "Cannot cancel order in status: delivered",
    );
    refused(vec![], json!({"type": "confirm_order"}), "Order does not exist");
    let s = order().given([placed()]);
    s.when(json!({"type": "ship_order"}))
        .then_error_containing(Validation, "trackingNumber is required");
    s.when(json!({"type": "refund"}))
        .then_error_containing(Validation, "unknown Order command 'refund'");
}

#[test]
fn orders_can_be_cancelled_until_delivered() {
    for history in [
        vec![placed()],
        vec![placed(), confirmed()],
        vec![placed(), confirmed(), shipped()],
    ] {
        let s = order()
            .given(history)
            .when(json!({"type": "cancel_order", "reason": "changed my mind"}))
            .then([event("order_cancelled", json!({"reason": "changed my mind"}))]);
        assert_eq!(s.state()["status"], json!("cancelled"));
        s.when(json!({"type": "cancel_order"}))
            .then_error_containing(Domain, "Cannot cancel order in status: cancelled");
    }
}

// ---------- the test kit itself ----------

/// The message a failing expectation panics with.
fn failure(f: impl FnOnce()) -> String {
    let panic = catch_unwind(AssertUnwindSafe(f)).expect_err("the expectation fails");
    panic
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| panic.downcast_ref::<&str>().unwrap_or(&"?").to_string())
}

#[test]
fn a_failed_expectation_shows_expected_and_actual() {
    let m = failure(|| {
        account(100)
            .when(json!({"type": "deposit", "amount": 5}))
            .then([deposited(5, "", 106)]);
    });
    assert!(m.contains("given:    account_created"), "{m}");
    assert!(m.contains(r#"when:     {"amount":5,"type":"deposit"}"#), "{m}");
    assert!(
        m.contains(r#"expected: money_deposited {"amount":5,"balanceAfter":106,"description":""}"#),
        "{m}"
    );
    assert!(
        m.contains(r#"actual:   money_deposited {"amount":5,"balanceAfter":105,"description":""}"#),
        "{m}"
    );

    let m = failure(|| {
        account(100)
            .when(json!({"type": "withdraw", "amount": 500}))
            .then([withdrawn(500, "", 0)]);
    });
    assert!(m.contains("actual:   refused: Domain error: Insufficient funds"), "{m}");

    let m = failure(|| {
        account(100)
            .when(json!({"type": "withdraw", "amount": 500}))
            .then_error(Validation);
    });
    assert!(m.contains("expected: a Validation error"), "{m}");
    assert!(m.contains("actual:   Domain error: Insufficient funds"), "{m}");

    let m = failure(|| {
        account(100)
            .when(json!({"type": "deposit", "amount": 5}))
            .then_error_containing(Domain, "closed");
    });
    assert!(m.contains(r#"expected: a Domain error containing "closed""#), "{m}");
    assert!(m.contains("actual:   money_deposited"), "{m}");

    let m = failure(|| {
        bank().when(create(0)).then([]);
    });
    assert!(m.contains("given:    no events"), "{m}");
    assert!(m.contains("expected: no events"), "{m}");
}

#[test]
fn then_error_returns_the_error() {
    let e = account(0)
        .when(json!({"type": "withdraw", "amount": 1}))
        .then_error(Domain);
    assert_eq!(e.message(), "Insufficient funds");
}

#[test]
fn a_given_history_the_decider_cannot_fold_is_reported() {
    let m = failure(|| {
        bank().given([event("money_deposited", json!({"amount": 1}))]).state();
    });
    assert!(m.contains("evolve failed on event 1 (money_deposited"), "{m}");
    assert!(m.contains("without balanceAfter"), "{m}");
}

/// An aggregate behind the object-safe trait (as the engine holds them) works too, and a
/// broken invariant there is an `Internal` error, never a refusal.
#[test]
fn the_kit_runs_any_aggregate() {
    let order: Rc<dyn Aggregate> = Rc::new(Order);
    DeciderSpec::for_aggregate(order).when(place()).then([placed()]);

    struct Broken;
    impl Aggregate for Broken {
        fn initial_state(&self) -> Result<eventjournal::decider::AnyState, eventjournal::error::StateError> {
            Ok(eventjournal::decider::AnyState::new(()))
        }
        fn decide(
            &self,
            _: &eventjournal::decider::AnyState,
            _: &eventjournal::decider::Command,
        ) -> Result<Vec<NewEvent>, eventjournal::error::DecideError> {
            Err(eventjournal::error::DecideError::internal("state lost"))
        }
        fn evolve(
            &self,
            s: eventjournal::decider::AnyState,
            _: &eventjournal::log::EventView<'_>,
        ) -> Result<eventjournal::decider::AnyState, eventjournal::error::StateError> {
            Ok(s)
        }
        fn clone_state(
            &self,
            _: &eventjournal::decider::AnyState,
        ) -> Result<eventjournal::decider::AnyState, eventjournal::error::StateError> {
            Ok(eventjournal::decider::AnyState::new(()))
        }
        fn state_json(&self, _: &eventjournal::decider::AnyState) -> Result<String, eventjournal::error::StateError> {
            Ok("{}".into())
        }
    }
    DeciderSpec::for_aggregate(Rc::new(Broken))
        .when(json!({"type": "anything"}))
        .then_error_containing(eventjournal::ErrorKind::Internal, "state lost");
}

// ---------- projections (on an engine: they read the log) ----------

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
            "a1": {"accountId": "a1", "accountHolder": "Alice", "balance": 600, "isActive": true, "lastUpdated": T},
            "a2": {"accountId": "a2", "accountHolder": "Bob", "balance": 0, "isActive": false, "lastUpdated": T},
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
