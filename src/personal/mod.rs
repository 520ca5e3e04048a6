//! Personal data and crypto-shredding: declared fields are encrypted (AES-256-GCM, one key
//! per subject) before the event is hashed and stored, so the chain covers ciphertext;
//! `forget(subject)` deletes the key, and from then on those fields read as `null`.
//!
//! Here: declarations ([`PersonalData`]: which fields of an event type, and whose), and the
//! two halves of the work on one event's data, [`seal_fields`] (plain → stored) and
//! [`open_fields`] (stored → plain, or erased). `envelope.rs` is the stored form of one
//! value, `cipher.rs` the cipher, `keys.rs` the key store and the engine's key ring. The
//! engine calls these only through `crate::forms` (one function per direction).

pub mod cipher;
pub mod envelope;
mod keys;

use std::collections::HashMap;
use std::rc::Rc;

use crate::canonical::{members, CanonicalJson};
use crate::error::{IntegrityError, StateError, ValidationError};
use crate::log::EventView;

pub use cipher::{Key, Nonces};
pub use envelope::{is_envelope, Envelope, MARK_KEY};
pub use keys::{key_name, validate_subject, KeyFuture, KeyRing, KeyStore, Known, MemoryKeyStore, GENERATION_SEPARATOR};

/// Says whose personal data an event holds.
pub type SubjectFn = Rc<dyn Fn(&EventView<'_>) -> Result<String, StateError>>;

/// Which top-level fields of an event type are personal data, and whose (the subject whose
/// key encrypts them).
///
/// ```
/// use eventjournal::personal::PersonalData;
/// // The built-in Order declares its shipping address, keyed by the customer:
/// let declaration = PersonalData::new(["shippingAddress"], |event| {
///     event.str_field("customerId").map(|c| c.into_owned()).ok_or_else(|| "no customerId".into())
/// })
/// .unwrap();
/// assert_eq!(declaration.fields(), ["shippingAddress"]);
/// ```
#[derive(Clone)]
pub struct PersonalData {
    fields: Vec<String>,
    subject: SubjectFn,
}

impl PersonalData {
    /// A declaration of `fields` (top-level names of the event's data), whose subject
    /// `subject` computes from the event (as decided, with its id and position).
    pub fn new<I, F>(fields: I, subject: F) -> Result<Self, ValidationError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
        F: Fn(&EventView<'_>) -> Result<String, StateError> + 'static,
    {
        Self::with_subject_fn(fields.into_iter().map(Into::into).collect(), Rc::new(subject))
    }

    /// The same, with the subject function already shared.
    pub fn with_subject_fn(fields: Vec<String>, subject: SubjectFn) -> Result<Self, ValidationError> {
        if fields.is_empty() {
            return Err(ValidationError::new("fields must name at least one field"));
        }
        for (i, f) in fields.iter().enumerate() {
            let plain = !f.is_empty() && f.chars().all(|c| c >= ' ' && c != '"' && c != '\\');
            if !plain || f == envelope::MARK {
                return Err(ValidationError::new(format!(
                    "fields[{i}] must be a plain field name (not empty, no quotes, backslashes or control characters, not '$encrypted'), got {f:?}"
                )));
            }
            if fields[..i].contains(f) {
                return Err(ValidationError::new(format!("fields names '{f}' twice")));
            }
        }
        Ok(PersonalData { fields, subject })
    }

    /// The declared fields.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The subject of `event`, checked ([`validate_subject`]).
    pub fn subject_of(&self, event: &EventView<'_>) -> Result<String, ValidationError> {
        let subject = (self.subject)(event).map_err(|e| {
            ValidationError::new(format!(
                "the personal data of '{}' has no subject: subject() failed: {e}",
                event.event_type
            ))
        })?;
        validate_subject(&subject).map_err(|e| {
            ValidationError::new(format!(
                "the personal data of '{}' has a bad subject: {}",
                event.event_type, e.message
            ))
        })?;
        Ok(subject)
    }
}

/// The declarations of an engine, by event type.
#[derive(Clone, Default)]
pub struct Declarations {
    by_type: HashMap<String, PersonalData>,
}

impl Declarations {
    /// Declares (or re-declares) the personal data of an event type; it applies to events
    /// decided from now on (stored events describe themselves).
    pub fn define(&mut self, event_type: &str, declaration: PersonalData) -> Result<(), ValidationError> {
        crate::event::validate_name("event type", event_type)?;
        self.by_type.insert(event_type.to_owned(), declaration);
        Ok(())
    }

    /// The declaration of an event type, if any.
    pub fn get(&self, event_type: &str) -> Option<&PersonalData> {
        if self.by_type.is_empty() {
            return None;
        }
        self.by_type.get(event_type)
    }

    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }
}

/// Replaces each declared field present in `data` (and not `null`) by its envelope, sealed
/// with `key` (generation `gen` of `subject`). `None` when no field is present. `scratch`:
/// a buffer the caller keeps (the stored data is written there, then copied once).
pub fn seal_fields(
    data: &str,
    fields: &[String],
    seal: &SealWith<'_>,
    nonces: &mut Nonces,
    scratch: &mut String,
) -> Result<Option<CanonicalJson>, crate::error::StorageError> {
    let changed = map_members(data, scratch, |key, raw, out| {
        if raw == "null" || !fields.iter().any(|f| f == key) {
            out.push_str(raw);
            return Ok(false);
        }
        let nonce = nonces.draw()?;
        let sealed = cipher::seal(seal.key, &nonce, seal.event_id, key, raw.as_bytes());
        Envelope {
            subject: seal.subject.into(),
            gen: seal.gen,
            nonce,
            data: sealed,
        }
        .write(out);
        Ok(true)
    })?;
    // Members of canonical text, values canonical: the result is canonical.
    Ok(changed.then(|| CanonicalJson::from_trusted(scratch)))
}

/// Rewrites a canonical JSON object member by member into `out` (cleared first):
/// `value(key, raw, out)` writes the member's value into `out` and says whether it changed
/// it. `false` when nothing changed (`out` is then not the whole object).
fn map_members<E>(
    data: &str,
    out: &mut String,
    mut value: impl FnMut(&str, &str, &mut String) -> Result<bool, E>,
) -> Result<bool, E> {
    out.clear();
    out.reserve(data.len());
    let mut changed = false;
    for (i, (key, range)) in members(data).enumerate() {
        out.push(if i == 0 { '{' } else { ',' });
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        changed |= value(key, &data[range], out)?;
    }
    if changed {
        out.push('}');
    }
    Ok(changed)
}

/// Whose key, for [`seal_fields`].
pub struct SealWith<'a> {
    pub subject: &'a str,
    pub gen: u32,
    pub key: &'a Key,
    pub event_id: &'a str,
}

