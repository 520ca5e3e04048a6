//! The in-memory event log and its indexes. Records enter it already checked: stamped by
//! the engine ([`Log::append_raw`]) or checked against the chain ([`Log::append_stored`]).
//! Views of its events are in `view.rs`, its queries in `read.rs`.
//!
//! Events are held compactly: stream ids and type names are interned, ids and hashes are kept
//! as bytes, data and metadata as canonical JSON text in an arena, records in fixed-size
//! chunks (see `arena.rs`). Positions are implicit (index + 1).
//! Indexes: by stream (its positions in version order), by event type, by stream type, and by
//! time (timestamps never decrease along the log, so the log itself is the time index).

mod read;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use crate::arena::{ChunkedVec, TextArena, TextRef};
use crate::error::IntegrityError;
use crate::event::Event;
use crate::integrity::{check_next, Checked, Hash, GENESIS};

pub use read::{Direction, ReadAllOptions, ReadStreamOptions, Stats};
pub use view::{EventView, Syms, RENAMED};
use view::{HashRef, IdRef};

/// Index of a stream in the log.
pub type StreamSym = u32;
/// Index of an interned name (event type or stream type).
pub type NameSym = u32;

/// One event: 80 bytes on wasm (88 on 64-bit targets) plus its data and metadata text in the
/// arena.
#[derive(Debug)]
struct Record {
    id: [u8; 16],
    hash: [u8; 32],
    timestamp: i64,
    /// Data, then metadata (absent when it is `{}`), in the text arena.
    text: TextRef,
    data_len: u32,
    meta_len: u32,
    stream: StreamSym,
    event_type: NameSym,
    version: u32,
}

#[derive(Debug)]
struct Stream {
    id: Rc<str>,
    stream_type: NameSym,
    /// Log indexes (position - 1) of the stream's events, in version order.
    events: Vec<u32>,
}

#[derive(Debug, Default)]
struct Interner {
    by_name: HashMap<Rc<str>, NameSym>,
    names: Vec<Rc<str>>,
}

impl Interner {
    fn intern(&mut self, name: &str) -> NameSym {
        if let Some(&sym) = self.by_name.get(name) {
            return sym;
        }
        let sym = self.names.len() as NameSym;
        let rc: Rc<str> = Rc::from(name);
        self.names.push(rc.clone());
        self.by_name.insert(rc, sym);
        sym
    }

    fn get(&self, name: &str) -> Option<NameSym> {
        self.by_name.get(name).copied()
    }

    fn name(&self, sym: NameSym) -> &str {
        &self.names[sym as usize]
    }
}

/// The in-memory log.
#[derive(Debug)]
pub struct Log {
    records: ChunkedVec<Record>,
    text: TextArena,
    streams: Vec<Stream>,
    stream_index: HashMap<Rc<str>, StreamSym>,
    names: Interner,
    by_type: HashMap<NameSym, Vec<u32>>,
    by_stream_type: HashMap<NameSym, Vec<u32>>,
    head_hash: Hash,
    scratch: String,
}

impl Default for Log {
    fn default() -> Self {
        Self::new()
    }
}

impl Log {
    pub fn new() -> Self {
        Log {
            records: ChunkedVec::default(),
            text: TextArena::default(),
            streams: Vec::new(),
            stream_index: HashMap::new(),
            names: Interner::default(),
            by_type: HashMap::new(),
            by_stream_type: HashMap::new(),
            head_hash: GENESIS,
            scratch: String::new(),
        }
    }

    /// Position of the last event (0 when empty).
    pub fn head_position(&self) -> u64 {
        self.records.len() as u64
    }

    /// Hash of the last event (the genesis hash when empty).
    pub fn head_hash(&self) -> Hash {
        self.head_hash
    }

