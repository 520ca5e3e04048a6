//! `Order`: place, confirm, ship, deliver or cancel an order. Prices are integer cents.
//!
//! ```text
//! place_order ─► placed ─confirm_order─► confirmed ─ship_order─► shipped ─deliver_order─► delivered
//!                  │                        │                       │
//!                  └───────── cancel_order ─┴───────────────────────┴─► cancelled
//! ```
//! Any other transition: `DomainError` "Cannot <verb> order in status: <status>".

use std::rc::Rc;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::money::{amount, count};
use super::{write_opt_i64, write_opt_str};
use crate::canonical::{kind_of, write_i64, write_in_map_order, write_string, write_u64, MAX_SAFE_INTEGER};
use crate::decider::{Command, Decider};
use crate::error::{Rejection, StateError};
use crate::event::NewEvent;
use crate::log::EventView;
use crate::projection::rows::{key, Row, RowProjection, Rows};

pub const STREAM_TYPE: &str = "Order";
pub const PROJECTION: &str = "order_status";

/// The order as `load('Order', id)` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderState {
    pub order_id: Option<String>,
    pub customer_id: Option<String>,
    pub items: Vec<Value>,
    pub total_amount: u64,
    /// `null` before `place_order`, then placed, confirmed, shipped, delivered or cancelled.
    pub status: Option<String>,
    pub shipping_address: Value,
    pub created_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub shipped_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub cancelled_at: Option<i64>,
}

/// The data of `order_placed`.
struct Placed {
    customer_id: String,
    items: Vec<Value>,
    total_amount: u64,
    shipping_address: Value,
}

impl Placed {
    /// Read through `Value`, not a typed serde derive (module size, BENCHMARKS.md target 10).
    fn of(event: &EventView<'_>) -> Result<Placed, StateError> {
        let bad = |what: &str| {
            StateError::new(format!(
                "event {} ({}) has unexpected data: {what}",
                event.position, event.event_type
            ))
        };
        let Value::Object(mut d) = event.parse_data::<Value>()? else {
            return Err(bad("not an object"));
        };
        let mut take = |key: &str| d.remove(key).ok_or_else(|| bad(&format!("missing field `{key}`")));
        let customer_id = match take("customerId")? {
            Value::String(s) => s,
            _ => return Err(bad("customerId is not a string")),
        };
        let Value::Array(items) = take("items")? else {
            return Err(bad("items is not an array"));
        };
        let total_amount = take("totalAmount")?
            .as_u64()
            .ok_or_else(|| bad("totalAmount is not a non-negative integer"))?;
        let shipping_address = take("shippingAddress")?;
        Ok(Placed {
            customer_id,
            items,
            total_amount,
            shipping_address,
        })
    }
}

/// The `Order` decider.
#[derive(Debug, Default, Clone, Copy)]
pub struct Order;

fn transition(state: &OrderState, verb: &str, allowed: &[&str]) -> Result<(), Rejection> {
    match state.status.as_deref() {
        None => Err(Rejection::domain("Order does not exist")),
        Some(s) if allowed.contains(&s) => Ok(()),
        Some(s) => Err(Rejection::domain(format!("Cannot {verb} order in status: {s}"))),
    }
}

fn items(command: &Command) -> Result<(Vec<Value>, u64), Rejection> {
    let list = match command.get("items") {
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(Rejection::validation(format!(
                "items must be an array, got {}",
                kind_of(other)
            )))
        }
        None => return Err(Rejection::validation("items is required")),
    };
    if list.is_empty() {
        return Err(Rejection::validation("an order needs at least one item"));
    }
    let mut total: u64 = 0;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(Rejection::validation(format!(
                "items[{i}] must be an object, got {}",
                kind_of(item)
            )));
        };
        let item_id = match fields.get("itemId") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(Rejection::validation(format!(
                    "items[{i}].itemId must be a non-empty string"
                )))
            }
        };
        let quantity = count(&format!("items[{i}].quantity"), fields.get("quantity"))?;
        let price = amount(&format!("items[{i}].price"), fields.get("price"), false)?;
        total = quantity
            .checked_mul(price)
            .and_then(|line| total.checked_add(line))
            .filter(|t| *t <= MAX_SAFE_INTEGER)
            .ok_or_else(|| Rejection::validation("the order total exceeds the largest safe amount (2^53-1)"))?;
        out.push(json!({ "itemId": item_id, "quantity": quantity, "price": price }));
    }
    Ok((out, total))
}

