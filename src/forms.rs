//! The two forms of an event, and the one function for each direction between them.
//!
//! * The **stored form** is what is hashed, persisted and synced: the data as decided at its
//!   type's latest version when it was written (`metadata.schemaVersion`, absent = 1), with
//!   declared personal data sealed in envelopes (`personal::envelope`).
//! * The **read form** is what folds (aggregates, projections, time travel), reads and
//!   subscribers see: personal data decrypted (or `null`, listed in `erased`, once its
//!   subject is forgotten), then upcast step by step to the latest version.
//!
//! ```text
//! write: decided (plain, latest) ─► to_stored_form: stamp schemaVersion, seal fields ─► hash ─► persist
//! read:  stored ─► to_read_form: open (or erase) fields ─► upcast 1→2→… ─► folds, reads
//! ```
//!
//! Both are zero-cost when a type has no upcaster and no personal data: [`to_read_form`]
//! then lends the stored event as it is ([`ReadEvent`] borrows it), and
//! [`to_stored_form`] changes nothing.
//!
//! [`to_read_form`]: Forms::to_read_form
//! [`to_stored_form`]: Forms::to_stored_form

use crate::canonical::CanonicalJson;
use crate::error::{Error, IntegrityError, ProjectionError, ValidationError};
use crate::log::{EventView, Log, NameSym, ReadAllOptions};
use crate::personal::{
    envelopes_of, key_name, open_fields, seal_fields, Declarations, KeyRing, Known, Nonces, OpenError, SealWith,
    MARK_KEY,
};
use crate::upcast::{
    has_schema_version, stored_version, write_schema_version, ChainId, UpcastError, Upcasters, VersionedMetadata,
};

/// Why an event could not be turned into the other form.
#[derive(Debug, Clone, PartialEq)]
pub enum FormError {
    /// A step of its type's chain is missing, or an upcaster failed.
    Upcast(UpcastError),
    /// An encrypted value is broken or does not open with its key.
    Integrity(IntegrityError),
    /// Sealing needs this key (by its key-store name), not fetched yet.
    MissingKey { subject: String, gen: u32 },
    /// The decided event cannot be stored (a reserved name, a bad subject).
    Validation(ValidationError),
    /// A broken invariant (a key the engine should have fetched).
    Internal(String),
}

impl FormError {
    /// The error a read or an aggregate reports.
    pub fn into_error(self) -> Error {
        match self {
            FormError::Upcast(e) => Error::internal(e.message),
            FormError::Integrity(e) => Error::Integrity(e),
            FormError::Validation(e) => Error::Validation(e),
            FormError::MissingKey { subject, gen } => Error::internal(format!(
                "the key of subject '{subject}' (generation {gen}) was not fetched"
            )),
            FormError::Internal(m) => Error::internal(m),
        }
    }

    /// The error a projection stops with at `position`.
    pub fn for_projection(&self, name: &str, position: u64) -> ProjectionError {
        let cause = match self {
            FormError::Upcast(e) => e.message.clone(),
            FormError::Integrity(e) => e.message.clone(),
            other => other.clone().into_error().message(),
        };
        ProjectionError::new(name, position, cause)
    }
}

impl From<OpenError> for FormError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Integrity(e) => FormError::Integrity(e),
            OpenError::NotFetched(name) => FormError::Internal(format!("the key '{name}' was not fetched")),
        }
    }
}

/// An event in its read form: the stored event lent as it is, or what changed (held
/// inline: reading an upcast event allocates only what its upcasters return).
pub struct ReadEvent<'a> {
    view: EventView<'a>,
    changed: Option<Changed>,
}

struct Changed {
    data: CanonicalJson,
    metadata: VersionedMetadata,
    /// What only some events have (boxed: keeps a read event small).
    more: Option<Box<More>>,
}

struct More {
    /// The type after renames.
    event_type: Option<String>,
    erased: Vec<String>,
}

impl Changed {
    fn new(data: CanonicalJson, metadata: VersionedMetadata, event_type: Option<String>, erased: Vec<String>) -> Self {
        let more = (event_type.is_some() || !erased.is_empty()).then(|| Box::new(More { event_type, erased }));
        Changed { data, metadata, more }
    }
}

impl<'a> ReadEvent<'a> {
    /// The stored event, as it is (also what `{ raw: true }` reads).
    #[inline]
    pub fn raw(view: EventView<'a>) -> Self {
        ReadEvent { view, changed: None }
    }

