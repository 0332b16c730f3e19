//! `LocalSealer`: envelope encryption with a master key kept in a local file (the local
//! stand-in for KMS). Format: `v1.local.<wrapped data key>.<data nonce>.<ciphertext>`, each
//! part base64url; the wrapped key carries its own nonce in front.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use scaliyo_store::{SealError, Sealer};

#[derive(Clone)]
pub struct LocalSealer {
    master: Aes256Gcm,
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

impl LocalSealer {
    /// `master_key` must be 32 bytes (AES-256).
    pub fn new(master_key: &[u8]) -> Result<Self, SealError> {
        if master_key.len() != 32 {
            return Err(SealError::Malformed);
        }
        Ok(Self {
            master: Aes256Gcm::new_from_slice(master_key).map_err(|_| SealError::Malformed)?,
        })
    }

    /// Reads the hex master key file, creating it (owner-only) on first use.
    pub fn from_key_text(hex_key: &str) -> Result<Self, SealError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| SealError::Malformed)?;
        Self::new(&bytes)
    }
}

#[async_trait]
impl Sealer for LocalSealer {
    async fn seal(&self, plaintext: &str) -> Result<String, SealError> {
        let data_key = random::<32>();
        let data_nonce = random::<12>();
        let cipher = Aes256Gcm::new_from_slice(&data_key).map_err(|_| SealError::Malformed)?;
        let ciphertext = cipher
            .encrypt(&Nonce::from(data_nonce), plaintext.as_bytes())
            .map_err(|_| SealError::Malformed)?;
        let key_nonce = random::<12>();
        let mut wrapped = key_nonce.to_vec();
        wrapped.extend(
            self.master
                .encrypt(&Nonce::from(key_nonce), data_key.as_slice())
                .map_err(|_| SealError::Malformed)?,
        );
        Ok(format!(
            "v1.local.{}.{}.{}",
            URL_SAFE_NO_PAD.encode(wrapped),
            URL_SAFE_NO_PAD.encode(data_nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        ))
    }

    async fn open(&self, sealed: &str) -> Result<String, SealError> {
        let parts: Vec<&str> = sealed.split('.').collect();
        let [version, "local", wrapped, nonce, ciphertext] = parts.as_slice() else {
            return Err(SealError::Malformed);
        };
        if *version != "v1" {
            return Err(SealError::Malformed);
        }
        let decode = |text: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| SealError::Malformed)
        };
        let (wrapped, nonce, ciphertext) = (decode(wrapped)?, decode(nonce)?, decode(ciphertext)?);
        if wrapped.len() < 12 || nonce.len() != 12 {
            return Err(SealError::Malformed);
        }
        let key_nonce: [u8; 12] = wrapped[..12].try_into().map_err(|_| SealError::Malformed)?;
        let data_nonce: [u8; 12] = nonce
            .as_slice()
            .try_into()
            .map_err(|_| SealError::Malformed)?;
        let data_key = self
            .master
            .decrypt(&Nonce::from(key_nonce), &wrapped[12..])
            .map_err(|_| SealError::WrongKey)?;
        let cipher = Aes256Gcm::new_from_slice(&data_key).map_err(|_| SealError::Malformed)?;
        let plaintext = cipher
            .decrypt(&Nonce::from(data_nonce), ciphertext.as_slice())
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plaintext).map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sealed_secrets_open_only_with_their_master_key() {
        let sealer = LocalSealer::new(&[7u8; 32]).unwrap();
        let sealed = sealer.seal("smtp-password").await.unwrap();
        assert!(sealed.starts_with("v1.local.") && !sealed.contains("smtp-password"));
        assert_ne!(
            sealer.seal("smtp-password").await.unwrap(),
            sealed,
            "a fresh data key and nonce every time"
        );
        assert_eq!(sealer.open(&sealed).await.unwrap(), "smtp-password");
        let other = LocalSealer::new(&[8u8; 32]).unwrap();
        assert_eq!(other.open(&sealed).await, Err(SealError::WrongKey));
        // Flip one character inside the ciphertext (never a no-op, never only padding bits).
        let mut chars: Vec<char> = sealed.chars().collect();
        let middle = sealed.rfind('.').unwrap() + 3;
        chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(sealer.open(&tampered).await.is_err());
        assert_eq!(sealer.open("plain text").await, Err(SealError::Malformed));
    }
}
