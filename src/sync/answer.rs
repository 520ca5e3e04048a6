//! What the server answered, classified (docs/protocol.md, "Final and unknown outcomes"):
//!
//! | answer | meaning | the client |
//! |---|---|---|
//! | `ok: true` | accepted, durably | keeps the entry until its events arrive |
//! | `DOMAIN`, `VALIDATION`, `CONCURRENCY`, `FORBIDDEN`, `NOT_FOUND` | a final refusal | drops it, reports it once |
//! | anything else, an HTTP error, no answer | the outcome is unknown | sends the same `commandId` again later |
//!
//! and what to do after a request failed as a whole ([`Verdict`]). The refusals become the
//! engine's own typed errors, so `onRejected` and `settled` see the classes `execute` throws.

use serde_json::{Map, Value};

use crate::error::{ConcurrencyError, Error, ForbiddenError, NotFoundError, NotFoundKind};

/// The server's answer to one pushed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Accepted; its last event is at `position` in the server's log.
    Accepted { position: u64 },
    /// A final refusal.
    Refused(Error),
    /// The outcome is unknown (e.g. `STORAGE`): send it again later.
    Unknown(RemoteError),
}

/// One result of `POST /v1/commands`.
#[derive(Debug, Clone, PartialEq)]
pub struct PushResult {
    pub command_id: String,
    pub answer: Answer,
}

/// An error the server (or the network) reported, as it was reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub name: String,
    pub code: String,
    pub message: String,
    /// The HTTP status, when the error was a whole request's.
    pub status: Option<u16>,
}

impl RemoteError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        RemoteError {
            name: name_of(code).to_owned(),
            code: code.to_owned(),
            message: message.into(),
            status: None,
        }
    }
}

/// The error class name of a wire code.
fn name_of(code: &str) -> &'static str {
    match code {
        "UNAUTHENTICATED" => "UnauthenticatedError",
        "FORBIDDEN" => "ForbiddenError",
        "PROTOCOL" => "ProtocolError",
        "NETWORK" => "NetworkError",
        "VALIDATION" => "ValidationError",
        "NOT_FOUND" => "NotFoundError",
        "CLOSED" => "ClosedError",
        "STORAGE" => "StorageError",
        "BUSY" => "BusyError",
        _ => "InternalError",
    }
}

/// What to do after a request failed as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again later (with backoff).
    Retry,
    /// Send smaller batches (HTTP 413).
    Shrink,
    /// Stop syncing: retrying cannot help (another protocol version).
    Stop,
}

/// The verdict on an HTTP error status (`code` from its body, when it had one).
pub fn verdict(status: u16, code: Option<&str>) -> Verdict {
    match (status, code) {
        (400, Some("PROTOCOL")) => Verdict::Stop,
        (413, _) => Verdict::Shrink,
        _ => Verdict::Retry,
    }
}

/// A final refusal from its wire form `{ name, code, message, ... }`; `None` when the code
/// is not one of the final refusals.
pub fn refusal_from_wire(error: &Value) -> Option<Error> {
    let text = |k: &str| error.get(k).and_then(Value::as_str);
    let message = text("message").unwrap_or("refused by the server").to_owned();
    Some(match text("code")? {
        "DOMAIN" => Error::domain(message),
        "VALIDATION" => Error::validation(message),
        "FORBIDDEN" => Error::Forbidden(ForbiddenError { message }),
        "NOT_FOUND" => Error::NotFound(NotFoundError {
            kind: NotFoundKind::StreamType,
            name: text("what").unwrap_or_default().to_owned(),
            message,
        }),
        "CONCURRENCY" => Error::Concurrency(ConcurrencyError {
            message,
            stream_id: text("streamId").unwrap_or_default().to_owned(),
            expected: error.get("expectedVersion").and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
            actual: error.get("actualVersion").and_then(Value::as_u64).unwrap_or(0),
        }),
        _ => return None,
    })
}

/// A refusal in its wire form (as an outbox entry's `outcome` keeps it).
pub fn refusal_to_wire(error: &Error) -> Map<String, Value> {
    let (name, code) = match error {
        Error::Domain(_) => ("DomainError", "DOMAIN"),
        Error::Validation(_) => ("ValidationError", "VALIDATION"),
        Error::Forbidden(_) => ("ForbiddenError", "FORBIDDEN"),
        Error::NotFound(_) => ("NotFoundError", "NOT_FOUND"),
        Error::Concurrency(_) => ("ConcurrencyError", "CONCURRENCY"),
        _ => ("InternalError", "INTERNAL"),
    };
    let mut map = Map::new();
    let mut put = |k: &str, v: Value| {
        map.insert(k.to_owned(), v);
    };
    put("name", Value::from(name));
    put("code", Value::from(code));
    put("message", Value::from(error.message()));
    if let Error::Concurrency(c) = error {
        put("streamId", Value::from(c.stream_id.as_str()));
        put("actualVersion", Value::from(c.actual));
        if let Some(expected) = &c.expected {
            put(
                "expectedVersion",
                expected
                    .parse::<u64>()
                    .map_or_else(|_| Value::from(expected.as_str()), Value::from),
            );
        }
    }
    map
}

