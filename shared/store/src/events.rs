//! The event bus port: domain events published for other systems (EventBridge in AWS).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// e.g. `scaliyo.email`
    pub source: String,
    /// e.g. `email.sent`
    pub detail_type: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("{failed} of the events were not accepted by the bus")]
    Rejected { failed: usize },
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    #[error("invalid event: {0}")]
    Invalid(String),
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes the events (any number; adapters chunk to their service's limit).
    async fn publish(&self, events: Vec<DomainEvent>) -> Result<(), BusError>;
}