    /// Timestamp of the last event (0 when empty).
    pub fn last_timestamp(&self) -> i64 {
        self.records.last().map_or(0, |r| r.timestamp)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The stream's symbol, if it has events.
    pub fn stream_sym(&self, stream_id: &str) -> Option<StreamSym> {
        self.stream_index.get(stream_id).copied()
    }

    /// The stream's id.
    pub fn stream_id(&self, sym: StreamSym) -> &str {
        &self.streams[sym as usize].id
    }

    /// The stream's symbol and the log's shared copy of its id.
    pub fn stream_rc(&self, stream_id: &str) -> Option<(StreamSym, Rc<str>)> {
        let sym = self.stream_sym(stream_id)?;
        Some((sym, self.streams[sym as usize].id.clone()))
    }

    /// The stream's version: its number of events (0 when it has none).
    pub fn stream_version(&self, stream_id: &str) -> u64 {
        self.stream_sym(stream_id)
            .map_or(0, |s| self.streams[s as usize].events.len() as u64)
    }

    /// The version of a known stream.
    pub fn version_of(&self, sym: StreamSym) -> u64 {
        self.streams[sym as usize].events.len() as u64
    }

    /// The stream's type, fixed by its first event.
    pub fn stream_type_of(&self, stream_id: &str) -> Option<&str> {
        self.stream_sym(stream_id)
            .map(|s| self.names.name(self.streams[s as usize].stream_type))
    }

    /// The symbol of an interned name (event type or stream type), if the log has seen it.
    pub fn name_sym(&self, name: &str) -> Option<NameSym> {
        self.names.get(name)
    }

    /// Number of streams.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// The event at `position` (1-based).
    pub fn get(&self, position: u64) -> Option<EventView<'_>> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.view(index)
    }

