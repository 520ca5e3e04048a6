//! Canonical JSON: the JSON Canonicalization Scheme (JCS, RFC 8785).
//!
//! The hash chain hashes the canonical bytes of every event, so the canonical form is part of
//! the storage contract: anyone (the IndexedDB and SQLite adapters, an auditor with ten lines of
//! JavaScript) must be able to reproduce it byte for byte. The rules:
//!
//! * objects: keys sorted by their UTF-16 code units, no whitespace, `{"a":1,"b":[true,null]}`;
//! * strings: as `JSON.stringify` writes them: `"` and `\` escaped, `\b \t \n \f \r` short
//!   escapes, other control characters below U+0020 as `\u00xx` (lowercase hex), everything
//!   else (including non-ASCII) written as is, in UTF-8;
//! * numbers: as JavaScript's `Number.prototype.toString` writes an IEEE-754 double
//!   (`1`, `-0` → `0`, `1.5`, `1e+21`, `1e-7`); integers of more than 53 bits are first rounded
//!   to the nearest double, exactly as `JSON.parse` would;
//! * `true`, `false`, `null` as is.
//!
//! In JavaScript the same bytes come from `JSON.stringify` with object keys sorted recursively:
//!
//! ```js
//! const canon = (v) => Array.isArray(v) ? `[${v.map(canon).join(',')}]`
//!   : v && typeof v === 'object'
//!     ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`
//!     : JSON.stringify(v);
//! ```
//!
//! (`Array.prototype.sort` compares UTF-16 code units, as JCS requires.)
//!
//! Reading a field back out of canonical text, without parsing it, is `field.rs`; recognising
//! text that is already canonical, without parsing it, is `scan.rs`.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use crate::error::ValidationError;

mod field;
mod scan;

pub use field::{as_str, as_u64, field, members, Members};
pub use scan::Scanner;

/// Deepest nesting of arrays and objects accepted in data, metadata, commands and states.
pub const MAX_DEPTH: usize = 128;

/// The canonical (JCS) text of a JSON **object**. Cheap to clone and compare; its `Display`
/// is the canonical text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CanonicalJson(Box<str>);

impl CanonicalJson {
    /// `{}`.
    pub fn empty_object() -> Self {
        CanonicalJson("{}".into())
    }

    /// Canonicalizes a JSON object. Anything but an object, or nesting deeper than
    /// [`MAX_DEPTH`], is a [`ValidationError`] naming `what`.
    pub fn from_value(value: &Value, what: &str) -> Result<Self, ValidationError> {
        if !value.is_object() {
            return Err(ValidationError::new(format!(
                "{what} must be a plain JSON object, got {}",
                kind_of(value)
            )));
        }
        let mut out = String::with_capacity(64);
        write_value(&mut out, value, 0)
            .map_err(|_| ValidationError::new(format!("{what} is nested deeper than {MAX_DEPTH} levels")))?;
        Ok(CanonicalJson(out.into_boxed_str()))
    }

    /// Canonicalizes an object given as a map.
    pub fn from_map(map: &Map<String, Value>, what: &str) -> Result<Self, ValidationError> {
        let mut out = String::with_capacity(64);
        write_object(&mut out, map, 0, true)
            .map_err(|_| ValidationError::new(format!("{what} is nested deeper than {MAX_DEPTH} levels")))?;
        Ok(CanonicalJson(out.into_boxed_str()))
    }

