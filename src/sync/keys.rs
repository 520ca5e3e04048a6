//! Personal data on a synced engine (docs/protocol.md, `GET /v1/keys`): the server seals what
//! it decides under its own keys, so a client opened with a key store asks the server for
//! the keys of the subjects its events name (the transport does the HTTP) and keeps them
//! under the server's key names. A subject the server forgot (`event: forget`) is forgotten
//! here too (the engine's own `forget`).

use serde_json::Value;

use crate::error::Error;
use crate::event::Event;
use crate::personal::envelope::decode_base64;
use crate::personal::Key;
use crate::storage::Storage;
use crate::Engine;

use super::client::SyncClient;

/// At most this many subjects per `GET /v1/keys` (the server's limit).
pub const MAX_SUBJECTS: usize = 1000;

impl SyncClient {
    /// The subjects whose keys `events` need and this engine lacks (ask `GET /v1/keys`).
    pub fn keys_needed<S: Storage>(&self, engine: &Engine<S>, events: &[Event]) -> Result<Vec<String>, Error> {
        engine.unknown_key_subjects(events)
    }

    /// Stores the keys of a `GET /v1/keys` answer (`{ keys: { name: base64 }, forgotten }`)
    /// in the engine's key store. A malformed answer is a `ValidationError` (nothing stored
    /// from it); the subjects left out or `forgotten` read as erased.
    pub async fn store_keys<S: Storage>(&self, engine: &Engine<S>, answer: &Value) -> Result<usize, Error> {
        let keys = parse_keys(answer)?;
        for (name, key) in &keys {
            engine.store_key(name, *key).await?;
        }
        Ok(keys.len())
    }

    /// The server forgot `subject` (`event: forget`): so does this engine (its keys deleted,
    /// what it folded from them rebuilt), and the optimistic view is decided again.
    pub async fn forget<S: Storage>(&self, engine: &Engine<S>, subject: &str) -> Result<(), Error> {
        engine.forget(subject).await?;
        self.borrow()?.redecide(engine)
    }
}

/// The `keys` of a `GET /v1/keys` answer, checked: names of 1 to 300 characters, keys of 32
/// bytes in base64.
fn parse_keys(answer: &Value) -> Result<Vec<(String, Key)>, Error> {
    let bad = |m: &str| Error::validation(format!("the server's answer to GET /v1/keys is malformed: {m}"));
    let keys = answer
        .get("keys")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no keys object"))?;
    let mut out = Vec::with_capacity(keys.len());
    for (name, value) in keys {
        if name.is_empty() || name.chars().count() > 300 {
            return Err(bad("a key name is empty or too long"));
        }
        let bytes = value
            .as_str()
            .and_then(decode_base64)
            .ok_or_else(|| bad("a key is not base64"))?;
        let key: Key = bytes.try_into().map_err(|_| bad("a key is not 32 bytes"))?;
        out.push((name.clone(), key));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_keys_and_refuses_malformed_answers() {
        let k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let keys = parse_keys(&json!({ "keys": { "acc": k, "acc\u{1f}2": k }, "forgotten": ["x"] })).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].1[31], 31);
        for bad in [
            json!({}),
            json!({ "keys": [] }),
            json!({ "keys": { "acc": "not base64!" } }),
            json!({ "keys": { "acc": "AAEC" } }),
            json!({ "keys": { "": k } }),
            json!({ "keys": { "acc": 5 } }),
        ] {
            assert!(matches!(parse_keys(&bad), Err(Error::Validation(_))), "{bad}");
        }
    }
}