/// Why stored data could not be opened.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenError {
    /// The ciphertext or its envelope is broken, or the key is not the one it was sealed
    /// with.
    Integrity(IntegrityError),
    /// The engine never fetched the key (a bug: keys are fetched before events commit).
    NotFetched(String),
}

/// The plain data: each envelope replaced by its decrypted value, or by `null` when its
/// key is gone (the field's name then goes into the returned `erased` list). `None` when
/// the data holds no envelope.
pub fn open_fields(
    data: &str,
    ring: &KeyRing,
    event_id: &str,
    position: u64,
) -> Result<Option<(CanonicalJson, Vec<String>)>, OpenError> {
    let bad = |m: String| OpenError::Integrity(IntegrityError::at(position, m));
    let mut erased = Vec::new();
    let mut out = String::new();
    let changed = map_members(data, &mut out, |key, raw, out| {
        if !is_envelope(raw) {
            out.push_str(raw);
            return Ok(false);
        }
        let name = unescape_key(key);
        let envelope = Envelope::parse(raw).map_err(|m| bad(format!("field '{name}': {m}")))?;
        match ring.key(&envelope.subject, envelope.gen) {
            Known::Absent => {
                out.push_str("null");
                erased.push(name);
            }
            Known::Unknown => return Err(OpenError::NotFetched(key_name(&envelope.subject, envelope.gen))),
            Known::Present(k) => {
                // The tag authenticates the plaintext as the canonical value that was sealed.
                let plain = cipher::open(k, &envelope.nonce, event_id, &name, &envelope.data)
                    .and_then(|p| String::from_utf8(p).ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "field '{name}' does not decrypt with the key of subject '{}' (a wrong key, or a tampered value)",
                            envelope.subject
                        ))
                    })?;
                out.push_str(&plain);
            }
        }
        Ok(true)
    })?;
    Ok(changed.then(|| (CanonicalJson::from_trusted(&out), erased)))
}

/// The key-store subject of the key that seals stored projection snapshots (U+001F cannot
/// be in a subject, so it is nobody's). Each `forget` replaces it with the next generation
/// and deletes the old one, so a copy of an old snapshot left anywhere (a WAL, a LevelDB log,
/// a freed page) no longer opens.
pub const SNAPSHOT_SUBJECT: &str = "\u{1f}snapshots";

/// A snapshot's state sealed under the snapshot key: an envelope (JSON text) whose
/// associated data is the snapshot's storage key.
pub fn seal_snapshot_state(
    state: &str,
    storage_key: &str,
    gen: u32,
    key: &Key,
    nonces: &mut Nonces,
) -> Result<String, crate::error::StorageError> {
    let nonce = nonces.draw()?;
    let mut out = String::with_capacity(state.len() * 4 / 3 + 160);
    Envelope {
        subject: SNAPSHOT_SUBJECT.into(),
        gen,
        nonce,
        data: cipher::seal(key, &nonce, storage_key, "state", state.as_bytes()),
    }
    .write(&mut out);
    Ok(out)
}

/// The generation of the snapshot key a sealed snapshot state needs (`None`: not sealed).
pub fn snapshot_state_gen(state: &str) -> Option<u32> {
    if !is_envelope(state) {
        return None;
    }
    Envelope::parse(state)
        .ok()
        .filter(|e| e.subject == SNAPSHOT_SUBJECT)
        .map(|e| e.gen)
}