fn shipping_address(command: &Command) -> Result<Value, Rejection> {
    match command.get("shippingAddress") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Value::String(s.clone())),
        Some(v @ Value::Object(m)) if !m.is_empty() => Ok(v.clone()),
        Some(_) => Err(Rejection::validation(
            "shippingAddress must be a non-empty string or object",
        )),
        None => Err(Rejection::validation("shippingAddress is required")),
    }
}

impl Decider for Order {
    type State = OrderState;

    fn state_to_json(s: &OrderState) -> Result<String, StateError> {
        let too_deep = || StateError::new("the order's items or address are nested too deep");
        let mut out = String::with_capacity(256);
        out.push_str("{\"orderId\":");
        write_opt_str(&mut out, s.order_id.as_deref());
        out.push_str(",\"customerId\":");
        write_opt_str(&mut out, s.customer_id.as_deref());
        out.push_str(",\"items\":[");
        for (i, item) in s.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_in_map_order(&mut out, item, 1).map_err(|_| too_deep())?;
        }
        out.push_str("],\"totalAmount\":");
        write_u64(&mut out, s.total_amount);
        out.push_str(",\"status\":");
        write_opt_str(&mut out, s.status.as_deref());
        out.push_str(",\"shippingAddress\":");
        write_in_map_order(&mut out, &s.shipping_address, 0).map_err(|_| too_deep())?;
        for (key, t) in [
            ("createdAt", s.created_at),
            ("confirmedAt", s.confirmed_at),
            ("shippedAt", s.shipped_at),
            ("deliveredAt", s.delivered_at),
            ("cancelledAt", s.cancelled_at),
        ] {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            write_opt_i64(&mut out, t);
        }
        out.push('}');
        Ok(out)
    }

    fn initial_state(&self) -> OrderState {
        OrderState::default()
    }

    fn decide(&self, state: &OrderState, command: &Command) -> Result<Vec<NewEvent>, Rejection> {
        let event = match command.kind() {
            "place_order" => {
                let customer_id = command.string("customerId")?;
                let (items, total) = items(command)?;
                let address = shipping_address(command)?;
                if state.status.is_some() {
                    return Err(Rejection::domain("Order already exists"));
                }
                NewEvent::new(
                    "order_placed",
                    json!({ "customerId": customer_id, "items": items, "totalAmount": total, "shippingAddress": address }),
                )
            }
            "confirm_order" => {
                transition(state, "confirm", &["placed"])?;
                NewEvent::new("order_confirmed", json!({}))
            }
            "ship_order" => {
                let tracking = command.string("trackingNumber")?;
                transition(state, "ship", &["confirmed"])?;
                NewEvent::new("order_shipped", json!({ "trackingNumber": tracking }))
            }
            "deliver_order" => {
                transition(state, "deliver", &["shipped"])?;
                NewEvent::new("order_delivered", json!({}))
            }
            "cancel_order" => {
                let reason = command.string_or("reason", "")?;
                transition(state, "cancel", &["placed", "confirmed", "shipped"])?;
                NewEvent::new("order_cancelled", json!({ "reason": reason }))
            }
            other => {
                return Err(Rejection::validation(format!(
                    "unknown Order command '{other}'; expected place_order, confirm_order, ship_order, deliver_order or cancel_order"
                )))
            }
        };
        Ok(vec![event])
    }

    fn evolve(&self, mut state: OrderState, event: &EventView<'_>) -> Result<OrderState, StateError> {
        let t = Some(event.timestamp);
        match event.event_type {
            "order_placed" => {
                let d = Placed::of(event)?;
                state.order_id = Some(event.stream_id.to_owned());
                state.customer_id = Some(d.customer_id);
                state.items = d.items;
                state.total_amount = d.total_amount;
                state.shipping_address = d.shipping_address;
                state.status = Some("placed".into());
                state.created_at = t;
            }
            "order_confirmed" => {
                state.status = Some("confirmed".into());
                state.confirmed_at = t;
            }
            "order_shipped" => {
                state.status = Some("shipped".into());
                state.shipped_at = t;
            }
            "order_delivered" => {
                state.status = Some("delivered".into());
                state.delivered_at = t;
            }
            "order_cancelled" => {
                state.status = Some("cancelled".into());
                state.cancelled_at = t;
            }
            _ => {}
        }
        Ok(state)
    }
}

