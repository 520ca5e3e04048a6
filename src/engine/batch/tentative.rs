//! A tentative batch: commands decided exactly as a batch decides them (each on the
//! committed state plus the commands before it, stamped and folded), but detached — its
//! states are copies of the caches' — and never appended, committed nor unwound. The sync
//! client keeps its pending commands in one (`src/sync/overlay.rs`): the optimistic view is
//! "the committed log plus this batch". Dropping it changes nothing.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use crate::clock::next_timestamp;
use crate::decider::{Aggregate, AnyState};
use crate::error::Error;
use crate::event::Event;

use super::super::core::Core;
use super::super::stamp::Stamper;
use super::super::{ExecuteRequest, ExecuteResult};
use super::{Batch, Outcome};

/// Commands decided on the committed state, never committed.
pub struct Tentative {
    batch: Batch,
}

/// What became of one command decided into a [`Tentative`] batch.
#[derive(Debug)]
pub enum Decision {
    /// Its events are `events()[range]`; its stream is then at `version`.
    Events { range: Range<usize>, version: u64 },
    /// `decide` returned no events; the stream is at `version`.
    NoEvents { version: u64 },
    /// Refused (the batch is as it was before).
    Refused(Error),
    /// Its `commandId` is already committed: the first result.
    Committed(ExecuteResult),
}

/// A stream's state at the end of a tentative batch.
pub struct TentativeStream<'a> {
    pub stream_type: &'a str,
    pub version: u64,
    pub state: &'a AnyState,
    pub aggregate: &'a Rc<dyn Aggregate>,
}

impl Tentative {
    /// Every event decided so far, in order (positions and hashes continue the committed log
    /// the batch was started on).
    pub fn events(&self) -> &[Event] {
        &self.batch.stamped.events
    }

    /// The committed head the batch was started on.
    pub fn base(&self) -> u64 {
        self.batch.stamped.base
    }

    /// The state of a stream the batch decided commands for (`None` for the others).
    pub fn stream(&self, stream_id: &str) -> Option<TentativeStream<'_>> {
        let o = self.batch.overlays.get(stream_id)?;
        Some(TentativeStream {
            stream_type: &o.stream_type,
            version: o.version,
            state: o.state.as_ref()?,
            aggregate: &o.aggregate,
        })
    }
}

impl Core {
    /// An empty tentative batch on the committed head.
    pub(in crate::engine) fn tentative(&self) -> Tentative {
        let last = self.log.last_timestamp();
        let mut stamped = Stamper::new(self.log.head_position(), self.log.head_hash(), last);
        // Pending events stay in memory as decided: the server seals its own (its keys).
        stamped.seal = false;
        Tentative {
            batch: Batch {
                stamped,
                entries: Vec::new(),
                overlays: HashMap::new(),
                detached: true,
                missing_keys: Vec::new(),
            },
        }
    }

    /// Decides `req` at the end of `t`, its events stamped at `timestamp_ms` (held at the
    /// last timestamp before it). Callers keep `commandId`s unique within a batch.
    pub(in crate::engine) fn decide_tentative(
        &mut self,
        t: &mut Tentative,
        req: &ExecuteRequest,
        timestamp_ms: f64,
    ) -> Decision {
        let batch = &mut t.batch;
        batch.stamped.timestamp = next_timestamp(timestamp_ms, batch.stamped.timestamp);
        match self.decide_one(batch, req, &HashMap::new()) {
            Outcome::Events { range, version } => Decision::Events { range, version },
            Outcome::NoEvents { version } => Decision::NoEvents { version },
            Outcome::Rejected(e) => Decision::Refused(e),
            Outcome::Done(result) => Decision::Committed(result),
            Outcome::SameAs(_) => Decision::Refused(Error::internal("a tentative batch saw a commandId twice")),
        }
    }
}
