//! Time: an injectable clock and the rule that timestamps never decrease along the log.

use std::cell::Cell;

use crate::canonical::MAX_SAFE_INTEGER;

/// Milliseconds since the epoch. In JavaScript this is `() => Date.now()` by default and
/// injectable (`Engine.open({ clock })`) for tests.
pub trait Clock {
    fn now_ms(&self) -> f64;
}

/// The system clock (not available on `wasm32-unknown-unknown`, where the binding supplies
/// `Date.now`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64)
    }
}

/// A clock that returns what it is told: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Cell<f64>,
}

impl ManualClock {
    pub fn new(start_ms: f64) -> Self {
        Self {
            now: Cell::new(start_ms),
        }
    }

    pub fn set(&self, ms: f64) {
        self.now.set(ms);
    }

    pub fn advance(&self, ms: f64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }
}

/// Turns a clock reading into the next event's timestamp: whole milliseconds, clamped to
/// `0..=2^53-1`, and never below `last` (a clock that goes back is held at the last
/// timestamp; NaN is treated the same way).
pub fn next_timestamp(reading: f64, last: i64) -> i64 {
    let t = if reading.is_nan() {
        last
    } else {
        reading.floor().clamp(0.0, MAX_SAFE_INTEGER as f64) as i64
    };
    t.max(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_never_go_back() {
        assert_eq!(next_timestamp(1000.7, 0), 1000);
        assert_eq!(next_timestamp(900.0, 1000), 1000);
        assert_eq!(next_timestamp(f64::NAN, 1000), 1000);
        assert_eq!(next_timestamp(f64::INFINITY, 5), MAX_SAFE_INTEGER as i64);
        assert_eq!(next_timestamp(-5.0, 0), 0);
    }
}
