//! Decoding what a storage returned into events: exactly the ten fields of the contract, of
//! the right types. Content (ids, hashes, versions, the chain) is checked by
//! [`super::check_next`].
//!
//! A page of records the engine wrote itself, read back unchanged, is already canonical:
//! `JSON.stringify` of a stored record writes its data and metadata byte for byte as the
//! engine hashed them. [`decode_records`] first tries to take such a page as it is, without
//! building a JSON tree ([`fast_page`]); any page it does not recognise is parsed and
//! canonicalized field by field, which also says what is wrong with a bad one.

use serde_json::{Map, Value};

use crate::canonical::{kind_of, CanonicalJson, Scanner, MAX_SAFE_INTEGER};
use crate::error::{Error, IntegrityError, StorageError, StorageFailure};
use crate::event::{Event, EVENT_FIELDS, MAX_EVENT_BYTES};

/// Decodes what a storage returned (JSON text of an array of records) into events. Text that
/// is not a JSON array is a `StorageError` (malformed); a record that is not an event is an
/// `IntegrityError` naming the position it should have had (`after + index + 1`).
pub fn decode_records(text: &str, after: u64) -> Result<Vec<Event>, Error> {
    match fast_page(text) {
        Some(events) => Ok(events),
        None => parse_page(text, after),
    }
}

/// [`decode_records`] the slow way: parsed, and each record's data and metadata
/// canonicalized.
fn parse_page(text: &str, after: u64) -> Result<Vec<Event>, Error> {
    // Parsed as a `Value` (the one serde_json target in the module, see BENCHMARKS.md
    // target 10), then taken as an array.
    let malformed = |why: &dyn std::fmt::Display| {
        StorageError::new(
            StorageFailure::Malformed,
            format!("readEvents returned something that is not a JSON array of records: {why}"),
        )
    };
    let records = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(records)) => records,
        Ok(other) => return Err(malformed(&format_args!("got {}", crate::canonical::kind_of(&other))).into()),
        Err(e) => return Err(malformed(&e).into()),
    };
    records
        .into_iter()
        .enumerate()
        .map(|(i, r)| decode_record(r, after.saturating_add(i as u64 + 1)).map_err(Error::from))
        .collect()
}

/// Decodes one stored record: an object with exactly the ten fields of the right types.
/// Content (ids, hashes, versions, the chain) is checked by [`super::check_next`].
pub fn decode_record(value: Value, expected_position: u64) -> Result<Event, IntegrityError> {
    let bad = |m: String| IntegrityError::at(expected_position, m);
    let Value::Object(fields) = value else {
        return Err(bad(format!(
            "stored record is {}, not an event object",
            kind_of(&value)
        )));
    };
    if let Some(extra) = fields.keys().find(|k| !EVENT_FIELDS.contains(&k.as_str())) {
        return Err(bad(format!(
            "stored record has an unexpected field '{}'",
            truncated(extra)
        )));
    }
    let mut r = Record {
        fields,
        position: expected_position,
    };
    let event = Event {
        id: r.text("id")?,
        stream_id: r.text("streamId")?,
        stream_type: r.text("streamType")?,
        event_type: r.text("type")?,
        data: r.object("data")?,
        metadata: r.object("metadata")?,
        timestamp: r.int("timestamp", 0)?,
        version: r.int("version", 1)? as u64,
        position: r.int("position", 1)? as u64,
        hash: r.text("hash")?,
        erased: Vec::new(),
    };
    if event.data.len() + event.metadata.len() > MAX_EVENT_BYTES {
        return Err(bad(format!(
            "stored record's data and metadata exceed {MAX_EVENT_BYTES} bytes"
        )));
    }
    Ok(event)
}

/// A page as `JSON.stringify` writes records this engine stored: every record an object of
/// the ten fields, once each, strings without escapes, integers as JavaScript prints them,
/// data and metadata canonical objects, no whitespace. `None` for anything else (the slow
/// path then decodes the page, or says what is wrong with it): for any text, the events
/// given here are those the slow path gives.
fn fast_page(text: &str) -> Option<Vec<Event>> {
    let mut s = Scanner::new(text);
    s.eat(b'[')?;
    let mut events = Vec::new();
    if s.eat(b']').is_none() {
        loop {
            events.push(fast_record(&mut s)?);
            if s.eat(b',').is_none() {
                s.eat(b']')?;
                break;
            }
        }
    }
    s.at_end().then_some(events)
}

