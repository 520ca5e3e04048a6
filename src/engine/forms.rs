//! The engine's side of `crate::forms`: the definitions that change how events read
//! (upcasters, versioned aggregates and projections, personal data), the keys personal data
//! needs (fetched outside any borrow, before a batch is stamped and before stored events are
//! committed), and `forget`.
//!
//! A definition that changes how events read drops what was built under the old one:
//! aggregate caches are emptied (refolded on next use) and projections are marked stale
//! (folded again from the log on their next use, so several definitions in a row cost one
//! fold).

use std::rc::Rc;

use crate::decider::Aggregate;
use crate::error::{Error, StorageError, StorageFailure};
use crate::event::Event;
use crate::forms::needs_keys;
use crate::personal::{
    cipher::new_key, key_name, open_fields, open_snapshot_state, snapshot_state_gen, validate_subject, KeyStore,
    OpenError, PersonalData, SNAPSHOT_SUBJECT,
};
use crate::projection::AnyProjection;
use crate::snapshot::Snapshot;
use crate::storage::Storage;
use crate::upcast::Upcaster;

use super::batch::{Batch, Pending};
use super::pipeline::{busy, fill, fill_all};
use super::queue::{IdleWait, Queue};
use super::Engine;

/// What [`Engine::export_keys`] answers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyExport {
    /// By key-store name.
    pub keys: Vec<(String, crate::personal::Key)>,
    pub forgotten: Vec<String>,
}

/// A key to check once the events that use it are committed: subject, generation, and the
/// position of a value sealed under it.
pub(crate) type Fetched = Vec<(String, u32, u64)>;

impl<S: Storage> Engine<S> {
    /// Adds an upcaster: version `from` of `event_type` to `from + 1` (see
    /// [`crate::upcast`]). Aggregates and projections read the type anew.
    pub fn define_upcaster(&self, event_type: &str, from: u32, up: Rc<dyn Upcaster>) -> Result<(), Error> {
        let mut core = self.core_mut()?;
        core.forms.define_upcaster(event_type, from, up)?;
        core.caches.clear();
        core.projections.invalidate();
        Ok(())
    }

    /// Declares the personal data of an event type (needs a key store): the declared fields
    /// of events decided from now on are encrypted before they are hashed and stored.
    pub fn define_personal_data(&self, event_type: &str, declaration: PersonalData) -> Result<(), Error> {
        if self.config.keys.is_none() {
            return Err(needs_keys("definePersonalData"));
        }
        self.core_mut()?.forms.personal.define(event_type, declaration)?;
        Ok(())
    }

    /// Adds an aggregate type at a definition `version`; a type already defined may be
    /// defined again with another version, which replaces it (its cached states are dropped).
    pub fn define_aggregate_version(
        &self,
        name: &str,
        aggregate: Rc<dyn Aggregate>,
        version: u32,
    ) -> Result<(), Error> {
        let mut core = self.core_mut()?;
        if core.registry.register_version(name, aggregate, version)? {
            core.caches.clear();
        }
        Ok(())
    }

    /// Adds a projection at a definition `version` and builds it from the whole log; a name
    /// already defined may be defined again with another version, which replaces it.
    pub fn define_projection_version(
        &self,
        name: &str,
        projection: Rc<dyn AnyProjection>,
        version: u32,
    ) -> Result<(), Error> {
        let mut core = self.core_mut()?;
        let core = &mut *core;
        core.projections
            .define(name, projection, version, &core.log, &core.forms)
    }

    /// Forgets a subject: deletes its keys from the key store (durably), so its personal data
    /// reads as `null` from now on (the events say which fields in `erased`); refolds the
    /// aggregates and projections without it, overwrites every stored projection snapshot
    /// (sealed under a new snapshot key; the old one is deleted, so old copies of snapshots
    /// no longer open), and has the storage and the key store scrub what was overwritten.
    /// The chain is untouched (it covers the ciphertext), so `verify()` still passes.
    /// Forgetting again is harmless: call it again when it failed.
    pub async fn forget(&self, subject: &str) -> Result<(), Error> {
        self.check_open()?;
        validate_subject(subject)?;
        let keys = self.config.keys.clone().ok_or_else(|| needs_keys("forget"))?;
        // No batch is decided or appended meanwhile: this holds the queue's lead.
        let _lead = loop {
            if let Some(lead) = Queue::try_lead(&self.queue) {
                break lead;
            }
            IdleWait::new(&self.queue).await;
        };
        // First in memory, so nothing new is sealed under these keys.
        let gens = self.core_mut()?.forms.ring.forget(subject);
        for gen in gens {
            keys.delete_key(&key_name(subject, gen)).await?;
        }
        let retired = self.rotate_snapshot_key(keys.as_ref()).await?;
        let snapshots = {
            let mut core = self.core_mut()?;
            let core = &mut *core;
            core.caches.clear();
            core.projections.invalidate();
            core.projections.snapshots_to_overwrite(&core.log, &core.forms)
        };
        for snapshot in &self.sealed(snapshots).await? {
            self.storage.write_snapshot(snapshot).await?;
        }
        for gen in retired {
            keys.delete_key(&key_name(SNAPSHOT_SUBJECT, gen)).await?;
        }
        self.storage.scrub().await?;
        keys.scrub().await?;
        Ok(())
    }