    /// An object from named fields, in any order (they are sorted as JCS requires): the
    /// cheap way for Rust deciders to build event data without a `serde_json::Value` tree.
    ///
    /// ```
    /// use eventjournal::canonical::{CanonicalJson, Field};
    /// let data = CanonicalJson::from_fields(&mut [("b", Field::U64(2)), ("a", Field::Str("x"))]).unwrap();
    /// assert_eq!(data.as_str(), r#"{"a":"x","b":2}"#);
    /// ```
    pub fn from_fields(fields: &mut [(&str, Field<'_>)]) -> Result<Self, ValidationError> {
        if !fields.windows(2).all(|w| utf16_cmp(w[0].0, w[1].0) == Ordering::Less) {
            fields.sort_by(|a, b| utf16_cmp(a.0, b.0));
            if fields.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(ValidationError::new("an object cannot have the same key twice"));
            }
        }
        let mut out = String::with_capacity(16 * fields.len() + 2);
        out.push('{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(&mut out, k);
            out.push(':');
            match v {
                Field::U64(n) if *n <= MAX_SAFE_INTEGER => write_u64(&mut out, *n),
                Field::U64(n) => write_f64(&mut out, *n as f64),
                Field::Str(s) => write_string(&mut out, s),
                Field::Json(v) => write_value(&mut out, v, 1)
                    .map_err(|_| ValidationError::new(format!("field '{k}' is nested too deeply")))?,
            }
        }
        out.push('}');
        Ok(CanonicalJson(out.into_boxed_str()))
    }

    /// Parses JSON text (any formatting) and canonicalizes it; it must be an object.
    pub fn parse(text: &str, what: &str) -> Result<Self, ValidationError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ValidationError::new(format!("{what} is not valid JSON: {e}")))?;
        Self::from_value(&value, what)
    }

    /// Wraps text that is already canonical JSON of an object (text this crate wrote).
    pub(crate) fn from_trusted(text: &str) -> Self {
        CanonicalJson(text.into())
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `{}`.
    pub fn is_empty_object(&self) -> bool {
        &*self.0 == "{}"
    }

    /// The object as a `serde_json` value.
    pub fn to_value(&self) -> Value {
        // The text is canonical JSON we wrote ourselves, so it always parses; fall back to an
        // empty object rather than panic should that invariant ever break.
        serde_json::from_str(&self.0).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The object as a map.
    pub fn to_map(&self) -> Map<String, Value> {
        match self.to_value() {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// Bytes of the canonical text.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: the smallest object is `{}`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for CanonicalJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CanonicalJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value of [`CanonicalJson::from_fields`].
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    U64(u64),
    Str(&'a str),
    Json(&'a Value),
}

/// The nesting limit was exceeded while writing.
#[derive(Debug)]
pub struct TooDeep;

/// `value` as JSON text, objects' keys in the map's own order (as serde_json writes it), or
/// `None` past [`MAX_DEPTH`] levels. With [`write_value`] the crate's one JSON writer:
/// serde_json's is not linked into the wasm module (BENCHMARKS.md target 10).
pub fn to_text(value: &Value) -> Option<String> {
    let mut out = String::new();
    write_in_map_order(&mut out, value, 0).ok().map(|()| out)
}

/// Writes `value` as [`to_text`] does (keys in the map's own order, not sorted by UTF-16).
pub fn write_in_map_order(out: &mut String, value: &Value, depth: usize) -> Result<(), TooDeep> {
    write_json(out, value, depth, false)
}

/// A number as JSON text (as JavaScript writes it), for messages.
pub fn number_text(n: &serde_json::Number) -> String {
    let mut out = String::new();
    write_number(&mut out, n);
    out
}

/// Writes `value` in canonical form.
pub fn write_value(out: &mut String, value: &Value, depth: usize) -> Result<(), TooDeep> {
    write_json(out, value, depth, true)
}

/// Writes `value`; `canonical`: objects' keys sorted by UTF-16 code units (JCS), else in the
/// map's own order.
fn write_json(out: &mut String, value: &Value, depth: usize, canonical: bool) -> Result<(), TooDeep> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(TooDeep);
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, depth + 1, canonical)?;
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, depth, canonical)?,
    }
    Ok(())
}

fn write_object(out: &mut String, map: &Map<String, Value>, depth: usize, canonical: bool) -> Result<(), TooDeep> {
    if depth >= MAX_DEPTH {
        return Err(TooDeep);
    }
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if canonical && !entries.windows(2).all(|w| utf16_cmp(w[0].0, w[1].0) == Ordering::Less) {
        entries.sort_by(|a, b| utf16_cmp(a.0, b.0));
    }
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_json(out, v, depth + 1, canonical)?;
    }
    out.push('}');
    Ok(())
}