/// One record of [`fast_page`].
fn fast_record(s: &mut Scanner<'_>) -> Option<Event> {
    let (mut id, mut stream_id, mut stream_type, mut event_type, mut hash) = (None, None, None, None, None);
    let (mut data, mut metadata, mut timestamp, mut version, mut position) = (None, None, None, None, None);
    s.eat(b'{')?;
    loop {
        let key = s.plain_string()?;
        s.eat(b':')?;
        let slot_is_free = match key {
            "id" => id.replace(s.plain_string()?).is_none(),
            "streamId" => stream_id.replace(s.plain_string()?).is_none(),
            "streamType" => stream_type.replace(s.plain_string()?).is_none(),
            "type" => event_type.replace(s.plain_string()?).is_none(),
            "hash" => hash.replace(s.plain_string()?).is_none(),
            "data" => data.replace(s.canonical_object()?).is_none(),
            "metadata" => metadata.replace(s.canonical_object()?).is_none(),
            "timestamp" => timestamp.replace(s.integer()?).is_none(),
            "version" => version.replace(s.integer()?).is_none(),
            "position" => position.replace(s.integer()?).is_none(),
            _ => false,
        };
        if !slot_is_free {
            return None;
        }
        if s.eat(b',').is_none() {
            s.eat(b'}')?;
            break;
        }
    }
    let (data, metadata) = (data?, metadata?);
    if data.len() + metadata.len() > MAX_EVENT_BYTES {
        return None;
    }
    let at_least = |n: Option<i64>, min: i64| n.filter(|n| *n >= min);
    Some(Event {
        id: id?.to_owned(),
        stream_id: stream_id?.to_owned(),
        stream_type: stream_type?.to_owned(),
        event_type: event_type?.to_owned(),
        data: CanonicalJson::from_trusted(data),
        metadata: CanonicalJson::from_trusted(metadata),
        timestamp: at_least(timestamp, 0)?,
        version: at_least(version, 1)? as u64,
        position: at_least(position, 1)? as u64,
        hash: hash?.to_owned(),
        erased: Vec::new(),
    })
}

/// The fields of a stored record, taken one by one with their type checked.
struct Record {
    fields: Map<String, Value>,
    position: u64,
}

impl Record {
    fn take(&mut self, k: &str) -> Result<Value, IntegrityError> {
        self.fields
            .remove(k)
            .ok_or_else(|| IntegrityError::at(self.position, format!("stored record lacks the field '{k}'")))
    }

    fn text(&mut self, k: &str) -> Result<String, IntegrityError> {
        match self.take(k)? {
            Value::String(s) => Ok(s),
            other => Err(IntegrityError::at(
                self.position,
                format!("field '{k}' must be a string, got {}", kind_of(&other)),
            )),
        }
    }

    /// A safe integer of at least `min`.
    fn int(&mut self, k: &str, min: i64) -> Result<i64, IntegrityError> {
        let v = self.take(k)?;
        let n = v
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64);
        match n {
            Some(f) if f as i64 >= min => Ok(f as i64),
            _ => Err(IntegrityError::at(
                self.position,
                format!(
                    "field '{k}' must be an integer ≥ {min}, got {}",
                    truncated(&crate::canonical::to_text(&v).unwrap_or_default())
                ),
            )),
        }
    }

    fn object(&mut self, k: &str) -> Result<CanonicalJson, IntegrityError> {
        CanonicalJson::from_value(&self.take(k)?, &format!("field '{k}'"))
            .map_err(|e| IntegrityError::at(self.position, e.message))
    }
}