    /// The data keys of `subjects` this engine holds, by key-store name, and the subjects it
    /// knows are forgotten (every key gone): what a sync server hands a client that may read
    /// them (`GET /v1/keys`). Subjects it knows nothing of are in neither. Without a key
    /// store: a `ValidationError`.
    pub fn export_keys(&self, subjects: &[String]) -> Result<KeyExport, Error> {
        self.key_store("exportKeys")?;
        let core = self.core()?;
        let mut export = KeyExport::default();
        for subject in subjects {
            validate_subject(subject)?;
            let known = core.forms.ring.keys_of(subject);
            let present: Vec<(u32, &crate::personal::Key)> =
                known.iter().filter_map(|(g, k)| k.map(|k| (*g, k))).collect();
            if present.is_empty() && !known.is_empty() {
                export.forgotten.push(subject.clone());
            }
            for (gen, key) in present {
                export.keys.push((key_name(subject, gen), *key));
            }
        }
        Ok(export)
    }

    /// Unwinds a batch that needs keys, fetches them (creating the missing ones) and hands
    /// its commands back to be decided again; `None` when they were all answered. `fetched`:
    /// the keys this batch already fetched: asked again, the key store did not keep them,
    /// and the batch fails (each round otherwise fetches new keys, so it ends).
    pub(super) async fn with_keys(&self, batch: Batch, fetched: &mut Vec<(String, u32)>) -> Option<Vec<Pending>> {
        let missing = batch.missing_keys.clone();
        let (again, fills) = match self.core.try_borrow_mut() {
            Ok(mut core) => core.unwind_batch(batch, None),
            Err(_) => {
                fill(batch.fail_all(&busy()));
                return None;
            }
        };
        fill(fills);
        let result = match missing.iter().find(|k| fetched.contains(k)) {
            Some((subject, gen)) => Err(StorageError::new(
                StorageFailure::Malformed,
                format!(
                    "the key store does not keep the key '{}' it was given (subject '{subject}')",
                    key_name(subject, *gen).escape_debug()
                ),
            )
            .into()),
            None => self.fetch_write_keys(&missing).await,
        };
        fetched.extend(missing);
        match result {
            Ok(()) => Some(again),
            Err(e) => {
                fill_all(again, &e);
                None
            }
        }
    }

    /// Fetches the keys new values are sealed under; creates those the store lacks (and reads
    /// each back: a store that does not keep it is a `StorageError`), except for a generation
    /// the log used (forgotten: the next one is used instead).
    async fn fetch_write_keys(&self, missing: &[(String, u32)]) -> Result<(), Error> {
        let store = self.key_store("personal data")?;
        for (subject, gen) in missing {
            let name = key_name(subject, *gen);
            let key = match store.get_key(&name).await? {
                Some(key) => Some(key),
                None if self
                    .core
                    .try_borrow()
                    .map_err(|_| busy())?
                    .forms
                    .ring
                    .may_create(subject, *gen) =>
                {
                    let key = store.create_key(&name, new_key()?).await?;
                    // Read back: values sealed under a key the store did not keep are lost.
                    if store.get_key(&name).await? != Some(key) {
                        return Err(StorageError::new(
                            StorageFailure::Malformed,
                            format!(
                                "the key store does not keep the key '{}' it was given (subject '{subject}')",
                                name.escape_debug()
                            ),
                        )
                        .into());
                    }
                    Some(key)
                }
                None => None,
            };
            self.core
                .try_borrow_mut()
                .map_err(|_| busy())?
                .forms
                .ring
                .insert(subject, *gen, key);
        }
        Ok(())
    }

