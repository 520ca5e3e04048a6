//! Where an event's schema version lives: `metadata.schemaVersion` (absent = 1), read
//! ([`stored_version`]) and written ([`write_schema_version`], [`VersionedMetadata`]).

use super::MAX_SCHEMA_VERSION;
use crate::canonical::CanonicalJson;

/// An event's metadata as read at a schema version (what [`write_schema_version`] writes),
/// made without allocating in the common cases: the stored metadata as it is, or `{}` with
/// only `schemaVersion` (a version up to 16).
#[derive(Debug, Clone)]
pub enum VersionedMetadata {
    /// The stored metadata, unchanged.
    Stored,
    /// `{"schemaVersion":N}`.
    Short(&'static str),
    Long(String),
}

macro_rules! versioned_empty {
    ($($n:literal)*) => { [$(concat!("{\"schemaVersion\":", $n, "}")),*] };
}

/// `{"schemaVersion":N}` for N from 2 to 16.
const VERSIONED_EMPTY: [&str; 15] = versioned_empty!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);

impl VersionedMetadata {
    /// `metadata` (canonical text) at `version`.
    #[inline]
    pub fn new(metadata: &str, version: u32) -> Self {
        if version <= 1 && !has_schema_version(metadata) {
            return VersionedMetadata::Stored;
        }
        if metadata == "{}" {
            if let Some(text) = VERSIONED_EMPTY.get((version as usize).wrapping_sub(2)) {
                return VersionedMetadata::Short(text);
            }
        }
        let mut out = String::new();
        write_schema_version(&mut out, metadata, version);
        VersionedMetadata::Long(out)
    }

    /// The text, given the stored metadata it was made from.
    pub fn as_str<'m>(&'m self, stored: &'m str) -> &'m str {
        match self {
            VersionedMetadata::Stored => stored,
            VersionedMetadata::Short(text) => text,
            VersionedMetadata::Long(text) => text,
        }
    }
}

/// Might this metadata (canonical text) hold `schemaVersion`? (A cheap test: `{}` never does.)
pub fn has_schema_version(metadata: &str) -> bool {
    metadata.len() > 2 && metadata.contains("\"schemaVersion\"")
}

/// `metadata` (canonical text) with `schemaVersion` set to `version` (removed when 1).
pub fn write_schema_version(out: &mut String, metadata: &str, version: u32) {
    // The common case, without parsing: metadata that is `{}`, or has no schemaVersion to drop.
    if metadata == "{}" {
        if version > 1 {
            out.push_str("{\"schemaVersion\":");
            crate::canonical::write_u64(out, u64::from(version));
            out.push('}');
        } else {
            out.push_str("{}");
        }
        return;
    }
    if version <= 1 && !has_schema_version(metadata) {
        out.push_str(metadata);
        return;
    }
    let mut map = CanonicalJson::from_trusted(metadata).to_map();
    if version > 1 {
        map.insert("schemaVersion".to_owned(), serde_json::Value::from(version));
    } else {
        map.remove("schemaVersion");
    }
    // A map of canonical values cannot be too deep (it was canonical text already).
    let _ = crate::canonical::write_value(out, &serde_json::Value::Object(map), 0);
}

/// The schema version an event was stored in: `metadata.schemaVersion`, 1 when absent.
/// `Err` when it is there but not an integer from 1 to [`MAX_SCHEMA_VERSION`].
pub fn stored_version(metadata: &str) -> Result<u32, String> {
    if !has_schema_version(metadata) {
        return Ok(1);
    }
    match crate::canonical::field(metadata, "schemaVersion") {
        None => Ok(1),
        Some(raw) => crate::canonical::as_u64(raw)
            .filter(|v| (1..=u64::from(MAX_SCHEMA_VERSION)).contains(v))
            .map(|v| v as u32)
            .ok_or_else(|| {
                format!("metadata.schemaVersion must be an integer from 1 to {MAX_SCHEMA_VERSION}, got {raw}")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_versions_come_from_metadata() {
        assert_eq!(stored_version("{}"), Ok(1));
        assert_eq!(stored_version(r#"{"schemaVersion":3}"#), Ok(3));
        assert!(stored_version(r#"{"schemaVersion":0}"#).is_err());
        assert!(stored_version(r#"{"schemaVersion":"2"}"#).is_err());
        for (metadata, version, expected) in [
            (r#"{"a":1,"schemaVersion":2}"#, 1, r#"{"a":1}"#),
            (r#"{"a":1,"schemaVersion":2}"#, 3, r#"{"a":1,"schemaVersion":3}"#),
            (r#"{"z":1}"#, 2, r#"{"schemaVersion":2,"z":1}"#),
            (r#"{"z":1}"#, 1, r#"{"z":1}"#),
            ("{}", 2, r#"{"schemaVersion":2}"#),
            ("{}", 1, "{}"),
        ] {
            let mut out = String::new();
            write_schema_version(&mut out, metadata, version);
            assert_eq!(out, expected, "{metadata} at {version}");
            assert_eq!(VersionedMetadata::new(metadata, version).as_str(metadata), expected);
        }
        // Without allocating: `{}` up to version 16; the same text as written beyond.
        for version in 1..=40 {
            let mut out = String::new();
            write_schema_version(&mut out, "{}", version);
            let made = VersionedMetadata::new("{}", version);
            assert_eq!(made.as_str("{}"), out);
            assert_eq!(matches!(made, VersionedMetadata::Long(_)), version > 16, "{version}");
        }
    }
}
