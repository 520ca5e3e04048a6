//! The stored form of one encrypted value: a self-describing envelope that replaces the
//! value of a declared field in the event's data, so reads, `forget` and a client that
//! receives stored events know the subject without running user code.
//!
//! ```text
//! {"$encrypted":{"data":"<base64 ciphertext‖tag>","gen":2,"nonce":"<base64 96 bits>","subject":"account_001","v":1}}
//! ```
//!
//! Keys in canonical order; `gen` (the subject's key generation, see [`super::key_name`]) is
//! absent when it is 1. Base64 is the standard alphabet with padding (RFC 4648 §4).

use std::borrow::Cow;

use crate::canonical::{as_str, as_u64, members, write_string, write_u64};

/// The one key of an envelope object.
pub const MARK: &str = "$encrypted";

/// `"$encrypted":` as it appears in canonical text: present exactly when some object of the
/// text has the key `$encrypted` (inside a string, its quotes would be escaped).
pub const MARK_KEY: &str = "\"$encrypted\":";

/// The envelope format version.
pub const ENVELOPE_VERSION: u64 = 1;

/// How an envelope's text ends: its version ([`ENVELOPE_VERSION`], checked by a test), then
/// both objects closed.
const ENVELOPE_TAIL: &str = ",\"v\":1}}";

/// An envelope as read from stored data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub subject: Cow<'a, str>,
    pub gen: u32,
    pub nonce: [u8; 12],
    /// Ciphertext followed by the 16-byte tag.
    pub data: Vec<u8>,
}

/// Is this raw JSON value (canonical text) an envelope? (A cheap test on its first bytes.)
pub fn is_envelope(raw: &str) -> bool {
    raw.as_bytes().first() == Some(&b'{') && raw[1..].starts_with(MARK_KEY)
}

