//! AES-256-GCM (RustCrypto `aes-gcm`) for one field value: a fresh 96-bit nonce per value,
//! and the event id followed by the field name as associated data, so a ciphertext moved to
//! another event or another field no longer decrypts. Keys and nonces come from the
//! platform's CSPRNG through `getrandom` (the OS natively, `crypto.getRandomValues` on wasm).

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

use crate::error::{StorageError, StorageFailure};

/// A data key: 32 bytes.
pub type Key = [u8; 32];

/// Nonces drawn from the CSPRNG per refill (each one is used once).
const NONCES_PER_REFILL: usize = 64;

/// A fresh key from the platform's CSPRNG.
pub fn new_key() -> Result<Key, StorageError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| {
        StorageError::new(
            StorageFailure::Unsupported,
            format!("no secure random numbers for a new key: {e}"),
        )
    })?;
    Ok(key)
}

/// Nonces from the CSPRNG, drawn a few dozen at a time (one `getrandom` call, i.e. one
/// `crypto.getRandomValues` on wasm, per refill); every nonce is handed out once.
#[derive(Default)]
pub struct Nonces {
    buffer: Vec<u8>,
}

impl Nonces {
    /// The next unused nonce.
    pub fn draw(&mut self) -> Result<[u8; 12], StorageError> {
        if self.buffer.len() < 12 {
            let mut fresh = vec![0u8; 12 * NONCES_PER_REFILL];
            getrandom::fill(&mut fresh).map_err(|e| {
                StorageError::new(
                    StorageFailure::Unsupported,
                    format!("no secure random numbers for a nonce: {e}"),
                )
            })?;
            self.buffer = fresh;
        }
        let at = self.buffer.len() - 12;
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&self.buffer[at..]);
        // Forget it as it is handed out.
        self.buffer.truncate(at);
        Ok(nonce)
    }
}

/// Runs `f` on the associated data of a value: the event id, then the field name (ids have
/// a fixed length, so the pair is unambiguous). On the stack when short (always, for an
/// event id and a field name of up to 92 bytes).
fn with_aad<T>(event_id: &str, field: &str, f: impl FnOnce(&[u8]) -> T) -> T {
    let len = event_id.len() + field.len();
    let mut short = [0u8; 128];
    if len <= short.len() {
        short[..event_id.len()].copy_from_slice(event_id.as_bytes());
        short[event_id.len()..len].copy_from_slice(field.as_bytes());
        return f(&short[..len]);
    }
    let mut aad = Vec::with_capacity(len);
    aad.extend_from_slice(event_id.as_bytes());
    aad.extend_from_slice(field.as_bytes());
    f(&aad)
}

/// Encrypts `plaintext` (a field's canonical JSON text): ciphertext followed by the tag.
pub fn seal(key: &Key, nonce: &[u8; 12], event_id: &str, field: &str, plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    // Encryption only fails for inputs of more than 64 GiB; an event is at most 1 MiB.
    with_aad(event_id, field, |aad| {
        cipher
            .encrypt(&Nonce::from(*nonce), Payload { msg: plaintext, aad })
            .unwrap_or_default()
    })
}

/// Decrypts and authenticates; `None` when the key, the nonce, the id, the field or the
/// ciphertext is not the one it was sealed with.
pub fn open(key: &Key, nonce: &[u8; 12], event_id: &str, field: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    let cipher = Aes256Gcm::new(key.into());
    with_aad(event_id, field, |aad| {
        cipher.decrypt(&Nonce::from(*nonce), Payload { msg: sealed, aad }).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190b3c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6";

    #[test]
    fn a_value_opens_only_where_it_was_sealed() {
        let key = new_key().unwrap();
        let nonce = Nonces::default().draw().unwrap();
        let sealed = seal(&key, &nonce, ID, "accountHolder", b"\"Ada\"");
        assert_eq!(sealed.len(), 5 + 16);
        assert_eq!(open(&key, &nonce, ID, "accountHolder", &sealed).unwrap(), b"\"Ada\"");
        let other_key = new_key().unwrap();
        assert_ne!(key, other_key);
        assert!(open(&other_key, &nonce, ID, "accountHolder", &sealed).is_none());
        assert!(open(&key, &nonce, ID, "shippingAddress", &sealed).is_none());
        // Associated data longer than the stack buffer: the same rule.
        let long = "f".repeat(200);
        let sealed_long = seal(&key, &nonce, ID, &long, b"1");
        assert_eq!(open(&key, &nonce, ID, &long, &sealed_long).unwrap(), b"1");
        assert!(open(&key, &nonce, ID, &long[1..], &sealed_long).is_none());
        assert!(open(&key, &nonce, ID, "accountHolder", &sealed_long).is_none());
        let other_id = ID.replace('f', "e");
        assert!(open(&key, &nonce, &other_id, "accountHolder", &sealed).is_none());
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert!(open(&key, &nonce, ID, "accountHolder", &tampered).is_none());
    }

    #[test]
    fn nonces_are_never_repeated() {
        let mut nonces = Nonces::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(3 * NONCES_PER_REFILL) {
            assert!(seen.insert(nonces.draw().unwrap()));
        }
    }
}
