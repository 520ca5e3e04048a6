//! Event ids: UUID v7 (48 bits of the event's millisecond timestamp, then 74 random bits).
//!
//! The id's timestamp is the event's `timestamp` (from the engine's clock), so ids sort like
//! the log. The random bits come from a small generator (SplitMix64) seeded once per engine
//! with 64 bits from the platform's cryptographic source through `getrandom`: the operating
//! system on native targets, `crypto.getRandomValues` in browsers and Node on wasm. Two
//! engines, on one device or many, therefore draw from independent random points of the
//! generator's 2^64 cycle, and stamping an event never crosses into JavaScript or the kernel.
//! Ids are unique, not secret (an id reveals the generator's state).
//!
//! Why not `uuid::Uuid::new_v7` (fresh random bits from `getrandom` for every id): it is one
//! system call per event natively (22,004 `getrandom` calls for 22,000 events of
//! `benches/profile_append.rs`, against 4 with this generator) and one call into JavaScript
//! per event on wasm, and it panics when the platform refuses. Measured here: about 600 ns
//! an id against 7 ns, on commands of about 3 µs (BENCHMARKS.md), so some 20% of a command;
//! the user-space instructions of a command are the same either way (callgrind).

use crate::error::InternalError;

/// SplitMix64-based generator of UUID v7 bytes.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    /// A generator seeded from the platform's randomness. Fails only where the platform has
    /// no cryptographic source (e.g. a JavaScript host without `crypto.getRandomValues`).
    pub fn from_platform() -> Result<Self, InternalError> {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed)
            .map_err(|e| InternalError::new(format!("the platform gave no random bytes for event ids: {e}")))?;
        Ok(Self::with_seed(u64::from_le_bytes(seed)))
    }

    /// A generator with a fixed seed: reproducible ids, for tests and simulations only.
    pub fn with_seed(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A UUID v7 for an event stamped at `timestamp_ms`.
    pub fn next_id(&mut self, timestamp_ms: i64) -> [u8; 16] {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        random[8..].copy_from_slice(&self.next_u64().to_le_bytes()[..2]);
        let millis = timestamp_ms.max(0) as u64;
        *uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_v7_distinct_and_carry_the_timestamp() {
        let mut g = IdGenerator::from_platform().unwrap();
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = uuid::Uuid::from_bytes(g.next_id(1_700_000_000_000));
            assert_eq!(id.get_version_num(), 7);
            assert!(seen.insert(id));
        }
        let id = uuid::Uuid::from_bytes(g.next_id(1_700_000_000_123));
        let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
        assert_eq!((secs, nanos / 1_000_000), (1_700_000_000, 123));
    }

    #[test]
    fn platform_seeds_differ() {
        let a = IdGenerator::from_platform().unwrap().next_id(0);
        let b = IdGenerator::from_platform().unwrap().next_id(0);
        assert_ne!(a, b, "two engines draw different ids");
    }
}
