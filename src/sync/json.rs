//! The JSON a synced engine answers with (the binding parses it once): pending events,
//! `execute`'s result, and the commands of a push as the wire protocol sends them.
//!
//! A pending event is an event with `position: null`, `hash: null` and `pending: true`
//! (its `version` is the optimistic one); confirmed events are written as everywhere else.

use crate::canonical::{write_i64, write_string, write_u64};
use crate::event::Event;

use super::outbox::OutboxEntry;
use super::overlay::SyncResult;

/// Writes a pending event.
pub fn write_pending_event(out: &mut String, e: &Event) {
    out.push_str("{\"id\":");
    write_string(out, &e.id);
    out.push_str(",\"streamId\":");
    write_string(out, &e.stream_id);
    out.push_str(",\"streamType\":");
    write_string(out, &e.stream_type);
    out.push_str(",\"type\":");
    write_string(out, &e.event_type);
    out.push_str(",\"data\":");
    out.push_str(e.data.as_str());
    out.push_str(",\"metadata\":");
    out.push_str(e.metadata.as_str());
    out.push_str(",\"timestamp\":");
    write_i64(out, e.timestamp);
    out.push_str(",\"version\":");
    write_u64(out, e.version);
    out.push_str(",\"position\":null,\"hash\":null,\"pending\":true}");
}

/// `{ events, version, position, pending, commandId }`.
pub fn result_json(r: &SyncResult) -> String {
    let mut out = String::with_capacity(64 + r.events.len() * 320);
    out.push_str("{\"events\":[");
    for (i, e) in r.events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if r.pending {
            write_pending_event(&mut out, e);
        } else {
            out.push_str(&e.to_json_string());
        }
    }
    out.push_str("],\"version\":");
    write_u64(&mut out, r.version);
    out.push_str(",\"position\":");
    match r.position {
        Some(p) => write_u64(&mut out, p),
        None => out.push_str("null"),
    }
    out.push_str(if r.pending {
        ",\"pending\":true"
    } else {
        ",\"pending\":false"
    });
    out.push_str(",\"commandId\":");
    write_string(&mut out, &r.command_id);
    out.push('}');
    out
}

/// The commands of a push, as `POST /v1/commands` sends them (a JSON array).
pub fn wire_commands_json(entries: &[OutboxEntry]) -> String {
    let mut out = String::from("[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        e.write_json(&mut out, false);
    }
    out.push(']');
    out
}
