//! Upcasters: events outlive the shape they were written in. An event type's shape has
//! versions 1, 2, 3, …; an upcaster takes the data of version `from` to version `from + 1`
//! (or renames the event). Stored events keep the version they were written in (the engine
//! stamps `metadata.schemaVersion` when a type's latest version is above 1; absent means 1),
//! and every fold and read sees them upcast step by step to the latest version.
//!
//! A type's latest version is 1 + the highest `from` of its chain. Chains are defined in
//! order (`from: 1`, then `from: 2`, …): a gap is a [`ValidationError`] at definition time.
//!
//! **Renames.** An upcaster may return [`Upcast::Renamed`]: the event becomes an event of
//! the new type **at version 1 of that type's chain**, and goes on through that chain. For
//! example, with `customer_registered` (v1) renamed into `account_opened`, whose own chain
//! goes 1 → 2, a stored `customer_registered` v1 is read as `account_opened` v2: renamed
//! into the v1 shape of `account_opened`, then upcast by its `from: 1` step.
//!
//! ```
//! use eventjournal::upcast::{Upcast, Upcasters};
//! use serde_json::json;
//!
//! let mut upcasters = Upcasters::default();
//! // v1 had `name`; v2 splits it into first and last.
//! upcasters.define("customer_registered", 1, std::rc::Rc::new(|data: eventjournal::canonical::CanonicalJson, _: &eventjournal::log::EventView<'_>| {
//!     let name = data.to_value()["name"].as_str().unwrap_or_default().to_owned();
//!     let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
//!     Ok(Upcast::data(json!({ "first": first, "last": last })))
//! })).unwrap();
//! assert_eq!(upcasters.latest("customer_registered"), 2);
//! assert_eq!(upcasters.latest("anything_else"), 1);
//! assert!(upcasters.define("customer_registered", 3, std::rc::Rc::new(|d, _: &eventjournal::log::EventView<'_>| Ok(Upcast::data(d)))).is_err());
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use crate::canonical::CanonicalJson;
use crate::error::{StateError, ValidationError};
use crate::event::{validate_name, EventData};
use crate::log::EventView;

mod schema_version;
pub use schema_version::{has_schema_version, stored_version, write_schema_version, VersionedMetadata};

/// Highest schema version of an event type.
pub const MAX_SCHEMA_VERSION: u32 = 1 << 20;

/// What an upcaster returns: the data of the next version, or a renamed event.
#[derive(Debug, Clone, PartialEq)]
pub enum Upcast {
    /// The data in the shape of version `from + 1` of the same type.
    Data(EventData),
    /// The event becomes `event_type`, with `data` in the shape of version 1 of that type.
    Renamed { event_type: String, data: EventData },
}

impl Upcast {
    /// The data of the next version.
    pub fn data(data: impl Into<EventData>) -> Self {
        Upcast::Data(data.into())
    }

    /// A rename into version 1 of `event_type`.
    pub fn renamed(event_type: impl Into<String>, data: impl Into<EventData>) -> Self {
        Upcast::Renamed {
            event_type: event_type.into(),
            data: data.into(),
        }
    }
}

