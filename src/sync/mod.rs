//! The sync client's core: one log, many devices (DESIGN.md §7). The server's log is the
//! truth; a synced engine holds a verified replica of it plus its own pending commands.
//!
//! ```text
//! execute ─► decide on confirmed + pending (overlay.rs) ─► outbox in the storage (outbox.rs)
//!         ─► resolve { events, version, position: null, pending: true, commandId }
//! push    ─► next_batch (push.rs) ─► [transport: POST /v1/commands] ─► apply_results:
//!            accepted: wait for its events · refused: delete, report once · unknown: again later
//! receive ─► [transport: GET /v1/events, GET /v1/live] ─► verify, persist, commit (replica.rs)
//!         ─► rebase: confirmed entries leave the outbox, the rest are decided again
//! ```
//!
//! Semantics live here, in pure Rust tested by `cargo test`; HTTP, timers and backoff live in
//! the package's JavaScript (`pkg-template/lib/sync.js`), which calls these through the
//! binding (`src/wasm/sync.rs`). The engine lends its pipeline through narrow hooks
//! (`src/engine/hooks.rs`): a synced engine never appends events it decided itself.
//!
//! An engine that does not sync itself but shares a storage with one that does (a browser
//! tab that is not the syncing one) uses [`SyncClient::refresh`] to follow the storage, and
//! the syncing one is told which issuers are alive ([`SyncClient::set_live_issuers`]) so
//! their refusals are left in the outbox for them to report.

mod answer;
mod client;
mod json;
mod keys;
mod outbox;
mod overlay;
mod push;
mod reads;
mod replica;

pub use answer::{parse_results, remote_from_wire, verdict, Answer, PushResult, RemoteError, Verdict};
pub use client::{Begun, Effects, Failure, Rejected, Settled, SyncClient, SyncStatus};
pub use json::{result_json, wire_commands_json, write_pending_event};
pub use keys::MAX_SUBJECTS;
pub use outbox::{MemoryOutbox, OutboxEntry, OutboxStore};
pub use overlay::SyncResult;
pub use replica::{verify_batch, Received};
