//! A projection made of rows, one per stream of one stream type, keyed by the log's stream
//! symbols: implement [`RowProjection`] (fold one event into the rows, restore a row from a
//! snapshot) and get the whole [`Projection`] (filter, JSON, queries, stored snapshots). The
//! built-in `account_balance` and `order_status` are made this way.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::{record_matches, Projection};
use crate::error::StateError;
use crate::filter::EventFilter;
use crate::log::{EventView, Log, StreamSym};

/// Hashes a stream symbol (a small integer the log assigned; not attacker-chosen).
#[derive(Default, Clone, Copy)]
pub struct SymHasher(u64);

impl Hasher for SymHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by stream symbol.
pub type SymMap<V> = HashMap<StreamSym, V, BuildHasherDefault<SymHasher>>;

/// Rows of a projection keyed by stream symbol: a dense vector plus an index built on
/// demand. Cloning (what a time-travel snapshot does) copies only the rows, so the
/// snapshots of a thousand-row projection cost a few dozen bytes a row.
#[derive(Debug)]
pub struct Rows<R> {
    rows: Vec<R>,
    syms: Vec<StreamSym>,
    index: Option<SymMap<u32>>,
}

impl<R> Default for Rows<R> {
    fn default() -> Self {
        Rows {
            rows: Vec::new(),
            syms: Vec::new(),
            index: None,
        }
    }
}

impl<R: Clone> Clone for Rows<R> {
    fn clone(&self) -> Self {
        Rows {
            rows: self.rows.to_vec(),
            syms: self.syms.to_vec(),
            index: None,
        }
    }
}

impl<R> Rows<R> {
    fn index(&mut self) -> &mut SymMap<u32> {
        let syms = &self.syms;
        self.index
            .get_or_insert_with(|| syms.iter().enumerate().map(|(i, s)| (*s, i as u32)).collect())
    }

    /// The row of a stream.
    pub fn get_mut(&mut self, sym: StreamSym) -> Option<&mut R> {
        let i = *self.index().get(&sym)? as usize;
        self.rows.get_mut(i)
    }

    /// Adds or replaces the row of a stream.
    pub fn insert(&mut self, sym: StreamSym, row: R) {
        match self.index().get(&sym).copied() {
            Some(i) => self.rows[i as usize] = row,
            None => {
                let i = self.rows.len() as u32;
                self.index().insert(sym, i);
                self.rows.push(row);
                self.syms.push(sym);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &R> {
        self.rows.iter()
    }
}

/// A row of a built-in projection.
pub trait Row: Clone + 'static {
    /// The stream the row is about (its key in the JSON state).
    fn id(&self) -> &Rc<str>;
    /// The row as a JSON object.
    fn write_json(&self, out: &mut String);
}

/// The rows in id order. The sort runs on `(id, index)` pairs, so one sort is compiled for
/// every row type (module size, BENCHMARKS.md target 10); ids are unique, so it is stable.
fn sorted<R: Row>(rows: &Rows<R>) -> Vec<&R> {
    let all: Vec<&R> = rows.values().collect();
    let mut order: Vec<(&str, usize)> = all.iter().enumerate().map(|(i, r)| (&**r.id(), i)).collect();
    order.sort_unstable();
    order.into_iter().map(|(_, i)| all[i]).collect()
}

/// The rows as one JSON object keyed by stream id, in sorted key order.
fn rows_json<R: Row>(rows: &Rows<R>) -> String {
    let sorted = sorted(rows);
    let mut out = String::with_capacity(rows.len() * 128 + 2);
    out.push('{');
    for (i, row) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::canonical::write_string(&mut out, row.id());
        out.push(':');
        row.write_json(&mut out);
    }
    out.push('}');
    out
}

/// The rows whose fields equal every field of `filter`, sorted by key, as a JSON array.
fn query_rows<R: Row>(rows: &Rows<R>, filter: &Map<String, Value>) -> Result<String, StateError> {
    let sorted = sorted(rows);
    let mut out = String::from("[");
    let mut text = String::new();
    for row in sorted {
        text.clear();
        row.write_json(&mut text);
        let value: Value = serde_json::from_str(&text).map_err(|e| StateError::new(e.to_string()))?;
        if record_matches(&value, filter) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&text);
        }
    }
    out.push(']');
    Ok(out)
}