/// One step of a type's chain: version `from` to `from + 1`. `event` is the event as read so
/// far (type, `metadata.schemaVersion` and data at version `from`, personal data decrypted).
pub trait Upcaster {
    fn up(&self, data: CanonicalJson, event: &EventView<'_>) -> Result<Upcast, StateError>;
}

impl<F> Upcaster for F
where
    F: Fn(CanonicalJson, &EventView<'_>) -> Result<Upcast, StateError>,
{
    fn up(&self, data: CanonicalJson, event: &EventView<'_>) -> Result<Upcast, StateError> {
        self(data, event)
    }
}

/// An event could not be upcast: a step is missing or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpcastError {
    pub event_type: String,
    pub version: u32,
    pub position: u64,
    pub message: String,
}

impl UpcastError {
    fn new(event_type: &str, version: u32, position: u64, cause: impl std::fmt::Display) -> Self {
        UpcastError {
            event_type: event_type.to_owned(),
            version,
            position,
            message: format!(
                "event '{event_type}' (schemaVersion {version}) at position {position} cannot be upcast: {cause}"
            ),
        }
    }
}

/// Every upcaster of an engine, by event type.
#[derive(Clone, Default)]
pub struct Upcasters {
    /// The chain of each type with upcasters.
    by_type: HashMap<String, ChainId>,
    /// `chains[c][i]` upcasts version `i + 1` of chain `c`'s type to `i + 2`.
    chains: Vec<Vec<Rc<dyn Upcaster>>>,
    /// Steps in all chains (bounds a run of renames).
    steps: usize,
}

/// Which chain of [`Upcasters`] a type has: looked up once per type (by name), then held by
/// the caller (e.g. by the log's event-type symbol), so upcasting an event hashes no name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainId(u32);

impl ChainId {
    /// A small integer, for tables indexed by something else (e.g. `id + 2`).
    pub fn index(self) -> u32 {
        self.0
    }

    /// The chain of [`ChainId::index`] `i`.
    pub fn from_index(i: u32) -> Self {
        ChainId(i)
    }
}

/// An event read at its latest version.
#[derive(Debug)]
pub struct Upcasted {
    /// The type after renames (`None`: unchanged).
    pub event_type: Option<String>,
    /// Its latest version.
    pub version: u32,
    pub data: CanonicalJson,
}

impl Upcasters {
    /// Adds the step `from` → `from + 1` of `event_type`. It must extend the chain: `from`
    /// is 1 for the first, then 2, and so on.
    pub fn define(&mut self, event_type: &str, from: u32, up: Rc<dyn Upcaster>) -> Result<(), ValidationError> {
        validate_name("event type", event_type)?;
        if from == 0 || from >= MAX_SCHEMA_VERSION {
            return Err(ValidationError::new(format!(
                "from must be an integer from 1 to {}, got {from}",
                MAX_SCHEMA_VERSION - 1
            )));
        }
        let latest = self.latest(event_type);
        if from < latest {
            return Err(ValidationError::new(format!(
                "'{event_type}' already has an upcaster from version {from}"
            )));
        }
        if from > latest {
            return Err(ValidationError::new(format!(
                "'{event_type}' would have a gap: its upcasters reach version {latest}, so the next one is from {latest}, not {from}"
            )));
        }
        let next = ChainId(self.chains.len() as u32);
        let id = *self.by_type.entry(event_type.to_owned()).or_insert(next);
        if id == next {
            self.chains.push(Vec::new());
        }
        self.chains[id.0 as usize].push(up);
        self.steps += 1;
        Ok(())
    }

    /// The chain of a type, if it has upcasters.
    pub fn chain_id(&self, event_type: &str) -> Option<ChainId> {
        if self.chains.is_empty() {
            return None;
        }
        self.by_type.get(event_type).copied()
    }

    fn chain(&self, id: Option<ChainId>) -> &[Rc<dyn Upcaster>] {
        id.and_then(|c| self.chains.get(c.0 as usize))
            .map_or(&[], Vec::as_slice)
    }

    /// The latest version of a type (1 without upcasters).
    pub fn latest(&self, event_type: &str) -> u32 {
        self.chain(self.chain_id(event_type)).len() as u32 + 1
    }

    /// True when no type has an upcaster.
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }

    /// Does this type have upcasters?
    pub fn has(&self, event_type: &str) -> bool {
        self.chain_id(event_type).is_some()
    }

    /// The latest version of every type with upcasters, e.g. `account_created:2,order_placed:3`
    /// (what a stored snapshot records).
    pub fn fingerprint(&self) -> String {
        let mut parts: Vec<String> = self
            .by_type
            .iter()
            .map(|(t, c)| format!("{t}:{}", self.chain(Some(*c)).len() + 1))
            .collect();
        parts.sort_unstable();
        parts.join(",")
    }

