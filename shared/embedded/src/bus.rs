//! `LocalEventBus`: keeps published events in memory (the most recent ones) for the local
//! system and tests; EventBridge plays this part in AWS.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use scaliyo_store::{BusError, DomainEvent, EventBus};

const KEEP: usize = 10_000;

#[derive(Default)]
pub struct LocalEventBus {
    recent: Mutex<VecDeque<DomainEvent>>,
}

impl LocalEventBus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn recent(&self) -> Vec<DomainEvent> {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl EventBus for LocalEventBus {
    async fn publish(&self, events: Vec<DomainEvent>) -> Result<(), BusError> {
        for event in &events {
            if event.source.is_empty() || event.detail_type.is_empty() {
                return Err(BusError::Invalid(
                    "an event needs a source and a detail type".into(),
                ));
            }
        }
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        for event in events {
            tracing::debug!(source = %event.source, detail_type = %event.detail_type, "event published");
            if recent.len() == KEEP {
                recent.pop_front();
            }
            recent.push_back(event);
        }
        Ok(())
    }
}
