//! The hash chain and the checks on every record the engine loads.
//!
//! ```text
//! hash(e) = hex(SHA-256( utf8(prevHash) ‖ JCS(e without its hash field) ))
//! prevHash before position 1 = "0000…0000" (64 zeros)
//! ```
//!
//! JCS is the canonical JSON of [`crate::canonical`]; the canonical text of an event is
//! written by [`crate::event::write_canonical_event`]. A verifier in JavaScript needs only
//! `crypto.subtle.digest('SHA-256', …)` and the ten-line `canon` function shown there.

use sha2::{Digest, Sha256};

use crate::event::{write_canonical_event, EventFields};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// The `prevHash` of the first event: 64 zeros.
pub const GENESIS: Hash = Hash([0; 32]);

impl Hash {
    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        self.write_hex(&mut s);
        s
    }

    /// Appends lowercase hex to `out`.
    pub fn write_hex(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in self.0 {
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        }
    }

    /// Parses exactly 64 lowercase hex characters.
    pub fn from_hex(s: &str) -> Option<Hash> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Hash(out))
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Computes an event's hash from the previous hash and its fields. `scratch` is reused
/// between calls to avoid an allocation per event.
pub fn event_hash(prev: &Hash, fields: &EventFields<'_>, scratch: &mut String) -> Hash {
    scratch.clear();
    prev.write_hex(scratch);
    write_canonical_event(scratch, fields);
    let digest = Sha256::digest(scratch.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest);
    Hash(out)
}

/// Parses an event id: a UUID in lowercase hyphenated form (the only form the engine writes,
/// so the hash always covers the same text).
pub fn parse_event_id(s: &str) -> Option<[u8; 16]> {
    let uuid = uuid::Uuid::try_parse(s).ok()?;
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    if uuid.hyphenated().encode_lower(&mut buf) != s {
        return None;
    }
    Some(*uuid.as_bytes())
}

/// Formats id bytes as a lowercase hyphenated UUID.
pub fn format_event_id(bytes: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*bytes).hyphenated().to_string()
}

/// What `verify()` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// True when every event's hash matches.
    pub ok: bool,
    /// Events checked.
    pub checked: u64,
    /// The first event whose hash does not match, or `None`.
    pub first_bad_position: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = Hash([0xab; 32]);
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_hex(&"AB".repeat(32)), None);
        assert_eq!(Hash::from_hex("abc"), None);
        assert_eq!(GENESIS.to_hex(), "0".repeat(64));
    }

    #[test]
    fn ids_must_be_lowercase_hyphenated() {
        let id = "0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6";
        assert!(parse_event_id(id).is_some());
        assert!(parse_event_id(&id.to_uppercase()).is_none());
        assert!(parse_event_id(&id.replace('-', "")).is_none());
        assert!(parse_event_id("nope").is_none());
        assert_eq!(format_event_id(&parse_event_id(id).unwrap()), id);
    }

    #[test]
    fn hash_matches_independent_computation() {
        // Computed independently: sha256("000…0" + canonical event text).
        let fields = EventFields {
            id: "0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6",
            stream_id: "account_001",
            stream_type: "BankAccount",
            event_type: "account_created",
            data: r#"{"accountHolder":"Alice","initialDeposit":0}"#,
            metadata: "{}",
            timestamp: 1700000000000,
            version: 1,
            position: 1,
        };
        let text = format!(
            "{}{}",
            "0".repeat(64),
            r#"{"data":{"accountHolder":"Alice","initialDeposit":0},"id":"0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","metadata":{},"position":1,"streamId":"account_001","streamType":"BankAccount","timestamp":1700000000000,"type":"account_created","version":1}"#
        );
        let expected = Sha256::digest(text.as_bytes());
        let mut scratch = String::new();
        assert_eq!(event_hash(&GENESIS, &fields, &mut scratch).0[..], expected[..]);
    }
}