/// Opens a sealed snapshot state; `None` when it does not open with `key`.
pub fn open_snapshot_state(state: &str, storage_key: &str, key: &Key) -> Option<String> {
    let envelope = Envelope::parse(state).ok()?;
    let plain = cipher::open(key, &envelope.nonce, storage_key, "state", &envelope.data)?;
    String::from_utf8(plain).ok()
}

/// The envelopes of stored data: each one's field name, subject and generation.
pub fn envelopes_of(data: &str) -> impl Iterator<Item = (String, Result<Envelope<'_>, String>)> + '_ {
    members(data)
        .filter(move |(_, r)| is_envelope(&data[r.clone()]))
        .map(move |(key, r)| (unescape_key(key), Envelope::parse(&data[r])))
}

/// A raw key as its string value.
fn unescape_key(raw: &str) -> String {
    if raw.contains('\\') {
        match serde_json::from_str(&format!("\"{raw}\"")) {
            Ok(serde_json::Value::String(s)) => s,
            _ => raw.to_owned(),
        }
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6";

    fn sealed(data: &str, key: &Key) -> CanonicalJson {
        let with = SealWith {
            subject: "acc",
            gen: 1,
            key,
            event_id: ID,
        };
        seal_fields(
            data,
            &["holder".into(), "x".into()],
            &with,
            &mut Nonces::default(),
            &mut String::new(),
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn sealed_fields_open_to_the_same_data_or_to_null() {
        let key = cipher::new_key().unwrap();
        let data = r#"{"amount":5,"holder":{"name":"Ada","tags":["a"]},"x":null}"#;
        let stored = sealed(data, &key);
        assert!(!stored.as_str().contains("Ada"));
        assert!(stored.as_str().contains("\"x\":null"));
        let mut ring = KeyRing::default();
        assert_eq!(
            open_fields(stored.as_str(), &ring, ID, 3),
            Err(OpenError::NotFetched("acc".into()))
        );
        ring.insert("acc", 1, Some(key));
        let (plain, erased) = open_fields(stored.as_str(), &ring, ID, 3).unwrap().unwrap();
        assert_eq!(plain.as_str(), data);
        assert!(erased.is_empty());
        ring.forget("acc");
        let (plain, erased) = open_fields(stored.as_str(), &ring, ID, 3).unwrap().unwrap();
        assert_eq!(plain.as_str(), r#"{"amount":5,"holder":null,"x":null}"#);
        assert_eq!(erased, ["holder"]);
        assert_eq!(open_fields(data, &ring, ID, 3), Ok(None));
    }

    #[test]
    fn a_wrong_key_or_a_moved_value_is_an_integrity_error() {
        let key = cipher::new_key().unwrap();
        let stored = sealed(r#"{"holder":"Ada"}"#, &key);
        let mut ring = KeyRing::default();
        ring.insert("acc", 1, Some(cipher::new_key().unwrap()));
        let Err(OpenError::Integrity(e)) = open_fields(stored.as_str(), &ring, ID, 9) else {
            panic!("a wrong key must not open");
        };
        assert_eq!(e.position, 9);
        ring.insert("acc", 1, Some(key));
        let moved = stored.as_str().replace("\"holder\"", "\"x\"");
        assert!(matches!(
            open_fields(&moved, &ring, ID, 9),
            Err(OpenError::Integrity(_))
        ));
        let other_event = ID.replace('f', "0");
        assert!(matches!(
            open_fields(stored.as_str(), &ring, &other_event, 9),
            Err(OpenError::Integrity(_))
        ));
    }

    #[test]
    fn snapshot_states_are_sealed_to_their_storage_key() {
        let key = cipher::new_key().unwrap();
        let sealed = seal_snapshot_state(r#"{"a":"Ada"}"#, "projection:p", 3, &key, &mut Nonces::default()).unwrap();
        assert!(!sealed.contains("Ada"));
        assert_eq!(snapshot_state_gen(&sealed), Some(3));
        assert_eq!(snapshot_state_gen(r#"{"a":1}"#), None);
        assert_eq!(
            open_snapshot_state(&sealed, "projection:p", &key).as_deref(),
            Some(r#"{"a":"Ada"}"#)
        );
        assert_eq!(open_snapshot_state(&sealed, "projection:q", &key), None);
        assert_eq!(open_snapshot_state(&sealed, "projection:p", &[0; 32]), None);
    }

    #[test]
    fn declarations_check_their_fields() {
        let subject = |_: &EventView<'_>| Ok("s".to_owned());
        assert!(PersonalData::new(Vec::<String>::new(), subject).is_err());
        assert!(PersonalData::new(["a", "a"], subject).is_err());
        assert!(PersonalData::new(["$encrypted"], subject).is_err());
        assert!(PersonalData::new(["a\"b"], subject).is_err());
        assert!(PersonalData::new(["a", "b"], subject).is_ok());
    }
}
