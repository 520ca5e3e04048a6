//! Pushing the outbox (the policy; the transport sends): the next batch, in order, of
//! entries that are persisted and not yet answered for good; what the server answered,
//! classified (`answer.rs`); refusals deleted from the storage, then reported once; what a
//! failed request means for `lastError`.

use crate::error::Error;
use crate::storage::Storage;
use crate::Engine;

use super::answer::{verdict, Answer, PushResult, RemoteError, Verdict};
use super::client::{Boxed, Effects, Failure, Item, Rejected, State, SyncClient};
use super::outbox::{OutboxEntry, OutboxStore};

impl SyncClient {
    /// The next commands to push, in order: at most `max` entries that are persisted and
    /// neither confirmed, accepted nor refused. Stops at the first entry not yet persisted
    /// (so the server never runs a command whose `execute` might still fail).
    pub fn next_batch(&self, max: usize) -> Result<Vec<OutboxEntry>, Error> {
        if self.is_stopped() {
            return Ok(Vec::new());
        }
        let state = self.borrow()?;
        let mut out = Vec::new();
        for item in &state.items {
            if out.len() >= max || !item.persisted {
                break;
            }
            if item.is_pending() && !item.accepted {
                out.push(item.entry.clone());
            }
        }
        Ok(out)
    }

    /// Applies the server's results for a pushed batch: accepted commands wait for their
    /// events; refused ones are deleted from the storage, then leave the overlay, are
    /// reported (the effects) and settle with the refusal; unknown outcomes are pushed again
    /// later (`retry`).
    pub async fn apply_results<S: Storage + OutboxStore>(
        &self,
        engine: &Engine<S>,
        results: Vec<PushResult>,
    ) -> Result<Effects, Error> {
        let mut theirs = Vec::new();
        let mut retry = false;
        let mine = {
            let mut state = self.borrow()?;
            let live = state.live_issuers.clone();
            for PushResult { command_id, answer } in results {
                let Some(item) = state.item_mut(&command_id).filter(|i| i.is_pending()) else {
                    continue;
                };
                match answer {
                    Answer::Accepted { .. } => item.accepted = true,
                    Answer::Refused(e) => {
                        item.entry.outcome = Some(e);
                        if live.contains(&item.entry.issuer) {
                            theirs.push(item.entry.clone());
                        }
                    }
                    Answer::Unknown(_) => retry = true,
                }
            }
            state.touch();
            // Refusals to report here: these, and any whose deletion failed before.
            state
                .items
                .iter()
                .filter(|i| i.entry.outcome.is_some() && !live.contains(&i.entry.issuer))
                .map(|i| i.entry.command_id().to_owned())
                .collect::<Vec<_>>()
        };
        self.succeeded();
        for entry in theirs {
            // Left for its issuer (another live engine on this storage) to report; if it
            // cannot be written, the command is pushed again (the server answers the same).
            if engine.storage().write_outbox(&entry).await.is_err() {
                retry = true;
                if let Some(item) = self.borrow()?.item_mut(entry.command_id()) {
                    item.entry.outcome = None;
                }
            }
        }
        let mut effects = self.report_refusals(engine, mine).await;
        effects.retry |= retry;
        Ok(effects)
    }

    /// Deletes refused entries (their `outcome` set) from the storage, then forgets them,
    /// settles their waiters with the refusal and returns them to report. A failed delete
    /// keeps them (with their outcome) for a later attempt.
    pub(super) fn report_refusals<'a, S: Storage + OutboxStore>(
        &'a self,
        engine: &'a Engine<S>,
        ids: Vec<String>,
    ) -> Boxed<'a, Effects> {
        // Boxed: awaited from three places, compiled once.
        Box::pin(self.report_refusals_now(engine, ids))
    }

    async fn report_refusals_now<S: Storage + OutboxStore>(&self, engine: &Engine<S>, ids: Vec<String>) -> Effects {
        let mut effects = Effects::default();
        if ids.is_empty() {
            return effects;
        }
        if let Err(e) = engine.storage().delete_outbox(&ids).await {
            self.fail(Failure::Engine(e.into()), false);
            effects.retry = true;
            return effects;
        }
        let Ok(mut guard) = self.borrow() else {
            return effects;
        };
        let state = &mut *guard;
        let (gone, kept): (Vec<Item>, Vec<Item>) = std::mem::take(&mut state.items)
            .into_iter()
            .partition(|i| ids.iter().any(|id| id == i.entry.command_id()));
        state.items = kept;
        for item in gone {
            let Some(error) = item.entry.outcome else { continue };
            let id = item.entry.request.command_id.clone().unwrap_or_default();
            state.refused.push((id, error.clone()));
            effects.rejected.push(Rejected {
                request: item.entry.request,
                error,
            });
        }
        let _ = state.redecide(engine);
        drop(guard);
        for r in &effects.rejected {
            if let Some(id) = &r.request.command_id {
                self.settle(id, &Err(r.error.clone()));
            }
        }
        effects
    }

    /// A request to the server failed as a whole with HTTP `status` (and the body's error,
    /// if any): recorded as `lastError`; the verdict says what to do next.
    pub fn request_failed(&self, status: u16, error: RemoteError) -> Verdict {
        let v = verdict(status, Some(&error.code));
        self.fail(
            Failure::Remote(RemoteError {
                status: Some(status),
                ..error
            }),
            v == Verdict::Stop,
        );
        if v == Verdict::Stop {
            self.set_online(false);
        }
        v
    }

    /// The server could not be reached (or the answer was cut): `lastError` is a
    /// `NETWORK` error; retry later.
    pub fn unreachable(&self, message: &str) {
        self.fail(Failure::Remote(RemoteError::new("NETWORK", message)), false);
        self.set_online(false);
    }
}

/// Replaces the outbox by what the storage holds, keeping this engine's entries not yet
/// written and what it knows of the others (accepted, confirmed). Returns the ids of the
/// entries another engine removed.
pub(super) fn merge_stored(state: &mut State, stored: Vec<OutboxEntry>) -> Vec<String> {
    let mut old = std::mem::take(&mut state.items);
    let mut items: Vec<Item> = stored
        .into_iter()
        .map(|entry| {
            let known = old.iter().position(|i| i.entry.command_id() == entry.command_id());
            let (accepted, confirmed) = known.map_or((false, false), |k| {
                let i = old.remove(k);
                (i.accepted, i.confirmed)
            });
            Item {
                accepted,
                confirmed,
                ..Item::new(entry, true)
            }
        })
        .collect();
    let (unwritten, gone): (Vec<Item>, Vec<Item>) = old.into_iter().partition(|i| !i.persisted);
    for item in unwritten {
        let at = items.partition_point(|i| i.entry.seq <= item.entry.seq);
        items.insert(at, item);
    }
    state.items = items;
    state.touch();
    gone.into_iter().map(|i| i.entry.command_id().to_owned()).collect()
}