impl<'a> Envelope<'a> {
    /// Parses the raw JSON text of an envelope (canonical text, as stored: the chain covers
    /// it); `Err` says what is wrong with it.
    pub fn parse(raw: &'a str) -> Result<Envelope<'a>, String> {
        let not = |why: &str| format!("the encrypted value is not an envelope: {why}");
        let mut outer = members(raw);
        let inner = match (outer.next(), outer.next()) {
            (Some((MARK, r)), None) => &raw[r],
            _ => return Err(not("it must be exactly {\"$encrypted\": {…}}")),
        };
        if !inner.starts_with('{') {
            return Err(not("$encrypted must be an object"));
        }
        let (mut v, mut subject, mut gen, mut nonce, mut data) = (None, None, 1u32, None, None);
        for (key, r) in members(inner) {
            let value = &inner[r];
            let text = || as_str(value).ok_or_else(|| not(&format!("{key} must be a string")));
            match key {
                "v" => v = as_u64(value),
                "subject" => subject = Some(text()?),
                "gen" => gen = as_u64(value).and_then(|g| u32::try_from(g).ok()).unwrap_or(0),
                "nonce" => nonce = Some(text()?),
                "data" => data = Some(text()?),
                other => return Err(not(&format!("unknown field '{other}'"))),
            }
        }
        let (Some(v), Some(subject), Some(nonce), Some(data)) = (v, subject, nonce, data) else {
            return Err(not("it needs v, subject, nonce and data"));
        };
        if v != ENVELOPE_VERSION {
            return Err(format!(
                "the encrypted value has envelope version {v}; this engine reads version {ENVELOPE_VERSION}"
            ));
        }
        if gen == 0 {
            return Err("the encrypted value has key generation 0".into());
        }
        let nonce: [u8; 12] = decode_base64(&nonce)
            .and_then(|n| n.try_into().ok())
            .ok_or("the encrypted value's nonce is not 12 bytes of base64")?;
        let data = decode_base64(&data).ok_or("the encrypted value's data is not base64")?;
        if data.len() < 16 {
            return Err("the encrypted value is shorter than its tag".into());
        }
        Ok(Envelope {
            subject,
            gen,
            nonce,
            data,
        })
    }

    /// The canonical text of the envelope (what replaces the field's value).
    pub fn write(&self, out: &mut String) {
        out.push_str("{\"$encrypted\":{\"data\":\"");
        encode_base64(&self.data, out);
        out.push('"');
        if self.gen != 1 {
            out.push_str(",\"gen\":");
            write_u64(out, u64::from(self.gen));
        }
        out.push_str(",\"nonce\":\"");
        encode_base64(&self.nonce, out);
        out.push_str("\",\"subject\":");
        write_string(out, &self.subject);
        out.push_str(ENVELOPE_TAIL);
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn encode_base64(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    // 48 bytes in, 64 characters out at a time, pushed at once (not character by character).
    for block in bytes.chunks(48) {
        let mut text = [0u8; 64];
        let triples = block.chunks_exact(3);
        let rest = triples.remainder();
        let mut len = 0;
        for (quad, t) in text.chunks_exact_mut(4).zip(triples) {
            let n = (u32::from(t[0]) << 16) | (u32::from(t[1]) << 8) | u32::from(t[2]);
            quad.copy_from_slice(&[
                sextet_char(n >> 18),
                sextet_char(n >> 12),
                sextet_char(n >> 6),
                sextet_char(n),
            ]);
            len += 4;
        }
        if let [first, more @ ..] = rest {
            let n = (u32::from(*first) << 16) | (u32::from(*more.first().unwrap_or(&0)) << 8);
            let third = if more.is_empty() { b'=' } else { sextet_char(n >> 6) };
            text[len..len + 4].copy_from_slice(&[sextet_char(n >> 18), sextet_char(n >> 12), third, b'=']);
            len += 4;
        }
        // Only characters of the alphabet and '=' were written: always ASCII.
        if let Ok(text) = std::str::from_utf8(&text[..len]) {
            out.push_str(text);
        }
    }
}

/// The character of the low six bits of `n`.
fn sextet_char(n: u32) -> u8 {
    ALPHABET[(n & 63) as usize]
}

fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Decodes standard base64 with padding; `None` for anything else (no whitespace, no
/// missing padding, no bits left over).
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if b.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, quad) in b.chunks(4).enumerate() {
        let last = i + 1 == b.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | sextet(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Bits beyond the last byte must be zero (one encoding per byte string).
        if bytes[3 - pad..].iter().any(|&x| x != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_rejects_noise() {
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\x00", "//4A"),
        ] {
            let mut out = String::new();
            encode_base64(bytes, &mut out);
            assert_eq!(out, text);
            assert_eq!(decode_base64(text).as_deref(), Some(bytes));
        }
        // Across the encoder's 48-byte blocks.
        let bytes: Vec<u8> = (0..=255u8).cycle().take(200).collect();
        for n in [47, 48, 49, 95, 96, 97, 200] {
            let mut out = String::from("x");
            encode_base64(&bytes[..n], &mut out);
            assert_eq!(out.len(), 1 + n.div_ceil(3) * 4);
            assert_eq!(decode_base64(&out[1..]).as_deref(), Some(&bytes[..n]));
        }
        let mut out = String::new();
        encode_base64(&[0xfb; 49], &mut out);
        assert_eq!(out, format!("{}+w==", "+/v7".repeat(16)));
        for bad in ["Zg", "Zg=", "Z===", "Zh==", "Zm9v\n", "Zg==Zg==", "Zm9-"] {
            assert_eq!(decode_base64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn envelopes_end_with_their_version() {
        let mut tail = String::from(",\"v\":");
        write_u64(&mut tail, ENVELOPE_VERSION);
        tail.push_str("}}");
        assert_eq!(ENVELOPE_TAIL, tail);
    }

    #[test]
    fn envelopes_are_canonical_and_parse_back() {
        let e = Envelope {
            subject: "acc\"1".into(),
            gen: 2,
            nonce: [7; 12],
            data: vec![1; 20],
        };
        let mut text = String::new();
        e.write(&mut text);
        assert!(is_envelope(&text));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut canonical = String::new();
        crate::canonical::write_value(&mut canonical, &value, 0).unwrap();
        assert_eq!(text, canonical);
        assert_eq!(Envelope::parse(&text).unwrap(), e);
        let first = Envelope { gen: 1, ..e };
        let mut text = String::new();
        first.write(&mut text);
        assert!(!text.contains("gen"));
        assert_eq!(Envelope::parse(&text).unwrap().gen, 1);
    }

    #[test]
    fn malformed_envelopes_say_why() {
        for bad in [
            r#"{"$encrypted":{"data":"AAAAAAAAAAAAAAAAAAAAAA==","nonce":"AAAAAAAAAAAAAAAA","subject":"s","v":2}}"#,
            r#"{"$encrypted":{"data":"AAAA","nonce":"AAAAAAAAAAAAAAAA","subject":"s","v":1}}"#,
            r#"{"$encrypted":{"data":"AAAAAAAAAAAAAAAAAAAAAA==","nonce":"AAAA","subject":"s","v":1}}"#,
            r#"{"$encrypted":{"data":"AAAAAAAAAAAAAAAAAAAAAA==","nonce":"AAAAAAAAAAAAAAAA","subject":"s","v":1,"x":1}}"#,
            r#"{"$encrypted":{"data":"AAAAAAAAAAAAAAAAAAAAAA==","gen":0,"nonce":"AAAAAAAAAAAAAAAA","subject":"s","v":1}}"#,
            r#"{"$encrypted":5}"#,
            r#"{"$encrypted":{"data":"AAAAAAAAAAAAAAAAAAAAAA==","nonce":"AAAAAAAAAAAAAAAA","subject":"s","v":1},"y":1}"#,
        ] {
            assert!(Envelope::parse(bad).is_err(), "{bad}");
        }
    }
}
