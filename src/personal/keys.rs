//! Where the data keys live: the host's [`KeyStore`] (async, durable) and the engine's
//! [`KeyRing`] (what it has fetched, in memory).
//!
//! A subject's keys have generations. Values are sealed under generation 1 (the store's key
//! named like the subject) until the subject is forgotten; personal data of a forgotten
//! subject written afterwards (a customer who comes back) is sealed under the next
//! generation (`<subject>\u{1f}2`, …), so the values of the forgotten key read as erased for
//! good while the new ones decrypt, and a store that hands out another key than the one a
//! value was sealed with is still caught (an `IntegrityError`, never garbage).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::cipher::Key;
use crate::error::{StorageError, ValidationError};
use crate::event::validate_name;

/// What a [`KeyStore`] method returns: a future that may borrow the store and its arguments.
pub type KeyFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + 'a>>;

/// Separates a subject from its key generation in a key name.
pub const GENERATION_SEPARATOR: char = '\u{1f}';

/// The name a subject's key of generation `gen` has in the key store: the subject itself for
/// generation 1, `<subject>\u{1f}<gen>` after.
pub fn key_name(subject: &str, gen: u32) -> String {
    if gen <= 1 {
        subject.to_owned()
    } else {
        format!("{subject}{GENERATION_SEPARATOR}{gen}")
    }
}

/// Checks a subject: 1 to 256 characters, without U+001F (the generation separator).
pub fn validate_subject(subject: &str) -> Result<(), ValidationError> {
    validate_name("subject", subject)?;
    if subject.contains(GENERATION_SEPARATOR) {
        return Err(ValidationError::new("a subject cannot contain the character U+001F"));
    }
    Ok(())
}

/// The host's key store: one 32-byte key per name. Keys are made by the engine (from the
/// platform's CSPRNG) and handed to [`KeyStore::create_key`].
///
/// ```
/// use eventjournal::personal::{KeyStore, MemoryKeyStore};
/// futures::executor::block_on(async {
///     let store = MemoryKeyStore::new();
///     let key = store.create_key("account_001", [7; 32]).await.unwrap();
///     // An existing key wins: create_key never replaces one.
///     assert_eq!(store.create_key("account_001", [9; 32]).await.unwrap(), key);
///     store.delete_key("account_001").await.unwrap();
///     assert_eq!(store.get_key("account_001").await.unwrap(), None);
/// });
/// ```
pub trait KeyStore {
    /// The key called `name`, or `None`.
    fn get_key<'a>(&'a self, name: &'a str) -> KeyFuture<'a, Option<Key>>;

    /// Stores `key` under `name` unless `name` already has a key; resolves to the key `name`
    /// has afterwards (the existing one wins).
    fn create_key<'a>(&'a self, name: &'a str, key: Key) -> KeyFuture<'a, Key>;

    /// Deletes the key durably (resolves once the deletion cannot be undone; [`KeyStore::scrub`]
    /// then clears what the store's files may keep). Deleting a missing key is not an error.
    fn delete_key<'a>(&'a self, name: &'a str) -> KeyFuture<'a, ()>;

    /// Several keys at once (default: one by one).
    fn get_keys<'a>(&'a self, names: &'a [String]) -> KeyFuture<'a, Vec<Option<Key>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                out.push(self.get_key(name).await?);
            }
            Ok(out)
        })
    }

    /// Makes deleted keys unrecoverable from the store's files (default: nothing to do).
    fn scrub(&self) -> KeyFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Releases the store (the engine closes its key store when it closes).
    fn close(&self) -> KeyFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Keys in memory; clones share the same keys.
#[derive(Debug, Clone, Default)]
pub struct MemoryKeyStore {
    keys: Rc<std::cell::RefCell<HashMap<String, Key>>>,
}

impl MemoryKeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces a key (for tests of a store that hands out the wrong key).
    pub fn set_key(&self, name: &str, key: Key) {
        self.keys.borrow_mut().insert(name.to_owned(), key);
    }

    /// The names that have a key, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.keys.borrow().keys().cloned().collect();
        names.sort_unstable();
        names
    }
}

impl KeyStore for MemoryKeyStore {
    fn get_key<'a>(&'a self, name: &'a str) -> KeyFuture<'a, Option<Key>> {
        let key = self.keys.borrow().get(name).copied();
        Box::pin(async move { Ok(key) })
    }

    fn create_key<'a>(&'a self, name: &'a str, key: Key) -> KeyFuture<'a, Key> {
        let kept = *self.keys.borrow_mut().entry(name.to_owned()).or_insert(key);
        Box::pin(async move { Ok(kept) })
    }

    fn delete_key<'a>(&'a self, name: &'a str) -> KeyFuture<'a, ()> {
        self.keys.borrow_mut().remove(name);
        Box::pin(async { Ok(()) })
    }
}

/// One subject's keys as the engine knows them.
#[derive(Debug, Default)]
struct Subject {
    /// Highest generation an envelope in the log was sealed under (0: none yet).
    log_gen: u32,
    /// By generation, ascending (a handful at most): `Some(key)`, or `None` when the store
    /// has none (forgotten).
    keys: Vec<(u32, Option<Key>)>,
}

impl Subject {
    fn get(&self, gen: u32) -> Option<&Option<Key>> {
        self.keys.iter().find(|(g, _)| *g == gen).map(|(_, k)| k)
    }

    /// See [`KeyRing::write_gen`].
    fn write_gen(&self) -> u32 {
        match self.get(self.log_gen) {
            _ if self.log_gen == 0 => 1,
            Some(None) => self.log_gen + 1,
            _ => self.log_gen,
        }
    }