/// The personal data of `Order` (declared on engines with a key store): the
/// `shippingAddress` of `order_placed`, whose subject is the customer (`customerId`). Once
/// the customer is forgotten the address reads as `null`.
pub fn personal_data() -> Result<(&'static str, crate::personal::PersonalData), crate::error::ValidationError> {
    let declaration = crate::personal::PersonalData::new(["shippingAddress"], |event| {
        event
            .str_field("customerId")
            .map(|c| c.into_owned())
            .ok_or_else(|| "order_placed without customerId".into())
    });
    Ok(("order_placed", declaration?))
}

/// An order's status, as `order_status` rows hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Placed,
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
}

/// A row of `order_status`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    pub order_id: Rc<str>,
    pub customer_id: Rc<str>,
    pub total_amount: u64,
    pub status: Status,
    pub created_at: i64,
    pub last_updated: i64,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Placed => "placed",
            Status::Confirmed => "confirmed",
            Status::Shipped => "shipped",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
        }
    }

    /// The status named `s` (as [`Status::as_str`] writes it).
    fn parse(s: &str) -> Option<Status> {
        [
            Status::Placed,
            Status::Confirmed,
            Status::Shipped,
            Status::Delivered,
            Status::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

impl Row for OrderRow {
    fn id(&self) -> &Rc<str> {
        &self.order_id
    }

    fn write_json(&self, out: &mut String) {
        out.push_str("{\"orderId\":");
        write_string(out, &self.order_id);
        out.push_str(",\"customerId\":");
        write_string(out, &self.customer_id);
        out.push_str(",\"totalAmount\":");
        write_u64(out, self.total_amount);
        out.push_str(",\"status\":\"");
        out.push_str(self.status.as_str());
        out.push_str("\",\"createdAt\":");
        write_i64(out, self.created_at);
        out.push_str(",\"lastUpdated\":");
        write_i64(out, self.last_updated);
        out.push('}');
    }
}

/// `order_status`: `{ [orderId]: { orderId, customerId, totalAmount, status, createdAt, lastUpdated } }`.
#[derive(Debug, Default, Clone, Copy)]
pub struct OrderStatus;

impl RowProjection for OrderStatus {
    type Row = OrderRow;
    const NAME: &'static str = PROJECTION;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn evolve_rows(&self, rows: &mut Rows<Self::Row>, event: &EventView<'_>) -> Result<(), StateError> {
        let (sym, id) = key(event)?;
        let status = match event.event_type {
            "order_placed" => {
                let customer = event.str_field("customerId").ok_or("order_placed without customerId")?;
                let total = event
                    .u64_field("totalAmount")
                    .ok_or("order_placed without totalAmount")?;
                rows.insert(
                    sym,
                    OrderRow {
                        order_id: id.clone(),
                        customer_id: Rc::from(customer.as_ref()),
                        total_amount: total,
                        status: Status::Placed,
                        created_at: event.timestamp,
                        last_updated: event.timestamp,
                    },
                );
                return Ok(());
            }
            "order_confirmed" => Status::Confirmed,
            "order_shipped" => Status::Shipped,
            "order_delivered" => Status::Delivered,
            "order_cancelled" => Status::Cancelled,
            _ => return Ok(()),
        };
        if let Some(row) = rows.get_mut(sym) {
            row.status = status;
            row.last_updated = event.timestamp;
        }
        Ok(())
    }

    fn restore(&self, id: Rc<str>, r: &Map<String, Value>) -> Option<OrderRow> {
        Some(OrderRow {
            order_id: id,
            customer_id: Rc::from(r.get("customerId")?.as_str()?),
            total_amount: r.get("totalAmount")?.as_u64()?,
            status: Status::parse(r.get("status")?.as_str()?)?,
            created_at: r.get("createdAt")?.as_i64()?,
            last_updated: r.get("lastUpdated")?.as_i64()?,
        })
    }
}