    /// Fetches the keys a page of stored events needs (before it is committed, so folds can
    /// open it). Returns those fetched, to be checked once the page is committed.
    pub(super) async fn fetch_read_keys(&self, page: &[Event]) -> Result<Fetched, Error> {
        let unknown = self.core.try_borrow().map_err(|_| busy())?.forms.unknown_keys(page);
        let Some((subject, _, position)) = unknown.first() else {
            return Ok(Vec::new());
        };
        let Some(store) = self.config.keys.clone() else {
            return Err(Error::validation(format!(
                "the log holds encrypted personal data (subject '{subject}', position {position}): open the engine with the key store it was written with (`keys`)"
            )));
        };
        let names: Vec<String> = unknown.iter().map(|(s, g, _)| key_name(s, *g)).collect();
        let found = store.get_keys(&names).await?;
        if found.len() != names.len() {
            return Err(StorageError::new(
                StorageFailure::Malformed,
                format!("getKeys returned {} keys for {} names", found.len(), names.len()),
            )
            .into());
        }
        let mut core = self.core.try_borrow_mut().map_err(|_| busy())?;
        for ((subject, gen, _), key) in unknown.iter().zip(found) {
            core.forms.ring.insert(subject, *gen, key);
        }
        Ok(unknown)
    }

    /// Checks that each fetched key opens a value sealed under it (now committed): a store
    /// that hands out another key is an `IntegrityError` at that value's position.
    pub(super) fn check_read_keys(&self, fetched: &Fetched) -> Result<(), Error> {
        let core = self.core.try_borrow().map_err(|_| busy())?;
        for (_, _, position) in fetched {
            let Some(e) = core.log.get(*position) else { continue };
            match open_fields(e.data, &core.forms.ring, &e.id(), *position) {
                Err(OpenError::Integrity(error)) => return Err(error.into()),
                Err(OpenError::NotFetched(name)) => {
                    return Err(Error::internal(format!(
                        "the key '{}' was not fetched",
                        name.escape_debug()
                    )))
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// Snapshots about to be stored, sealed under the snapshot key (fetched, or created, on
    /// first need) when the engine has a key store.
    pub(super) async fn sealed(&self, mut snapshots: Vec<Snapshot>) -> Result<Vec<Snapshot>, Error> {
        let Some(store) = self.config.keys.clone() else {
            return Ok(snapshots);
        };
        if snapshots.is_empty() {
            return Ok(snapshots);
        }
        let wanted = {
            let core = self.core.try_borrow().map_err(|_| busy())?;
            core.forms
                .snapshot_key
                .is_none()
                .then(|| core.forms.snapshot_gen_seen.max(1))
        };
        if let Some(gen) = wanted {
            let name = key_name(SNAPSHOT_SUBJECT, gen);
            let key = match store.get_key(&name).await? {
                Some(key) => key,
                None => store.create_key(&name, new_key()?).await?,
            };
            self.core.try_borrow_mut().map_err(|_| busy())?.forms.snapshot_key = Some((gen, key));
        }
        self.core
            .try_borrow_mut()
            .map_err(|_| busy())?
            .forms
            .seal_snapshots(&mut snapshots)?;
        Ok(snapshots)
    }

    /// A stored snapshot as the engine can use it: a sealed one opened with its snapshot
    /// key; `None` when it does not open (its key is gone: the projection is rebuilt).
    pub(super) async fn opened(&self, mut snapshot: Snapshot) -> Option<Snapshot> {
        let Some(gen) = snapshot_state_gen(&snapshot.state) else {
            return Some(snapshot);
        };
        let store = self.config.keys.clone()?;
        let key = store.get_key(&key_name(SNAPSHOT_SUBJECT, gen)).await.ok()??;
        let mut core = self.core.try_borrow_mut().ok()?;
        if gen >= core.forms.snapshot_gen_seen {
            core.forms.snapshot_gen_seen = gen;
            core.forms.snapshot_key = Some((gen, key));
        }
        snapshot.state = open_snapshot_state(&snapshot.state, &snapshot.key, &key)?;
        Some(snapshot)
    }

    /// Seals snapshots under a new generation of the snapshot key from now on; returns the
    /// generations to delete once the snapshots are rewritten (the last two: one left by an
    /// earlier `forget` that did not finish is deleted too).
    async fn rotate_snapshot_key(&self, store: &dyn KeyStore) -> Result<Vec<u32>, Error> {
        let current = {
            let core = self.core.try_borrow().map_err(|_| busy())?;
            core.forms
                .snapshot_key
                .map_or(0, |(g, _)| g)
                .max(core.forms.snapshot_gen_seen)
        };
        let gen = current + 1;
        let key = store.create_key(&key_name(SNAPSHOT_SUBJECT, gen), new_key()?).await?;
        let mut core = self.core.try_borrow_mut().map_err(|_| busy())?;
        core.forms.snapshot_key = Some((gen, key));
        core.forms.snapshot_gen_seen = gen;
        Ok((current.saturating_sub(1).max(1)..=current).collect())
    }

    pub(super) fn key_store(&self, what: &str) -> Result<Rc<dyn KeyStore>, Error> {
        self.config.keys.clone().ok_or_else(|| needs_keys(what))
    }
}