    fn set(&mut self, gen: u32, key: Option<Key>) {
        match self.keys.iter().position(|(g, _)| *g >= gen) {
            Some(i) if self.keys[i].0 == gen => self.keys[i].1 = key,
            Some(i) => self.keys.insert(i, (gen, key)),
            None => self.keys.push((gen, key)),
        }
    }
}

/// The keys the engine has fetched, by subject and generation.
#[derive(Debug, Default)]
pub struct KeyRing {
    subjects: HashMap<String, Subject>,
}

/// Whether the ring knows a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known<'a> {
    /// Never fetched.
    Unknown,
    /// The store has none: the values sealed under it read as erased.
    Absent,
    Present(&'a Key),
}

impl<'a> Known<'a> {
    fn of(entry: Option<&'a Option<Key>>) -> Self {
        match entry {
            None => Known::Unknown,
            Some(None) => Known::Absent,
            Some(Some(k)) => Known::Present(k),
        }
    }
}

impl KeyRing {
    /// What the ring knows of a subject's key of generation `gen`.
    pub fn key(&self, subject: &str, gen: u32) -> Known<'_> {
        Known::of(self.subjects.get(subject).and_then(|s| s.get(gen)))
    }

    /// Records what the store said about a key.
    pub fn insert(&mut self, subject: &str, gen: u32, key: Option<Key>) {
        self.subjects.entry(subject.to_owned()).or_default().set(gen, key);
    }

    /// Notes that an envelope of `gen` is in the log.
    pub fn note_in_log(&mut self, subject: &str, gen: u32) {
        match self.subjects.get_mut(subject) {
            Some(s) => s.log_gen = s.log_gen.max(gen),
            None => {
                self.subjects.insert(
                    subject.to_owned(),
                    Subject {
                        log_gen: gen,
                        keys: Vec::new(),
                    },
                );
            }
        }
    }

    /// The generation new values of `subject` are sealed under: the one the log uses, or the
    /// next one once that one is forgotten.
    pub fn write_gen(&self, subject: &str) -> u32 {
        self.subjects.get(subject).map_or(1, Subject::write_gen)
    }

    /// May a key of `gen` be created for `subject`? Never for a generation that sealed values
    /// in the log (its key was forgotten: a new one would not open them).
    pub fn may_create(&self, subject: &str, gen: u32) -> bool {
        self.subjects.get(subject).is_none_or(|s| gen > s.log_gen)
    }

    /// Marks every key of `subject` absent; returns the generations whose keys must be
    /// deleted from the store (every one the log used, and the next).
    pub fn forget(&mut self, subject: &str) -> Vec<u32> {
        let s = self.subjects.entry(subject.to_owned()).or_default();
        let known = s.keys.last().map_or(0, |(g, _)| *g);
        let last = (s.log_gen + 1).max(known);
        let gens: Vec<u32> = (1..=last).collect();
        for &g in &gens {
            s.set(g, None);
        }
        gens
    }

    /// The subjects (with the generations) whose values in the log are erased, as a short
    /// digest: what a stored projection snapshot was built under. Order-independent (a sum
    /// of each key name's SHA-256), so nothing is sorted.
    pub fn erased_digest(&self) -> String {
        let mut sum = 0u64;
        let mut any = false;
        for (name, s) in &self.subjects {
            for (g, k) in &s.keys {
                if k.is_none() && *g <= s.log_gen {
                    let digest = Sha256::digest(key_name(name, *g).as_bytes());
                    let mut first = [0u8; 8];
                    first.copy_from_slice(&digest[..8]);
                    sum = sum.wrapping_add(u64::from_be_bytes(first));
                    any = true;
                }
            }
        }
        if any {
            format!("{sum:016x}")
        } else {
            "none".to_owned()
        }
    }

    /// Every generation of `subject`'s keys the ring knows, with the key when present.
    pub fn keys_of(&self, subject: &str) -> Vec<(u32, Option<&Key>)> {
        self.subjects
            .get(subject)
            .map(|s| s.keys.iter().map(|(g, k)| (*g, k.as_ref())).collect())
            .unwrap_or_default()
    }

    /// The present key of the generation new values of `subject` use, with its generation
    /// (one lookup of the subject).
    pub fn write_key(&self, subject: &str) -> (u32, Known<'_>) {
        match self.subjects.get(subject) {
            None => (1, Known::Unknown),
            Some(s) => {
                let gen = s.write_gen();
                (gen, Known::of(s.get(gen)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_move_on_once_a_used_key_is_forgotten() {
        let mut ring = KeyRing::default();
        assert_eq!(ring.write_gen("s"), 1);
        assert_eq!(ring.key("s", 1), Known::Unknown);
        ring.insert("s", 1, Some([1; 32]));
        assert_eq!(ring.write_key("s"), (1, Known::Present(&[1; 32])));
        // Forgotten before anything was sealed: generation 1 may be made again.
        assert_eq!(ring.forget("s"), vec![1]);
        assert_eq!(ring.write_gen("s"), 1);
        assert!(ring.may_create("s", 1));
        ring.insert("s", 1, Some([2; 32]));
        ring.note_in_log("s", 1);
        assert!(!ring.may_create("s", 1));
        assert_eq!(ring.erased_digest(), "none");
        assert_eq!(ring.forget("s"), vec![1, 2]);
        assert_eq!(ring.write_gen("s"), 2);
        assert_eq!(ring.key("s", 1), Known::Absent);
        assert_ne!(ring.erased_digest(), "none");
        assert_eq!(key_name("s", 1), "s");
        assert_eq!(key_name("s", 2), "s\u{1f}2");
    }

    #[test]
    fn subjects_cannot_hold_the_separator() {
        assert!(validate_subject("account_001").is_ok());
        assert!(validate_subject("").is_err());
        assert!(validate_subject("a\u{1f}2").is_err());
    }
}