    /// The event at log index `index` (position - 1).
    fn view(&self, index: usize) -> Option<EventView<'_>> {
        let r = self.records.get(index)?;
        let stream = &self.streams[r.stream as usize];
        let data_len = r.data_len as usize;
        Some(EventView {
            stream_id: &stream.id,
            stream_type: self.names.name(stream.stream_type),
            event_type: self.names.name(r.event_type),
            data: self.text.get(r.text, 0, data_len),
            metadata: if r.meta_len == 0 {
                "{}"
            } else {
                self.text.get(r.text, data_len, r.meta_len as usize)
            },
            timestamp: r.timestamp,
            version: u64::from(r.version),
            position: index as u64 + 1,
            id: IdRef::Bytes(&r.id),
            hash: HashRef::Bytes(&r.hash),
            syms: Some(Syms {
                stream: r.stream,
                stream_id: &stream.id,
                stream_type: stream.stream_type,
                event_type: r.event_type,
            }),
            erased: &[],
        })
    }

    /// The event of `stream` at `version` (1-based).
    pub fn stream_event(&self, sym: StreamSym, version: u64) -> Option<EventView<'_>> {
        let idx = usize::try_from(version.checked_sub(1)?).ok()?;
        let at = *self.streams.get(sym as usize)?.events.get(idx)?;
        self.view(at as usize)
    }

    /// Events of a stream with versions in `from..=to` (1-based, clamped).
    pub fn stream_range(&self, sym: StreamSym, from: u64, to: u64) -> impl Iterator<Item = EventView<'_>> {
        let events = &self.streams[sym as usize].events;
        let lo = (from.max(1) - 1).min(events.len() as u64) as usize;
        let hi = to.min(events.len() as u64) as usize;
        events[lo..hi.max(lo)]
            .iter()
            .filter_map(move |&i| self.view(i as usize))
    }

    /// Events with positions in `from..=to` (1-based, clamped).
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = EventView<'_>> {
        let lo = (from.max(1) - 1).min(self.len() as u64) as usize;
        let hi = to.min(self.len() as u64) as usize;
        (lo..hi.max(lo)).filter_map(move |i| self.view(i))
    }

    /// The last version of `stream` whose event has a position ≤ `position` (0 if none).
    pub fn stream_version_at_position(&self, sym: StreamSym, position: u64) -> u64 {
        let events = &self.streams[sym as usize].events;
        events.partition_point(|&i| (i as u64) < position) as u64
    }

    /// The last position whose timestamp is ≤ `timestamp` (0 if none).
    pub fn position_at_timestamp(&self, timestamp: i64) -> u64 {
        self.records.partition_point(|r| r.timestamp <= timestamp) as u64
    }

    /// The first position whose timestamp is ≥ `timestamp` minus one, i.e. the exclusive
    /// lower bound for "timestamp ≥ t".
    fn position_before_timestamp(&self, timestamp: i64) -> u64 {
        self.records.partition_point(|r| r.timestamp < timestamp) as u64
    }

    /// Log indexes (position - 1) of a stream's events, in version order.
    fn stream_indexes(&self, sym: StreamSym) -> &[u32] {
        self.streams.get(sym as usize).map_or(&[], |s| &s.events)
    }

    /// Log indexes of the events of one type, ascending.
    fn type_indexes(&self, sym: NameSym) -> &[u32] {
        self.by_type.get(&sym).map_or(&[], |v| v)
    }

    /// Log indexes of the events of streams of one type, ascending.
    fn stream_type_indexes(&self, sym: NameSym) -> &[u32] {
        self.by_stream_type.get(&sym).map_or(&[], |v| v)
    }

    /// Number of events of each type.
    fn type_counts(&self) -> BTreeMap<String, u64> {
        self.by_type
            .iter()
            .map(|(sym, positions)| (self.names.name(*sym).to_owned(), positions.len() as u64))
            .collect()
    }

    /// Checks a record that came from outside (the host's storage) against everything the
    /// log knows ([`crate::integrity::check_next`]) and appends it. The first failed check
    /// names its position.
    pub fn append_stored(&mut self, e: Event) -> Result<(), IntegrityError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let checked = check_next(self, &e, &mut scratch);
        self.scratch = scratch;
        let Checked { id, hash } = checked?;
        self.push(id, hash, &e);
        Ok(())
    }

    /// Appends an event the engine stamped itself (already checked and hashed), given its id
    /// and hash as bytes.
    pub fn append_raw(&mut self, e: &Event, id: [u8; 16], hash: [u8; 32]) {
        self.push(id, Hash(hash), e);
    }

    fn push(&mut self, id: [u8; 16], hash: Hash, e: &Event) {
        let (data, metadata) = (e.data.as_str(), e.metadata.as_str());
        let index = self.records.len() as u32;
        let event_type = self.names.intern(&e.event_type);
        let stream = match self.stream_index.get(e.stream_id.as_str()) {
            Some(&s) => s,
            None => {
                let sym = self.streams.len() as StreamSym;
                let id: Rc<str> = Rc::from(e.stream_id.as_str());
                let stream_type = self.names.intern(&e.stream_type);
                self.streams.push(Stream {
                    id: id.clone(),
                    stream_type,
                    events: Vec::new(),
                });
                self.stream_index.insert(id, sym);
                sym
            }
        };
        let s = &mut self.streams[stream as usize];
        s.events.push(index);
        let stream_type = s.stream_type;
        self.by_type.entry(event_type).or_default().push(index);
        self.by_stream_type.entry(stream_type).or_default().push(index);
        let metadata = if metadata == "{}" { "" } else { metadata };
        let text = self.text.push(&[data, metadata]);
        self.records.push(Record {
            id,
            hash: hash.0,
            timestamp: e.timestamp,
            text,
            data_len: data.len() as u32,
            meta_len: metadata.len() as u32,
            stream,
            event_type,
            version: e.version as u32,
        });
        self.head_hash = hash;
    }
}

#[cfg(target_pointer_width = "32")]
const _: () = assert!(std::mem::size_of::<Record>() == 80);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Record>() == 88);
