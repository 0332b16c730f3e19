//! `KmsSealer`: envelope encryption with AWS KMS — `GenerateDataKey` gives a fresh AES-256 key
//! per secret (used locally with AES-256-GCM, then forgotten) and its KMS-encrypted form, which
//! is stored beside the ciphertext; `Decrypt` recovers it to open the secret. Format:
//! `v1.kms.<encrypted data key>.<nonce>.<ciphertext>`, base64url.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use scaliyo_store::{SealError, Sealer};

#[derive(Clone)]
pub struct KmsSealer {
    client: Client,
    key_id: String,
}

impl KmsSealer {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn unavailable(error: impl std::fmt::Debug) -> SealError {
    SealError::Unavailable(format!("{error:?}"))
}

#[async_trait]
impl Sealer for KmsSealer {
    async fn seal(&self, plaintext: &str) -> Result<String, SealError> {
        let data_key = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .map_err(unavailable)?;
        let key = data_key.plaintext().ok_or(SealError::Malformed)?;
        let wrapped = data_key.ciphertext_blob().ok_or(SealError::Malformed)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| SealError::Malformed)?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| SealError::Malformed)?;
        Ok(format!(
            "v1.kms.{}.{}.{}",
            URL_SAFE_NO_PAD.encode(wrapped.as_ref()),
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        ))
    }

    async fn open(&self, sealed: &str) -> Result<String, SealError> {
        let parts: Vec<&str> = sealed.split('.').collect();
        let ["v1", "kms", wrapped, nonce, ciphertext] = parts.as_slice() else {
            return Err(SealError::Malformed);
        };
        let decode = |text: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| SealError::Malformed)
        };
        let (wrapped, nonce, ciphertext) = (decode(wrapped)?, decode(nonce)?, decode(ciphertext)?);
        let nonce: [u8; 12] = nonce
            .as_slice()
            .try_into()
            .map_err(|_| SealError::Malformed)?;
        let key =
            self.client
                .decrypt()
                .key_id(&self.key_id)
                .ciphertext_blob(Blob::new(wrapped))
                .send()
                .await
                .map_err(|e| {
                    match e.as_service_error().map(|s| {
                        s.is_invalid_ciphertext_exception() || s.is_incorrect_key_exception()
                    }) {
                        Some(true) => SealError::WrongKey,
                        _ => unavailable(e),
                    }
                })?;
        let key = key.plaintext().ok_or(SealError::Malformed)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| SealError::Malformed)?;
        let plaintext = cipher
            .decrypt(&Nonce::from(nonce), ciphertext.as_slice())
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plaintext).map_err(|_| SealError::Malformed)
    }
}
