//! The sealer port: secrets at rest are sealed with envelope encryption — a fresh data key per
//! secret encrypts it (AES-256-GCM), and the data key itself is wrapped by a master key (KMS in
//! AWS, a local key file locally). Sealed text never decrypts without the master key.

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value cannot be opened with this key")]
    WrongKey,
    #[error("the key service is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Sealer: Send + Sync {
    async fn seal(&self, plaintext: &str) -> Result<String, SealError>;
    async fn open(&self, sealed: &str) -> Result<String, SealError>;
}