/// At most 80 characters of `s`, for messages about hostile input.
fn truncated(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_are_not_a_json_array_are_malformed() {
        for (text, why) in [("{}", "got an object"), ("null", "got null"), ("[1,", "EOF")] {
            let Err(Error::Storage(e)) = decode_records(text, 0) else {
                panic!("{text} was accepted");
            };
            assert_eq!(e.reason, StorageFailure::Malformed, "{text}");
            assert!(e.message.contains("not a JSON array of records"), "{}", e.message);
            assert!(e.message.contains(why), "{}", e.message);
        }
        assert!(decode_records("[]", 0).unwrap().is_empty());
    }

    /// Records as the engine stores them, in the order `JSON.stringify` gives them back.
    fn stored_text(data: &str, metadata: &str, position: u64) -> String {
        format!(
            r#"{{"id":"0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","streamId":"acc_1","streamType":"BankAccount","type":"money_deposited","data":{data},"metadata":{metadata},"timestamp":1700000000000,"version":{position},"position":{position},"hash":"{}"}}"#,
            "ab".repeat(32)
        )
    }

    #[test]
    fn a_page_the_engine_wrote_is_taken_as_it_is() {
        let page = format!(
            "[{},{}]",
            stored_text(r#"{"amount":5,"note":"a \"b\"\n"}"#, "{}", 1),
            stored_text("{}", r#"{"commandId":"c1"}"#, 2)
        );
        let fast = fast_page(&page).expect("the fast path takes it");
        assert_eq!(fast, parse_page(&page, 0).unwrap());
        assert_eq!(fast[0].data.as_str(), r#"{"amount":5,"note":"a \"b\"\n"}"#);
        assert_eq!(fast_page("[]"), Some(Vec::new()));
    }

    #[test]
    fn anything_unusual_takes_the_slow_path_with_its_errors() {
        let good = stored_text("{}", "{}", 1);
        for page in [
            format!("[{}]", good.replace(r#""data":{}"#, r#""data":{"b":1,"a":2}"#)),
            format!("[{}]", good.replace(r#""version":1"#, r#""version":1.0"#)),
            format!(
                "[{}]",
                good.replace(r#""streamId":"acc_1""#, r#""streamId":"acc\u005f1""#)
            ),
            format!("[{}]", good.replace(r#","hash""#, r#","extra":1,"hash""#)),
            format!("[{}]", good.replace(r#""version":1,"#, "")),
            format!("[{}]", good.replace(r#""version":1,"#, r#""version":0,"#)),
            format!("[{}]", good.replace(r#""data":{}"#, r#""data":[]"#)),
            format!(
                "[{}]",
                good.replace(r#""position":1,"#, r#""position":1,"position":1,"#)
            ),
            format!("[ {good}]"),
            format!("[{good}]x"),
        ] {
            assert_eq!(fast_page(&page), None, "{page}");
        }
        // ...where the unusual but valid is read as before, and the wrong says what is wrong
        let unsorted = format!("[{}]", good.replace(r#""data":{}"#, r#""data":{"b":1,"a":2}"#));
        assert_eq!(
            decode_records(&unsorted, 0).unwrap()[0].data.as_str(),
            r#"{"a":2,"b":1}"#
        );
        let extra = format!("[{}]", good.replace(r#","hash""#, r#","extra":1,"hash""#));
        let Err(Error::Integrity(e)) = decode_records(&extra, 0) else {
            panic!("accepted")
        };
        assert!(e.message.contains("unexpected field 'extra'"), "{}", e.message);
    }

    // proptest is a dev-dependency of the host build only
    #[cfg(not(target_arch = "wasm32"))]
    mod differential {
        use super::*;
        use proptest::prelude::*;

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                (-1e22f64..1e22).prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Value::from),
                "[a-c\\\\\"\n\u{1}\u{1f}é\u{e000}😀\u{2028}]{0,6}".prop_map(Value::String),
            ]
        }

        fn json() -> impl Strategy<Value = Value> {
            leaf().prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map("[a-c_é😀\u{e000}\\\\1]{0,3}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn object() -> impl Strategy<Value = Map<String, Value>> {
            prop::collection::btree_map("[a-c_é😀\u{e000}1]{0,3}", json(), 0..5).prop_map(|m| m.into_iter().collect())
        }

        fn plain_keys(v: &Value) -> bool {
            match v {
                Value::Array(items) => items.iter().all(plain_keys),
                Value::Object(m) => m.iter().all(|(k, v)| !k.contains(['\\', '"']) && plain_keys(v)),
                _ => true,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Whatever text the fast path takes, it reads as the slow path does; and it takes
            /// every page of canonical records.
            #[test]
            fn the_fast_path_agrees_with_the_slow_one(data in object(), metadata in object(), version in 0i64..3) {
                let canonical = |m: &Map<String, Value>| CanonicalJson::from_map(m, "x").unwrap();
                let (d, m) = (canonical(&data), canonical(&metadata));
                let engine_written = stored_text(d.as_str(), m.as_str(), 1);
                let plain_serde = stored_text(
                    &serde_json::to_string(&data).unwrap(),
                    &serde_json::to_string(&metadata).unwrap(),
                    1,
                ).replace(r#""version":1"#, &format!(r#""version":{version}"#));
                for page in [format!("[{engine_written}]"), format!("[{plain_serde}]")] {
                    if let Some(fast) = fast_page(&page) {
                        prop_assert_eq!(&fast, &parse_page(&page, 0).unwrap());
                    }
                }
                // (keys that need escapes are left to the slow path)
                let page = format!("[{engine_written}]");
                let plain = |m: &Map<String, Value>| plain_keys(&Value::Object(m.clone()));
                if plain(&data) && plain(&metadata) {
                    prop_assert!(fast_page(&page).is_some(), "not taken: {}", page);
                }
            }
        }
    }
}