    /// Upcasts `data` of `event` (stored at schema version `version`) to the latest version
    /// of its final type. `None` when it is already there.
    pub fn upcast(&self, event: &EventView<'_>, version: u32) -> Result<Option<Upcasted>, UpcastError> {
        self.upcast_chain(self.chain_id(event.event_type), event, version)
    }

    /// [`Upcasters::upcast`], with the chain of the event's type already looked up.
    pub fn upcast_chain(
        &self,
        chain: Option<ChainId>,
        event: &EventView<'_>,
        version: u32,
    ) -> Result<Option<Upcasted>, UpcastError> {
        if version == self.chain(chain).len() as u32 + 1 {
            return Ok(None);
        }
        let mut at = At {
            event_type: Cow::Borrowed(event.event_type),
            chain,
            version,
            data: None,
        };
        for _ in 0..=self.steps {
            let latest = self.chain(at.chain).len() as u32 + 1;
            if at.version > latest {
                let cause = format!(
                    "this engine knows '{}' up to version {latest} (define its upcasters)",
                    at.event_type
                );
                return Err(UpcastError::new(&at.event_type, at.version, event.position, cause));
            }
            if at.version == latest {
                let renamed = matches!(at.event_type, Cow::Owned(_)) && at.event_type != event.event_type;
                return Ok(Some(Upcasted {
                    event_type: renamed.then(|| at.event_type.into_owned()),
                    version: at.version,
                    data: at.data.unwrap_or_else(|| CanonicalJson::from_trusted(event.data)),
                }));
            }
            self.step(event, &mut at)?;
        }
        Err(UpcastError::new(
            &at.event_type,
            at.version,
            event.position,
            "its upcasters rename it in a loop",
        ))
    }

    /// Runs the one step of `at`'s chain from its version, and moves `at` on.
    fn step<'e>(&self, event: &EventView<'e>, at: &mut At<'e>) -> Result<(), UpcastError> {
        let fail = |at: &At<'_>, cause: String| UpcastError::new(&at.event_type, at.version, event.position, cause);
        let Some(step) = self.chain(at.chain).get(at.version as usize - 1) else {
            return Err(fail(at, format!("no upcaster from version {}", at.version)));
        };
        // The event as read so far: its metadata says the version its data is at.
        let metadata = VersionedMetadata::new(event.metadata, at.version);
        let current = at.data.as_ref().map_or(event.data, CanonicalJson::as_str);
        let first = at.data.is_none() && matches!(at.event_type, Cow::Borrowed(_));
        let read_so_far;
        let view = match metadata {
            // The first step of a stored event at its stored version: the event as it is.
            VersionedMetadata::Stored if first => event,
            _ => {
                read_so_far = event.with_form(&at.event_type, current, metadata.as_str(event.metadata), event.erased);
                &read_so_far
            }
        };
        let next = match step.up(CanonicalJson::from_trusted(current), view) {
            Ok(next) => next,
            Err(e) => return Err(fail(at, format!("its upcaster from {} failed: {e}", at.version))),
        };
        let (renamed, data) = match next {
            Upcast::Data(d) => (None, d),
            Upcast::Renamed { event_type: t, data: d } if t != at.event_type => (Some(t), d),
            Upcast::Renamed { data: d, .. } => (None, d),
        };
        let data = match data {
            EventData::Canonical(c) => c,
            EventData::Json(v) => CanonicalJson::from_value(&v, "the upcast data").map_err(|e| fail(at, e.message))?,
        };
        match renamed {
            None => at.version += 1,
            Some(t) => {
                validate_name("renamed type", &t).map_err(|e| fail(at, e.message))?;
                at.chain = self.chain_id(&t);
                at.event_type = Cow::Owned(t);
                at.version = 1;
            }
        }
        at.data = Some(data);
        Ok(())
    }
}