    /// The view folds and reads use.
    #[inline]
    pub fn view(&self) -> EventView<'_> {
        match &self.changed {
            None => self.view,
            Some(c) => {
                let more = c.more.as_deref();
                self.view.with_form(
                    more.and_then(|m| m.event_type.as_deref())
                        .unwrap_or(self.view.event_type),
                    c.data.as_str(),
                    c.metadata.as_str(self.view.metadata),
                    more.map_or(&[], |m| &m.erased),
                )
            }
        }
    }

    /// True when the read form differs from the stored one.
    pub fn is_changed(&self) -> bool {
        self.changed.is_some()
    }
}

/// What sealing changed in a decided event (`None`: that part is stored as decided).
#[derive(Debug, Default)]
pub struct Sealed {
    pub data: Option<SealedData>,
    pub metadata: Option<CanonicalJson>,
}

/// Data with personal data sealed.
#[derive(Debug)]
pub struct SealedData {
    pub data: CanonicalJson,
    /// The subject and key generation its envelopes are sealed under (what
    /// [`Forms::note_sealed`] notes once the event is committed).
    pub under: (String, u32),
}

/// The definitions and keys that turn events from one form into the other.
#[derive(Default)]
pub struct Forms {
    pub upcasters: Upcasters,
    pub personal: Declarations,
    pub ring: KeyRing,
    nonces: Nonces,
    /// Where sealed data is written (kept: spares an allocation per sealed event).
    scratch: String,
    /// By the log's event-type symbol: does some event of that type hold an envelope?
    sealed_types: Vec<bool>,
    /// Has the engine a key store?
    pub has_keys: bool,
    /// The key stored projection snapshots are sealed under (with a key store): its
    /// generation and, once fetched, the key.
    pub snapshot_key: Option<(u32, crate::personal::Key)>,
    /// The highest generation of the snapshot key seen on a stored snapshot.
    pub snapshot_gen_seen: u32,
    /// By the log's event-type symbol, the type's chain of upcasters (0: not looked up yet,
    /// 1: none, `2 + i`: the chain of index `i`): spares a hash of the type's name per event
    /// read.
    upcast_types: std::cell::RefCell<Vec<u32>>,
}

/// The error of personal data on an engine without a key store.
pub fn needs_keys(what: &str) -> Error {
    Error::validation(format!(
        "{what} needs a key store: open the engine with `keys` (e.g. Engine.open({{ keys: memoryKeyStore() }}))"
    ))
}

impl Forms {
    /// The forms of an engine's configuration: its upcasters and personal data. Personal
    /// data without a key store is a `ValidationError` naming `keys`.
    pub fn configured(config: &crate::engine::EngineConfig) -> Result<Forms, Error> {
        let mut forms = Forms {
            has_keys: config.keys.is_some(),
            ..Forms::default()
        };
        for (event_type, from, up) in &config.upcasters {
            forms.define_upcaster(event_type, *from, up.clone())?;
        }
        for (event_type, declaration) in &config.personal_data {
            if !forms.has_keys {
                return Err(needs_keys(&format!("the personal data of '{event_type}'")));
            }
            forms.personal.define(event_type, declaration.clone())?;
        }
        Ok(forms)
    }

    /// Seals the states of snapshots about to be stored, under the snapshot key (which must
    /// be fetched: `snapshot_key`). Without a key store they are stored as they are.
    pub fn seal_snapshots(&mut self, snapshots: &mut [crate::snapshot::Snapshot]) -> Result<(), Error> {
        let Some((gen, key)) = self.snapshot_key else {
            return Ok(());
        };
        for s in snapshots.iter_mut().filter(|s| s.position > 0) {
            s.state = crate::personal::seal_snapshot_state(&s.state, &s.key, gen, &key, &mut self.nonces)?;
        }
        Ok(())
    }

    /// Adds an upcaster (see [`Upcasters::define`]).
    pub fn define_upcaster(
        &mut self,
        event_type: &str,
        from: u32,
        up: std::rc::Rc<dyn crate::upcast::Upcaster>,
    ) -> Result<(), ValidationError> {
        self.upcasters.define(event_type, from, up)?;
        self.upcast_types.get_mut().clear();
        Ok(())
    }

    /// Has the (stored) type of this event upcasters?
    #[inline]
    pub fn has_upcasters(&self, view: &EventView<'_>) -> bool {
        self.chain_of(view).is_some()
    }