/// A remote error from a wire error object (anything unreadable is `INTERNAL`).
pub fn remote_from_wire(error: &Value, status: Option<u16>) -> RemoteError {
    let text = |k: &str| error.get(k).and_then(Value::as_str);
    let code = text("code").filter(|c| is_code(c)).unwrap_or("INTERNAL");
    RemoteError {
        name: text("name").map_or_else(|| name_of(code).to_owned(), str::to_owned),
        code: code.to_owned(),
        message: text("message").unwrap_or("the server gave no message").to_owned(),
        status,
    }
}

fn is_code(c: &str) -> bool {
    !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// Classifies one result object of `POST /v1/commands`.
pub fn classify(result: &Map<String, Value>) -> Option<PushResult> {
    let command_id = result.get("commandId")?.as_str()?.to_owned();
    let answer = if result.get("ok") == Some(&Value::Bool(true)) {
        Answer::Accepted {
            position: result.get("position").and_then(Value::as_u64).unwrap_or(0),
        }
    } else {
        let error = result.get("error").cloned().unwrap_or(Value::Null);
        match refusal_from_wire(&error) {
            Some(e) => Answer::Refused(e),
            None => Answer::Unknown(remote_from_wire(&error, None)),
        }
    };
    Some(PushResult { command_id, answer })
}

/// The results of a `POST /v1/commands` answer body (`{ results: [...] }`); results that
/// name no command are skipped (nothing can be done with them). A body of another shape is
/// `None`: the whole request's outcome is unknown.
pub fn parse_results(body: &Value) -> Option<Vec<PushResult>> {
    let results = body.get("results")?.as_array()?;
    Some(
        results
            .iter()
            .filter_map(|r| r.as_object().and_then(classify))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    #[test]
    fn final_refusals_are_typed_and_the_rest_unknown() {
        let body = json!({ "results": [
            { "commandId": "a", "ok": true, "events": [], "version": 2, "position": 7 },
            { "commandId": "b", "ok": false, "error": { "name": "DomainError", "code": "DOMAIN", "message": "Insufficient funds" } },
            { "commandId": "c", "ok": false, "error": { "code": "CONCURRENCY", "message": "m", "streamId": "s", "expectedVersion": 1, "actualVersion": 3 } },
            { "commandId": "d", "ok": false, "error": { "code": "FORBIDDEN", "message": "no" } },
            { "commandId": "e", "ok": false, "error": { "code": "NOT_FOUND", "message": "unknown stream type" } },
            { "commandId": "f", "ok": false, "error": { "code": "VALIDATION", "message": "bad" } },
            { "commandId": "g", "ok": false, "error": { "code": "STORAGE", "message": "disk" } },
            { "commandId": "h", "ok": false, "error": { "code": "INTERNAL", "message": "bug" } },
            { "commandId": "i", "ok": false },
            { "ok": true },
            "junk",
        ]});
        let r = parse_results(&body).unwrap();
        assert_eq!(r.len(), 9);
        assert_eq!(r[0].answer, Answer::Accepted { position: 7 });
        let kinds: Vec<Option<ErrorKind>> = r
            .iter()
            .map(|p| match &p.answer {
                Answer::Refused(e) => Some(e.kind()),
                _ => None,
            })
            .collect();
        use ErrorKind::*;
        assert_eq!(
            kinds,
            vec![
                None,
                Some(Domain),
                Some(Concurrency),
                Some(Forbidden),
                Some(NotFound),
                Some(Validation),
                None,
                None,
                None
            ]
        );
        let Answer::Refused(Error::Concurrency(c)) = &r[2].answer else {
            panic!()
        };
        assert_eq!(
            (c.stream_id.as_str(), c.expected.as_deref(), c.actual),
            ("s", Some("1"), 3)
        );
        let Answer::Unknown(u) = &r[6].answer else { panic!() };
        assert_eq!((u.name.as_str(), u.code.as_str()), ("StorageError", "STORAGE"));
        let Answer::Unknown(u) = &r[8].answer else { panic!() };
        assert_eq!(u.code, "INTERNAL");
        assert!(parse_results(&json!({ "nope": 1 })).is_none());
        assert!(parse_results(&json!({ "results": 5 })).is_none());
    }

    #[test]
    fn refusals_round_trip_through_their_wire_form() {
        for e in [
            Error::domain("Insufficient funds"),
            Error::validation("bad"),
            Error::Forbidden(ForbiddenError { message: "no".into() }),
            Error::Concurrency(ConcurrencyError {
                message: "m".into(),
                stream_id: "s".into(),
                expected: Some("exists".into()),
                actual: 0,
            }),
        ] {
            let back = refusal_from_wire(&Value::Object(refusal_to_wire(&e))).unwrap();
            assert_eq!(back, e);
        }
        assert!(refusal_from_wire(&json!({ "code": "STORAGE", "message": "x" })).is_none());
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(400, Some("PROTOCOL")), Verdict::Stop);
        assert_eq!(verdict(400, Some("VALIDATION")), Verdict::Retry);
        assert_eq!(verdict(413, Some("VALIDATION")), Verdict::Shrink);
        for s in [401, 403, 404, 408, 500, 502, 503] {
            assert_eq!(verdict(s, None), Verdict::Retry);
        }
        let r = remote_from_wire(&json!({ "code": "lower", "message": 5 }), Some(500));
        assert_eq!(
            (r.code.as_str(), r.name.as_str(), r.status),
            ("INTERNAL", "InternalError", Some(500))
        );
    }
}
