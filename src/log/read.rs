//! Queries over the log: `readStream`, `readAll` and `stats`.
//!
//! A `readAll` walks the smallest index that applies (one event type, or one stream type)
//! from its lower bound, or the positions themselves; timestamps bound the range by binary
//! search (they never decrease along the log).

use std::collections::BTreeMap;

use super::{EventView, Log};
use crate::filter::EventFilter;

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
    /// Which events (types, stream type, stream); default: all.
    pub filter: EventFilter,
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

impl Log {
    /// Reads a stream (see [`ReadStreamOptions`]).
    pub fn read_stream(&self, stream_id: &str, opts: &ReadStreamOptions) -> Vec<EventView<'_>> {
        let Some(sym) = self.stream_sym(stream_id) else {
            return Vec::new();
        };
        let events = self.stream_indexes(sym);
        let n = events.len() as u64;
        let limit = opts.limit.unwrap_or(usize::MAX);
        let picked: Box<dyn Iterator<Item = &u32>> = match opts.direction {
            Direction::Forward => {
                let from = opts.from_version.unwrap_or(0).min(n) as usize;
                Box::new(events[from..].iter())
            }
            Direction::Backward => {
                let before = opts.from_version.unwrap_or(n + 1).min(n + 1);
                Box::new(events[..before.saturating_sub(1) as usize].iter().rev())
            }
        };
        picked.take(limit).filter_map(|&i| self.view(i as usize)).collect()
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
        let filter = opts.filter.compile(self);
        if lo >= hi || limit == 0 || filter.matches_nothing() {
            return Vec::new();
        }
        // Candidate indexes (log index = position - 1): the smallest index that applies,
        // else every position in range.
        let index = match (filter.stream(), filter.single_type(), filter.stream_type()) {
            (Some(stream), _, _) => Some(self.stream_indexes(stream)),
            (None, Some(t), _) => Some(self.type_indexes(t)),
            (None, None, Some(st)) => Some(self.stream_type_indexes(st)),
            _ => None,
        };
        let (lo, hi) = (lo as usize, hi as usize);
        let candidates: Box<dyn Iterator<Item = usize>> = match index {
            Some(idx) => {
                let start = idx.partition_point(|&i| (i as usize) < lo);
                Box::new(idx[start..].iter().map(|&i| i as usize).take_while(move |&i| i < hi))
            }
            None => Box::new(lo..hi),
        };
        candidates
            .filter_map(|i| self.view(i))
            .filter(|e| filter.matches(e))
            .take(limit)
            .collect()
    }

    /// Figures about the log.
    pub fn stats(&self) -> Stats {
        Stats {
            total_events: self.head_position(),
            total_streams: self.stream_count() as u64,
            event_type_distribution: self.type_counts(),
            head_position: self.head_position(),
            head_hash: self.head_hash().to_hex(),
        }
    }
}
