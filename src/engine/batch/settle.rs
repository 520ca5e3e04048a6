//! Settling a batch once the storage has answered: commit it (the log, the command ids, the
//! aggregate caches, the projections, then every caller's answer), or unwind it (states back
//! to their caches, commands decided again or answered).

use std::collections::HashMap;

use crate::error::{Error, StorageError};

use super::super::core::{CommandRecord, Core};
use super::{Batch, Entry, Fill, Overlay, Pending};

impl Core {
    /// The storage has the batch (or there was nothing to append): commit it and answer
    /// every command. With `unconfirmed`, answers that depend on the state decided against
    /// become that error instead (the state could not be confirmed as the latest).
    pub(in crate::engine) fn commit_batch(&mut self, batch: Batch, unconfirmed: Option<&Error>) -> Vec<Fill> {
        let Batch {
            stamped,
            entries,
            overlays,
            ..
        } = batch;
        let base = stamped.base;
        for (event, (id, hash)) in stamped.events.iter().zip(&stamped.raw) {
            self.log.append_raw(event, *id, *hash);
        }
        let head = self.log.head_position();
        // Only this batch's sealed events hold envelopes (decided data cannot), sealed as
        // stamping said: noted without parsing them back.
        self.forms.note_sealed(&self.log, stamped.sealed_under());
        self.return_states(overlays, true);
        self.projections.apply(&self.log, &self.forms, base + 1, head);
        // Each command's events move into its answer (their ranges follow each other).
        let mut events = stamped.events.into_iter();
        let mut answers: Vec<Result<_, Error>> = Vec::with_capacity(entries.len());
        let mut slots = Vec::with_capacity(entries.len());
        for Entry { request, slot, outcome } in entries {
            if let (super::Outcome::Events { range, .. }, Some(cid)) = (&outcome, &request.command_id) {
                let record = CommandRecord {
                    first: base + range.start as u64 + 1,
                    last: base + range.end as u64,
                };
                self.commands.insert(cid.clone(), record);
            }
            let answer = match unconfirmed {
                Some(e) if outcome.state_dependent() => Err(e.clone()),
                _ => outcome.into_result(&mut events, base, head, &answers),
            };
            answers.push(answer);
            slots.push(slot);
        }
        slots.into_iter().zip(answers).collect()
    }

    /// The batch was not appended (a conflict, `failure: None`, or a failed storage call):
    /// states go back to their caches, and each command is either answered now or handed
    /// back to be decided again (see `Outcome::after_no_append`).
    pub(in crate::engine) fn unwind_batch(
        &mut self,
        batch: Batch,
        failure: Option<&StorageError>,
    ) -> (Vec<Pending>, Vec<Fill>) {
        self.return_states(batch.overlays, false);
        let mut again = Vec::new();
        let mut fills = Vec::new();
        for Entry { request, slot, outcome } in batch.entries {
            match outcome.after_no_append(failure) {
                Some(answer) => fills.push((slot, answer)),
                None => again.push((request, slot)),
            }
        }
        (again, fills)
    }

    /// Puts the overlays' states back into the caches: every one after a commit; after an
    /// unwind only those the batch did not change (the others are rebuilt from snapshots).
    fn return_states(&mut self, overlays: HashMap<String, Overlay>, committed: bool) {
        for (stream_id, overlay) in overlays {
            // A stream the batch created has its symbol once committed.
            let (Some(sym), Some(state)) = (self.log.stream_sym(&stream_id), overlay.state) else {
                continue;
            };
            let snapshots = if committed {
                overlay.snapshots
            } else if overlay.version == overlay.base_version {
                Vec::new()
            } else {
                continue;
            };
            self.caches
                .entry(sym)
                .or_default()
                .put_current(overlay.version, state, snapshots);
        }
    }
}
