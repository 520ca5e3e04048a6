//! Event ids: UUID v7 (48 bits of millisecond timestamp, then random bits).
//!
//! The random bits come from a small generator seeded once (by the OS on native targets,
//! by `crypto.getRandomValues` through the binding on wasm), so stamping an event never
//! crosses into JavaScript. Ids are unique, not secret.

/// SplitMix64-based generator of UUID v7 bytes.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    pub fn new(seed: u64) -> Self {
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

/// A seed from the operating system's randomness (native targets).
#[cfg(not(target_arch = "wasm32"))]
pub fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_v7_and_distinct() {
        let mut g = IdGenerator::new(42);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = uuid::Uuid::from_bytes(g.next_id(1_700_000_000_000));
            assert_eq!(id.get_version_num(), 7);
            assert!(seen.insert(id));
        }
        let id = uuid::Uuid::from_bytes(g.next_id(1_700_000_000_000));
        let (secs, _) = id.get_timestamp().unwrap().to_unix();
        assert_eq!(secs, 1_700_000_000);
    }
}
