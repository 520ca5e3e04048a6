//! A test kit for deciders, without an engine: given these events, when this command, then
//! these events (or this error). Enable it with the `testing` feature:
//!
//! ```toml
//! [dev-dependencies]
//! eventjournal = { version = "0.1", features = ["testing"] }
//! ```
//!
//! [`DeciderSpec`] runs the pure `decide`/`evolve` of a typed [`Decider`] or of any
//! [`Aggregate`] (the object-safe form: built-in, or your own). Each `then` fails the test
//! with a message that shows the given events, the command, and the expected and actual
//! outcomes side by side. In the spirit of Emmett's `DeciderSpecification` and cqrs-es's
//! `TestFramework`.
//!
//! ```
//! use eventjournal::domains::bank_account::BankAccount;
//! use eventjournal::testing::{event, DeciderSpec};
//! use eventjournal::ErrorKind;
//! use serde_json::json;
//!
//! let account = DeciderSpec::of::<BankAccount>()
//!     .given([event("account_created", json!({"accountHolder": "Ada", "initialDeposit": 0}))]);
//!
//! // Then these events; the spec that comes back has them in its history.
//! let funded = account
//!     .when(json!({"type": "deposit", "amount": 500}))
//!     .then([event("money_deposited", json!({"amount": 500, "description": "", "balanceAfter": 500}))]);
//! assert_eq!(funded.state()["balance"], json!(500));
//!
//! // Or this error.
//! funded
//!     .when(json!({"type": "withdraw", "amount": 501}))
//!     .then_error_containing(ErrorKind::Domain, "Insufficient funds");
//! account.when(json!({"type": "deposit", "amount": 0})).then_error(ErrorKind::Validation);
//! ```

use std::fmt::Write as _;
use std::rc::Rc;

use serde_json::Value;

use crate::canonical::CanonicalJson;
use crate::decider::{Aggregate, AnyState, Command, Decider};
use crate::error::{Error, ErrorKind};
use crate::event::{validate_name, Event, EventData, NewEvent};
use crate::log::EventView;

/// An event for `given` and `then`: a type and its data (a JSON object).
pub fn event(event_type: &str, data: Value) -> NewEvent {
    NewEvent::new(event_type, data)
}

/// A decider under test, with the events it has seen so far (see the module's example).
#[derive(Clone)]
pub struct DeciderSpec {
    aggregate: Rc<dyn Aggregate>,
    stream_type: String,
    stream_id: String,
    timestamp: i64,
    history: Vec<Event>,
}

impl DeciderSpec {
    /// A spec for the typed decider `D` (built with `D::default()`).
    pub fn of<D: Decider + Default>() -> Self {
        Self::new(D::default())
    }

    /// A spec for this decider value.
    pub fn new<D: Decider>(decider: D) -> Self {
        Self::for_aggregate(Rc::new(decider))
    }

    /// A spec for any aggregate, through its object-safe form (e.g. an aggregate defined
    /// in code you register with `define_aggregate`).
    pub fn for_aggregate(aggregate: Rc<dyn Aggregate>) -> Self {
        DeciderSpec {
            aggregate,
            stream_type: "Stream".to_owned(),
            stream_id: "stream-1".to_owned(),
            timestamp: 0,
            history: Vec::new(),
        }
    }

    /// The stream the events belong to (default: type `"Stream"`, id `"stream-1"`), for
    /// deciders that read them.
    pub fn stream(mut self, stream_type: &str, stream_id: &str) -> Self {
        self.stream_type = stream_type.to_owned();
        self.stream_id = stream_id.to_owned();
        self
    }

    /// The timestamp of the events that follow, in ms since the epoch (default 0).
    pub fn at(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = timestamp_ms;
        self
    }

    /// Adds events to the history the command is decided against.
    pub fn given(mut self, events: impl IntoIterator<Item = NewEvent>) -> Self {
        for (i, e) in events.into_iter().enumerate() {
            let stamped = self
                .stamp(e)
                .unwrap_or_else(|m| panic!("DeciderSpec: given event #{i} is not a valid event: {m}"));
            self.history.push(stamped);
        }
        self
    }

