//! The outgoing-webhook transport port: one signed POST to a customer's URL. The adapter owns
//! the network rules (resolving the host, refusing private destinations, timeouts).

use std::time::Duration;

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The destination is not allowed (a private address, not https, …): never retried.
    #[error("refused: {0}")]
    Refused(String),
    /// No answer (DNS, connection, timeout): retried.
    #[error("{0}")]
    Failed(String),
}

#[async_trait]
pub trait WebhookTransport: Send + Sync {
    async fn post(&self, request: &WebhookRequest) -> Result<WebhookResponse, TransportError>;
}
