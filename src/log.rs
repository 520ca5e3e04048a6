//! The in-memory event log and its indexes.
//!
//! Events are held compactly: stream ids and type names are interned, ids and hashes are kept
//! as bytes, data and metadata as canonical JSON text in an arena, records in fixed-size
//! chunks (see `arena.rs`). Positions are implicit (index + 1).
//! Indexes: by stream (its positions in version order), by event type, by stream type, and by
//! time (timestamps never decrease along the log, so the log itself is the time index).

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde::de::DeserializeOwned;

use crate::arena::{ChunkedVec, TextArena, TextRef};
use crate::canonical::CanonicalJson;
use crate::error::{IntegrityError, ValidationError};
use crate::event::{validate_name, write_event_record, Event, EventFields};
use crate::integrity::{event_hash, format_event_id, parse_event_id, Hash, VerifyReport, GENESIS};

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

/// A borrowed view of one event, whether committed in the log or still pending in a batch.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    pub stream_id: &'a str,
    pub stream_type: &'a str,
    pub event_type: &'a str,
    /// Canonical JSON object text.
    pub data: &'a str,
    /// Canonical JSON object text.
    pub metadata: &'a str,
    pub timestamp: i64,
    pub version: u64,
    pub position: u64,
    id: IdRef<'a>,
    hash: HashRef<'a>,
    /// Where the event sits in the log (`None` while it is pending in a batch).
    syms: Option<Syms<'a>>,
}

/// A committed event's interned names, for fast matching and keys.
#[derive(Debug, Clone, Copy)]
pub struct Syms<'a> {
    pub stream: StreamSym,
    /// The log's shared copy of the stream id (cloning it does not allocate).
    pub stream_id: &'a Rc<str>,
    pub stream_type: NameSym,
    pub event_type: NameSym,
}

#[derive(Debug, Clone, Copy)]
enum IdRef<'a> {
    Bytes(&'a [u8; 16]),
    Text(&'a str),
}

#[derive(Debug, Clone, Copy)]
enum HashRef<'a> {
    Bytes(&'a [u8; 32]),
    Text(&'a str),
}

impl<'a> EventView<'a> {
    /// A view of an owned event (one not yet in the log).
    pub fn of(e: &'a Event) -> Self {
        EventView {
            stream_id: &e.stream_id,
            stream_type: &e.stream_type,
            event_type: &e.event_type,
            data: e.data.as_str(),
            metadata: e.metadata.as_str(),
            timestamp: e.timestamp,
            version: e.version,
            position: e.position,
            id: IdRef::Text(&e.id),
            hash: HashRef::Text(&e.hash),
            syms: None,
        }
    }

    /// The interned names of a committed event (`None` while it is pending).
    pub fn syms(&self) -> Option<Syms<'a>> {
        self.syms
    }

    /// The raw JSON text of a top-level field of `data` (see [`crate::canonical::field`]).
    pub fn field(&self, key: &str) -> Option<&'a str> {
        crate::canonical::field(self.data, key)
    }

    /// A field of `data` that is a non-negative safe integer.
    pub fn u64_field(&self, key: &str) -> Option<u64> {
        self.field(key).and_then(crate::canonical::as_u64)
    }

    /// A field of `data` that is a string.
    pub fn str_field(&self, key: &str) -> Option<std::borrow::Cow<'a, str>> {
        self.field(key).and_then(crate::canonical::as_str)
    }

    /// The event id (lowercase hyphenated UUID).
    pub fn id(&self) -> String {
        match self.id {
            IdRef::Bytes(b) => format_event_id(b),
            IdRef::Text(s) => s.to_owned(),
        }
    }

    /// The hash as 64 hex characters.
    pub fn hash_hex(&self) -> String {
        match self.hash {
            HashRef::Bytes(b) => Hash(*b).to_hex(),
            HashRef::Text(s) => s.to_owned(),
        }
    }

    /// Deserializes `data` into a typed payload.
    pub fn parse_data<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_str(self.data)
            .map_err(|e| format!("event {} ({}) has unexpected data: {e}", self.position, self.event_type))
    }

    /// The fields used for encoding and hashing.
    pub fn fields(&self) -> EventFields<'a> {
        EventFields {
            id: "",
            stream_id: self.stream_id,
            stream_type: self.stream_type,
            event_type: self.event_type,
            data: self.data,
            metadata: self.metadata,
            timestamp: self.timestamp,
            version: self.version,
            position: self.position,
        }
    }

    /// Writes the event as JSON (with its hash) to `out`.
    pub fn write_json(&self, out: &mut String) {
        let id = self.id();
        let hash = self.hash_hex();
        let mut fields = self.fields();
        fields.id = &id;
        write_event_record(out, &fields, &hash);
    }

    /// An owned copy.
    pub fn to_event(&self) -> Event {
        Event {
            id: self.id(),
            stream_id: self.stream_id.to_owned(),
            stream_type: self.stream_type.to_owned(),
            event_type: self.event_type.to_owned(),
            // The view's text is canonical: it came from a CanonicalJson.
            data: CanonicalJson::from_trusted(self.data),
            metadata: CanonicalJson::from_trusted(self.metadata),
            timestamp: self.timestamp,
            version: self.version,
            position: self.position,
            hash: self.hash_hex(),
        }
    }
}