    /// The chain of upcasters of the (stored) type of this event, looked up by name once
    /// per type of the log.
    #[inline]
    fn chain_of(&self, view: &EventView<'_>) -> Option<ChainId> {
        if self.upcasters.is_empty() {
            return None;
        }
        let Some(sym) = view.syms().map(|s| s.event_type).filter(|s| *s != crate::log::RENAMED) else {
            return self.upcasters.chain_id(view.event_type);
        };
        let sym = sym as usize;
        let mut known = self.upcast_types.borrow_mut();
        match known.get(sym).copied() {
            Some(1) => None,
            Some(i) if i >= 2 => Some(ChainId::from_index(i - 2)),
            _ => {
                let chain = self.upcasters.chain_id(view.event_type);
                if known.len() <= sym {
                    known.resize(sym + 1, 0);
                }
                known[sym] = chain.map_or(1, |c| c.index() + 2);
                chain
            }
        }
    }

    /// Might this stored event hold an envelope?
    fn may_be_sealed(&self, view: &EventView<'_>) -> bool {
        let typed = match view.syms() {
            Some(s) => self.sealed_types.get(s.event_type as usize).copied().unwrap_or(false),
            None => true,
        };
        typed && view.data.contains(MARK_KEY)
    }

    /// The read form of a stored event: personal data opened (or erased), then upcast to
    /// the latest version. Lends the event as it is when neither applies.
    #[inline]
    pub fn to_read_form<'a>(&self, view: EventView<'a>) -> Result<ReadEvent<'a>, FormError> {
        let sealed = self.may_be_sealed(&view);
        let chain = self.chain_of(&view);
        if !sealed && chain.is_none() && !has_schema_version(view.metadata) {
            return Ok(ReadEvent::raw(view));
        }
        self.changed_form(view, sealed, chain)
    }

    /// [`Forms::to_read_form`] of an event that may read otherwise than it is stored.
    fn changed_form<'a>(
        &self,
        view: EventView<'a>,
        sealed: bool,
        chain: Option<ChainId>,
    ) -> Result<ReadEvent<'a>, FormError> {
        let opened = if sealed {
            open_fields(view.data, &self.ring, &view.id(), view.position)?
        } else {
            None
        };
        let version =
            stored_version(view.metadata).map_err(|m| FormError::Integrity(IntegrityError::at(view.position, m)))?;
        let changed = match opened {
            // Nothing sealed: the stored event is upcast as it is.
            None => match self.upcasters.upcast_chain(chain, &view, version) {
                Ok(None) => None,
                Ok(Some(u)) => Some(Changed::new(
                    u.data,
                    VersionedMetadata::new(view.metadata, u.version),
                    u.event_type,
                    Vec::new(),
                )),
                Err(e) => return Err(FormError::Upcast(e)),
            },
            Some((data, erased)) => {
                let plain = view.with_form(view.event_type, data.as_str(), view.metadata, &erased);
                let upcast = self.upcasters.upcast_chain(chain, &plain, version);
                Some(match upcast.map_err(FormError::Upcast)? {
                    None => Changed::new(data, VersionedMetadata::Stored, None, erased),
                    Some(u) => Changed::new(
                        u.data,
                        VersionedMetadata::new(view.metadata, u.version),
                        u.event_type,
                        erased,
                    ),
                })
            }
        };
        Ok(ReadEvent { view, changed })
    }

    /// The stored form of a decided event (`plain`: stamped with its id, version and
    /// position, data at its type's latest version): `metadata.schemaVersion` when that
    /// version is above 1, declared fields sealed (unless `seal` is false: a synced
    /// engine's pending events, which the server seals). [`FormError::MissingKey`] when the
    /// subject's key is not fetched yet.
    pub fn to_stored_form(&mut self, plain: &EventView<'_>, seal: bool) -> Result<Sealed, FormError> {
        let reserved = |m: &str| FormError::Validation(ValidationError::new(m));
        if plain.data.contains(MARK_KEY) {
            return Err(reserved(
                "event data cannot hold the key '$encrypted' (it marks encrypted values)",
            ));
        }
        if has_schema_version(plain.metadata) && crate::canonical::field(plain.metadata, "schemaVersion").is_some() {
            return Err(reserved(
                "metadata.schemaVersion is the engine's (it records the event's schema version)",
            ));
        }
        let mut sealed = Sealed::default();
        let latest = self.upcasters.latest(plain.event_type);
        if latest > 1 {
            let mut metadata = String::new();
            write_schema_version(&mut metadata, plain.metadata, latest);
            sealed.metadata = Some(CanonicalJson::from_trusted(&metadata));
        }
        let Some(declaration) = self.personal.get(plain.event_type).filter(|_| seal) else {
            return Ok(sealed);
        };
        let subject = declaration.subject_of(plain).map_err(FormError::Validation)?;
        let (gen, known) = self.ring.write_key(&subject);
        let Known::Present(key) = known else {
            return Err(FormError::MissingKey { subject, gen });
        };
        let id = plain.id_text();
        let with = SealWith {
            subject: &subject,
            gen,
            key,
            event_id: &id,
        };
        let data = seal_fields(
            plain.data,
            declaration.fields(),
            &with,
            &mut self.nonces,
            &mut self.scratch,
        )
        .map_err(|e| FormError::Internal(e.message))?;
        if self.scratch.capacity() > 64 * 1024 {
            // Not kept for a rare large event.
            self.scratch = String::new();
        }
        sealed.data = data.map(|data| SealedData {
            data,
            under: (subject, gen),
        });
        Ok(sealed)
    }

    /// Notes what the events at positions `from..=to`, just committed, hold: which types
    /// carry envelopes, and which key generations the log uses.
    pub fn note_committed(&mut self, log: &Log, from: u64, to: u64) {
        for e in log.range(from, to) {
            if !e.data.contains(MARK_KEY) {
                continue;
            }
            if let Some(s) = e.syms() {
                self.mark_sealed(s.event_type);
            }
            for (_, envelope) in envelopes_of(e.data) {
                if let Ok(envelope) = envelope {
                    self.ring.note_in_log(&envelope.subject, envelope.gen);
                }
            }
        }
    }

    /// [`Forms::note_committed`] for events this engine sealed (their envelopes are all of
    /// the subject and generation `to_stored_form` said): what parsing them back would note,
    /// without parsing. `sealed`: each event's position and what it was sealed under.
    pub fn note_sealed<'s>(&mut self, log: &Log, sealed: impl Iterator<Item = (u64, &'s (String, u32))>) {
        for (position, (subject, gen)) in sealed {
            if let Some(s) = log.get(position).and_then(|e| e.syms()) {
                self.mark_sealed(s.event_type);
            }
            self.ring.note_in_log(subject, *gen);
        }
    }

    fn mark_sealed(&mut self, sym: NameSym) {
        let i = sym as usize;
        if self.sealed_types.len() <= i {
            self.sealed_types.resize(i + 1, false);
        }
        self.sealed_types[i] = true;
    }

    /// Reads the log in read form. Type filters apply to the read form (an upcaster may
    /// rename); `raw` reads the stored form as it is.
    pub fn read_all<'l>(&self, log: &'l Log, opts: &ReadAllOptions, raw: bool) -> Result<Vec<ReadEvent<'l>>, Error> {
        let by_read_type = !raw && !self.upcasters.is_empty() && !opts.filter.types.is_empty();
        if !by_read_type {
            let views = log.read_all(opts);
            return views
                .into_iter()
                .map(|v| if raw { Ok(ReadEvent::raw(v)) } else { self.read(v) })
                .collect();
        }
        // The types filter cannot use the stored types' index: page through the rest of
        // the filter, keep what passes in read form.
        const PAGE: usize = 1024;
        let limit = opts.limit.unwrap_or(usize::MAX);
        let mut page = opts.clone();
        page.filter.types.clear();
        page.limit = Some(PAGE);
        let mut out = Vec::new();
        loop {
            let views = log.read_all(&page);
            let done = views.len() < PAGE;
            for v in views {
                page.from_position = v.position;
                let r = self.read(v)?;
                if opts.filter.types.iter().any(|t| t == r.view().event_type) {
                    out.push(r);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// [`Forms::to_read_form`], with the error a read reports.
    pub fn read<'a>(&self, view: EventView<'a>) -> Result<ReadEvent<'a>, Error> {
        self.to_read_form(view).map_err(FormError::into_error)
    }

    /// The keys a page of stored events needs that the ring does not know yet, by subject
    /// and generation, each with the position of its first envelope (to check the key).
    pub fn unknown_keys(&self, events: &[crate::event::Event]) -> Vec<(String, u32, u64)> {
        let mut out: Vec<(String, u32, u64)> = Vec::new();
        for e in events.iter().filter(|e| e.data.as_str().contains(MARK_KEY)) {
            for (_, envelope) in envelopes_of(e.data.as_str()) {
                let Ok(envelope) = envelope else { continue };
                let known = self.ring.key(&envelope.subject, envelope.gen) != Known::Unknown;
                let listed = out.iter().any(|(s, g, _)| *s == envelope.subject && *g == envelope.gen);
                if !known && !listed {
                    out.push((envelope.subject.into_owned(), envelope.gen, e.position));
                }
            }
        }
        out
    }

    /// The key-store name of a subject's key of generation `gen`.
    pub fn key_name(subject: &str, gen: u32) -> String {
        key_name(subject, gen)
    }
}
