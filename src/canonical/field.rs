//! Reading a top-level field out of canonical JSON text without parsing the object: what
//! lets projections and deciders read `balanceAfter` out of stored event data in a few dozen
//! instructions.

use std::borrow::Cow;

use super::MAX_SAFE_INTEGER;

/// The raw text of the top-level field `key` of a canonical JSON object, without parsing the
/// object: what lets projections and deciders read `balanceAfter` out of stored event data
/// in a few dozen instructions. `key` must be a plain key (no characters JSON escapes).
/// Returns `None` when the field is absent or the text is not a JSON object.
pub fn field<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    let b = object.as_bytes();
    let n = b.len();
    let k = key.as_bytes();
    if n < 2 || b[0] != b'{' {
        return None;
    }
    let mut i = 1;
    while i < n && b[i] == b'"' {
        let key_end = skip_string(b, i)?;
        let raw_key = &b[i + 1..key_end - 1];
        if key_end >= n || b[key_end] != b':' {
            return None;
        }
        let value_start = key_end + 1;
        let value_end = skip_value(b, value_start)?;
        if raw_key == k {
            return object.get(value_start..value_end);
        }
        // Keys are sorted: past the place `key` would be, it is absent (byte order agrees
        // with JCS's UTF-16 order against a plain key, unless the raw key has escapes).
        if raw_key > k && !raw_key.contains(&b'\\') {
            return None;
        }
        if value_end < n && b[value_end] == b',' {
            i = value_end + 1;
        } else {
            return None;
        }
    }
    None
}

/// The top-level members of a canonical JSON object, in order: each raw key (as written,
/// without its quotes) and the byte range of its raw value in `object`. Stops at the first
/// malformed byte (canonical text this crate wrote never has one).
pub fn members(object: &str) -> Members<'_> {
    let ok = object.as_bytes().first() == Some(&b'{');
    Members {
        object,
        at: if ok { 1 } else { object.len() },
    }
}

/// The iterator of [`members`].
#[derive(Debug, Clone)]
pub struct Members<'a> {
    object: &'a str,
    at: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, std::ops::Range<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.object.as_bytes();
        let i = self.at;
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(b, i)?;
        if b.get(key_end) != Some(&b':') {
            self.at = b.len();
            return None;
        }
        let value_end = skip_value(b, key_end + 1)?;
        self.at = if b.get(value_end) == Some(&b',') {
            value_end + 1
        } else {
            b.len()
        };
        let key = self.object.get(i + 1..key_end - 1)?;
        Some((key, key_end + 1..value_end))
    }
}

/// The index after the string starting at `b[start] == '"'`.
fn skip_string(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// The index after the JSON value starting at `b[start]`.
fn skip_value(b: &[u8], start: usize) -> Option<usize> {
    let n = b.len();
    match *b.get(start)? {
        b'"' => skip_string(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < n {
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let mut i = start;
            while i < n && !matches!(b[i], b',' | b'}' | b']') {
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// A raw JSON number that is a non-negative integer of at most 2^53 - 1.
pub fn as_u64(raw: &str) -> Option<u64> {
    let b = raw.as_bytes();
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    (n <= MAX_SAFE_INTEGER).then_some(n)
}

/// A raw JSON string's value (borrowed when it has no escapes).
pub fn as_str(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        match serde_json::from_str(raw) {
            Ok(serde_json::Value::String(s)) => Some(Cow::Owned(s)),
            _ => None,
        }
    } else {
        Some(Cow::Borrowed(inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_without_parsing() {
        let text =
            r#"{"a":[1,{"b":"}"}],"amount":5,"balanceAfter":1005,"description":"say \"hi\", ok","z":{"y":null}}"#;
        assert_eq!(field(text, "amount"), Some("5"));
        assert_eq!(field(text, "balanceAfter"), Some("1005"));
        assert_eq!(field(text, "a"), Some(r#"[1,{"b":"}"}]"#));
        assert_eq!(field(text, "z"), Some(r#"{"y":null}"#));
        assert_eq!(
            field(text, "description").and_then(as_str).as_deref(),
            Some("say \"hi\", ok")
        );
        assert_eq!(field(text, "missing"), None);
        assert_eq!(field(text, "b"), None);
        assert_eq!(field("{}", "a"), None);
        assert_eq!(field("[1]", "a"), None);
        assert_eq!(field("{\"a\":", "a"), None);
        assert_eq!(as_u64("1005"), Some(1005));
        assert_eq!(as_u64("-1"), None);
        assert_eq!(as_u64("1.5"), None);
        assert_eq!(as_u64("9007199254740992"), None);
        assert_eq!(as_str("\"plain\"").as_deref(), Some("plain"));
        assert_eq!(as_str("5"), None);
    }

    #[test]
    fn members_walk_the_top_level() {
        let text = r#"{"a":[1,{"b":"}"}],"d":"x,y","z":{"y":null}}"#;
        let found: Vec<(&str, &str)> = members(text).map(|(k, r)| (k, &text[r])).collect();
        assert_eq!(
            found,
            [("a", r#"[1,{"b":"}"}]"#), ("d", "\"x,y\""), ("z", r#"{"y":null}"#)]
        );
        assert_eq!(members("{}").count(), 0);
        assert_eq!(members("[1]").count(), 0);
    }
}