    /// Decides `command` (a JSON object with a string `type`, or a [`Command`]) against the
    /// state after the given events.
    pub fn when(&self, command: impl Into<Value>) -> When<'_> {
        let command: Value = command.into();
        let shown = command.to_string();
        let outcome = Command::from_value(command)
            .map_err(Error::from)
            .and_then(|c| Ok(self.aggregate.decide(&self.fold(), &c)?))
            .and_then(|events| self.checked(events));
        When {
            spec: self,
            command: shown,
            outcome,
        }
    }

    /// The state after the given events, as JSON (what `load` would return).
    pub fn state(&self) -> Value {
        let text = self
            .aggregate
            .state_json(&self.fold())
            .unwrap_or_else(|e| panic!("DeciderSpec: the state cannot be written as JSON: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("DeciderSpec: the state is not JSON: {e}"))
    }

    /// The state after the history, folded with `evolve`.
    fn fold(&self) -> AnyState {
        let mut state = self
            .aggregate
            .initial_state()
            .unwrap_or_else(|e| panic!("DeciderSpec: initial_state failed: {e}"));
        for e in &self.history {
            state = self.aggregate.evolve(state, &EventView::of(e)).unwrap_or_else(|m| {
                panic!(
                    "DeciderSpec: evolve failed on event {} ({} {}): {m}",
                    e.version, e.event_type, e.data
                )
            });
        }
        state
    }

    /// Decided events, checked as the engine checks them (type names, data objects).
    fn checked(&self, events: Vec<NewEvent>) -> Result<Vec<Event>, Error> {
        let mut spec = self.clone();
        events.into_iter().map(|e| spec.stamp_next(e)).collect()
    }

    fn stamp_next(&mut self, e: NewEvent) -> Result<Event, Error> {
        let event = self.stamp(e)?;
        self.history.push(event.clone());
        Ok(event)
    }

    /// The event as the next one of the stream.
    fn stamp(&self, e: NewEvent) -> Result<Event, Error> {
        validate_name("event type", &e.event_type)?;
        let data = match e.data {
            EventData::Json(v) => CanonicalJson::from_value(&v, "event data")?,
            EventData::Canonical(c) => c,
        };
        let metadata = match e.metadata {
            Some(m) => CanonicalJson::from_map(&m, "event metadata")?,
            None => CanonicalJson::empty_object(),
        };
        let n = self.history.len() as u64 + 1;
        Ok(Event {
            id: format!("00000000-0000-7000-8000-{n:012x}"),
            stream_id: self.stream_id.clone(),
            stream_type: self.stream_type.clone(),
            event_type: e.event_type,
            data,
            metadata,
            timestamp: self.timestamp,
            version: n,
            position: n,
            hash: "0".repeat(64),
            erased: Vec::new(),
        })
    }

    /// The given events, for messages.
    fn describe_given(&self) -> String {
        if self.history.is_empty() {
            return "no events".to_owned();
        }
        describe(&self.history)
    }
}

/// A command decided by a [`DeciderSpec`], waiting for its expectation.
#[must_use = "a `when` checks nothing until `then` or `then_error`"]
pub struct When<'s> {
    spec: &'s DeciderSpec,
    command: String,
    outcome: Result<Vec<Event>, Error>,
}

impl When<'_> {
    /// Expects exactly these events (type and data; metadata too when the expected event
    /// has some), in order.
    /// Returns the spec with them added to its history, for the next `when`.
    pub fn then(self, expected: impl IntoIterator<Item = NewEvent>) -> DeciderSpec {
        let expected: Vec<Event> = expected
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                self.spec
                    .stamp(e)
                    .unwrap_or_else(|m| panic!("DeciderSpec: expected event #{i} is not a valid event: {m}"))
            })
            .collect();
        let actual = match &self.outcome {
            Ok(events) => events,
            Err(e) => self.fail(&describe(&expected), &format!("refused: {}", describe_error(e))),
        };
        let same = actual.len() == expected.len()
            && actual.iter().zip(&expected).all(|(a, x)| {
                a.event_type == x.event_type
                    && a.data == x.data
                    && (x.metadata.is_empty_object() || a.metadata == x.metadata)
            });
        if !same {
            self.fail(&describe(&expected), &describe(actual));
        }
        let mut next = self.spec.clone();
        for e in actual {
            next.history.push(e.clone());
        }
        next.fold(); // an aggregate must be able to fold its own events
        next
    }

    /// Expects the command to be refused (or to fail) with an error of `kind`; returns it.
    pub fn then_error(self, kind: ErrorKind) -> Error {
        match self.outcome {
            Err(e) if e.kind() == kind => e,
            Err(ref e) => self.fail(&format!("a {kind:?} error"), &describe_error(e)),
            Ok(ref events) => self.fail(&format!("a {kind:?} error"), &describe(events)),
        }
    }

    /// Expects an error of `kind` whose message contains `text`; returns it.
    pub fn then_error_containing(self, kind: ErrorKind, text: &str) -> Error {
        let expected = format!("a {kind:?} error containing {text:?}");
        match self.outcome {
            Err(e) if e.kind() == kind && e.message().contains(text) => e,
            Err(ref e) => self.fail(&expected, &describe_error(e)),
            Ok(ref events) => self.fail(&expected, &describe(events)),
        }
    }

    fn fail(&self, expected: &str, actual: &str) -> ! {
        panic!(
            "DeciderSpec failed\n  given:    {}\n  when:     {}\n  expected: {}\n  actual:   {}\n",
            self.spec.describe_given(),
            self.command,
            expected,
            actual
        )
    }
}

fn describe(events: &[Event]) -> String {
    if events.is_empty() {
        return "no events".to_owned();
    }
    let mut out = String::new();
    for (i, e) in events.iter().enumerate() {
        let sep = if i == 0 { "" } else { "\n            " };
        let _ = write!(out, "{sep}{} {}", e.event_type, e.data);
        if !e.metadata.is_empty_object() {
            let _ = write!(out, " metadata {}", e.metadata);
        }
    }
    out
}

fn describe_error(e: &Error) -> String {
    format!("{:?} error: {}", e.kind(), e.message())
}
