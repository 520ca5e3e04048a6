//! Time travel: which point of a stream or of the log a query asks for.
//!
//! * an aggregate as of `{ version }`, `{ position }` or `{ timestamp }`: the state after every
//!   event of the stream with version ≤ v, position ≤ p, or timestamp ≤ t;
//! * a projection as of `{ position }` or `{ timestamp }`: the state after every event of the
//!   log with position ≤ p, or timestamp ≤ t.
//!
//! A point past the end is the current state. Timestamps never decrease along the log, so
//! "timestamp ≤ t" is a prefix of the log, found by binary search.

use crate::error::ValidationError;
use crate::log::{Log, StreamSym};

/// A point in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Version(u64),
    Position(u64),
    /// Milliseconds since the epoch (inclusive).
    Timestamp(i64),
}

/// The stream's version at `at` (0 = before its first event).
pub fn stream_version_at(log: &Log, sym: StreamSym, at: At) -> u64 {
    let version = log.version_of(sym);
    match at {
        At::Version(v) => v.min(version),
        At::Position(p) => log.stream_version_at_position(sym, p),
        At::Timestamp(t) => log.stream_version_at_position(sym, log.position_at_timestamp(t)),
    }
}

/// The log position at `at` (0 = before the first event). Projections have no version.
pub fn log_position_at(log: &Log, at: At) -> Result<u64, ValidationError> {
    match at {
        At::Version(_) => Err(ValidationError::new(
            "a projection travels by { position } or { timestamp }, not by { version }",
        )),
        At::Position(p) => Ok(p.min(log.head_position())),
        At::Timestamp(t) => Ok(log.position_at_timestamp(t)),
    }
}
