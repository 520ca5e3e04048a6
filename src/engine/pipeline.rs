//! The command pipeline: `submit` queues a command, `settle` waits for it and leads the
//! queue when nobody does, `drive` takes batches off the queue, `process` decides, appends
//! and settles one batch (deciding again after conflicts), `read_new_events` commits what
//! other writers appended.
//!
//! ```text
//! submit ─► queue ─► settle ─► drive ─► process: decide_batch ─► storage.append_events [await]
//!                                          ├─ Ok       ─► commit_batch ─► answers ─► subscribers
//!                                          ├─ Conflict ─► unwind ─► read_new_events ─► decide again
//!                                          └─ Failed   ─► unwind ─► answers (StorageError)
//! ```
//!
//! No `RefCell` borrow is held across an `.await`; subscribers are called after every borrow
//! is released.

use std::future::Future;
use std::rc::Rc;

use crate::error::{ConcurrencyError, Error};
use crate::storage::{AppendError, Storage};

use super::batch::{Batch, Fill, Pending};
use super::queue::{Job, Queue, Slot, Wait};
use super::{Engine, ExecuteRequest, ExecuteResult};

/// A submitted command, to be awaited with [`Engine::outcome`].
pub struct Ticket(Rc<Slot<ExecuteResult>>);

/// What became of a batch that was processed.
enum Step {
    /// Every command is answered (or handed back to the queue).
    Done,
    /// The state changed under the batch: decide these commands again.
    Redecide(Vec<Pending>),
    /// Another writer appended first: read what it appended, then decide these again.
    Conflict(Vec<Pending>),
}

/// The engine's state was borrowed between two awaits of a batch: a bug.
pub(super) fn busy() -> Error {
    Error::internal("the engine's state was in use while a batch was processed")
}