/// Rows from a stored snapshot (`{ id: row }`), keyed by the log's symbols; a row for a
/// stream the log does not have, or a row `make` does not recognise, makes the snapshot
/// unusable. (Read through `Value`, not a typed serde derive: the typed deserializers cost
/// the wasm module about 35 KB, see BENCHMARKS.md target 10.)
fn rows_from_json<R: Row>(
    json: &str,
    log: &Log,
    make: impl Fn(Rc<str>, &Map<String, Value>) -> Option<R>,
) -> Result<Rows<R>, StateError> {
    let stored = match serde_json::from_str(json).map_err(|e| StateError::new(e.to_string()))? {
        Value::Object(stored) => stored,
        _ => return Err(StateError::new("the snapshot is not an object")),
    };
    let mut rows = Rows::default();
    for (id, row) in &stored {
        let (sym, rc) = log
            .stream_rc(id)
            .ok_or_else(|| StateError::new(format!("the snapshot has a row for unknown stream '{id}'")))?;
        let row = row
            .as_object()
            .and_then(|fields| make(rc, fields))
            .ok_or_else(|| StateError::new(format!("the snapshot's row for stream '{id}' is malformed")))?;
        rows.insert(sym, row);
    }
    Ok(rows)
}

/// A stored row's optional string field: `Some(None)` when absent or `null`, `None` when
/// it is not a string.
pub fn opt_str<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<Option<&'a str>> {
    match fields.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(v) => v.as_str().map(Some),
    }
}

/// A projection of rows keyed by the streams of one stream type. Implementing this gives the
/// whole [`Projection`] (filter, JSON, queries, snapshots).
pub trait RowProjection: 'static {
    type Row: Row;
    /// The projection's name (its stored snapshots are keyed `projection:<name>:v1`).
    const NAME: &'static str;
    /// The stream type whose events it reads.
    const STREAM_TYPE: &'static str;

    /// Folds one event into the rows.
    fn evolve_rows(&self, rows: &mut Rows<Self::Row>, event: &EventView<'_>) -> Result<(), StateError>;

    /// A row back from a snapshot (`state_json`'s value for one key), or `None` when the
    /// stored fields are not such a row.
    fn restore(&self, id: Rc<str>, stored: &Map<String, Value>) -> Option<Self::Row>;
}

impl<P: RowProjection> Projection for P {
    type State = Rows<P::Row>;

    fn initial_state(&self) -> Self::State {
        Rows::default()
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            stream_type: Some(P::STREAM_TYPE.to_owned()),
            ..Default::default()
        }
    }

    fn evolve(&self, rows: &mut Self::State, event: &EventView<'_>) -> Result<(), StateError> {
        self.evolve_rows(rows, event)
    }

    fn state_json(&self, rows: &Self::State) -> Result<String, StateError> {
        Ok(rows_json(rows))
    }

    fn weight(&self, rows: &Self::State) -> usize {
        rows.len()
    }

    fn query(&self, rows: &Self::State, filter: &Map<String, Value>) -> Result<String, StateError> {
        query_rows(rows, filter)
    }

    fn snapshot_key(&self) -> Option<String> {
        Some(format!("projection:{}:v1", P::NAME))
    }

    fn state_from_json(&self, json: &str, log: &Log) -> Result<Self::State, StateError> {
        rows_from_json(json, log, |id, stored| self.restore(id, stored))
    }
}

/// The stream symbol and shared id of a committed event (projections see nothing else): the
/// key of its row.
pub fn key<'a>(event: &EventView<'a>) -> Result<(StreamSym, &'a Rc<str>), StateError> {
    event
        .syms()
        .map(|s| (s.stream, s.stream_id))
        .ok_or_else(|| "a projection got an uncommitted event".into())
}
