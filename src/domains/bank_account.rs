//! `BankAccount`: open an account, deposit, withdraw, close. Amounts are integer cents.
//!
//! | command | event(s) | refused when |
//! |---|---|---|
//! | `create_account { accountHolder, initialDeposit = 0 }` | `account_created`, then `money_deposited` if the deposit is > 0 | the stream has events: "Account already exists" |
//! | `deposit { amount, description = '' }` | `money_deposited { amount, description, balanceAfter }` | not active |
//! | `withdraw { amount, description = '' }` | `money_withdrawn { amount, description, balanceAfter }` | not active; "Insufficient funds" |
//! | `close_account` | `account_closed { finalBalance }` | not active |
//!
//! `accountHolder` is personal data (subject: the account id) on an engine with a key store:
//! once the account's subject is forgotten it reads as `null` (see [`personal_data`]).

use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::money::amount;
use super::{write_opt_i64, write_opt_str};
use crate::canonical::{write_i64, write_string, write_u64, CanonicalJson, Field, MAX_SAFE_INTEGER};
use crate::decider::{Command, Decider};
use crate::error::{Rejection, StateError};
use crate::event::NewEvent;
use crate::log::EventView;
use crate::projection::rows::{key, opt_str, Row, RowProjection, Rows};

pub const STREAM_TYPE: &str = "BankAccount";
pub const PROJECTION: &str = "account_balance";

/// The account as `load('BankAccount', id)` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountState {
    pub account_id: Option<String>,
    pub account_holder: Option<String>,
    pub balance: u64,
    pub is_active: bool,
    pub created_at: Option<i64>,
    pub closed_at: Option<i64>,
}

fn data(fields: &mut [(&str, Field<'_>)]) -> Result<CanonicalJson, Rejection> {
    CanonicalJson::from_fields(fields).map_err(Rejection::Validation)
}

/// `{ amount, balanceAfter, description }` of a deposit or withdrawal.
fn moved(amount: u64, description: &str, balance_after: u64) -> Result<CanonicalJson, Rejection> {
    data(&mut [
        ("amount", Field::U64(amount)),
        ("balanceAfter", Field::U64(balance_after)),
        ("description", Field::Str(description)),
    ])
}

/// The `BankAccount` decider.
#[derive(Debug, Default, Clone, Copy)]
pub struct BankAccount;

fn check_active(state: &AccountState) -> Result<(), Rejection> {
    if state.account_id.is_none() {
        Err(Rejection::domain("Account does not exist"))
    } else if !state.is_active {
        Err(Rejection::domain("Account is closed"))
    } else {
        Ok(())
    }
}

fn create_account(state: &AccountState, command: &Command) -> Result<Vec<NewEvent>, Rejection> {
    let holder = command.string("accountHolder")?;
    let initial = match command.get("initialDeposit") {
        None | Some(serde_json::Value::Null) => 0,
        Some(v) => amount("initialDeposit", Some(v), false)?,
    };
    if state.account_id.is_some() {
        return Err(Rejection::domain("Account already exists"));
    }
    let mut events = vec![NewEvent::new(
        "account_created",
        data(&mut [
            ("accountHolder", Field::Str(holder)),
            ("initialDeposit", Field::U64(initial)),
        ])?,
    )];
    if initial > 0 {
        events.push(NewEvent::new(
            "money_deposited",
            moved(initial, "Initial deposit", initial)?,
        ));
    }
    Ok(events)
}

fn deposit(state: &AccountState, command: &Command) -> Result<Vec<NewEvent>, Rejection> {
    let amount = amount("amount", command.get("amount"), true)?;
    let description = command.string_or("description", "")?;
    check_active(state)?;
    let after = state.balance + amount;
    if after > MAX_SAFE_INTEGER {
        return Err(Rejection::domain(
            "Balance would exceed the largest safe amount (2^53-1)",
        ));
    }
    Ok(vec![NewEvent::new(
        "money_deposited",
        moved(amount, description, after)?,
    )])
}

fn withdraw(state: &AccountState, command: &Command) -> Result<Vec<NewEvent>, Rejection> {
    let amount = amount("amount", command.get("amount"), true)?;
    let description = command.string_or("description", "")?;
    check_active(state)?;
    if amount > state.balance {
        return Err(Rejection::domain("Insufficient funds"));
    }
    Ok(vec![NewEvent::new(
        "money_withdrawn",
        moved(amount, description, state.balance - amount)?,
    )])
}

impl Decider for BankAccount {
    type State = AccountState;

    fn state_to_json(s: &AccountState) -> Result<String, StateError> {
        let mut out = String::with_capacity(160);
        out.push_str("{\"accountId\":");
        write_opt_str(&mut out, s.account_id.as_deref());
        out.push_str(",\"accountHolder\":");
        write_opt_str(&mut out, s.account_holder.as_deref());
        out.push_str(",\"balance\":");
        write_u64(&mut out, s.balance);
        out.push_str(if s.is_active {
            ",\"isActive\":true"
        } else {
            ",\"isActive\":false"
        });
        out.push_str(",\"createdAt\":");
        write_opt_i64(&mut out, s.created_at);
        out.push_str(",\"closedAt\":");
        write_opt_i64(&mut out, s.closed_at);
        out.push('}');
        Ok(out)
    }

    fn initial_state(&self) -> AccountState {
        AccountState::default()
    }

    fn decide(&self, state: &AccountState, command: &Command) -> Result<Vec<NewEvent>, Rejection> {
        match command.kind() {
            "create_account" => create_account(state, command),
            "deposit" => deposit(state, command),
            "withdraw" => withdraw(state, command),
            "close_account" => {
                check_active(state)?;
                Ok(vec![NewEvent::new(
                    "account_closed",
                    data(&mut [("finalBalance", Field::U64(state.balance))])?,
                )])
            }
            other => Err(Rejection::validation(format!(
                "unknown BankAccount command '{other}'; expected create_account, deposit, withdraw or close_account"
            ))),
        }
    }

    fn evolve(&self, mut state: AccountState, event: &EventView<'_>) -> Result<AccountState, StateError> {
        match event.event_type {
            "account_created" => {
                state.account_id = Some(event.stream_id.to_owned());
                state.account_holder = holder(event)?.map(|h| h.into_owned());
                state.is_active = true;
                state.created_at = Some(event.timestamp);
            }
            "money_deposited" | "money_withdrawn" => {
                state.balance = event
                    .u64_field("balanceAfter")
                    .ok_or("money moved without balanceAfter")?;
            }
            "account_closed" => {
                state.is_active = false;
                state.closed_at = Some(event.timestamp);
            }
            _ => {}
        }
        Ok(state)
    }
}

/// The `accountHolder` of `account_created`: `None` once erased (`null`).
fn holder<'a>(event: &EventView<'a>) -> Result<Option<std::borrow::Cow<'a, str>>, StateError> {
    match event.field("accountHolder") {
        Some("null") => Ok(None),
        raw => raw
            .and_then(crate::canonical::as_str)
            .map(Some)
            .ok_or_else(|| "account_created without accountHolder".into()),
    }
}

