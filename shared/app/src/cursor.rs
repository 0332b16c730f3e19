//! List cursors as clients see them: the store's continuation key sealed with AES-256-GCM
//! under a deployment key, with what the page was a page *of* (table, index, its values, whose
//! partition, who asked, which direction) as the authenticated associated data. A cursor is
//! opaque (it never shows another tenant's keys that a global index walked past), cannot be
//! forged, and opens only for the same list by the same caller: anything else is refused.
//! ADR 17.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Why a cursor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is malformed, forged, or belongs to another list or caller")]
    Refused,
}

/// What a page lists; a cursor opens only for the same list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListBinding<'a> {
    pub table: &'a str,
    pub index: Option<&'a str>,
    pub equals: &'a [String],
    pub partition: Option<&'a str>,
    pub caller: Option<&'a str>,
    pub descending: bool,
}

impl ListBinding<'_> {
    /// Length-prefixed parts, so that no two bindings share an encoding.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        let mut part = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        part(b"scaliyo-cursor-v1");
        part(self.table.as_bytes());
        part(self.index.unwrap_or("").as_bytes());
        part(&(self.equals.len() as u32).to_be_bytes());
        for value in self.equals {
            part(value.as_bytes());
        }
        part(self.partition.unwrap_or("").as_bytes());
        part(self.caller.unwrap_or("").as_bytes());
        part(&[u8::from(self.descending)]);
        out
    }
}

const NONCE_BYTES: usize = 12;

#[derive(Clone)]
pub struct CursorSealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for CursorSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSealer(..)")
    }
}

impl CursorSealer {
    /// A sealer under a key derived from `secret` (any length: a local key file's text, or
    /// the deployment's `CURSOR_KEY`).
    pub fn new(secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"scaliyo list cursors\0");
        hasher.update(secret);
        let key = hasher.finalize();
        Self {
            cipher: Aes256Gcm::new(&key),
        }
    }

    /// A sealer under a random key: cursors open only in this process (tests, and functions
    /// that never hand a cursor to a client).
    pub fn ephemeral() -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Self::new(&secret)
    }

    pub fn seal(&self, store_cursor: &str, binding: &ListBinding<'_>) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let aad = binding.encode();
        // Encryption fails only on inputs past GCM's size limit (64 GiB), never here.
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: store_cursor.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn open(&self, cursor: &str, binding: &ListBinding<'_>) -> Result<String, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.as_bytes())
            .map_err(|_| CursorError::Refused)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(CursorError::Refused);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| CursorError::Refused)?;
        let aad = binding.encode();
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CursorError::Refused)?;
        String::from_utf8(plain).map_err(|_| CursorError::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn binding<'a>(caller: &'a str, equals: &'a [String]) -> ListBinding<'a> {
        ListBinding {
            table: "email_messages",
            index: Some("idx_email_messages_lead"),
            equals,
            partition: Some(caller),
            caller: Some(caller),
            descending: false,
        }
    }

    #[test]
    fn a_cursor_opens_for_its_own_list_only() {
        let sealer = CursorSealer::new(b"deployment key");
        let equals = vec!["lead-1".to_owned()];
        let mine = binding("ada", &equals);
        let cursor = sealer.seal("eyJQSyI6IlUjYm9iIn0", &mine);
        assert!(
            !cursor.contains("eyJQSyI6"),
            "the store key is not readable"
        );
        assert_eq!(
            sealer.open(&cursor, &mine).as_deref(),
            Ok("eyJQSyI6IlUjYm9iIn0")
        );

        let other_lead = vec!["lead-2".to_owned()];
        for foreign in [
            binding("eve", &equals),
            binding("ada", &other_lead),
            ListBinding {
                descending: true,
                ..mine
            },
            ListBinding {
                table: "leads",
                ..mine
            },
        ] {
            assert_eq!(sealer.open(&cursor, &foreign), Err(CursorError::Refused));
        }
        let elsewhere = CursorSealer::new(b"another deployment");
        assert_eq!(elsewhere.open(&cursor, &mine), Err(CursorError::Refused));
    }

    proptest! {
        #[test]
        fn no_forged_cursor_opens_or_panics(text in ".{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let sealer = CursorSealer::new(b"k");
            let equals: Vec<String> = Vec::new();
            let list = binding("ada", &equals);
            prop_assert!(sealer.open(&text, &list).is_err());
            prop_assert!(sealer.open(&URL_SAFE_NO_PAD.encode(&bytes), &list).is_err());
        }

        #[test]
        fn a_flipped_bit_is_refused(position in 0usize..64, bit in 0u8..8) {
            let sealer = CursorSealer::new(b"k");
            let equals: Vec<String> = Vec::new();
            let list = binding("ada", &equals);
            let cursor = sealer.seal("the last key", &list);
            let mut bytes = URL_SAFE_NO_PAD.decode(cursor).unwrap_or_default();
            let at = position % bytes.len();
            bytes[at] ^= 1 << bit;
            prop_assert!(sealer.open(&URL_SAFE_NO_PAD.encode(bytes), &list).is_err());
        }
    }
}