/// Compares two strings by their UTF-16 code units, as JCS and `Array.prototype.sort` do.
pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    // UTF-8 byte order equals code point order, which equals UTF-16 order unless a
    // supplementary character meets one in U+E000..=U+FFFF (lead byte 0xEE or above).
    let fast = !a.bytes().chain(b.bytes()).any(|c| c >= 0xEE);
    if fast {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Writes a string as `JSON.stringify` does.
pub fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Largest integer a double represents exactly along with all smaller ones (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        if u <= MAX_SAFE_INTEGER {
            out.push_str(itoa_u64(u).as_str());
            return;
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= MAX_SAFE_INTEGER {
            out.push('-');
            out.push_str(itoa_u64(i.unsigned_abs()).as_str());
            return;
        }
    }
    write_f64(out, n.as_f64().unwrap_or(0.0));
}

/// Writes a finite double as JavaScript's `Number.prototype.toString` does.
pub fn write_f64(out: &mut String, f: f64) {
    if f == 0.0 || !f.is_finite() {
        // -0 prints as 0; non-finite numbers cannot occur in JSON (JSON.stringify writes null).
        out.push_str(if f.is_finite() { "0" } else { "null" });
        return;
    }
    let mut buf = ryu_js::Buffer::new();
    out.push_str(buf.format_finite(f));
}

/// Writes a signed integer in decimal.
pub fn write_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    write_u64(out, n.unsigned_abs());
}

/// Writes an unsigned integer in decimal.
pub fn write_u64(out: &mut String, n: u64) {
    out.push_str(itoa_u64(n).as_str());
}

struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_str(&self) -> &str {
        // Only ASCII digits are written into the buffer.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
}

fn itoa_u64(mut n: u64) -> Digits {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Digits { buf, start: i }
}

/// A short description of a JSON value's kind, for error messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        let mut s = String::new();
        write_value(&mut s, &v, 0).unwrap();
        s
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(
            canon(json!({"b": [1, true, null], "a": {"d": "x", "c": 1.5}})),
            r#"{"a":{"c":1.5,"d":"x"},"b":[1,true,null]}"#
        );
    }

    #[test]
    fn numbers_follow_javascript() {
        assert_eq!(canon(json!(1.0)), "1");
        assert_eq!(canon(json!(-0.0)), "0");
        assert_eq!(canon(json!(1e21)), "1e+21");
        assert_eq!(canon(json!(1e-7)), "1e-7");
        assert_eq!(canon(json!(0.1)), "0.1");
        assert_eq!(canon(json!(123456789012345680000.0)), "123456789012345680000");
        assert_eq!(canon(json!(9007199254740993u64)), "9007199254740992");
        assert_eq!(canon(json!(-42)), "-42");
        assert_eq!(canon(json!(4.5e-324)), "5e-324");
    }

    #[test]
    fn strings_follow_json_stringify() {
        assert_eq!(
            canon(json!("a\"b\\c\n\u{1}\u{7f}é€😀")),
            "\"a\\\"b\\\\c\\n\\u0001\u{7f}é€😀\""
        );
        assert_eq!(canon(json!("\u{8}\u{c}\t\r\u{1f}")), "\"\\b\\f\\t\\r\\u001f\"");
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB01 in UTF-16, after it in UTF-8.
        assert_eq!(canon(json!({"\u{fb01}": 1, "😀": 2})), "{\"😀\":2,\"\u{fb01}\":1}");
        // RFC 8785 §3.2.3 example ordering
        let v = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "😀": "Emoji: Grinning Face", "\u{80}": "Control", "ö": "Latin Small Letter O With Diaeresis"});
        let keys: Vec<String> = {
            let s = canon(v);
            let parsed: Vec<(String, Value)> = {
                let m: serde_json::Map<String, Value> = serde_json::from_str(&s).unwrap();
                m.into_iter().collect()
            };
            let _ = parsed;
            // re-derive the order from the text itself
            let mut out = vec![];
            let mut rest = &s[1..];
            while let Some(q) = rest.find("\":") {
                let key_start = rest.find('"').unwrap();
                out.push(serde_json::from_str::<String>(&rest[key_start..q + 1]).unwrap());
                rest = &rest[q + 2..];
                rest = match rest.find(",\"") {
                    Some(p) => &rest[p + 1..],
                    None => "",
                };
            }
            out
        };
        assert_eq!(keys, vec!["\r", "1", "\u{80}", "ö", "\u{20ac}", "😀", "\u{fb33}"]);
    }

    #[test]
    fn only_objects_and_bounded_depth() {
        assert!(CanonicalJson::from_value(&json!([1]), "data").is_err());
        assert!(CanonicalJson::from_value(&json!(null), "data").is_err());
        let mut deep = json!({});
        for _ in 0..200 {
            deep = json!({ "a": deep });
        }
        assert!(CanonicalJson::from_value(&deep, "data").is_err());
        assert_eq!(
            CanonicalJson::parse(" { \"b\" : 2 , \"a\" : 1 } ", "data")
                .unwrap()
                .as_str(),
            r#"{"a":1,"b":2}"#
        );
    }
}
