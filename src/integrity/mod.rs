//! The hash chain, in one place: the canonical text an event is hashed as, the hash, the
//! checks every stored record passes before it enters the log, and `verify`.
//!
//! ```text
//! hash(e) = hex(SHA-256( utf8(prevHash) ‖ JCS(e without its hash field) ))
//! prevHash before position 1 = "0000…0000" (64 zeros)
//! ```
//!
//! JCS is the canonical JSON of [`crate::canonical`]; [`write_canonical_event`] writes the
//! canonical text of an event (keys in sorted order). A verifier in JavaScript needs only
//! `crypto.subtle.digest('SHA-256', …)` and the ten-line `canon` function shown in
//! `canonical.rs`.
//!
//! Every record the host's storage returns goes through [`decode_record`] (exactly the ten
//! fields of the contract, of the right types) and [`check_next`] (it continues the log:
//! gapless position and version, the stream's type, non-decreasing timestamp, a well-formed
//! id, and a hash that matches). The first failed check is an [`IntegrityError`] naming the
//! position.

use sha2::{Digest, Sha256};

use crate::canonical::{write_i64, write_string, write_u64};
use crate::error::IntegrityError;
use crate::event::{validate_name, Event, EventFields};
use crate::log::Log;

mod records;

pub use records::{decode_record, decode_records};

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

/// Writes the canonical (JCS) text of an event without its hash: the bytes the chain hashes.
/// Keys in sorted order; data and metadata are already canonical.
pub fn write_canonical_event(out: &mut String, e: &EventFields<'_>) {
    out.push_str("{\"data\":");
    out.push_str(e.data);
    out.push_str(",\"id\":");
    write_string(out, e.id);
    out.push_str(",\"metadata\":");
    out.push_str(e.metadata);
    out.push_str(",\"position\":");
    write_u64(out, e.position);
    out.push_str(",\"streamId\":");
    write_string(out, e.stream_id);
    out.push_str(",\"streamType\":");
    write_string(out, e.stream_type);
    out.push_str(",\"timestamp\":");
    write_i64(out, e.timestamp);
    out.push_str(",\"type\":");
    write_string(out, e.event_type);
    out.push_str(",\"version\":");
    write_u64(out, e.version);
    out.push('}');
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

/// Recomputes the whole chain of the log.
pub fn verify(log: &Log) -> VerifyReport {
    let mut prev = GENESIS;
    let mut scratch = String::new();
    for view in log.range(1, log.head_position()) {
        let id = view.id();
        let fields = EventFields {
            id: &id,
            ..view.fields()
        };
        let h = event_hash(&prev, &fields, &mut scratch);
        if view.stored_hash() != Some(h) {
            return VerifyReport {
                ok: false,
                checked: view.position,
                first_bad_position: Some(view.position),
            };
        }
        prev = h;
    }
    VerifyReport {
        ok: true,
        checked: log.head_position(),
        first_bad_position: None,
    }
}

/// A stored record that continues the log, with its id and hash as the log keeps them.
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub id: [u8; 16],
    pub hash: Hash,
}

/// What [`check_next`] needs to know of the log a record must continue: the [`Log`] itself,
/// or the log plus records already checked on top of it (the sync client checks a server's
/// batch before it persists or commits anything).
pub trait ChainTip {
    fn head_position(&self) -> u64;
    fn head_hash(&self) -> Hash;
    fn last_timestamp(&self) -> i64;
    /// The stream's version (0 when it has no events).
    fn stream_version(&self, stream_id: &str) -> u64;
    /// The stream's type, fixed by its first event.
    fn stream_type_of(&self, stream_id: &str) -> Option<&str>;
}

impl ChainTip for Log {
    fn head_position(&self) -> u64 {
        Log::head_position(self)
    }
    fn head_hash(&self) -> Hash {
        Log::head_hash(self)
    }
    fn last_timestamp(&self) -> i64 {
        Log::last_timestamp(self)
    }
    fn stream_version(&self, stream_id: &str) -> u64 {
        Log::stream_version(self, stream_id)
    }
    fn stream_type_of(&self, stream_id: &str) -> Option<&str> {
        Log::stream_type_of(self, stream_id)
    }
}

/// Checks that a record from outside (the host's storage) continues `log`: the next position,
/// a lowercase UUID id, valid names, the next version of its stream, the stream's type, a
/// timestamp not before the last one, and the hash of the chain.
#[inline(never)] // one copy for its two callers (the log, the sync client's batches)
pub fn check_next(log: &dyn ChainTip, e: &Event, scratch: &mut String) -> Result<Checked, IntegrityError> {
    let expected = log.head_position() + 1;
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
        validate_name(what, value).map_err(|v| bad(v.message))?;
    }
    let current_version = log.stream_version(&e.stream_id);
    if e.version != current_version + 1 || e.version > u64::from(u32::MAX) {
        return Err(bad(format!(
            "stream '{}' version {} does not follow {current_version}",
            e.stream_id, e.version
        )));
    }
    if let Some(t) = log.stream_type_of(&e.stream_id).filter(|t| *t != e.stream_type) {
        return Err(bad(format!(
            "stream '{}' has type '{t}' but the event says '{}'",
            e.stream_id, e.stream_type
        )));
    }
    if e.timestamp < log.last_timestamp() {
        return Err(bad(format!(
            "timestamp {} is before the previous event's {}",
            e.timestamp,
            log.last_timestamp()
        )));
    }
    if event_hash(&log.head_hash(), &e.fields(), scratch) != hash {
        return Err(bad("hash does not match the event and the previous hash".into()));
    }
    Ok(Checked { id, hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> EventFields<'static> {
        EventFields {
            id: "0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6",
            stream_id: "account_001",
            stream_type: "BankAccount",
            event_type: "account_created",
            data: r#"{"accountHolder":"Alice","initialDeposit":0}"#,
            metadata: "{}",
            timestamp: 1700000000000,
            version: 1,
            position: 1,
        }
    }

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
    fn event_text_is_canonical_without_hash() {
        let f = EventFields {
            stream_id: "acc\"1",
            data: r#"{"amount":5}"#,
            ..fields()
        };
        let mut s = String::new();
        write_canonical_event(&mut s, &f);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let mut again = String::new();
        crate::canonical::write_value(&mut again, &v, 0).unwrap();
        assert_eq!(s, again);
    }

    #[test]
    fn hash_matches_independent_computation() {
        // Computed independently: sha256("000…0" + canonical event text).
        let text = format!(
            "{}{}",
            "0".repeat(64),
            r#"{"data":{"accountHolder":"Alice","initialDeposit":0},"id":"0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","metadata":{},"position":1,"streamId":"account_001","streamType":"BankAccount","timestamp":1700000000000,"type":"account_created","version":1}"#
        );
        let expected = Sha256::digest(text.as_bytes());
        let mut scratch = String::new();
        assert_eq!(event_hash(&GENESIS, &fields(), &mut scratch).0[..], expected[..]);
    }
}