/// The personal data of `BankAccount` (declared on engines with a key store): the
/// `accountHolder` of `account_created`, whose subject is the account id.
pub fn personal_data() -> Result<(&'static str, crate::personal::PersonalData), crate::error::ValidationError> {
    let declaration = crate::personal::PersonalData::new(["accountHolder"], |event| Ok(event.stream_id.to_owned()));
    Ok(("account_created", declaration?))
}

/// A row of `account_balance`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub account_id: Rc<str>,
    /// `None` once the account's subject is forgotten.
    pub account_holder: Option<Rc<str>>,
    pub balance: u64,
    pub is_active: bool,
    pub last_updated: i64,
}

impl Row for AccountRow {
    fn id(&self) -> &Rc<str> {
        &self.account_id
    }

    fn write_json(&self, out: &mut String) {
        out.push_str("{\"accountId\":");
        write_string(out, &self.account_id);
        out.push_str(",\"accountHolder\":");
        match &self.account_holder {
            Some(h) => write_string(out, h),
            None => out.push_str("null"),
        }
        out.push_str(",\"balance\":");
        write_u64(out, self.balance);
        out.push_str(if self.is_active {
            ",\"isActive\":true"
        } else {
            ",\"isActive\":false"
        });
        out.push_str(",\"lastUpdated\":");
        write_i64(out, self.last_updated);
        out.push('}');
    }
}

/// `account_balance`: `{ [accountId]: { accountId, accountHolder, balance, isActive, lastUpdated } }`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccountBalance;

impl RowProjection for AccountBalance {
    type Row = AccountRow;
    const NAME: &'static str = PROJECTION;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn evolve_rows(&self, rows: &mut Rows<Self::Row>, event: &EventView<'_>) -> Result<(), StateError> {
        let (sym, id) = key(event)?;
        match event.event_type {
            "account_created" => {
                let holder = holder(event)?;
                rows.insert(
                    sym,
                    AccountRow {
                        account_id: id.clone(),
                        account_holder: holder.map(|h| Rc::from(h.as_ref())),
                        balance: 0,
                        is_active: true,
                        last_updated: event.timestamp,
                    },
                );
            }
            "money_deposited" | "money_withdrawn" => {
                let balance = event
                    .u64_field("balanceAfter")
                    .ok_or("money moved without balanceAfter")?;
                if let Some(row) = rows.get_mut(sym) {
                    row.balance = balance;
                    row.last_updated = event.timestamp;
                }
            }
            "account_closed" => {
                if let Some(row) = rows.get_mut(sym) {
                    row.is_active = false;
                    row.last_updated = event.timestamp;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn restore(&self, id: Rc<str>, r: &Map<String, Value>) -> Option<AccountRow> {
        Some(AccountRow {
            account_id: id,
            account_holder: opt_str(r, "accountHolder")?.map(Rc::from),
            balance: r.get("balance")?.as_u64()?,
            is_active: r.get("isActive")?.as_bool()?,
            last_updated: r.get("lastUpdated")?.as_i64()?,
        })
    }
}
