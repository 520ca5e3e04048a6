//! The two built-in domains of the seed: [`bank_account`] and [`order`], with their
//! projections `account_balance` and `order_status`, and the [`money`] rules they share.
//! The engine knows none of them: whoever opens an engine adds them with
//! [`register_builtins`] (the JavaScript binding always does, so they are always defined
//! there).
//!
//! ```
//! use eventjournal::{domains, storage::MemoryStorage, Engine, EngineConfig};
//!
//! let mut config = EngineConfig::default();
//! domains::register_builtins(&mut config);
//! let engine = futures::executor::block_on(Engine::open(MemoryStorage::new(), config)).unwrap();
//! let (aggregates, projections) = engine.definitions().unwrap();
//! assert_eq!(aggregates, ["BankAccount", "Order"]);
//! assert_eq!(projections, ["account_balance", "order_status"]);
//! ```

pub mod bank_account;
pub mod money;
pub mod order;

use std::rc::Rc;

use crate::canonical::{write_i64, write_string};
use crate::engine::EngineConfig;

/// An optional string field's value: the string, or `null`.
fn write_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_string(out, s),
        None => out.push_str("null"),
    }
}

/// An optional integer field's value: the number, or `null`.
fn write_opt_i64(out: &mut String, n: Option<i64>) {
    match n {
        Some(n) => write_i64(out, n),
        None => out.push_str("null"),
    }
}

/// Adds `BankAccount`, `Order`, `account_balance` and `order_status` to an engine's
/// configuration (defined at open, so the projections' stored snapshots are restored), and,
/// when the configuration has a key store (`keys`: set it first), their personal data:
/// `accountHolder` (subject: the account id) and `shippingAddress` (subject: the customer
/// id). Without a key store they store plaintext, as they always did.
pub fn register_builtins(config: &mut EngineConfig) {
    if config.keys.is_some() {
        let declared = [bank_account::personal_data(), order::personal_data()];
        for (event_type, declaration) in declared.into_iter().flatten() {
            config.personal_data.push((event_type.to_owned(), declaration));
        }
    }
    config
        .aggregates
        .push((bank_account::STREAM_TYPE.to_owned(), Rc::new(bank_account::BankAccount)));
    config
        .aggregates
        .push((order::STREAM_TYPE.to_owned(), Rc::new(order::Order)));
    config.projections.push((
        bank_account::PROJECTION.to_owned(),
        Rc::new(bank_account::AccountBalance),
    ));
    config
        .projections
        .push((order::PROJECTION.to_owned(), Rc::new(order::OrderStatus)));
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use serde_json::{json, Map, Value};

    use super::bank_account::{AccountBalance, AccountRow};
    use super::order::{OrderRow, OrderStatus, Status};
    use crate::projection::rows::{Row, RowProjection};

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    /// A row written to a snapshot is read back as it was.
    fn round_trip<P: RowProjection>(p: &P, row: &P::Row) -> Option<P::Row> {
        let mut text = String::new();
        row.write_json(&mut text);
        p.restore(row.id().clone(), &fields(serde_json::from_str(&text).unwrap()))
    }

    #[test]
    fn account_rows_come_back_from_snapshots() {
        let id: Rc<str> = Rc::from("a1");
        let row = AccountRow {
            account_id: id.clone(),
            account_holder: Some(Rc::from("Ada")),
            balance: 700,
            is_active: true,
            last_updated: 12,
        };
        assert_eq!(round_trip(&AccountBalance, &row), Some(row.clone()));
        let no_holder = AccountRow {
            account_holder: None,
            ..row
        };
        assert_eq!(round_trip(&AccountBalance, &no_holder), Some(no_holder.clone()));
        let good = json!({"accountHolder": null, "balance": 1, "isActive": false, "lastUpdated": -5});
        assert!(AccountBalance.restore(id.clone(), &fields(good)).is_some());
        for bad in [
            json!({"accountHolder": 3, "balance": 1, "isActive": true, "lastUpdated": 0}),
            json!({"balance": -1, "isActive": true, "lastUpdated": 0}),
            json!({"balance": 1.5, "isActive": true, "lastUpdated": 0}),
            json!({"balance": 1, "isActive": "yes", "lastUpdated": 0}),
            json!({"balance": 1, "isActive": true}),
        ] {
            assert_eq!(AccountBalance.restore(id.clone(), &fields(bad.clone())), None, "{bad}");
        }
    }

    #[test]
    fn order_rows_come_back_from_snapshots() {
        let id: Rc<str> = Rc::from("o1");
        for status in [
            Status::Placed,
            Status::Confirmed,
            Status::Shipped,
            Status::Delivered,
            Status::Cancelled,
        ] {
            let row = OrderRow {
                order_id: id.clone(),
                customer_id: Rc::from("c1"),
                total_amount: 2500,
                status,
                created_at: 1,
                last_updated: 2,
            };
            assert_eq!(round_trip(&OrderStatus, &row), Some(row));
        }
        let row = |status: Value, total: Value| json!({"customerId": "c1", "totalAmount": total, "status": status, "createdAt": 1, "lastUpdated": 2});
        for bad in [
            row(json!("lost"), json!(1)),
            row(json!("Placed"), json!(1)),
            row(json!(null), json!(1)),
            row(json!("placed"), json!("1")),
            json!({"totalAmount": 1, "status": "placed", "createdAt": 1, "lastUpdated": 2}),
        ] {
            assert_eq!(OrderStatus.restore(id.clone(), &fields(bad.clone())), None, "{bad}");
        }
    }

    /// The built-in states are written by hand; serde's derive is the reference.
    #[test]
    fn built_in_states_are_written_as_serde_writes_them() {
        use super::bank_account::{AccountState, BankAccount};
        use super::order::{Order, OrderState};
        use crate::decider::Decider;
        // The same text: fields in the same order (JavaScript sees the key order).
        let same = |ours: String, serde: String| assert_eq!(ours, serde);
        let account = AccountState {
            account_id: Some("a\"1".into()),
            account_holder: None,
            balance: 9007199254740991,
            is_active: true,
            created_at: Some(-3),
            closed_at: None,
        };
        for s in [AccountState::default(), account] {
            same(
                BankAccount::state_to_json(&s).unwrap(),
                serde_json::to_string(&s).unwrap(),
            );
        }
        let order = OrderState {
            order_id: Some("o1".into()),
            customer_id: Some("c1".into()),
            items: vec![
                json!({"itemId": "x", "quantity": 2, "price": 150}),
                json!({"itemId": "é"}),
            ],
            total_amount: 300,
            status: Some("shipped".into()),
            // Keys whose UTF-16 order differs from their code point order: kept in the map's.
            shipping_address: json!({"street": "1 Main St", "zip": ["7", null, true], "😀": 1, "\u{ffff}": {"b": 2, "a": 1.5}}),
            created_at: Some(1),
            confirmed_at: Some(2),
            shipped_at: Some(3),
            delivered_at: None,
            cancelled_at: None,
        };
        for s in [OrderState::default(), order] {
            same(Order::state_to_json(&s).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }
}