/// Where an upcast is: the type (and its chain) and version the data is at, and the data
/// once a step ran (`None`: the event's own).
struct At<'e> {
    event_type: Cow<'e, str>,
    chain: Option<ChainId>,
    version: u32,
    data: Option<CanonicalJson>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use serde_json::json;

    fn event(event_type: &str, data: &str, metadata: &str) -> Event {
        Event {
            id: "0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6".into(),
            stream_id: "s".into(),
            stream_type: "S".into(),
            event_type: event_type.into(),
            data: CanonicalJson::parse(data, "data").unwrap(),
            metadata: CanonicalJson::parse(metadata, "metadata").unwrap(),
            timestamp: 1,
            version: 1,
            position: 7,
            hash: String::new(),
            erased: Vec::new(),
        }
    }

    fn add(field: &'static str, value: i64) -> Rc<dyn Upcaster> {
        Rc::new(move |d: CanonicalJson, _: &EventView<'_>| {
            let mut m = d.to_map();
            m.insert(field.into(), json!(value));
            Ok(Upcast::data(serde_json::Value::Object(m)))
        })
    }

    #[test]
    fn chains_run_step_by_step_and_through_renames() {
        let mut u = Upcasters::default();
        u.define("old", 1, add("a", 1)).unwrap();
        u.define(
            "old",
            2,
            Rc::new(|d: CanonicalJson, e: &EventView<'_>| {
                assert_eq!(stored_version(e.metadata), Ok(2));
                Ok(Upcast::renamed("new", d))
            }),
        )
        .unwrap();
        u.define("new", 1, add("b", 2)).unwrap();
        let e = event("old", r#"{"x":0}"#, "{}");
        let out = u.upcast(&EventView::of(&e), 1).unwrap().unwrap();
        assert_eq!(out.event_type.as_deref(), Some("new"));
        assert_eq!(out.version, 2);
        assert_eq!(out.data.as_str(), r#"{"a":1,"b":2,"x":0}"#);
        // Stored as `new` v1: one step.
        let e = event("new", r#"{"x":0}"#, "{}");
        assert_eq!(
            u.upcast(&EventView::of(&e), 1).unwrap().unwrap().data.as_str(),
            r#"{"b":2,"x":0}"#
        );
        assert!(u.upcast(&EventView::of(&e), 2).unwrap().is_none());
        assert_eq!(u.fingerprint(), "new:2,old:3");
    }

    #[test]
    fn missing_steps_failures_and_loops_name_type_version_and_position() {
        let mut u = Upcasters::default();
        u.define(
            "t",
            1,
            Rc::new(|_: CanonicalJson, _: &EventView<'_>| Err("boom".into())),
        )
        .unwrap();
        let e = event("t", "{}", "{}");
        let err = u.upcast(&EventView::of(&e), 1).unwrap_err();
        assert_eq!((err.event_type.as_str(), err.version, err.position), ("t", 1, 7));
        assert!(err.message.contains("boom"), "{}", err.message);
        let err = u.upcast(&EventView::of(&e), 5).unwrap_err();
        assert!(err.message.contains("up to version 2"), "{}", err.message);
        let mut looping = Upcasters::default();
        looping
            .define("a", 1, Rc::new(|d, _: &EventView<'_>| Ok(Upcast::renamed("b", d))))
            .unwrap();
        looping
            .define("b", 1, Rc::new(|d, _: &EventView<'_>| Ok(Upcast::renamed("a", d))))
            .unwrap();
        let e = event("a", "{}", "{}");
        assert!(looping
            .upcast(&EventView::of(&e), 1)
            .unwrap_err()
            .message
            .contains("loop"));
    }

    #[test]
    fn definitions_must_extend_the_chain() {
        let mut u = Upcasters::default();
        assert!(u.define("t", 0, add("a", 1)).is_err());
        assert!(u.define("t", 2, add("a", 1)).is_err());
        u.define("t", 1, add("a", 1)).unwrap();
        assert!(u.define("t", 1, add("a", 1)).is_err());
        assert!(u.define("t", 3, add("a", 1)).is_err());
        u.define("t", 2, add("a", 1)).unwrap();
        assert_eq!(u.latest("t"), 3);
    }
}
