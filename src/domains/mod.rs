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

use crate::engine::EngineConfig;

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