/// Direction of a stream read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Forward,
    Backward,
}

/// Options of [`Log::read_stream`].
#[derive(Debug, Clone, Default)]
pub struct ReadStreamOptions {
    /// Forward: versions after this one (default 0). Backward: versions before it (default:
    /// from the last).
    pub from_version: Option<u64>,
    pub direction: Direction,
    pub limit: Option<usize>,
}

/// Options of [`Log::read_all`]. Positions are exclusive, timestamps inclusive.
#[derive(Debug, Clone, Default)]
pub struct ReadAllOptions {
    pub from_position: u64,
    pub limit: Option<usize>,
    pub types: Vec<String>,
    pub stream_type: Option<String>,
    pub from_timestamp: Option<i64>,
    pub to_timestamp: Option<i64>,
}

/// Figures about the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub total_events: u64,
    pub total_streams: u64,
    pub event_type_distribution: BTreeMap<String, u64>,
    pub head_position: u64,
    pub head_hash: String,
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

    /// Reads a stream (see [`ReadStreamOptions`]).
    pub fn read_stream(&self, stream_id: &str, opts: &ReadStreamOptions) -> Vec<EventView<'_>> {
        let Some(sym) = self.stream_sym(stream_id) else {
            return Vec::new();
        };
        let events = &self.streams[sym as usize].events;
        let n = events.len() as u64;
        let limit = opts.limit.unwrap_or(usize::MAX);
        match opts.direction {
            Direction::Forward => {
                let from = opts.from_version.unwrap_or(0).min(n) as usize;
                events[from..]
                    .iter()
                    .take(limit)
                    .filter_map(|&i| self.view(i as usize))
                    .collect()
            }
            Direction::Backward => {
                let before = opts.from_version.unwrap_or(n + 1).min(n + 1);
                let end = before.saturating_sub(1) as usize;
                events[..end]
                    .iter()
                    .rev()
                    .take(limit)
                    .filter_map(|&i| self.view(i as usize))
                    .collect()
            }
        }
    }

    /// Reads the whole log (see [`ReadAllOptions`]).
    pub fn read_all(&self, opts: &ReadAllOptions) -> Vec<EventView<'_>> {
        let limit = opts.limit.unwrap_or(usize::MAX);
        let mut lo = opts.from_position.min(self.head_position());
        let mut hi = self.head_position();
        if let Some(from) = opts.from_timestamp {
            lo = lo.max(self.position_before_timestamp(from));
        }
        if let Some(to) = opts.to_timestamp {
            hi = hi.min(self.position_at_timestamp(to));
        }
        if lo >= hi || limit == 0 {
            return Vec::new();
        }
        // Candidate indexes: the smallest applicable index, else the positions themselves.
        let type_syms: Option<Vec<NameSym>> = if opts.types.is_empty() {
            None
        } else {
            Some(opts.types.iter().filter_map(|t| self.names.get(t)).collect())
        };
        let stream_type_sym = match &opts.stream_type {
            Some(t) => match self.names.get(t) {
                Some(s) => Some(s),
                None => return Vec::new(),
            },
            None => None,
        };
        let matches = |i: usize| -> bool {
            let Some(r) = self.records.get(i) else { return false };
            type_syms.as_ref().is_none_or(|ts| ts.contains(&r.event_type))
                && stream_type_sym.is_none_or(|st| self.streams[r.stream as usize].stream_type == st)
        };
        let (lo_i, hi_i) = (lo as usize, hi as usize);
        let mut out = Vec::new();
        // With a single type or a stream type, walk that index from the lower bound.
        let index: Option<&Vec<u32>> = match (&type_syms, stream_type_sym) {
            (Some(ts), _) if ts.len() == 1 => Some(self.by_type.get(&ts[0]).map_or(&EMPTY, |v| v)),
            (Some(ts), _) if ts.is_empty() => return Vec::new(),
            (_, Some(st)) => Some(self.by_stream_type.get(&st).map_or(&EMPTY, |v| v)),
            _ => None,
        };
        match index {
            Some(idx) => {
                let start = idx.partition_point(|&i| (i as usize) < lo_i);
                for &i in &idx[start..] {
                    let i = i as usize;
                    if i >= hi_i || out.len() >= limit {
                        break;
                    }
                    if matches(i) {
                        out.extend(self.view(i));
                    }
                }
            }
            None => {
                for i in lo_i..hi_i {
                    if out.len() >= limit {
                        break;
                    }
                    if matches(i) {
                        out.extend(self.view(i));
                    }
                }
            }
        }
        out
    }

    /// Figures about the log.
    pub fn stats(&self) -> Stats {
        let mut dist = BTreeMap::new();
        for (sym, positions) in &self.by_type {
            dist.insert(self.names.name(*sym).to_owned(), positions.len() as u64);
        }
        Stats {
            total_events: self.head_position(),
            total_streams: self.streams.len() as u64,
            event_type_distribution: dist,
            head_position: self.head_position(),
            head_hash: self.head_hash.to_hex(),
        }
    }

    /// Recomputes the whole chain.
    pub fn verify(&self) -> VerifyReport {
        let mut prev = GENESIS;
        let mut scratch = String::new();
        let mut id = String::new();
        for i in 0..self.records.len() {
            let (Some(view), Some(record)) = (self.view(i), self.records.get(i)) else {
                break;
            };
            id.clear();
            id.push_str(&format_event_id(&record.id));
            let mut fields = view.fields();
            fields.id = &id;
            let h = event_hash(&prev, &fields, &mut scratch);
            if h.0 != record.hash {
                return VerifyReport {
                    ok: false,
                    checked: i as u64 + 1,
                    first_bad_position: Some(i as u64 + 1),
                };
            }
            prev = h;
        }
        VerifyReport {
            ok: true,
            checked: self.head_position(),
            first_bad_position: None,
        }
    }

    /// Checks a record that came from outside (the host's storage) against everything the
    /// log knows, and appends it. The first failed check names its position.
    pub fn append_stored(&mut self, e: Event) -> Result<(), IntegrityError> {
        let expected = self.head_position() + 1;
        if e.position != expected {
            let what = if e.position < expected {
                format!(
                    "found position {} again or out of order (expected {expected})",
                    e.position
                )
            } else {
                format!("position {expected} is missing (found {} next)", e.position)
            };
            return Err(IntegrityError::at(expected, what));
        }
        let bad = |m: String| IntegrityError::at(expected, m);
        let id = parse_event_id(&e.id).ok_or_else(|| bad(format!("id {:?} is not a lowercase UUID", e.id)))?;
        let hash = Hash::from_hex(&e.hash).ok_or_else(|| bad("hash is not 64 lowercase hex characters".into()))?;
        for (what, value) in [
            ("streamId", &e.stream_id),
            ("streamType", &e.stream_type),
            ("type", &e.event_type),
        ] {
            validate_name(what, value).map_err(|v: ValidationError| bad(v.message))?;
        }
        let current_version = self.stream_version(&e.stream_id);
        if e.version != current_version + 1 || e.version > u64::from(u32::MAX) {
            return Err(bad(format!(
                "stream '{}' version {} does not follow {current_version}",
                e.stream_id, e.version
            )));
        }
        if let Some(t) = self.stream_type_of(&e.stream_id) {
            if t != e.stream_type {
                return Err(bad(format!(
                    "stream '{}' has type '{t}' but the event says '{}'",
                    e.stream_id, e.stream_type
                )));
            }
        }
        if e.timestamp < self.last_timestamp() {
            return Err(bad(format!(
                "timestamp {} is before the previous event's {}",
                e.timestamp,
                self.last_timestamp()
            )));
        }
        let fields = EventFields {
            id: &e.id,
            stream_id: &e.stream_id,
            stream_type: &e.stream_type,
            event_type: &e.event_type,
            data: e.data.as_str(),
            metadata: e.metadata.as_str(),
            timestamp: e.timestamp,
            version: e.version,
            position: e.position,
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        let computed = event_hash(&self.head_hash, &fields, &mut scratch);
        self.scratch = scratch;
        if computed != hash {
            return Err(bad("hash does not match the event and the previous hash".into()));
        }
        self.push(id, hash, e);
        Ok(())
    }

    /// Appends an event the engine stamped itself (already checked and hashed), given its id
    /// and hash as bytes.
    pub fn append_raw(&mut self, e: &Event, id: [u8; 16], hash: [u8; 32]) {
        self.push_parts(id, Hash(hash), e, e.data.as_str(), e.metadata.as_str());
    }

    fn push(&mut self, id: [u8; 16], hash: Hash, e: Event) {
        self.push_parts(id, hash, &e, e.data.as_str(), e.metadata.as_str());
    }

    fn push_parts(&mut self, id: [u8; 16], hash: Hash, e: &Event, data: &str, metadata: &str) {
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

static EMPTY: Vec<u32> = Vec::new();

#[cfg(target_pointer_width = "32")]
const _: () = assert!(std::mem::size_of::<Record>() == 80);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Record>() == 88);
