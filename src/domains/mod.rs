//! The two built-in domains of the seed: [`bank_account`] and [`order`], with their
//! projections `account_balance` and `order_status` (always defined).

pub mod bank_account;
pub mod order;

use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::decider::Registry;
use crate::error::Error;
use crate::log::Log;
use crate::projection::{record_matches, Projections};

/// Registers `BankAccount`, `Order`, `account_balance` and `order_status`.
pub fn register(registry: &mut Registry, projections: &mut Projections, log: &Log) -> Result<(), Error> {
    registry.register(bank_account::STREAM_TYPE, Rc::new(bank_account::BankAccount))?;
    registry.register(order::STREAM_TYPE, Rc::new(order::Order))?;
    projections.define(bank_account::PROJECTION, Rc::new(bank_account::AccountBalance), log)?;
    projections.define(order::PROJECTION, Rc::new(order::OrderStatus), log)?;
    Ok(())
}

/// A map of rows as a JSON object with keys in sorted order.
pub(crate) fn sorted_map_json<R: Serialize>(rows: &HashMap<String, R>) -> Result<String, String> {
    let mut keys: Vec<&String> = rows.keys().collect();
    keys.sort();
    let mut out = String::with_capacity(rows.len() * 128 + 2);
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::canonical::write_string(&mut out, k);
        out.push(':');
        out.push_str(&serde_json::to_string(&rows[k]).map_err(|e| e.to_string())?);
    }
    out.push('}');
    Ok(out)
}

/// The rows whose fields equal every field of `filter`, sorted by key, as a JSON array.
pub(crate) fn query_rows<R: Serialize>(
    rows: &HashMap<String, R>,
    filter: &Map<String, Value>,
) -> Result<String, String> {
    let mut keys: Vec<&String> = rows.keys().collect();
    keys.sort();
    let mut hits = Vec::new();
    for k in keys {
        let row = serde_json::to_value(&rows[k]).map_err(|e| e.to_string())?;
        if record_matches(&row, filter) {
            hits.push(row);
        }
    }
    serde_json::to_string(&hits).map_err(|e| e.to_string())
}
