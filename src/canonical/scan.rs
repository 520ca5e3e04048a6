//! Recognising canonical text without parsing it: a cursor over JSON text that accepts only
//! what this module's writer would have written (keys sorted by UTF-16 code units, strings
//! escaped as `JSON.stringify` escapes them, numbers as JavaScript prints them, no
//! whitespace, at most half of [`MAX_DEPTH`] levels).
//!
//! Every method answers `None` for anything else, including text that is valid JSON but
//! written otherwise: the caller then parses and canonicalizes the slow way, which also
//! reports what is wrong. So the scanner may be stricter than the writer, never looser
//! (the property tests in `integrity/records.rs` compare both ways on random values).

use std::cmp::Ordering;

use super::{utf16_cmp, write_f64, MAX_DEPTH, MAX_SAFE_INTEGER};

/// Deepest nesting the scanner takes; deeper objects (rare) are left to the slow path, whose
/// parser also counts the levels around them (a page's array, the record).
const SCAN_DEPTH: usize = MAX_DEPTH / 2;

/// A position in JSON text.
pub struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        Scanner { text, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Steps over `byte` if it comes next.
    pub fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// True once all the text is read.
    pub fn at_end(&self) -> bool {
        self.at == self.text.len()
    }

    /// A string without escapes, as it is.
    pub fn plain_string(&mut self) -> Option<&'a str> {
        let (content, plain) = self.string()?;
        plain.then_some(content)
    }

    /// An integer written as JavaScript prints a safe integer (no fraction, no exponent,
    /// no leading zero, not `-0`).
    pub fn integer(&mut self) -> Option<i64> {
        let start = self.at;
        let negative = self.eat(b'-').is_some();
        let digits = self.digits();
        let text = &self.text[start + usize::from(negative)..self.at];
        if digits == 0 || digits > 16 || (text.starts_with('0') && (digits > 1 || negative)) {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let n: u64 = text.parse().ok()?;
        if n > MAX_SAFE_INTEGER {
            return None;
        }
        Some(if negative { -(n as i64) } else { n as i64 })
    }

    /// A canonical object, as its text.
    pub fn canonical_object(&mut self) -> Option<&'a str> {
        let start = self.at;
        if self.peek()? != b'{' {
            return None;
        }
        self.object(0)?;
        Some(&self.text[start..self.at])
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(|_| ()),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if depth >= SCAN_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut previous: Option<&str> = None;
        loop {
            // A key with escapes is rare enough to leave to the slow path.
            let key = self.plain_string()?;
            if previous.is_some_and(|p| utf16_cmp(p, key) != Ordering::Less) {
                return None;
            }
            previous = Some(key);
            self.eat(b':')?;
            self.value(depth + 1)?;
            if self.eat(b',').is_none() {
                return self.eat(b'}');
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth >= SCAN_DEPTH {
            return None;
        }
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            self.value(depth + 1)?;
            if self.eat(b',').is_none() {
                return self.eat(b']');
            }
        }
    }

    /// A string's content and whether it has no escapes; escapes must be the writer's.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let start = self.at;
        let mut plain = true;
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => return Some((&self.text[start..self.at - 1], plain)),
                b'\\' => {
                    plain = false;
                    self.escape()?;
                }
                0x00..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// The rest of an escape: `\" \\ \b \t \n \f \r`, or `\u00xx` (lowercase) for the other
    /// control characters.
    fn escape(&mut self) -> Option<()> {
        let byte = self.peek()?;
        self.at += 1;
        match byte {
            b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => Some(()),
            b'u' => {
                let hex = self.text.as_bytes().get(self.at..self.at + 4)?;
                self.at += 4;
                let low = match hex[3] {
                    c @ b'0'..=b'9' => c - b'0',
                    c @ b'a'..=b'f' => c - b'a' + 10,
                    _ => return None,
                };
                let code = match (hex[0], hex[1], hex[2]) {
                    (b'0', b'0', b'0') => low,
                    (b'0', b'0', b'1') => 0x10 + low,
                    _ => return None,
                };
                (!matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)).then_some(())
            }
            _ => None,
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let rest = &self.text[self.at..];
        rest.starts_with(word).then(|| self.at += word.len())
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// A number as JavaScript prints it: a short integer at a glance, anything else compared
    /// with what the writer makes of its value.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        let negative = self.eat(b'-').is_some();
        let digits = self.digits();
        if digits == 0 {
            return None;
        }
        let first = self.text.as_bytes()[start + usize::from(negative)];
        let more = matches!(self.peek(), Some(b'.' | b'e' | b'E'));
        if !more && first != b'0' && digits <= 15 {
            return Some(());
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if self.eat(b'e').is_some() || self.eat(b'E').is_some() {
            let _ = self.eat(b'+').is_some() || self.eat(b'-').is_some();
            if self.digits() == 0 {
                return None;
            }
        }
        let token = &self.text[start..self.at];
        let value: f64 = token.parse().ok()?;
        let mut written = String::with_capacity(token.len());
        write_f64(&mut written, value);
        (written == token).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Option<&str> {
        let mut s = Scanner::new(text);
        let o = s.canonical_object()?;
        s.at_end().then_some(o)
    }

    #[test]
    fn accepts_what_the_writer_writes() {
        for text in [
            "{}",
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            r#"{"amount":-5,"big":9007199254740991,"f":1.5,"g":1e+21,"h":1e-7,"z":0}"#,
            r#"{"s":"quote \" backslash \\ nl \n tab \t ctl \u0001 \u001f é 😀"}"#,
            // UTF-16 order: U+1F600 is D83D DE00, before U+E000
            "{\"\u{1f600}\":1,\"\u{e000}\":2}",
        ] {
            assert_eq!(object(text), Some(text), "{text}");
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let written = super::super::CanonicalJson::from_value(&v, "t").unwrap();
            assert_eq!(written.as_str(), text, "the writer agrees on {text}");
        }
    }

    #[test]
    fn leaves_everything_else_to_the_slow_path() {
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{ "a":1}"#,
            r#"{"a":01}"#,
            r#"{"a":-0}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1E+21}"#,
            r#"{"a":1e21}"#,
            r#"{"a":9007199254740993}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\u000a"}"#,
            r#"{"a":"\u001F"}"#,
            r#"{"a":"\/"}"#,
            r#"{"\u0061":1}"#,
            "{\"\u{e000}\":1,\"\u{1f600}\":2}",
            "{\"a\":\"\u{1}\"}",
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1"#,
            "[1]",
        ] {
            assert_eq!(object(text), None, "{text}");
        }
        let deep = format!(
            "{}{}",
            r#"{"a":"#.repeat(SCAN_DEPTH + 1),
            "1".to_owned() + &"}".repeat(SCAN_DEPTH + 1)
        );
        assert_eq!(object(&deep), None);
        let ok = format!(
            "{}{}",
            r#"{"a":"#.repeat(SCAN_DEPTH),
            "1".to_owned() + &"}".repeat(SCAN_DEPTH)
        );
        assert_eq!(object(&ok), Some(ok.as_str()));
    }

    #[test]
    fn integers() {
        let int = |t: &str| Scanner::new(t).integer();
        assert_eq!(int("0"), Some(0));
        assert_eq!(int("-12"), Some(-12));
        assert_eq!(int("9007199254740991"), Some(9007199254740991));
        for t in ["9007199254740992", "-0", "01", "1.0", "1e3", "-", ""] {
            assert_eq!(int(t), None, "{t}");
        }
    }
}