impl<S: Storage> Engine<S> {
    /// Decides and appends a command; resolves once its events are durable.
    pub fn execute(&self, request: ExecuteRequest) -> impl Future<Output = Result<ExecuteResult, Error>> + '_ {
        let ticket = self.submit(request);
        self.outcome(ticket)
    }

    /// Queues a command now (so commands keep their call order and join the next append),
    /// to be awaited with [`Engine::outcome`].
    pub fn submit(&self, mut request: ExecuteRequest) -> Ticket {
        let slot: Rc<Slot<ExecuteResult>> = Slot::new();
        match self.check_open().and_then(|()| request.validate().map_err(Error::from)) {
            Err(e) => slot.fill(Err(e)),
            Ok(()) => self.queue.borrow_mut().push(Job::Execute(request, slot.clone())),
        }
        Ticket(slot)
    }

    /// The outcome of a submitted command.
    pub async fn outcome(&self, ticket: Ticket) -> Result<ExecuteResult, Error> {
        self.settle(&ticket.0).await
    }

    /// Reads what other writers appended to the storage (e.g. when told by `watch`), and
    /// returns how many events were applied.
    pub fn catch_up(&self) -> impl Future<Output = Result<u64, Error>> + '_ {
        let slot: Rc<Slot<u64>> = Slot::new();
        match self.check_open() {
            Err(e) => slot.fill(Err(e)),
            Ok(()) => self.queue.borrow_mut().push(Job::Sync(slot.clone())),
        }
        async move { self.settle(&slot).await }
    }

    /// Waits for `slot`, leading the queue whenever nobody else does.
    async fn settle<T>(&self, slot: &Slot<T>) -> Result<T, Error> {
        loop {
            if let Some(result) = slot.take() {
                return result;
            }
            if let Some(_lead) = Queue::try_lead(&self.queue) {
                self.drive(&|| slot.is_filled()).await;
                continue;
            }
            Wait::new(slot).await;
        }
    }

    /// Processes batches until `done` or the queue is empty.
    pub(super) async fn drive(&self, done: &dyn Fn() -> bool) {
        while !done() {
            let (executes, syncs) = self.queue.borrow_mut().take(self.config.max_batch_commands);
            if executes.is_empty() && syncs.is_empty() {
                return;
            }
            if !syncs.is_empty() || self.needs_resync.get() {
                let result = self.read_new_events().await;
                for s in syncs {
                    s.fill(result.clone());
                }
            }
            if !executes.is_empty() {
                self.process(executes).await;
            }
        }
    }

    /// Decides, appends and settles one batch, deciding again after conflicts (a bounded
    /// number of times).
    async fn process(&self, mut executes: Vec<Pending>) {
        let mut conflicts = 0u32;
        let mut fetched_keys: Vec<(String, u32)> = Vec::new();
        loop {
            let batch = match self.core.try_borrow_mut() {
                Ok(mut core) => core.decide_batch(executes),
                Err(_) => return fill_all(executes, &busy()),
            };
            if !batch.missing_keys.is_empty() {
                executes = match self.with_keys(batch, &mut fetched_keys).await {
                    Some(again) => again,
                    None => return,
                };
                continue;
            }
            let step = if batch.events().is_empty() {
                self.settle_without_append(batch).await
            } else {
                self.append(batch).await
            };
            executes = match step {
                Step::Done => return,
                Step::Redecide(pending) => pending,
                Step::Conflict(pending) => {
                    conflicts += 1;
                    if conflicts > self.config.max_conflict_retries {
                        return self.give_up(pending);
                    }
                    if let Err(e) = self.read_new_events().await {
                        return fill_all(pending, &e);
                    }
                    pending
                }
            };
        }
    }

    /// A batch with nothing to append (refusals, no-ops, repeats). Refusals and no-ops are
    /// only final if the state they were decided on is the latest: another writer may have
    /// appended. (An append proves it by itself.)
    async fn settle_without_append(&self, batch: Batch) -> Step {
        let mut unconfirmed = None;
        if batch.has_state_dependent_outcomes() {
            match self.read_new_events().await {
                Ok(0) => {}
                Ok(_) => {
                    let Ok(mut core) = self.core.try_borrow_mut() else {
                        fill(batch.fail_all(&busy()));
                        return Step::Done;
                    };
                    let (again, fills) = core.unwind_batch(batch, None);
                    drop(core);
                    fill(fills);
                    return Step::Redecide(again);
                }
                Err(e) => {
                    // Another writer may have changed what these answers rest on.
                    self.needs_resync.set(true);
                    unconfirmed = Some(e);
                }
            }
        }
        let fills = match self.core.try_borrow_mut() {
            Ok(mut core) => core.commit_batch(batch, unconfirmed.as_ref()),
            Err(_) => batch.fail_all(&busy()),
        };
        fill(fills);
        Step::Done
    }

    /// Appends a batch and settles it by what the storage answered.
    async fn append(&self, batch: Batch) -> Step {
        let appended = self
            .storage
            .append_events(batch.events(), batch.expected_position())
            .await;
        let Some(step) = self.settle_append(batch, appended) else {
            // Committed.
            self.pump_subscriptions();
            if self.config.projection_persist_every > 0 {
                self.persist_snapshots(self.config.projection_persist_every).await;
            }
            return Step::Done;
        };
        step
    }

    /// Settles a batch under the borrow and answers its callers once the borrow is
    /// released; `None` when it was committed.
    fn settle_append(&self, batch: Batch, appended: Result<(), AppendError>) -> Option<Step> {
        let Ok(mut core) = self.core.try_borrow_mut() else {
            // The outcome is unknown to the callers; the next batch re-reads the head.
            self.needs_resync.set(true);
            fill(batch.fail_all(&busy()));
            return Some(Step::Done);
        };
        match appended {
            Ok(()) => {
                let fills = core.commit_batch(batch, None);
                self.head.set(core.log.head_position());
                drop(core);
                fill(fills);
                None
            }
            Err(AppendError::Failed(error)) => {
                let (again, fills) = core.unwind_batch(batch, Some(&error));
                drop(core);
                self.needs_resync.set(true);
                self.queue.borrow_mut().push_front(again);
                fill(fills);
                Some(Step::Done)
            }
            Err(AppendError::Conflict) => {
                let (again, fills) = core.unwind_batch(batch, None);
                drop(core);
                fill(fills);
                Some(if again.is_empty() {
                    Step::Done
                } else {
                    Step::Conflict(again)
                })
            }
        }
    }

    /// Conflicts kept winning: every command fails with a `ConcurrencyError`.
    fn give_up(&self, pending: Vec<Pending>) {
        let n = self.config.max_conflict_retries;
        for (req, slot) in pending {
            slot.fill(Err(ConcurrencyError {
                message: format!(
                    "gave up on stream '{}' after {n} retries: other writers kept appending first",
                    req.stream_id
                ),
                stream_id: req.stream_id.clone(),
                expected: Some(req.expected_version.describe()),
                actual: self.stream_version(&req.stream_id).unwrap_or(0),
            }
            .into()));
        }
    }

    /// Reads every event after the head from the storage and commits it (fetching the keys
    /// its personal data needs first).
    pub(super) async fn read_new_events(&self) -> Result<u64, Error> {
        let mut total = 0;
        loop {
            let after = self.core.try_borrow().map_err(|_| busy())?.log.head_position();
            let page = self.storage.read_events(after, self.config.read_page_size).await?;
            if page.is_empty() {
                break;
            }
            let fetched = self.fetch_read_keys(&page).await?;
            let applied = {
                let mut core = self.core.try_borrow_mut().map_err(|_| busy())?;
                let r = core.apply_external(page);
                self.head.set(core.log.head_position());
                r
            };
            self.pump_subscriptions();
            total += applied?;
            self.check_read_keys(&fetched)?;
        }
        self.needs_resync.set(false);
        Ok(total)
    }
}

pub(super) fn fill(fills: Vec<Fill>) {
    for (slot, result) in fills {
        slot.fill(result);
    }
}

pub(super) fn fill_all(pending: Vec<Pending>, error: &Error) {
    for (_, slot) in pending {
        slot.fill(Err(error.clone()));
    }
}
